//! The reactors the async sockets run on: one small trait, [`Reactor`], and its two
//! implementations, [`Tokio`] (tokio's `AsyncFd`) and [`AsyncIo`] (async-io's `Async`).
//!
//! A reactor does three things for the sockets: register a descriptor (edge-triggered epoll
//! under both), drive one non-blocking operation to completion from a `poll` method
//! ([`Reactor::poll_io`]: try it, and on `WouldBlock` wait for the next readiness event of
//! that direction, without losing one that arrives in between), and run a blocking function
//! (`getaddrinfo`) off the executor's threads.

use core::future::Future;
use core::task::{Context, Poll};
use std::os::fd::RawFd;

use unisock::ErrorKind;

use crate::error::{Error, Op};

/// Which readiness an operation waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Readable (receive, accept).
    Read,
    /// Writable (send, connect).
    Write,
}

mod sealed {
    pub trait Sealed {}
}

/// A reactor the async sockets can be registered with. Sealed: implemented by [`Tokio`] and
/// [`AsyncIo`] only.
pub trait Reactor: sealed::Sealed + Send + Sync + Sized + 'static {
    /// One registered descriptor.
    type Registration: Send + Sync + Unpin;

    /// Register `fd`, which stays open for as long as the registration lives.
    fn register(fd: RawFd) -> Result<Self::Registration, Error>;

    /// Run `op` (a non-blocking call) until it does not fail with `WouldBlock`, waiting for
    /// `dir` readiness in between. `Pending` only after `op` failed with `WouldBlock` and the
    /// task's waker is registered for the next event.
    fn poll_io<T>(
        reg: &Self::Registration,
        cx: &mut Context<'_>,
        dir: Direction,
        op: impl FnMut() -> Result<T, Error>,
    ) -> Poll<Result<T, Error>>;

    /// Run a blocking function on a thread meant for it, and wait for its result.
    fn unblock<T: Send + 'static>(
        f: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = Result<T, Error>> + Send;
}

#[inline]
fn would_block<T>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(e) if e.kind() == ErrorKind::WouldBlock)
}

#[cold]
fn reactor_error(op: Op, e: std::io::Error) -> Error {
    Error::os(op, e.raw_os_error().unwrap_or(libc::EIO))
}

/// tokio's reactor, through `tokio::io::unix::AsyncFd` (feature `tokio`). Sockets must be
/// created inside a tokio runtime with I/O enabled (`enable_io`/`enable_all`); elsewhere
/// creating one fails with `Unsupported`. Name resolution runs on `spawn_blocking`.
#[cfg(feature = "tokio")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Tokio;

#[cfg(feature = "tokio")]
impl sealed::Sealed for Tokio {}

/// A descriptor registered with tokio's reactor (opaque).
#[cfg(feature = "tokio")]
#[derive(Debug)]
pub struct TokioRegistration(tokio::io::unix::AsyncFd<crate::sys::FdRef>);

#[cfg(feature = "tokio")]
impl Reactor for Tokio {
    type Registration = TokioRegistration;

    fn register(fd: RawFd) -> Result<Self::Registration, Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::invalid(
                Op::Socket,
                ErrorKind::Unsupported,
                "no tokio runtime on this thread: create tokio async sockets inside one",
            ));
        }
        // SAFETY: `fd` is the descriptor of a socket that stays open, and keeps its number,
        // for as long as the registration lives: `Registered` declares the registration before
        // the socket, so the registration is dropped first, and never hands out the socket
        // mutably or by value while registered (`into_inner` drops the registration first).
        unsafe { tokio::io::unix::AsyncFd::register(crate::sys::FdRef(fd)) }
            .map(TokioRegistration)
            .map_err(|e| reactor_error(Op::Socket, e.into_parts().1))
    }

    #[inline]
    fn poll_io<T>(
        reg: &Self::Registration,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut() -> Result<T, Error>,
    ) -> Poll<Result<T, Error>> {
        loop {
            // The guard remembers which readiness event it saw; clearing it after a
            // `WouldBlock` keeps any event that arrived after the poll (no lost wake-up).
            let ready = match dir {
                Direction::Read => reg.0.poll_read_ready(cx),
                Direction::Write => reg.0.poll_write_ready(cx),
            };
            let mut guard = match ready {
                Poll::Ready(Ok(guard)) => guard,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(reactor_error(Op::Poll, e))),
                Poll::Pending => return Poll::Pending,
            };
            let r = op();
            if would_block(&r) {
                guard.clear_ready();
                continue;
            }
            return Poll::Ready(r);
        }
    }

    fn unblock<T: Send + 'static>(
        f: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = Result<T, Error>> + Send {
        let handle = tokio::runtime::Handle::try_current();
        async move {
            let handle = handle.map_err(|_| {
                Error::invalid(
                    Op::Resolve,
                    ErrorKind::Unsupported,
                    "no tokio runtime on this thread to run the resolver on",
                )
            })?;
            handle.spawn_blocking(f).await.map_err(|_| {
                Error::invalid(
                    Op::Resolve,
                    ErrorKind::Other,
                    "the blocking resolver task failed (panicked or cancelled)",
                )
            })
        }
    }
}

/// async-io's reactor, through `async_io::Async` (feature `async-io`): runs under any
/// executor (smol, futures-executor, tokio, a plain `block_on`), driven by async-io's own
/// "async-io" thread when no `block_on` of its drives it. Name resolution runs on the
/// `blocking` crate's thread pool.
#[cfg(feature = "async-io")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AsyncIo;

#[cfg(feature = "async-io")]
impl sealed::Sealed for AsyncIo {}

/// A descriptor registered with async-io's reactor (opaque).
#[cfg(feature = "async-io")]
#[derive(Debug)]
pub struct AsyncIoRegistration(async_io::Async<crate::sys::FdRef>);

#[cfg(feature = "async-io")]
impl Reactor for AsyncIo {
    type Registration = AsyncIoRegistration;

    fn register(fd: RawFd) -> Result<Self::Registration, Error> {
        // `new_nonblocking` leaves the descriptor's mode alone: every operation of the async
        // sockets is non-blocking by itself (`MSG_DONTWAIT`, or a listener in non-blocking
        // mode).
        async_io::Async::new_nonblocking(crate::sys::FdRef(fd))
            .map(AsyncIoRegistration)
            .map_err(|e| reactor_error(Op::Socket, e))
    }

    #[inline]
    fn poll_io<T>(
        reg: &Self::Registration,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut() -> Result<T, Error>,
    ) -> Poll<Result<T, Error>> {
        loop {
            let r = op();
            if !would_block(&r) {
                return Poll::Ready(r);
            }
            // async-io reports only events newer than this call's registration (its epoll
            // interest is re-armed level-triggered), so data that arrived after `op` failed
            // still wakes the task.
            let ready = match dir {
                Direction::Read => reg.0.poll_readable(cx),
                Direction::Write => reg.0.poll_writable(cx),
            };
            match ready {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(reactor_error(Op::Poll, e))),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    async fn unblock<T: Send + 'static>(
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        Ok(blocking::unblock(f).await)
    }
}
