//! TAP offloads: the `virtio_net_hdr` framing of `IFF_VNET_HDR`, TCP segment coalescing on
//! transmit (TSO towards the kernel) and checksum handling on receive. Pure byte work, no
//! system calls; [`crate::TapDevice`] does the I/O.
//!
//! **Transmit.** smoltcp emits one TCP segment per frame (at most the peer's MSS). Consecutive
//! segments of one connection (same Ethernet and IP addresses, same ports, contiguous sequence
//! numbers, equal payload sizes except a shorter last one, no SYN/FIN/RST/URG) are merged into
//! one frame of up to 64 KiB with a `virtio_net_hdr` asking for TCP segmentation
//! (`GSO_TCPV4`/`GSO_TCPV6`, `gso_size` = the segment size) and checksum completion
//! (`NEEDS_CSUM`): the kernel then handles one packet instead of dozens. The merged frame
//! carries the newest acknowledgement number and window of its segments (both only move
//! forward, so every resulting segment stays valid). Anything else is written as it came,
//! with an empty header.
//!
//! **Receive.** The kernel may hand over TCP super-frames (TSO) of up to 64 KiB with a partial
//! checksum (`NEEDS_CSUM`): such frames come from the host's own stack and never crossed a
//! wire, so their TCP/UDP checksum is not verified; every other frame's TCP/UDP checksum is
//! verified here (smoltcp's own verification is turned off for TCP and UDP on this device),
//! and a frame with a bad one is dropped.
//!
//! Not supported: UDP segmentation offload (`TUN_F_USO*`), ECN with TSO, IPv4 options in
//! coalesced frames (such frames are sent unmerged).

/// Size of `struct virtio_net_hdr` (the tun default `TUNSETVNETHDRSZ`).
pub(crate) const VNET_HDR: usize = 10;
/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`.
const F_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_F_DATA_VALID`.
const F_DATA_VALID: u8 = 2;
/// `VIRTIO_NET_HDR_GSO_TCPV4`.
const GSO_TCPV4: u8 = 1;
/// `VIRTIO_NET_HDR_GSO_TCPV6`.
const GSO_TCPV6: u8 = 4;

const ETH: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
/// Largest coalesced frame: an IP packet of at most 65535 bytes plus the Ethernet header.
pub(crate) const MAX_FRAME: usize = ETH + 65535;
/// TCP flags that end a run (FIN, SYN, RST, URG).
const TCP_BREAK_FLAGS: u8 = 0x01 | 0x02 | 0x04 | 0x20;
const TCP_PSH: u8 = 0x08;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// The one's-complement sum of `data` (not folded, not inverted), added to `acc`.
fn sum(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let (s, carry) = acc.overflowing_add(v);
        acc = s + u64::from(carry);
    }
    let rest = chunks.remainder();
    let mut tail = [0u8; 8];
    tail[..rest.len()].copy_from_slice(rest);
    let v = u64::from_be_bytes(tail);
    let (s, carry) = acc.overflowing_add(v);
    s + u64::from(carry)
}

fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Where a frame's layers start, for IPv4/IPv6 frames carrying TCP or UDP.
#[derive(Debug, Clone, Copy)]
struct Layout {
    v6: bool,
    /// Offset of the transport header.
    l4: usize,
    proto: u8,
    /// End of the IP packet in the frame.
    end: usize,
}

fn layout(frame: &[u8]) -> Option<Layout> {
    match be16(frame, 12)? {
        ETHERTYPE_IPV4 => {
            let vihl = *frame.get(ETH)?;
            let ihl = usize::from(vihl & 0x0f) * 4;
            if vihl >> 4 != 4 || ihl < 20 {
                return None;
            }
            let total = usize::from(be16(frame, ETH + 2)?);
            let frag = be16(frame, ETH + 6)?;
            // Fragments (offset or more-fragments set) have no whole transport header.
            if frag & 0x3fff != 0 || total < ihl || ETH + total > frame.len() {
                return None;
            }
            Some(Layout {
                v6: false,
                l4: ETH + ihl,
                proto: *frame.get(ETH + 9)?,
                end: ETH + total,
            })
        }
        ETHERTYPE_IPV6 => {
            let payload = usize::from(be16(frame, ETH + 4)?);
            if ETH + 40 + payload > frame.len() {
                return None;
            }
            // Extension headers are not followed: only TCP/UDP right after the fixed header.
            Some(Layout {
                v6: true,
                l4: ETH + 40,
                proto: *frame.get(ETH + 6)?,
                end: ETH + 40 + payload,
            })
        }
        _ => None,
    }
}

/// The pseudo-header sum of a frame's IP packet for a transport length of `l4_len`.
fn pseudo(frame: &[u8], lay: &Layout, l4_len: usize) -> Option<u64> {
    let addrs = if lay.v6 {
        frame.get(ETH + 8..ETH + 40)?
    } else {
        frame.get(ETH + 12..ETH + 20)?
    };
    let mut acc = sum(0, addrs);
    acc += u64::from(lay.proto);
    acc += l4_len as u64;
    Some(acc)
}

/// Whether a received frame (after its `virtio_net_hdr`, given as `hdr`) may be handed to
/// smoltcp, whose TCP/UDP checksum verification is off on an offloading device: frames the
/// kernel marks `NEEDS_CSUM` (built by this host) or `DATA_VALID` pass; other TCP/UDP frames
/// pass only with a correct checksum; frames of other protocols always pass (smoltcp checks
/// them itself).
pub(crate) fn rx_accept(hdr: &[u8], frame: &[u8]) -> bool {
    let flags = hdr.first().copied().unwrap_or(0);
    if flags & (F_NEEDS_CSUM | F_DATA_VALID) != 0 {
        return true;
    }
    let Some(lay) = layout(frame) else {
        return true;
    };
    let Some(l4) = frame.get(lay.l4..lay.end) else {
        return false;
    };
    match lay.proto {
        PROTO_TCP => {}
        PROTO_UDP => {
            // A zero UDP checksum over IPv4 means "none".
            if !lay.v6 && be16(l4, 6) == Some(0) {
                return true;
            }
        }
        _ => return true,
    }
    match pseudo(frame, &lay, l4.len()) {
        Some(p) => fold(sum(p, l4)) == 0xffff,
        None => false,
    }
}

/// A coalesced TCP frame being built from consecutive segments.
#[derive(Debug)]
pub(crate) struct Coalescer {
    /// `VNET_HDR` bytes of header room, then the frame.
    buf: Vec<u8>,
    /// Frame bytes in `buf` after the header room (0: nothing pending).
    len: usize,
    lay: Option<Layout>,
    /// Header bytes (Ethernet + IP + TCP) of the frame.
    hdr_len: usize,
    /// Payload bytes of the first segment: the segment size.
    segment: usize,
    segments: usize,
    /// Sequence number the next segment must have.
    next_seq: u32,
    /// Whether the last appended segment was shorter than `segment` (the run is over).
    closed: bool,
}

/// What to write to the TAP descriptor: `VNET_HDR` bytes of header then the frame.
pub(crate) type Out<'a> = &'a [u8];

impl Coalescer {
    pub(crate) fn new() -> Coalescer {
        Coalescer {
            buf: vec![0u8; VNET_HDR + MAX_FRAME],
            len: 0,
            lay: None,
            hdr_len: 0,
            segment: 0,
            segments: 0,
            next_seq: 0,
            closed: false,
        }
    }

    /// Whether a frame is waiting.
    pub(crate) fn pending(&self) -> bool {
        self.len > 0
    }

    /// The TCP data segment `frame` describes: (layout, header length, payload length,
    /// sequence number), if it is one that can be coalesced.
    fn segment_of(frame: &[u8]) -> Option<(Layout, usize, usize, u32)> {
        let lay = layout(frame)?;
        if lay.proto != PROTO_TCP || (!lay.v6 && lay.l4 != ETH + 20) {
            return None;
        }
        let doff = usize::from(*frame.get(lay.l4 + 12)? >> 4) * 4;
        let flags = *frame.get(lay.l4 + 13)?;
        if doff < 20 || flags & TCP_BREAK_FLAGS != 0 || flags & 0x10 == 0 {
            return None;
        }
        let hdr_len = lay.l4 + doff;
        let payload = lay.end.checked_sub(hdr_len)?;
        if payload == 0 {
            return None;
        }
        Some((lay, hdr_len, payload, be32(frame, lay.l4 + 4)?))
    }

    /// Whether `frame` continues the pending run.
    fn continues(
        &self,
        frame: &[u8],
        lay: &Layout,
        hdr_len: usize,
        payload: usize,
        seq: u32,
    ) -> bool {
        let Some(cur) = &self.lay else { return false };
        let pend = &self.buf[VNET_HDR..VNET_HDR + self.len];
        !self.closed
            && cur.v6 == lay.v6
            && hdr_len == self.hdr_len
            && seq == self.next_seq
            && payload <= self.segment
            && self.len + payload <= MAX_FRAME
            // Same MACs and ethertype; same addresses; same ports.
            && pend.get(..ETH) == frame.get(..ETH)
            && if lay.v6 {
                pend.get(ETH + 8..ETH + 40) == frame.get(ETH + 8..ETH + 40)
            } else {
                pend.get(ETH + 12..ETH + 20) == frame.get(ETH + 12..ETH + 20)
            }
            && pend.get(lay.l4..lay.l4 + 4) == frame.get(lay.l4..lay.l4 + 4)
            // Same options length (checked by hdr_len) and no shorter segment before.
            && self.segments * self.segment + self.hdr_len == self.len
    }

    /// Offer a frame smoltcp wants sent. Calls `write` with what must be written now (the
    /// pending frame if `frame` does not continue it, and/or `frame` itself if it cannot be
    /// coalesced); a coalescable frame is kept until [`Coalescer::flush`].
    pub(crate) fn push(&mut self, frame: &[u8], mut write: impl FnMut(Out<'_>)) {
        let seg = Self::segment_of(frame);
        if let Some((lay, hdr_len, payload, seq)) = seg {
            if self.pending() && self.continues(frame, &lay, hdr_len, payload, seq) {
                let start = VNET_HDR + self.len;
                self.buf[start..start + payload]
                    .copy_from_slice(&frame[hdr_len..hdr_len + payload]);
                self.len += payload;
                self.segments += 1;
                self.next_seq = seq.wrapping_add(payload as u32);
                self.closed = payload < self.segment;
                // Newest acknowledgement number and window; PSH if any segment had it.
                let l4 = VNET_HDR + lay.l4;
                self.buf[l4 + 8..l4 + 12].copy_from_slice(&frame[lay.l4 + 8..lay.l4 + 12]);
                self.buf[l4 + 14..l4 + 16].copy_from_slice(&frame[lay.l4 + 14..lay.l4 + 16]);
                self.buf[l4 + 13] |= frame[lay.l4 + 13] & TCP_PSH;
                if self.closed {
                    self.flush(&mut write);
                }
                return;
            }
            self.flush(&mut write);
            if frame.len() <= MAX_FRAME {
                self.buf[VNET_HDR..VNET_HDR + frame.len()].copy_from_slice(frame);
                self.len = frame.len();
                self.lay = Some(lay);
                self.hdr_len = hdr_len;
                self.segment = payload;
                self.segments = 1;
                self.next_seq = seq.wrapping_add(payload as u32);
                self.closed = false;
                return;
            }
        }
        self.flush(&mut write);
        // Not coalescable: as it came, with an empty header.
        let n = frame.len().min(MAX_FRAME);
        self.buf[..VNET_HDR].fill(0);
        self.buf[VNET_HDR..VNET_HDR + n].copy_from_slice(&frame[..n]);
        write(&self.buf[..VNET_HDR + n]);
    }

    /// Write the pending frame, if any: one segment as it came (its checksum is complete), or
    /// a merged frame with its lengths fixed, a partial checksum and a GSO header.
    pub(crate) fn flush(&mut self, mut write: impl FnMut(Out<'_>)) {
        if self.len == 0 {
            return;
        }
        let len = self.len;
        self.len = 0;
        let Some(lay) = self.lay.take() else { return };
        let hdr = &mut self.buf[..VNET_HDR];
        hdr.fill(0);
        if self.segments > 1 {
            let f = VNET_HDR;
            let end = f + len;
            if lay.v6 {
                let payload = (len - ETH - 40) as u16;
                self.buf[f + ETH + 4..f + ETH + 6].copy_from_slice(&payload.to_be_bytes());
            } else {
                let total = (len - ETH) as u16;
                self.buf[f + ETH + 2..f + ETH + 4].copy_from_slice(&total.to_be_bytes());
                self.buf[f + ETH + 10..f + ETH + 12].fill(0);
                let c = !fold(sum(0, &self.buf[f + ETH..f + lay.l4]));
                self.buf[f + ETH + 10..f + ETH + 12].copy_from_slice(&c.to_be_bytes());
            }
            let l4_len = end - (f + lay.l4);
            let frame = &self.buf[f..end];
            let lay_now = Layout { end: len, ..lay };
            let p = pseudo(frame, &lay_now, l4_len).map_or(0, fold);
            // Partial checksum: the pseudo-header sum, not inverted (the kernel adds the rest).
            self.buf[f + lay.l4 + 16..f + lay.l4 + 18].copy_from_slice(&p.to_be_bytes());
            let hdr = &mut self.buf[..VNET_HDR];
            hdr[0] = F_NEEDS_CSUM;
            hdr[1] = if lay.v6 { GSO_TCPV6 } else { GSO_TCPV4 };
            hdr[2..4].copy_from_slice(&(self.hdr_len as u16).to_ne_bytes());
            hdr[4..6].copy_from_slice(&(self.segment as u16).to_ne_bytes());
            hdr[6..8].copy_from_slice(&(lay.l4 as u16).to_ne_bytes());
            hdr[8..10].copy_from_slice(&16u16.to_ne_bytes());
        }
        write(&self.buf[..VNET_HDR + len]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet + IPv4 + TCP frame with `payload`, sequence `seq`, ACK flag, checksums
    /// complete.
    fn tcp4(seq: u32, ack: u32, payload: &[u8], flags: u8) -> Vec<u8> {
        let mut f = vec![0u8; ETH + 20 + 20];
        f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        f[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        let total = (40 + payload.len()) as u16;
        f[ETH] = 0x45;
        f[ETH + 2..ETH + 4].copy_from_slice(&total.to_be_bytes());
        f[ETH + 6] = 0x40;
        f[ETH + 8] = 64;
        f[ETH + 9] = PROTO_TCP;
        f[ETH + 12..ETH + 16].copy_from_slice(&[10, 0, 0, 2]);
        f[ETH + 16..ETH + 20].copy_from_slice(&[10, 0, 0, 1]);
        let c = !fold(sum(0, &f[ETH..ETH + 20]));
        f[ETH + 10..ETH + 12].copy_from_slice(&c.to_be_bytes());
        let t = ETH + 20;
        f[t..t + 2].copy_from_slice(&5000u16.to_be_bytes());
        f[t + 2..t + 4].copy_from_slice(&80u16.to_be_bytes());
        f[t + 4..t + 8].copy_from_slice(&seq.to_be_bytes());
        f[t + 8..t + 12].copy_from_slice(&ack.to_be_bytes());
        f[t + 12] = 5 << 4;
        f[t + 13] = flags;
        f[t + 14..t + 16].copy_from_slice(&1000u16.to_be_bytes());
        f.extend_from_slice(payload);
        let lay = layout(&f).unwrap();
        let p = pseudo(&f, &lay, f.len() - t).unwrap();
        let c = !fold(sum(p, &f[t..]));
        f[t + 16..t + 18].copy_from_slice(&c.to_be_bytes());
        f
    }

    fn collect(c: &mut Coalescer, frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for f in frames {
            c.push(f, |w| out.push(w.to_vec()));
        }
        c.flush(|w| out.push(w.to_vec()));
        out
    }

    #[test]
    fn a_run_of_segments_becomes_one_gso_frame() {
        let data: Vec<u8> = (0..3500u32).map(|i| (i % 251) as u8).collect();
        let frames = vec![
            tcp4(1000, 7, &data[..1448], 0x10),
            tcp4(2448, 8, &data[1448..2896], 0x10),
            tcp4(3896, 9, &data[2896..], 0x18),
        ];
        let mut c = Coalescer::new();
        let out = collect(&mut c, &frames);
        assert_eq!(out.len(), 1);
        let w = &out[0];
        let (h, f) = w.split_at(VNET_HDR);
        assert_eq!((h[0], h[1]), (F_NEEDS_CSUM, GSO_TCPV4));
        assert_eq!(u16::from_ne_bytes([h[2], h[3]]), 54);
        assert_eq!(u16::from_ne_bytes([h[4], h[5]]), 1448);
        assert_eq!(u16::from_ne_bytes([h[6], h[7]]), 34);
        assert_eq!(&f[54..], &data[..]);
        // Lengths and the IP checksum are right; the newest ACK and PSH are kept.
        assert_eq!(usize::from(be16(f, ETH + 2).unwrap()), 40 + 3500);
        assert_eq!(fold(sum(0, &f[ETH..ETH + 20])), 0xffff);
        assert_eq!(be32(f, 34 + 8), Some(9));
        assert_eq!(f[34 + 13] & TCP_PSH, TCP_PSH);
        // Completing the partial checksum as the kernel would gives a valid segment.
        let mut full = f.to_vec();
        let c = !fold(sum(0, &full[34..]));
        full[34 + 16..34 + 18].copy_from_slice(&c.to_be_bytes());
        assert!(rx_accept(&[0; VNET_HDR], &full));
    }

    #[test]
    fn non_contiguous_flagged_or_lone_segments_go_as_they_came() {
        let p = [7u8; 100];
        let frames = vec![
            tcp4(1, 0, &p, 0x10),
            tcp4(500, 0, &p, 0x10),   // gap: not contiguous
            tcp4(600, 0, &p, 0x11),   // FIN
            tcp4(2000, 0, &[], 0x10), // pure ACK
        ];
        let mut c = Coalescer::new();
        let out = collect(&mut c, &frames);
        assert_eq!(out.len(), 4);
        for (w, f) in out.iter().zip(&frames) {
            assert_eq!(&w[..VNET_HDR], &[0u8; VNET_HDR]);
            assert_eq!(&w[VNET_HDR..], &f[..]);
        }
        // A longer segment after a shorter one starts a new run too.
        let frames = vec![tcp4(1, 0, &p[..50], 0x10), tcp4(51, 0, &p, 0x10)];
        assert_eq!(collect(&mut c, &frames).len(), 2);
    }

    #[test]
    fn receive_checks_checksums_unless_the_kernel_vouches() {
        let mut f = tcp4(1, 2, b"hello", 0x18);
        assert!(rx_accept(&[0; VNET_HDR], &f));
        let last = f.len() - 1;
        f[last] ^= 0xff;
        assert!(!rx_accept(&[0; VNET_HDR], &f));
        let mut vouched = [0u8; VNET_HDR];
        vouched[0] = F_NEEDS_CSUM;
        assert!(rx_accept(&vouched, &f));
        vouched[0] = F_DATA_VALID;
        assert!(rx_accept(&vouched, &f));
        // Not IP: smoltcp decides.
        assert!(rx_accept(&[0; VNET_HDR], &[0u8; 20]));
    }
}
