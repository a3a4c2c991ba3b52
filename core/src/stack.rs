//! The stack trait: the entry point a backend provides, and what generic code is written
//! against.

use core::net::{IpAddr, SocketAddr};
use core::time::Duration;

use crate::poll::{AsSource, PollItem};
use crate::{
    DatagramSocket, Domain, Error, ErrorType, Protocol, RawSocket, SockOpt, Socket, StreamListener,
    StreamSocket, TcpSocket,
};

/// How many addresses one name resolution returns at most.
pub const MAX_ADDRESSES: usize = 8;

/// The addresses a host name resolved to, in the order to try them.
pub type Addresses = heapless::Vec<IpAddr, MAX_ADDRESSES>;

/// A network stack: creates sockets and resolves names.
///
/// Implemented by `unisock_posix::PosixStack` (the Linux kernel) and by
/// `&unisock_smoltcp::Stack` (smoltcp). Every socket type is bound to the stack's one error
/// type. Generic code takes `&S` where `S: Stack`:
///
/// ```
/// use core::net::SocketAddr;
/// use unisock::{Shutdown, Stack, StreamListener, StreamSocket};
/// use unisock::embedded_io::{Read, Write};
///
/// fn echo_once<S: Stack>(stack: &S, at: SocketAddr) -> Result<(), S::Error> {
///     let mut listener = stack.listen(at, 8)?;
///     let (mut conn, _peer) = listener.accept()?;
///     let mut buf = [0u8; 1024];
///     let n = conn.read(&mut buf)?;
///     conn.write_all(&buf[..n])?;
///     conn.shutdown(Shutdown::Write)
/// }
/// ```
pub trait Stack: ErrorType<Error: Error> {
    /// An unconnected TCP socket (step-by-step BSD form).
    type TcpSocket: TcpSocket<Error = Self::Error, Stream = Self::TcpStream, Listener = Self::TcpListener>;
    /// A connected TCP stream.
    type TcpStream: StreamSocket<Addr = SocketAddr, Error = Self::Error>
        + AsSource<Source = Self::Source>;
    /// A listening TCP socket.
    type TcpListener: StreamListener<Addr = SocketAddr, Stream = Self::TcpStream, Error = Self::Error>
        + AsSource<Source = Self::Source>;
    /// A UDP socket.
    type UdpSocket: DatagramSocket<Addr = SocketAddr, Error = Self::Error>
        + AsSource<Source = Self::Source>;
    /// A raw IP socket.
    type RawSocket: RawSocket<Error = Self::Error> + AsSource<Source = Self::Source>;
    /// How a socket is named in [`poll_sockets`](Stack::poll_sockets): a file descriptor on
    /// the kernel, a pool handle on smoltcp.
    type Source: Copy + Eq + core::fmt::Debug;

    /// Create an unbound TCP socket of `domain` (`socket(domain, SOCK_STREAM, 0)`). `Unix` is
    /// `InvalidInput` here (UNIX-domain sockets are backend-specific types).
    fn tcp_socket(&self, domain: Domain) -> Result<Self::TcpSocket, Self::Error>;

    /// Create an unbound UDP socket of `domain`.
    fn udp_socket(&self, domain: Domain) -> Result<Self::UdpSocket, Self::Error>;

    /// Create a raw socket for `protocol` in `domain`. The kernel backend needs
    /// `CAP_NET_RAW` (`PermissionDenied` otherwise).
    fn raw_socket(
        &self,
        domain: Domain,
        protocol: Protocol,
    ) -> Result<Self::RawSocket, Self::Error>;

    /// Resolve a host name (or an IP literal, returned without a lookup) to addresses, in
    /// the order to try them. `HostNotFound` if the name has no address.
    fn resolve(&self, host: &str) -> Result<Addresses, Self::Error>;

    /// How many sockets of this stack are open now (for leak checks). The kernel backend
    /// counts the sockets it opened in this process; smoltcp counts occupied socket slots,
    /// including connections still closing.
    fn open_sockets(&self) -> usize;

    /// Wait until at least one of `items` is ready for its [`interest`](PollItem::interest),
    /// or `timeout` passes (`None`: no limit; zero: only look), and set every item's
    /// [`ready`](PollItem::ready). Returns how many items are ready (0 after a timeout: a
    /// poll that times out is not an error). The BSD `poll(2)`; see [`crate::poll`] for what
    /// readiness means. A source of another stack, or of a closed socket, fails with
    /// `StaleHandle` on smoltcp and is reported as [`Ready::ERROR`](crate::poll::Ready::ERROR)
    /// by the kernel backend.
    fn poll_sockets(
        &self,
        items: &mut [PollItem<Self::Source>],
        timeout: Option<Duration>,
    ) -> Result<usize, Self::Error>;

    /// Create, bind (with [`SockOpt::ReuseAddr`], as `std::net` does) and listen in one call.
    fn listen(&self, local: SocketAddr, backlog: usize) -> Result<Self::TcpListener, Self::Error> {
        let mut socket = self.tcp_socket(Domain::of(&local))?;
        socket.set_option(SockOpt::ReuseAddr(true))?;
        socket.bind(local)?;
        socket.listen(backlog)
    }

    /// Create a socket and connect it to `remote` (auto-binding an ephemeral local port).
    fn connect(&self, remote: SocketAddr) -> Result<Self::TcpStream, Self::Error> {
        self.tcp_socket(Domain::of(&remote))?.connect(remote)
    }

    /// As [`connect`](Stack::connect), failing with `TimedOut` after `timeout`.
    fn connect_timeout(
        &self,
        remote: SocketAddr,
        timeout: Duration,
    ) -> Result<Self::TcpStream, Self::Error> {
        self.tcp_socket(Domain::of(&remote))?
            .connect_timeout(remote, timeout)
    }

    /// Create a UDP socket bound to `local` (port 0: an ephemeral port).
    fn bind_udp(&self, local: SocketAddr) -> Result<Self::UdpSocket, Self::Error> {
        let mut socket = self.udp_socket(Domain::of(&local))?;
        socket.bind(local)?;
        Ok(socket)
    }
}
