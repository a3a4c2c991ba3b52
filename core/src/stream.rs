//! Stream sockets: unconnected sockets, listeners and connected streams (TCP, UNIX stream).
//!
//! The life cycle is typestate: an unconnected [`TcpSocket`] can be bound, then either
//! [`listen`](TcpSocket::listen)ed on (becoming a [`StreamListener`]) or
//! [`connect`](TcpSocket::connect)ed (becoming a [`StreamSocket`]). Only a connected stream has
//! `read`/`write`, so reading an unconnected socket does not compile.
//!
//! Connected streams are [`embedded_io::Read`] + [`embedded_io::Write`]: `read` blocks until at
//! least one byte is available and returns `Ok(0)` only at end of stream (or for an empty
//! buffer); `write` blocks until at least one byte is accepted and never returns `Ok(0)` for a
//! non-empty buffer. `flush` returns once the data is handed to the stack, as with the kernel's
//! sockets; it does not wait for the peer's acknowledgement. The `try_*` methods never block:
//! they fail with [`ErrorKind::WouldBlock`](crate::ErrorKind::WouldBlock) instead.
//!
//! Dropping a stream closes it gracefully (FIN after queued data); [`StreamSocket::abort`]
//! resets it (RST, as `SO_LINGER` with a zero timeout does).

use core::net::SocketAddr;
use core::time::Duration;

use crate::{Association, RecvFlags, SendFlags, Shutdown, Socket};

/// An unconnected TCP socket, created by [`Stack::tcp_socket`](crate::Stack::tcp_socket): the
/// step-by-step BSD form (create, set options, bind, then listen or connect).
pub trait TcpSocket: Socket<Addr = SocketAddr> {
    /// The connected stream this socket becomes.
    type Stream: StreamSocket<Addr = SocketAddr, Error = Self::Error>;
    /// The listener this socket becomes.
    type Listener: StreamListener<Addr = SocketAddr, Stream = Self::Stream, Error = Self::Error>;

    /// Bind to a local endpoint (`bind`). Port 0 picks an ephemeral port. Fails with
    /// `AddrInUse` if a listener or live connection holds the endpoint, `AddrNotAvailable` if
    /// the address is not local, `InvalidInput` if already bound or of the wrong family.
    fn bind(&mut self, local: SocketAddr) -> Result<(), Self::Error>;

    /// Listen for connections, queueing up to `backlog` established ones not yet accepted
    /// (`listen`). An unbound socket is bound to an ephemeral port first. `backlog` 0 is taken
    /// as 1.
    fn listen(self, backlog: usize) -> Result<Self::Listener, Self::Error>;

    /// Connect to `remote`, blocking until established or failed (`connect`). An unbound
    /// socket is first bound to an ephemeral local port and a local address that can reach
    /// `remote`.
    fn connect(self, remote: SocketAddr) -> Result<Self::Stream, Self::Error>;

    /// Start connecting to `remote` and return the stream at once, without waiting for the
    /// handshake (a non-blocking `connect`, for event loops and the embedded superloop).
    ///
    /// While the handshake runs, the stream's `try_*` calls fail with `WouldBlock` and its
    /// [`write_ready`](embedded_io::WriteReady::write_ready) returns `false`; once the
    /// handshake has finished, successfully or not, `write_ready` returns `true` and a failed
    /// connect is reported by the next call (`ConnectionRefused`, `TimedOut`, ...). Blocking
    /// calls on a stream still connecting wait for the handshake first.
    fn connect_nonblocking(self, remote: SocketAddr) -> Result<Self::Stream, Self::Error>;

    /// As [`connect`](TcpSocket::connect), failing with `TimedOut` if not established within
    /// `timeout`.
    fn connect_timeout(
        self,
        remote: SocketAddr,
        timeout: Duration,
    ) -> Result<Self::Stream, Self::Error>;
}

/// A listening stream socket that hands out connections.
pub trait StreamListener: Socket {
    /// The connected stream type `accept` returns.
    type Stream: StreamSocket<Addr = Self::Addr, Error = Self::Error>;

    /// Take the next established connection, blocking until there is one (`accept`). The
    /// [`SockOpt::ReadTimeout`](crate::SockOpt::ReadTimeout) option bounds the wait
    /// (`TimedOut`). Returns the stream and the peer's endpoint.
    fn accept(&mut self) -> Result<(Self::Stream, Self::Addr), Self::Error>;

    /// As [`accept`](StreamListener::accept), but fails with `WouldBlock` instead of waiting.
    fn try_accept(&mut self) -> Result<(Self::Stream, Self::Addr), Self::Error>;
}

/// A connected stream socket.
pub trait StreamSocket:
    Socket + embedded_io::Read + embedded_io::Write + embedded_io::ReadReady + embedded_io::WriteReady
{
    /// The remote endpoint (`getpeername`).
    fn peer_addr(&self) -> Result<Self::Addr, Self::Error>;

    /// Protocol, local and remote endpoint of this connection.
    fn association(&self) -> Result<Association<Self::Addr>, Self::Error>;

    /// Receive with flags (`recv`), blocking until at least one byte (all of them with
    /// [`RecvFlags::WAITALL`]), end of stream (`Ok(0)`) or an error. A flag the backend cannot
    /// honour fails with `Unsupported`.
    fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize, Self::Error>;

    /// Send with flags (`send`), blocking until at least one byte is queued.
    fn send(&mut self, buf: &[u8], flags: SendFlags) -> Result<usize, Self::Error>;

    /// As [`recv`](StreamSocket::recv), but fails with `WouldBlock` instead of waiting.
    fn try_recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize, Self::Error>;

    /// As [`send`](StreamSocket::send), but fails with `WouldBlock` instead of waiting.
    fn try_send(&mut self, buf: &[u8], flags: SendFlags) -> Result<usize, Self::Error>;

    /// Non-blocking `read`: `WouldBlock` if no byte is available.
    fn try_read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.try_recv(buf, RecvFlags::NONE)
    }

    /// Non-blocking `write`: `WouldBlock` if no byte can be queued.
    fn try_write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.try_send(buf, SendFlags::NONE)
    }

    /// Close one or both directions (`shutdown`). Shutting down a direction twice is not an
    /// error.
    fn shutdown(&mut self, how: Shutdown) -> Result<(), Self::Error>;

    /// Reset the connection (RST) and release the socket: queued data is discarded and the
    /// peer sees `ConnectionReset`.
    fn abort(self) -> Result<(), Self::Error>;
}
