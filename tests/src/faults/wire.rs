//! A lossless in-process wire: two [`WireEnd`] devices, each receiving what the other
//! transmits, in order. Faults are added by wrapping each end in a
//! [`Faulty`](super::Faulty).
//!
//! Both ends share one `Arc<Mutex<..>>`, so an end may move to another thread (a driver
//! thread) while its peer stays. The queues are bounded ([`Wire::QUEUE_LIMIT`] frames each
//! way): a frame sent into a full queue is dropped and counted, like a switch port under
//! overload, so a runaway sender cannot exhaust memory.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

#[derive(Debug, Default)]
struct Queues {
    /// Frames travelling towards end 0 and end 1.
    to: [VecDeque<Vec<u8>>; 2],
    /// Frames dropped because the queue towards end 0 / end 1 was full.
    overflow: [u64; 2],
}

/// Constructor for a connected pair of [`WireEnd`]s.
#[derive(Debug)]
pub struct Wire;

impl Wire {
    /// Frames queued each way before further frames are dropped.
    pub const QUEUE_LIMIT: usize = 4096;

    /// A connected pair for `medium` with the given MTU (for Ethernet, the IP MTU plus the 14
    /// byte header, as smoltcp counts it). Checksums are computed and verified (smoltcp's
    /// default capabilities).
    pub fn pair(medium: Medium, mtu: usize) -> (WireEnd, WireEnd) {
        let queues = Arc::new(Mutex::new(Queues::default()));
        let end = |side| WireEnd {
            queues: Arc::clone(&queues),
            side,
            medium,
            mtu,
        };
        (end(0), end(1))
    }
}

/// One end of an in-process wire (a [`smoltcp::phy::Device`]).
#[derive(Debug)]
pub struct WireEnd {
    queues: Arc<Mutex<Queues>>,
    side: usize,
    medium: Medium,
    mtu: usize,
}

fn lock(q: &Mutex<Queues>) -> MutexGuard<'_, Queues> {
    // A panic elsewhere while holding the lock leaves plain queues behind; keep using them.
    q.lock().unwrap_or_else(|p| p.into_inner())
}

impl WireEnd {
    /// Frames waiting to be received by this end.
    pub fn pending(&self) -> usize {
        lock(&self.queues).to[self.side].len()
    }

    /// Frames that were sent towards this end while its queue was full.
    pub fn overflowed(&self) -> u64 {
        lock(&self.queues).overflow[self.side]
    }

    /// Send a frame to the peer, as this end's stack would (for feeding hand-made frames to
    /// a stack on the other end).
    pub fn send(&self, frame: &[u8]) {
        push(&self.queues, 1 - self.side, frame.to_vec());
    }

    /// Take the oldest frame the peer sent to this end (for reading a stack's replies
    /// without a stack on this end).
    pub fn take(&self) -> Option<Vec<u8>> {
        lock(&self.queues).to[self.side].pop_front()
    }
}

fn push(queues: &Mutex<Queues>, side: usize, frame: Vec<u8>) {
    let mut q = lock(queues);
    if q.to[side].len() >= Wire::QUEUE_LIMIT {
        q.overflow[side] += 1;
    } else {
        q.to[side].push_back(frame);
    }
}

impl Device for WireEnd {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = self.medium;
        caps.max_transmission_unit = self.mtu;
        caps.checksum = ChecksumCapabilities::default();
        caps
    }

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken, TxToken<'_>)> {
        let frame = lock(&self.queues).to[self.side].pop_front()?;
        Some((
            RxToken { frame },
            TxToken {
                queues: &self.queues,
                to: 1 - self.side,
            },
        ))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            queues: &self.queues,
            to: 1 - self.side,
        })
    }
}

/// A received frame of a [`WireEnd`].
#[derive(Debug)]
pub struct RxToken {
    frame: Vec<u8>,
}

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.frame)
    }
}

/// A transmit slot of a [`WireEnd`].
#[derive(Debug)]
pub struct TxToken<'a> {
    queues: &'a Mutex<Queues>,
    to: usize,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0u8; len];
        let r = f(&mut frame);
        push(self.queues, self.to, frame);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::{RxToken as _, TxToken as _};

    #[test]
    fn frames_cross_in_order_and_overflow_is_counted() {
        let (mut a, mut b) = Wire::pair(Medium::Ip, 1500);
        let t = Instant::ZERO;
        for i in 0..3u8 {
            a.transmit(t)
                .expect("tx")
                .consume(2, |f| f.copy_from_slice(&[i, i]));
        }
        assert!(a.receive(t).is_none(), "an end does not hear itself");
        for i in 0..3u8 {
            let (rx, _) = b.receive(t).expect("frame");
            rx.consume(|f| assert_eq!(f, [i, i]));
        }
        assert!(b.receive(t).is_none());
        for _ in 0..Wire::QUEUE_LIMIT + 5 {
            a.transmit(t).expect("tx").consume(1, |f| f[0] = 1);
        }
        assert_eq!(b.pending(), Wire::QUEUE_LIMIT);
        assert_eq!(b.overflowed(), 5);
        assert_eq!(a.capabilities().max_transmission_unit, 1500);
    }
}
