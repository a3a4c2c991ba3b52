//! Port allocation: bind conflicts, ephemeral ports, and the TIME-WAIT table that ephemeral
//! port selection avoids.

use core::net::{IpAddr, SocketAddr};
use core::time::Duration;

use smoltcp::phy::Device;
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::IpEndpoint;
use unisock::{ErrorKind, Protocol};

use crate::addr::{ep_to_std, overlaps};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::slot::{Kind, Use};
use crate::stack::{Inner, Stack};
use crate::wait::Wait;

/// How long a finished connection's association is kept out of ephemeral port selection.
pub const TIME_WAIT: Duration = Duration::from_secs(60);
/// How many TIME-WAIT associations are remembered (the oldest is forgotten first): 64 with
/// `std`, 8 without (each takes 24 bytes or more of the stack's memory on small targets).
#[cfg(feature = "std")]
pub const TIME_WAIT_ENTRIES: usize = 64;
/// How many TIME-WAIT associations are remembered (the oldest is forgotten first): 64 with
/// `std`, 8 without (each takes 24 bytes or more of the stack's memory on small targets).
#[cfg(not(feature = "std"))]
pub const TIME_WAIT_ENTRIES: usize = 8;
/// First and last ephemeral port.
pub const EPHEMERAL_PORTS: (u16, u16) = (49152, 65535);

#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeWaitEntry {
    pub local: IpEndpoint,
    pub remote: IpEndpoint,
    pub until: Instant,
}

impl<'a, D: Device, C: Clock, W: Wait> Stack<'a, D, C, W> {
    /// The TIME-WAIT associations remembered now (local and remote endpoint), which
    /// ephemeral port selection avoids.
    pub fn time_wait(&self) -> heapless::Vec<unisock::Association, TIME_WAIT_ENTRIES> {
        let now = self.clock.now();
        let g = self.lock();
        g.time_wait
            .iter()
            .filter(|e| e.until > now)
            .map(|e| {
                unisock::Association::new(Protocol::TCP, ep_to_std(e.local), ep_to_std(e.remote))
            })
            .collect()
    }

    /// Make `port` the next ephemeral port tried (TCP and UDP), for deterministic tests and
    /// simulation. `InvalidInput` outside [`EPHEMERAL_PORTS`].
    pub fn set_next_ephemeral_port(&self, port: u16) -> Result<()> {
        if !(EPHEMERAL_PORTS.0..=EPHEMERAL_PORTS.1).contains(&port) {
            return Err(Error::invalid("ephemeral ports are 49152..=65535"));
        }
        let mut g = self.lock();
        g.next_tcp_port = port;
        g.next_udp_port = port;
        Ok(())
    }
}

impl<'a, D: Device> Inner<'a, D> {
    fn tcp_port_in_use(&self, port: u16, addr: Option<IpAddr>, skip: Option<u16>) -> bool {
        self.slots.iter().enumerate().any(|(i, slot)| {
            if slot.kind != Kind::Tcp || slot.use_ == Use::Free || Some(i as u16) == skip {
                return false;
            }
            let Some(h) = slot.handle else { return false };
            let s = self.sockets.get::<tcp::Socket>(h);
            let used = |p: u16, a: Option<IpAddr>| {
                p == port
                    && match (a, addr) {
                        (Some(a), Some(b)) => overlaps(a, b),
                        _ => true,
                    }
            };
            slot.local.is_some_and(|l| used(l.port(), Some(l.ip())))
                || s.local_endpoint()
                    .is_some_and(|l| used(l.port, Some(l.addr.into())))
                || (s.is_listening()
                    && used(
                        s.listen_endpoint().port,
                        s.listen_endpoint().addr.map(Into::into),
                    ))
        })
    }

    fn time_wait_holds(&self, port: u16, addr: Option<IpAddr>) -> bool {
        self.time_wait
            .iter()
            .any(|e| e.local.port == port && addr.is_none_or(|a| overlaps(a, e.local.addr.into())))
    }

    /// Whether another socket listens on an endpoint overlapping `(addr, port)`.
    pub(crate) fn listener_on(&self, addr: IpAddr, port: u16, skip: u16) -> bool {
        self.slots.iter().enumerate().any(|(i, slot)| {
            if slot.kind != Kind::Tcp || slot.use_ != Use::Open || i as u16 == skip {
                return false;
            }
            let Some(h) = slot.handle else { return false };
            let s = self.sockets.get::<tcp::Socket>(h);
            let ep = s.listen_endpoint();
            (s.is_listening() || slot.listener != 0)
                && ep.port == port
                && ep.addr.is_none_or(|a| overlaps(a.into(), addr))
        })
    }

    /// Check a TCP bind of slot `skip` to `local` (port non-zero).
    pub(crate) fn check_tcp_bind(&self, local: SocketAddr, reuse: bool, skip: u16) -> Result<()> {
        let in_use = Error::new(
            ErrorKind::AddrInUse,
            "bind: a listener or live connection holds this endpoint",
        );
        if self.listener_on(local.ip(), local.port(), skip) {
            return Err(in_use);
        }
        if !reuse
            && (self.tcp_port_in_use(local.port(), Some(local.ip()), Some(skip))
                || self.time_wait_holds(local.port(), Some(local.ip())))
        {
            return Err(in_use);
        }
        Ok(())
    }

    /// An ephemeral TCP port used by no socket and no TIME-WAIT association.
    pub(crate) fn ephemeral_tcp(&mut self) -> Result<u16> {
        let span = u32::from(EPHEMERAL_PORTS.1 - EPHEMERAL_PORTS.0) + 1;
        for _ in 0..span {
            let p = self.next_tcp_port;
            self.next_tcp_port = if p >= EPHEMERAL_PORTS.1 {
                EPHEMERAL_PORTS.0
            } else {
                p + 1
            };
            if !self.tcp_port_in_use(p, None, None) && !self.time_wait_holds(p, None) {
                return Ok(p);
            }
        }
        Err(Error::new(
            ErrorKind::AddrInUse,
            "no free ephemeral TCP port",
        ))
    }

    #[cfg(feature = "udp")]
    pub(crate) fn udp_port_in_use(&self, port: u16, addr: IpAddr, skip: u16) -> bool {
        self.slots.iter().enumerate().any(|(i, slot)| {
            slot.kind == Kind::Udp
                && slot.use_ == Use::Open
                && i as u16 != skip
                && slot
                    .local
                    .is_some_and(|l| l.port() == port && overlaps(l.ip(), addr))
        })
    }

    /// An ephemeral UDP port used by no UDP socket.
    #[cfg(feature = "udp")]
    pub(crate) fn ephemeral_udp(&mut self) -> Result<u16> {
        let span = u32::from(EPHEMERAL_PORTS.1 - EPHEMERAL_PORTS.0) + 1;
        for _ in 0..span {
            let p = self.next_udp_port;
            self.next_udp_port = if p >= EPHEMERAL_PORTS.1 {
                EPHEMERAL_PORTS.0
            } else {
                p + 1
            };
            if !self.udp_port_in_use(p, IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED), u16::MAX) {
                return Ok(p);
            }
        }
        Err(Error::new(
            ErrorKind::AddrInUse,
            "no free ephemeral UDP port",
        ))
    }
}
