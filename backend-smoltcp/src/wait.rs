//! Waiting for work: what a blocking call (or the `std` driver thread) does while nothing can
//! progress.
//!
//! [`Wait::wait`] blocks until the device may have a frame, [`Wait::wake`] is called, or the
//! timeout (the interface's next deadline) passes. Implementations: [`Spin`] (return at once:
//! busy polling), [`ManualWait`] (advance a [`ManualClock`] by the timeout: simulation), and
//! under `std` [`Notify`](crate::Notify) (a condition variable, for the in-process loopback)
//! and [`TapWait`](crate::TapWait) (`poll(2)` on the TAP descriptor). Bare-metal users supply
//! their own (WFI until an interrupt, for example).

use core::time::Duration;

use crate::ManualClock;

/// A way to wait for work.
pub trait Wait {
    /// Block until there may be work, or `timeout` passes (`None`: no deadline; an
    /// implementation may still return early, callers re-check).
    fn wait(&self, timeout: Option<Duration>);

    /// Make a concurrent or the next [`wait`](Wait::wait) return early. The default does
    /// nothing (for waiters that never sleep long).
    fn wake(&self) {}
}

impl<W: Wait + ?Sized> Wait for &W {
    fn wait(&self, timeout: Option<Duration>) {
        (**self).wait(timeout)
    }
    fn wake(&self) {
        (**self).wake()
    }
}

/// Busy polling: `wait` returns at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spin;

impl Wait for Spin {
    fn wait(&self, _timeout: Option<Duration>) {
        core::hint::spin_loop();
    }
}

/// Simulation: `wait` advances a [`ManualClock`] to the deadline (by `step` when there is
/// none), so timers fire without real time passing.
#[derive(Debug, Clone, Copy)]
pub struct ManualWait<'c> {
    clock: &'c ManualClock,
    step: Duration,
}

impl<'c> ManualWait<'c> {
    /// Advance `clock`; `step` is used when the stack has no deadline.
    pub const fn new(clock: &'c ManualClock, step: Duration) -> ManualWait<'c> {
        ManualWait { clock, step }
    }
}

impl Wait for ManualWait<'_> {
    fn wait(&self, timeout: Option<Duration>) {
        let d = match timeout {
            Some(d) if d.is_zero() => Duration::from_micros(1),
            Some(d) => d.min(self.step.max(Duration::from_micros(1))),
            None => self.step,
        };
        self.clock.advance(d);
    }
}

/// A [`Wait`] from a closure (bare metal: for example `WaitFn(|_| cortex_m::asm::wfi())`).
#[derive(Debug, Clone, Copy)]
pub struct WaitFn<F>(pub F);

impl<F: Fn(Option<Duration>)> Wait for WaitFn<F> {
    fn wait(&self, timeout: Option<Duration>) {
        (self.0)(timeout)
    }
}
