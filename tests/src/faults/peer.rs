//! A hand-played TCP peer: a smoltcp stack (through unisock) on one end of a [`Wire`], and the
//! test on the other end sending hand-built frames (the [`frames`] module) and reading the
//! stack's replies, on a virtual clock. ARP requests from the stack are answered
//! automatically. Used by the wire-level bad-input cases and the frame fuzz target.

use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::Duration;

use smoltcp::phy::Medium;
use unisock_smoltcp::{Cidr, Config, PoolConfig, Stack};

use super::frames::{self, Tcp, arp_reply, arp_request, parse_arp_request, parse_tcp};
use super::sim::{SimStack, World};
use super::{FaultConfig, Faulty, Wire, WireEnd};

/// The stack's MAC address.
pub const STACK_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
/// The stack's IPv4 address.
pub const STACK_IP: [u8; 4] = [127, 0, 0, 1];
/// The peer's MAC address.
pub const PEER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
/// The peer's IPv4 address (loopback range; the wire is in-process).
pub const PEER_IP: [u8; 4] = [127, 0, 0, 2];

/// A stack under test and the wire end the test plays on.
pub struct Peer {
    /// The virtual world (one member: the stack).
    pub world: World,
    /// The stack under test.
    pub stack: Rc<SimStack>,
    end: WireEnd,
}

impl Default for Peer {
    fn default() -> Self {
        Peer::new()
    }
}

impl Peer {
    /// A fresh stack (127.0.0.1/8 on Ethernet, small pool) and its peer end, the stack's
    /// neighbour cache primed with the peer.
    pub fn new() -> Peer {
        Peer::with_buffers(4096, None)
    }

    /// [`new`](Peer::new) with TCP socket buffers of `bytes` each way (above 64 KiB the stack
    /// scales its window when the peer offers window scaling, see
    /// [`handshake_with`](Peer::handshake_with)) and the stack's delayed-ACK time
    /// `ack_delay` ([`Config::with_tcp_ack_delay`]).
    pub fn with_buffers(bytes: usize, ack_delay: Option<Duration>) -> Peer {
        let world = World::new();
        let (a, b) = Wire::pair(Medium::Ethernet, 1514);
        let config = Config::new()
            .with_address(Cidr::new(IpAddr::V4(Ipv4Addr::from(STACK_IP)), 8).expect("cidr"))
            .expect("address")
            .with_mac(STACK_MAC)
            .with_pool(PoolConfig {
                tcp: 8,
                tcp_rx: bytes,
                tcp_tx: bytes,
                udp: 2,
                ..PoolConfig::SMALL
            })
            .with_random_seed(1)
            .with_tcp_ack_delay(ack_delay);
        let dev = Faulty::new(a, FaultConfig::default());
        let stack = Rc::new(
            Stack::new_alloc(dev, world.clock(), world.waiter(), &config).expect("smoltcp stack"),
        );
        world.add(&stack);
        let peer = Peer {
            world,
            stack,
            end: b,
        };
        // Ask for the stack's address: its ARP answer also teaches it the peer's, so even a
        // stateless reply (an RST) is not lost to address resolution.
        peer.send(&arp_request(PEER_MAC, PEER_IP, STACK_IP));
        peer.run(Duration::from_millis(5));
        peer
    }

    /// The stack as a unisock stack.
    pub fn net(&self) -> &SimStack {
        &self.stack
    }

    /// Send a raw frame to the stack.
    pub fn send(&self, frame: &[u8]) {
        self.end.send(frame);
    }

    /// Let `d` of virtual time pass (polling the stack at each of its deadlines) and return
    /// every TCP
    /// segment the stack sent meanwhile, answering its ARP requests for the peer. Other frames
    /// are counted in the second value.
    pub fn run(&self, d: Duration) -> (Vec<Tcp>, usize) {
        let end = self.world.elapsed() + d;
        let mut segs = Vec::new();
        let mut other = 0;
        loop {
            // Step to the stack's next deadline (or the end), not by a fixed tick.
            let left = end.saturating_sub(self.world.elapsed());
            self.world.step(Some(left.max(Duration::from_micros(1))));
            while let Some(f) = self.end.take() {
                if let Some((mac, ip, target)) = parse_arp_request(&f) {
                    if target == PEER_IP {
                        self.end.send(&arp_reply(PEER_MAC, PEER_IP, mac, ip));
                    }
                } else if let Some(t) = parse_tcp(&f) {
                    segs.push(t);
                } else {
                    other += 1;
                }
            }
            if self.world.elapsed() >= end {
                return (segs, other);
            }
        }
    }

    /// Send a segment from the peer to the stack and return the stack's TCP replies within
    /// `d` of virtual time.
    pub fn exchange(&self, seg: &Tcp, d: Duration) -> Vec<Tcp> {
        self.send(&seg.frame(STACK_MAC, PEER_MAC));
        self.run(d).0
    }

    /// A segment from the peer's `sport` to the stack's `dport`.
    pub fn seg(&self, sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) -> Tcp {
        Tcp {
            src: PEER_IP,
            dst: STACK_IP,
            sport,
            dport,
            seq,
            ack,
            flags,
            window: 4096,
            options: Vec::new(),
            payload: Vec::new(),
        }
    }

    /// Open a connection from the peer to a listener on `dport` (three-way handshake by hand):
    /// returns (peer's next sequence number, stack's next sequence number).
    pub fn handshake(&self, sport: u16, dport: u16, isn: u32) -> Option<(u32, u32)> {
        self.handshake_with(sport, dport, isn, &[])
    }

    /// [`handshake`](Peer::handshake) with TCP `options` in the SYN (for example
    /// `[1, 3, 3, 7]`: window scaling, shift 7).
    pub fn handshake_with(
        &self,
        sport: u16,
        dport: u16,
        isn: u32,
        options: &[u8],
    ) -> Option<(u32, u32)> {
        let syn = Tcp {
            options: options.to_vec(),
            ..self.seg(sport, dport, isn, 0, frames::flags::SYN)
        };
        let replies = self.exchange(&syn, ms(50));
        let synack = replies.iter().find(|t| {
            t.flags & (frames::flags::SYN | frames::flags::ACK)
                == (frames::flags::SYN | frames::flags::ACK)
                && t.sport == dport
                && t.dport == sport
        })?;
        let (mine, theirs) = (isn.wrapping_add(1), synack.seq.wrapping_add(1));
        self.exchange(
            &self.seg(sport, dport, mine, theirs, frames::flags::ACK),
            ms(20),
        );
        Some((mine, theirs))
    }
}

/// Milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
