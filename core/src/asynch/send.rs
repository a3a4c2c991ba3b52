//! The `Send` family of the async traits: the same traits, whose futures are `Send`, for
//! generic code spawned on a multi-threaded executor (see the [parent module](super)).
//!
//! Every implementation of a trait here is also an implementation of its counterpart in
//! [`asynch`](super) (blanket implementations), so a backend implements one family or the
//! other: `Send` where its sockets can cross threads, the plain one otherwise.
//!
//! ```
//! use core::net::SocketAddr;
//! use unisock::asynch::{SendStack, SendStreamListener, SendStreamSocket};
//! use unisock::{RecvFlags, SendFlags};
//!
//! /// Serve echo forever, one task per connection: generic, and spawnable on tokio's
//! /// multi-threaded runtime because every future in it is `Send`.
//! fn serve<S: SendStack + 'static>(stack: &'static S, at: SocketAddr)
//!     -> impl core::future::Future<Output = Result<(), S::Error>> + Send
//! {
//!     async move {
//!         let mut listener = stack.listen(at, 128)?;
//!         loop {
//!             let (mut conn, _) = listener.accept().await?;
//!             // tokio::spawn(async move { ... }) accepts this block: it is Send.
//!             let _task = async move {
//!                 let mut buf = [0u8; 4096];
//!                 loop {
//!                     let n = conn.recv(&mut buf, RecvFlags::NONE).await?;
//!                     if n == 0 {
//!                         return Ok::<(), S::Error>(());
//!                     }
//!                     conn.send_all(&buf[..n]).await?;
//!                 }
//!             };
//!         }
//!     }
//! }
//! ```

use core::future::Future;
use core::net::{IpAddr, SocketAddr};

use super::{DatagramSocket, RawSocket, Stack, StreamListener, StreamSocket, TcpSocket};
use crate::{
    Addresses, Association, Domain, Error, ErrorType, Protocol, RecvFlags, RecvMeta, SendFlags,
    Shutdown, SockOpt, Socket,
};

/// [`Stack`] with `Send` futures and sockets, and an error type that can cross threads (so a
/// spawned task can return `Result<_, S::Error>`).
pub trait SendStack: ErrorType<Error: Error + Send + Sync + 'static> + Send + Sync {
    /// An unconnected TCP socket.
    type TcpSocket: SendTcpSocket<Error = Self::Error, Stream = Self::TcpStream, Listener = Self::TcpListener>;
    /// A connected TCP stream.
    type TcpStream: SendStreamSocket<Addr = SocketAddr, Error = Self::Error>;
    /// A listening TCP socket.
    type TcpListener: SendStreamListener<Addr = SocketAddr, Stream = Self::TcpStream, Error = Self::Error>;
    /// A UDP socket.
    type UdpSocket: SendDatagramSocket<Addr = SocketAddr, Error = Self::Error>;
    /// A raw IP socket.
    type RawSocket: SendRawSocket<Error = Self::Error>;

    /// As [`Stack::tcp_socket`].
    fn tcp_socket(&self, domain: Domain) -> Result<Self::TcpSocket, Self::Error>;

    /// As [`Stack::udp_socket`].
    fn udp_socket(&self, domain: Domain) -> Result<Self::UdpSocket, Self::Error>;

    /// As [`Stack::raw_socket`].
    fn raw_socket(
        &self,
        domain: Domain,
        protocol: Protocol,
    ) -> Result<Self::RawSocket, Self::Error>;

    /// As [`Stack::resolve`].
    fn resolve(&self, host: &str) -> impl Future<Output = Result<Addresses, Self::Error>> + Send;

    /// As [`Stack::open_sockets`].
    fn open_sockets(&self) -> usize;

    /// As [`Stack::listen`].
    fn listen(&self, local: SocketAddr, backlog: usize) -> Result<Self::TcpListener, Self::Error> {
        let mut socket = SendStack::tcp_socket(self, Domain::of(&local))?;
        socket.set_option(SockOpt::ReuseAddr(true))?;
        SendTcpSocket::bind(&mut socket, local)?;
        SendTcpSocket::listen(socket, backlog)
    }

    /// As [`Stack::connect`].
    fn connect(
        &self,
        remote: SocketAddr,
    ) -> impl Future<Output = Result<Self::TcpStream, Self::Error>> + Send {
        async move {
            let socket = SendStack::tcp_socket(self, Domain::of(&remote))?;
            SendTcpSocket::connect(socket, remote).await
        }
    }

    /// As [`Stack::bind_udp`].
    fn bind_udp(&self, local: SocketAddr) -> Result<Self::UdpSocket, Self::Error> {
        let mut socket = SendStack::udp_socket(self, Domain::of(&local))?;
        SendDatagramSocket::bind(&mut socket, local)?;
        Ok(socket)
    }
}

/// [`TcpSocket`] with a `Send` connect future.
pub trait SendTcpSocket: Socket<Addr = SocketAddr> + Send {
    /// The connected stream this socket becomes.
    type Stream: SendStreamSocket<Addr = SocketAddr, Error = Self::Error>;
    /// The listener this socket becomes.
    type Listener: SendStreamListener<Addr = SocketAddr, Stream = Self::Stream, Error = Self::Error>;

    /// As [`TcpSocket::bind`].
    fn bind(&mut self, local: SocketAddr) -> Result<(), Self::Error>;

    /// As [`TcpSocket::listen`].
    fn listen(self, backlog: usize) -> Result<Self::Listener, Self::Error>;

    /// As [`TcpSocket::connect`].
    fn connect(
        self,
        remote: SocketAddr,
    ) -> impl Future<Output = Result<Self::Stream, Self::Error>> + Send;
}

/// [`StreamListener`] with a `Send` accept future.
pub trait SendStreamListener: Socket + Send {
    /// The connected stream type `accept` returns.
    type Stream: SendStreamSocket<Addr = Self::Addr, Error = Self::Error>;

    /// As [`StreamListener::accept`].
    fn accept(
        &mut self,
    ) -> impl Future<Output = Result<(Self::Stream, Self::Addr), Self::Error>> + Send;
}

/// [`StreamSocket`] with `Send` futures.
pub trait SendStreamSocket:
    Socket
    + embedded_io_async::Read
    + embedded_io_async::Write
    + embedded_io::ReadReady
    + embedded_io::WriteReady
    + Send
{
    /// As [`StreamSocket::peer_addr`].
    fn peer_addr(&self) -> Result<Self::Addr, Self::Error>;

    /// As [`StreamSocket::association`].
    fn association(&self) -> Result<Association<Self::Addr>, Self::Error>;

    /// As [`StreamSocket::recv`].
    fn recv(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> impl Future<Output = Result<usize, Self::Error>> + Send;

    /// As [`StreamSocket::send`].
    fn send(
        &mut self,
        buf: &[u8],
        flags: SendFlags,
    ) -> impl Future<Output = Result<usize, Self::Error>> + Send;

    /// As [`StreamSocket::send_all`].
    fn send_all(&mut self, buf: &[u8]) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async move {
            let mut rest = buf;
            while !rest.is_empty() {
                let n = self.send(rest, SendFlags::NONE).await?;
                rest = &rest[n..];
            }
            Ok(())
        }
    }

    /// As [`StreamSocket::shutdown`].
    fn shutdown(&mut self, how: Shutdown) -> Result<(), Self::Error>;

    /// As [`StreamSocket::abort`].
    fn abort(self) -> Result<(), Self::Error>;
}

/// [`DatagramSocket`] with `Send` futures.
pub trait SendDatagramSocket: Socket<Addr: Send> + Send {
    /// As [`DatagramSocket::bind`].
    fn bind(&mut self, local: Self::Addr) -> Result<(), Self::Error>;

    /// As [`DatagramSocket::connect`].
    fn connect(&mut self, peer: Self::Addr) -> Result<(), Self::Error>;

    /// As [`DatagramSocket::peer_addr`].
    fn peer_addr(&self) -> Result<Self::Addr, Self::Error>;

    /// As [`DatagramSocket::send_to`].
    fn send_to(
        &mut self,
        buf: &[u8],
        to: Self::Addr,
        flags: SendFlags,
    ) -> impl Future<Output = Result<usize, Self::Error>> + Send;

    /// As [`DatagramSocket::recv_from`].
    fn recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> impl Future<Output = Result<RecvMeta<Self::Addr>, Self::Error>> + Send;

    /// As [`DatagramSocket::send`].
    fn send(
        &mut self,
        buf: &[u8],
        flags: SendFlags,
    ) -> impl Future<Output = Result<usize, Self::Error>> + Send {
        async move {
            let peer = self.peer_addr()?;
            self.send_to(buf, peer, flags).await
        }
    }

    /// As [`DatagramSocket::recv`].
    fn recv(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> impl Future<Output = Result<RecvMeta<Self::Addr>, Self::Error>> + Send {
        self.recv_from(buf, flags)
    }
}

/// [`RawSocket`] with `Send` futures.
pub trait SendRawSocket: Socket<Addr = IpAddr> + Send {
    /// As [`RawSocket::send_to`].
    fn send_to(
        &mut self,
        payload: &[u8],
        to: IpAddr,
    ) -> impl Future<Output = Result<usize, Self::Error>> + Send;

    /// As [`RawSocket::recv_from`].
    fn recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> impl Future<Output = Result<RecvMeta<IpAddr>, Self::Error>> + Send;
}

impl<T: SendStack> Stack for T {
    type TcpSocket = T::TcpSocket;
    type TcpStream = T::TcpStream;
    type TcpListener = T::TcpListener;
    type UdpSocket = T::UdpSocket;
    type RawSocket = T::RawSocket;

    fn tcp_socket(&self, domain: Domain) -> Result<Self::TcpSocket, Self::Error> {
        SendStack::tcp_socket(self, domain)
    }
    fn udp_socket(&self, domain: Domain) -> Result<Self::UdpSocket, Self::Error> {
        SendStack::udp_socket(self, domain)
    }
    fn raw_socket(
        &self,
        domain: Domain,
        protocol: Protocol,
    ) -> Result<Self::RawSocket, Self::Error> {
        SendStack::raw_socket(self, domain, protocol)
    }
    fn resolve(&self, host: &str) -> impl Future<Output = Result<Addresses, Self::Error>> {
        SendStack::resolve(self, host)
    }
    fn open_sockets(&self) -> usize {
        SendStack::open_sockets(self)
    }
    fn listen(&self, local: SocketAddr, backlog: usize) -> Result<Self::TcpListener, Self::Error> {
        SendStack::listen(self, local, backlog)
    }
    fn connect(
        &self,
        remote: SocketAddr,
    ) -> impl Future<Output = Result<Self::TcpStream, Self::Error>> {
        SendStack::connect(self, remote)
    }
    fn bind_udp(&self, local: SocketAddr) -> Result<Self::UdpSocket, Self::Error> {
        SendStack::bind_udp(self, local)
    }
}

impl<T: SendTcpSocket> TcpSocket for T {
    type Stream = T::Stream;
    type Listener = T::Listener;

    fn bind(&mut self, local: SocketAddr) -> Result<(), Self::Error> {
        SendTcpSocket::bind(self, local)
    }
    fn listen(self, backlog: usize) -> Result<Self::Listener, Self::Error> {
        SendTcpSocket::listen(self, backlog)
    }
    fn connect(
        self,
        remote: SocketAddr,
    ) -> impl Future<Output = Result<Self::Stream, Self::Error>> {
        SendTcpSocket::connect(self, remote)
    }
}

impl<T: SendStreamListener> StreamListener for T {
    type Stream = T::Stream;

    fn accept(&mut self) -> impl Future<Output = Result<(Self::Stream, Self::Addr), Self::Error>> {
        SendStreamListener::accept(self)
    }
}

impl<T: SendStreamSocket> StreamSocket for T {
    fn peer_addr(&self) -> Result<Self::Addr, Self::Error> {
        SendStreamSocket::peer_addr(self)
    }
    fn association(&self) -> Result<Association<Self::Addr>, Self::Error> {
        SendStreamSocket::association(self)
    }
    fn recv(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> impl Future<Output = Result<usize, Self::Error>> {
        SendStreamSocket::recv(self, buf, flags)
    }
    fn send(
        &mut self,
        buf: &[u8],
        flags: SendFlags,
    ) -> impl Future<Output = Result<usize, Self::Error>> {
        SendStreamSocket::send(self, buf, flags)
    }
    fn send_all(&mut self, buf: &[u8]) -> impl Future<Output = Result<(), Self::Error>> {
        SendStreamSocket::send_all(self, buf)
    }
    fn shutdown(&mut self, how: Shutdown) -> Result<(), Self::Error> {
        SendStreamSocket::shutdown(self, how)
    }
    fn abort(self) -> Result<(), Self::Error> {
        SendStreamSocket::abort(self)
    }
}

impl<T: SendDatagramSocket> DatagramSocket for T {
    fn bind(&mut self, local: Self::Addr) -> Result<(), Self::Error> {
        SendDatagramSocket::bind(self, local)
    }
    fn connect(&mut self, peer: Self::Addr) -> Result<(), Self::Error> {
        SendDatagramSocket::connect(self, peer)
    }
    fn peer_addr(&self) -> Result<Self::Addr, Self::Error> {
        SendDatagramSocket::peer_addr(self)
    }
    fn send_to(
        &mut self,
        buf: &[u8],
        to: Self::Addr,
        flags: SendFlags,
    ) -> impl Future<Output = Result<usize, Self::Error>> {
        SendDatagramSocket::send_to(self, buf, to, flags)
    }
    fn recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> impl Future<Output = Result<RecvMeta<Self::Addr>, Self::Error>> {
        SendDatagramSocket::recv_from(self, buf, flags)
    }
    fn send(
        &mut self,
        buf: &[u8],
        flags: SendFlags,
    ) -> impl Future<Output = Result<usize, Self::Error>> {
        SendDatagramSocket::send(self, buf, flags)
    }
    fn recv(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> impl Future<Output = Result<RecvMeta<Self::Addr>, Self::Error>> {
        SendDatagramSocket::recv(self, buf, flags)
    }
}

impl<T: SendRawSocket> RawSocket for T {
    fn send_to(
        &mut self,
        payload: &[u8],
        to: IpAddr,
    ) -> impl Future<Output = Result<usize, Self::Error>> {
        SendRawSocket::send_to(self, payload, to)
    }
    fn recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> impl Future<Output = Result<RecvMeta<IpAddr>, Self::Error>> {
        SendRawSocket::recv_from(self, buf, flags)
    }
}
