//! Async sockets: the [`Stack`] and socket traits of the crate root, as `async` calls.
//!
//! Blocking, non-blocking and async are kept apart: the root traits block (or, as `try_*`,
//! fail with `WouldBlock`); the traits here return futures and never block a thread. They
//! mirror the blocking ones name for name (create, bind, connect with auto-bind, listen with a
//! backlog, accept, send/recv with flags, shutdown, close/abort, UDP, connected UDP, raw,
//! resolve, [`make_connection`]). Creating, binding and listening never wait, so they are
//! plain functions here too. Connected streams are [`embedded_io_async::Read`] +
//! [`embedded_io_async::Write`] (plus embedded-io's `ReadReady`/`WriteReady`), so crates
//! written against embedded-io-async use them directly.
//!
//! ```
//! use core::net::SocketAddr;
//! use unisock::asynch::{Stack, StreamListener, StreamSocket};
//! use unisock::asynch::embedded_io_async::{Read, Write};
//! use unisock::Shutdown;
//!
//! /// Accept one connection, echo one read back, half-close.
//! async fn echo_once<S: Stack>(stack: &S, at: SocketAddr) -> Result<(), S::Error> {
//!     let mut listener = stack.listen(at, 8)?;
//!     let (mut conn, _peer) = listener.accept().await?;
//!     let mut buf = [0u8; 1024];
//!     let n = conn.read(&mut buf).await?;
//!     conn.write_all(&buf[..n]).await?;
//!     conn.shutdown(Shutdown::Write)
//! }
//! ```
//!
//! ## Spawning generic code on a multi-threaded executor (`Send`)
//!
//! A future returned by a trait method cannot be named in a bound on stable Rust (return-type
//! notation is unstable), so generic code over [`Stack`] cannot prove its futures `Send`, and
//! `tokio::spawn` refuses them. The [`send`] module therefore has a second family of the same
//! traits, [`SendStack`], [`SendStreamSocket`] and so on, whose methods return `Send` futures
//! (the pattern of the `trait-variant` crate, written out so that the associated socket types
//! carry the `Send` variants too). Backends whose sockets can move between threads implement
//! those (`unisock-posix`; `unisock-smoltcp` with `std`); every `SendStack` is also a
//! [`Stack`] through a blanket implementation, so code written against [`Stack`] runs on them
//! as well. Write generic code against [`SendStack`] when it must be spawned on a
//! multi-threaded runtime, against [`Stack`] otherwise (single-threaded executors, embassy).
//! Import one family or the other: with both in scope, calls such as `recv` are ambiguous.
//! The streams' embedded-io-async `read`/`write` futures are not `Send` in generic code (their
//! trait says nothing of it): generic `Send` code uses [`SendStreamSocket::recv`] and
//! [`SendStreamSocket::send`] (and `send_all`) instead.
//!
//! ## Reading and writing at once ([`SplitStream`])
//!
//! The stream traits take `&mut self`, so one future uses a stream at a time. Streams that can
//! wait on their two directions independently also implement the optional [`SplitStream`]:
//! `split(&mut self)` borrows a read half and a write half, each usable from its own future
//! (a reader task and a writer task, as `edge-nal`'s `TcpSplit` expects). Both backends' TCP
//! streams implement it; generic code asks for it with `S::TcpStream: SplitStream`.
//!
//! Datagram sockets have the same option, [`SplitDatagram`]: `split(&mut self)` borrows a
//! receive half ([`DatagramRecvHalf`]: `recv_from` and [`Readable::readable`], which completes
//! once a datagram is queued) and a send half ([`DatagramSendHalf`]: `send_to`, and `send` to
//! the connected peer), one task receiving while another sends (as `edge-nal`'s `UdpSplit`
//! expects). Both backends' UDP sockets implement it; generic code asks for it with
//! `S::UdpSocket: SplitDatagram`. The halves keep the socket's semantics (truncation reported
//! in [`RecvMeta`], a connected socket's peer filter, errors such as `ConnectionRefused` where
//! the backend reports them).
//!
//! ## Cancellation
//!
//! Every future here may be dropped before it completes (a timeout, a `select!` that took
//! another branch), and none leaves state half-changed: a dropped `recv`/`read` consumed no
//! data, a dropped `send`/`write` queued none, a dropped `accept` leaves the connection queued
//! for the next call, a dropped `connect` drops (closes) the socket it was connecting, a
//! dropped `recv_from` consumed no datagram. `send_all` and embedded-io's `write_all`/
//! `read_exact` are loops: when dropped they may have moved a prefix.
//!
//! ## Timeouts
//!
//! The [`SockOpt::ReadTimeout`] and
//! [`SockOpt::WriteTimeout`] options bound the blocking calls
//! only; async calls wait until done, and callers bound them with their executor's timer
//! (`tokio::time::timeout`, `embassy_time::with_timeout`), which is cancellation (above).

use core::future::Future;
use core::net::{IpAddr, SocketAddr};

use crate::resolve::{Host, MakeConnectionError, parse_target};
use crate::{
    Addresses, Association, Domain, Error, ErrorType, Protocol, RecvFlags, RecvMeta, SendFlags,
    Shutdown, SockOpt, Socket,
};

pub mod send;

pub use embedded_io_async;
pub use send::{
    SendDatagramSocket, SendRawSocket, SendStack, SendStreamListener, SendStreamSocket,
    SendTcpSocket,
};

/// An async network stack: creates sockets and resolves names. The async counterpart of
/// [`crate::Stack`]; see the [module docs](self) for `Send` and cancellation.
pub trait Stack: ErrorType<Error: Error> {
    /// An unconnected TCP socket.
    type TcpSocket: TcpSocket<Error = Self::Error, Stream = Self::TcpStream, Listener = Self::TcpListener>;
    /// A connected TCP stream.
    type TcpStream: StreamSocket<Addr = SocketAddr, Error = Self::Error>;
    /// A listening TCP socket.
    type TcpListener: StreamListener<Addr = SocketAddr, Stream = Self::TcpStream, Error = Self::Error>;
    /// A UDP socket.
    type UdpSocket: DatagramSocket<Addr = SocketAddr, Error = Self::Error>;
    /// A raw IP socket.
    type RawSocket: RawSocket<Error = Self::Error>;

    /// Create an unbound TCP socket of `domain` (as [`crate::Stack::tcp_socket`]).
    fn tcp_socket(&self, domain: Domain) -> Result<Self::TcpSocket, Self::Error>;

    /// Create an unbound UDP socket of `domain`.
    fn udp_socket(&self, domain: Domain) -> Result<Self::UdpSocket, Self::Error>;

    /// Create a raw socket for `protocol` in `domain` (as [`crate::Stack::raw_socket`]).
    fn raw_socket(
        &self,
        domain: Domain,
        protocol: Protocol,
    ) -> Result<Self::RawSocket, Self::Error>;

    /// Resolve a host name (or an IP literal) to addresses, in the order to try them.
    fn resolve(&self, host: &str) -> impl Future<Output = Result<Addresses, Self::Error>>;

    /// How many sockets of this stack are open now (for leak checks).
    fn open_sockets(&self) -> usize;

    /// Create, bind (with [`SockOpt::ReuseAddr`]) and listen in one call.
    fn listen(&self, local: SocketAddr, backlog: usize) -> Result<Self::TcpListener, Self::Error> {
        let mut socket = self.tcp_socket(Domain::of(&local))?;
        socket.set_option(SockOpt::ReuseAddr(true))?;
        socket.bind(local)?;
        socket.listen(backlog)
    }

    /// Create a socket and connect it to `remote` (auto-binding an ephemeral local port).
    fn connect(
        &self,
        remote: SocketAddr,
    ) -> impl Future<Output = Result<Self::TcpStream, Self::Error>> {
        async move { self.tcp_socket(Domain::of(&remote))?.connect(remote).await }
    }

    /// Create a UDP socket bound to `local` (port 0: an ephemeral port).
    fn bind_udp(&self, local: SocketAddr) -> Result<Self::UdpSocket, Self::Error> {
        let mut socket = self.udp_socket(Domain::of(&local))?;
        socket.bind(local)?;
        Ok(socket)
    }
}

/// An unconnected TCP socket: bind, then listen or connect (as [`crate::TcpSocket`]).
pub trait TcpSocket: Socket<Addr = SocketAddr> {
    /// The connected stream this socket becomes.
    type Stream: StreamSocket<Addr = SocketAddr, Error = Self::Error>;
    /// The listener this socket becomes.
    type Listener: StreamListener<Addr = SocketAddr, Stream = Self::Stream, Error = Self::Error>;

    /// Bind to a local endpoint (port 0: ephemeral).
    fn bind(&mut self, local: SocketAddr) -> Result<(), Self::Error>;

    /// Listen, queueing up to `backlog` established connections (0 is taken as 1).
    fn listen(self, backlog: usize) -> Result<Self::Listener, Self::Error>;

    /// Connect to `remote`, completing once established or failed. An unbound socket is bound
    /// to an ephemeral port first. Dropping the future closes the socket.
    fn connect(self, remote: SocketAddr)
    -> impl Future<Output = Result<Self::Stream, Self::Error>>;
}

/// A listening stream socket (as [`crate::StreamListener`]).
pub trait StreamListener: Socket {
    /// The connected stream type `accept` returns.
    type Stream: StreamSocket<Addr = Self::Addr, Error = Self::Error>;

    /// Take the next established connection, waiting until there is one. Cancellation-safe:
    /// a dropped `accept` leaves the connection for the next call.
    fn accept(&mut self) -> impl Future<Output = Result<(Self::Stream, Self::Addr), Self::Error>>;
}

/// A connected stream socket (as [`crate::StreamSocket`]); `read`/`write` come from
/// embedded-io-async.
///
/// `write` completes once the bytes are queued in the stack, and `flush` completes at once on
/// every backend, as on the kernel (`std::net`, `tokio::net`): neither waits for the peer's
/// acknowledgement. (embassy-net's `flush` waits until the peer has acknowledged everything;
/// code ported from it that relies on that, for example before powering down, waits for
/// delivery with [`shutdown`](StreamSocket::shutdown)`(Write)` and a read until end of stream,
/// which completes once the peer has received everything and closed too.) Dropping a stream
/// closes it gracefully: the queued data and the FIN are still delivered.
pub trait StreamSocket:
    Socket
    + embedded_io_async::Read
    + embedded_io_async::Write
    + embedded_io::ReadReady
    + embedded_io::WriteReady
{
    /// The remote endpoint.
    fn peer_addr(&self) -> Result<Self::Addr, Self::Error>;

    /// Protocol, local and remote endpoint of this connection.
    fn association(&self) -> Result<Association<Self::Addr>, Self::Error>;

    /// Receive with flags: completes with at least one byte (all of them with
    /// [`RecvFlags::WAITALL`], unless the stream ends first), `Ok(0)` at end of stream, or an
    /// error. Cancellation-safe (without `WAITALL`).
    fn recv(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> impl Future<Output = Result<usize, Self::Error>>;

    /// Send with flags: completes once at least one byte is queued. Cancellation-safe.
    fn send(
        &mut self,
        buf: &[u8],
        flags: SendFlags,
    ) -> impl Future<Output = Result<usize, Self::Error>>;

    /// Queue all of `buf` (a loop over [`send`](StreamSocket::send)).
    fn send_all(&mut self, buf: &[u8]) -> impl Future<Output = Result<(), Self::Error>> {
        async move {
            let mut rest = buf;
            while !rest.is_empty() {
                let n = self.send(rest, SendFlags::NONE).await?;
                rest = &rest[n..];
            }
            Ok(())
        }
    }

    /// Close one or both directions; never waits.
    fn shutdown(&mut self, how: Shutdown) -> Result<(), Self::Error>;

    /// Reset the connection (RST) and release the socket.
    fn abort(self) -> Result<(), Self::Error>;
}

/// Waiting until a stream has data to read (or has ended), or a datagram socket has a
/// datagram queued, without taking any.
pub trait Readable: embedded_io_async::ErrorType {
    /// Complete once a `read` would not wait: data is queued, the peer closed, or the
    /// connection failed (then `read` reports it). Cancellation-safe; consumes nothing.
    fn readable(&mut self) -> impl Future<Output = Result<(), Self::Error>>;
}

/// A connected stream whose two directions can be used at the same time: [`split`] borrows it
/// as a read half and a write half, each usable from its own future (one task reading while
/// another writes, as `edge-nal`'s `TcpSplit` needs). Optional: implemented by the TCP
/// streams of `unisock-posix` (each half waits on its own readiness of the descriptor) and of
/// `unisock-smoltcp` (each half registers its waker on its own direction of the socket).
///
/// [`split`]: SplitStream::split
pub trait SplitStream: StreamSocket {
    /// The read half: `read` and [`Readable::readable`].
    type ReadHalf<'a>: embedded_io_async::Read<Error = Self::Error> + Readable<Error = Self::Error>
    where
        Self: 'a;
    /// The write half: `write` and `flush`.
    type WriteHalf<'a>: embedded_io_async::Write<Error = Self::Error>
    where
        Self: 'a;

    /// Borrow the stream as a read half and a write half.
    fn split(&mut self) -> (Self::ReadHalf<'_>, Self::WriteHalf<'_>);
}

/// A datagram socket whose receiving and sending can run at the same time: [`split`] borrows
/// it as a receive half and a send half, each usable from its own future (a receiver task and
/// a sender task, as `edge-nal`'s `UdpSplit` needs). Optional: implemented by the UDP sockets
/// of `unisock-posix` (each half waits on its own readiness of the descriptor) and of
/// `unisock-smoltcp` (each half registers its waker on its own direction of the socket).
///
/// [`split`]: SplitDatagram::split
pub trait SplitDatagram: DatagramSocket {
    /// The receive half: [`DatagramRecvHalf::recv_from`] and [`Readable::readable`].
    type RecvHalf<'a>: DatagramRecvHalf<Addr = Self::Addr, Error = Self::Error>
    where
        Self: 'a;
    /// The send half: [`DatagramSendHalf::send_to`] and [`DatagramSendHalf::send`].
    type SendHalf<'a>: DatagramSendHalf<Addr = Self::Addr, Error = Self::Error>
    where
        Self: 'a;

    /// Borrow the socket as a receive half and a send half.
    fn split(&mut self) -> (Self::RecvHalf<'_>, Self::SendHalf<'_>);
}

/// The receive half of a split datagram socket ([`SplitDatagram`]). Its
/// [`readable`](Readable::readable) completes once a datagram is queued (consuming nothing),
/// or with the error the next receive would report.
pub trait DatagramRecvHalf: Readable {
    /// The endpoint type (the socket's [`Socket::Addr`]).
    type Addr;

    /// Receive one datagram, as [`DatagramSocket::recv_from`]. Cancellation-safe.
    fn recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> impl Future<Output = Result<RecvMeta<Self::Addr>, Self::Error>>;
}

/// The send half of a split datagram socket ([`SplitDatagram`]).
pub trait DatagramSendHalf: embedded_io_async::ErrorType {
    /// The endpoint type (the socket's [`Socket::Addr`]).
    type Addr;

    /// Send one datagram to `to`, as [`DatagramSocket::send_to`]. Cancellation-safe.
    fn send_to(
        &mut self,
        buf: &[u8],
        to: Self::Addr,
        flags: SendFlags,
    ) -> impl Future<Output = Result<usize, Self::Error>>;

    /// Send one datagram to the connected peer, as [`DatagramSocket::send`]; `NotConnected` if
    /// the socket has none. Cancellation-safe.
    fn send(
        &mut self,
        buf: &[u8],
        flags: SendFlags,
    ) -> impl Future<Output = Result<usize, Self::Error>>;
}

/// A datagram socket (as [`crate::DatagramSocket`], without the batch calls).
pub trait DatagramSocket: Socket {
    /// Bind to a local endpoint; port 0 picks an ephemeral port.
    fn bind(&mut self, local: Self::Addr) -> Result<(), Self::Error>;

    /// Fix the peer: later sends go to it and only its datagrams are received.
    fn connect(&mut self, peer: Self::Addr) -> Result<(), Self::Error>;

    /// The connected peer; `NotConnected` if there is none.
    fn peer_addr(&self) -> Result<Self::Addr, Self::Error>;

    /// Send one datagram to `to`, waiting while the send buffer is full. Cancellation-safe.
    fn send_to(
        &mut self,
        buf: &[u8],
        to: Self::Addr,
        flags: SendFlags,
    ) -> impl Future<Output = Result<usize, Self::Error>>;

    /// Receive one datagram (truncation reported in [`RecvMeta`]). Cancellation-safe.
    fn recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> impl Future<Output = Result<RecvMeta<Self::Addr>, Self::Error>>;

    /// Send one datagram to the connected peer.
    fn send(
        &mut self,
        buf: &[u8],
        flags: SendFlags,
    ) -> impl Future<Output = Result<usize, Self::Error>> {
        async move {
            let peer = self.peer_addr()?;
            self.send_to(buf, peer, flags).await
        }
    }

    /// Receive one datagram from the connected peer.
    fn recv(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> impl Future<Output = Result<RecvMeta<Self::Addr>, Self::Error>> {
        self.recv_from(buf, flags)
    }
}

/// A raw IP socket (as [`crate::RawSocket`], same packet format).
pub trait RawSocket: Socket<Addr = IpAddr> {
    /// Send one packet's payload to `to`.
    fn send_to(
        &mut self,
        payload: &[u8],
        to: IpAddr,
    ) -> impl Future<Output = Result<usize, Self::Error>>;

    /// Receive one packet. Cancellation-safe.
    fn recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> impl Future<Output = Result<RecvMeta<IpAddr>, Self::Error>>;
}

/// The classic MakeConnection, async: connect to `host[:port]` (`default_port` when the
/// target names none), trying every address the name resolves to in order (as
/// [`crate::make_connection_with`]). There is no per-address timeout: bound the whole call
/// with the executor's timer.
pub async fn make_connection<S: Stack>(
    stack: &S,
    target: &str,
    default_port: u16,
) -> Result<S::TcpStream, MakeConnectionError<S::Error>> {
    let target = parse_target(target, default_port).map_err(MakeConnectionError::Target)?;
    let addresses = match target.host {
        Host::Ip(ip) => {
            let mut one = Addresses::new();
            // Capacity is at least 1.
            let _ = one.push(ip);
            one
        }
        Host::Name(name) => stack
            .resolve(name)
            .await
            .map_err(MakeConnectionError::Resolve)?,
    };
    let mut last = MakeConnectionError::NoAddress;
    for ip in addresses {
        let addr = SocketAddr::new(ip, target.port);
        match stack.connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last = MakeConnectionError::Connect { addr, error },
        }
    }
    Err(last)
}
