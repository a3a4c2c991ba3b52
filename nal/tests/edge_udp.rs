//! edge-nal 0.7 UDP through [`EdgeNalStack`] (`UdpBind`, `UdpConnect`): the contract cases on
//! both backends, and a DNS server unmodified from crates.io (`edge-captive` 0.8, the
//! captive-portal DNS built on edge-nal 0.7's `UdpBind`) answering the system's `dig`.
//!
//! The contract cases run on posix (kernel loopback, tokio reactor) and on smoltcp's
//! in-process loopback (driver thread), each followed by the leak check: round trip between a
//! bound and a connected socket (the connected one ignores `send`'s remote and filters other
//! senders), split halves used at once, truncation, multicast (`Unsupported`), a closed port,
//! a closed socket, and (posix) a stale descriptor. The DNS server runs on posix over loopback
//! and on smoltcp over a TAP device in a network namespace the test creates (needs root).
//! Without `dig` (package `bind9-dnsutils`) the DNS tests skip with a notice (`CI=true`: a
//! failure).
#![cfg(feature = "edge-nal")]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::process::Command;
use std::time::Duration;

use edge_nal::{
    MulticastV4, MulticastV6, Readable, UdpBind, UdpConnect, UdpReceive, UdpSend, UdpSplit,
    UdpSplitMulticast,
};
use unisock::ErrorKind;
use unisock::asynch::{SplitDatagram, Stack};
use unisock_conformance::netns::tap_stack;
use unisock_conformance::util::{LeakCheck, counter, serial, skip};
use unisock_nal::Error;
use unisock_nal::edge::{EdgeNalStack, EdgeUdpSocket};
use unisock_posix::PosixStack;
use unisock_posix::asynch::TokioStack;

const LIMIT: Duration = Duration::from_secs(10);
/// How long a receive that must not complete is given.
const QUIET: Duration = Duration::from_millis(300);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[track_caller]
fn kind_of<T: std::fmt::Debug, E: unisock::Error>(r: Result<T, Error<E>>) -> ErrorKind {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e.kind(),
    }
}

/// `f` bounded by [`LIMIT`].
async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f).await.expect("timed out")
}

/// Compiles only if the socket is edge-nal's `UdpSocket` (receive + send).
fn is_udp_socket<T: edge_nal::UdpSocket>(_: &T) {}

/// The local address of an edge-nal UDP socket.
fn local<U: SplitDatagram<Addr = SocketAddr>>(s: &mut EdgeUdpSocket<U>) -> SocketAddr {
    s.socket().local_addr().expect("local_addr")
}

/// What a connected socket sees after sending to a closed port.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The kernel under the async-io reactor: ICMP port unreachable comes back as
    /// `ConnectionRefused` on the next readable, receive or send.
    Reported,
    /// The kernel under the tokio reactor: on the next send only. The ICMP error raises
    /// `EPOLLERR` alone, which tokio's read readiness (`AsyncFd::poll_read_ready`) does not
    /// include, so a waiting receive is not woken (tokio's own `UdpSocket` had the same
    /// defect, tokio-rs/tokio#8000).
    OnSend,
    /// smoltcp: ICMP errors are not delivered to UDP sockets; the receive just waits.
    Silent,
}

/// The contract cases on any unisock async stack whose UDP sockets split; `ip` is an address
/// of the stack's own.
async fn contract<S>(net: &EdgeNalStack<S>, ip: IpAddr, refusal: Refusal)
where
    S: Stack,
    S::UdpSocket: SplitDatagram,
{
    let mut buf = [0u8; 64];

    // Round trip: bound server, connected client. The client's `send` ignores its remote
    // (edge-nal: "in case the socket is connected, the provided remote address is ignored").
    let mut server = UdpBind::bind(net, SocketAddr::new(ip, 0)).await.unwrap();
    is_udp_socket(&server);
    let at = local(&mut server);
    assert_ne!(at.port(), 0);
    let mut client = UdpConnect::connect(net, SocketAddr::new(ip, 0), at)
        .await
        .unwrap();
    let me = local(&mut client);
    client
        .send(SocketAddr::new(ip, 9), b"ping")
        .await
        .expect("connected send");
    let (n, from) = bounded(server.receive(&mut buf)).await.unwrap();
    assert_eq!((&buf[..n], from), (&b"ping"[..], me));
    // Another sender's datagram is dropped by the connected client; the server's arrives.
    let mut stranger = UdpBind::bind(net, SocketAddr::new(ip, 0)).await.unwrap();
    stranger.send(me, b"stranger").await.unwrap();
    server.send(me, b"pong").await.unwrap();
    let (n, from) = bounded(client.receive(&mut buf)).await.unwrap();
    assert_eq!((&buf[..n], from), (&b"pong"[..], at));
    drop(stranger);

    // Split: the server's receive half waits (readable, then receive) while its send half
    // sends; the client echoes, so the receive can only complete after the send.
    {
        let (mut rx, mut tx) = server.split();
        let mut got = [0u8; 16];
        let receiving = async {
            Readable::readable(&mut rx).await.unwrap();
            rx.receive(&mut got).await.unwrap()
        };
        let echoing = async {
            let mut b = [0u8; 16];
            let (n, from) = client.receive(&mut b).await.unwrap();
            assert_eq!(from, at);
            client.send(at, &b[..n]).await.unwrap();
        };
        let sending = async { tx.send(me, b"hello").await.unwrap() };
        let ((n, from), (), ()) =
            bounded(async { tokio::join!(receiving, echoing, sending) }).await;
        assert_eq!((&got[..n], from), (&b"hello"[..], me));
    }

    // Truncation: the first bytes are kept, the error says the full length and the sender;
    // the rest is discarded and the next receive gets the next datagram.
    let long: Vec<u8> = (0..100u8).collect();
    client.send(at, &long).await.unwrap();
    let mut short = [0u8; 10];
    match bounded(server.receive(&mut short)).await {
        Err(Error::Truncated {
            len,
            full_len,
            from,
        }) => assert_eq!((len, full_len, from), (10, 100, me)),
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert_eq!(&short[..], &long[..10]);
    assert_eq!(
        kind_of::<(), _>(Err(Error::<S::Error>::Truncated {
            len: 10,
            full_len: 100,
            from: me
        })),
        ErrorKind::InvalidInput
    );
    client.send(at, b"next").await.unwrap();
    let (n, _) = bounded(server.receive(&mut buf)).await.unwrap();
    assert_eq!(&buf[..n], b"next");

    // Multicast: no membership API in unisock, so every call is Unsupported (never Ok), on
    // the socket and on the split-off parts.
    let group4 = Ipv4Addr::new(224, 0, 0, 251);
    let group6: Ipv6Addr = "ff02::fb".parse().unwrap();
    assert_eq!(
        kind_of(server.join_v4(group4, Ipv4Addr::UNSPECIFIED).await),
        ErrorKind::Unsupported
    );
    assert_eq!(
        kind_of(server.leave_v4(group4, Ipv4Addr::UNSPECIFIED).await),
        ErrorKind::Unsupported
    );
    assert_eq!(
        kind_of(server.join_v6(group6, 0).await),
        ErrorKind::Unsupported
    );
    assert_eq!(
        kind_of(server.leave_v6(group6, 0).await),
        ErrorKind::Unsupported
    );
    {
        let (_, _, mut m4, mut m6) = server.split_multicast();
        let e = m4.join_v4(group4, Ipv4Addr::UNSPECIFIED).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.to_string().contains("multicast"), "{e}");
        assert_eq!(kind_of(m6.join_v6(group6, 0).await), ErrorKind::Unsupported);
    }
    drop(client);

    // Closed socket: dropping it closes it and frees its port for a new bind.
    drop(server);
    let mut again = UdpBind::bind(net, at)
        .await
        .expect("rebind a closed socket's port");
    assert_eq!(local(&mut again), at);

    // A closed port: `again` is closed too, and a connected client sends to it.
    drop(again);
    let mut lone = UdpConnect::connect(net, SocketAddr::new(ip, 0), at)
        .await
        .unwrap();
    lone.send(at, b"anyone?").await.expect("the first send");
    match refusal {
        Refusal::Reported => {
            // Reported once per ICMP: by readable (which consumes it), by receive, by send.
            assert_eq!(
                kind_of(bounded(Readable::readable(&mut lone)).await),
                ErrorKind::ConnectionRefused
            );
            lone.send(at, b"anyone?").await.unwrap();
            assert_eq!(
                kind_of(bounded(lone.receive(&mut buf)).await),
                ErrorKind::ConnectionRefused
            );
            lone.send(at, b"anyone?").await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(
                kind_of(lone.send(at, b"anyone?").await),
                ErrorKind::ConnectionRefused
            );
        }
        Refusal::OnSend => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(
                kind_of(lone.send(at, b"anyone?").await),
                ErrorKind::ConnectionRefused
            );
        }
        Refusal::Silent => {
            assert!(
                tokio::time::timeout(QUIET, lone.receive(&mut buf))
                    .await
                    .is_err(),
                "smoltcp reported something for a closed port"
            );
            lone.send(at, b"anyone?").await.expect("sends go on");
        }
    }
    drop(lone);
}

/// The contract on `net` over `ip` 127.0.0.1, then the leak check on `count`.
fn contract_checked<S>(net: EdgeNalStack<S>, count: &dyn Fn() -> usize, refusal: Refusal)
where
    S: Stack,
    S::UdpSocket: SplitDatagram,
{
    let _serial = serial();
    let leaks = LeakCheck::new(&[("stack", count)]);
    let rt = runtime();
    rt.block_on(contract(&net, Ipv4Addr::LOCALHOST.into(), refusal));
    drop(rt);
    leaks.finish(LIMIT);
}

#[test]
fn udp_contract_posix_tokio() {
    let net = EdgeNalStack::new(TokioStack::new());
    contract_checked(net, &counter(&PosixStack), Refusal::OnSend);
}

#[test]
fn udp_contract_posix_async_io() {
    let net = EdgeNalStack::new(unisock_posix::asynch::AsyncIoStack::new());
    contract_checked(net, &counter(&PosixStack), Refusal::Reported);
}

#[test]
fn udp_contract_smoltcp_loopback() {
    let owner = unisock_smoltcp::StdStack::loopback(unisock_smoltcp::Config::loopback()).unwrap();
    let stack = &*owner;
    contract_checked(EdgeNalStack::new(stack), &counter(&stack), Refusal::Silent);
}

/// A stale descriptor under the edge-nal UDP socket (posix): a pipe, not a socket, registered
/// with the reactor; `StaleHandle` comes through receive, send, readable and the split
/// halves, and nothing panics.
#[test]
fn udp_contract_stale_descriptor_posix() {
    use std::os::fd::OwnedFd;
    use unisock_posix::asynch::AsyncIo;
    let _serial = serial();
    let count = counter(&PosixStack);
    let leaks = LeakCheck::new(&[("posix", &count)]);
    let rt = runtime();
    rt.block_on(async {
        let (reader, _writer) = std::io::pipe().expect("pipe");
        let udp = unisock_posix::UdpSocket::from(OwnedFd::from(reader))
            .into_async::<AsyncIo>()
            .expect("register");
        let mut socket = EdgeUdpSocket::new(udp);
        let to = SocketAddr::from(([127, 0, 0, 1], 9));
        let mut buf = [0u8; 4];
        assert_eq!(
            kind_of(socket.receive(&mut buf).await),
            ErrorKind::StaleHandle
        );
        assert_eq!(kind_of(socket.send(to, b"x").await), ErrorKind::StaleHandle);
        assert_eq!(
            kind_of(Readable::readable(&mut socket).await),
            ErrorKind::StaleHandle
        );
        let (mut rx, mut tx) = socket.split();
        assert_eq!(kind_of(rx.receive(&mut buf).await), ErrorKind::StaleHandle);
        assert_eq!(kind_of(tx.send(to, b"x").await), ErrorKind::StaleHandle);
    });
    drop(rt);
    leaks.finish(LIMIT);
}

fn have_dig() -> bool {
    if Command::new("dig").arg("-v").output().is_err() {
        skip("dig not installed (package bind9-dnsutils)");
        return false;
    }
    true
}

/// A free UDP port on `ip` (bound and released by a std socket).
fn free_udp_port(ip: IpAddr) -> u16 {
    UdpSocket::bind(SocketAddr::new(ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The address edge-captive answers every A query with.
const PORTAL: Ipv4Addr = Ipv4Addr::new(10, 42, 0, 1);

/// Serve edge-captive's DNS on `net` at `at` (an address of the stack's) and ask it with
/// `dig` run from this thread's namespace: two names, each answered with [`PORTAL`].
fn captive_answers_dig<S>(net: EdgeNalStack<S>, at: SocketAddr)
where
    S: Stack,
    S::UdpSocket: SplitDatagram,
{
    let server = format!("@{}", at.ip());
    let port = at.port().to_string();
    // dig retries (every second, five times) until the server has bound.
    let dig = std::thread::spawn(move || {
        Command::new("dig")
            .args([&server, "-p", &port, "+short", "+tries=5", "+time=1"])
            .args(["portal.unisock.test", "A", "login.example.org", "A"])
            .output()
            .expect("dig")
    });
    let rt = runtime();
    rt.block_on(async {
        let (mut tx, mut rx) = ([0u8; 1500], [0u8; 1500]);
        let run =
            edge_captive::io::run(&net, at, &mut tx, &mut rx, PORTAL, Duration::from_secs(60));
        let client = async {
            while !dig.is_finished() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::select! {
            r = run => panic!("the DNS server ended: {r:?}"),
            out = tokio::time::timeout(LIMIT * 2, client) => out.expect("dig timed out"),
        }
    });
    drop(rt);
    let out = dig.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{PORTAL}\n{PORTAL}\n"),
        "{out:?}"
    );
}

#[test]
fn edge_captive_dns_answers_dig_posix() {
    if !have_dig() {
        return;
    }
    let _serial = serial();
    let count = counter(&PosixStack);
    let leaks = LeakCheck::new(&[("posix", &count)]);
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    captive_answers_dig(
        EdgeNalStack::new(TokioStack::new()),
        SocketAddr::new(ip, free_udp_port(ip)),
    );
    leaks.finish(LIMIT);
}

#[test]
fn edge_captive_dns_answers_dig_smoltcp_tap() {
    if !have_dig() {
        return;
    }
    let _serial = serial();
    let smol = Ipv4Addr::new(10, 7, 0, 2);
    let Some(owner) = tap_stack(
        "usknal4",
        smol,
        "fd00:7::2".parse().unwrap(),
        "10.7.0.1/24",
        "fd00:7::1/64",
    ) else {
        return;
    };
    let stack = &*owner;
    let count = counter(&stack);
    let leaks = LeakCheck::new(&[("smoltcp", &count)]);
    captive_answers_dig(EdgeNalStack::new(stack), SocketAddr::new(smol.into(), 5353));
    leaks.finish(LIMIT);
}
