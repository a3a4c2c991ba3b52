//! TCP over the in-process loopback: connect, listen with backlog, accept, read, write,
//! shutdown, drop, errors.
#![cfg(all(
    feature = "std",
    feature = "udp",
    feature = "raw",
    feature = "proto-ipv6"
))]

mod util;

use std::net::SocketAddr;
use std::time::Duration;

use unisock::prelude::*;
use unisock::{Domain, RecvFlags, SendFlags, Shutdown};
use util::{assert_no_leak, loopback};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn echo_v4_and_v6_then_no_leak() {
    let net = loopback();
    let stack = &*net;
    for at in ["127.0.0.1:7001", "[::1]:7001"] {
        let at = addr(at);
        let mut listener = stack.listen(at, 4).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                let (mut conn, peer) = listener.accept().unwrap();
                assert_eq!(peer.ip(), at.ip());
                let mut buf = [0u8; 1024];
                loop {
                    let n = conn.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    conn.write_all(&buf[..n]).unwrap();
                }
                conn.shutdown(Shutdown::Write).unwrap();
            });
            let mut c = stack.connect(at).unwrap();
            let local = c.local_addr().unwrap();
            assert!(local.port() >= 49152, "ephemeral port {local}");
            assert_eq!(c.peer_addr().unwrap(), at);
            let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
            c.write_all(&data).unwrap();
            c.shutdown(Shutdown::Write).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = c.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, data);
        });
    }
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn backlog_admits_n_clients_and_refuses_the_next() {
    let net = loopback();
    let stack = &*net;
    let at = addr("127.0.0.1:7002");
    let mut listener = stack.listen(at, 3).unwrap();
    let clients: Vec<_> = (0..3).map(|_| stack.connect(at).unwrap()).collect();
    let err = stack.connect(at).unwrap_err();
    assert_eq!(err.kind(), unisock::ErrorKind::ConnectionRefused, "{err}");
    for _ in 0..3 {
        let (_conn, peer) = listener.accept().unwrap();
        assert!(clients.iter().any(|c| c.local_addr().unwrap() == peer));
    }
    // Re-armed at once: a fourth client gets in now.
    let c4 = stack.connect(at).unwrap();
    listener.accept().unwrap();
    drop((clients, c4));
    drop(listener);
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn accept_hands_out_connections_already_closed_by_the_peer_with_data() {
    let net = loopback();
    let stack = &*net;
    let at = addr("127.0.0.1:7003");
    let mut listener = stack.listen(at, 2).unwrap();
    let mut c = stack.connect(at).unwrap();
    c.write_all(b"bye").unwrap();
    drop(c);
    let (mut conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 8];
    let n = conn.recv(&mut buf, RecvFlags::WAITALL).unwrap();
    assert_eq!(&buf[..n], b"bye");
    assert_eq!(conn.read(&mut buf).unwrap(), 0);
    drop(conn);
    drop(listener);
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn two_listeners_on_one_endpoint_is_addr_in_use() {
    let net = loopback();
    let stack = &*net;
    let at = addr("127.0.0.1:7004");
    let _l = stack.listen(at, 1).unwrap();
    let e = stack.listen(at, 1).unwrap_err();
    assert_eq!(e.kind(), unisock::ErrorKind::AddrInUse);
    let e = stack.listen(addr("0.0.0.0:7004"), 1).unwrap_err();
    assert_eq!(e.kind(), unisock::ErrorKind::AddrInUse);
    drop(_l);
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn bind_to_foreign_address_is_addr_not_available() {
    let net = loopback();
    let stack = &*net;
    let mut s = stack.tcp_socket(Domain::Ipv4).unwrap();
    let e = s.bind(addr("192.0.2.1:80")).unwrap_err();
    assert_eq!(e.kind(), unisock::ErrorKind::AddrNotAvailable);
    s.bind(addr("0.0.0.0:0")).unwrap();
    drop(s);
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn connect_to_closed_port_is_refused() {
    let net = loopback();
    let stack = &*net;
    let e = stack.connect(addr("127.0.0.1:9")).unwrap_err();
    assert_eq!(e.kind(), unisock::ErrorKind::ConnectionRefused, "{e}");
    assert_eq!(e.addr(), Some(addr("127.0.0.1:9")));
    assert!(e.to_string().contains("127.0.0.1:9"), "{e}");
    let e = stack.connect(addr("[::1]:9")).unwrap_err();
    assert_eq!(e.kind(), unisock::ErrorKind::ConnectionRefused, "{e}");
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn peek_waitall_shutdown_read_and_broken_pipe() {
    let net = loopback();
    let stack = &*net;
    let at = addr("127.0.0.1:7005");
    let mut listener = stack.listen(at, 1).unwrap();
    let mut c = stack.connect(at).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    c.write_all(b"hello world").unwrap();
    let mut buf = [0u8; 5];
    assert_eq!(
        s.recv(&mut buf, RecvFlags::PEEK | RecvFlags::WAITALL)
            .unwrap(),
        5
    );
    assert_eq!(&buf, b"hello");
    let mut all = [0u8; 11];
    assert_eq!(s.recv(&mut all, RecvFlags::WAITALL).unwrap(), 11);
    assert_eq!(&all, b"hello world");
    // OOB is unsupported.
    assert_eq!(
        s.recv(&mut buf, RecvFlags::OOB).unwrap_err().kind(),
        unisock::ErrorKind::Unsupported
    );
    assert_eq!(
        c.send(b"x", SendFlags::OOB).unwrap_err().kind(),
        unisock::ErrorKind::Unsupported
    );
    // shutdown(Read): later reads see end of stream, data is discarded.
    s.shutdown(Shutdown::Read).unwrap();
    c.write_all(b"discarded").unwrap();
    assert_eq!(s.read(&mut buf).unwrap(), 0);
    // shutdown(Write) then write: BrokenPipe; the peer reads EOF.
    c.shutdown(Shutdown::Write).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        c.write(b"late").unwrap_err().kind(),
        unisock::ErrorKind::BrokenPipe
    );
    drop((c, s, listener));
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn abort_resets_the_peer() {
    let net = loopback();
    let stack = &*net;
    let at = addr("127.0.0.1:7006");
    let mut listener = stack.listen(at, 1).unwrap();
    let c = stack.connect(at).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    c.abort().unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(
        s.read(&mut buf).unwrap_err().kind(),
        unisock::ErrorKind::ConnectionReset
    );
    assert_eq!(
        s.write(b"x").unwrap_err().kind(),
        unisock::ErrorKind::ConnectionReset
    );
    drop((s, listener));
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn read_timeout_and_accept_timeout() {
    let net = loopback();
    let stack = &*net;
    let at = addr("127.0.0.1:7007");
    let mut listener = stack.listen(at, 1).unwrap();
    listener
        .set_option(unisock::SockOpt::ReadTimeout(Some(Duration::from_millis(
            50,
        ))))
        .unwrap();
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        unisock::ErrorKind::TimedOut
    );
    let mut c = stack.connect(at).unwrap();
    c.set_option(unisock::SockOpt::ReadTimeout(Some(Duration::from_millis(
        50,
    ))))
    .unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(
        c.read(&mut buf).unwrap_err().kind(),
        unisock::ErrorKind::TimedOut
    );
    assert_eq!(
        c.try_read(&mut buf).unwrap_err().kind(),
        unisock::ErrorKind::WouldBlock
    );
    drop((c, listener));
    assert_no_leak(|| stack.open_sockets());
}
