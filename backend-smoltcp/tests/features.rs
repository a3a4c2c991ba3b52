//! Cargo features: with a protocol compiled out, the matching calls fail with `Unsupported`
//! (and with it compiled in, they work). Runs under any feature set; `cargo test
//! --no-default-features` checks the "off" side.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use smoltcp::phy::Medium;
use unisock::prelude::*;
use unisock::{Domain, ErrorKind, Protocol};
use unisock_smoltcp::{Cidr, Config, Loopback, ManualClock, PoolConfig, Resources, Spin, Stack};

const SOCKETS: usize = PoolConfig::SMALL.sockets_needed();
const BYTES: usize = PoolConfig::SMALL.bytes_needed();
const PACKETS: usize = 16;

#[track_caller]
fn check<T: core::fmt::Debug>(on: bool, r: Result<T, unisock_smoltcp::Error>, what: &str) {
    match r {
        Ok(_) => assert!(on, "{what} worked although compiled out"),
        Err(e) if on => panic!("{what}: {e}"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Unsupported, "{what}: {e}"),
    }
}

#[test]
fn compiled_out_protocols_are_unsupported() {
    let clock = ManualClock::new();
    let mut frames = [0u8; 4 * 1514];
    let device = Loopback::new(&mut frames, 1514, Medium::Ethernet).unwrap();
    let config = Config::new()
        .with_address(Cidr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 24).unwrap())
        .unwrap()
        .with_pool(PoolConfig::SMALL);
    let mut resources = Resources::<SOCKETS, BYTES, PACKETS>::new();
    let stack = Stack::new(device, &clock, Spin, &config, &mut resources).unwrap();
    let net = &stack;

    let ipv6 = cfg!(feature = "proto-ipv6");
    check(ipv6, net.tcp_socket(Domain::Ipv6), "IPv6 TCP socket");
    check(
        cfg!(feature = "udp"),
        net.udp_socket(Domain::Ipv4),
        "UDP socket",
    );
    check(
        cfg!(feature = "raw"),
        net.raw_socket(Domain::Ipv4, Protocol::ICMP),
        "raw socket",
    );
    // A name needing DNS: HostNotFound (no server configured) with DNS, Unsupported without.
    let e = net.resolve("example.org").unwrap_err();
    let want = if cfg!(feature = "dns") {
        ErrorKind::HostNotFound
    } else {
        ErrorKind::Unsupported
    };
    assert_eq!(e.kind(), want, "{e}");
    // Literals never need DNS.
    assert_eq!(
        net.resolve("10.0.0.9").unwrap()[0],
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9))
    );
    // TCP always works.
    let _listener = net
        .listen(SocketAddr::from(([10, 0, 0, 1], 80)), 1)
        .unwrap();
    assert_eq!(stack.open_sockets(), 1);
}

#[test]
fn compiled_out_configuration_is_refused_at_stack_creation() {
    let clock = ManualClock::new();
    let v6 = Config::new()
        .with_address(Cidr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 128).unwrap())
        .unwrap()
        .with_pool(PoolConfig::SMALL);
    let dhcp = Config::new().with_dhcpv4().with_pool(PoolConfig::SMALL);
    for (on, config, what) in [
        (cfg!(feature = "proto-ipv6"), v6, "IPv6 address"),
        (cfg!(feature = "dhcpv4"), dhcp, "DHCPv4"),
    ] {
        let mut frames = [0u8; 4 * 1514];
        let device = Loopback::new(&mut frames, 1514, Medium::Ethernet).unwrap();
        let mut resources = Resources::<SOCKETS, BYTES, PACKETS>::new();
        let r = Stack::new(device, &clock, Spin, &config, &mut resources).map(|_| ());
        check(on, r, what);
    }
}
