//! Local delivery: packets a stack sends to one of its own addresses come back to it, as the
//! kernel delivers them, whatever the device.
//!
//! smoltcp hands every packet to the device, so on an Ethernet device (a TAP, a NIC) a
//! connection from the stack to its own address would wait forever for an ARP reply nobody
//! sends. [`Local`] wraps the stack's device (inside [`Stack`](crate::Stack); it is not
//! public): every outgoing frame is first written into a small FIFO queue of frames
//! ([`PoolConfig::local_bytes`](crate::PoolConfig::local_bytes) bytes, carved from the
//! stack's memory: no allocation), then either kept there, if it is for this stack, or copied
//! to the device. `receive` drains the queue before asking the device. A frame is for this
//! stack when
//!
//! - (Ethernet) its destination MAC is the interface's own, or it is an ARP request or an
//!   IPv6 neighbour solicitation for one of the interface's addresses (smoltcp then answers
//!   its own request, and learns its own MAC from it);
//! - (any medium) its IPv4 or IPv6 destination is one of the interface's addresses.
//!
//! The queue stores frames back to back, each behind a two-byte length, and is compacted as
//! frames are taken (it stays short: it only holds traffic in flight between two sockets of
//! this stack). When it has no room for one more device-MTU frame, `transmit` waits (reports
//! no token) until `receive` has taken a frame out; a reply produced while receiving a local
//! frame when the queue is full goes to the device instead, where nobody accepts it (it is
//! lost like a frame on a congested link, and TCP retransmits).
//!
//! With a queue of 0 bytes the wrapper passes every frame through untouched (no copy) and the
//! socket calls refuse a destination that is one of the stack's own addresses with
//! `Unsupported`, instead of timing out. A device that returns every frame it is given
//! (the in-process [`Loopback`](crate::Loopback), [`Config::device_loops_back`](
//! crate::Config::device_loops_back)) needs no queue and gets none.

use managed::ManagedSlice;
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, IpAddress};

/// How many interface addresses the wrapper knows (smoltcp's `iface-max-addr-count-4`).
const ADDRS: usize = 4;
/// Bytes in front of each queued frame (its length, big-endian).
const LEN: usize = 2;

/// The stack's device with its local-delivery queue.
pub(crate) struct Local<'a, D> {
    pub(crate) inner: D,
    /// Frames for this stack: `[len hi, len lo, frame..]` back to back in `queue[..used]`.
    queue: ManagedSlice<'a, u8>,
    used: usize,
    /// Bytes of the front frame handed out by `receive`, removed at the next call.
    taken: usize,
    /// Bytes a transmit token appended behind `used`, added at the next call.
    pushed: usize,
    mac: Option<EthernetAddress>,
    addrs: heapless::Vec<IpAddress, ADDRS>,
    /// The device returns every frame itself: no queue, no refusal.
    loops_back: bool,
}

impl<'a, D: Device> Local<'a, D> {
    /// Wrap `inner` with `queue` as the local-delivery memory (empty: none).
    pub(crate) fn new(
        inner: D,
        queue: ManagedSlice<'a, u8>,
        mac: Option<EthernetAddress>,
        loops_back: bool,
    ) -> Local<'a, D> {
        Local {
            inner,
            queue,
            used: 0,
            taken: 0,
            pushed: 0,
            mac,
            addrs: heapless::Vec::new(),
            loops_back,
        }
    }

    /// Tell the wrapper the interface's addresses.
    pub(crate) fn set_addrs(&mut self, addrs: &[IpAddress]) {
        self.addrs.clear();
        for a in addrs.iter().take(ADDRS) {
            // At most ADDRS entries are taken, so the push cannot fail.
            let _ = self.addrs.push(*a);
        }
    }

    /// Whether a packet to one of the stack's own addresses can be delivered.
    pub(crate) fn delivers_locally(&self) -> bool {
        self.loops_back || self.intercepts()
    }

    /// Whether a packet to the IPv6 loopback address `::1` (when the interface has it) can be
    /// delivered: not on an Ethernet device that does not loop back, where smoltcp would
    /// resolve `::1` with neighbour discovery and, by design, never answers a solicitation
    /// for it (no solicited-node group for `::1`): the connection would wait for ever.
    pub(crate) fn delivers_ipv6_loopback(&self) -> bool {
        self.loops_back || self.inner.capabilities().medium != Medium::Ethernet
    }

    /// Whether frames go through the queue (never without the `local-delivery` feature, so
    /// that the queue code is not linked).
    fn intercepts(&self) -> bool {
        cfg!(feature = "local-delivery") && !self.loops_back && !self.queue.is_empty()
    }

    /// Fold in what the tokens of the previous call did.
    fn settle(&mut self) {
        self.used = (self.used + self.pushed).min(self.queue.len());
        self.pushed = 0;
        if self.taken > 0 {
            let taken = self.taken.min(self.used);
            self.queue.copy_within(taken..self.used, 0);
            self.used -= taken;
            self.taken = 0;
        }
    }

    fn frame_room(&self) -> usize {
        self.inner.capabilities().max_transmission_unit + LEN
    }
}

/// The length of the frame stored at `at`, if one is.
fn frame_len(queue: &[u8], at: usize, used: usize) -> Option<usize> {
    let hdr = queue.get(at..at + LEN).filter(|_| at + LEN <= used)?;
    let len = usize::from(u16::from_be_bytes([hdr[0], hdr[1]]));
    (at + LEN + len <= used).then_some(len)
}

impl<D: Device> Device for Local<'_, D> {
    type RxToken<'t>
        = RxToken<'t, D>
    where
        Self: 't;
    type TxToken<'t>
        = TxToken<'t, D>
    where
        Self: 't;

    fn capabilities(&self) -> DeviceCapabilities {
        self.inner.capabilities()
    }

    fn receive(&mut self, timestamp: Instant) -> Option<(RxToken<'_, D>, TxToken<'_, D>)> {
        if !self.intercepts() {
            let (rx, tx) = self.inner.receive(timestamp)?;
            return Some((RxToken::Inner(rx), TxToken::direct(tx)));
        }
        self.settle();
        let medium = self.inner.capabilities().medium;
        match frame_len(&self.queue, 0, self.used) {
            Some(len) => {
                let room = self.queue.len() - self.used >= self.frame_room();
                let (front, free) = self.queue.split_at_mut(self.used);
                let frame = front.get(LEN..LEN + len)?;
                // A reply to this frame goes into the queue if there is room for a whole
                // frame; otherwise the device must take it (and must have room now).
                let out = if room {
                    Out::Device(&mut self.inner, timestamp)
                } else {
                    Out::Token(self.inner.transmit(timestamp)?)
                };
                self.taken = LEN + len;
                Some((
                    RxToken::Local(frame),
                    TxToken {
                        free,
                        pushed: Some(&mut self.pushed),
                        out,
                        medium,
                        mac: self.mac,
                        addrs: &self.addrs,
                    },
                ))
            }
            None => {
                let (rx, tx) = self.inner.receive(timestamp)?;
                let free = self.queue.get_mut(self.used..).unwrap_or_default();
                Some((
                    RxToken::Inner(rx),
                    TxToken {
                        free,
                        pushed: Some(&mut self.pushed),
                        out: Out::Token(tx),
                        medium,
                        mac: self.mac,
                        addrs: &self.addrs,
                    },
                ))
            }
        }
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<TxToken<'_, D>> {
        if !self.intercepts() {
            return self.inner.transmit(timestamp).map(TxToken::direct);
        }
        self.settle();
        // Wait for the queue to drain rather than lose a frame for this stack.
        if self.queue.len() - self.used < self.frame_room() {
            return None;
        }
        let medium = self.inner.capabilities().medium;
        let free = self.queue.get_mut(self.used..).unwrap_or_default();
        Some(TxToken {
            free,
            pushed: Some(&mut self.pushed),
            out: Out::Device(&mut self.inner, timestamp),
            medium,
            mac: self.mac,
            addrs: &self.addrs,
        })
    }
}

/// A received frame: from the local queue or from the device.
pub(crate) enum RxToken<'t, D: Device + 't> {
    Local(&'t [u8]),
    Inner(D::RxToken<'t>),
}

impl<D: Device> phy::RxToken for RxToken<'_, D> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        match self {
            RxToken::Local(frame) => f(frame),
            RxToken::Inner(t) => t.consume(f),
        }
    }

    fn meta(&self) -> phy::PacketMeta {
        match self {
            RxToken::Local(_) => phy::PacketMeta::default(),
            RxToken::Inner(t) => t.meta(),
        }
    }
}

/// Where a frame not for this stack goes.
enum Out<'t, D: Device + 't> {
    /// A token the device already gave.
    Token(D::TxToken<'t>),
    /// Ask the device when the frame turns out not to be local.
    Device(&'t mut D, Instant),
}

/// Room for one outgoing frame.
pub(crate) struct TxToken<'t, D: Device + 't> {
    /// Free queue memory behind the queued frames (empty: pass straight through).
    free: &'t mut [u8],
    /// Set to the bytes appended to the queue (`None`: no queue).
    pushed: Option<&'t mut usize>,
    out: Out<'t, D>,
    medium: Medium,
    mac: Option<EthernetAddress>,
    addrs: &'t [IpAddress],
}

impl<'t, D: Device + 't> TxToken<'t, D> {
    fn direct(tx: D::TxToken<'t>) -> TxToken<'t, D> {
        TxToken {
            free: &mut [],
            pushed: None,
            out: Out::Token(tx),
            medium: Medium::Ethernet,
            mac: None,
            addrs: &[],
        }
    }
}

impl<D: Device> phy::TxToken for TxToken<'_, D> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let TxToken {
            free,
            pushed,
            out,
            medium,
            mac,
            addrs,
        } = self;
        let fits = cfg!(feature = "local-delivery")
            && len <= usize::from(u16::MAX)
            && LEN + len <= free.len();
        let Some(pushed) = pushed.filter(|_| fits) else {
            // No queue, or no room in it: straight to the device.
            return match out {
                Out::Token(t) => t.consume(len, f),
                Out::Device(d, ts) => match d.transmit(ts) {
                    Some(t) => t.consume(len, f),
                    // Not reachable: a token that must ask the device is only made with room
                    // in the queue for a whole device-MTU frame, and smoltcp asks for no more.
                    // Give what there is rather than fail (the frame is lost).
                    None => {
                        let n = free.len().min(len);
                        f(&mut free[..n])
                    }
                },
            };
        };
        let (hdr, body) = free.split_at_mut(LEN);
        let frame = &mut body[..len];
        let r = f(frame);
        if is_local(frame, medium, mac, addrs) {
            // `len` fits in u16 (checked above).
            hdr.copy_from_slice(&(len as u16).to_be_bytes());
            *pushed = LEN + len;
            return r;
        }
        match out {
            Out::Token(t) => t.consume(len, |buf| crate::copy::copy(buf, frame)),
            Out::Device(d, ts) => {
                if let Some(t) = d.transmit(ts) {
                    t.consume(len, |buf| crate::copy::copy(buf, frame));
                }
            }
        }
        r
    }

    fn set_meta(&mut self, meta: phy::PacketMeta) {
        if let Out::Token(t) = &mut self.out {
            t.set_meta(meta);
        }
    }
}

/// Whether `frame` is for this stack (see the module docs).
fn is_local(
    frame: &[u8],
    medium: Medium,
    mac: Option<EthernetAddress>,
    addrs: &[IpAddress],
) -> bool {
    match medium {
        Medium::Ethernet => {
            use smoltcp::wire::{EthernetFrame, EthernetProtocol};
            let Ok(eth) = EthernetFrame::new_checked(frame) else {
                return false;
            };
            if mac.is_some_and(|m| m == eth.dst_addr()) {
                return true;
            }
            match eth.ethertype() {
                EthernetProtocol::Arp => arp_for_us(eth.payload(), addrs),
                EthernetProtocol::Ipv4 | EthernetProtocol::Ipv6 => ip_for_us(eth.payload(), addrs),
                _ => false,
            }
        }
        #[cfg(feature = "medium-ip")]
        Medium::Ip => ip_for_us(frame, addrs),
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// An ARP request for one of `addrs`.
fn arp_for_us(packet: &[u8], addrs: &[IpAddress]) -> bool {
    use smoltcp::wire::{ArpOperation, ArpPacket, ArpRepr};
    let Ok(arp) = ArpPacket::new_checked(packet) else {
        return false;
    };
    match ArpRepr::parse(&arp) {
        Ok(ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            target_protocol_addr,
            ..
        }) => addrs.contains(&IpAddress::Ipv4(target_protocol_addr)),
        _ => false,
    }
}

/// An IP packet to one of `addrs`, or (IPv6) a neighbour solicitation for one of them.
fn ip_for_us(packet: &[u8], addrs: &[IpAddress]) -> bool {
    match packet.first().map(|b| b >> 4) {
        Some(4) => {
            use smoltcp::wire::Ipv4Packet;
            Ipv4Packet::new_checked(packet)
                .is_ok_and(|p| addrs.contains(&IpAddress::Ipv4(p.dst_addr())))
        }
        #[cfg(feature = "proto-ipv6")]
        Some(6) => {
            use smoltcp::wire::{Icmpv6Message, Icmpv6Packet, IpProtocol, Ipv6Packet};
            let Ok(p) = Ipv6Packet::new_checked(packet) else {
                return false;
            };
            if addrs.contains(&IpAddress::Ipv6(p.dst_addr())) {
                return true;
            }
            if p.next_header() != IpProtocol::Icmpv6 {
                return false;
            }
            let Ok(icmp) = Icmpv6Packet::new_checked(p.payload()) else {
                return false;
            };
            icmp.msg_type() == Icmpv6Message::NeighborSolicit
                && addrs.contains(&IpAddress::Ipv6(icmp.target_addr()))
        }
        _ => false,
    }
}
