//! ICMP echo ("ping") over a raw socket, written once over [`Stack::raw_socket`].
//!
//! Builds ICMPv4 echo requests (type 8, checksum computed here) and ICMPv6 ones (type 128, the
//! stack computes the checksum, per the raw-socket contract in `unisock::RawSocket`), and
//! matches echo replies by identifier and sequence number. IPv4 replies arrive with their IP
//! header, from which the TTL is read; IPv6 replies arrive without it (no hop limit shown).
//!
//! Not supported: options such as record-route, flooding, setting the TTL of requests,
//! IPv6 extension headers, and ICMP error reports (destination unreachable, time exceeded)
//! are ignored rather than shown.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use unisock::Error as _;
use unisock::{Domain, ErrorKind, Protocol, RawSocket, RecvFlags, SockOpt, Stack};

const ICMPV4_ECHO_REQUEST: u8 = 8;
const ICMPV4_ECHO_REPLY: u8 = 0;
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;

/// How to ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingConfig {
    /// Echo requests to send.
    pub count: u32,
    /// Time between requests.
    pub interval: Duration,
    /// How long to wait for replies after the last request.
    pub timeout: Duration,
    /// Bytes of data after the 8-byte ICMP header.
    pub payload_len: usize,
    /// The ICMP identifier (ping(8) uses its process id).
    pub ident: u16,
}

/// One echo reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// Who answered.
    pub from: IpAddr,
    /// ICMP bytes received (header and data, as ping(8) counts them).
    pub icmp_len: usize,
    /// The sequence number (from 1).
    pub seq: u16,
    /// The reply's TTL (IPv4 only: IPv6 raw sockets do not see the hop limit).
    pub ttl: Option<u8>,
    /// Round-trip time.
    pub rtt: Duration,
}

/// The summary ping(8) prints at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Requests sent.
    pub transmitted: u32,
    /// Distinct replies received (duplicates are not counted).
    pub received: u32,
    /// Shortest round trip.
    pub min: Option<Duration>,
    /// Longest round trip.
    pub max: Option<Duration>,
    /// Sum of the round trips (for the average).
    pub total: Duration,
}

impl Stats {
    /// Percentage of requests without a reply.
    pub fn loss_percent(&self) -> f64 {
        if self.transmitted == 0 {
            return 0.0;
        }
        100.0 * f64::from(self.transmitted - self.received.min(self.transmitted))
            / f64::from(self.transmitted)
    }

    /// Mean round trip.
    pub fn avg(&self) -> Option<Duration> {
        (self.received > 0).then(|| self.total / self.received)
    }
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request for `domain` (header and `payload_len` bytes of data). The ICMPv4 checksum
/// is filled in; ICMPv6's is left 0 for the stack.
pub fn echo_request(domain: Domain, ident: u16, seq: u16, payload_len: usize) -> Vec<u8> {
    let kind = match domain {
        Domain::Ipv6 => ICMPV6_ECHO_REQUEST,
        _ => ICMPV4_ECHO_REQUEST,
    };
    let mut packet = vec![kind, 0, 0, 0];
    packet.extend_from_slice(&ident.to_be_bytes());
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend((0..payload_len).map(|i| (i % 256) as u8));
    if domain == Domain::Ipv4 {
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    packet
}

/// A parsed echo reply: identifier, sequence number, ICMP length and TTL (IPv4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedReply {
    /// ICMP identifier.
    pub ident: u16,
    /// ICMP sequence number.
    pub seq: u16,
    /// ICMP bytes (header and data).
    pub icmp_len: usize,
    /// TTL from the IPv4 header.
    pub ttl: Option<u8>,
}

/// Parse what a raw socket of `domain` received; `None` for anything that is not a
/// well-formed echo reply (requests, errors, other protocols, bad checksums, short packets).
pub fn parse_reply(domain: Domain, packet: &[u8]) -> Option<ParsedReply> {
    let (icmp, ttl, reply_type) = match domain {
        Domain::Ipv6 => (packet, None, ICMPV6_ECHO_REPLY),
        _ => {
            let first = *packet.first()?;
            if first >> 4 != 4 {
                return None;
            }
            let ihl = usize::from(first & 0x0f) * 4;
            if ihl < 20 || *packet.get(9)? != Protocol::ICMP.0 {
                return None;
            }
            let total = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
            let end = total.clamp(ihl, packet.len());
            let icmp = packet.get(ihl..end)?;
            if checksum(icmp) != 0 {
                return None;
            }
            (icmp, Some(*packet.get(8)?), ICMPV4_ECHO_REPLY)
        }
    };
    if icmp.len() < 8 || icmp[0] != reply_type || icmp[1] != 0 {
        return None;
    }
    Some(ParsedReply {
        ident: u16::from_be_bytes([icmp[4], icmp[5]]),
        seq: u16::from_be_bytes([icmp[6], icmp[7]]),
        icmp_len: icmp.len(),
        ttl,
    })
}

/// Ping `target`: open a raw socket for its family and [`ping_with`] it. Fails only if the raw
/// socket cannot be created or used (`PermissionDenied` without `CAP_NET_RAW` on the kernel
/// backend); missing replies are in the returned [`Stats`].
pub fn ping<S: Stack>(
    stack: &S,
    target: IpAddr,
    config: &PingConfig,
    on_reply: impl FnMut(&Reply, bool),
) -> Result<Stats, S::Error> {
    let mut raw = open_raw(stack, target)?;
    ping_with(&mut raw, target, config, on_reply)
}

/// A raw ICMP (IPv4) or ICMPv6 (IPv6) socket for pinging `target`.
pub fn open_raw<S: Stack>(stack: &S, target: IpAddr) -> Result<S::RawSocket, S::Error> {
    let domain = Domain::of_ip(&target);
    let protocol = match domain {
        Domain::Ipv6 => Protocol::ICMPV6,
        _ => Protocol::ICMP,
    };
    stack.raw_socket(domain, protocol)
}

/// Send `config.count` echo requests to `target` over `raw`, `config.interval` apart, and
/// collect the replies, calling `on_reply` for each (duplicates included, flagged by the
/// `bool`). Waits `config.timeout` after the last request.
pub fn ping_with<R: RawSocket>(
    raw: &mut R,
    target: IpAddr,
    config: &PingConfig,
    mut on_reply: impl FnMut(&Reply, bool),
) -> Result<Stats, R::Error> {
    let domain = Domain::of_ip(&target);
    let mut stats = Stats::default();
    let mut sent_at: Vec<Instant> = Vec::new();
    let mut answered: Vec<bool> = Vec::new();
    let mut buf = vec![0u8; 65536];
    let count = config.count.min(u32::from(u16::MAX));
    for i in 0..count {
        // Sequence numbers start at 1, as ping(8)'s do; `count` fits in u16.
        let seq = (i + 1) as u16;
        let request = echo_request(domain, config.ident, seq, config.payload_len);
        let now = Instant::now();
        raw.send_to(&request, target)?;
        sent_at.push(now);
        answered.push(false);
        stats.transmitted += 1;
        let wait = if i + 1 == count {
            config.timeout
        } else {
            config.interval
        };
        let deadline = now + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // A zero read timeout means "wait forever" to the kernel: stop before that.
            if left < Duration::from_millis(1) {
                break;
            }
            raw.set_option(SockOpt::ReadTimeout(Some(left)))?;
            let meta = match raw.recv_from(&mut buf, RecvFlags::NONE) {
                Ok(meta) => meta,
                Err(e)
                    if matches!(e.socket_kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) =>
                {
                    break;
                }
                Err(e) => return Err(e),
            };
            let Some(parsed) = buf.get(..meta.len).and_then(|p| parse_reply(domain, p)) else {
                continue;
            };
            if parsed.ident != config.ident || meta.from != target {
                continue;
            }
            let index = usize::from(parsed.seq).wrapping_sub(1);
            let (Some(t0), Some(seen)) = (sent_at.get(index), answered.get_mut(index)) else {
                continue;
            };
            let rtt = t0.elapsed();
            let duplicate = *seen;
            if !duplicate {
                *seen = true;
                stats.received += 1;
                stats.total += rtt;
                stats.min = Some(stats.min.map_or(rtt, |m| m.min(rtt)));
                stats.max = Some(stats.max.map_or(rtt, |m| m.max(rtt)));
            }
            let reply = Reply {
                from: meta.from,
                icmp_len: parsed.icmp_len,
                seq: parsed.seq,
                ttl: parsed.ttl,
                rtt,
            };
            on_reply(&reply, duplicate);
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_rfc1071_example() {
        // RFC 1071 section 3: the sum of these words is 0xddf2, so the checksum is !0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
        assert_eq!(checksum(&[0xff]), !0xff00);
    }

    #[test]
    fn request_and_reply_round_trip() {
        let request = echo_request(Domain::Ipv4, 0x1234, 7, 56);
        assert_eq!(request.len(), 64);
        assert_eq!(checksum(&request), 0);
        // Turn it into the reply a peer would send, wrapped in an IPv4 header.
        let mut icmp = request.clone();
        icmp[0] = ICMPV4_ECHO_REPLY;
        icmp[2..4].copy_from_slice(&[0, 0]);
        let sum = checksum(&icmp);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());
        let total = (20 + icmp.len()) as u16;
        let mut packet = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 63, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        packet[2..4].copy_from_slice(&total.to_be_bytes());
        packet.extend_from_slice(&icmp);
        let parsed = parse_reply(Domain::Ipv4, &packet).unwrap();
        assert_eq!(
            parsed,
            ParsedReply {
                ident: 0x1234,
                seq: 7,
                icmp_len: 64,
                ttl: Some(63)
            }
        );
        // Our own request (as a raw socket on loopback sees it) is not a reply.
        let mut own = packet.clone();
        own[20..].copy_from_slice(&request);
        assert_eq!(parse_reply(Domain::Ipv4, &own), None);
        // A corrupted reply is dropped, a truncated one too.
        packet[30] ^= 0xff;
        assert_eq!(parse_reply(Domain::Ipv4, &packet), None);
        assert_eq!(parse_reply(Domain::Ipv4, &packet[..22]), None);
        assert_eq!(parse_reply(Domain::Ipv4, &[]), None);
        // IPv6: payload only.
        let mut v6 = echo_request(Domain::Ipv6, 9, 3, 8);
        assert_eq!(v6[0], ICMPV6_ECHO_REQUEST);
        v6[0] = ICMPV6_ECHO_REPLY;
        assert_eq!(
            parse_reply(Domain::Ipv6, &v6),
            Some(ParsedReply {
                ident: 9,
                seq: 3,
                icmp_len: 16,
                ttl: None
            })
        );
    }

    #[test]
    fn loss_and_average() {
        let s = Stats {
            transmitted: 4,
            received: 3,
            min: Some(Duration::from_millis(1)),
            max: Some(Duration::from_millis(3)),
            total: Duration::from_millis(6),
        };
        assert_eq!(s.loss_percent(), 25.0);
        assert_eq!(s.avg(), Some(Duration::from_millis(2)));
        assert_eq!(Stats::default().avg(), None);
    }
}
