//! Hand-built Ethernet/IPv4/TCP frames, well-formed or deliberately malformed, and a parser
//! for the replies: the wire-level bad-input cases, the fuzz targets and their seed corpora
//! use these. Checksums are computed unless a builder is told otherwise.

/// TCP flag bits.
pub mod flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// Ethernet type of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Ethernet type of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;

/// The Internet checksum (RFC 1071) of `data`, starting from `initial` (a partial sum).
pub fn checksum(initial: u32, data: &[u8]) -> u16 {
    let mut sum = initial;
    for pair in data.chunks(2) {
        let hi = pair.first().copied().unwrap_or(0);
        let lo = pair.get(1).copied().unwrap_or(0);
        sum += u32::from(u16::from_be_bytes([hi, lo]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An Ethernet frame.
pub fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An IPv4 packet (IHL 5, no options, TTL 64, don't-fragment) with a correct header checksum.
pub fn ipv4(src: [u8; 4], dst: [u8; 4], protocol: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()).min(usize::from(u16::MAX)) as u16;
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[6] = 0x40;
    h[8] = 64;
    h[9] = protocol;
    h[12..16].copy_from_slice(&src);
    h[16..20].copy_from_slice(&dst);
    let sum = checksum(0, &h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut p = h.to_vec();
    p.extend_from_slice(payload);
    p
}

/// A TCP segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tcp {
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flag bits ([`flags`]).
    pub flags: u8,
    /// Advertised window.
    pub window: u16,
    /// TCP options (padded with zeros, end of option list, to a multiple of 4 bytes).
    pub options: Vec<u8>,
    /// Payload.
    pub payload: Vec<u8>,
}

impl Tcp {
    /// The segment's bytes (20-byte header and the options), checksum over the IPv4
    /// pseudo-header.
    pub fn bytes(&self) -> Vec<u8> {
        let words = self.options.len().div_ceil(4);
        let mut t = vec![0u8; 20 + 4 * words];
        t[20..20 + self.options.len()].copy_from_slice(&self.options);
        t[0..2].copy_from_slice(&self.sport.to_be_bytes());
        t[2..4].copy_from_slice(&self.dport.to_be_bytes());
        t[4..8].copy_from_slice(&self.seq.to_be_bytes());
        t[8..12].copy_from_slice(&self.ack.to_be_bytes());
        t[12] = ((5 + words) as u8) << 4;
        t[13] = self.flags;
        t[14..16].copy_from_slice(&self.window.to_be_bytes());
        t.extend_from_slice(&self.payload);
        let sum = tcp_checksum(self.src, self.dst, &t);
        t[16..18].copy_from_slice(&sum.to_be_bytes());
        t
    }

    /// The segment in an IPv4 packet in an Ethernet frame.
    pub fn frame(&self, dst_mac: [u8; 6], src_mac: [u8; 6]) -> Vec<u8> {
        ethernet(
            dst_mac,
            src_mac,
            ETHERTYPE_IPV4,
            &ipv4(self.src, self.dst, 6, &self.bytes()),
        )
    }
}

/// The TCP checksum of `segment` (checksum field included as is) over the IPv4 pseudo-header.
pub fn tcp_checksum(src: [u8; 4], dst: [u8; 4], segment: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(segment.len() as u16).to_be_bytes());
    let partial = !checksum(0, &pseudo);
    checksum(u32::from(partial), segment)
}

/// An ARP reply telling `to` that `ip` is at `mac`.
pub fn arp_reply(mac: [u8; 6], ip: [u8; 4], to_mac: [u8; 6], to_ip: [u8; 4]) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 2];
    a.extend_from_slice(&mac);
    a.extend_from_slice(&ip);
    a.extend_from_slice(&to_mac);
    a.extend_from_slice(&to_ip);
    ethernet(to_mac, mac, ETHERTYPE_ARP, &a)
}

/// An ARP request (broadcast) from `mac`/`ip` asking for `target`.
pub fn arp_request(mac: [u8; 6], ip: [u8; 4], target: [u8; 4]) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
    a.extend_from_slice(&mac);
    a.extend_from_slice(&ip);
    a.extend_from_slice(&[0; 6]);
    a.extend_from_slice(&target);
    ethernet([0xff; 6], mac, ETHERTYPE_ARP, &a)
}

/// An ARP request in `frame`: (sender MAC, sender IP, target IP).
pub fn parse_arp_request(frame: &[u8]) -> Option<([u8; 6], [u8; 4], [u8; 4])> {
    if frame.get(12..14)? != ETHERTYPE_ARP.to_be_bytes() || frame.get(20..22)? != [0, 1] {
        return None;
    }
    Some((
        frame.get(22..28)?.try_into().ok()?,
        frame.get(28..32)?.try_into().ok()?,
        frame.get(38..42)?.try_into().ok()?,
    ))
}

/// A TCP segment in an Ethernet/IPv4 frame (`None` if the frame is anything else or
/// malformed).
pub fn parse_tcp(frame: &[u8]) -> Option<Tcp> {
    if frame.get(12..14)? != ETHERTYPE_IPV4.to_be_bytes() {
        return None;
    }
    let ip = frame.get(14..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    if *ip.get(9)? != 6 || ihl < 20 || total < ihl {
        return None;
    }
    let t = ip.get(ihl..total)?;
    let off = usize::from(t.get(12)? >> 4) * 4;
    let be16 = |i: usize| -> Option<u16> { Some(u16::from_be_bytes([*t.get(i)?, *t.get(i + 1)?])) };
    let be32 =
        |i: usize| -> Option<u32> { Some(u32::from_be_bytes(t.get(i..i + 4)?.try_into().ok()?)) };
    Some(Tcp {
        src: ip.get(12..16)?.try_into().ok()?,
        dst: ip.get(16..20)?.try_into().ok()?,
        sport: be16(0)?,
        dport: be16(2)?,
        seq: be32(4)?,
        ack: be32(8)?,
        flags: *t.get(13)?,
        window: be16(14)?,
        options: t.get(20..off)?.to_vec(),
        payload: t.get(off..)?.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_frames_parse_back_and_checksums_verify() {
        let seg = Tcp {
            src: [127, 0, 0, 2],
            dst: [127, 0, 0, 1],
            sport: 40000,
            dport: 80,
            seq: 1000,
            ack: 0,
            flags: flags::SYN,
            window: 4096,
            options: vec![1, 3, 3, 7],
            payload: b"odd".to_vec(),
        };
        let f = seg.frame([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        assert_eq!(parse_tcp(&f), Some(seg.clone()));
        assert_eq!(checksum(0, &f[14..34]), 0, "IPv4 header checksum");
        assert_eq!(tcp_checksum(seg.src, seg.dst, &f[34..]), 0, "TCP checksum");
        assert_eq!(parse_tcp(&f[..40]), None, "truncated");
        let arp = arp_reply([2; 6], [1, 2, 3, 4], [3; 6], [5, 6, 7, 8]);
        assert_eq!(arp.len(), 42);
        assert_eq!(parse_arp_request(&arp), None, "a reply is not a request");
    }
}
