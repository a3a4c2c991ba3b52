//! Any async unisock stack ([`unisock::asynch::Stack`]) as an `edge-nal` 0.7 stack (feature
//! `edge-nal`): [`TcpConnect`] and [`TcpBind`] / [`TcpAccept`], [`UdpBind`] and
//! [`UdpConnect`] on [`EdgeNalStack`].
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
//! | `UdpBind::bind(local)` | `Stack::bind_udp(local)` | the socket is [`EdgeUdpSocket`], unconnected; port 0: an ephemeral port. |
//! | `UdpConnect::connect(local, remote)` | `udp_socket` + `bind(local)` + `connect(remote)` | only `remote`'s datagrams are received afterwards. |
//! | `UdpReceive::receive(buf)` | `recv_from` | `(length, sender)`. A datagram longer than `buf`: [`Error::Truncated`] (its first bytes in `buf`, `full_len` the real length, the rest discarded; the next `receive` gets the next datagram). See below. |
//! | `UdpSend::send(remote, data)` | unconnected: `send_to(remote)`; connected: `send` | a connected socket ignores `remote`, as edge-nal specifies. One datagram; too large for the backend: `InvalidInput`. |
//! | `UdpSplit::split`, `UdpSplitMulticast::split_multicast` | [`SplitDatagram::split`] | the halves are the backend's: each waits on its own direction, so receiving and sending run at once. The multicast parts are [`EdgeNoMulticast`]. |
//! | `Readable::readable` (socket or receive half) | the receive half's [`Readable`](unisock::asynch::Readable) | an empty peek: ready once a datagram is queued; consumes nothing. |
//! | `MulticastV4::join_v4` / `leave_v4`, `MulticastV6::join_v6` / `leave_v6` | — | unisock has no multicast membership API: always [`Error::State`] of kind [`ErrorKind::Unsupported`], never a silent `Ok`. |
//!
//! The stack's stream type must implement [`SplitStream`] and its UDP socket type
//! [`SplitDatagram`] (both unisock backends' do). TCP errors are the stack's own error type;
//! UDP errors are the crate's [`Error`] over it (so truncation and multicast are typed too).
//!
//! ## UDP: truncation, refused ports, what each backend does
//!
//! - **Truncation.** edge-nal's `UdpReceive` documentation asks for the full length in the
//!   `Ok` value (larger than the buffer when truncated). Its users do not expect that:
//!   `edge-captive` and `edge-mdns` slice `&buf[..len]`, which would panic on such a length,
//!   and edge-nal's embassy-net implementation reports truncation as an error. The adapter does
//!   the same: [`Error::Truncated`] carries the bytes kept, the full length and the sender, so
//!   truncation is still detected and no caller can slice past its buffer.
//! - **Connection refused.** Posix: a datagram sent from a connected socket to a closed port
//!   draws an ICMP port unreachable, which the kernel reports once, on the next receive, send or
//!   `readable` of that socket, as kind `ConnectionRefused` (the `readable` that reports it
//!   has consumed it). smoltcp: ICMP errors are not delivered to UDP sockets; sends succeed and
//!   the receive waits (bound it with the executor's timer). An unconnected socket sees no
//!   refusal on either backend.
//! - **Closed and stale sockets.** Dropping the socket closes it (no `close` in edge-nal's UDP
//!   traits). smoltcp's generation-checked handles report a socket released under the adapter
//!   as `StaleHandle`; on posix a descriptor closed under it reports the OS error (`EBADF`).
//! - **Not supported:** multicast membership (above), the destination address of a received
//!   datagram (edge-nal does not ask for it), per-datagram source addresses.
use core::cell::{Cell, RefCell};
use core::future::poll_fn;
use core::marker::PhantomData;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use core::task::{Poll, Waker};
use core::time::Duration;

use edge_nal::{
    Close, MulticastV4, MulticastV6, Readable, TcpAccept, TcpBind, TcpConnect, TcpShutdown,
    TcpSplit, UdpBind, UdpConnect, UdpReceive, UdpSend, UdpSplit, UdpSplitMulticast,
};
use unisock::asynch::embedded_io_async::{self, ErrorType, Read, Write};
use unisock::asynch::{
    DatagramRecvHalf, DatagramSendHalf, DatagramSocket as _, SplitDatagram, SplitStream, Stack,
};
use unisock::{Domain, ErrorKind, RecvFlags, RecvMeta, SendFlags, Shutdown, SockOpt};

use crate::Error;

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

/// A UDP socket for edge-nal ([`UdpBind`], [`UdpConnect`]): the unisock socket, with
/// `UdpReceive`, `UdpSend`, `UdpSplit` (and `UdpSplitMulticast`), `Readable` and the multicast
/// traits (which fail with `Unsupported`). Receiving and sending go through the socket's
/// [`SplitDatagram`] halves. See the [module docs](self) for the mapping.
#[derive(Debug)]
pub struct EdgeUdpSocket<U> {
    socket: U,
    connected: bool,
}

impl<U: SplitDatagram<Addr = SocketAddr>> EdgeUdpSocket<U> {
    /// Wrap a unisock UDP socket obtained through the unisock API (bound, and connected or
    /// not: whether it has a peer decides how `send` treats its `remote`).
    pub fn new(socket: U) -> Self {
        let connected = socket.peer_addr().is_ok();
        EdgeUdpSocket { socket, connected }
    }

    /// The unisock socket (options, addresses).
    pub fn socket(&mut self) -> &mut U {
        &mut self.socket
    }

    /// The unisock socket back.
    pub fn into_inner(self) -> U {
        self.socket
    }
}

impl<U: SplitDatagram> ErrorType for EdgeUdpSocket<U> {
    type Error = Error<U::Error>;
}

impl<U: SplitDatagram<Addr = SocketAddr>> UdpReceive for EdgeUdpSocket<U> {
    async fn receive(&mut self, buffer: &mut [u8]) -> Result<(usize, SocketAddr), Self::Error> {
        self.split().0.receive(buffer).await
    }
}

impl<U: SplitDatagram<Addr = SocketAddr>> UdpSend for EdgeUdpSocket<U> {
    async fn send(&mut self, remote: SocketAddr, data: &[u8]) -> Result<(), Self::Error> {
        self.split().1.send(remote, data).await
    }
}

/// edge-nal's marker for a socket that both receives and sends.
impl<U: SplitDatagram<Addr = SocketAddr>> edge_nal::UdpSocket for EdgeUdpSocket<U> {}

impl<U: SplitDatagram<Addr = SocketAddr>> Readable for EdgeUdpSocket<U> {
    async fn readable(&mut self) -> Result<(), Self::Error> {
        self.split().0.readable().await
    }
}

impl<U: SplitDatagram<Addr = SocketAddr>> UdpSplit for EdgeUdpSocket<U> {
    type Receive<'a>
        = EdgeUdpReceive<U::RecvHalf<'a>>
    where
        Self: 'a;
    type Send<'a>
        = EdgeUdpSend<U::SendHalf<'a>>
    where
        Self: 'a;

    fn split(&mut self) -> (Self::Receive<'_>, Self::Send<'_>) {
        let (rx, tx) = self.socket.split();
        (
            EdgeUdpReceive(rx),
            EdgeUdpSend {
                half: tx,
                connected: self.connected,
            },
        )
    }
}

impl<U: SplitDatagram<Addr = SocketAddr>> UdpSplitMulticast for EdgeUdpSocket<U> {
    type MulticastV4<'a>
        = EdgeNoMulticast<U::Error>
    where
        Self: 'a;
    type MulticastV6<'a>
        = EdgeNoMulticast<U::Error>
    where
        Self: 'a;

    fn split_multicast(
        &mut self,
    ) -> (
        Self::Receive<'_>,
        Self::Send<'_>,
        Self::MulticastV4<'_>,
        Self::MulticastV6<'_>,
    ) {
        let (rx, tx) = self.split();
        (rx, tx, EdgeNoMulticast::new(), EdgeNoMulticast::new())
    }
}

impl<U: SplitDatagram<Addr = SocketAddr>> MulticastV4 for EdgeUdpSocket<U> {
    /// `Unsupported` (see [`EdgeNoMulticast`]).
    async fn join_v4(&mut self, group: Ipv4Addr, interface: Ipv4Addr) -> Result<(), Self::Error> {
        EdgeNoMulticast::new().join_v4(group, interface).await
    }

    /// `Unsupported` (see [`EdgeNoMulticast`]).
    async fn leave_v4(&mut self, group: Ipv4Addr, interface: Ipv4Addr) -> Result<(), Self::Error> {
        EdgeNoMulticast::new().leave_v4(group, interface).await
    }
}

impl<U: SplitDatagram<Addr = SocketAddr>> MulticastV6 for EdgeUdpSocket<U> {
    /// `Unsupported` (see [`EdgeNoMulticast`]).
    async fn join_v6(&mut self, group: Ipv6Addr, interface: u32) -> Result<(), Self::Error> {
        EdgeNoMulticast::new().join_v6(group, interface).await
    }

    /// `Unsupported` (see [`EdgeNoMulticast`]).
    async fn leave_v6(&mut self, group: Ipv6Addr, interface: u32) -> Result<(), Self::Error> {
        EdgeNoMulticast::new().leave_v6(group, interface).await
    }
}

/// The receive half of a split [`EdgeUdpSocket`] (edge-nal's `UdpSplit::Receive`).
#[derive(Debug)]
pub struct EdgeUdpReceive<H>(H);

impl<H: DatagramRecvHalf<Error: unisock::Error>> ErrorType for EdgeUdpReceive<H> {
    type Error = Error<H::Error>;
}

impl<H> UdpReceive for EdgeUdpReceive<H>
where
    H: DatagramRecvHalf<Addr = SocketAddr, Error: unisock::Error>,
{
    /// One datagram: `(length, sender)`, or [`Error::Truncated`] if it did not fit.
    async fn receive(&mut self, buffer: &mut [u8]) -> Result<(usize, SocketAddr), Self::Error> {
        whole(self.0.recv_from(buffer, RecvFlags::NONE).await?)
    }
}

impl<H: DatagramRecvHalf<Error: unisock::Error>> Readable for EdgeUdpReceive<H> {
    async fn readable(&mut self) -> Result<(), Self::Error> {
        Ok(unisock::asynch::Readable::readable(&mut self.0).await?)
    }
}

/// A received datagram as edge-nal's `(length, sender)`, or [`Error::Truncated`].
fn whole<E>(meta: RecvMeta<SocketAddr>) -> Result<(usize, SocketAddr), Error<E>> {
    if meta.truncated() {
        Err(Error::Truncated {
            len: meta.len,
            full_len: meta.full_len,
            from: meta.from,
        })
    } else {
        Ok((meta.len, meta.from))
    }
}

/// The send half of a split [`EdgeUdpSocket`] (edge-nal's `UdpSplit::Send`).
#[derive(Debug)]
pub struct EdgeUdpSend<H> {
    half: H,
    connected: bool,
}

impl<H: DatagramSendHalf<Error: unisock::Error>> ErrorType for EdgeUdpSend<H> {
    type Error = Error<H::Error>;
}

impl<H> UdpSend for EdgeUdpSend<H>
where
    H: DatagramSendHalf<Addr = SocketAddr, Error: unisock::Error>,
{
    /// One datagram: to `remote`, or to the peer of a connected socket (`remote` ignored).
    async fn send(&mut self, remote: SocketAddr, data: &[u8]) -> Result<(), Self::Error> {
        if self.connected {
            self.half.send(data, SendFlags::NONE).await?;
        } else {
            self.half.send_to(data, remote, SendFlags::NONE).await?;
        }
        Ok(())
    }
}

/// The multicast parts of a split [`EdgeUdpSocket`] (`UdpSplitMulticast`): unisock has no
/// multicast membership API, so every join and leave fails with [`Error::State`] of kind
/// [`ErrorKind::Unsupported`] (never a silent `Ok`). `E` is the stack's error type.
pub struct EdgeNoMulticast<E>(PhantomData<fn() -> E>);

impl<E> EdgeNoMulticast<E> {
    const fn new() -> Self {
        EdgeNoMulticast(PhantomData)
    }

    fn unsupported(what: &'static str) -> Result<(), Error<E>> {
        Err(Error::state(ErrorKind::Unsupported, what))
    }
}

impl<E> core::fmt::Debug for EdgeNoMulticast<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EdgeNoMulticast")
    }
}

impl<E: unisock::Error> ErrorType for EdgeNoMulticast<E> {
    type Error = Error<E>;
}

impl<E: unisock::Error> MulticastV4 for EdgeNoMulticast<E> {
    async fn join_v4(&mut self, _: Ipv4Addr, _: Ipv4Addr) -> Result<(), Self::Error> {
        Self::unsupported("join_v4: unisock has no multicast membership API")
    }

    async fn leave_v4(&mut self, _: Ipv4Addr, _: Ipv4Addr) -> Result<(), Self::Error> {
        Self::unsupported("leave_v4: unisock has no multicast membership API")
    }
}

impl<E: unisock::Error> MulticastV6 for EdgeNoMulticast<E> {
    async fn join_v6(&mut self, _: Ipv6Addr, _: u32) -> Result<(), Self::Error> {
        Self::unsupported("join_v6: unisock has no multicast membership API")
    }

    async fn leave_v6(&mut self, _: Ipv6Addr, _: u32) -> Result<(), Self::Error> {
        Self::unsupported("leave_v6: unisock has no multicast membership API")
    }
}

impl<S: Stack> UdpBind for EdgeNalStack<S>
where
    S::UdpSocket: SplitDatagram,
{
    type Error = Error<S::Error>;
    type Socket<'a>
        = EdgeUdpSocket<S::UdpSocket>
    where
        Self: 'a;

    /// A socket bound to `local` (port 0: ephemeral), unconnected.
    async fn bind(&self, local: SocketAddr) -> Result<Self::Socket<'_>, Self::Error> {
        Ok(EdgeUdpSocket {
            socket: self.stack.bind_udp(local)?,
            connected: false,
        })
    }
}

impl<S: Stack> UdpConnect for EdgeNalStack<S>
where
    S::UdpSocket: SplitDatagram,
{
    type Error = Error<S::Error>;
    type Socket<'a>
        = EdgeUdpSocket<S::UdpSocket>
    where
        Self: 'a;

    /// A socket bound to `local` (unspecified parts chosen by the stack) and connected to
    /// `remote`: only `remote`'s datagrams are received.
    async fn connect(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<Self::Socket<'_>, Self::Error> {
        let mut socket = self.stack.udp_socket(Domain::of(&local))?;
        socket.bind(local)?;
        socket.connect(remote)?;
        Ok(EdgeUdpSocket {
            socket,
            connected: true,
        })
    }
}
