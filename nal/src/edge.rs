//! Any async unisock stack ([`unisock::asynch::Stack`]) as an `edge-nal` 0.7 stack (feature
//! `edge-nal`): [`TcpConnect`] and [`TcpBind`] / [`TcpAccept`] on [`EdgeNalStack`].
//! `UdpBind` is not implemented: its sockets must split too (`UdpSplit`, with multicast),
//! which unisock's datagram traits do not offer yet.
//!
//! | edge-nal call | unisock (`unisock::asynch`) | notes |
//! |---|---|---|
//! | `TcpConnect::connect(remote)` | `Stack::connect` | the socket is [`EdgeTcpSocket`] over the unisock stream. |
//! | `TcpBind::bind(local)` | `Stack::listen(local, backlog)` | `ReuseAddr` set; backlog [`EdgeNalStack::with_backlog`] (default 4). |
//! | `TcpAccept::accept(&self)` | `StreamListener::accept(&mut self)` | concurrent calls are serialised by a lock in [`EdgeAcceptor`] (see there). |
//! | `TcpSplit::split` | [`SplitStream::split`] | the halves are the backend's: each waits on its own direction, so reading and writing run at once. |
//! | `Readable::readable` | the read half's [`Readable`](unisock::asynch::Readable) | a one-byte peek; consumes nothing. |
//! | `TcpShutdown::close(what)` | `shutdown(Read / Write / Both)` | never waits. |
//! | `TcpShutdown::abort` | `SO_LINGER` 0 + `shutdown(Both)` | the RST goes out when the socket is dropped (unisock's `abort` consumes the socket; edge-nal's borrows it). |
//!
//! The stack's stream type must implement [`SplitStream`] (both unisock backends' TCP streams
//! do). Errors are the stack's own error type.

use core::cell::{Cell, RefCell};
use core::future::poll_fn;
use core::net::SocketAddr;
use core::task::{Poll, Waker};
use core::time::Duration;

use edge_nal::{Close, Readable, TcpAccept, TcpBind, TcpConnect, TcpShutdown, TcpSplit};
use unisock::asynch::embedded_io_async::{self, ErrorType, Read, Write};
use unisock::asynch::{SplitStream, Stack};
use unisock::{Shutdown, SockOpt};

/// How many tasks can wait for the accept lock with a waker of their own; more are woken
/// at once to retry (correct, but they spin while the lock is taken).
pub const ACCEPT_WAITERS: usize = 8;

/// An async unisock stack as an edge-nal stack. See the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct EdgeNalStack<S> {
    stack: S,
    backlog: usize,
}

impl<S: Stack> EdgeNalStack<S> {
    /// Wrap `stack` (listen backlog 4).
    pub const fn new(stack: S) -> Self {
        EdgeNalStack { stack, backlog: 4 }
    }

    /// The backlog `TcpBind::bind` listens with.
    pub const fn with_backlog(mut self, backlog: usize) -> Self {
        self.backlog = backlog;
        self
    }

    /// The unisock stack.
    pub const fn stack(&self) -> &S {
        &self.stack
    }
}

/// A connected TCP socket for edge-nal: the unisock stream, with the `Readable`, `TcpSplit`
/// and `TcpShutdown` edge-nal asks for.
#[derive(Debug)]
pub struct EdgeTcpSocket<T>(T);

impl<T> EdgeTcpSocket<T> {
    /// Wrap a unisock stream obtained through the unisock API.
    pub const fn new(stream: T) -> Self {
        EdgeTcpSocket(stream)
    }

    /// The unisock stream (options, addresses).
    pub fn stream(&mut self) -> &mut T {
        &mut self.0
    }

    /// The unisock stream back.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: SplitStream> ErrorType for EdgeTcpSocket<T> {
    type Error = <T as ErrorType>::Error;
}

impl<T: SplitStream> Read for EdgeTcpSocket<T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.0.read(buf).await
    }
}

impl<T: SplitStream> Write for EdgeTcpSocket<T> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.0.flush().await
    }
}

impl<T: SplitStream> Readable for EdgeTcpSocket<T> {
    async fn readable(&mut self) -> Result<(), Self::Error> {
        unisock::asynch::Readable::readable(&mut self.0.split().0).await
    }
}

impl<T: SplitStream> TcpShutdown for EdgeTcpSocket<T> {
    async fn close(&mut self, what: Close) -> Result<(), Self::Error> {
        self.0.shutdown(match what {
            Close::Read => Shutdown::Read,
            Close::Write => Shutdown::Write,
            Close::Both => Shutdown::Both,
        })
    }

    async fn abort(&mut self) -> Result<(), Self::Error> {
        self.0.set_option(SockOpt::Linger(Some(Duration::ZERO)))?;
        self.0.shutdown(Shutdown::Read)
    }
}

/// A half of a split [`EdgeTcpSocket`] (edge-nal's `TcpSplit::Read` / `Write`).
#[derive(Debug)]
pub struct EdgeHalf<H>(H);

impl<H: ErrorType> ErrorType for EdgeHalf<H> {
    type Error = H::Error;
}

impl<H: Read> Read for EdgeHalf<H> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.0.read(buf).await
    }
}

impl<H: unisock::asynch::Readable> Readable for EdgeHalf<H> {
    async fn readable(&mut self) -> Result<(), Self::Error> {
        self.0.readable().await
    }
}

impl<H: Write> Write for EdgeHalf<H> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.0.flush().await
    }
}

impl<T: SplitStream> TcpSplit for EdgeTcpSocket<T> {
    type Read<'a>
        = EdgeHalf<T::ReadHalf<'a>>
    where
        Self: 'a;
    type Write<'a>
        = EdgeHalf<T::WriteHalf<'a>>
    where
        Self: 'a;

    fn split(&mut self) -> (Self::Read<'_>, Self::Write<'_>) {
        let (r, w) = self.0.split();
        (EdgeHalf(r), EdgeHalf(w))
    }
}

impl<S: Stack> TcpConnect for EdgeNalStack<S>
where
    S::TcpStream: SplitStream,
{
    type Error = S::Error;
    type Socket<'a>
        = EdgeTcpSocket<S::TcpStream>
    where
        Self: 'a;

    async fn connect(&self, remote: SocketAddr) -> Result<Self::Socket<'_>, Self::Error> {
        Ok(EdgeTcpSocket(self.stack.connect(remote).await?))
    }
}

/// A listening socket for edge-nal. `TcpAccept::accept` takes `&self` (several tasks may
/// accept at once) but unisock's `accept` takes `&mut self`: the calls are serialised by a
/// lock here, without allocation. One accept runs at a time; the others wait (their wakers
/// kept, up to [`ACCEPT_WAITERS`]) and the next one takes the lock when it is released, which
/// is when a connection was taken or the running accept was dropped. Not `Sync`: use it from
/// one executor thread (edge-http's server runs its handlers as futures of one task).
pub struct EdgeAcceptor<L> {
    listener: RefCell<L>,
    busy: Cell<bool>,
    waiters: RefCell<[Option<Waker>; ACCEPT_WAITERS]>,
}

impl<L> core::fmt::Debug for EdgeAcceptor<L> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EdgeAcceptor")
            .field("busy", &self.busy.get())
            .finish()
    }
}

impl<L> EdgeAcceptor<L> {
    /// Wrap a unisock listener.
    pub fn new(listener: L) -> Self {
        EdgeAcceptor {
            listener: RefCell::new(listener),
            busy: Cell::new(false),
            waiters: RefCell::new([const { None }; ACCEPT_WAITERS]),
        }
    }

    /// The unisock listener back.
    pub fn into_inner(self) -> L {
        self.listener.into_inner()
    }

    /// The listener's local address (`None` while an accept holds the listener).
    pub fn local_addr(&self) -> Option<Result<L::Addr, L::Error>>
    where
        L: unisock::Socket,
    {
        self.listener.try_borrow().ok().map(|l| l.local_addr())
    }

    async fn lock(&self) -> Guard<'_, L> {
        poll_fn(|cx| {
            if !self.busy.get() {
                self.busy.set(true);
                return Poll::Ready(Guard(self));
            }
            let mut waiters = self.waiters.borrow_mut();
            if waiters.iter().flatten().any(|w| w.will_wake(cx.waker())) {
                return Poll::Pending;
            }
            match waiters.iter_mut().find(|w| w.is_none()) {
                Some(free) => *free = Some(cx.waker().clone()),
                // No room: retry on the next poll.
                None => cx.waker().wake_by_ref(),
            }
            Poll::Pending
        })
        .await
    }
}

/// The accept lock, released (and its waiters woken) on drop.
struct Guard<'a, L>(&'a EdgeAcceptor<L>);

impl<L> Drop for Guard<'_, L> {
    fn drop(&mut self) {
        self.0.busy.set(false);
        for w in self.0.waiters.borrow_mut().iter_mut() {
            if let Some(w) = w.take() {
                w.wake();
            }
        }
    }
}

impl<S: Stack> TcpBind for EdgeNalStack<S>
where
    S::TcpStream: SplitStream,
{
    type Error = S::Error;
    type Accept<'a>
        = EdgeAcceptor<S::TcpListener>
    where
        Self: 'a;

    async fn bind(&self, local: SocketAddr) -> Result<Self::Accept<'_>, Self::Error> {
        Ok(EdgeAcceptor::new(self.stack.listen(local, self.backlog)?))
    }
}

impl<L> TcpAccept for EdgeAcceptor<L>
where
    L: unisock::asynch::StreamListener<Addr = SocketAddr>,
    L::Stream: SplitStream,
    L::Error: embedded_io_async::Error,
    <L::Stream as ErrorType>::Error: Into<L::Error>,
{
    type Error = L::Error;
    type Socket<'a>
        = EdgeTcpSocket<L::Stream>
    where
        Self: 'a;

    #[allow(
        clippy::await_holding_refcell_ref,
        reason = "only the holder of the accept lock borrows the listener mutably"
    )]
    async fn accept(&self) -> Result<(SocketAddr, Self::Socket<'_>), Self::Error> {
        let _guard = self.lock().await;
        // Only the holder of the lock borrows the listener, and it is released after.
        let mut listener = self.listener.borrow_mut();
        let (stream, peer) = listener.accept().await?;
        Ok((peer, EdgeTcpSocket(stream)))
    }
}
