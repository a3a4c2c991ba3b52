//! Polling the interface: the drain loop (ingress, egress, housekeeping of closing sockets,
//! DHCP), and how calls wait for it: non-blocking operations, blocking operations, and the
//! `std` driver thread's rounds.
//!
//! Every socket call takes the lock, does its operation, then polls the interface until
//! nothing changes (so what it queued is sent, and frames that come back through the device,
//! as on the in-process loopback, are processed before anyone sleeps) and releases the lock.
//! A blocking call that cannot complete polls once more, then waits **without** the lock: when
//! a background driver runs (`std`, [`Stack::set_driven`]) it parks on its own socket's
//! wake-up (`wake.rs`; the driver is woken only when an operation needs it earlier than it
//! planned), otherwise it calls [`Wait::wait`] until the interface's next deadline and polls
//! itself.

use core::task::Waker;
use core::time::Duration;

use smoltcp::iface::{PollIngressSingleResult, PollResult};
use smoltcp::phy::Device;
#[cfg(feature = "dhcpv4")]
use smoltcp::socket::dhcpv4;
#[cfg(all(feature = "dns", feature = "dhcpv4"))]
use smoltcp::socket::dns;
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
#[cfg(feature = "dhcpv4")]
use smoltcp::wire::IpAddress;
use unisock::ErrorKind;

use crate::clock::{Clock, from_smol, to_smol};
use crate::error::{Error, Result};
use crate::log::debug;
use crate::ports::{TIME_WAIT, TimeWaitEntry};
use crate::slot::{CloseCause, Handle, Kind, Use};
#[cfg(feature = "dhcpv4")]
use crate::stack::sync_identity;
use crate::stack::{Guard, Inner, ORPHAN_LIMIT, RST_GRACE, Stack};
use crate::wait::Wait;
#[cfg(feature = "std")]
use crate::wake::RECHECK;

const POLL_ROUNDS: usize = 64;
/// Frames processed per polling round before transmitting (bounds one round's work).
const INGRESS_BUDGET: usize = 256;

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

/// Received bytes (frames times MTU) one drain takes at most before it returns, so that the
/// data it moved is read while still in cache (see [`drain_budget_for_mtu`]).
const DRAIN_BYTES: usize = 128 * 1024;

/// Frames one drain receives at most: [`DRAIN_BYTES`] worth, and at least one round's
/// [`ingress_budget_for_mtu`] (so at MTU 1500 a drain still takes up to 256 frames, at 65535
/// two). A drain that hits it sets `drain_cut`, and whoever drives polls again at once (the
/// runner after yielding to the tasks it woke, the driver thread without sleeping, an
/// operation's drain wakes the driver or runner). On the in-process loopback at MTU 65535 an
/// unbounded drain moved up to 2 MiB through the stack before the reader ran, and the
/// reader's copies then ran from memory instead of cache: `bench inproc`, MTU 65535,
/// superloop 0.67x plain smoltcp unbounded, 0.95-0.97x bounded (5 rounds each).
pub(crate) const fn drain_budget_for_mtu(mtu: usize) -> usize {
    let frames = DRAIN_BYTES / if mtu == 0 { 1 } else { mtu };
    let round = ingress_budget_for_mtu(mtu);
    if frames > round { frames } else { round }
}

impl<'a, D: Device, C: Clock, W: Wait> Stack<'a, D, C, W> {
    /// Process frames and timers at time `now`, until nothing changes or a bounded amount of
    /// received data (about 128 KiB, at least 2 frames) has been processed, so that readers
    /// get it while it is in cache. Returns whether any socket may have changed state (true
    /// when stopped at the bound: poll again; [`poll_delay`](Stack::poll_delay) is then 0).
    /// This is the superloop entry point: call it from the application's main loop, then use
    /// the sockets' `try_*` methods.
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

    /// How long until the interface next needs polling (`None`: only when a frame arrives;
    /// 0 after a poll that stopped at its bound).
    pub fn poll_delay(&self) -> Option<Duration> {
        let now = self.clock.now();
        let mut g = self.lock();
        if g.drain_cut {
            return Some(Duration::ZERO);
        }
        let g = &mut *g;
        g.iface.poll_delay(now, &g.sockets).map(from_smol)
    }

    /// Declare that a background driver polls this stack (`std`): blocking calls then park
    /// on their socket's wake-up instead of polling themselves.
    /// [`StdStack`](crate::StdStack) sets this.
    #[cfg(feature = "std")]
    pub fn set_driven(&self, driven: bool) {
        self.driven
            .store(driven, core::sync::atomic::Ordering::SeqCst);
        if !driven {
            self.lock().driver_deadline = None;
        }
        self.waiter.wake();
    }

    pub(crate) fn is_driven(&self) -> bool {
        #[cfg(feature = "std")]
        {
            self.driven.load(core::sync::atomic::Ordering::SeqCst)
        }
        #[cfg(not(feature = "std"))]
        {
            false
        }
    }

    /// Run a non-blocking operation: `op`, then poll.
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

    /// After an operation: push its effects out (poll until nothing changes; smoltcp wakes
    /// the sockets whose state changed meanwhile), then wake the driver or runner if it now
    /// has an earlier deadline, and a self-polling waiter if anything changed.
    #[inline(never)]
    pub(crate) fn finish(&self, mut g: Guard<'_, Inner<'a, D>>, now: Instant, changed: bool) {
        let changed = g.poll_drain(now) || changed;
        // A cut drain left frames for the driver or runner (nobody else would poll them).
        let wake_driver = g.drain_cut || driver_needs_wake(&mut g, now);
        if wake_driver {
            g.runner.wake();
        }
        drop(g);
        if wake_driver || (changed && !self.is_driven()) {
            self.waiter.wake();
        }
    }

    /// Run `op` until it stops failing with `WouldBlock`, waiting without the lock in
    /// between (on the wake-up `on` registers); `TimedOut` (with `what`) once `timeout` has
    /// passed.
    pub(crate) fn block<T>(
        &self,
        limit: Limit,
        what: &'static str,
        on: impl Fn(&mut Inner<'a, D>, &Waker),
        mut op: impl FnMut(&mut Inner<'a, D>, Instant) -> Result<T>,
    ) -> Result<T> {
        let start = self.clock.now();
        let mut g = self.lock();
        let deadline = limit.resolve(&mut g).map(|t| start + to_smol(t));
        loop {
            let now = self.clock.now();
            match op(&mut g, now) {
                Err(e) if e.is_would_block() => {}
                r => {
                    self.finish(g, now, false);
                    return r;
                }
            }
            g = self.idle(g, now, deadline, what, &on)?;
        }
    }

    /// The part of [`block`](Stack::block) that does not depend on the operation (kept out
    /// of line, so each blocking call site does not carry a copy): poll, then either report
    /// the timeout, retry at once if anything changed, or wait.
    #[inline(never)]
    pub(crate) fn idle<'g>(
        &'g self,
        mut g: Guard<'g, Inner<'a, D>>,
        now: Instant,
        deadline: Option<Instant>,
        what: &'static str,
        on: &dyn Fn(&mut Inner<'a, D>, &Waker),
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
            if !self.is_driven() {
                self.waiter.wake();
            }
            return Ok(g);
        }
        Ok(self.wait(g, now, remaining, on))
    }

    /// Wait without the lock: with a driver (`std`), park this thread on the wake-up `on`
    /// registers (at most [`RECHECK`]); without one, wait with the [`Wait`] strategy until
    /// the interface's next deadline (the caller then polls itself).
    fn wait<'g>(
        &'g self,
        mut g: Guard<'g, Inner<'a, D>>,
        now: Instant,
        remaining: Option<Duration>,
        on: &dyn Fn(&mut Inner<'a, D>, &Waker),
    ) -> Guard<'g, Inner<'a, D>> {
        #[cfg(feature = "std")]
        if self.is_driven() {
            let wake_driver = driver_needs_wake(&mut g, now);
            if wake_driver {
                g.runner.wake();
            }
            return crate::wake::Parker::with(|p| {
                on(&mut g, p.arm());
                drop(g);
                if wake_driver {
                    self.waiter.wake();
                }
                p.park(remaining.map_or(RECHECK, |r| r.min(RECHECK)));
                self.lock()
            });
        }
        let _ = on;
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
        g.poll_drain(now);
        let inner = &mut *g;
        let t = if inner.drain_cut {
            Duration::ZERO
        } else {
            inner
                .iface
                .poll_delay(now, &inner.sockets)
                .map_or(cap, |d| from_smol(d).min(cap))
        };
        inner.driver_deadline = Some(now + to_smol(t));
        drop(g);
        t
    }
}

/// How long a blocking call may wait: a fixed time, or the socket's own read or write
/// timeout, read under the lock the call takes anyway (one lock acquisition per call, not
/// two: with a driver thread the extra one was a quarter of the blocking reader's context
/// switches in `bench inproc`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Limit {
    /// This long (`None`: no limit).
    Fixed(Option<Duration>),
    /// The socket's `ReadTimeout`.
    Read(Handle),
    /// The socket's `WriteTimeout`.
    Write(Handle),
}

impl Limit {
    /// The time limit. A stale handle has none: the operation, tried first, reports it.
    fn resolve<D: Device>(self, g: &mut Inner<'_, D>) -> Option<Duration> {
        match self {
            Limit::Fixed(t) => t,
            Limit::Read(h) => g.slot(h).ok().and_then(|s| s.opts.read_timeout),
            Limit::Write(h) => g.slot(h).ok().and_then(|s| s.opts.write_timeout),
        }
    }
}

/// Whether the sleeping driver or runner planned to wake later than the interface now
/// needs (`driver_deadline` is `None` while it is awake or when there is none).
fn driver_needs_wake<D: Device>(g: &mut Inner<'_, D>, now: Instant) -> bool {
    let Some(planned) = g.driver_deadline else {
        return false;
    };
    g.iface
        .poll_at(now, &g.sockets)
        .is_some_and(|next| next < planned)
}

impl<'a, D: Device> Inner<'a, D> {
    /// Poll until nothing changes or the drain budget is spent (then `drain_cut` is set: the
    /// driver or runner polls again at once), reaping closing sockets between rounds.
    pub(crate) fn poll_drain(&mut self, now: Instant) -> bool {
        let mut changed = false;
        let mut left = self.drain_budget;
        self.drain_cut = false;
        for _ in 0..POLL_ROUNDS {
            // `Interface::poll`, split so that a connection closed while processing received
            // segments (an RST) can be told apart from one closed by smoltcp's own timers
            // (retransmission or keep-alive timeout), which only act while transmitting.
            self.iface.poll_maintenance(now);
            let mut work = false;
            let mut ingress = false;
            let mut received = 0;
            for _ in 0..self.ingress_budget.min(left) {
                match self
                    .iface
                    .poll_ingress_single(now, &mut self.device, &mut self.sockets)
                {
                    PollIngressSingleResult::None => break,
                    PollIngressSingleResult::PacketProcessed => work = true,
                    PollIngressSingleResult::SocketStateChanged => ingress = true,
                }
                received += 1;
            }
            left -= received;
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
            if left == 0 {
                // Budget spent (after the egress pass, so ACKs and window updates are out).
                self.drain_cut = true;
                return true;
            }
        }
        // Rounds ran out with work left. One more receive attempt: a device that holds
        // transmissions until its receive queue is empty (the TAP device with offloads
        // merges TCP segments) then sends what it holds instead of waiting for the next poll.
        if self
            .iface
            .poll_ingress_single(now, &mut self.device, &mut self.sockets)
            == PollIngressSingleResult::SocketStateChanged
        {
            // Closed by what arrived (an RST), not by a timer: record it now, or the next
            // egress pass would report it as a timeout.
            self.note_closes(CloseCause::Peer);
        }
        self.drain_cut = true;
        changed
    }

    /// Record why open connections that just reached CLOSED got there.
    fn note_closes(&mut self, cause: CloseCause) {
        for slot in self.slots.iter_mut() {
            if slot.kind != Kind::Tcp
                || slot.use_ != Use::Open
                || slot.closed_by.is_some()
                || slot.finished
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
        let mut freed = false;
        self.time_wait.retain(|e| e.until > now);
        for slot in self.slots.iter_mut() {
            let Some(h) = slot.handle else { continue };
            if slot.kind != Kind::Tcp || slot.use_ == Use::Free {
                continue;
            }
            // Looked at through `get`, and changed through `get_mut` only when there is
            // something to do: `get_mut` marks the socket for the next egress pass (smoltcp
            // patch 11), and this loop visits every connection on every round.
            let s = self.sockets.get::<tcp::Socket>(h);
            if slot.use_ == Use::Open {
                // A connection's state, even if nobody looked in between (an armed listen
                // socket has no peer yet: it is noted when accepted).
                if slot.peer.is_some() {
                    slot.note_state(s.state());
                }
                if slot.shut_rd && s.can_recv() {
                    let s = self.sockets.get_mut::<tcp::Socket>(h);
                    let _ = s.recv(|b| (b.len(), ()));
                    changed = true;
                }
                continue;
            }
            // Closing: discard what arrives so the close is not stalled by a full window.
            if s.can_recv() {
                let _ = self
                    .sockets
                    .get_mut::<tcp::Socket>(h)
                    .recv(|b| (b.len(), ()));
            }
            let s = self.sockets.get::<tcp::Socket>(h);
            // The orphan limit counts from the last progress: a peer that is still reading
            // what was queued before the close keeps the connection.
            let queued = s.send_queue();
            if queued < slot.queued {
                slot.since = now;
            }
            slot.queued = queued;
            match s.state() {
                tcp::State::Closed if s.local_endpoint().is_none() => {
                    debug!("slot freed");
                    slot.reset();
                    changed = true;
                    freed = true;
                }
                tcp::State::Closed if now >= slot.since + to_smol(RST_GRACE) => {
                    // The final RST could not be sent (for example, the peer's link-layer
                    // address never resolved). Free the slot anyway: reusing the socket
                    // resets it, which drops the pending RST.
                    debug!("slot freed without its RST");
                    slot.reset();
                    changed = true;
                    freed = true;
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
                    self.sockets.get_mut::<tcp::Socket>(h).abort();
                    changed = true;
                }
                _ if now >= slot.since + to_smol(ORPHAN_LIMIT) => {
                    self.sockets.get_mut::<tcp::Socket>(h).abort();
                    changed = true;
                }
                _ => {}
            }
        }
        if freed {
            self.park_free();
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
}
