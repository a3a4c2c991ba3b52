//! Async over TAP on the user's executor thread (feature `async-io`, Linux): no driver thread.
//!
//! [`Stack::tap_async`] opens the TAP interface as [`StdStack::tap`](crate::StdStack::tap)
//! does (the same configuration code) and returns the stack together with a [`TapSleep`], the
//! [`Sleep`] for its runner future [`Stack::run`]. A runner round ends when the interface's
//! next deadline passes (an `async_io::Timer`) or when the TAP descriptor becomes readable
//! (an `async_io::Async` of a duplicate of it), so the runner, the sockets' futures and the
//! device all live on one thread, the way embassy-net with embassy-net-tuntap runs:
//!
//! ```no_run
//! use unisock::asynch::SendStack;
//! use unisock_smoltcp::{Cidr, Stack, TapOptions};
//!
//! let (stack, sleep) = Stack::tap_async(TapOptions {
//!     name: "tap0".into(),
//!     ips: vec![Cidr::parse("10.7.0.2/24").unwrap()],
//!     ..TapOptions::default()
//! })
//! .unwrap();
//! let net = &stack;
//! let work = async {
//!     let _c = SendStack::connect(&net, "10.7.0.1:7".parse().unwrap()).await;
//! };
//! let runner = async {
//!     match stack.run(sleep).await {}
//! };
//! async_io::block_on(futures_lite::future::or(work, runner));
//! ```
//!
//! Blocking calls on such a stack work too (without a runner they poll the interface
//! themselves and wait on the descriptor with [`TapWait`]); run either the runner or a
//! [`StdStack`](crate::StdStack) driver, never both.

use core::future::{Future, poll_fn};
use core::task::Poll;
use std::os::fd::OwnedFd;
use std::time::Duration;

use async_io::{Async, Timer};

use crate::clock::StdClock;
use crate::error::{Error, Result};
use crate::runner::Sleep;
use crate::stack::Stack;
use crate::std_stack::Capture;
use crate::tap::{TapDevice, TapOptions, TapWait, capture, open_configured};

/// A TAP stack for the runner future on the user's executor (no driver thread); see
/// [`Stack::tap_async`].
pub type AsyncTapStack = Stack<'static, Capture<TapDevice>, StdClock, TapWait>;

/// The runner's [`Sleep`] over a TAP device: completes at the requested deadline or as soon
/// as the TAP descriptor is readable, whichever comes first (async-io's reactor watches the
/// descriptor, so any executor works, async-io's `block_on` included). Made by
/// [`Stack::tap_async`].
#[derive(Debug)]
pub struct TapSleep {
    tap: Async<OwnedFd>,
    timer: Timer,
}

impl TapSleep {
    /// A sleep watching `tap` (the descriptor is duplicated).
    fn new(tap: &OwnedFd) -> Result<TapSleep> {
        let dup = tap
            .try_clone()
            .map_err(|e| Error::from_io(&e, "TAP: cannot duplicate the descriptor"))?;
        let tap = Async::new(dup)
            .map_err(|e| Error::from_io(&e, "TAP: cannot register the descriptor with async-io"))?;
        Ok(TapSleep {
            tap,
            timer: Timer::never(),
        })
    }
}

impl Sleep for TapSleep {
    fn sleep(&mut self, duration: Option<Duration>) -> impl Future<Output = ()> {
        // One timer, re-armed each round: no allocation per round.
        if let Some(d) = duration {
            self.timer.set_after(d);
        }
        let TapSleep { tap, timer } = self;
        poll_fn(move |cx| {
            if duration.is_some() && Future::poll(core::pin::Pin::new(&mut *timer), cx).is_ready() {
                return Poll::Ready(());
            }
            match tap.poll_readable(cx) {
                Poll::Ready(Ok(())) => Poll::Ready(()),
                Poll::Ready(Err(e)) => {
                    // The runner polls the device, then sleeps again: nothing is lost.
                    crate::log::debug!(
                        "{}",
                        Error::from_io(&e, "TAP: waiting for readability failed")
                    );
                    Poll::Ready(())
                }
                Poll::Pending => Poll::Pending,
            }
        })
    }
}

impl Stack<'static, Capture<TapDevice>, StdClock, TapWait> {
    /// A stack on TAP interface `opts.name` (set up as [`StdStack::tap`](crate::StdStack::tap)
    /// does) without a driver thread, and the [`TapSleep`] to give its runner future
    /// [`Stack::run`], which the application runs on its own executor next to its sockets'
    /// futures.
    pub fn tap_async(opts: TapOptions) -> Result<(AsyncTapStack, TapSleep)> {
        Self::tap_async_inner(opts, false)
    }

    /// As [`Stack::tap_async`], with TAP offloads on (see
    /// [`TapDevice::open_with_offload`]); `Unsupported` if the kernel refuses them.
    pub fn tap_async_with_offload(opts: TapOptions) -> Result<(AsyncTapStack, TapSleep)> {
        Self::tap_async_inner(opts, true)
    }

    fn tap_async_inner(opts: TapOptions, offload: bool) -> Result<(AsyncTapStack, TapSleep)> {
        let (config, dev) = open_configured(&opts, offload)?;
        let waiter = dev.waiter()?;
        let sleep = TapSleep::new(dev.fd())?;
        let stack = Stack::new_alloc(capture(dev, &opts)?, StdClock::new(), waiter, &config)?;
        Ok((stack, sleep))
    }
}
