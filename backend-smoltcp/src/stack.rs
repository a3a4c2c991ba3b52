//! The stack: one smoltcp interface, its device and the pool of sockets behind one lock
//! (a `Mutex` under `std`, a `RefCell` without it); construction and the public accessors.
//!
//! The rest of the stack lives by concern: the socket pool and [`Handle`]s in `pool.rs`,
//! ports and TIME-WAIT in `ports.rs`, polling and waiting in `drive.rs`, address
//! conversions in `addr.rs`, the [`unisock::Stack`] implementation in `api.rs`.
//!
//! Close reasons: the interface is polled in two phases (received frames, then transmission),
//! so a connection closed by a received RST (`ConnectionReset`, or `ConnectionRefused` during
//! the handshake) is told apart from one smoltcp gives up on by its own timers while
//! transmitting (`TimedOut`).
//!
//! An aborted connection whose RST cannot be sent (its neighbour never resolves) is freed after
//! [`RST_GRACE`].
//!
//! Pool slots are named by generation-checked [`Handle`]s: a handle whose slot was freed (or
//! reused) fails with `StaleHandle`; smoltcp's own handles are never exposed, so its panics on
//! a stale handle or a full socket set cannot happen.
//!
//! TIME-WAIT: a dropped connection that reaches TIME-WAIT is recorded in a small table
//! ([`TIME_WAIT_ENTRIES`](crate::TIME_WAIT_ENTRIES) entries, [`TIME_WAIT`](crate::TIME_WAIT)
//! long) that ephemeral port selection avoids, and its socket is released at once (smoltcp
//! then sends one RST for the finished connection, which peers ignore). Orphaned connections
//! still closing after [`ORPHAN_LIMIT`] without progress are aborted, so
//! [`Stack::open_sockets`] always returns to zero.

use core::net::IpAddr;
use core::time::Duration;

use managed::ManagedSlice;
use smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Device, Medium};
#[cfg(feature = "dhcpv4")]
use smoltcp::socket::dhcpv4;
#[cfg(feature = "dns")]
use smoltcp::socket::dns;
#[cfg(feature = "raw")]
use smoltcp::socket::raw;
use smoltcp::socket::tcp;
#[cfg(feature = "udp")]
use smoltcp::socket::udp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress};
#[cfg(feature = "raw")]
use smoltcp::wire::{IpProtocol, IpVersion};
use unisock::{ErrorKind, Protocol};

use crate::addr::{ep_to_std, smol_ip};
use crate::clock::Clock;
use crate::config::{Config, HostEntry, MAX_DNS_SERVERS, MAX_HOSTS};
use crate::drive::{drain_budget_for_mtu, ingress_budget_for_mtu};
use crate::error::{Error, Result};
use crate::ports::{EPHEMERAL_PORTS, TIME_WAIT_ENTRIES};
use crate::resources::{Borrowed, Memory, Resources};
use crate::slot::{Handle, Kind, Slot, SocketInfo, Use, stack_id};
use crate::wait::Wait;
/// How long a dropped connection may go without progress (the peer acknowledging data queued
/// before the close, counted from the close or the last acknowledgement) before it is aborted.
///
/// Two minutes, in line with what Linux gives an orphan (about 100 s of retransmissions to a
/// silent peer, 60 s in FIN-WAIT-2): a live reader that is merely slow (a zero window while
/// its application is busy) must not get an RST mid-stream. It was 30 s, and the 1,000-
/// connection scale test lost connections whose client task had not read for that long on a
/// loaded machine.
pub const ORPHAN_LIMIT: Duration = Duration::from_secs(120);
/// How long an aborted connection's slot waits for its RST to be sent before it is freed
/// anyway.
pub const RST_GRACE: Duration = Duration::from_secs(3);
/// The default bound on a blocking `connect` (smoltcp retries a SYN forever).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(75);

/// The MAC address used on Ethernet devices when the configuration names none (locally
/// administered, unicast).
pub const DEFAULT_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x75, 0x6e, 0x69];

/// Everything behind the stack's lock.
pub(crate) struct Inner<'a, D> {
    pub(crate) id: u32,
    pub(crate) device: crate::local::Local<'a, D>,
    pub(crate) iface: Interface,
    pub(crate) sockets: SocketSet<'a>,
    pub(crate) slots: ManagedSlice<'a, Slot>,
    pub(crate) time_wait: heapless::Vec<crate::ports::TimeWaitEntry, TIME_WAIT_ENTRIES>,
    pub(crate) next_tcp_port: u16,
    pub(crate) next_udp_port: u16,
    pub(crate) next_listener: u32,
    /// The DNS socket, if DNS servers are configured or DHCPv4 may provide them.
    pub(crate) dns: Option<SocketHandle>,
    /// The sockets of free pool slots, out of the socket set (see `Inner::park_free`); empty
    /// (nothing parked) for stacks built from `Resources`.
    pub(crate) parked: ManagedSlice<'a, Option<smoltcp::socket::Socket<'a>>>,
    pub(crate) dns_servers: heapless::Vec<IpAddress, MAX_DNS_SERVERS>,
    #[cfg(feature = "dhcpv4")]
    pub(crate) static_dns: heapless::Vec<IpAddress, MAX_DNS_SERVERS>,
    pub(crate) hosts: heapless::Vec<HostEntry, MAX_HOSTS>,
    #[cfg(feature = "dhcpv4")]
    pub(crate) dhcp: Option<SocketHandle>,
    #[cfg(feature = "dhcpv4")]
    pub(crate) dhcp_addr: Option<smoltcp::wire::Ipv4Cidr>,
    #[cfg(feature = "dhcpv4")]
    pub(crate) dhcp_route: bool,
    /// When the sleeping driver plans to poll next (`None`: awake, or no driver).
    pub(crate) driver_deadline: Option<Instant>,
    /// The runner's waker (`Stack::run`), woken when an operation needs an earlier poll.
    pub(crate) runner: crate::wake::RunnerWake,
    pub(crate) ack_delay: Option<Duration>,
    /// Frames received per round before an egress pass (see [`ingress_budget_for_mtu`]).
    pub(crate) ingress_budget: usize,
    /// Frames received per drain at most (see [`drain_budget_for_mtu`]).
    pub(crate) drain_budget: usize,
    /// The last drain stopped at `drain_budget` with frames perhaps left: poll again soon.
    pub(crate) drain_cut: bool,
}

#[cfg(feature = "std")]
type Lock<T> = std::sync::Mutex<T>;
#[cfg(feature = "std")]
pub(crate) type Guard<'g, T> = std::sync::MutexGuard<'g, T>;
#[cfg(not(feature = "std"))]
type Lock<T> = core::cell::RefCell<T>;
#[cfg(not(feature = "std"))]
pub(crate) type Guard<'g, T> = core::cell::RefMut<'g, T>;

/// A smoltcp network stack: one interface over device `D`, clock `C` and waiter `W`.
///
/// `&Stack` implements [`unisock::Stack`]. Under `std` it is `Sync` when `D`, `C` and `W` are
/// `Send + Sync`-compatible, and its sockets are `Send`: they can be used from several threads
/// at once (for example within `std::thread::scope`, or with an `Arc` as
/// [`StdStack`](crate::StdStack) does).
pub struct Stack<'a, D: Device, C: Clock, W: Wait> {
    pub(crate) inner: Lock<Inner<'a, D>>,
    #[cfg(feature = "std")]
    pub(crate) driven: core::sync::atomic::AtomicBool,
    pub(crate) clock: C,
    pub(crate) waiter: W,
}

impl<D: Device, C: Clock, W: Wait> core::fmt::Debug for Stack<'_, D, C, W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Stack")
            .field("open_sockets", &self.open_sockets())
            .finish_non_exhaustive()
    }
}

impl<'a, D: Device, C: Clock, W: Wait> Stack<'a, D, C, W> {
    /// A stack over `device`, with every socket and buffer carved out of `resources` (no
    /// allocation). Fails with `OutOfMemory` if `resources` is smaller than
    /// `config.pool` needs, `InvalidInput` for a bad address, MAC or pool size, `Unsupported`
    /// for a device medium other than Ethernet or IP.
    pub fn new<const S: usize, const B: usize, const P: usize>(
        device: D,
        clock: C,
        waiter: W,
        config: &Config,
        resources: &'a mut Resources<'a, S, B, P>,
    ) -> Result<Self> {
        let mut mem = Borrowed::new(resources);
        let stack = Self::build(device, clock, waiter, config, &mut mem, |stack| stack)?;
        stack.load_hosts(config);
        Ok(stack)
    }

    /// Copy the static host table into the built stack (same capacity: cannot fail).
    fn load_hosts(&self, config: &Config) {
        let mut g = self.lock();
        for h in &config.hosts {
            let _ = g.hosts.push(h.clone());
        }
    }

    /// As [`new`](Stack::new), for small targets: the stack is built straight into `place`
    /// (no copy of it on the caller's stack; `place` is typically a `static`), and every
    /// socket buffer (and the local-delivery queue) is carved out of `buffers`, which can be a
    /// zero-initialised `static` (`.bss`, no flash), instead of `resources`' own byte arena
    /// (give `Resources` a `BYTES` of 0). `buffers` needs
    /// [`PoolConfig::bytes_needed`](crate::PoolConfig::bytes_needed) bytes (`OutOfMemory`
    /// otherwise); a stack already in `place` is dropped first. Returns the stack in `place`.
    pub fn new_in<'p, const S: usize, const B: usize, const P: usize>(
        place: &'p mut Option<Self>,
        device: D,
        clock: C,
        waiter: W,
        config: &Config,
        resources: &'a mut Resources<'a, S, B, P>,
        buffers: &'a mut [u8],
    ) -> Result<&'p Self> {
        *place = None;
        let mut mem = Borrowed::with_buffers(resources, buffers);
        let stack = Self::build(device, clock, waiter, config, &mut mem, move |stack| {
            &*place.insert(stack)
        })?;
        stack.load_hosts(config);
        Ok(stack)
    }

    fn build<T>(
        mut device: D,
        clock: C,
        waiter: W,
        config: &Config,
        mem: &mut impl Memory<'a>,
        emit: impl FnOnce(Self) -> T,
    ) -> Result<T> {
        let caps = device.capabilities();
        let hw = match caps.medium {
            Medium::Ethernet => {
                let mac = EthernetAddress(config.mac.unwrap_or(DEFAULT_MAC));
                if !mac.is_unicast() {
                    return Err(Error::invalid("MAC address must be unicast"));
                }
                HardwareAddress::Ethernet(mac)
            }
            #[cfg(feature = "medium-ip")]
            Medium::Ip => HardwareAddress::Ip,
            #[allow(unreachable_patterns)]
            _ => {
                return Err(Error::unsupported(
                    "device medium must be Ethernet or IP (IP needs feature medium-ip)",
                ));
            }
        };
        let pool = config.pool;
        if pool.tcp_rx == 0 || pool.tcp_tx == 0 || pool.tcp_rx > (1 << 30) {
            return Err(Error::invalid("TCP buffer sizes must be within 1..=1 GiB"));
        }
        if pool.udp_packets == 0 || pool.raw_packets == 0 {
            return Err(Error::invalid("packet queue lengths must be at least 1"));
        }
        if pool.sockets_needed() > usize::from(u16::MAX) {
            return Err(Error::invalid("too many sockets in the pool"));
        }
        let mut ic = IfaceConfig::new(hw);
        ic.random_seed = config.random_seed;
        let now = clock.now();
        let mut iface = Interface::new(ic, &mut device, now);
        let mut addr_err = None;
        iface.update_ip_addrs(|addrs| {
            for cidr in &config.addresses {
                let ip = cidr.addr;
                let smol = match cidr.to_smol() {
                    Ok(c) => c,
                    Err(e) => {
                        addr_err = Some(e);
                        continue;
                    }
                };
                if ip.is_unspecified() || ip.is_multicast() {
                    addr_err = Some(Error::invalid("interface address must be unicast"));
                } else if addrs.push(smol).is_err() {
                    addr_err = Some(Error::new(
                        ErrorKind::OutOfMemory,
                        "too many interface addresses",
                    ));
                }
            }
        });
        if let Some(e) = addr_err {
            return Err(e);
        }
        if let Some(gw) = config.gateway_v4 {
            iface
                .routes_mut()
                .add_default_ipv4_route(gw)
                .map_err(|_| Error::new(ErrorKind::OutOfMemory, "route table full"))?;
        }
        #[cfg(not(feature = "proto-ipv6"))]
        if config.gateway_v6.is_some() {
            return Err(Error::unsupported(
                "IPv6 gateway: IPv6 support not compiled in (feature proto-ipv6)",
            ));
        }
        #[cfg(feature = "proto-ipv6")]
        if let Some(gw) = config.gateway_v6 {
            iface
                .routes_mut()
                .add_default_ipv6_route(gw)
                .map_err(|_| Error::new(ErrorKind::OutOfMemory, "route table full"))?;
        }

        let n = pool.sockets_needed();
        let mut sockets = SocketSet::new(mem.storage(n)?);
        let mut slots = mem.slots(n)?;
        let mut k = 0;
        let mut put = |slots: &mut ManagedSlice<'a, Slot>, h: SocketHandle, kind: Kind| {
            if let Some(s) = slots.get_mut(k) {
                *s = Slot::EMPTY;
                s.handle = Some(h);
                s.kind = kind;
            }
            k += 1;
        };
        for _ in 0..pool.tcp {
            let rx = tcp::SocketBuffer::new(mem.bytes(pool.tcp_rx)?);
            let tx = tcp::SocketBuffer::new(mem.bytes(pool.tcp_tx)?);
            let h = sockets.add(tcp::Socket::new(rx, tx));
            put(&mut slots, h, Kind::Tcp);
        }
        #[cfg(feature = "udp")]
        for _ in 0..pool.udp {
            let rx =
                udp::PacketBuffer::new(mem.udp_meta(pool.udp_packets)?, mem.bytes(pool.udp_rx)?);
            let tx =
                udp::PacketBuffer::new(mem.udp_meta(pool.udp_packets)?, mem.bytes(pool.udp_tx)?);
            let h = sockets.add(udp::Socket::new(rx, tx));
            put(&mut slots, h, Kind::Udp);
        }
        #[cfg(feature = "raw")]
        for (version, proto, kind) in [
            (IpVersion::Ipv4, IpProtocol::Icmp, Kind::RawV4),
            #[cfg(feature = "proto-ipv6")]
            (IpVersion::Ipv6, IpProtocol::Icmpv6, Kind::RawV6),
        ] {
            for _ in 0..pool.raw {
                let rx = raw::PacketBuffer::new(
                    mem.raw_meta(pool.raw_packets)?,
                    mem.bytes(pool.raw_bytes)?,
                );
                let tx = raw::PacketBuffer::new(
                    mem.raw_meta(pool.raw_packets)?,
                    mem.bytes(pool.raw_bytes)?,
                );
                let h = sockets.add(raw::Socket::new(Some(version), Some(proto), rx, tx));
                put(&mut slots, h, kind);
            }
        }
        let mut dns_servers = heapless::Vec::new();
        for s in &config.dns_servers {
            let _ = dns_servers.push(smol_ip(*s)?);
        }
        // The DNS socket only when a server is configured or DHCPv4 may provide one.
        #[cfg(feature = "dns")]
        let dns = if dns_servers.is_empty() && !config.dhcpv4 {
            None
        } else {
            Some(sockets.add(dns::Socket::new(&dns_servers, mem.dns_queries())))
        };
        #[cfg(not(feature = "dns"))]
        let dns = None;
        #[cfg(feature = "dhcpv4")]
        let dhcp = if config.dhcpv4 {
            Some(sockets.add(dhcpv4::Socket::new()))
        } else {
            None
        };
        #[cfg(not(feature = "dhcpv4"))]
        if config.dhcpv4 {
            return Err(Error::unsupported(
                "DHCPv4 support not compiled in (feature dhcpv4)",
            ));
        }
        let span = u64::from(EPHEMERAL_PORTS.1 - EPHEMERAL_PORTS.0) + 1;
        // The remainder is below 16384, so it fits in u16.
        let start = EPHEMERAL_PORTS.0 + (config.random_seed % span) as u16;
        let queue = if config.device_loops_back
            || pool.local_bytes == 0
            || !cfg!(feature = "local-delivery")
        {
            ManagedSlice::Borrowed(&mut [][..])
        } else {
            let frame = caps.max_transmission_unit + 2;
            let bytes = if mem.on_heap() {
                // Heap memory can follow the device: at least two frames of its MTU.
                pool.local_bytes.max(frame.saturating_mul(2))
            } else if pool.local_bytes < frame {
                return Err(Error::invalid(
                    "PoolConfig::local_bytes must be 0 or at least the device MTU + 2",
                ));
            } else {
                pool.local_bytes
            };
            mem.bytes(bytes)?
        };
        let mac = match hw {
            HardwareAddress::Ethernet(m) => Some(m),
            #[allow(unreachable_patterns)]
            _ => None,
        };
        let mut device = crate::local::Local::new(device, queue, mac, config.device_loops_back);
        sync_identity(&mut device, &iface);
        let parked = mem.parking(n)?;
        let mut inner = Inner {
            parked,
            id: stack_id(&slots),
            device,
            iface,
            sockets,
            slots,
            time_wait: heapless::Vec::new(),
            next_tcp_port: start,
            next_udp_port: start,
            next_listener: 1,
            dns,
            #[cfg(feature = "dhcpv4")]
            static_dns: dns_servers.clone(),
            dns_servers,
            // Filled in place after the stack is built (a copy here would be one more large
            // temporary on the caller's stack): see `load_hosts`.
            hosts: heapless::Vec::new(),
            #[cfg(feature = "dhcpv4")]
            dhcp,
            #[cfg(feature = "dhcpv4")]
            dhcp_addr: None,
            #[cfg(feature = "dhcpv4")]
            dhcp_route: false,
            driver_deadline: None,
            runner: crate::wake::RunnerWake::default(),
            ack_delay: config.tcp_ack_delay,
            ingress_budget: ingress_budget_for_mtu(caps.max_transmission_unit),
            drain_budget: drain_budget_for_mtu(caps.max_transmission_unit),
            drain_cut: false,
        };
        inner.park_free();
        Ok(emit(Stack {
            inner: Lock::new(inner),
            #[cfg(feature = "std")]
            driven: core::sync::atomic::AtomicBool::new(false),
            clock,
            waiter,
        }))
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The waiter.
    pub fn waiter(&self) -> &W {
        &self.waiter
    }

    /// Sockets that are open or still closing (occupied pool slots).
    pub fn open_sockets(&self) -> usize {
        self.lock()
            .slots
            .iter()
            .filter(|s| s.kind != Kind::Unused && s.use_ != Use::Free)
            .count()
    }

    /// What the stack knows about a socket: `StaleHandle` if it was closed and freed.
    pub fn socket_info(&self, handle: Handle) -> Result<SocketInfo> {
        let mut g = self.lock();
        let inner = &mut *g;
        if handle.stack != inner.id {
            return Err(Error::stale());
        }
        let slot = inner
            .slots
            .get(usize::from(handle.index))
            .filter(|s| s.generation == handle.generation && s.use_ != Use::Free)
            .copied()
            .ok_or(Error::stale())?;
        let h = slot.handle.ok_or(Error::stale())?;
        let (protocol, local, remote, tcp_state) = match slot.kind {
            Kind::Tcp => {
                let s = inner.sockets.get::<tcp::Socket>(h);
                let local = s.local_endpoint().map(ep_to_std).or(slot.local);
                let remote = s.remote_endpoint().map(ep_to_std).or(slot.peer);
                (Protocol::TCP, local, remote, Some(s.state()))
            }
            Kind::Udp => (Protocol::UDP, slot.local, slot.peer, None),
            Kind::RawV4 => (Protocol::ICMP, None, None, None),
            Kind::RawV6 => (Protocol::ICMPV6, None, None, None),
            Kind::Unused => return Err(Error::stale()),
        };
        Ok(SocketInfo {
            protocol,
            local,
            remote,
            tcp_state,
            closing: slot.use_ == Use::Closing,
        })
    }

    /// The interface's addresses.
    pub fn addresses(&self) -> heapless::Vec<crate::Cidr, 8> {
        let g = self.lock();
        let mut v = heapless::Vec::new();
        for c in g.iface.ip_addrs() {
            let _ = v.push(crate::Cidr {
                addr: c.address().into(),
                prefix_len: c.prefix_len(),
            });
        }
        v
    }

    /// Run `f` with the device (for example to inspect a test device). The stack is locked
    /// meanwhile.
    pub fn with_device<R>(&self, f: impl FnOnce(&mut D) -> R) -> R {
        f(&mut self.lock().device.inner)
    }

    pub(crate) fn lock(&self) -> Guard<'_, Inner<'a, D>> {
        #[cfg(feature = "std")]
        {
            self.inner.lock().unwrap_or_else(|e| e.into_inner())
        }
        #[cfg(not(feature = "std"))]
        {
            self.inner.borrow_mut()
        }
    }
}

#[cfg(feature = "std")]
impl<D: Device, C: Clock, W: Wait> Stack<'static, D, C, W> {
    /// A stack whose sockets and buffers are allocated on the heap, sized by `config.pool`.
    pub fn new_alloc(device: D, clock: C, waiter: W, config: &Config) -> Result<Self> {
        let stack = Self::build(
            device,
            clock,
            waiter,
            config,
            &mut crate::resources::Heap,
            |stack| stack,
        )?;
        stack.load_hosts(config);
        Ok(stack)
    }
}

/// Tell the local-delivery wrapper the interface's addresses.
pub(crate) fn sync_identity<D: Device>(device: &mut crate::local::Local<'_, D>, iface: &Interface) {
    let mut addrs: heapless::Vec<IpAddress, 4> = heapless::Vec::new();
    for c in iface.ip_addrs() {
        let _ = addrs.push(c.address());
    }
    device.set_addrs(&addrs);
}

/// `Unsupported` if `dst` is one of the stack's own addresses and it cannot deliver to them
/// (local delivery off, or `::1` on an Ethernet device).
fn check_local_delivery<D: Device>(g: &Inner<'_, D>, dst: &IpAddr) -> Result<()> {
    if !g.is_local(dst) {
        return Ok(());
    }
    if !g.device.delivers_locally() {
        return Err(Error::unsupported(
            "destination is this stack's own address and local delivery is off \
             (PoolConfig::local_bytes is 0)",
        ));
    }
    if matches!(dst, IpAddr::V6(a) if a.is_loopback()) && !g.device.delivers_ipv6_loopback() {
        return Err(Error::unsupported(
            "destination is ::1 on an Ethernet device: smoltcp does not resolve the IPv6 \
             loopback address (use the interface's own IPv6 address, or a device that loops \
             back)",
        ));
    }
    Ok(())
}

impl<'a, D: Device> Inner<'a, D> {
    /// Whether `ip` is one of the interface's addresses.
    pub(crate) fn is_local(&self, ip: &IpAddr) -> bool {
        smol_ip(*ip).is_ok_and(|a| self.iface.has_ip_addr(a))
    }

    /// `AddrNotAvailable` unless `ip` is unspecified or local.
    pub(crate) fn check_bind_addr(&self, ip: &IpAddr) -> Result<()> {
        if ip.is_unspecified() || self.is_local(ip) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::AddrNotAvailable,
                "bind: address is not one of the interface's",
            ))
        }
    }

    /// Whether `dst` is on a directly attached network (or local).
    pub(crate) fn on_link(&self, dst: &IpAddr) -> bool {
        let Ok(d) = smol_ip(*dst) else { return false };
        self.iface.has_ip_addr(d) || self.iface.ip_addrs().iter().any(|c| c.contains_addr(&d))
    }

    /// `NetworkUnreachable` unless `dst` is on-link or a default route of its family exists.
    /// A destination that is one of the stack's own addresses needs local delivery
    /// (`Unsupported` without it).
    pub(crate) fn check_route(&self, dst: &IpAddr, dont_route: bool) -> Result<()> {
        check_local_delivery(self, dst)?;
        if self.on_link(dst) {
            return Ok(());
        }
        if dont_route {
            return Err(Error::new(
                ErrorKind::NetworkUnreachable,
                "DONTROUTE: destination is not on a directly attached network",
            ));
        }
        let routes = self.iface.routes();
        let has = match dst {
            IpAddr::V4(_) => routes.get_default_ipv4_route().is_some(),
            #[cfg(feature = "proto-ipv6")]
            IpAddr::V6(_) => routes.get_default_ipv6_route().is_some(),
            #[cfg(not(feature = "proto-ipv6"))]
            IpAddr::V6(_) => false,
        };
        if has {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::NetworkUnreachable,
                "no route to the destination network (off-link and no gateway)",
            ))
        }
    }

    /// The source address for `dst` (`AddrNotAvailable` if the interface has none of its
    /// family).
    pub(crate) fn source_for(&self, dst: &IpAddr) -> Result<IpAddr> {
        self.iface
            .get_source_address(&smol_ip(*dst)?)
            .map(Into::into)
            .ok_or(Error::new(
                ErrorKind::AddrNotAvailable,
                "no local address of the destination's family",
            ))
    }

    /// The largest IP payload the device carries.
    #[cfg(any(feature = "udp", feature = "raw"))]
    pub(crate) fn ip_mtu(&self) -> usize {
        self.device.capabilities().ip_mtu()
    }
}
