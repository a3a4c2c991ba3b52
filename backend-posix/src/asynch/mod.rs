//! Async sockets over the kernel: [`AsyncStack`] implements [`unisock::asynch::SendStack`]
//! (and so [`unisock::asynch::Stack`]) on a [`Reactor`]: [`TokioStack`] over tokio's
//! `AsyncFd` (feature `tokio`), [`AsyncIoStack`] over async-io's `Async` (feature `async-io`,
//! any executor). The logic is written once, generic over the reactor; the two reactors
//! differ only in [`Reactor::poll_io`].
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn demo() -> Result<(), unisock_posix::Error> {
//! use unisock::asynch::{SendStack, SendStreamListener, SendStreamSocket};
//! use unisock::{RecvFlags, Socket};
//! use unisock_posix::asynch::TokioStack;
//!
//! let stack = TokioStack::new();
//! let mut listener = stack.listen("127.0.0.1:0".parse().unwrap(), 8)?;
//! let mut client = stack.connect(listener.local_addr()?).await?;
//! let (mut server, _peer) = listener.accept().await?;
//! client.send_all(b"ping").await?;
//! let mut buf = [0u8; 4];
//! let n = server.recv(&mut buf, RecvFlags::WAITALL).await?;
//! assert_eq!(&buf[..n], b"ping");
//! # Ok(()) }
//! ```
//!
//! ## Which reactor
//! [`TokioStack`] is the recommended default (and the only choice under tokio): on one thread
//! it keeps pace with `tokio::net` (bench workload 9, ratio medians of interleaved rounds in
//! three runs on a loaded 2-CPU machine: 1-byte ping-pong 1.01 / 1.04 / 0.99, bulk 64 KiB
//! writes 0.90 / 1.27 / 0.97, connect + accept + close 0.99 / 1.02 / 0.89) and allocates
//! nothing per operation. [`AsyncIoStack`] runs under any executor (smol, futures-executor,
//! `async_io::block_on`, tokio too) but is slower on small messages (ping-pong 0.88 / 0.88 /
//! 0.89 of `tokio::net`, under `async_io::block_on`): its reactor allocates a waker list on
//! every turn and wakes through its own thread or the `block_on` parker.
//!
//! ## How it works
//! - Each socket is the blocking type of this crate ([`crate::TcpStream`], ...) plus one
//!   registration of its descriptor with the reactor ([`Registered`]). Every operation is the
//!   blocking type's non-blocking call (`MSG_DONTWAIT`; a listener in non-blocking mode): one
//!   system call when it can complete, then a wait for the reactor's readiness event and one
//!   more try. No heap allocation on the read/write/send/recv paths (the futures live in the
//!   caller's task).
//! - Connect is a non-blocking `connect`, a wait for writability, then `SO_ERROR`.
//! - [`resolve`](unisock::asynch::Stack::resolve): IP literals are parsed at once;
//!   `getaddrinfo` blocks, so it runs on the reactor's blocking pool (tokio `spawn_blocking`,
//!   the `blocking` crate for async-io). A dropped resolve future lets the lookup finish on
//!   its thread and discards the result.
//! - Cancellation is as `unisock::asynch` documents: each future makes its one system call
//!   inside `poll`, so a dropped future has either completed an operation whose result was
//!   returned, or done nothing. `recv` with [`RecvFlags::WAITALL`] is a loop (a dropped one
//!   may have consumed a prefix), like `read_exact`.
//! - Everything is `Send + Sync`; futures are `Send`, so tasks can be spawned on tokio's
//!   multi-threaded runtime.
//! - The streams (and their split halves) also implement the poll-based traits of the std
//!   ecosystem: `tokio::io::AsyncRead`/`AsyncWrite` (feature `tokio`) and
//!   `futures_io::AsyncRead`/`AsyncWrite` (feature `futures-io`), so `tokio::io::copy`,
//!   `BufReader`, codecs and hyper (through `hyper_util::rt::TokioIo`) take them as they are;
//!   `poll_shutdown` / `poll_close` shut the write direction down.
//! - The blocking types convert into async ones ([`crate::TcpStream::into_async`],
//!   [`Registered::new`]) and back ([`Registered::into_inner`]).
//!
//! Known limitation: `recv` with `PEEK | WAITALL` on async-io, while fewer than `buf.len()`
//! bytes are queued, polls again at every reactor turn (async-io's readiness is
//! level-triggered) instead of sleeping until more data arrives; on tokio it sleeps.
//!
//! Known limitation (tokio reactor): on a connected UDP socket, the `ConnectionRefused` that an
//! ICMP port unreachable leaves pending is reported by the next send, but does not wake a
//! receive (or a split receive half's `readable`) that waits: the kernel raises `EPOLLERR`
//! alone, which `AsyncFd::poll_read_ready` does not include (tokio's own `UdpSocket` had the
//! same defect, tokio-rs/tokio#8000, fixed inside tokio with an `ERROR` interest that
//! `AsyncFd`'s poll methods do not offer). On async-io, whose readable readiness includes
//! `EPOLLERR`, the receive reports it.
//!
//! Not supported: the blocking-only calls (timeouts through `SockOpt::ReadTimeout` do not
//! bound async calls: use the executor's timer), batched datagrams, async UNIX-domain
//! connect (wrap a connected [`crate::UnixStream`] with [`Registered::new`] instead).

#[cfg(any(feature = "tokio", feature = "futures-io"))]
mod compat;
mod reactor;

use core::future::{Future, poll_fn};
use core::marker::PhantomData;
use core::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use unisock::asynch::{
    SendDatagramSocket, SendRawSocket, SendStack, SendStreamListener, SendStreamSocket,
    SendTcpSocket,
};
use unisock::{
    Addresses, Association, DatagramSocket as _, Domain, ErrorType, Protocol, RecvFlags, RecvMeta,
    SendFlags, Shutdown, SockOpt, SockOptName, Socket, StreamListener as _, StreamSocket as _,
    TcpSocket as _, embedded_io,
};

#[cfg(feature = "async-io")]
pub use reactor::AsyncIo;
#[cfg(feature = "tokio")]
pub use reactor::Tokio;
pub use reactor::{Direction, Reactor};

use crate::error::Error;
use crate::family::Family;
use crate::stream::{Listener, Stream};
use crate::{Datagram, PosixStack};

/// The kernel as an async stack on reactor `R`. Zero-sized.
pub struct AsyncStack<R: Reactor> {
    _reactor: PhantomData<fn() -> R>,
}

/// The kernel as an async stack on tokio's reactor (recommended under tokio).
#[cfg(feature = "tokio")]
pub type TokioStack = AsyncStack<Tokio>;

/// The kernel as an async stack on async-io's reactor (any executor).
#[cfg(feature = "async-io")]
pub type AsyncIoStack = AsyncStack<AsyncIo>;

impl<R: Reactor> AsyncStack<R> {
    /// The stack.
    pub const fn new() -> Self {
        AsyncStack {
            _reactor: PhantomData,
        }
    }
}

impl<R: Reactor> Default for AsyncStack<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Reactor> Clone for AsyncStack<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R: Reactor> Copy for AsyncStack<R> {}

impl<R: Reactor> core::fmt::Debug for AsyncStack<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AsyncStack")
    }
}

/// A socket of this crate registered with reactor `R`: the async form of `T`. The aliases
/// name the usual ones ([`TcpStream`], [`TcpListener`], [`UdpSocket`], [`RawSocket`],
/// [`UnixStream`], [`UnixListener`], [`UnixDatagram`]).
pub struct Registered<R: Reactor, T> {
    // Declared first so it is dropped (deregistered) before `inner` closes the descriptor.
    reg: R::Registration,
    inner: T,
}

/// An async connected TCP stream.
pub type TcpStream<R> = Registered<R, crate::TcpStream>;
/// An async listening TCP socket.
pub type TcpListener<R> = Registered<R, crate::TcpListener>;
/// An async UDP socket.
pub type UdpSocket<R> = Registered<R, crate::UdpSocket>;
/// An async raw IP socket.
pub type RawSocket<R> = Registered<R, crate::RawSocket>;
/// An async connected UNIX-domain stream.
pub type UnixStream<R> = Registered<R, crate::UnixStream>;
/// An async listening UNIX-domain stream socket.
pub type UnixListener<R> = Registered<R, crate::UnixListener>;
/// An async UNIX-domain datagram socket.
pub type UnixDatagram<R> = Registered<R, crate::UnixDatagram>;

mod sealed {
    pub trait Sealed {}
}

/// A socket type of this crate that [`Registered`] can hold (sealed: the crate's streams,
/// listeners, datagram and raw sockets).
pub trait Descriptor: AsRawFd + sealed::Sealed {
    /// Put the descriptor back in the state the blocking type expects, as it leaves
    /// [`Registered::into_inner`].
    #[doc(hidden)]
    fn leave_async(&mut self) {}
}

impl<F: Family> sealed::Sealed for Stream<F> {}
/// A stream made by the async connect is non-blocking; the blocking type's calls expect
/// blocking mode.
impl<F: Family> Descriptor for Stream<F> {
    fn leave_async(&mut self) {
        // F_GETFL/F_SETFL fail only on a descriptor that is not open; an owned one is.
        let _ = self.sock.set_nonblocking(false);
    }
}
impl<F: Family> sealed::Sealed for Listener<F> {}
/// Listeners track their mode themselves (`try_accept`).
impl<F: Family> Descriptor for Listener<F> {}
impl<F: Family> sealed::Sealed for Datagram<F> {}
/// Datagram sockets stay blocking: every async call passes `MSG_DONTWAIT`.
impl<F: Family> Descriptor for Datagram<F> {}
impl sealed::Sealed for crate::RawSocket {}
/// Raw sockets stay blocking: every async call passes `MSG_DONTWAIT`.
impl Descriptor for crate::RawSocket {}

impl<R: Reactor, T: Descriptor> Registered<R, T> {
    /// Register a socket of this crate with the reactor. A listener is switched to
    /// non-blocking mode on its first accept; other descriptors are left as they are (every
    /// async call is non-blocking by itself). Fails with `Unsupported` on the tokio reactor outside a
    /// tokio runtime; on failure the socket is closed.
    pub fn new(inner: T) -> Result<Self, Error> {
        let reg = R::register(inner.as_raw_fd())?;
        Ok(Registered { reg, inner })
    }

    /// The socket, for its non-async calls (addresses, options).
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Deregister and return the socket (a blocking one again, as far as this crate's calls
    /// go).
    pub fn into_inner(self) -> T {
        let Registered { reg, mut inner } = self;
        drop(reg);
        inner.leave_async();
        inner
    }

    #[inline]
    fn poll_op<'a, O: 'a>(
        &'a mut self,
        dir: Direction,
        mut op: impl FnMut(&mut T) -> Result<O, Error> + 'a,
    ) -> impl Future<Output = Result<O, Error>> + 'a {
        let Registered { reg, inner } = self;
        poll_fn(move |cx| R::poll_io(reg, cx, dir, || op(inner)))
    }
}

impl<R: Reactor, F: Family> Registered<R, Stream<F>> {
    /// One plain receive through a shared reference, waiting for readability on `WouldBlock`
    /// (the read half's `read`, the poll traits' `poll_read`).
    #[inline]
    pub(crate) fn poll_recv(
        &self,
        cx: &mut core::task::Context<'_>,
        buf: &mut [u8],
    ) -> core::task::Poll<Result<usize, Error>> {
        R::poll_io(&self.reg, cx, Direction::Read, || {
            self.inner.try_recv_shared(buf, RecvFlags::NONE)
        })
    }

    /// One plain send through a shared reference, waiting for writability on `WouldBlock`
    /// (the write half's `write`, the poll traits' `poll_write`).
    #[inline]
    pub(crate) fn poll_send(
        &self,
        cx: &mut core::task::Context<'_>,
        buf: &[u8],
    ) -> core::task::Poll<Result<usize, Error>> {
        R::poll_io(&self.reg, cx, Direction::Write, || {
            self.inner.try_send_shared(buf, SendFlags::NONE)
        })
    }
}

impl<R: Reactor, T: AsFd> AsFd for Registered<R, T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl<R: Reactor, T: AsRawFd> AsRawFd for Registered<R, T> {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl<R: Reactor, T: core::fmt::Debug> core::fmt::Debug for Registered<R, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Registered")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<F: Family> Stream<F> {
    /// Register this stream with reactor `R` (see [`Registered::new`]).
    pub fn into_async<R: Reactor>(self) -> Result<Registered<R, Self>, Error> {
        Registered::new(self)
    }
}

impl<F: Family> Listener<F> {
    /// Register this listener with reactor `R` (see [`Registered::new`]).
    pub fn into_async<R: Reactor>(self) -> Result<Registered<R, Self>, Error> {
        Registered::new(self)
    }
}

impl<F: Family> Datagram<F> {
    /// Register this datagram socket with reactor `R` (see [`Registered::new`]).
    pub fn into_async<R: Reactor>(self) -> Result<Registered<R, Self>, Error> {
        Registered::new(self)
    }
}

impl crate::RawSocket {
    /// Register this raw socket with reactor `R` (see [`Registered::new`]).
    pub fn into_async<R: Reactor>(self) -> Result<Registered<R, Self>, Error> {
        Registered::new(self)
    }
}

impl<R: Reactor, T: ErrorType<Error = Error>> ErrorType for Registered<R, T> {
    type Error = Error;
}

impl<R: Reactor, T: Socket<Error = Error>> Socket for Registered<R, T> {
    type Addr = T::Addr;

    fn local_addr(&self) -> Result<T::Addr, Error> {
        self.inner.local_addr()
    }

    fn set_option(&mut self, option: SockOpt) -> Result<(), Error> {
        self.inner.set_option(option)
    }

    fn option(&self, name: SockOptName) -> Result<SockOpt, Error> {
        self.inner.option(name)
    }
}

impl<R: Reactor> ErrorType for AsyncStack<R> {
    type Error = Error;
}

impl<R: Reactor> SendStack for AsyncStack<R> {
    type TcpSocket = TcpSocket<R>;
    type TcpStream = TcpStream<R>;
    type TcpListener = TcpListener<R>;
    type UdpSocket = UdpSocket<R>;
    type RawSocket = RawSocket<R>;

    /// Created non-blocking (`SOCK_NONBLOCK`), so that its connect is one `connect` call.
    fn tcp_socket(&self, domain: Domain) -> Result<TcpSocket<R>, Error> {
        Ok(TcpSocket {
            inner: crate::TcpSocket::new_nonblocking(domain)?,
            _reactor: PhantomData,
        })
    }

    fn udp_socket(&self, domain: Domain) -> Result<UdpSocket<R>, Error> {
        Registered::new(crate::UdpSocket::new(domain)?)
    }

    fn raw_socket(&self, domain: Domain, protocol: Protocol) -> Result<RawSocket<R>, Error> {
        Registered::new(crate::RawSocket::new(domain, protocol)?)
    }

    /// IP literals without a lookup; names through `getaddrinfo` on the reactor's blocking
    /// pool (see the module docs).
    fn resolve(&self, host: &str) -> impl Future<Output = Result<Addresses, Error>> + Send {
        let literal = host.parse::<IpAddr>().ok();
        let name = if literal.is_none() {
            Some(host.to_owned())
        } else {
            None
        };
        async move {
            if let Some(ip) = literal {
                let mut out = Addresses::new();
                // A fresh vector has room for one address.
                let _ = out.push(ip);
                return Ok(out);
            }
            let name = name.unwrap_or_default();
            R::unblock(move || unisock::Stack::resolve(&PosixStack, &name)).await?
        }
    }

    fn open_sockets(&self) -> usize {
        crate::sys::open_sockets()
    }
}

/// An unconnected async TCP socket: set options, bind, then listen or connect.
pub struct TcpSocket<R: Reactor> {
    inner: crate::TcpSocket,
    _reactor: PhantomData<fn() -> R>,
}

impl<R: Reactor> core::fmt::Debug for TcpSocket<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpSocket")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<R: Reactor> ErrorType for TcpSocket<R> {
    type Error = Error;
}

impl<R: Reactor> Socket for TcpSocket<R> {
    type Addr = SocketAddr;

    fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.inner.local_addr()
    }

    fn set_option(&mut self, option: SockOpt) -> Result<(), Error> {
        self.inner.set_option(option)
    }

    fn option(&self, name: SockOptName) -> Result<SockOpt, Error> {
        self.inner.option(name)
    }
}

impl<R: Reactor> SendTcpSocket for TcpSocket<R> {
    type Stream = TcpStream<R>;
    type Listener = TcpListener<R>;

    fn bind(&mut self, local: SocketAddr) -> Result<(), Error> {
        self.inner.bind(local)
    }

    fn listen(self, backlog: usize) -> Result<TcpListener<R>, Error> {
        Registered::new(self.inner.listen_blocking(backlog)?)
    }

    /// Non-blocking `connect` (the socket was created non-blocking: no `fcntl`), wait for
    /// writability, then `SO_ERROR`. Dropping the future closes the socket.
    async fn connect(self, remote: SocketAddr) -> Result<TcpStream<R>, Error> {
        let stream = self.inner.connect_started(remote)?;
        let mut stream: TcpStream<R> = Registered::new(stream)?;
        stream
            .poll_op(Direction::Write, |s| s.connect_status())
            .await
            .map_err(|e| e.at(remote))?;
        Ok(stream)
    }
}

impl<R: Reactor, F: Family> SendStreamListener for Registered<R, Listener<F>> {
    type Stream = Registered<R, Stream<F>>;

    /// Cancellation-safe: a connection is taken from the kernel's queue only by the call that
    /// returns it.
    async fn accept(&mut self) -> Result<(Registered<R, Stream<F>>, F), Error> {
        let (stream, peer) = self.poll_op(Direction::Read, |l| l.try_accept()).await?;
        Ok((Registered::new(stream)?, peer))
    }
}

impl<R: Reactor, F: Family> unisock::asynch::embedded_io_async::Read for Registered<R, Stream<F>> {
    #[inline]
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        SendStreamSocket::recv(self, buf, RecvFlags::NONE).await
    }
}

impl<R: Reactor, F: Family> unisock::asynch::embedded_io_async::Write for Registered<R, Stream<F>> {
    #[inline]
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        SendStreamSocket::send(self, buf, SendFlags::NONE).await
    }

    /// Nothing to do: writes go straight to the kernel.
    async fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

impl<R: Reactor, F: Family> embedded_io::ReadReady for Registered<R, Stream<F>> {
    fn read_ready(&mut self) -> Result<bool, Error> {
        self.inner.read_ready()
    }
}

impl<R: Reactor, F: Family> embedded_io::WriteReady for Registered<R, Stream<F>> {
    fn write_ready(&mut self) -> Result<bool, Error> {
        self.inner.write_ready()
    }
}

/// The read half of a split async stream ([`unisock::asynch::SplitStream`]): waits on the
/// descriptor's read readiness only, so it runs alongside the write half.
pub struct ReadHalf<'a, R: Reactor, F: Family>(&'a Registered<R, Stream<F>>);

/// The write half of a split async stream: waits on write readiness only.
pub struct WriteHalf<'a, R: Reactor, F: Family>(&'a Registered<R, Stream<F>>);

impl<R: Reactor, F: Family> core::fmt::Debug for ReadHalf<'_, R, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReadHalf")
            .field("fd", &self.0.as_raw_fd())
            .finish()
    }
}

impl<R: Reactor, F: Family> core::fmt::Debug for WriteHalf<'_, R, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WriteHalf")
            .field("fd", &self.0.as_raw_fd())
            .finish()
    }
}

impl<R: Reactor, F: Family> unisock::asynch::embedded_io_async::ErrorType for ReadHalf<'_, R, F> {
    type Error = Error;
}

impl<R: Reactor, F: Family> unisock::asynch::embedded_io_async::ErrorType for WriteHalf<'_, R, F> {
    type Error = Error;
}

impl<R: Reactor, F: Family> unisock::asynch::embedded_io_async::Read for ReadHalf<'_, R, F> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let s = self.0;
        poll_fn(|cx| s.poll_recv(cx, buf)).await
    }
}

impl<R: Reactor, F: Family> unisock::asynch::Readable for ReadHalf<'_, R, F> {
    /// A one-byte `MSG_PEEK`: ready on data, on end of stream (`Ok(0)`) and on an error.
    async fn readable(&mut self) -> Result<(), Error> {
        let s = self.0;
        let mut one = [0u8; 1];
        let r = poll_fn(|cx| {
            R::poll_io(&s.reg, cx, Direction::Read, || {
                s.inner.try_recv_shared(&mut one, RecvFlags::PEEK)
            })
        })
        .await;
        match r {
            Ok(_) => Ok(()),
            // The error is the next read's: report readiness, the read reports the error.
            Err(_) => Ok(()),
        }
    }
}

impl<R: Reactor, F: Family> unisock::asynch::embedded_io_async::Write for WriteHalf<'_, R, F> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        let s = self.0;
        poll_fn(|cx| s.poll_send(cx, buf)).await
    }

    /// Nothing to do: writes go straight to the kernel.
    async fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

impl<R: Reactor, F: Family> unisock::asynch::SplitStream for Registered<R, Stream<F>>
where
    Self: unisock::asynch::StreamSocket<Error = Error>,
{
    type ReadHalf<'a> = ReadHalf<'a, R, F>;
    type WriteHalf<'a> = WriteHalf<'a, R, F>;

    fn split(&mut self) -> (ReadHalf<'_, R, F>, WriteHalf<'_, R, F>) {
        (ReadHalf(self), WriteHalf(self))
    }
}

impl<R: Reactor, F: Family> SendStreamSocket for Registered<R, Stream<F>> {
    fn peer_addr(&self) -> Result<F, Error> {
        self.inner.peer_addr()
    }

    fn association(&self) -> Result<Association<F>, Error> {
        self.inner.association()
    }

    /// One `recv` when data is there. With [`RecvFlags::WAITALL`] a loop until the buffer is
    /// full or the stream ends (with `PEEK` too: it waits until `buf.len()` bytes can be
    /// peeked).
    #[inline]
    async fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize, Error> {
        if !flags.contains(RecvFlags::WAITALL) || buf.is_empty() {
            return self
                .poll_op(Direction::Read, |s| s.try_recv(buf, flags))
                .await;
        }
        let flags = flags.without(RecvFlags::WAITALL);
        if flags.contains(RecvFlags::PEEK) {
            let want = buf.len();
            // A short peek counts as "not yet": the reactor wakes us on more data.
            return self
                .poll_op(Direction::Read, |s| match s.try_recv(buf, flags) {
                    Ok(n) if n != 0 && n < want => {
                        Err(Error::os(crate::error::Op::Recv, libc::EAGAIN))
                    }
                    r => r,
                })
                .await;
        }
        let mut got = 0;
        while got < buf.len() {
            let rest = &mut buf[got..];
            let n = self
                .poll_op(Direction::Read, |s| s.try_recv(rest, flags))
                .await?;
            if n == 0 {
                break;
            }
            got += n;
        }
        Ok(got)
    }

    #[inline]
    async fn send(&mut self, buf: &[u8], flags: SendFlags) -> Result<usize, Error> {
        self.poll_op(Direction::Write, |s| s.try_send(buf, flags))
            .await
    }

    fn shutdown(&mut self, how: Shutdown) -> Result<(), Error> {
        self.inner.shutdown(how)
    }

    fn abort(self) -> Result<(), Error> {
        self.into_inner().abort()
    }
}

impl<R: Reactor, F: Family + Send> SendDatagramSocket for Registered<R, Datagram<F>> {
    fn bind(&mut self, local: F) -> Result<(), Error> {
        self.inner.bind(local)
    }

    fn connect(&mut self, peer: F) -> Result<(), Error> {
        self.inner.connect(peer)
    }

    fn peer_addr(&self) -> Result<F, Error> {
        self.inner.peer_addr()
    }

    #[inline]
    async fn send_to(&mut self, buf: &[u8], to: F, flags: SendFlags) -> Result<usize, Error> {
        self.poll_op(Direction::Write, |s| s.try_send_to(buf, to, flags))
            .await
    }

    #[inline]
    async fn recv_from(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<RecvMeta<F>, Error> {
        self.poll_op(Direction::Read, |s| s.try_recv_from(buf, flags))
            .await
    }
}

/// The receive half of a split async datagram socket ([`unisock::asynch::SplitDatagram`]):
/// waits on the descriptor's read readiness only, so it runs alongside the send half.
pub struct RecvHalf<'a, R: Reactor, F: Family> {
    reg: &'a R::Registration,
    side: crate::datagram::RecvSide<'a, F>,
}

/// The send half of a split async datagram socket: waits on write readiness only.
pub struct SendHalf<'a, R: Reactor, F: Family> {
    reg: &'a R::Registration,
    side: crate::datagram::SendSide<'a, F>,
}

impl<R: Reactor, F: Family> core::fmt::Debug for RecvHalf<'_, R, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RecvHalf")
            .field("side", &self.side)
            .finish()
    }
}

impl<R: Reactor, F: Family> core::fmt::Debug for SendHalf<'_, R, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SendHalf")
            .field("side", &self.side)
            .finish()
    }
}

impl<R: Reactor, F: Family> unisock::asynch::embedded_io_async::ErrorType for RecvHalf<'_, R, F> {
    type Error = Error;
}

impl<R: Reactor, F: Family> unisock::asynch::embedded_io_async::ErrorType for SendHalf<'_, R, F> {
    type Error = Error;
}

impl<R: Reactor, F: Family> unisock::asynch::Readable for RecvHalf<'_, R, F> {
    /// An empty `MSG_PEEK | MSG_TRUNC` receive: ready once a datagram is queued. A pending
    /// socket error (`ConnectionRefused` after an ICMP port unreachable on a connected
    /// socket) is returned here: the kernel clears it when it reports it, so the next
    /// receive would not see it again.
    async fn readable(&mut self) -> Result<(), Error> {
        unisock::asynch::DatagramRecvHalf::recv_from(self, &mut [], RecvFlags::PEEK)
            .await
            .map(|_| ())
    }
}

impl<R: Reactor, F: Family> unisock::asynch::DatagramRecvHalf for RecvHalf<'_, R, F> {
    type Addr = F;

    #[inline]
    async fn recv_from(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<RecvMeta<F>, Error> {
        let RecvHalf { reg, side } = self;
        poll_fn(|cx| R::poll_io(reg, cx, Direction::Read, || side.try_recv_from(buf, flags))).await
    }
}

impl<R: Reactor, F: Family> unisock::asynch::DatagramSendHalf for SendHalf<'_, R, F> {
    type Addr = F;

    #[inline]
    async fn send_to(&mut self, buf: &[u8], to: F, flags: SendFlags) -> Result<usize, Error> {
        let SendHalf { reg, side } = self;
        poll_fn(|cx| {
            R::poll_io(reg, cx, Direction::Write, || {
                side.try_send_to(buf, to, flags)
            })
        })
        .await
    }

    /// One `send` (no address) to the connected peer: `NotConnected` without one, and a
    /// pending `ConnectionRefused` is reported here as on a receive.
    #[inline]
    async fn send(&mut self, buf: &[u8], flags: SendFlags) -> Result<usize, Error> {
        let SendHalf { reg, side } = self;
        poll_fn(|cx| R::poll_io(reg, cx, Direction::Write, || side.try_send(buf, flags))).await
    }
}

impl<R: Reactor, F: Family + Send> unisock::asynch::SplitDatagram for Registered<R, Datagram<F>>
where
    Self: unisock::asynch::DatagramSocket<Addr = F, Error = Error>,
{
    type RecvHalf<'a> = RecvHalf<'a, R, F>;
    type SendHalf<'a> = SendHalf<'a, R, F>;

    fn split(&mut self) -> (RecvHalf<'_, R, F>, SendHalf<'_, R, F>) {
        let Registered { reg, inner } = self;
        let (recv, send) = inner.sides();
        (RecvHalf { reg, side: recv }, SendHalf { reg, side: send })
    }
}

impl<R: Reactor> SendRawSocket for Registered<R, crate::RawSocket> {
    async fn send_to(&mut self, payload: &[u8], to: IpAddr) -> Result<usize, Error> {
        self.poll_op(Direction::Write, |s| s.try_send_to(payload, to))
            .await
    }

    async fn recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<IpAddr>, Error> {
        self.poll_op(Direction::Read, |s| {
            unisock::RawSocket::try_recv_from(s, buf, flags)
        })
        .await
    }
}
