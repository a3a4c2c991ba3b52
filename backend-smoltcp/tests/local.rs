//! Local delivery: a stack on an Ethernet device whose wire delivers nothing still reaches its
//! own address (TCP, UDP, ICMP echo), as the kernel does; with no local-delivery queue such a
//! send fails at once with `Unsupported`.
#![cfg(all(
    feature = "std",
    feature = "local-delivery",
    feature = "udp",
    feature = "raw",
    feature = "proto-ipv6"
))]

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use unisock::prelude::*;
use unisock::{Domain, ErrorKind, Protocol, RecvFlags, SendFlags};
use unisock_smoltcp::{Cidr, Config, PoolConfig, Spin, Stack, StdClock};

/// An Ethernet device whose peer drops everything: frames sent are counted and lost, nothing
/// is ever received.
#[derive(Debug, Default)]
struct DeadWire {
    sent: usize,
}

struct Rx;
struct Tx<'a>(&'a mut usize);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&[])
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0u8; len];
        *self.0 += 1;
        f(&mut buf)
    }
}

impl Device for DeadWire {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx<'_>)> {
        None
    }

    fn transmit(&mut self, _: Instant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.sent))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}

const V4: Ipv4Addr = Ipv4Addr::new(10, 7, 0, 2);
const V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);

fn config(local_bytes: usize) -> Config {
    Config::new()
        .with_address(Cidr::new(IpAddr::V4(V4), 24).unwrap())
        .unwrap()
        .with_address(Cidr::new(IpAddr::V6(V6), 64).unwrap())
        .unwrap()
        .with_pool(PoolConfig {
            local_bytes,
            ..PoolConfig::SMALL
        })
}

type DeadStack = Stack<'static, DeadWire, StdClock, Spin>;

fn stack(local_bytes: usize) -> DeadStack {
    Stack::new_alloc(
        DeadWire::default(),
        StdClock::new(),
        Spin,
        &config(local_bytes),
    )
    .unwrap()
}

#[track_caller]
fn tcp_echo_to_self(stack: &DeadStack, ip: IpAddr) {
    let net = &stack;
    let at = SocketAddr::new(ip, 7);
    let mut listener = net.listen(at, 1).unwrap();
    let mut client = net
        .tcp_socket(Domain::of(&at))
        .unwrap()
        .connect_timeout(at, Duration::from_secs(10))
        .unwrap();
    let (mut server, peer) = listener.accept().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(peer.ip(), ip);
    // More than a whole queue of frames, so the queue fills and drains many times.
    let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut back = vec![0u8; data.len()];
    let mut sent = 0;
    let mut got = 0;
    let mut echoed = 0;
    let mut tmp = [0u8; 1024];
    for _ in 0..100_000 {
        if sent < data.len() {
            match client.try_write(&data[sent..]) {
                Ok(n) => sent += n,
                Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
            }
        }
        match server.try_read(&mut tmp) {
            Ok(n) => {
                server.write_all(&tmp[..n]).unwrap();
                echoed += n;
            }
            Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
        }
        match client.try_read(&mut back[got..]) {
            Ok(n) => got += n,
            Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
        }
        if got == data.len() {
            break;
        }
        stack.poll();
    }
    assert_eq!(echoed, data.len());
    assert_eq!(got, data.len(), "echo incomplete");
    assert!(back == data, "echoed bytes differ");
    drop((client, server, listener));
}

#[track_caller]
fn all_closed(stack: &DeadStack) {
    for _ in 0..1000 {
        stack.poll();
        if stack.open_sockets() == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("{} sockets still open", stack.open_sockets());
}

#[test]
fn tcp_to_own_address_over_ethernet_v4_and_v6() {
    let stack = stack(PoolConfig::SMALL.local_bytes);
    tcp_echo_to_self(&stack, IpAddr::V4(V4));
    tcp_echo_to_self(&stack, IpAddr::V6(V6));
    all_closed(&stack);
    // Address resolution for our own addresses never reached the wire.
    let sent = stack.with_device(|d| d.sent);
    assert_eq!(sent, 0, "{sent} frames went to the wire");
}

#[test]
fn udp_to_own_address_over_ethernet() {
    let stack = stack(PoolConfig::SMALL.local_bytes);
    let net = &stack;
    for ip in [IpAddr::V4(V4), IpAddr::V6(V6)] {
        let mut a = net.bind_udp(SocketAddr::new(ip, 0)).unwrap();
        let mut b = net.bind_udp(SocketAddr::new(ip, 5353)).unwrap();
        b.set_option(unisock::SockOpt::ReadTimeout(Some(Duration::from_secs(10))))
            .unwrap();
        a.send_to(b"to myself", b.local_addr().unwrap(), SendFlags::NONE)
            .unwrap();
        let mut buf = [0u8; 32];
        let meta = b.recv_from(&mut buf, RecvFlags::NONE).unwrap();
        assert_eq!(&buf[..meta.len], b"to myself");
        assert_eq!(meta.from, a.local_addr().unwrap());
    }
    all_closed(&stack);
}

#[test]
fn icmp_echo_to_own_address_over_ethernet() {
    let stack = stack(PoolConfig::SMALL.local_bytes);
    let net = &stack;
    let mut raw = net.raw_socket(Domain::Ipv4, Protocol::ICMP).unwrap();
    raw.set_option(unisock::SockOpt::ReadTimeout(Some(Duration::from_secs(10))))
        .unwrap();
    // Echo request, id 0x1234, seq 1, payload "ping"; checksum filled in below.
    let mut req = [8u8, 0, 0, 0, 0x12, 0x34, 0, 1, b'p', b'i', b'n', b'g'];
    let sum = checksum(&req);
    req[2..4].copy_from_slice(&sum.to_be_bytes());
    raw.send_to(&req, IpAddr::V4(V4)).unwrap();
    // The raw socket sees our own request and then the stack's reply.
    let mut buf = [0u8; 128];
    let mut replied = false;
    for _ in 0..4 {
        let meta = raw.recv_from(&mut buf, RecvFlags::NONE).unwrap();
        assert_eq!(meta.from, IpAddr::V4(V4));
        let icmp = &buf[20..meta.len];
        if icmp[0] == 0 {
            assert_eq!(
                &icmp[4..],
                &req[4..],
                "reply carries the request's id, seq, data"
            );
            replied = true;
            break;
        }
    }
    assert!(replied, "no echo reply from our own address");
    drop(raw);
    all_closed(&stack);
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for pair in data.chunks(2) {
        let hi = u32::from(pair[0]) << 8;
        let lo = pair.get(1).map_or(0, |&b| u32::from(b));
        sum += hi | lo;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[test]
fn without_a_queue_sending_to_own_address_is_unsupported_at_once() {
    let stack = stack(0);
    let net = &stack;
    let at = SocketAddr::new(IpAddr::V4(V4), 7);
    let _listener = net.listen(at, 1).unwrap();
    let e = net.connect(at).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    let mut u = net.bind_udp(SocketAddr::new(IpAddr::V4(V4), 0)).unwrap();
    let e = u
        .send_to(b"x", SocketAddr::new(IpAddr::V6(V6), 9), SendFlags::NONE)
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::InvalidInput,
        "family mismatch first: {e}"
    );
    let e = u
        .send_to(b"x", SocketAddr::new(IpAddr::V4(V4), 9), SendFlags::NONE)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    let mut raw = net.raw_socket(Domain::Ipv4, Protocol::ICMP).unwrap();
    let e = raw.send_to(&[8, 0, 0, 0], IpAddr::V4(V4)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    // Other destinations are unaffected.
    u.send_to(
        b"x",
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 7, 0, 9)), 9),
        SendFlags::NONE,
    )
    .unwrap();
    drop((u, raw, _listener));
    all_closed(&stack);
}

#[test]
fn a_queue_smaller_than_one_frame_is_invalid_input_in_fixed_memory_and_grown_on_the_heap() {
    const SOCKETS: usize = PoolConfig::SMALL.sockets_needed();
    const BYTES: usize = PoolConfig::SMALL.bytes_needed();
    let mut resources = unisock_smoltcp::Resources::<SOCKETS, BYTES, 16>::new();
    let e = Stack::new(
        DeadWire::default(),
        StdClock::new(),
        Spin,
        &config(1000),
        &mut resources,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    // The heap stack sizes the queue for the device (two 1514-byte frames) and works.
    let stack =
        Stack::new_alloc(DeadWire::default(), StdClock::new(), Spin, &config(1000)).unwrap();
    tcp_echo_to_self(&stack, IpAddr::V4(V4));
    all_closed(&stack);
}

/// The loopback addresses configured on an Ethernet device (as a firmware that wants
/// `localhost` does): 127.0.0.1 is delivered locally like the interface's own addresses; `::1`
/// cannot be (smoltcp resolves it with neighbour discovery and never answers a solicitation
/// for it), so a connect or a send to it fails at once with `Unsupported` (it waited for the
/// connect timeout), while the interface's own IPv6 address still works.
#[test]
fn loopback_addresses_over_ethernet_127_works_and_ipv6_loopback_is_unsupported() {
    let config = config(PoolConfig::SMALL.local_bytes)
        .with_address(Cidr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8).unwrap())
        .unwrap()
        .with_address(Cidr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 128).unwrap())
        .unwrap();
    let stack: DeadStack =
        Stack::new_alloc(DeadWire::default(), StdClock::new(), Spin, &config).unwrap();
    tcp_echo_to_self(&stack, IpAddr::V4(Ipv4Addr::LOCALHOST));
    let net = &stack;
    let one = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 7);
    let _listener = net.listen(one, 1).unwrap();
    let started = std::time::Instant::now();
    let e = net
        .tcp_socket(Domain::Ipv6)
        .unwrap()
        .connect_timeout(one, Duration::from_secs(10))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(started.elapsed() < Duration::from_secs(5), "not at once");
    let mut u = net
        .bind_udp(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0))
        .unwrap();
    let e = u.send_to(b"x", one, SendFlags::NONE).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    drop((u, _listener));
    tcp_echo_to_self(&stack, IpAddr::V6(V6));
    all_closed(&stack);
    let sent = stack.with_device(|d| d.sent);
    assert_eq!(sent, 0, "{sent} frames went to the wire");
}
