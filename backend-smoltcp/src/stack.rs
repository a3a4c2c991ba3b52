//! The stack: one smoltcp interface, its device, a fixed pool of sockets, and the
//! [`unisock::Stack`] implementation (for `&Stack`).
//!
//! All state lives behind one lock (a `Mutex` under `std`, a `RefCell` without it). Every
//! socket call takes the lock, does its operation, then polls the interface until nothing
//! changes (so what it queued is sent, and frames that come back through the device, as on the
//! in-process loopback, are processed before anyone sleeps) and releases the lock. A blocking
//! call that cannot complete polls once more, then waits **without** the lock: on the stack's
//! condition variable when a background driver runs (`std`, [`Stack::set_driven`]; the driver
//! is woken only when an operation needs it earlier than it planned), otherwise by calling
//! [`Wait::wait`] until the interface's next deadline and polling itself.
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
//! ([`TIME_WAIT_ENTRIES`] entries, [`TIME_WAIT`] long) that ephemeral port selection avoids,
//! and its socket is released at once (smoltcp then sends one RST for the finished
//! connection, which peers ignore). Orphaned connections still closing after
//! [`ORPHAN_LIMIT`] are aborted, so [`Stack::open_sockets`] always returns to zero.

use core::net::{IpAddr, SocketAddr};
use core::time::Duration;

use managed::ManagedSlice;
use smoltcp::iface::{
    Config as IfaceConfig, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
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
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpEndpoint};
#[cfg(feature = "raw")]
use smoltcp::wire::{IpProtocol, IpVersion};
use unisock::{Domain, ErrorKind, Protocol};

use crate::clock::{Clock, from_smol, to_smol};
use crate::config::{Config, HostEntry, MAX_DNS_SERVERS, MAX_HOSTS};
use crate::error::{Error, Result};
use crate::log::debug;
use crate::resources::{Borrowed, Memory, Resources};
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
/// How long a dropped connection may take to close gracefully before it is aborted.
pub const ORPHAN_LIMIT: Duration = Duration::from_secs(30);
/// How long an aborted connection's slot waits for its RST to be sent before it is freed
/// anyway.
pub const RST_GRACE: Duration = Duration::from_secs(3);
/// The default bound on a blocking `connect` (smoltcp retries a SYN forever).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(75);
/// First and last ephemeral port.
pub const EPHEMERAL_PORTS: (u16, u16) = (49152, 65535);

/// The MAC address used on Ethernet devices when the configuration names none (locally
/// administered, unicast).
pub const DEFAULT_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x75, 0x6e, 0x69];

const POLL_ROUNDS: usize = 64;
/// Frames processed per polling round before transmitting (bounds one round's work).
const INGRESS_BUDGET: usize = 256;

/// What kind of pool socket a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    not(all(feature = "udp", feature = "raw", feature = "proto-ipv6")),
    allow(dead_code)
)]
pub(crate) enum Kind {
    Unused,
    Tcp,
    Udp,
    RawV4,
    RawV6,
}

/// Why a connection reached CLOSED without a local abort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseCause {
    /// While processing a received segment (an RST).
    Peer,
    /// While transmitting: smoltcp's retransmission or keep-alive timeout.
    Timer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    Free,
    Open,
    Closing,
}

/// Per-socket options kept by the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opts {
    pub nodelay: bool,
    pub keepalive: Option<Duration>,
    pub ttl: Option<u8>,
    pub linger: Option<Duration>,
    pub reuse_addr: bool,
    pub read_timeout: Option<Duration>,
    pub write_timeout: Option<Duration>,
}

/// The value of a read or write timeout option: `None` (wait forever) or a non-zero limit.
pub(crate) fn timeout_value(v: Option<Duration>) -> Result<Option<Duration>> {
    if v.is_some_and(|d| d.is_zero()) {
        return Err(Error::invalid("a zero timeout is not allowed; use None"));
    }
    Ok(v)
}

impl Opts {
    const DEFAULT: Opts = Opts {
        nodelay: false,
        keepalive: None,
        ttl: None,
        linger: None,
        reuse_addr: false,
        read_timeout: None,
        write_timeout: None,
    };
}

/// One pool entry: a smoltcp socket and the backend's bookkeeping for it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub handle: Option<SocketHandle>,
    pub kind: Kind,
    pub generation: u32,
    pub use_: Use,
    pub since: Instant,
    pub opts: Opts,
    /// Bound local endpoint (TCP before connect/listen; UDP).
    pub local: Option<SocketAddr>,
    /// Remote endpoint (TCP connection, UDP connected peer).
    pub peer: Option<SocketAddr>,
    pub v6: bool,
    /// Non-zero: armed by (or accepted from) the listener with this id, not yet accepted.
    pub listener: u32,
    pub shut_rd: bool,
    pub shut_wr: bool,
    pub aborted: bool,
    pub established: bool,
    pub closed_by: Option<CloseCause>,
}

impl Slot {
    pub(crate) const EMPTY: Slot = Slot {
        handle: None,
        kind: Kind::Unused,
        generation: 0,
        use_: Use::Free,
        since: Instant::ZERO,
        opts: Opts::DEFAULT,
        local: None,
        peer: None,
        v6: false,
        listener: 0,
        shut_rd: false,
        shut_wr: false,
        aborted: false,
        established: false,
        closed_by: None,
    };

    fn reset(&mut self) {
        self.use_ = Use::Free;
        self.opts = Opts::DEFAULT;
        self.local = None;
        self.peer = None;
        self.v6 = false;
        self.listener = 0;
        self.shut_rd = false;
        self.shut_wr = false;
        self.aborted = false;
        self.established = false;
        self.closed_by = None;
    }
}

/// A generation-checked name of one socket of a stack.
///
/// Every socket type has a `handle()`; [`Stack::socket_info`] looks one up. After the socket
/// is closed and its slot reused, the old handle fails with `StaleHandle`: generations are
/// 32-bit and only repeat after 2^32 reuses of one slot. A handle of another stack is
/// `StaleHandle` too (handles carry their stack's id: a process-wide counter under `std`, the
/// address of the slot memory without it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Handle {
    pub(crate) stack: u32,
    pub(crate) index: u16,
    pub(crate) generation: u32,
}

/// What [`Stack::socket_info`] reports about a live socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketInfo {
    /// TCP, UDP, ICMP or ICMPv6.
    pub protocol: Protocol,
    /// The local endpoint, if bound.
    pub local: Option<SocketAddr>,
    /// The remote endpoint, if connected.
    pub remote: Option<SocketAddr>,
    /// The TCP state (`None` for other protocols).
    pub tcp_state: Option<tcp::State>,
    /// Whether the user has dropped it and it is still closing.
    pub closing: bool,
}

#[derive(Debug, Clone, Copy)]
struct TimeWaitEntry {
    local: IpEndpoint,
    remote: IpEndpoint,
    until: Instant,
}

/// Everything behind the stack's lock.
pub(crate) struct Inner<'a, D> {
    pub id: u32,
    pub device: crate::local::Local<'a, D>,
    pub iface: Interface,
    pub sockets: SocketSet<'a>,
    pub slots: ManagedSlice<'a, Slot>,
    time_wait: heapless::Vec<TimeWaitEntry, TIME_WAIT_ENTRIES>,
    next_tcp_port: u16,
    next_udp_port: u16,
    next_listener: u32,
    /// The DNS socket, if DNS servers are configured or DHCPv4 may provide them.
    pub dns: Option<SocketHandle>,
    pub dns_servers: heapless::Vec<IpAddress, MAX_DNS_SERVERS>,
    #[cfg(feature = "dhcpv4")]
    pub static_dns: heapless::Vec<IpAddress, MAX_DNS_SERVERS>,
    pub hosts: heapless::Vec<HostEntry, MAX_HOSTS>,
    #[cfg(feature = "dhcpv4")]
    dhcp: Option<SocketHandle>,
    #[cfg(feature = "dhcpv4")]
    dhcp_addr: Option<smoltcp::wire::Ipv4Cidr>,
    #[cfg(feature = "dhcpv4")]
    dhcp_route: bool,
    /// When the sleeping driver plans to poll next (`None`: awake, or no driver).
    driver_deadline: Option<Instant>,
    ack_delay: Option<Duration>,
    /// Frames received per round before an egress pass (see [`ingress_budget_for_mtu`]).
    ingress_budget: usize,
}

/// The ACK policy, by device MTU (Ethernet header included). A bulk receiver acknowledges
/// once per egress pass; smoltcp's own `Interface::poll` drains the whole receive queue
/// before its egress pass, so over TAP it ACKs about once per 150 segments and the sender
/// waits for window. With large frames (16 KiB and up) an egress pass after every 2 frames
/// keeps ACKs flowing (kernel-to-smoltcp over TAP at MTU 65000: 1.07x, interleaved against
/// the 256-frame budget); with small frames the extra passes cost more than they gain (at MTU
/// 1500 the same policy halved throughput, at 9000 it cost a fifth), so up to
/// [`INGRESS_BUDGET`] frames are taken first.
pub(crate) const fn ingress_budget_for_mtu(mtu: usize) -> usize {
    if mtu >= 16 * 1024 { 2 } else { INGRESS_BUDGET }
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
    inner: Lock<Inner<'a, D>>,
    #[cfg(feature = "std")]
    cond: std::sync::Condvar,
    #[cfg(feature = "std")]
    driven: core::sync::atomic::AtomicBool,
    clock: C,
    waiter: W,
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
        let inner = Inner {
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
            ack_delay: config.tcp_ack_delay,
            ingress_budget: ingress_budget_for_mtu(caps.max_transmission_unit),
        };
        Ok(emit(Stack {
            inner: Lock::new(inner),
            #[cfg(feature = "std")]
            cond: std::sync::Condvar::new(),
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

    /// Process frames and timers at time `now`, until nothing changes. Returns whether any
    /// socket may have changed state. This is the superloop entry point: call it from the
    /// application's main loop, then use the sockets' `try_*` methods.
    pub fn poll_at(&self, now: Instant) -> bool {
        let mut g = self.lock();
        let changed = g.poll_drain(now);
        self.finish(g, now, changed);
        changed
    }

    /// [`poll_at`](Stack::poll_at) with the stack's clock.
    pub fn poll(&self) -> bool {
        let now = self.clock.now();
        self.poll_at(now)
    }

    /// How long until the interface next needs polling (`None`: only when a frame arrives).
    pub fn poll_delay(&self) -> Option<Duration> {
        let now = self.clock.now();
        let mut g = self.lock();
        let g = &mut *g;
        g.iface.poll_delay(now, &g.sockets).map(from_smol)
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

    /// Run `f` with the device (for example to inspect a test device). The stack is locked
    /// meanwhile.
    pub fn with_device<R>(&self, f: impl FnOnce(&mut D) -> R) -> R {
        f(&mut self.lock().device.inner)
    }

    /// Declare that a background driver polls this stack (`std`): blocking calls then wait on
    /// the stack's condition variable instead of polling themselves.
    /// [`StdStack`](crate::StdStack) sets this.
    #[cfg(feature = "std")]
    pub fn set_driven(&self, driven: bool) {
        self.driven
            .store(driven, core::sync::atomic::Ordering::SeqCst);
        self.notify();
    }

    fn is_driven(&self) -> bool {
        #[cfg(feature = "std")]
        {
            self.driven.load(core::sync::atomic::Ordering::SeqCst)
        }
        #[cfg(not(feature = "std"))]
        {
            false
        }
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

    #[cfg(feature = "std")]
    fn notify(&self) {
        #[cfg(feature = "std")]
        self.cond.notify_all();
        self.waiter.wake();
    }

    /// Run a non-blocking operation: poll, `op`, poll.
    pub(crate) fn with<T>(
        &self,
        op: impl FnOnce(&mut Inner<'a, D>, Instant) -> Result<T>,
    ) -> Result<T> {
        let now = self.clock.now();
        let mut g = self.lock();
        let r = op(&mut g, now);
        self.finish(g, now, false);
        r
    }

    /// After an operation: push its effects out (poll until nothing changes), then wake
    /// blocked callers if anything changed and the driver if it now has an earlier deadline.
    #[inline(never)]
    fn finish(&self, mut g: Guard<'_, Inner<'a, D>>, now: Instant, changed: bool) {
        let changed = g.poll_drain(now) || changed;
        let wake_driver = self.driver_needs_wake(&mut g, now);
        drop(g);
        #[cfg(feature = "std")]
        if changed {
            self.cond.notify_all();
        }
        if wake_driver || (changed && !self.is_driven()) {
            self.waiter.wake();
        }
    }

    /// Whether the sleeping driver planned to wake later than the interface now needs.
    fn driver_needs_wake(&self, g: &mut Inner<'a, D>, now: Instant) -> bool {
        if !self.is_driven() {
            return false;
        }
        let Some(planned) = g.driver_deadline else {
            // The driver is awake and will compute its next deadline itself.
            return false;
        };
        let inner = &mut *g;
        inner
            .iface
            .poll_at(now, &inner.sockets)
            .is_some_and(|next| next < planned)
    }

    /// Run `op` until it stops failing with `WouldBlock`, waiting without the lock in
    /// between; `TimedOut` (with `what`) once `timeout` has passed.
    pub(crate) fn block<T>(
        &self,
        timeout: Option<Duration>,
        what: &'static str,
        mut op: impl FnMut(&mut Inner<'a, D>, Instant) -> Result<T>,
    ) -> Result<T> {
        let start = self.clock.now();
        let deadline = timeout.map(|t| start + to_smol(t));
        let mut g = self.lock();
        loop {
            let now = self.clock.now();
            match op(&mut g, now) {
                Err(e) if e.is_would_block() => {}
                r => {
                    self.finish(g, now, false);
                    return r;
                }
            }
            g = self.idle(g, now, deadline, what)?;
        }
    }

    /// The part of [`block`](Stack::block) that does not depend on the operation (kept out
    /// of line, so each blocking call site does not carry a copy): poll, then either report
    /// the timeout, retry at once if anything changed, or wait.
    #[inline(never)]
    fn idle<'g>(
        &'g self,
        mut g: Guard<'g, Inner<'a, D>>,
        now: Instant,
        deadline: Option<Instant>,
        what: &'static str,
    ) -> Result<Guard<'g, Inner<'a, D>>> {
        // Fresh frames or timers may unblock the operation: poll before sleeping.
        let changed = g.poll_drain(now);
        let remaining = match deadline {
            Some(d) if now >= d => {
                self.finish(g, now, changed);
                return Err(Error::new(ErrorKind::TimedOut, what));
            }
            Some(d) => Some(from_smol(d - now)),
            None => None,
        };
        if changed {
            #[cfg(feature = "std")]
            self.cond.notify_all();
            if !self.is_driven() {
                self.waiter.wake();
            }
            return Ok(g);
        }
        Ok(self.wait(g, now, remaining))
    }

    fn wait<'g>(
        &'g self,
        mut g: Guard<'g, Inner<'a, D>>,
        now: Instant,
        remaining: Option<Duration>,
    ) -> Guard<'g, Inner<'a, D>> {
        #[cfg(feature = "std")]
        if self.is_driven() {
            if self.driver_needs_wake(&mut g, now) {
                self.waiter.wake();
            }
            let park = Duration::from_millis(50);
            let t = remaining.map_or(park, |r| r.min(park));
            return self
                .cond
                .wait_timeout(g, t)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        let inner = &mut *g;
        let delay = inner.iface.poll_delay(now, &inner.sockets).map(from_smol);
        let t = match (delay, remaining) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        };
        drop(g);
        self.waiter.wait(t);
        self.lock()
    }

    /// One round of the background driver (`std`): poll until nothing changes, then return
    /// how long to sleep (at most `cap`), recording the planned wake-up so that operations
    /// needing an earlier one wake the driver.
    #[cfg(feature = "std")]
    pub(crate) fn drive_once(&self, cap: Duration) -> Duration {
        let now = self.clock.now();
        let mut g = self.lock();
        g.driver_deadline = None;
        let changed = g.poll_drain(now);
        let inner = &mut *g;
        let t = inner
            .iface
            .poll_delay(now, &inner.sockets)
            .map_or(cap, |d| from_smol(d).min(cap));
        inner.driver_deadline = Some(now + to_smol(t));
        drop(g);
        if changed {
            self.cond.notify_all();
        }
        t
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

/// A number telling this stack's handles from other stacks'.
#[cfg(feature = "std")]
fn stack_id(_slots: &[Slot]) -> u32 {
    static NEXT: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(1);
    NEXT.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
}

/// A number telling this stack's handles from other stacks': the slot memory's address
/// (no atomic read-modify-write is needed, so it works on `thumbv6m`). Two live stacks never
/// share slot memory.
#[cfg(not(feature = "std"))]
fn stack_id(slots: &[Slot]) -> u32 {
    // Truncation is fine: only distinctness among live stacks matters.
    (slots.as_ptr() as usize as u32) | 1
}

/// Tell the local-delivery wrapper the interface's addresses.
fn sync_identity<D: Device>(device: &mut crate::local::Local<'_, D>, iface: &Interface) {
    let mut addrs: heapless::Vec<IpAddress, 4> = heapless::Vec::new();
    for c in iface.ip_addrs() {
        let _ = addrs.push(c.address());
    }
    device.set_addrs(&addrs);
}

/// `Unsupported` if `dst` is one of the stack's own addresses and it cannot deliver to them.
fn check_local_delivery<D: Device>(g: &Inner<'_, D>, dst: &IpAddr) -> Result<()> {
    if g.is_local(dst) && !g.device.delivers_locally() {
        return Err(Error::unsupported(
            "destination is this stack's own address and local delivery is off \
             (PoolConfig::local_bytes is 0)",
        ));
    }
    Ok(())
}

/// `ip` in smoltcp's type (`Unsupported` for IPv6 without the `proto-ipv6` feature).
pub(crate) fn smol_ip(ip: IpAddr) -> Result<IpAddress> {
    match ip {
        IpAddr::V4(a) => Ok(IpAddress::Ipv4(a)),
        #[cfg(feature = "proto-ipv6")]
        IpAddr::V6(a) => Ok(IpAddress::Ipv6(a)),
        #[cfg(not(feature = "proto-ipv6"))]
        IpAddr::V6(_) => Err(Error::unsupported(
            "IPv6 support not compiled in (feature proto-ipv6)",
        )),
    }
}

/// `Unsupported` for an IPv6 domain without the `proto-ipv6` feature, `InvalidInput` for
/// UNIX.
pub(crate) fn check_domain(domain: Domain, what: &'static str) -> Result<()> {
    match domain {
        Domain::Unix => Err(Error::invalid(what)),
        #[cfg(not(feature = "proto-ipv6"))]
        Domain::Ipv6 => Err(Error::unsupported(
            "IPv6 support not compiled in (feature proto-ipv6)",
        )),
        _ => Ok(()),
    }
}

pub(crate) fn ep_to_std(ep: IpEndpoint) -> SocketAddr {
    SocketAddr::new(ep.addr.into(), ep.port)
}

fn overlaps(a: IpAddr, b: IpAddr) -> bool {
    a.is_unspecified() || b.is_unspecified() || a == b
}

impl<'a, D: Device> Inner<'a, D> {
    /// Poll until nothing changes (bounded), reaping closing sockets between rounds.
    pub(crate) fn poll_drain(&mut self, now: Instant) -> bool {
        let mut changed = false;
        for _ in 0..POLL_ROUNDS {
            // `Interface::poll`, split so that a connection closed while processing received
            // segments (an RST) can be told apart from one closed by smoltcp's own timers
            // (retransmission or keep-alive timeout), which only act while transmitting.
            self.iface.poll_maintenance(now);
            let mut work = false;
            let mut ingress = false;
            for _ in 0..self.ingress_budget {
                match self
                    .iface
                    .poll_ingress_single(now, &mut self.device, &mut self.sockets)
                {
                    PollIngressSingleResult::None => break,
                    PollIngressSingleResult::PacketProcessed => work = true,
                    PollIngressSingleResult::SocketStateChanged => ingress = true,
                }
            }
            if ingress {
                self.note_closes(CloseCause::Peer);
            }
            let mut egress = false;
            for _ in 0..POLL_ROUNDS {
                match self
                    .iface
                    .poll_egress(now, &mut self.device, &mut self.sockets)
                {
                    PollResult::None => break,
                    PollResult::SocketStateChanged => egress = true,
                }
            }
            if egress {
                self.note_closes(CloseCause::Timer);
            }
            let kept = self.housekeeping(now);
            if !(work || ingress || egress || kept) {
                return changed;
            }
            changed = true;
        }
        // Rounds ran out with work left. One more receive attempt: a device that holds
        // transmissions until its receive queue is empty (the TAP device with offloads
        // merges TCP segments) then sends what it holds instead of waiting for the next poll.
        let _ = self
            .iface
            .poll_ingress_single(now, &mut self.device, &mut self.sockets);
        changed
    }

    /// Record why open connections that just reached CLOSED got there.
    fn note_closes(&mut self, cause: CloseCause) {
        for slot in self.slots.iter_mut() {
            if slot.kind != Kind::Tcp
                || slot.use_ != Use::Open
                || slot.closed_by.is_some()
                || slot.peer.is_none()
            {
                continue;
            }
            let Some(h) = slot.handle else { continue };
            if self.sockets.get::<tcp::Socket>(h).state() == tcp::State::Closed {
                slot.closed_by = Some(cause);
            }
        }
    }

    fn housekeeping(&mut self, now: Instant) -> bool {
        let mut changed = false;
        self.time_wait.retain(|e| e.until > now);
        for slot in self.slots.iter_mut() {
            let Some(h) = slot.handle else { continue };
            if slot.kind != Kind::Tcp || slot.use_ == Use::Free {
                continue;
            }
            let s = self.sockets.get_mut::<tcp::Socket>(h);
            if slot.use_ == Use::Open {
                // Remember that the handshake completed, so that a later CLOSED is reported
                // as a reset rather than a refusal even if nobody looked in between.
                if slot.peer.is_some()
                    && !matches!(
                        s.state(),
                        tcp::State::Closed
                            | tcp::State::Listen
                            | tcp::State::SynSent
                            | tcp::State::SynReceived
                    )
                {
                    slot.established = true;
                }
                if slot.shut_rd && s.can_recv() {
                    let _ = s.recv(|b| (b.len(), ()));
                    changed = true;
                }
                continue;
            }
            // Closing: discard what arrives so the close is not stalled by a full window.
            if s.can_recv() {
                let _ = s.recv(|b| (b.len(), ()));
            }
            match s.state() {
                tcp::State::Closed if s.local_endpoint().is_none() => {
                    debug!("slot freed");
                    slot.reset();
                    changed = true;
                }
                tcp::State::Closed if now >= slot.since + to_smol(RST_GRACE) => {
                    // The final RST could not be sent (for example, the peer's link-layer
                    // address never resolved). Free the slot anyway: reusing the socket
                    // resets it, which drops the pending RST.
                    debug!("slot freed without its RST");
                    slot.reset();
                    changed = true;
                }
                tcp::State::Closed => {}
                tcp::State::TimeWait => {
                    if let (Some(local), Some(remote)) = (s.local_endpoint(), s.remote_endpoint()) {
                        if self.time_wait.is_full()
                            && let Some((i, _)) = self
                                .time_wait
                                .iter()
                                .enumerate()
                                .min_by_key(|(_, e)| e.until)
                        {
                            self.time_wait.swap_remove(i);
                        }
                        let _ = self.time_wait.push(TimeWaitEntry {
                            local,
                            remote,
                            until: now + to_smol(TIME_WAIT),
                        });
                    }
                    s.abort();
                    changed = true;
                }
                _ if now >= slot.since + to_smol(ORPHAN_LIMIT) => {
                    s.abort();
                    changed = true;
                }
                _ => {}
            }
        }
        #[cfg(feature = "dhcpv4")]
        if self.dhcp_poll() {
            changed = true;
        }
        changed
    }

    #[cfg(feature = "dhcpv4")]
    fn dhcp_poll(&mut self) -> bool {
        let Some(h) = self.dhcp else { return false };
        let event = match self.sockets.get_mut::<dhcpv4::Socket>(h).poll() {
            None => return false,
            Some(dhcpv4::Event::Configured(cfg)) => {
                Some((cfg.address, cfg.router, cfg.dns_servers))
            }
            Some(dhcpv4::Event::Deconfigured) => None,
        };
        let old = self.dhcp_addr.take();
        self.iface.update_ip_addrs(|addrs| {
            if let Some(old) = old {
                addrs.retain(|c| *c != smoltcp::wire::IpCidr::Ipv4(old));
            }
        });
        if self.dhcp_route {
            self.iface.routes_mut().remove_default_ipv4_route();
            self.dhcp_route = false;
        }
        let mut servers = self.static_dns.clone();
        if let Some((addr, router, dns)) = event {
            debug!("DHCPv4 lease configured");
            let mut pushed = false;
            self.iface.update_ip_addrs(|addrs| {
                pushed = addrs.push(smoltcp::wire::IpCidr::Ipv4(addr)).is_ok();
            });
            if pushed {
                self.dhcp_addr = Some(addr);
            }
            if let Some(r) = router
                && self.iface.routes().get_default_ipv4_route().is_none()
            {
                self.dhcp_route = self.iface.routes_mut().add_default_ipv4_route(r).is_ok();
            }
            for s in dns.iter() {
                let _ = servers.push(IpAddress::Ipv4(*s));
            }
        } else {
            debug!("DHCPv4 lease lost");
        }
        sync_identity(&mut self.device, &self.iface);
        self.dns_servers = servers;
        #[cfg(feature = "dns")]
        if let Some(dns) = self.dns {
            let servers = self.dns_servers.clone();
            self.sockets
                .get_mut::<dns::Socket>(dns)
                .update_servers(&servers);
        }
        true
    }

    /// Take a free slot of `kind` (`OutOfMemory` if none).
    pub(crate) fn alloc(&mut self, kind: Kind, now: Instant) -> Result<Handle> {
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if slot.kind != kind || slot.use_ != Use::Free {
                continue;
            }
            let Some(h) = slot.handle else { continue };
            slot.reset();
            slot.generation = slot.generation.wrapping_add(1).max(1);
            slot.use_ = Use::Open;
            slot.since = now;
            match kind {
                Kind::Tcp => {
                    let s = self.sockets.get_mut::<tcp::Socket>(h);
                    s.set_nagle_enabled(true);
                    s.set_keep_alive(None);
                    s.set_hop_limit(None);
                    s.set_timeout(None);
                    s.set_ack_delay(self.ack_delay.map(to_smol));
                }
                #[cfg(feature = "udp")]
                Kind::Udp => {
                    let s = self.sockets.get_mut::<udp::Socket>(h);
                    s.close();
                    s.set_hop_limit(None);
                }
                #[cfg(feature = "raw")]
                Kind::RawV4 | Kind::RawV6 => {
                    let s = self.sockets.get_mut::<raw::Socket>(h);
                    while s.recv().is_ok() {}
                }
                _ => {}
            }
            let index = u16::try_from(i).map_err(|_| Error::stale())?;
            return Ok(Handle {
                stack: self.id,
                index,
                generation: slot.generation,
            });
        }
        Err(Error::new(
            ErrorKind::OutOfMemory,
            match kind {
                Kind::Tcp => "no free TCP socket in the pool",
                Kind::Udp => "no free UDP socket in the pool",
                _ => "no free raw socket in the pool",
            },
        ))
    }

    /// The open slot `h` names (`StaleHandle` otherwise).
    pub(crate) fn slot(&mut self, h: Handle) -> Result<&mut Slot> {
        if h.stack != self.id {
            return Err(Error::stale());
        }
        self.slots
            .get_mut(usize::from(h.index))
            .filter(|s| s.generation == h.generation && s.use_ == Use::Open)
            .ok_or(Error::stale())
    }

    pub(crate) fn tcp(&mut self, h: Handle) -> Result<(&mut Slot, &mut tcp::Socket<'a>)> {
        if h.stack != self.id {
            return Err(Error::stale());
        }
        let slot = self
            .slots
            .get_mut(usize::from(h.index))
            .filter(|s| s.generation == h.generation && s.use_ == Use::Open && s.kind == Kind::Tcp)
            .ok_or(Error::stale())?;
        let sh = slot.handle.ok_or(Error::stale())?;
        Ok((slot, self.sockets.get_mut::<tcp::Socket>(sh)))
    }

    #[cfg(feature = "udp")]
    pub(crate) fn udp(&mut self, h: Handle) -> Result<(&mut Slot, &mut udp::Socket<'a>)> {
        if h.stack != self.id {
            return Err(Error::stale());
        }
        let slot = self
            .slots
            .get_mut(usize::from(h.index))
            .filter(|s| s.generation == h.generation && s.use_ == Use::Open && s.kind == Kind::Udp)
            .ok_or(Error::stale())?;
        let sh = slot.handle.ok_or(Error::stale())?;
        Ok((slot, self.sockets.get_mut::<udp::Socket>(sh)))
    }

    #[cfg(feature = "raw")]
    pub(crate) fn raw(&mut self, h: Handle) -> Result<(&mut Slot, &mut raw::Socket<'a>)> {
        if h.stack != self.id {
            return Err(Error::stale());
        }
        let slot = self
            .slots
            .get_mut(usize::from(h.index))
            .filter(|s| {
                s.generation == h.generation
                    && s.use_ == Use::Open
                    && matches!(s.kind, Kind::RawV4 | Kind::RawV6)
            })
            .ok_or(Error::stale())?;
        let sh = slot.handle.ok_or(Error::stale())?;
        Ok((slot, self.sockets.get_mut::<raw::Socket>(sh)))
    }

    /// Close a TCP slot the user dropped: FIN (or RST if `abort`), then let housekeeping free
    /// it once finished.
    pub(crate) fn release_tcp(&mut self, h: Handle, abort: bool, now: Instant) {
        let Ok((slot, s)) = self.tcp(h) else { return };
        if abort || slot.aborted || slot.opts.linger == Some(Duration::ZERO) {
            s.abort();
        } else {
            s.close();
        }
        slot.use_ = Use::Closing;
        slot.listener = 0;
        slot.since = now;
    }

    /// Free a UDP or raw slot at once.
    #[cfg(any(feature = "udp", feature = "raw"))]
    pub(crate) fn release_dgram(&mut self, h: Handle) {
        let Ok(slot) = self.slot(h) else { return };
        let Some(sh) = slot.handle else { return };
        let kind = slot.kind;
        slot.reset();
        match kind {
            #[cfg(feature = "udp")]
            Kind::Udp => self.sockets.get_mut::<udp::Socket>(sh).close(),
            #[cfg(feature = "raw")]
            Kind::RawV4 | Kind::RawV6 => {
                let s = self.sockets.get_mut::<raw::Socket>(sh);
                while s.recv().is_ok() {}
            }
            _ => {
                let _ = sh;
            }
        }
    }

    pub(crate) fn new_listener_id(&mut self) -> u32 {
        let id = self.next_listener;
        self.next_listener = self.next_listener.wrapping_add(1).max(1);
        id
    }

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

    /// The largest IP payload the device carries.
    #[cfg(any(feature = "udp", feature = "raw"))]
    pub(crate) fn ip_mtu(&self) -> usize {
        self.device.capabilities().ip_mtu()
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::ErrorType for &Stack<'_, D, C, W> {
    type Error = Error;
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> unisock::Stack for &'s Stack<'a, D, C, W> {
    type TcpSocket = crate::TcpSocket<'s, 'a, D, C, W>;
    type TcpStream = crate::TcpStream<'s, 'a, D, C, W>;
    type TcpListener = crate::TcpListener<'s, 'a, D, C, W>;
    type UdpSocket = crate::UdpSocket<'s, 'a, D, C, W>;
    type Source = crate::Source;
    type RawSocket = crate::RawSocket<'s, 'a, D, C, W>;

    fn tcp_socket(&self, domain: Domain) -> Result<Self::TcpSocket> {
        crate::TcpSocket::open(self, domain)
    }

    fn udp_socket(&self, domain: Domain) -> Result<Self::UdpSocket> {
        crate::UdpSocket::open(self, domain)
    }

    fn raw_socket(&self, domain: Domain, protocol: Protocol) -> Result<Self::RawSocket> {
        crate::RawSocket::open(self, domain, protocol)
    }

    fn resolve(&self, host: &str) -> Result<unisock::Addresses> {
        crate::resolve::resolve(self, host)
    }

    fn poll_sockets(
        &self,
        items: &mut [unisock::poll::PollItem<crate::Source>],
        timeout: Option<Duration>,
    ) -> Result<usize> {
        self.poll_sockets_in(items, timeout)
    }

    fn open_sockets(&self) -> usize {
        Stack::open_sockets(self)
    }
}
