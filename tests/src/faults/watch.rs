//! Watching TCP on the wire: counts segments and retransmissions (a segment carrying data,
//! SYN or FIN whose sequence number was already seen on that connection and direction).
//!
//! smoltcp exposes no retransmission counter, so [`Faulty`](super::Faulty) feeds every frame
//! it sees to a [`TcpWatch`] before any fault is applied. Frames that do not parse as
//! IPv4/IPv6 TCP (over Ethernet or raw IP) are ignored; parsing never panics.

use std::collections::HashSet;

use smoltcp::phy::Medium;

/// Connection-and-direction key: addresses (IPv4 mapped into 16 bytes) and ports.
type Key = ([u8; 16], [u8; 16], u16, u16);

/// What one TCP segment looked like, as far as the watch cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Sequence number.
    pub seq: u32,
    /// Payload length plus one for SYN and one for FIN (sequence space used).
    pub seq_len: u32,
    /// The RST flag.
    pub rst: bool,
    /// The SYN flag.
    pub syn: bool,
}

/// Counts TCP segments and retransmissions seen on one side of a wire.
#[derive(Debug, Default)]
pub struct TcpWatch {
    seen: HashSet<(Key, u32)>,
    /// TCP segments seen.
    pub segments: u64,
    /// Segments using sequence space whose sequence number was already seen.
    pub retransmissions: u64,
    /// Segments with RST.
    pub resets: u64,
}

impl TcpWatch {
    /// Look at one frame of `medium`.
    pub fn observe(&mut self, medium: Medium, frame: &[u8]) {
        let Some((key, seg)) = parse(medium, frame) else {
            return;
        };
        self.segments += 1;
        if seg.rst {
            self.resets += 1;
        }
        if seg.seq_len > 0 && !self.seen.insert((key, seg.seq)) {
            self.retransmissions += 1;
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Parse a TCP segment out of a frame; `None` if it is not well-formed IPv4/IPv6 TCP.
pub fn parse(medium: Medium, frame: &[u8]) -> Option<(Key, Segment)> {
    let ip = match medium {
        Medium::Ethernet => match be16(frame, 12)? {
            0x0800 | 0x86dd => frame.get(14..)?,
            _ => return None,
        },
        Medium::Ip => frame,
        #[allow(unreachable_patterns)]
        _ => return None,
    };
    let version = ip.first()? >> 4;
    let (src, dst, tcp) = match version {
        4 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(be16(ip, 2)?);
            if *ip.get(9)? != 6 || ihl < 20 || total < ihl {
                return None;
            }
            let mut src = [0u8; 16];
            let mut dst = [0u8; 16];
            src[12..].copy_from_slice(ip.get(12..16)?);
            dst[12..].copy_from_slice(ip.get(16..20)?);
            (src, dst, ip.get(ihl..total)?)
        }
        6 => {
            // Extension headers are not followed: smoltcp and Linux send none on plain TCP.
            if *ip.get(6)? != 6 {
                return None;
            }
            let len = usize::from(be16(ip, 4)?);
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            (src, dst, ip.get(40..40 + len)?)
        }
        _ => return None,
    };
    let offset = usize::from(tcp.get(12)? >> 4) * 4;
    if offset < 20 || offset > tcp.len() {
        return None;
    }
    let flags = *tcp.get(13)?;
    let (fin, syn, rst) = (flags & 1 != 0, flags & 2 != 0, flags & 4 != 0);
    let payload = u32::try_from(tcp.len() - offset).ok()?;
    let seg = Segment {
        seq: be32(tcp, 4)?,
        seq_len: payload + u32::from(syn) + u32::from(fin),
        rst,
        syn,
    };
    Some(((src, dst, be16(tcp, 0)?, be16(tcp, 2)?), seg))
}
