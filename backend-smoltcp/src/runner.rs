//! The runner: a future that drives the interface for async code (as embassy-net's `Runner`),
//! on any executor, `no_std` included.
//!
//! [`Stack::run`] loops forever: poll the interface (smoltcp wakes the tasks whose sockets
//! changed), then wait until the earliest of
//!
//! - the interface's next deadline ([`Stack::poll_delay`], exactly: no rounding to a tick),
//!   through the user's [`Sleep`], the runner's only dependency on the executor;
//! - a socket operation that makes that deadline earlier (operations poll the interface
//!   themselves, then wake the runner through the waker it leaves in the stack);
//! - device activity, when the [`Sleep`] future completes early for it (an embedded driver
//!   signals its receive interrupt there; see [`Sleep`]).
//!
//! With the `std` driver thread ([`StdStack`](crate::StdStack)) no runner is needed: the
//! thread is the driver.

use core::convert::Infallible;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;

use smoltcp::phy::Device;
use smoltcp::time::Instant;

use crate::clock::{Clock, from_smol, to_smol};
use crate::stack::Stack;
use crate::wait::Wait;

/// How the runner waits: "complete after this long". The only thing [`Stack::run`] needs
/// from the executor.
///
/// `None` means no timer is due: complete only for device activity (or never, for a device
/// that only the stack itself fills, such as the in-process [`Loopback`](crate::Loopback)).
/// Completing early is always allowed (the runner polls, then asks again): a driver whose
/// receive interrupt signals an embassy `Signal` can `select` on it and the timer here.
///
/// Implemented by [`SleepFn`] for closures, so no timer crate is a dependency of this crate:
/// `SleepFn(|d: Option<Duration>| async move { match d { Some(d) =>
/// embassy_time::Timer::after(d.try_into().unwrap()).await, None => core::future::pending().await } })`.
pub trait Sleep {
    /// A future completing after `duration` (`None`: no deadline), or earlier.
    fn sleep(&mut self, duration: Option<Duration>) -> impl Future<Output = ()>;
}

/// A [`Sleep`] from a closure returning a future (for example over `embassy_time::Timer`,
/// `tokio::time::sleep` or `async_io::Timer`).
#[derive(Debug, Clone, Copy)]
pub struct SleepFn<F>(pub F);

impl<F, Fut> Sleep for SleepFn<F>
where
    F: FnMut(Option<Duration>) -> Fut,
    Fut: Future<Output = ()>,
{
    fn sleep(&mut self, duration: Option<Duration>) -> impl Future<Output = ()> {
        (self.0)(duration)
    }
}

/// The deadline recorded while the runner waits with no timer due (any real deadline is
/// earlier, so an operation that sets one wakes the runner).
const NO_DEADLINE: Instant = Instant::from_micros_const(i64::MAX);

impl<'a, D: Device, C: Clock, W: Wait> Stack<'a, D, C, W> {
    /// Drive the interface forever (the future never completes; drop it to stop). Run it
    /// as a task of the executor that runs the sockets' futures (`spawner.spawn(...)`,
    /// `join`), one runner per stack, and not together with a [`StdStack`](crate::StdStack)
    /// driver thread (either drives).
    pub async fn run<S: Sleep>(&self, mut sleep: S) -> Infallible {
        loop {
            let Some(delay) = self.runner_round() else {
                // The drain stopped at its budget: let the tasks it woke run (they read what
                // it moved while that is in cache), then poll again.
                yield_now().await;
                continue;
            };
            let mut timer = pin!(sleep.sleep(delay));
            poll_fn(|cx| {
                {
                    let mut g = self.lock();
                    if core::mem::take(&mut g.runner.woken) {
                        return Poll::Ready(());
                    }
                    match &g.runner.waker {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => g.runner.waker = Some(cx.waker().clone()),
                    }
                }
                timer.as_mut().poll(cx)
            })
            .await;
        }
    }

    /// One round of the runner: poll until nothing changes, record when the next round is
    /// due (so operations needing it earlier wake the runner) and return how long until then;
    /// `None` if the drain stopped at its budget (poll again after yielding).
    fn runner_round(&self) -> Option<Option<Duration>> {
        let now = self.clock.now();
        let mut g = self.lock();
        g.driver_deadline = None;
        g.runner.woken = false;
        g.poll_drain(now);
        if g.drain_cut {
            return None;
        }
        let inner = &mut *g;
        let delay = inner.iface.poll_delay(now, &inner.sockets).map(from_smol);
        inner.driver_deadline = Some(delay.map_or(NO_DEADLINE, |d| now + to_smol(d)));
        Some(delay)
    }
}

/// Return `Pending` once (waking the task at once), so the executor runs the other tasks.
async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}
