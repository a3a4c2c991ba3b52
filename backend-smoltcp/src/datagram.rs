//! UDP over smoltcp's UDP sockets.
//!
//! Binding with port 0 (and sending on an unbound socket) picks an ephemeral port no other
//! UDP socket uses. After `connect`, datagrams from other senders are dropped on receipt.
//! Truncation is reported BSD-style: the datagram is peeked first, so a short buffer gets the
//! first bytes and [`RecvMeta::full_len`](unisock::RecvMeta) the real length (smoltcp itself
//! would drop it). A datagram larger than the send buffer or than the device MTU allows (no
//! IP fragmentation) is refused with `InvalidInput`. `PEEK` works; `OOB` is `Unsupported`;
//! `DONTROUTE` to an off-link destination is `NetworkUnreachable`. Options: `Ttl`,
//! `ReuseAddr` (recorded; two sockets on one port are still refused), read/write timeouts;
//! buffer sizes are readable only.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use smoltcp::phy::Device;
use smoltcp::socket::udp;
use smoltcp::wire::{IpEndpoint, IpListenEndpoint};
use unisock::{Domain, ErrorKind, RecvFlags, RecvMeta, SendFlags, SockOpt, SockOptName};

use crate::addr::ep_to_std;
use crate::clock::Clock;
use crate::drive::Limit;
use crate::error::{Error, Result};
use crate::slot::{Handle, Kind, timeout_value};
use crate::stack::{Inner, Stack};
use crate::wait::Wait;
use crate::wake::Dir;

/// IPv4 header (20) + UDP header (8); IPv6 header (40) + UDP header (8).
const V4_OVERHEAD: usize = 28;
const V6_OVERHEAD: usize = 48;

/// A UDP socket.
pub struct UdpSocket<'s, 'a, D: Device, C: Clock, W: Wait> {
    stack: &'s Stack<'a, D, C, W>,
    handle: Handle,
    v6: bool,
}

impl<D: Device, C: Clock, W: Wait> core::fmt::Debug for UdpSocket<'_, '_, D, C, W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UdpSocket")
            .field("handle", &self.handle)
            .finish()
    }
}

fn unspecified(v6: bool) -> SocketAddr {
    if v6 {
        SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0)
    } else {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)
    }
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> UdpSocket<'s, 'a, D, C, W> {
    pub(crate) fn open(stack: &'s Stack<'a, D, C, W>, domain: Domain) -> Result<Self> {
        crate::addr::check_domain(domain, "smoltcp has no UNIX-domain sockets")?;
        let v6 = domain == Domain::Ipv6;
        let handle = stack.with(|g, now| {
            let h = g.alloc(Kind::Udp, now)?;
            g.slot(h)?.v6 = v6;
            Ok(h)
        })?;
        Ok(UdpSocket { stack, handle, v6 })
    }

    /// This socket's generation-checked handle.
    pub fn handle(&self) -> Handle {
        self.handle
    }

    fn check_family(&self, addr: &SocketAddr) -> Result<()> {
        if addr.is_ipv6() == self.v6 {
            Ok(())
        } else {
            Err(Error::invalid("address family differs from the socket's"))
        }
    }

    fn bind_in(g: &mut Inner<'a, D>, h: Handle, local: SocketAddr) -> Result<()> {
        if g.slot(h)?.local.is_some() {
            return Err(Error::invalid("bind: socket is already bound"));
        }
        g.check_bind_addr(&local.ip())?;
        let port = if local.port() == 0 {
            g.ephemeral_udp()?
        } else {
            if g.udp_port_in_use(local.port(), local.ip(), h.index) {
                return Err(Error::new(
                    ErrorKind::AddrInUse,
                    "bind: another UDP socket holds this endpoint",
                ));
            }
            local.port()
        };
        let (slot, s) = g.udp(h)?;
        let ep = IpListenEndpoint {
            addr: if local.ip().is_unspecified() {
                None
            } else {
                Some(crate::addr::smol_ip(local.ip())?)
            },
            port,
        };
        s.bind(ep)
            .map_err(|_| Error::invalid("bind: smoltcp refused the endpoint"))?;
        slot.local = Some(SocketAddr::new(local.ip(), port));
        Ok(())
    }

    fn auto_bind(g: &mut Inner<'a, D>, h: Handle, v6: bool) -> Result<()> {
        if g.slot(h)?.local.is_none() {
            Self::bind_in(g, h, unspecified(v6))?;
        }
        Ok(())
    }

    fn try_send_in(
        g: &mut Inner<'a, D>,
        h: Handle,
        v6: bool,
        buf: &[u8],
        to: SocketAddr,
        flags: SendFlags,
    ) -> Result<usize> {
        if flags.contains(SendFlags::OOB) {
            return Err(Error::unsupported("UDP has no urgent (OOB) data"));
        }
        if to.port() == 0 || to.ip().is_unspecified() {
            return Err(Error::invalid("send_to: port 0 or unspecified address"));
        }
        g.check_route(&to.ip(), flags.contains(SendFlags::DONTROUTE))?;
        let overhead = if v6 { V6_OVERHEAD } else { V4_OVERHEAD };
        let mtu_max = g.ip_mtu().saturating_sub(overhead);
        Self::auto_bind(g, h, v6)?;
        let (_, s) = g.udp(h)?;
        let max = s.payload_send_capacity().min(mtu_max);
        if buf.len() > max {
            return Err(Error::invalid(
                "send_to: datagram larger than the send buffer or the MTU allows",
            ));
        }
        let ep = IpEndpoint::new(crate::addr::smol_ip(to.ip())?, to.port());
        match s.send(buf.len(), ep) {
            Ok(room) => {
                crate::copy::copy(room, buf);
                Ok(buf.len())
            }
            Err(udp::SendError::BufferFull) => Err(Error::would_block()),
            Err(udp::SendError::Unaddressable) => Err(Error::invalid(
                "send_to: smoltcp cannot address this endpoint",
            )),
        }
    }

    fn try_recv_in(
        g: &mut Inner<'a, D>,
        h: Handle,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<SocketAddr>> {
        if flags.contains(RecvFlags::OOB) {
            return Err(Error::unsupported("UDP has no urgent (OOB) data"));
        }
        let (slot, s) = g.udp(h)?;
        if slot.local.is_none() {
            // Like the kernel: an unbound socket receives nothing (but is not an error).
            return Err(Error::would_block());
        }
        let peer = slot.peer;
        loop {
            let (len, from) = match s.peek() {
                Ok((data, meta)) => {
                    let from = ep_to_std(meta.endpoint);
                    // smoltcp delivers both families to an unspecified bind; an IPv4
                    // socket only takes IPv4 datagrams.
                    if peer.is_some_and(|p| p != from) || (from.is_ipv6() && !slot.v6) {
                        None
                    } else {
                        let n = data.len().min(buf.len());
                        crate::copy::copy(&mut buf[..n], &data[..n]);
                        Some((data.len(), from))
                    }
                }
                Err(udp::RecvError::Exhausted) => return Err(Error::would_block()),
                Err(udp::RecvError::Truncated) => None,
            }
            .map_or((None, None), |(l, f)| (Some(l), Some(f)));
            match (len, from) {
                (Some(full_len), Some(from)) => {
                    if !flags.contains(RecvFlags::PEEK) {
                        let _ = s.recv();
                    }
                    return Ok(RecvMeta {
                        len: full_len.min(buf.len()),
                        full_len,
                        from,
                    });
                }
                _ => {
                    // From a sender other than the connected peer: drop it.
                    let _ = s.recv();
                }
            }
        }
    }
}

impl<D: Device, C: Clock, W: Wait> UdpSocket<'_, '_, D, C, W> {
    /// Async `send_to`: waits while the send buffer is full. Cancellation-safe.
    pub(crate) async fn send_to_async(
        &self,
        buf: &[u8],
        to: SocketAddr,
        flags: SendFlags,
    ) -> Result<usize> {
        self.check_family(&to)?;
        self.send_async(buf, Some(to), flags).await
    }

    /// Async send to the connected peer (`NotConnected` if there is none), waiting while the
    /// send buffer is full. Cancellation-safe.
    pub(crate) async fn send_connected_async(&self, buf: &[u8], flags: SendFlags) -> Result<usize> {
        self.send_async(buf, None, flags).await
    }

    /// Send to `to`, or to the connected peer when `None`.
    async fn send_async(
        &self,
        buf: &[u8],
        to: Option<SocketAddr>,
        flags: SendFlags,
    ) -> Result<usize> {
        let (h, v6) = (self.handle, self.v6);
        let stack = self.stack;
        core::future::poll_fn(|cx| {
            stack.poll_op(
                cx,
                |g, w| g.register(h, Dir::Send, w),
                |g, _| {
                    let to = match to {
                        Some(to) => to,
                        None => g.slot(h)?.peer.ok_or(Error::new(
                            ErrorKind::NotConnected,
                            "send: the UDP socket is not connected",
                        ))?,
                    };
                    Self::try_send_in(g, h, v6, buf, to, flags)
                        .map_err(|e| if e.is_would_block() { e } else { e.at(to) })
                },
            )
        })
        .await
    }

    /// Async `recv_from`. Cancellation-safe: a datagram is only taken in the poll that
    /// completes.
    pub(crate) async fn recv_from_async(
        &self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<SocketAddr>> {
        let h = self.handle;
        let stack = self.stack;
        core::future::poll_fn(|cx| {
            stack.poll_op(
                cx,
                |g, w| g.register(h, Dir::Recv, w),
                |g, _| Self::try_recv_in(g, h, buf, flags),
            )
        })
        .await
    }
}

impl<D: Device, C: Clock, W: Wait> Drop for UdpSocket<'_, '_, D, C, W> {
    fn drop(&mut self) {
        let h = self.handle;
        let _ = self.stack.with(|g, _| {
            g.release_dgram(h);
            Ok(())
        });
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::ErrorType for UdpSocket<'_, '_, D, C, W> {
    type Error = Error;
}

impl<D: Device, C: Clock, W: Wait> unisock::Socket for UdpSocket<'_, '_, D, C, W> {
    type Addr = SocketAddr;

    fn local_addr(&self) -> Result<SocketAddr> {
        let v6 = self.v6;
        self.stack
            .with(|g, _| Ok(g.slot(self.handle)?.local.unwrap_or(unspecified(v6))))
    }

    fn set_option(&mut self, option: SockOpt) -> Result<()> {
        self.stack.with(|g, _| {
            let (slot, s) = g.udp(self.handle)?;
            match option {
                SockOpt::Ttl(v) => {
                    if v == 0 {
                        return Err(Error::invalid("TTL must be at least 1"));
                    }
                    slot.opts.ttl = Some(v);
                    s.set_hop_limit(Some(v));
                }
                SockOpt::ReuseAddr(v) => slot.opts.reuse_addr = v,
                SockOpt::ReadTimeout(v) => {
                    slot.opts.read_timeout = timeout_value(v)?;
                }
                SockOpt::WriteTimeout(v) => {
                    slot.opts.write_timeout = timeout_value(v)?;
                }
                SockOpt::RecvBufferSize(_) | SockOpt::SendBufferSize(_) => {
                    return Err(Error::unsupported(
                        "smoltcp buffer sizes are fixed by the pool (PoolConfig)",
                    ));
                }
                SockOpt::NoDelay(_) | SockOpt::KeepAlive(_) | SockOpt::Linger(_) => {
                    return Err(Error::unsupported("stream-only option on a UDP socket"));
                }
            }
            Ok(())
        })
    }

    fn option(&self, name: SockOptName) -> Result<SockOpt> {
        self.stack.with(|g, _| {
            let (slot, s) = g.udp(self.handle)?;
            Ok(match name {
                SockOptName::Ttl => SockOpt::Ttl(s.hop_limit().unwrap_or(64)),
                SockOptName::ReuseAddr => SockOpt::ReuseAddr(slot.opts.reuse_addr),
                SockOptName::ReadTimeout => SockOpt::ReadTimeout(slot.opts.read_timeout),
                SockOptName::WriteTimeout => SockOpt::WriteTimeout(slot.opts.write_timeout),
                SockOptName::RecvBufferSize => SockOpt::RecvBufferSize(s.payload_recv_capacity()),
                SockOptName::SendBufferSize => SockOpt::SendBufferSize(s.payload_send_capacity()),
                SockOptName::NoDelay | SockOptName::KeepAlive | SockOptName::Linger => {
                    return Err(Error::unsupported("stream-only option on a UDP socket"));
                }
            })
        })
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::DatagramSocket for UdpSocket<'_, '_, D, C, W> {
    fn bind(&mut self, local: SocketAddr) -> Result<()> {
        self.check_family(&local)?;
        let h = self.handle;
        self.stack
            .with(|g, _| Self::bind_in(g, h, local))
            .map_err(|e| e.at(local))
    }

    fn connect(&mut self, peer: SocketAddr) -> Result<()> {
        self.check_family(&peer)?;
        if peer.port() == 0 || peer.ip().is_unspecified() {
            return Err(Error::invalid("connect: port 0 or unspecified address"));
        }
        let (h, v6) = (self.handle, self.v6);
        self.stack.with(|g, _| {
            Self::auto_bind(g, h, v6)?;
            let (slot, s) = g.udp(h)?;
            slot.peer = Some(peer);
            // Drop what other senders queued before the connect.
            while let Ok((_, meta)) = s.peek() {
                if ep_to_std(meta.endpoint) == peer {
                    break;
                }
                let _ = s.recv();
            }
            Ok(())
        })
    }

    fn peer_addr(&self) -> Result<SocketAddr> {
        self.stack.with(|g, _| {
            g.slot(self.handle)?.peer.ok_or(Error::new(
                ErrorKind::NotConnected,
                "UDP socket is not connected",
            ))
        })
    }

    fn send_to(&mut self, buf: &[u8], to: SocketAddr, flags: SendFlags) -> Result<usize> {
        self.check_family(&to)?;
        let (h, v6) = (self.handle, self.v6);
        self.stack
            .block(
                Limit::Write(h),
                "send_to: write timeout",
                |g, w| g.register(h, Dir::Send, w),
                |g, _| Self::try_send_in(g, h, v6, buf, to, flags),
            )
            .map_err(|e| e.at(to))
    }

    fn recv_from(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<RecvMeta<SocketAddr>> {
        let h = self.handle;
        self.stack.block(
            Limit::Read(h),
            "recv_from: read timeout",
            |g, w| g.register(h, Dir::Recv, w),
            |g, _| Self::try_recv_in(g, h, buf, flags),
        )
    }

    fn try_send_to(&mut self, buf: &[u8], to: SocketAddr, flags: SendFlags) -> Result<usize> {
        self.check_family(&to)?;
        let (h, v6) = (self.handle, self.v6);
        self.stack
            .with(|g, _| Self::try_send_in(g, h, v6, buf, to, flags))
            .map_err(|e| if e.is_would_block() { e } else { e.at(to) })
    }

    fn try_recv_from(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<RecvMeta<SocketAddr>> {
        let h = self.handle;
        self.stack.with(|g, _| Self::try_recv_in(g, h, buf, flags))
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::poll::AsSource for UdpSocket<'_, '_, D, C, W> {
    type Source = crate::Source;

    fn source(&self) -> crate::Source {
        crate::Source::Socket(self.handle)
    }
}
