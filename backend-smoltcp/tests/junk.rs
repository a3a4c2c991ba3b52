//! Robustness: a device that delivers deterministic pseudo-random frames (mutated valid
//! packets and plain garbage) to a stack with listeners, UDP and raw sockets open. Nothing
//! may panic and no socket may appear or vanish.
// Written for the default protocol set (IP-medium devices, UDP, raw sockets, IPv6).
#![cfg(all(
    feature = "medium-ip",
    feature = "udp",
    feature = "raw",
    feature = "proto-ipv6"
))]

use std::net::SocketAddr;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use unisock::prelude::*;
use unisock::{DatagramSocket, Domain, Protocol, RawSocket, RecvFlags};
use unisock_smoltcp::{Config, ManualClock, PoolConfig, Resources, Spin, Stack};

struct Junk {
    state: u64,
    frame: Vec<u8>,
    left: usize,
}

impl Junk {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn fill(&mut self) {
        let len = (self.next() % 1500) as usize;
        self.frame.clear();
        for _ in 0..len {
            let b = self.next() as u8;
            self.frame.push(b);
        }
        // Half the frames look like IPv4 or IPv6 towards our address, so they get past the
        // first checks and into the protocol parsers.
        match self.next() % 4 {
            0 if len >= 20 => {
                self.frame[0] = 0x45;
                self.frame[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                self.frame[9] = [1u8, 6, 17, 58][(self.next() % 4) as usize];
                self.frame[16..20].copy_from_slice(&[127, 0, 0, 1]);
            }
            1 if len >= 40 => {
                self.frame[0] = 0x60;
                self.frame[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
                self.frame[6] = [0u8, 6, 17, 58, 43, 44][(self.next() % 6) as usize];
                self.frame[24..40].copy_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
            }
            _ => {}
        }
    }
}

struct Rx<'a>(&'a [u8]);
struct Tx;

impl phy::RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl phy::TxToken for Tx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0u8; len];
        f(&mut buf)
    }
}

impl Device for Junk {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = 1500;
        // Skip checksum verification so the junk reaches the protocol parsers.
        caps.checksum = phy::ChecksumCapabilities::ignored();
        caps
    }

    fn receive(&mut self, _: Instant) -> Option<(Rx<'_>, Tx)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        self.fill();
        Some((Rx(&self.frame), Tx))
    }

    fn transmit(&mut self, _: Instant) -> Option<Tx> {
        Some(Tx)
    }
}

#[test]
fn random_frames_never_panic_or_leak() {
    let clock = ManualClock::new();
    let device = Junk {
        state: 0x9e37_79b9_7f4a_7c15,
        frame: Vec::new(),
        left: 0,
    };
    let config = Config::loopback().with_pool(PoolConfig::SMALL);
    let mut resources = Box::new(Resources::<12, { 40 * 1024 }, 16>::new());
    let stack = Stack::new(device, &clock, Spin, &config, &mut resources).unwrap();
    let net = &stack;
    let _l4 = net
        .listen("127.0.0.1:80".parse::<SocketAddr>().unwrap(), 2)
        .unwrap();
    let mut u = net.bind_udp("0.0.0.0:53".parse().unwrap()).unwrap();
    let mut r4 = net.raw_socket(Domain::Ipv4, Protocol::ICMP).unwrap();
    let mut r6 = net.raw_socket(Domain::Ipv6, Protocol::ICMPV6).unwrap();
    let open = stack.open_sockets();
    let mut buf = [0u8; 2048];
    for round in 0..200 {
        stack.with_device(|d| d.left = 100);
        clock.advance(std::time::Duration::from_millis(10));
        stack.poll();
        while u.try_recv_from(&mut buf, RecvFlags::NONE).is_ok() {}
        while r4.try_recv_from(&mut buf, RecvFlags::NONE).is_ok() {}
        while r6.try_recv_from(&mut buf[..7], RecvFlags::PEEK).is_ok() {
            let _ = r6.try_recv_from(&mut buf[..3], RecvFlags::NONE);
        }
        assert!(stack.open_sockets() >= open, "round {round}");
    }
    drop((u, r4, r6, _l4));
    for _ in 0..1000 {
        if stack.open_sockets() == 0 {
            break;
        }
        stack.with_device(|d| d.left = 0);
        clock.advance(std::time::Duration::from_millis(100));
        stack.poll();
    }
    assert_eq!(stack.open_sockets(), 0);
}
