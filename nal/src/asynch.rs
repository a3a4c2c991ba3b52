//! Any async unisock stack ([`unisock::asynch::Stack`]) as an `embedded-nal-async` 0.9 stack:
//! [`TcpConnect`], [`UdpStack`] and [`Dns`] on [`AsyncNalStack`] (feature `async`).
//!
//! | embedded-nal-async call | unisock (`unisock::asynch`) | notes |
//! |---|---|---|
//! | `TcpConnect::connect(remote)` | `Stack::connect(remote)` | the connection is the unisock stream behind [`AsyncTcpConnection`] (embedded-io-async `Read`/`Write`, `ReadReady`/`WriteReady`); `read` returns `Ok(0)` at end of stream, as embedded-io specifies. Dropping it closes gracefully. |
//! | `UdpStack::connect_from(local, remote)` | `udp_socket` + `bind(local)` + `connect(remote)` | returns the bound local address (`getsockname`). |
//! | `UdpStack::bind_single(local)`, `bind_multiple(local)` | `udp_socket` + `bind(local)` | the same socket type for both. |
//! | `ConnectedUdp::send` / `receive_into` | `send` / `recv` | `receive_into` returns the datagram's full length: larger than the buffer when it was truncated (the rest is discarded), as the trait specifies. |
//! | `UnconnectedUdp::send(local, remote, data)` | `send_to(remote)` | `local` must be the bound address or unspecified in its parts; another one is `InvalidInput` (unisock cannot choose the source address per datagram). |
//! | `UnconnectedUdp::receive_into` | `recv_from` | the local address reported is the bound one: unisock does not report a datagram's destination address (no `IP_PKTINFO`), so a socket bound to an unspecified address reports that. |
//! | `Dns::get_host_by_name` | `resolve` | the first address of the requested type, else [`Error::NoAddressOfType`]. |
//! | `Dns::get_host_by_address` | — | `Unsupported`. |
//!
//! Errors are the crate's [`Error`] over the stack's error, so calls the adapter refuses
//! itself are typed too.

use core::net::{IpAddr, SocketAddr};

use embedded_nal_async::{AddrType, ConnectedUdp, Dns, TcpConnect, UdpStack, UnconnectedUdp};
use unisock::asynch::embedded_io_async;
use unisock::asynch::{DatagramSocket as _, Stack};
use unisock::embedded_io;
use unisock::{Domain, ErrorKind, RecvFlags, SendFlags, Socket as _};

use crate::Error;

/// An async unisock stack as an embedded-nal-async stack. See the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct AsyncNalStack<S> {
    stack: S,
}

impl<S: Stack> AsyncNalStack<S> {
    /// Wrap `stack`.
    pub const fn new(stack: S) -> Self {
        AsyncNalStack { stack }
    }

    /// The unisock stack.
    pub const fn stack(&self) -> &S {
        &self.stack
    }

    /// The unisock stack back.
    pub fn into_inner(self) -> S {
        self.stack
    }
}

/// A TCP connection from [`TcpConnect::connect`]: the unisock stream, with the adapter's
/// error type.
pub struct AsyncTcpConnection<S: Stack> {
    stream: S::TcpStream,
}

impl<S: Stack> AsyncTcpConnection<S> {
    /// A connection over a unisock stream obtained through the unisock API (accepted, or
    /// connected with options set first).
    pub fn from_stream(stream: S::TcpStream) -> Self {
        AsyncTcpConnection { stream }
    }

    /// The unisock stream (for options, `shutdown`, `peer_addr`, ...).
    pub fn stream(&mut self) -> &mut S::TcpStream {
        &mut self.stream
    }

    /// The unisock stream back.
    pub fn into_inner(self) -> S::TcpStream {
        self.stream
    }
}

impl<S: Stack> core::fmt::Debug for AsyncTcpConnection<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AsyncTcpConnection")
            .field("local", &self.stream.local_addr().ok())
            .finish()
    }
}

impl<S: Stack> embedded_io::ErrorType for AsyncTcpConnection<S> {
    type Error = Error<S::Error>;
}

impl<S: Stack> embedded_io_async::Read for AsyncTcpConnection<S> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.stream.read(buf).await?)
    }
}

impl<S: Stack> embedded_io_async::Write for AsyncTcpConnection<S> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        Ok(self.stream.write(buf).await?)
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(self.stream.flush().await?)
    }
}

impl<S: Stack> embedded_io::ReadReady for AsyncTcpConnection<S> {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(self.stream.read_ready()?)
    }
}

impl<S: Stack> embedded_io::WriteReady for AsyncTcpConnection<S> {
    fn write_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(self.stream.write_ready()?)
    }
}

impl<S: Stack> TcpConnect for AsyncNalStack<S> {
    type Error = Error<S::Error>;
    type Connection<'a>
        = AsyncTcpConnection<S>
    where
        Self: 'a;

    /// `Stack::connect`: a new socket of the remote's family, bound to an ephemeral port,
    /// connected. Dropping the future closes the socket.
    async fn connect(&self, remote: SocketAddr) -> Result<AsyncTcpConnection<S>, Self::Error> {
        Ok(AsyncTcpConnection {
            stream: self.stack.connect(remote).await?,
        })
    }
}

/// A UDP socket of [`UdpStack`]: connected ([`ConnectedUdp`]) or bound ([`UnconnectedUdp`]).
pub struct AsyncUdpSocket<S: Stack> {
    socket: S::UdpSocket,
    /// The address it was bound to (reported by `receive_into`).
    local: SocketAddr,
}

impl<S: Stack> AsyncUdpSocket<S> {
    /// The unisock socket.
    pub fn socket(&mut self) -> &mut S::UdpSocket {
        &mut self.socket
    }
}

impl<S: Stack> core::fmt::Debug for AsyncUdpSocket<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AsyncUdpSocket")
            .field("local", &self.local)
            .finish()
    }
}

impl<S: Stack> AsyncNalStack<S> {
    fn udp_bound(&self, local: SocketAddr) -> Result<AsyncUdpSocket<S>, Error<S::Error>> {
        let mut socket = self.stack.udp_socket(Domain::of(&local))?;
        socket.bind(local)?;
        let local = socket.local_addr()?;
        Ok(AsyncUdpSocket { socket, local })
    }
}

impl<S: Stack> UdpStack for AsyncNalStack<S> {
    type Error = Error<S::Error>;
    type Connected = AsyncUdpSocket<S>;
    type UniquelyBound = AsyncUdpSocket<S>;
    type MultiplyBound = AsyncUdpSocket<S>;

    async fn connect_from(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<(SocketAddr, AsyncUdpSocket<S>), Self::Error> {
        let mut s = self.udp_bound(local)?;
        s.socket.connect(remote)?;
        // After connect the kernel has fixed the source address.
        s.local = s.socket.local_addr()?;
        Ok((s.local, s))
    }

    async fn bind_single(
        &self,
        local: SocketAddr,
    ) -> Result<(SocketAddr, AsyncUdpSocket<S>), Self::Error> {
        let s = self.udp_bound(local)?;
        Ok((s.local, s))
    }

    async fn bind_multiple(&self, local: SocketAddr) -> Result<AsyncUdpSocket<S>, Self::Error> {
        self.udp_bound(local)
    }
}

impl<S: Stack> ConnectedUdp for AsyncUdpSocket<S> {
    type Error = Error<S::Error>;

    async fn send(&mut self, data: &[u8]) -> Result<(), Self::Error> {
        self.socket.send(data, SendFlags::NONE).await?;
        Ok(())
    }

    /// The datagram's full length (greater than `buffer.len()` if it was truncated).
    async fn receive_into(&mut self, buffer: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.socket.recv(buffer, RecvFlags::NONE).await?.full_len)
    }
}

/// Whether `given` fits `bound`: each part equal or unspecified.
fn compatible(given: SocketAddr, bound: SocketAddr) -> bool {
    (given.ip().is_unspecified() || given.ip() == bound.ip())
        && (given.port() == 0 || given.port() == bound.port())
}

impl<S: Stack> UnconnectedUdp for AsyncUdpSocket<S> {
    type Error = Error<S::Error>;

    /// Send from the bound address to `remote`; `local` must be that address or unspecified
    /// in the parts that differ (`InvalidInput` otherwise).
    async fn send(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
    ) -> Result<(), Self::Error> {
        if !compatible(local, self.local) {
            return Err(Error::state(
                ErrorKind::InvalidInput,
                "UnconnectedUdp::send: the local address differs from the bound one",
            ));
        }
        self.socket.send_to(data, remote, SendFlags::NONE).await?;
        Ok(())
    }

    /// `(full length, bound address, sender)`; the full length is greater than
    /// `buffer.len()` if the datagram was truncated.
    async fn receive_into(
        &mut self,
        buffer: &mut [u8],
    ) -> Result<(usize, SocketAddr, SocketAddr), Self::Error> {
        let meta = self.socket.recv_from(buffer, RecvFlags::NONE).await?;
        Ok((meta.full_len, self.local, meta.from))
    }
}

impl<S: Stack> Dns for AsyncNalStack<S> {
    type Error = Error<S::Error>;

    async fn get_host_by_name(
        &self,
        host: &str,
        addr_type: AddrType,
    ) -> Result<IpAddr, Self::Error> {
        let addresses = self.stack.resolve(host).await?;
        addresses
            .iter()
            .copied()
            .find(|ip| match addr_type {
                AddrType::IPv4 => ip.is_ipv4(),
                AddrType::IPv6 => ip.is_ipv6(),
                AddrType::Either => true,
            })
            .ok_or(Error::NoAddressOfType)
    }

    /// Reverse lookup is not part of unisock: always `Unsupported`.
    async fn get_host_by_address(
        &self,
        _addr: IpAddr,
        _result: &mut [u8],
    ) -> Result<usize, Self::Error> {
        Err(Error::state(
            ErrorKind::Unsupported,
            "get_host_by_address: unisock has no reverse name lookup",
        ))
    }
}
