//! The embedded-nal-async adapter's contract over both backends (kernel loopback, smoltcp
//! in-process loopback): TCP round trip, end of stream as `Ok(0)`, reset, refused; UDP
//! connected and bound sockets with truncation reported by length and the local-address
//! check; DNS. Leak check after each. The async stacks are the backends' native ones:
//! `unisock-posix`'s `AsyncIoStack` and `&unisock_smoltcp::Stack` (driven by `StdStack`'s
//! driver thread), under `async_io::block_on`. The TCP listener and the leak count are the
//! same backend's blocking stack.
#![cfg(feature = "async")]

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use embedded_nal_async::{AddrType, ConnectedUdp, Dns, TcpConnect, UdpStack, UnconnectedUdp};
use unisock::asynch::embedded_io_async::{Read, Write};
use unisock::prelude::*;
use unisock::{ErrorKind, Stack, StreamListener, StreamSocket};
use unisock_conformance::util::{LeakCheck, counter, serial};
use unisock_nal::Error;
use unisock_nal::asynch::AsyncNalStack;

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const LIMIT: Duration = Duration::from_secs(10);
/// The bound on one `block_on`.
const BOUND: Duration = Duration::from_secs(60);

/// Run `f` to completion on this thread (async-io's executor); panics after [`BOUND`], so a
/// lost wake-up fails instead of hanging.
#[track_caller]
fn block_on<F: Future>(f: F) -> F::Output {
    async fn expire<T>() -> T {
        async_io::Timer::after(BOUND).await;
        panic!("future not done within {BOUND:?}")
    }
    async_io::block_on(futures_lite::future::or(f, expire()))
}

fn checked<S: Stack>(stack: &S, f: impl FnOnce()) {
    let _serial = serial();
    let count = counter(stack);
    let leaks = LeakCheck::new(&[("stack", &count)]);
    f();
    leaks.finish(LIMIT);
}

#[track_caller]
fn kind_of<T, E: unisock::Error>(r: Result<T, Error<E>>) -> ErrorKind {
    match r {
        Ok(_) => panic!("expected an error, got Ok"),
        Err(e) => e.kind(),
    }
}

/// TCP (the blocking `stack` listens, the async `native` connects): bytes both ways, end of
/// stream is `Ok(0)` (embedded-io), reset and refused keep their kinds.
pub fn tcp<S: Stack, A: unisock::asynch::Stack>(stack: &S, native: A) {
    checked(stack, || {
        let net = AsyncNalStack::new(native);
        let mut l = stack.listen(SocketAddr::new(LOCAL, 0), 2).expect("listen");
        l.set_option(unisock::SockOpt::ReadTimeout(Some(LIMIT)))
            .expect("timeout");
        let at = l.local_addr().expect("local_addr");
        block_on(async {
            let mut c = TcpConnect::connect(&net, at).await.expect("connect");
            let (mut s, _) = l.accept().expect("accept");
            c.write_all(b"hello").await.expect("write");
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).expect("read");
            assert_eq!(&buf, b"hello");
            s.write_all(b"bye").expect("write");
            drop(s);
            let mut got = Vec::new();
            let mut chunk = [0u8; 8];
            loop {
                let n = c.read(&mut chunk).await.expect("read");
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&chunk[..n]);
            }
            assert_eq!(got, b"bye");
            assert_eq!(c.read(&mut chunk).await.expect("read at the end"), 0);
            drop(c);

            let mut c = TcpConnect::connect(&net, at).await.expect("connect");
            let (s, _) = l.accept().expect("accept");
            s.abort().expect("abort");
            let mut chunk = [0u8; 8];
            assert_eq!(
                kind_of(c.read(&mut chunk).await),
                ErrorKind::ConnectionReset
            );
            drop(c);
            drop(l);
            assert_eq!(
                kind_of(TcpConnect::connect(&net, at).await.map(drop)),
                ErrorKind::ConnectionRefused
            );
        });
    });
}

/// UDP: connected and bound sockets; truncation reported as a length over the buffer; the
/// bound address reported as local; a foreign local address refused.
pub fn udp<S: Stack, A: unisock::asynch::Stack>(stack: &S, native: A) {
    checked(stack, || {
        let net = AsyncNalStack::new(native);
        block_on(async {
            let (b_local, mut b) = net
                .bind_single(SocketAddr::new(LOCAL, 0))
                .await
                .expect("bind_single");
            assert_eq!(b_local.ip(), LOCAL);
            assert_ne!(b_local.port(), 0);
            let (a_local, mut a) = UdpStack::connect(&net, b_local).await.expect("connect");
            ConnectedUdp::send(&mut a, b"ping").await.expect("send");
            let mut buf = [0u8; 16];
            let (n, local, from) = UnconnectedUdp::receive_into(&mut b, &mut buf)
                .await
                .expect("receive");
            assert_eq!((&buf[..n], local), (&b"ping"[..], b_local));
            assert_eq!(from.port(), a_local.port());
            // Reply from the bound address, given explicitly or unspecified.
            let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
            UnconnectedUdp::send(&mut b, b_local, from, b"pong")
                .await
                .expect("send from the bound address");
            UnconnectedUdp::send(&mut b, any, from, &[9u8; 40])
                .await
                .expect("send from the unspecified address");
            let n = ConnectedUdp::receive_into(&mut a, &mut buf)
                .await
                .expect("receive");
            assert_eq!(&buf[..n], b"pong");
            // Truncated: the full length comes back, the buffer holds the front.
            let mut small = [0u8; 10];
            let n = ConnectedUdp::receive_into(&mut a, &mut small)
                .await
                .expect("receive");
            assert_eq!(n, 40, "full length of a truncated datagram");
            assert_eq!(small, [9u8; 10]);
            let other = SocketAddr::new(LOCAL, b_local.port().wrapping_add(1).max(1));
            assert_eq!(
                kind_of(UnconnectedUdp::send(&mut b, other, from, b"x").await),
                ErrorKind::InvalidInput
            );
        });
    });
}

/// DNS: literals by type, no address of the type, no reverse lookup.
pub fn dns<S: Stack, A: unisock::asynch::Stack>(stack: &S, native: A) {
    checked(stack, || {
        let net = AsyncNalStack::new(native);
        block_on(async {
            assert_eq!(
                net.get_host_by_name("127.0.0.1", AddrType::IPv4)
                    .await
                    .expect("literal"),
                LOCAL
            );
            assert_eq!(
                net.get_host_by_name("localhost", AddrType::IPv4)
                    .await
                    .expect("localhost"),
                LOCAL
            );
            let e = net
                .get_host_by_name("127.0.0.1", AddrType::IPv6)
                .await
                .expect_err("no IPv6 address");
            assert!(matches!(e, Error::NoAddressOfType), "{e}");
            assert_eq!(
                kind_of(net.get_host_by_address(LOCAL, &mut [0u8; 64]).await),
                ErrorKind::Unsupported
            );
        });
    });
}

mod posix {
    use super::*;
    use std::os::fd::OwnedFd;
    use unisock_nal::asynch::AsyncTcpConnection;
    use unisock_posix::PosixStack;
    use unisock_posix::asynch::{AsyncIo, AsyncIoStack};

    /// A stale descriptor under the adapter: `StaleHandle` comes through, nothing panics.
    #[test]
    fn stale_descriptor() {
        checked(&PosixStack, || {
            // A pipe (not a socket either), not /dev/null: the stream must be registered with
            // the reactor, and epoll refuses descriptors that cannot be polled (EPERM).
            let (reader, _writer) = std::io::pipe().expect("pipe");
            let stream = unisock_posix::TcpStream::from(OwnedFd::from(reader))
                .into_async::<AsyncIo>()
                .expect("register");
            let mut c = AsyncTcpConnection::<AsyncIoStack>::from_stream(stream);
            block_on(async {
                let mut buf = [0u8; 4];
                assert_eq!(kind_of(c.read(&mut buf).await), ErrorKind::StaleHandle);
                assert_eq!(kind_of(c.write(b"x").await), ErrorKind::StaleHandle);
            });
        });
    }

    #[test]
    fn tcp() {
        super::tcp(&PosixStack, AsyncIoStack::new());
    }
    #[test]
    fn udp() {
        super::udp(&PosixStack, AsyncIoStack::new());
    }
    #[test]
    fn dns() {
        super::dns(&PosixStack, AsyncIoStack::new());
    }
}

mod smoltcp_loopback {
    use unisock_smoltcp::{Config, Notify, StdClock, StdLoopback, StdStack};

    type Net<'a> = &'a unisock_smoltcp::Stack<'static, StdLoopback, StdClock, Notify>;

    fn with_stack(f: impl FnOnce(&Net<'_>)) {
        let owner = StdStack::loopback(Config::loopback()).expect("loopback stack");
        let stack: Net<'_> = &owner;
        f(&stack);
    }

    #[test]
    fn tcp() {
        with_stack(|s| super::tcp(s, *s));
    }
    #[test]
    fn udp() {
        with_stack(|s| super::udp(s, *s));
    }
    #[test]
    fn dns() {
        with_stack(|s| super::dns(s, *s));
    }
}
