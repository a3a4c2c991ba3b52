//! Test scaffolding: any blocking unisock stack as a `unisock::asynch` stack, by polling its
//! non-blocking `try_*` calls (`WouldBlock` becomes `Poll::Pending` with an immediate
//! re-wake), and a `block_on` that polls a future to completion on the test thread.
//!
//! The backends do not implement `unisock::asynch` yet; until they do, this lets the
//! embedded-nal-async adapter and the async clients on top of it (reqwless, rust-mqtt) run
//! against real servers on both backends. It busy-polls (with a short sleep), so it is for
//! tests only; connect blocks the thread (bounded by a timeout).
#![allow(dead_code)] // Each test file uses a different subset.

use core::future::{Future, poll_fn};
use core::net::{IpAddr, SocketAddr};
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use unisock::asynch;
use unisock::embedded_io::{self, ErrorType};
use unisock::{
    Addresses, Association, Domain, ErrorKind, Protocol, RecvFlags, RecvMeta, SendFlags, Shutdown,
    SockOpt, SockOptName, Socket,
};

/// The bound on every `block_on` and connect.
pub const LIMIT: Duration = Duration::from_secs(60);

/// Poll `f` on this thread until it completes; panics after [`LIMIT`].
#[track_caller]
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "future not done within {LIMIT:?}"
        );
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// `f` until it stops failing with `WouldBlock`.
fn poll_op<T, E: unisock::Error>(
    mut f: impl FnMut() -> Result<T, E>,
) -> impl Future<Output = Result<T, E>> {
    poll_fn(move |cx| match f() {
        Err(e) if e.socket_kind() == ErrorKind::WouldBlock => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        r => Poll::Ready(r),
    })
}

/// A blocking stack seen as an async one.
#[derive(Debug, Clone, Copy)]
pub struct PolledStack<S>(pub S);

/// A blocking socket seen as an async one.
#[derive(Debug)]
pub struct Polled<T>(pub T);

impl<S: unisock::Stack> ErrorType for PolledStack<S> {
    type Error = S::Error;
}

impl<T: ErrorType> ErrorType for Polled<T> {
    type Error = T::Error;
}

impl<T: Socket> Socket for Polled<T> {
    type Addr = T::Addr;
    fn local_addr(&self) -> Result<T::Addr, T::Error> {
        self.0.local_addr()
    }
    fn set_option(&mut self, option: SockOpt) -> Result<(), T::Error> {
        self.0.set_option(option)
    }
    fn option(&self, name: SockOptName) -> Result<SockOpt, T::Error> {
        self.0.option(name)
    }
}

impl<S: unisock::Stack> asynch::Stack for PolledStack<S> {
    type TcpSocket = Polled<S::TcpSocket>;
    type TcpStream = Polled<S::TcpStream>;
    type TcpListener = Polled<S::TcpListener>;
    type UdpSocket = Polled<S::UdpSocket>;
    type RawSocket = Polled<S::RawSocket>;

    fn tcp_socket(&self, domain: Domain) -> Result<Self::TcpSocket, S::Error> {
        self.0.tcp_socket(domain).map(Polled)
    }
    fn udp_socket(&self, domain: Domain) -> Result<Self::UdpSocket, S::Error> {
        self.0.udp_socket(domain).map(Polled)
    }
    fn raw_socket(&self, domain: Domain, protocol: Protocol) -> Result<Self::RawSocket, S::Error> {
        self.0.raw_socket(domain, protocol).map(Polled)
    }
    async fn resolve(&self, host: &str) -> Result<Addresses, S::Error> {
        self.0.resolve(host)
    }
    fn open_sockets(&self) -> usize {
        self.0.open_sockets()
    }
}

impl<T: unisock::TcpSocket> asynch::TcpSocket for Polled<T> {
    type Stream = Polled<T::Stream>;
    type Listener = Polled<T::Listener>;

    fn bind(&mut self, local: SocketAddr) -> Result<(), T::Error> {
        self.0.bind(local)
    }
    fn listen(self, backlog: usize) -> Result<Self::Listener, T::Error> {
        self.0.listen(backlog).map(Polled)
    }
    async fn connect(self, remote: SocketAddr) -> Result<Self::Stream, T::Error> {
        self.0.connect_timeout(remote, LIMIT).map(Polled)
    }
}

impl<T: unisock::StreamListener> asynch::StreamListener for Polled<T> {
    type Stream = Polled<T::Stream>;

    async fn accept(&mut self) -> Result<(Self::Stream, T::Addr), T::Error> {
        let (s, peer) = poll_op(|| self.0.try_accept()).await?;
        Ok((Polled(s), peer))
    }
}

impl<T: unisock::StreamSocket> embedded_io_async_impl::Read for Polled<T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, T::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_op(|| self.0.try_read(buf)).await
    }
}

impl<T: unisock::StreamSocket> embedded_io_async_impl::Write for Polled<T> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, T::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_op(|| self.0.try_write(buf)).await
    }
    async fn flush(&mut self) -> Result<(), T::Error> {
        Ok(())
    }
}

use unisock::asynch::embedded_io_async as embedded_io_async_impl;

impl<T: unisock::StreamSocket> embedded_io::ReadReady for Polled<T> {
    fn read_ready(&mut self) -> Result<bool, T::Error> {
        self.0.read_ready()
    }
}

impl<T: unisock::StreamSocket> embedded_io::WriteReady for Polled<T> {
    fn write_ready(&mut self) -> Result<bool, T::Error> {
        self.0.write_ready()
    }
}

impl<T: unisock::StreamSocket> asynch::StreamSocket for Polled<T> {
    fn peer_addr(&self) -> Result<T::Addr, T::Error> {
        self.0.peer_addr()
    }
    fn association(&self) -> Result<Association<T::Addr>, T::Error> {
        self.0.association()
    }
    async fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize, T::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_op(|| self.0.try_recv(buf, flags)).await
    }
    async fn send(&mut self, buf: &[u8], flags: SendFlags) -> Result<usize, T::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_op(|| self.0.try_send(buf, flags)).await
    }
    fn shutdown(&mut self, how: Shutdown) -> Result<(), T::Error> {
        self.0.shutdown(how)
    }
    fn abort(self) -> Result<(), T::Error> {
        self.0.abort()
    }
}

impl<T: unisock::DatagramSocket> asynch::DatagramSocket for Polled<T> {
    fn bind(&mut self, local: T::Addr) -> Result<(), T::Error> {
        self.0.bind(local)
    }
    fn connect(&mut self, peer: T::Addr) -> Result<(), T::Error> {
        self.0.connect(peer)
    }
    fn peer_addr(&self) -> Result<T::Addr, T::Error> {
        self.0.peer_addr()
    }
    async fn send_to(
        &mut self,
        buf: &[u8],
        to: T::Addr,
        flags: SendFlags,
    ) -> Result<usize, T::Error> {
        poll_op(|| self.0.try_send_to(buf, to, flags)).await
    }
    async fn recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<T::Addr>, T::Error> {
        poll_op(|| self.0.try_recv_from(buf, flags)).await
    }
}

impl<T: unisock::RawSocket> asynch::RawSocket for Polled<T> {
    async fn send_to(&mut self, payload: &[u8], to: IpAddr) -> Result<usize, T::Error> {
        self.0.send_to(payload, to)
    }
    async fn recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<IpAddr>, T::Error> {
        poll_op(|| self.0.try_recv_from(buf, flags)).await
    }
}
