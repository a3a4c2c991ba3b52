//! Raw ICMP echo over loopback (needs CAP_NET_RAW; skipped with a notice otherwise, unless
//! CI=true).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use unisock::prelude::*;
use unisock::{Domain, Protocol, Stack};
use unisock_posix::{PosixStack, RawSocket};

fn open(domain: Domain, proto: Protocol) -> Option<RawSocket> {
    match PosixStack.raw_socket(domain, proto) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("raw sockets not permitted under CI=true: {e}");
            }
            eprintln!("notice: raw sockets not permitted ({e}); skipping");
            None
        }
        Err(e) => panic!("raw socket: {e}"),
    }
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[test]
fn icmp_echo_to_loopback_gets_a_reply() {
    let Some(mut sock) = open(Domain::Ipv4, Protocol::ICMP) else {
        return;
    };
    sock.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(2))))
        .unwrap();
    let ident = (std::process::id() & 0xffff) as u16;
    let mut req = [8u8, 0, 0, 0, 0, 0, 0, 1, b'u', b'n', b'i', b's'];
    req[4..6].copy_from_slice(&ident.to_be_bytes());
    let c = checksum(&req);
    req[2..4].copy_from_slice(&c.to_be_bytes());
    let lo = IpAddr::from([127, 0, 0, 1]);
    assert_eq!(sock.send_to(&req, lo).unwrap(), req.len());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 256];
    loop {
        assert!(Instant::now() < deadline, "no echo reply");
        let m = sock.recv_from(&mut buf, RecvFlags::NONE).unwrap();
        assert_eq!(m.from, lo);
        // IPv4: the packet starts with its header.
        let ihl = usize::from(buf[0] & 0x0f) * 4;
        assert_eq!(buf[0] >> 4, 4);
        let icmp = &buf[ihl..m.len];
        // Our own request is delivered too; wait for the reply (type 0) with our id.
        if icmp[0] == 0 && icmp[4..6] == ident.to_be_bytes() {
            assert_eq!(&icmp[8..], b"unis");
            break;
        }
    }
}

#[test]
fn icmpv6_echo_to_loopback_gets_a_reply() {
    let Some(mut sock) = open(Domain::Ipv6, Protocol::ICMPV6) else {
        return;
    };
    sock.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(2))))
        .unwrap();
    let ident = (std::process::id() & 0xffff) as u16 ^ 0x5a5a;
    // The kernel computes the ICMPv6 checksum.
    let mut req = [128u8, 0, 0, 0, 0, 0, 0, 1, b'v', b'6'];
    req[4..6].copy_from_slice(&ident.to_be_bytes());
    let lo: IpAddr = "::1".parse().unwrap();
    sock.send_to(&req, lo).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 256];
    loop {
        assert!(Instant::now() < deadline, "no echo reply");
        let m = sock.recv_from(&mut buf, RecvFlags::NONE).unwrap();
        // IPv6: payload only.
        let icmp = &buf[..m.len];
        if icmp[0] == 129 && icmp[4..6] == ident.to_be_bytes() {
            assert_eq!(&icmp[8..], b"v6");
            break;
        }
    }
}
