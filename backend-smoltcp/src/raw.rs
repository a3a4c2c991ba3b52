//! Raw IP sockets over smoltcp raw sockets, with the packet contract of `unisock::RawSocket`.
//!
//! Supported protocols: ICMP on IPv4 and ICMPv6 on IPv6 (the pool has
//! [`PoolConfig::raw`](crate::PoolConfig) of each); any other protocol is `Unsupported`.
//! `send_to` takes the ICMP message and builds the IP header (source chosen by routing, TTL
//! from [`SockOpt::Ttl`], default 64); for ICMPv6 it fills in the checksum. `recv_from` on IPv4
//! returns the whole packet (header included, as smoltcp re-serialises it); on IPv6 only the
//! payload. Every packet of the protocol is delivered, including ones the stack answers
//! itself (echo requests), and our own outgoing packets to a local address.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use smoltcp::phy::{ChecksumCapabilities, Device};
#[cfg(feature = "proto-ipv6")]
use smoltcp::wire::{Icmpv6Packet, Ipv6Packet, Ipv6Repr};
use smoltcp::wire::{IpProtocol, Ipv4Packet, Ipv4Repr};
use unisock::{Domain, Protocol, RecvFlags, RecvMeta, SockOpt, SockOptName};

use crate::clock::Clock;
use crate::drive::Limit;
use crate::error::{Error, Result};
use crate::slot::{Handle, Kind, timeout_value};
use crate::stack::{Inner, Stack};
use crate::wait::Wait;
use crate::wake::Dir;

const V4_HEADER: usize = 20;
const V6_HEADER: usize = 40;

/// The source of an IPv6 packet (unspecified if malformed).
#[cfg(feature = "proto-ipv6")]
fn v6_source(packet: &[u8]) -> IpAddr {
    Ipv6Packet::new_checked(packet)
        .map(|p| IpAddr::V6(p.src_addr()))
        .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
}

/// Without `proto-ipv6` there are no IPv6 raw sockets: never called.
#[cfg(not(feature = "proto-ipv6"))]
fn v6_source(_packet: &[u8]) -> IpAddr {
    IpAddr::V6(Ipv6Addr::UNSPECIFIED)
}

/// A raw ICMP or ICMPv6 socket.
pub struct RawSocket<'s, 'a, D: Device, C: Clock, W: Wait> {
    stack: &'s Stack<'a, D, C, W>,
    handle: Handle,
    v6: bool,
}

impl<D: Device, C: Clock, W: Wait> core::fmt::Debug for RawSocket<'_, '_, D, C, W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawSocket")
            .field("handle", &self.handle)
            .field("v6", &self.v6)
            .finish()
    }
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> RawSocket<'s, 'a, D, C, W> {
    pub(crate) fn open(
        stack: &'s Stack<'a, D, C, W>,
        domain: Domain,
        protocol: Protocol,
    ) -> Result<Self> {
        let (kind, v6) = match (domain, protocol) {
            (Domain::Ipv4, Protocol::ICMP) => (Kind::RawV4, false),
            #[cfg(feature = "proto-ipv6")]
            (Domain::Ipv6, Protocol::ICMPV6) => (Kind::RawV6, true),
            #[cfg(not(feature = "proto-ipv6"))]
            (Domain::Ipv6, _) => {
                return Err(Error::unsupported(
                    "IPv6 support not compiled in (feature proto-ipv6)",
                ));
            }
            (Domain::Unix, _) => return Err(Error::invalid("raw sockets need an IP domain")),
            _ => {
                return Err(Error::unsupported(
                    "smoltcp backend: raw sockets exist for ICMP (IPv4) and ICMPv6 only",
                ));
            }
        };
        let handle = stack.with(|g, now| {
            let h = g.alloc(kind, now)?;
            g.slot(h)?.v6 = v6;
            Ok(h)
        })?;
        Ok(RawSocket { stack, handle, v6 })
    }

    /// This socket's generation-checked handle.
    pub fn handle(&self) -> Handle {
        self.handle
    }

    fn build_and_send(
        g: &mut Inner<'a, D>,
        h: Handle,
        v6: bool,
        payload: &[u8],
        to: IpAddr,
    ) -> Result<usize> {
        g.check_route(&to, false)?;
        let src = g.source_for(&to)?;
        let mtu = g.ip_mtu();
        let (slot, s) = g.raw(h)?;
        let ttl = slot.opts.ttl.unwrap_or(64);
        let header = if v6 { V6_HEADER } else { V4_HEADER };
        let total = header + payload.len();
        if total > mtu || total > s.payload_send_capacity() {
            return Err(Error::invalid(
                "raw send: packet larger than the MTU or the send buffer",
            ));
        }
        if !s.can_send() {
            return Err(Error::would_block());
        }
        let buf = s.send(total).map_err(|_| Error::would_block())?;
        match (src, to) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let repr = Ipv4Repr {
                    src_addr: src,
                    dst_addr: dst,
                    next_header: IpProtocol::Icmp,
                    payload_len: payload.len(),
                    hop_limit: ttl,
                };
                let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
                repr.emit(&mut packet, &ChecksumCapabilities::default());
                buf[V4_HEADER..].copy_from_slice(payload);
            }
            #[cfg(feature = "proto-ipv6")]
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let repr = Ipv6Repr {
                    src_addr: src,
                    dst_addr: dst,
                    next_header: IpProtocol::Icmpv6,
                    payload_len: payload.len(),
                    hop_limit: ttl,
                };
                let mut packet = Ipv6Packet::new_unchecked(&mut buf[..]);
                repr.emit(&mut packet);
                buf[V6_HEADER..].copy_from_slice(payload);
                if payload.len() >= 4 {
                    let mut icmp = Icmpv6Packet::new_unchecked(&mut buf[V6_HEADER..]);
                    icmp.fill_checksum(&src, &dst);
                }
            }
            _ => {
                // Unreachable: the family was checked; fill with nothing routable. smoltcp
                // drops a malformed queued packet without panicking.
                buf.fill(0);
            }
        }
        Ok(payload.len())
    }

    fn try_recv_in(
        g: &mut Inner<'a, D>,
        h: Handle,
        v6: bool,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<IpAddr>> {
        if flags.contains(RecvFlags::OOB) || flags.contains(RecvFlags::WAITALL) {
            return Err(Error::unsupported("raw sockets take only the PEEK flag"));
        }
        let (_, s) = g.raw(h)?;
        let (full_len, from) = match s.peek() {
            Ok(packet) => {
                let (data, from) = if v6 {
                    (packet.get(V6_HEADER..).unwrap_or(&[]), v6_source(packet))
                } else {
                    let from = Ipv4Packet::new_checked(packet)
                        .map(|p| IpAddr::V4(p.src_addr()))
                        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
                    (packet, from)
                };
                let n = data.len().min(buf.len());
                crate::copy::copy(&mut buf[..n], &data[..n]);
                (data.len(), from)
            }
            Err(_) => return Err(Error::would_block()),
        };
        if !flags.contains(RecvFlags::PEEK) {
            let _ = s.recv();
        }
        Ok(RecvMeta {
            len: full_len.min(buf.len()),
            full_len,
            from,
        })
    }
}

impl<D: Device, C: Clock, W: Wait> RawSocket<'_, '_, D, C, W> {
    /// Async `send_to`: waits while the send buffer is full. Cancellation-safe.
    pub(crate) async fn send_to_async(&mut self, payload: &[u8], to: IpAddr) -> Result<usize> {
        if to.is_ipv6() != self.v6 {
            return Err(Error::invalid("address family differs from the socket's"));
        }
        if to.is_unspecified() {
            return Err(Error::invalid("raw send: unspecified destination"));
        }
        let (h, v6) = (self.handle, self.v6);
        let stack = self.stack;
        core::future::poll_fn(|cx| {
            stack.poll_op(
                cx,
                |g, w| g.register(h, Dir::Send, w),
                |g, _| Self::build_and_send(g, h, v6, payload, to),
            )
        })
        .await
    }

    /// Async `recv_from`. Cancellation-safe.
    pub(crate) async fn recv_from_async(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<IpAddr>> {
        let (h, v6) = (self.handle, self.v6);
        let stack = self.stack;
        core::future::poll_fn(|cx| {
            stack.poll_op(
                cx,
                |g, w| g.register(h, Dir::Recv, w),
                |g, _| Self::try_recv_in(g, h, v6, buf, flags),
            )
        })
        .await
    }
}

impl<D: Device, C: Clock, W: Wait> Drop for RawSocket<'_, '_, D, C, W> {
    fn drop(&mut self) {
        let h = self.handle;
        let _ = self.stack.with(|g, _| {
            g.release_dgram(h);
            Ok(())
        });
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::ErrorType for RawSocket<'_, '_, D, C, W> {
    type Error = Error;
}

impl<D: Device, C: Clock, W: Wait> unisock::Socket for RawSocket<'_, '_, D, C, W> {
    type Addr = IpAddr;

    fn local_addr(&self) -> Result<IpAddr> {
        Ok(if self.v6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        })
    }

    fn set_option(&mut self, option: SockOpt) -> Result<()> {
        self.stack.with(|g, _| {
            let slot = g.slot(self.handle)?;
            match option {
                SockOpt::Ttl(0) => Err(Error::invalid("TTL must be at least 1")),
                SockOpt::Ttl(v) => {
                    slot.opts.ttl = Some(v);
                    Ok(())
                }
                SockOpt::ReadTimeout(v) => {
                    slot.opts.read_timeout = timeout_value(v)?;
                    Ok(())
                }
                SockOpt::WriteTimeout(v) => {
                    slot.opts.write_timeout = v;
                    Ok(())
                }
                _ => Err(Error::unsupported("option not available on raw sockets")),
            }
        })
    }

    fn option(&self, name: SockOptName) -> Result<SockOpt> {
        self.stack.with(|g, _| {
            let (slot, s) = g.raw(self.handle)?;
            match name {
                SockOptName::Ttl => Ok(SockOpt::Ttl(slot.opts.ttl.unwrap_or(64))),
                SockOptName::ReadTimeout => Ok(SockOpt::ReadTimeout(slot.opts.read_timeout)),
                SockOptName::WriteTimeout => Ok(SockOpt::WriteTimeout(slot.opts.write_timeout)),
                SockOptName::RecvBufferSize => {
                    Ok(SockOpt::RecvBufferSize(s.payload_recv_capacity()))
                }
                SockOptName::SendBufferSize => {
                    Ok(SockOpt::SendBufferSize(s.payload_send_capacity()))
                }
                _ => Err(Error::unsupported("option not available on raw sockets")),
            }
        })
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::RawSocket for RawSocket<'_, '_, D, C, W> {
    fn send_to(&mut self, payload: &[u8], to: IpAddr) -> Result<usize> {
        if to.is_ipv6() != self.v6 {
            return Err(Error::invalid("address family differs from the socket's"));
        }
        if to.is_unspecified() {
            return Err(Error::invalid("raw send: unspecified destination"));
        }
        let (h, v6) = (self.handle, self.v6);
        self.stack.block(
            Limit::Write(h),
            "raw send: write timeout",
            |g, w| g.register(h, Dir::Send, w),
            |g, _| Self::build_and_send(g, h, v6, payload, to),
        )
    }

    fn recv_from(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<RecvMeta<IpAddr>> {
        let (h, v6) = (self.handle, self.v6);
        self.stack.block(
            Limit::Read(h),
            "raw recv: read timeout",
            |g, w| g.register(h, Dir::Recv, w),
            |g, _| Self::try_recv_in(g, h, v6, buf, flags),
        )
    }

    fn try_recv_from(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<RecvMeta<IpAddr>> {
        let (h, v6) = (self.handle, self.v6);
        self.stack
            .with(|g, _| Self::try_recv_in(g, h, v6, buf, flags))
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::poll::AsSource for RawSocket<'_, '_, D, C, W> {
    type Source = crate::Source;

    fn source(&self) -> crate::Source {
        crate::Source::Socket(self.handle)
    }
}
