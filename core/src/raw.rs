//! Raw IP sockets: send and receive packets of one IP protocol (ICMP is the usual case).
//!
//! The packet format is the same for every backend, and is Linux's (without `IP_HDRINCL`):
//!
//! - **send** takes the protocol payload (for ICMP: the ICMP header and data, checksum
//!   included for ICMPv4); the stack builds the IP header (source address chosen by routing,
//!   TTL from [`SockOpt::Ttl`](crate::SockOpt::Ttl)). For ICMPv6 the stack computes the
//!   checksum, as Linux does.
//! - **recv** on an IPv4 socket returns the whole IPv4 packet including its header; on an IPv6
//!   socket it returns the payload only (IPv6 raw sockets never see the header on Linux).
//!
//! Every packet of the socket's protocol is delivered to it, including ones the stack also
//! handles itself (an ICMP echo request still gets the stack's own reply).

use core::net::IpAddr;

use crate::{RecvFlags, RecvMeta, Socket};

/// A raw IP socket for one protocol. Its [`Socket::Addr`] is [`IpAddr`].
///
/// Packet format, the same on every backend (Linux's, without `IP_HDRINCL`): `send_to` takes
/// the protocol payload (ICMP header and data; the ICMPv4 checksum filled in by the caller, the
/// ICMPv6 one by the stack) and the stack builds the IP header; `recv_from` on an IPv4 socket
/// returns the whole IPv4 packet including its header, on an IPv6 socket the payload only.
pub trait RawSocket: Socket<Addr = IpAddr> {
    /// Send one packet's payload to `to` (format in the [trait docs](RawSocket)).
    fn send_to(&mut self, payload: &[u8], to: IpAddr) -> Result<usize, Self::Error>;

    /// Receive one packet, blocking (bounded by
    /// [`SockOpt::ReadTimeout`](crate::SockOpt::ReadTimeout)); truncation is reported as for
    /// datagrams.
    fn recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<IpAddr>, Self::Error>;

    /// As [`recv_from`](RawSocket::recv_from), failing with `WouldBlock` instead of waiting.
    fn try_recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<IpAddr>, Self::Error>;
}
