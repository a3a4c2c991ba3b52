//! Clocks: where the stack gets the current time from.
//!
//! [`Clock`] is implemented by [`ManualClock`] (advanced explicitly: tests, simulation, and
//! embedded targets that count ticks themselves) and, under `std`, by [`StdClock`] (the
//! monotonic wall clock). An embedded target implements [`Clock`] over its timer.

use core::time::Duration;

use smoltcp::time::Instant;

/// A monotonic clock.
pub trait Clock {
    /// The current time. Must never go backwards.
    fn now(&self) -> Instant;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Instant {
        (**self).now()
    }
}

/// A clock that only moves when told to ([`ManualClock::advance`], [`ManualClock::set`]).
///
/// Under `std` it is `Sync` (an atomic counter); without `std` it is a `Cell` (single-threaded,
/// no atomic compare-and-swap needed, so it works on `thumbv6m`).
#[derive(Debug, Default)]
pub struct ManualClock {
    #[cfg(feature = "std")]
    micros: core::sync::atomic::AtomicI64,
    #[cfg(not(feature = "std"))]
    micros: core::cell::Cell<i64>,
}

impl ManualClock {
    /// A clock at time zero.
    pub const fn new() -> ManualClock {
        ManualClock {
            #[cfg(feature = "std")]
            micros: core::sync::atomic::AtomicI64::new(0),
            #[cfg(not(feature = "std"))]
            micros: core::cell::Cell::new(0),
        }
    }

    /// Set the time (ignored if it would move the clock backwards).
    pub fn set(&self, t: Instant) {
        let now = self.now();
        if t > now {
            self.store(t.total_micros());
        }
    }

    /// Move the clock forward by `d` (saturating).
    pub fn advance(&self, d: Duration) {
        let micros = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        let next = self.now().total_micros().saturating_add(micros);
        // Leave headroom so the stack's deadline arithmetic cannot overflow.
        self.store(next.min(i64::MAX / 2));
    }

    #[cfg(feature = "std")]
    fn store(&self, v: i64) {
        self.micros.store(v, core::sync::atomic::Ordering::SeqCst);
    }

    #[cfg(not(feature = "std"))]
    fn store(&self, v: i64) {
        self.micros.set(v);
    }
}

impl Clock for ManualClock {
    #[cfg(feature = "std")]
    fn now(&self) -> Instant {
        Instant::from_micros(self.micros.load(core::sync::atomic::Ordering::SeqCst))
    }

    #[cfg(not(feature = "std"))]
    fn now(&self) -> Instant {
        Instant::from_micros(self.micros.get())
    }
}

/// The monotonic wall clock (`std::time::Instant`), counting from its creation.
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy)]
pub struct StdClock {
    start: std::time::Instant,
}

#[cfg(feature = "std")]
impl StdClock {
    /// A clock starting at zero now.
    pub fn new() -> StdClock {
        StdClock {
            start: std::time::Instant::now(),
        }
    }
}

#[cfg(feature = "std")]
impl Default for StdClock {
    fn default() -> Self {
        StdClock::new()
    }
}

#[cfg(feature = "std")]
impl Clock for StdClock {
    fn now(&self) -> Instant {
        let micros = i64::try_from(self.start.elapsed().as_micros()).unwrap_or(i64::MAX);
        Instant::from_micros(micros)
    }
}

/// The longest duration handed to smoltcp (about 292 years / 4), so that adding it to any
/// instant cannot overflow smoltcp's 64-bit microsecond arithmetic.
const MAX_SMOL_MICROS: u64 = (i64::MAX / 4) as u64;

/// Convert a `core` duration to smoltcp's (saturating at [`MAX_SMOL_MICROS`]).
pub(crate) fn to_smol(d: Duration) -> smoltcp::time::Duration {
    let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    smoltcp::time::Duration::from_micros(micros.min(MAX_SMOL_MICROS))
}

/// Convert a smoltcp duration to `core`'s.
pub(crate) fn from_smol(d: smoltcp::time::Duration) -> Duration {
    Duration::from_micros(d.total_micros())
}

/// A [`Clock`] from a closure returning the time (for example a hardware timer read).
#[derive(Debug, Clone, Copy)]
pub struct ClockFn<F>(pub F);

impl<F: Fn() -> Instant> Clock for ClockFn<F> {
    fn now(&self) -> Instant {
        (self.0)()
    }
}
