//! UDP over the in-process loopback.
#![cfg(all(
    feature = "std",
    feature = "udp",
    feature = "raw",
    feature = "proto-ipv6"
))]

mod util;

use std::net::SocketAddr;

use unisock::prelude::*;
use unisock::{DatagramSocket, Domain, ErrorKind, RecvFlags, SendFlags};
use util::{assert_no_leak, loopback};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn send_recv_truncation_peek_connected_filter() {
    let net = loopback();
    let stack = &*net;
    let mut a = stack.bind_udp(addr("127.0.0.1:0")).unwrap();
    let a_addr = a.local_addr().unwrap();
    assert!(a_addr.port() >= 49152);
    let mut b = stack.udp_socket(Domain::Ipv4).unwrap();
    // Unbound send auto-binds.
    b.send_to(b"0123456789", a_addr, SendFlags::NONE).unwrap();
    let b_local = b.local_addr().unwrap();
    assert!(b_local.ip().is_unspecified());
    assert_ne!(b_local.port(), 0);
    let b_addr = SocketAddr::new(a_addr.ip(), b_local.port());
    let mut small = [0u8; 4];
    let m = a.recv_from(&mut small, RecvFlags::PEEK).unwrap();
    assert_eq!((m.len, m.full_len, m.from), (4, 10, b_addr));
    let m = a.recv_from(&mut small, RecvFlags::NONE).unwrap();
    assert!(m.truncated());
    assert_eq!(&small, b"0123");
    assert_eq!(
        a.try_recv_from(&mut small, RecvFlags::NONE)
            .unwrap_err()
            .kind(),
        ErrorKind::WouldBlock
    );
    // Connected mode drops other senders.
    let mut c = stack.bind_udp(addr("127.0.0.1:0")).unwrap();
    a.connect(b_addr).unwrap();
    c.send_to(b"other", a_addr, SendFlags::NONE).unwrap();
    b.send_to(b"peer", a_addr, SendFlags::NONE).unwrap();
    let mut buf = [0u8; 16];
    let m = a.recv(&mut buf, RecvFlags::NONE).unwrap();
    assert_eq!(&buf[..m.len], b"peer");
    assert_eq!(m.from, b_addr);
    a.send(b"back", SendFlags::NONE).unwrap();
    let m = b.recv_from(&mut buf, RecvFlags::NONE).unwrap();
    assert_eq!((&buf[..m.len], m.from), (&b"back"[..], a_addr));
    drop((a, b, c));
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn oversize_is_invalid_input_and_oob_unsupported_and_v6_works() {
    let net = loopback();
    let stack = &*net;
    let mut a = stack.bind_udp(addr("[::1]:0")).unwrap();
    let to = a.local_addr().unwrap();
    let big = vec![0u8; 200_000];
    assert_eq!(
        a.send_to(&big, to, SendFlags::NONE).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        a.send_to(b"x", to, SendFlags::OOB).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    a.send_to(b"self", to, SendFlags::NONE).unwrap();
    let mut buf = [0u8; 8];
    let m = a.recv_from(&mut buf, RecvFlags::NONE).unwrap();
    assert_eq!((&buf[..m.len], m.from), (&b"self"[..], to));
    // Two sockets on one port: AddrInUse.
    let e = stack.bind_udp(to).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrInUse);
    drop(a);
    assert_no_leak(|| stack.open_sockets());
}
