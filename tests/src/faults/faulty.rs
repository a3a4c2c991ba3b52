//! [`Faulty`]: a device wrapper, generic over any [`smoltcp::phy::Device`] (as smoltcp's own
//! `FaultInjector`), that injects seeded, reproducible faults into the frames it receives:
//! drop, single-bit corruption, duplication, reordering through a hold-back queue, added delay,
//! and an MTU clamp. Optionally it also drops and corrupts what it transmits (for a peer, such
//! as the Linux kernel behind TAP, that cannot be wrapped itself).
//!
//! Wrapping both ends of a [`Wire`](super::Wire) faults both directions. Every frame is shown
//! to a [`TcpWatch`] before faults are applied, so retransmissions can be counted.
//!
//! How each fault works (rates are in percent, decided per frame by a [`Rng`] seeded from
//! [`FaultConfig::seed`]):
//! - **drop**: the frame is discarded;
//! - **corrupt**: one bit of the frame, chosen uniformly, is flipped;
//! - **duplicate**: the frame is delivered twice;
//! - **reorder**: the frame is held back until 1 to 3 later frames have overtaken it, or
//!   [`FaultConfig::reorder_max_hold`] has passed;
//! - **delay**: every frame becomes deliverable only `delay` after the wrapper took it from the
//!   inner device (the first poll after it arrived);
//! - **MTU clamp**: the advertised MTU is lowered and any larger frame is dropped.
//!
//! Not modelled: rate limits (smoltcp's `FaultInjector` has them), truncation, and faults
//! correlated in bursts.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use super::rng::Rng;
use super::watch::TcpWatch;

/// What [`Faulty`] does to frames. `Default` is a perfect wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultConfig {
    /// Seed of the fault schedule: the same seed and traffic give the same faults.
    pub seed: u64,
    /// Percent of frames dropped.
    pub drop_pct: u8,
    /// Percent of frames with one bit flipped.
    pub corrupt_pct: u8,
    /// Percent of frames delivered twice.
    pub duplicate_pct: u8,
    /// Percent of frames held back and overtaken by later ones.
    pub reorder_pct: u8,
    /// Delay added to every received frame.
    pub delay: Duration,
    /// Longest a reordered frame is held back when no later frame overtakes it.
    pub reorder_max_hold: Duration,
    /// Lower the device MTU (as smoltcp counts it: Ethernet header included) to this, and drop
    /// larger frames.
    pub mtu: Option<usize>,
    /// When false, the device reports `ChecksumCapabilities::ignored()`: the stack neither
    /// computes nor verifies checksums (the negative control).
    pub verify_checksums: bool,
    /// Also drop and corrupt transmitted frames, at the same rates.
    pub on_transmit: bool,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            seed: 0,
            drop_pct: 0,
            corrupt_pct: 0,
            duplicate_pct: 0,
            reorder_pct: 0,
            delay: Duration::ZERO,
            reorder_max_hold: Duration::from_millis(20),
            mtu: None,
            verify_checksums: true,
            on_transmit: false,
        }
    }
}

impl fmt::Display for FaultConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "drop {}% corrupt {}% dup {}% reorder {}% delay {:?}",
            self.drop_pct, self.corrupt_pct, self.duplicate_pct, self.reorder_pct, self.delay
        )?;
        if let Some(mtu) = self.mtu {
            write!(f, " mtu {mtu}")?;
        }
        if !self.verify_checksums {
            f.write_str(" checksums OFF")?;
        }
        Ok(())
    }
}

/// Counters of what a [`Faulty`] saw and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Frames received from the inner device.
    pub received: u64,
    /// Frames handed to the stack (duplicates included).
    pub delivered: u64,
    /// Frames transmitted by the stack.
    pub transmitted: u64,
    /// Frames dropped (both directions).
    pub dropped: u64,
    /// Frames with a bit flipped (both directions).
    pub corrupted: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Frames held back for reordering.
    pub reordered: u64,
    /// Frames dropped for exceeding the MTU clamp.
    pub clamped: u64,
    /// TCP segments received that repeat an already seen sequence number.
    pub rx_retransmissions: u64,
    /// TCP segments transmitted that repeat an already seen sequence number.
    pub tx_retransmissions: u64,
    /// TCP segments with RST, received and transmitted.
    pub resets: u64,
}

impl FaultStats {
    /// Faults injected in all.
    pub fn faults(&self) -> u64 {
        self.dropped + self.corrupted + self.duplicated + self.reordered + self.clamped
    }
}

#[derive(Debug)]
struct Pending {
    frame: Vec<u8>,
    /// Not deliverable before this time.
    release: Instant,
    /// Later frames that must overtake this one first (0: none).
    hold: u8,
    /// Deliverable after this time even if `hold` is not 0.
    hold_until: Instant,
}

#[derive(Debug)]
struct State {
    config: FaultConfig,
    rng: Rng,
    queue: VecDeque<Pending>,
    stats: FaultStats,
    rx_watch: TcpWatch,
    tx_watch: TcpWatch,
}

/// Frames taken from the inner device per `receive` call at most (a bound, so an inner
/// device that never runs dry cannot stall the stack).
const DRAIN_LIMIT: usize = 64;

/// The most frames held in the fault queue; beyond it arriving frames are dropped (counted
/// as drops), like a full NIC ring.
const QUEUE_LIMIT: usize = 8192;

fn to_smol(d: Duration) -> smoltcp::time::Duration {
    smoltcp::time::Duration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl State {
    fn flip_bit(&mut self, frame: &mut [u8]) {
        let bits = frame.len() as u64 * 8;
        if bits == 0 {
            return;
        }
        let bit = self.rng.below(bits);
        // `bit / 8 < frame.len()` by construction.
        if let Some(b) = frame.get_mut((bit / 8) as usize) {
            *b ^= 1 << (bit % 8);
        }
    }

    fn admit(&mut self, medium: Medium, mut frame: Vec<u8>, now: Instant) {
        self.stats.received += 1;
        self.rx_watch.observe(medium, &frame);
        let c = self.config;
        if c.mtu.is_some_and(|mtu| frame.len() > mtu) {
            self.stats.clamped += 1;
            return;
        }
        if self.rng.chance(u16::from(c.drop_pct) * 10) || self.queue.len() >= QUEUE_LIMIT {
            self.stats.dropped += 1;
            return;
        }
        if self.rng.chance(u16::from(c.corrupt_pct) * 10) {
            self.flip_bit(&mut frame);
            self.stats.corrupted += 1;
        }
        let copies = if self.rng.chance(u16::from(c.duplicate_pct) * 10) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        let release = now + to_smol(c.delay);
        for i in 0..copies {
            let hold = if self.rng.chance(u16::from(c.reorder_pct) * 10) {
                self.stats.reordered += 1;
                1 + self.rng.below(3) as u8
            } else {
                0
            };
            let pending = Pending {
                frame: if i + 1 == copies {
                    std::mem::take(&mut frame)
                } else {
                    frame.clone()
                },
                release,
                hold,
                hold_until: release + to_smol(c.reorder_max_hold),
            };
            self.queue.push_back(pending);
        }
    }

    /// The first deliverable frame, in queue order; frames held back that it overtakes count
    /// it.
    fn take_due(&mut self, now: Instant) -> Option<Vec<u8>> {
        let i = self
            .queue
            .iter()
            .position(|p| p.release <= now && (p.hold == 0 || p.hold_until <= now))?;
        for p in self.queue.iter_mut().take(i) {
            p.hold = p.hold.saturating_sub(1);
        }
        let p = self.queue.remove(i)?;
        self.stats.delivered += 1;
        Some(p.frame)
    }

    fn next_release(&self) -> Option<Instant> {
        self.queue
            .iter()
            .map(|p| if p.hold == 0 { p.release } else { p.hold_until })
            .min()
    }
}

fn lock(s: &Mutex<State>) -> MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// A shared handle on a [`Faulty`] device's configuration and counters, usable after the
/// device has been moved into a stack (or another thread).
#[derive(Debug, Clone)]
pub struct FaultControl {
    state: Arc<Mutex<State>>,
    medium: Medium,
}

impl FaultControl {
    /// The counters so far, with the TCP watch's figures filled in.
    pub fn stats(&self) -> FaultStats {
        let s = lock(&self.state);
        let mut stats = s.stats;
        stats.rx_retransmissions = s.rx_watch.retransmissions;
        stats.tx_retransmissions = s.tx_watch.retransmissions;
        stats.resets = s.rx_watch.resets + s.tx_watch.resets;
        stats
    }

    /// The current configuration.
    pub fn config(&self) -> FaultConfig {
        lock(&self.state).config
    }

    /// Replace the configuration (the random sequence continues; frames already queued keep
    /// their schedule).
    pub fn set_config(&self, config: FaultConfig) {
        lock(&self.state).config = config;
    }

    /// When the earliest queued frame becomes deliverable (`None`: queue empty). A simulation
    /// must poll the stack by then.
    pub fn next_release(&self) -> Option<Instant> {
        lock(&self.state).next_release()
    }

    /// Frames waiting in the fault queue.
    pub fn queued(&self) -> usize {
        lock(&self.state).queue.len()
    }

    /// The medium of the wrapped device.
    pub fn medium(&self) -> Medium {
        self.medium
    }
}

/// A device wrapper that injects faults: drop, single-bit corruption, duplication,
/// reordering, delay and an MTU clamp, as its [`FaultConfig`] says.
#[derive(Debug)]
pub struct Faulty<D: Device> {
    inner: D,
    control: FaultControl,
}

impl<D: Device> Faulty<D> {
    /// Wrap `inner` with the faults of `config`.
    pub fn new(inner: D, config: FaultConfig) -> Faulty<D> {
        let medium = inner.capabilities().medium;
        let state = State {
            config,
            rng: Rng::new(config.seed),
            queue: VecDeque::new(),
            stats: FaultStats::default(),
            rx_watch: TcpWatch::default(),
            tx_watch: TcpWatch::default(),
        };
        Faulty {
            inner,
            control: FaultControl {
                state: Arc::new(Mutex::new(state)),
                medium,
            },
        }
    }

    /// A handle on the configuration and counters.
    pub fn control(&self) -> FaultControl {
        self.control.clone()
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// Unwrap the device (frames still in the fault queue are lost).
    pub fn into_inner(self) -> D {
        self.inner
    }
}

impl<D: Device> Device for Faulty<D> {
    type RxToken<'a>
        = RxToken
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, D::TxToken<'a>>
    where
        Self: 'a;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = self.inner.capabilities();
        let config = lock(&self.control.state).config;
        if let Some(mtu) = config.mtu {
            caps.max_transmission_unit = caps.max_transmission_unit.min(mtu);
        }
        if !config.verify_checksums {
            caps.checksum = ChecksumCapabilities::ignored();
        }
        caps
    }

    fn receive(&mut self, timestamp: Instant) -> Option<(RxToken, Self::TxToken<'_>)> {
        let medium = self.control.medium;
        for _ in 0..DRAIN_LIMIT {
            let Some((rx, _tx)) = self.inner.receive(timestamp) else {
                break;
            };
            let frame = phy::RxToken::consume(rx, |b| b.to_vec());
            lock(&self.control.state).admit(medium, frame, timestamp);
        }
        let frame = lock(&self.control.state).take_due(timestamp)?;
        let Some(token) = self.inner.transmit(timestamp) else {
            // The inner device cannot transmit now: keep the frame for the next call.
            let mut s = lock(&self.control.state);
            s.stats.delivered -= 1;
            s.queue.push_front(Pending {
                frame,
                release: timestamp,
                hold: 0,
                hold_until: timestamp,
            });
            return None;
        };
        Some((
            RxToken { frame },
            TxToken {
                inner: token,
                state: &self.control.state,
                medium,
            },
        ))
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        let medium = self.control.medium;
        self.inner.transmit(timestamp).map(|inner| TxToken {
            inner,
            state: &self.control.state,
            medium,
        })
    }
}

/// A received frame of a [`Faulty`] device.
#[derive(Debug)]
pub struct RxToken {
    frame: Vec<u8>,
}

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.frame)
    }
}

/// A transmit slot of a [`Faulty`] device.
#[derive(Debug)]
pub struct TxToken<'a, T> {
    inner: T,
    state: &'a Mutex<State>,
    medium: Medium,
}

impl<T: phy::TxToken> phy::TxToken for TxToken<'_, T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let state = self.state;
        let medium = self.medium;
        let (drop, corrupt, clamp) = {
            let mut s = lock(state);
            let c = s.config;
            let clamp = c.mtu.is_some_and(|mtu| len > mtu);
            let drop = c.on_transmit && s.rng.chance(u16::from(c.drop_pct) * 10);
            let corrupt = c.on_transmit && s.rng.chance(u16::from(c.corrupt_pct) * 10);
            (drop, corrupt, clamp)
        };
        if drop || clamp {
            let mut frame = vec![0u8; len];
            let r = f(&mut frame);
            let mut s = lock(state);
            s.stats.transmitted += 1;
            s.tx_watch.observe(medium, &frame);
            if clamp {
                s.stats.clamped += 1;
            } else {
                s.stats.dropped += 1;
            }
            return r;
        }
        self.inner.consume(len, |buf| {
            let r = f(buf);
            let mut s = lock(state);
            s.stats.transmitted += 1;
            s.tx_watch.observe(medium, buf);
            if corrupt {
                s.flip_bit(buf);
                s.stats.corrupted += 1;
            }
            r
        })
    }

    fn set_meta(&mut self, meta: phy::PacketMeta) {
        self.inner.set_meta(meta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::Wire;
    use smoltcp::phy::{RxToken as _, TxToken as _};

    fn send(end: &mut impl Device, tag: u8, len: usize) {
        let t = end.transmit(Instant::ZERO).expect("tx");
        t.consume(len, |f| f.fill(tag));
    }

    fn recv_all(dev: &mut Faulty<crate::faults::WireEnd>, at: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some((rx, _)) = dev.receive(at) {
            out.push(rx.consume(|f| f.to_vec()));
        }
        out
    }

    fn pair(config: FaultConfig) -> (crate::faults::WireEnd, Faulty<crate::faults::WireEnd>) {
        let (a, b) = Wire::pair(Medium::Ip, 1500);
        (a, Faulty::new(b, config))
    }

    #[test]
    fn drop_all_and_duplicate_all() {
        let (mut a, mut b) = pair(FaultConfig {
            drop_pct: 100,
            ..FaultConfig::default()
        });
        for i in 0..10 {
            send(&mut a, i, 8);
        }
        assert!(recv_all(&mut b, Instant::ZERO).is_empty());
        assert_eq!(b.control().stats().dropped, 10);

        let (mut a, mut b) = pair(FaultConfig {
            duplicate_pct: 100,
            ..FaultConfig::default()
        });
        for i in 0..3 {
            send(&mut a, i, 8);
        }
        let got: Vec<u8> = recv_all(&mut b, Instant::ZERO)
            .iter()
            .map(|f| f[0])
            .collect();
        assert_eq!(got, [0, 0, 1, 1, 2, 2]);
    }

    #[test]
    fn corruption_flips_exactly_one_bit() {
        let (mut a, mut b) = pair(FaultConfig {
            corrupt_pct: 100,
            seed: 3,
            ..FaultConfig::default()
        });
        for _ in 0..50 {
            send(&mut a, 0, 64);
        }
        for f in recv_all(&mut b, Instant::ZERO) {
            let ones: u32 = f.iter().map(|x| x.count_ones()).sum();
            assert_eq!(ones, 1, "{f:?}");
        }
        assert_eq!(b.control().stats().corrupted, 50);
    }

    #[test]
    fn reordering_changes_order_but_loses_nothing() {
        let (mut a, mut b) = pair(FaultConfig {
            reorder_pct: 30,
            seed: 9,
            ..FaultConfig::default()
        });
        for i in 0..100 {
            send(&mut a, i, 4);
        }
        let mut got: Vec<u8> = recv_all(&mut b, Instant::ZERO)
            .iter()
            .map(|f| f[0])
            .collect();
        // Held frames whose overtakers never came are released after the hold time.
        got.extend(
            recv_all(&mut b, Instant::from_millis(100))
                .iter()
                .map(|f| f[0]),
        );
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            (0..100).collect::<Vec<u8>>(),
            "frames lost or duplicated"
        );
        assert_ne!(got, sorted, "nothing was reordered");
        assert!(b.control().stats().reordered > 0);
    }

    #[test]
    fn delay_holds_frames_until_due_and_mtu_clamp_drops_large_ones() {
        let (mut a, mut b) = pair(FaultConfig {
            delay: Duration::from_millis(10),
            mtu: Some(100),
            ..FaultConfig::default()
        });
        assert_eq!(b.capabilities().max_transmission_unit, 100);
        send(&mut a, 1, 50);
        send(&mut a, 2, 200);
        assert!(
            recv_all(&mut b, Instant::from_millis(5)).is_empty(),
            "delivered early"
        );
        // The delay counts from when the wrapper first saw the frame (the poll at 5 ms).
        assert_eq!(b.control().next_release(), Some(Instant::from_millis(15)));
        assert!(
            recv_all(&mut b, Instant::from_millis(14)).is_empty(),
            "delivered early"
        );
        let got = recv_all(&mut b, Instant::from_millis(15));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].len(), 50);
        assert_eq!(b.control().stats().clamped, 1);
    }

    #[test]
    fn transmit_faults_only_when_asked() {
        let (a, b) = Wire::pair(Medium::Ip, 1500);
        let mut tx = Faulty::new(
            b,
            FaultConfig {
                drop_pct: 100,
                on_transmit: true,
                ..FaultConfig::default()
            },
        );
        for i in 0..5 {
            send(&mut tx, i, 8);
        }
        assert_eq!(a.pending(), 0, "dropped frames reached the wire");
        let s = tx.control().stats();
        assert_eq!((s.transmitted, s.dropped), (5, 5));
        tx.control().set_config(FaultConfig {
            drop_pct: 100,
            ..FaultConfig::default()
        });
        send(&mut tx, 9, 8);
        assert_eq!(
            a.pending(),
            1,
            "receive-side faults touched a transmitted frame"
        );
    }

    #[test]
    fn checksums_off_is_reported_in_capabilities() {
        let (_a, b) = pair(FaultConfig {
            verify_checksums: false,
            ..FaultConfig::default()
        });
        assert!(!b.capabilities().checksum.tcp.rx());
        let (_a, b) = pair(FaultConfig::default());
        assert!(b.capabilities().checksum.tcp.rx());
    }
}
