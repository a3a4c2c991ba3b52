//! The async traits ([`unisock::asynch`]) for `&Stack` and its sockets.
//!
//! - With `std` the stack is `Sync` (a `Mutex`) when its device is `Send` and its clock and
//!   waiter are `Sync`: `&Stack` then implements [`unisock::asynch::SendStack`] (and the
//!   `Send*` socket traits), whose futures are `Send`, so generic code runs on tokio's
//!   multi-threaded runtime; through core's blanket implementations it is also an
//!   [`unisock::asynch::Stack`].
//! - Without `std` (a `RefCell`, single-threaded) `&Stack` implements
//!   [`unisock::asynch::Stack`] and the plain socket traits (embassy, any local executor).
//!
//! Every waiting operation is one `poll_fn`: lock, try, on `WouldBlock` register the task's
//! waker on that socket's direction and return `Pending` (see `wake.rs`). Someone must drive
//! the interface for timers and incoming frames: the `std` driver thread
//! ([`StdStack`](crate::StdStack)) or the runner future ([`Stack::run`](crate::Stack::run)).
//! Operations also poll the interface themselves after acting, so data moves at once.
//!
//! Unsupported here (`ErrorKind::Unsupported`, as in the blocking API): urgent data (`OOB`),
//! setting buffer sizes, raw protocols other than ICMP/ICMPv6, UDP and raw sockets when their
//! features are off. The read and write timeout options do not bound async calls (the
//! executor's timer does; see [`unisock::asynch`]).

use core::net::{IpAddr, SocketAddr};

use smoltcp::phy::Device;
use unisock::asynch::embedded_io_async;
use unisock::{Addresses, Association, Domain, Protocol, RecvFlags, RecvMeta, SendFlags, Shutdown};

use crate::clock::Clock;
use crate::error::Result;
use crate::stack::Stack;
use crate::wait::Wait;
use crate::{RawSocket, TcpListener, TcpSocket, TcpStream, UdpSocket};

// `read` and `write` are one `poll_fn` each rather than `recv_async`/`send_async` with no
// flags: the flag branches would be compiled into every task that reads (a firmware's
// size).
impl<D: Device, C: Clock, W: Wait> embedded_io_async::Read for TcpStream<'_, '_, D, C, W> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        core::future::poll_fn(|cx| self.poll_recv(cx, buf)).await
    }
}

impl<D: Device, C: Clock, W: Wait> embedded_io_async::Write for TcpStream<'_, '_, D, C, W> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize> {
        core::future::poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    async fn flush(&mut self) -> Result<()> {
        // Written data is already queued to smoltcp (as the blocking `flush`).
        unisock::embedded_io::Write::flush(self)
    }
}

/// The trait implementations, once for the `Send` family (`std`) and once for the plain one
/// (`no_std`): the bodies are the same.
macro_rules! async_impls {
    (
        $StackT:ident, $TcpT:ident, $ListenerT:ident, $StreamT:ident, $DgramT:ident, $RawT:ident;
        $($bounds:tt)*
    ) => {
        impl<'s, 'a, D, C, W> unisock::asynch::$StackT for &'s Stack<'a, D, C, W>
        where
            $($bounds)*
        {
            type TcpSocket = TcpSocket<'s, 'a, D, C, W>;
            type TcpStream = TcpStream<'s, 'a, D, C, W>;
            type TcpListener = TcpListener<'s, 'a, D, C, W>;
            type UdpSocket = UdpSocket<'s, 'a, D, C, W>;
            type RawSocket = RawSocket<'s, 'a, D, C, W>;

            fn tcp_socket(&self, domain: Domain) -> Result<Self::TcpSocket> {
                TcpSocket::open(self, domain)
            }

            fn udp_socket(&self, domain: Domain) -> Result<Self::UdpSocket> {
                UdpSocket::open(self, domain)
            }

            fn raw_socket(&self, domain: Domain, protocol: Protocol) -> Result<Self::RawSocket> {
                RawSocket::open(self, domain, protocol)
            }

            async fn resolve(&self, host: &str) -> Result<Addresses> {
                Stack::resolve_async(self, host).await
            }

            fn open_sockets(&self) -> usize {
                Stack::open_sockets(self)
            }
        }

        impl<'s, 'a, D, C, W> unisock::asynch::$TcpT for TcpSocket<'s, 'a, D, C, W>
        where
            $($bounds)*
        {
            type Stream = TcpStream<'s, 'a, D, C, W>;
            type Listener = TcpListener<'s, 'a, D, C, W>;

            fn bind(&mut self, local: SocketAddr) -> Result<()> {
                unisock::TcpSocket::bind(self, local)
            }

            fn listen(self, backlog: usize) -> Result<Self::Listener> {
                unisock::TcpSocket::listen(self, backlog)
            }

            fn connect(
                self,
                remote: SocketAddr,
            ) -> impl core::future::Future<Output = Result<Self::Stream>> {
                self.connect_async(remote)
            }
        }

        impl<'s, 'a, D, C, W> unisock::asynch::$ListenerT for TcpListener<'s, 'a, D, C, W>
        where
            $($bounds)*
        {
            type Stream = TcpStream<'s, 'a, D, C, W>;

            fn accept(
                &mut self,
            ) -> impl core::future::Future<Output = Result<(Self::Stream, SocketAddr)>> {
                self.accept_async()
            }
        }

        impl<D, C, W> unisock::asynch::$StreamT for TcpStream<'_, '_, D, C, W>
        where
            $($bounds)*
        {
            fn peer_addr(&self) -> Result<SocketAddr> {
                unisock::StreamSocket::peer_addr(self)
            }

            fn association(&self) -> Result<Association<SocketAddr>> {
                unisock::StreamSocket::association(self)
            }

            async fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize> {
                self.recv_async(buf, flags).await
            }

            async fn send(&mut self, buf: &[u8], flags: SendFlags) -> Result<usize> {
                self.send_async(buf, flags).await
            }

            fn shutdown(&mut self, how: Shutdown) -> Result<()> {
                unisock::StreamSocket::shutdown(self, how)
            }

            fn abort(self) -> Result<()> {
                unisock::StreamSocket::abort(self)
            }
        }

        impl<D, C, W> unisock::asynch::$DgramT for UdpSocket<'_, '_, D, C, W>
        where
            $($bounds)*
        {
            fn bind(&mut self, local: SocketAddr) -> Result<()> {
                unisock::DatagramSocket::bind(self, local)
            }

            fn connect(&mut self, peer: SocketAddr) -> Result<()> {
                unisock::DatagramSocket::connect(self, peer)
            }

            fn peer_addr(&self) -> Result<SocketAddr> {
                unisock::DatagramSocket::peer_addr(self)
            }

            async fn send_to(
                &mut self,
                buf: &[u8],
                to: SocketAddr,
                flags: SendFlags,
            ) -> Result<usize> {
                self.send_to_async(buf, to, flags).await
            }

            async fn recv_from(
                &mut self,
                buf: &mut [u8],
                flags: RecvFlags,
            ) -> Result<RecvMeta<SocketAddr>> {
                self.recv_from_async(buf, flags).await
            }
        }

        impl<D, C, W> unisock::asynch::$RawT for RawSocket<'_, '_, D, C, W>
        where
            $($bounds)*
        {
            async fn send_to(&mut self, payload: &[u8], to: IpAddr) -> Result<usize> {
                self.send_to_async(payload, to).await
            }

            async fn recv_from(
                &mut self,
                buf: &mut [u8],
                flags: RecvFlags,
            ) -> Result<RecvMeta<IpAddr>> {
                self.recv_from_async(buf, flags).await
            }
        }
    };
}

#[cfg(feature = "std")]
async_impls!(
    SendStack, SendTcpSocket, SendStreamListener, SendStreamSocket, SendDatagramSocket,
    SendRawSocket;
    D: Device + Send, C: Clock + Sync, W: Wait + Sync
);

#[cfg(not(feature = "std"))]
async_impls!(
    Stack, TcpSocket, StreamListener, StreamSocket, DatagramSocket, RawSocket;
    D: Device, C: Clock, W: Wait
);

/// A half of a split socket: a struct over a shared borrow of the socket, its `Debug` (the
/// handle) and its error type.
macro_rules! half {
    ($(#[$doc:meta])* $Half:ident over $Sock:ident) => {
        $(#[$doc])*
        pub struct $Half<'r, 's, 'a, D: Device, C: Clock, W: Wait>(pub(crate) &'r $Sock<'s, 'a, D, C, W>);

        impl<D: Device, C: Clock, W: Wait> core::fmt::Debug for $Half<'_, '_, '_, D, C, W> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_tuple(stringify!($Half)).field(&self.0.handle()).finish()
            }
        }

        impl<D: Device, C: Clock, W: Wait> embedded_io_async::ErrorType
            for $Half<'_, '_, '_, D, C, W>
        {
            type Error = crate::Error;
        }
    };
}

half!(
    /// The read half of a split TCP stream ([`unisock::asynch::SplitStream`]): registers its
    /// waker on the socket's receive direction only, so it runs alongside the write half.
    TcpReadHalf over TcpStream
);

half!(
    /// The write half of a split TCP stream: registers on the send direction only.
    TcpWriteHalf over TcpStream
);

impl<D: Device, C: Clock, W: Wait> embedded_io_async::Read for TcpReadHalf<'_, '_, '_, D, C, W> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let s = self.0;
        core::future::poll_fn(|cx| s.poll_recv(cx, buf)).await
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::asynch::Readable for TcpReadHalf<'_, '_, '_, D, C, W> {
    /// A one-byte peek: ready on data, on end of stream and on an error (which the next
    /// `read` reports).
    async fn readable(&mut self) -> Result<()> {
        let mut one = [0u8; 1];
        let _ = self.0.recv_async(&mut one, RecvFlags::PEEK).await;
        Ok(())
    }
}

impl<D: Device, C: Clock, W: Wait> embedded_io_async::Write for TcpWriteHalf<'_, '_, '_, D, C, W> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize> {
        let s = self.0;
        core::future::poll_fn(|cx| s.poll_send(cx, buf)).await
    }

    async fn flush(&mut self) -> Result<()> {
        // Written data is already queued to smoltcp.
        Ok(())
    }
}

/// `SplitStream` / `SplitDatagram` for one socket type: the two halves borrow the socket.
macro_rules! split_impl {
    ($Trait:ident, $Sock:ident, $A:ident, $B:ident, $HalfA:ident, $HalfB:ident; $($bounds:tt)*) => {
        impl<'s, 'a, D, C, W> unisock::asynch::$Trait for $Sock<'s, 'a, D, C, W>
        where
            $($bounds)*
        {
            type $A<'r>
                = $HalfA<'r, 's, 'a, D, C, W>
            where
                Self: 'r;
            type $B<'r>
                = $HalfB<'r, 's, 'a, D, C, W>
            where
                Self: 'r;

            fn split(&mut self) -> (Self::$A<'_>, Self::$B<'_>) {
                ($HalfA(self), $HalfB(self))
            }
        }
    };
}

half!(
    /// The receive half of a split UDP socket ([`unisock::asynch::SplitDatagram`]): registers
    /// its waker on the socket's receive direction only, so it runs alongside the send half.
    UdpRecvHalf over UdpSocket
);

half!(
    /// The send half of a split UDP socket: registers on the send direction only.
    UdpSendHalf over UdpSocket
);

impl<D: Device, C: Clock, W: Wait> unisock::asynch::Readable for UdpRecvHalf<'_, '_, '_, D, C, W> {
    /// An empty peek: ready once a datagram (from the connected peer, if connected) is
    /// queued; a stale handle is reported.
    async fn readable(&mut self) -> Result<()> {
        self.0
            .recv_from_async(&mut [], RecvFlags::PEEK)
            .await
            .map(|_| ())
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::asynch::DatagramRecvHalf
    for UdpRecvHalf<'_, '_, '_, D, C, W>
{
    type Addr = SocketAddr;

    async fn recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<SocketAddr>> {
        self.0.recv_from_async(buf, flags).await
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::asynch::DatagramSendHalf
    for UdpSendHalf<'_, '_, '_, D, C, W>
{
    type Addr = SocketAddr;

    async fn send_to(&mut self, buf: &[u8], to: SocketAddr, flags: SendFlags) -> Result<usize> {
        self.0.send_to_async(buf, to, flags).await
    }

    async fn send(&mut self, buf: &[u8], flags: SendFlags) -> Result<usize> {
        self.0.send_connected_async(buf, flags).await
    }
}

/// Both splits (`SplitStream` for TCP, `SplitDatagram` for UDP) under one set of bounds.
macro_rules! split_impls {
    ($($bounds:tt)*) => {
        split_impl!(
            SplitStream, TcpStream, ReadHalf, WriteHalf, TcpReadHalf, TcpWriteHalf; $($bounds)*
        );
        split_impl!(
            SplitDatagram, UdpSocket, RecvHalf, SendHalf, UdpRecvHalf, UdpSendHalf; $($bounds)*
        );
    };
}

#[cfg(feature = "std")]
split_impls!(D: Device + Send, C: Clock + Sync, W: Wait + Sync);

#[cfg(not(feature = "std"))]
split_impls!(D: Device, C: Clock, W: Wait);
