//! Interface and pool configuration.
//!
//! [`Config`] describes the interface: static IPv4/IPv6 addresses with prefixes, default
//! gateways, DNS servers, a static host table, the MAC address (Ethernet devices only), DHCPv4,
//! and the socket pool ([`PoolConfig`]). The MTU is the device's
//! (`DeviceCapabilities::max_transmission_unit`).
//!
//! Not supported: SLAAC, multiple interfaces, per-route metrics (only default gateways).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};
use unisock::ErrorKind;

/// How many static addresses an interface may have.
pub const MAX_ADDRESSES: usize = 4;
/// How many DNS servers are used.
pub const MAX_DNS_SERVERS: usize = 4;
/// How many static host entries [`Config`] holds: 8 with `std`, 2 without (each entry takes
/// about 84 bytes in the configuration and again in the stack).
#[cfg(feature = "std")]
pub const MAX_HOSTS: usize = 8;
/// How many static host entries [`Config`] holds: 8 with `std`, 2 without (each entry takes
/// about 84 bytes in the configuration and again in the stack).
#[cfg(not(feature = "std"))]
pub const MAX_HOSTS: usize = 2;
/// The longest host name in the static host table.
pub const MAX_HOST_NAME: usize = 64;

/// An address with its prefix length (CIDR notation `10.7.0.2/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length (at most 32 for IPv4, 128 for IPv6).
    pub prefix_len: u8,
}

impl Cidr {
    /// An address with a prefix length; `InvalidInput` if the prefix is too long.
    pub fn new(addr: IpAddr, prefix_len: u8) -> Result<Cidr> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix_len > max {
            return Err(Error::invalid("CIDR prefix longer than the address"));
        }
        Ok(Cidr { addr, prefix_len })
    }

    /// Parse `addr/len` (for example `10.7.0.2/24` or `fd00::2/64`).
    pub fn parse(s: &str) -> Result<Cidr> {
        let (addr, len) = s
            .split_once('/')
            .ok_or(Error::invalid("CIDR needs the form address/prefix-length"))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| Error::invalid("CIDR address is not an IP address"))?;
        let len: u8 = len
            .parse()
            .map_err(|_| Error::invalid("CIDR prefix length is not a number"))?;
        Cidr::new(addr, len)
    }

    /// Whether `ip` is inside this prefix.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix_len))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(*ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix_len))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(*ip) & mask
            }
            _ => false,
        }
    }

    pub(crate) fn to_smol(self) -> Result<smoltcp::wire::IpCidr> {
        Ok(smoltcp::wire::IpCidr::new(
            crate::addr::smol_ip(self.addr)?,
            self.prefix_len,
        ))
    }
}

/// A static host table entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// The name (compared case-insensitively, without a trailing dot).
    pub name: heapless::String<MAX_HOST_NAME>,
    /// Its address.
    pub addr: IpAddr,
}

/// How many sockets of each kind the stack has, and their buffer sizes.
///
/// Every socket is created up front from this description (no allocation later); a socket
/// call that finds no free socket of its kind fails with `OutOfMemory`. Raw sockets exist for
/// ICMP (IPv4) and ICMPv6 only: `raw` of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// TCP sockets (listeners use one per backlog entry).
    pub tcp: usize,
    /// TCP receive buffer bytes per socket (the advertised window).
    pub tcp_rx: usize,
    /// TCP send buffer bytes per socket.
    pub tcp_tx: usize,
    /// UDP sockets.
    pub udp: usize,
    /// UDP receive payload bytes per socket.
    pub udp_rx: usize,
    /// UDP send payload bytes per socket.
    pub udp_tx: usize,
    /// Datagrams queued per UDP socket and direction.
    pub udp_packets: usize,
    /// Raw sockets per family (ICMP and ICMPv6 each).
    pub raw: usize,
    /// Raw receive/send bytes per socket and direction.
    pub raw_bytes: usize,
    /// Packets queued per raw socket and direction.
    pub raw_packets: usize,
    /// Bytes of the local-delivery queue: packets to one of the stack's own addresses wait
    /// here instead of going to the device (see the crate docs). It holds frames of up to
    /// the device MTU, each with 2 bytes of overhead: 0 turns local delivery off (a send to
    /// an own address then fails with `Unsupported`); otherwise at least the device MTU + 2
    /// (`InvalidInput` if smaller; a heap stack, [`Stack::new_alloc`](crate::Stack::new_alloc)
    /// and the `std` constructors, raises it to two frames of the device's MTU instead). Not used when [`Config::device_loops_back`] is set, nor
    /// without the `local-delivery` feature.
    pub local_bytes: usize,
}

impl PoolConfig {
    /// A small pool for microcontrollers: 4 TCP sockets with 2 KiB buffers, 2 UDP, 1 raw each,
    /// a local-delivery queue of two Ethernet frames.
    pub const SMALL: PoolConfig = PoolConfig {
        tcp: 4,
        tcp_rx: 2048,
        tcp_tx: 2048,
        udp: 2,
        udp_rx: 1024,
        udp_tx: 1024,
        udp_packets: 4,
        raw: 1,
        raw_bytes: 512,
        raw_packets: 2,
        local_bytes: 2 * (1514 + 2),
    };

    /// The default of the `std` constructors: 64 TCP sockets with 64 KiB buffers, 16 UDP
    /// sockets with 64 KiB buffers (so a 65507-byte datagram fits), 2 raw sockets per family.
    pub const DEFAULT: PoolConfig = PoolConfig {
        tcp: 64,
        tcp_rx: 65535,
        tcp_tx: 65535,
        udp: 16,
        udp_rx: 65535 * 2,
        udp_tx: 65535 * 2,
        udp_packets: 64,
        raw: 2,
        raw_bytes: 65535,
        raw_packets: 16,
        local_bytes: 4 * (65535 + 2),
    };

    /// smoltcp socket slots needed: every pool socket of the kinds compiled in (features
    /// `udp`, `raw`; raw sockets once per IP version), plus room for the DNS socket
    /// (feature `dns`) and the DHCPv4 socket (feature `dhcpv4`) (saturating).
    pub const fn sockets_needed(&self) -> usize {
        self.tcp
            .saturating_add(self.udp_sockets())
            .saturating_add(self.raw_sockets())
            .saturating_add(cfg!(feature = "dns") as usize + cfg!(feature = "dhcpv4") as usize)
    }

    const fn udp_sockets(&self) -> usize {
        if cfg!(feature = "udp") { self.udp } else { 0 }
    }

    const fn raw_sockets(&self) -> usize {
        let versions = 1 + cfg!(feature = "proto-ipv6") as usize;
        if cfg!(feature = "raw") {
            self.raw.saturating_mul(versions)
        } else {
            0
        }
    }

    /// Buffer bytes needed (saturating).
    pub const fn bytes_needed(&self) -> usize {
        let tcp = self
            .tcp
            .saturating_mul(self.tcp_rx.saturating_add(self.tcp_tx));
        let udp = self
            .udp_sockets()
            .saturating_mul(self.udp_rx.saturating_add(self.udp_tx));
        let raw = self
            .raw_sockets()
            .saturating_mul(2)
            .saturating_mul(self.raw_bytes);
        let local = if cfg!(feature = "local-delivery") {
            self.local_bytes
        } else {
            0
        };
        tcp.saturating_add(udp)
            .saturating_add(raw)
            .saturating_add(local)
    }

    /// Packet metadata entries needed (UDP and raw each have their own array of this size;
    /// saturating).
    pub const fn packets_needed(&self) -> usize {
        let udp = self
            .udp_sockets()
            .saturating_mul(2)
            .saturating_mul(self.udp_packets);
        let raw = self
            .raw_sockets()
            .saturating_mul(2)
            .saturating_mul(self.raw_packets);
        if udp > raw { udp } else { raw }
    }
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig::DEFAULT
    }
}

/// The interface configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Static addresses with their prefixes.
    pub addresses: heapless::Vec<Cidr, MAX_ADDRESSES>,
    /// Default IPv4 gateway.
    pub gateway_v4: Option<Ipv4Addr>,
    /// Default IPv6 gateway.
    pub gateway_v6: Option<Ipv6Addr>,
    /// DNS servers, in order.
    pub dns_servers: heapless::Vec<IpAddr, MAX_DNS_SERVERS>,
    /// Static host table, consulted before DNS. `localhost` is answered with the loopback
    /// addresses the interface has (127.0.0.1, ::1) unless the table names it.
    pub hosts: heapless::Vec<HostEntry, MAX_HOSTS>,
    /// MAC address for Ethernet devices (`None`: a fixed locally administered address).
    pub mac: Option<[u8; 6]>,
    /// Obtain an IPv4 address, gateway and DNS servers with DHCPv4.
    pub dhcpv4: bool,
    /// Seed for initial sequence numbers and ports (use a different one per boot).
    pub random_seed: u64,
    /// The socket pool.
    pub pool: PoolConfig,
    /// TCP delayed-ACK time. `None` (the default here) acknowledges every segment at once:
    /// smoltcp's own default of 10 ms limits a connection whose window fits in one segment
    /// (the 64 KiB loopback MTU) to one window per 10 ms.
    pub tcp_ack_delay: Option<core::time::Duration>,
    /// The device itself returns every frame it is sent (the in-process
    /// [`Loopback`](crate::Loopback)): packets to the stack's own addresses need no
    /// local-delivery queue ([`PoolConfig::local_bytes`] is then not used).
    /// [`Config::loopback`] sets it.
    pub device_loops_back: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl Config {
    /// No address, no gateway, no DNS, the default pool.
    pub const fn new() -> Config {
        Config {
            addresses: heapless::Vec::new(),
            gateway_v4: None,
            gateway_v6: None,
            dns_servers: heapless::Vec::new(),
            hosts: heapless::Vec::new(),
            mac: None,
            dhcpv4: false,
            random_seed: 0x5eed_0f5a_0c11_u64,
            pool: PoolConfig::DEFAULT,
            tcp_ack_delay: None,
            device_loops_back: false,
        }
    }

    /// The in-process loopback convention: 127.0.0.1/8 and (with `proto-ipv6`) ::1/128, over a device that
    /// returns every frame ([`Config::device_loops_back`]).
    pub fn loopback() -> Config {
        let mut c = Config::new();
        c.device_loops_back = true;
        // Two entries always fit in MAX_ADDRESSES.
        let _ = c.addresses.push(Cidr {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            prefix_len: 8,
        });
        #[cfg(feature = "proto-ipv6")]
        let _ = c.addresses.push(Cidr {
            addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
            prefix_len: 128,
        });
        c
    }

    /// Add a static address (`OutOfMemory` beyond [`MAX_ADDRESSES`]).
    pub fn with_address(mut self, cidr: Cidr) -> Result<Config> {
        self.addresses
            .push(cidr)
            .map_err(|_| Error::new(ErrorKind::OutOfMemory, "too many interface addresses"))?;
        Ok(self)
    }

    /// Set a default gateway (of either family).
    pub fn with_gateway(mut self, gw: IpAddr) -> Config {
        match gw {
            IpAddr::V4(a) => self.gateway_v4 = Some(a),
            IpAddr::V6(a) => self.gateway_v6 = Some(a),
        }
        self
    }

    /// Add a DNS server (`OutOfMemory` beyond [`MAX_DNS_SERVERS`]).
    pub fn with_dns_server(mut self, server: IpAddr) -> Result<Config> {
        self.dns_servers
            .push(server)
            .map_err(|_| Error::new(ErrorKind::OutOfMemory, "too many DNS servers"))?;
        Ok(self)
    }

    /// Add a static host entry (`InvalidInput` for a name longer than [`MAX_HOST_NAME`],
    /// `OutOfMemory` beyond [`MAX_HOSTS`]).
    pub fn with_host(mut self, name: &str, addr: IpAddr) -> Result<Config> {
        let name = heapless::String::try_from(name)
            .map_err(|_| Error::invalid("host name longer than MAX_HOST_NAME"))?;
        self.hosts
            .push(HostEntry { name, addr })
            .map_err(|_| Error::new(ErrorKind::OutOfMemory, "host table full"))?;
        Ok(self)
    }

    /// Set the MAC address (Ethernet devices).
    pub fn with_mac(mut self, mac: [u8; 6]) -> Config {
        self.mac = Some(mac);
        self
    }

    /// Enable DHCPv4.
    pub fn with_dhcpv4(mut self) -> Config {
        self.dhcpv4 = true;
        self
    }

    /// Use this socket pool.
    pub fn with_pool(mut self, pool: PoolConfig) -> Config {
        self.pool = pool;
        self
    }

    /// Set the TCP delayed-ACK time (`None`: acknowledge at once).
    pub fn with_tcp_ack_delay(mut self, delay: Option<core::time::Duration>) -> Config {
        self.tcp_ack_delay = delay;
        self
    }

    /// Use this random seed.
    pub fn with_random_seed(mut self, seed: u64) -> Config {
        self.random_seed = seed;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parse_and_contains() {
        let c = Cidr::parse("10.7.0.2/24").unwrap();
        assert!(c.contains(&"10.7.0.200".parse().unwrap()));
        assert!(!c.contains(&"10.7.1.1".parse().unwrap()));
        assert!(!c.contains(&"::1".parse().unwrap()));
        let z = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(z.contains(&"192.0.2.1".parse().unwrap()));
        let h = Cidr::parse("::1/128").unwrap();
        assert!(h.contains(&"::1".parse().unwrap()));
        assert!(!h.contains(&"::2".parse().unwrap()));
        for bad in [
            "10.0.0.1",
            "10.0.0.1/33",
            "::1/129",
            "x/8",
            "10.0.0.1/x",
            "/8",
        ] {
            assert_eq!(
                Cidr::parse(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad}"
            );
        }
    }

    #[test]
    fn config_builders_report_full_tables() {
        let mut c = Config::new();
        for i in 0..MAX_ADDRESSES {
            c = c
                .with_address(
                    Cidr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8 + 1)), 8).unwrap(),
                )
                .unwrap();
        }
        let e = c
            .clone()
            .with_address(Cidr::parse("10.0.0.99/8").unwrap())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfMemory);
        let long = "a".repeat(MAX_HOST_NAME + 1);
        assert_eq!(
            c.clone()
                .with_host(&long, IpAddr::V4(Ipv4Addr::LOCALHOST))
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        let p = PoolConfig::SMALL;
        let full = cfg!(all(
            feature = "local-delivery",
            feature = "udp",
            feature = "raw",
            feature = "proto-ipv6",
            feature = "dns",
            feature = "dhcpv4"
        ));
        let none = cfg!(not(any(
            feature = "local-delivery",
            feature = "udp",
            feature = "raw",
            feature = "proto-ipv6",
            feature = "dns",
            feature = "dhcpv4"
        )));
        if full {
            assert_eq!(p.sockets_needed(), 4 + 2 + 2 + 2);
            assert_eq!(
                p.bytes_needed(),
                4 * (2048 + 2048) + 2 * (1024 + 1024) + 2 * 2 * 512 + 2 * 1516
            );
            assert_eq!(p.packets_needed(), 2 * 2 * 4);
        }
        if none {
            // TCP only: no UDP, raw, DNS or DHCP sockets or memory.
            assert_eq!(p.sockets_needed(), 4);
            assert_eq!(p.bytes_needed(), 4 * (2048 + 2048));
            assert_eq!(p.packets_needed(), 0);
        }
    }
}
