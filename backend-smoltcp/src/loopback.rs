//! The in-process loopback device: every frame sent is received back, in order.
//!
//! Fixed capacity and no allocation: the device stores up to `storage.len() / mtu - 1` frames
//! of at most `mtu` bytes in memory the caller provides (one more frame-sized area is a
//! scratch buffer). A received frame is read where it lies, and the reply smoltcp may write
//! while reading it goes to another slot; only when the queue was full (the reply's slot is
//! the received frame's own) is the frame first copied to the scratch buffer. Under `std`,
//! [`Loopback::with_capacity`] takes the memory from the heap. Works with [`Medium::Ip`] (no
//! link layer) or [`Medium::Ethernet`]; the MTU may be up to 65535. When the queue is full,
//! transmission waits (the device reports no transmit token) until the stack has received a
//! frame.

use managed::ManagedSlice;
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use unisock::ErrorKind;

use crate::error::{Error, Result};

/// The largest MTU the loopback device accepts.
pub const LOOPBACK_MAX_MTU: usize = 65535;

/// A fixed-capacity in-process loopback device.
pub struct Loopback<'a> {
    scratch: ManagedSlice<'a, u8>,
    frames: ManagedSlice<'a, u8>,
    /// Lengths of the queued frames, oldest first (a ring: taking the oldest is O(1)).
    lens: heapless::Deque<usize, 64>,
    mtu: usize,
    slots: usize,
    head: usize,
    medium: Medium,
}

impl core::fmt::Debug for Loopback<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Loopback")
            .field("mtu", &self.mtu)
            .field("capacity", &self.slots)
            .field("queued", &self.lens.len())
            .finish()
    }
}

impl<'a> Loopback<'a> {
    /// A loopback device over `storage`, carrying frames of at most `mtu` bytes
    /// (`InvalidInput` if `mtu` is below 1280 or above 65535, `OutOfMemory` if `storage` has
    /// room for fewer than two frames besides the scratch area). At most 64 frames are
    /// queued whatever the storage size.
    pub fn new(storage: &'a mut [u8], mtu: usize, medium: Medium) -> Result<Loopback<'a>> {
        if !(1280..=LOOPBACK_MAX_MTU).contains(&mtu) {
            return Err(Error::invalid("loopback MTU must be within 1280..=65535"));
        }
        if storage.len() < 3 * mtu {
            return Err(Error::new(
                ErrorKind::OutOfMemory,
                "loopback storage must hold at least three MTU-sized frames",
            ));
        }
        let (scratch, frames) = storage.split_at_mut(mtu);
        let slots = (frames.len() / mtu).min(64);
        Ok(Loopback {
            scratch: scratch.into(),
            frames: frames.into(),
            lens: heapless::Deque::new(),
            mtu,
            slots,
            head: 0,
            medium,
        })
    }

    /// A loopback device queueing up to `frames` frames of `mtu` bytes, on the heap.
    #[cfg(feature = "std")]
    pub fn with_capacity(frames: usize, mtu: usize, medium: Medium) -> Result<Loopback<'static>> {
        if !(1280..=LOOPBACK_MAX_MTU).contains(&mtu) {
            return Err(Error::invalid("loopback MTU must be within 1280..=65535"));
        }
        let slots = frames.clamp(2, 64);
        Ok(Loopback {
            scratch: std::vec![0u8; mtu].into(),
            frames: std::vec![0u8; slots * mtu].into(),
            lens: heapless::Deque::new(),
            mtu,
            slots,
            head: 0,
            medium,
        })
    }

    /// Frames queued now.
    pub fn queued(&self) -> usize {
        self.lens.len()
    }

    /// The slot behind the queued frames (where the next frame sent goes).
    fn tail(&self) -> usize {
        (self.head + self.lens.len()) % self.slots
    }

    fn has_room(&self) -> bool {
        self.lens.len() < self.slots
    }
}

impl Device for Loopback<'_> {
    type RxToken<'t>
        = RxToken<'t>
    where
        Self: 't;
    type TxToken<'t>
        = TxToken<'t>
    where
        Self: 't;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = self.medium;
        caps.max_transmission_unit = self.mtu;
        // Compute checksums on transmit (raw sockets and pcap captures see valid packets);
        // skip verifying them on receive, since the frames never left the process.
        let mut sums = phy::ChecksumCapabilities::default();
        sums.ipv4 = phy::Checksum::Tx;
        sums.udp = phy::Checksum::Tx;
        sums.tcp = phy::Checksum::Tx;
        sums.icmpv4 = phy::Checksum::Tx;
        #[cfg(feature = "proto-ipv6")]
        {
            sums.icmpv6 = phy::Checksum::Tx;
        }
        caps.checksum = sums;
        caps
    }

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let len = self.lens.pop_front()?;
        let mtu = self.mtu;
        let rx_slot = self.head;
        self.head = (self.head + 1) % self.slots;
        // The paired transmit token's slot: behind the frames still queued. After taking one
        // frame there is always room for it.
        let tx_slot = self.tail();
        let (frame, slot) = if tx_slot == rx_slot {
            // The queue was full, so the reply's slot is the received frame's own: copy the
            // frame out first.
            let src = self.frames.get(rx_slot * mtu..rx_slot * mtu + len)?;
            let dst = self.scratch.get_mut(..len)?;
            crate::copy::copy(dst, src);
            let slot = self.frames.get_mut(tx_slot * mtu..(tx_slot + 1) * mtu)?;
            (&self.scratch[..len], slot)
        } else {
            // Otherwise the frame is read where it lies (no copy) and the reply written to
            // another slot.
            let (rx, tx) = two_slots(&mut self.frames, mtu, rx_slot, tx_slot)?;
            (&rx[..len.min(mtu)], tx)
        };
        let rx = RxToken { frame };
        let tx = TxToken {
            slot,
            lens: &mut self.lens,
        };
        Some((rx, tx))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_>> {
        if !self.has_room() {
            return None;
        }
        let idx = self.tail();
        Some(TxToken {
            slot: self.frames.get_mut(idx * self.mtu..(idx + 1) * self.mtu)?,
            lens: &mut self.lens,
        })
    }
}

/// Slots `a` and `b` (different) of `mtu` bytes each, the first shared, the second mutable.
fn two_slots(frames: &mut [u8], mtu: usize, a: usize, b: usize) -> Option<(&[u8], &mut [u8])> {
    if a < b {
        let (lo, hi) = frames.split_at_mut(b * mtu);
        Some((lo.get(a * mtu..(a + 1) * mtu)?, hi.get_mut(..mtu)?))
    } else {
        let (lo, hi) = frames.split_at_mut(a * mtu);
        Some((hi.get(..mtu)?, lo.get_mut(b * mtu..(b + 1) * mtu)?))
    }
}

/// A received frame of the [`Loopback`] device.
pub struct RxToken<'t> {
    frame: &'t [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.frame)
    }
}

/// Room for one frame to send through the [`Loopback`] device: a free slot at the queue's
/// tail (a token is only handed out when there is one).
pub struct TxToken<'t> {
    slot: &'t mut [u8],
    lens: &'t mut heapless::Deque<usize, 64>,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        // smoltcp never asks for more than the MTU; clamp anyway so nothing can overflow.
        let len = len.min(self.slot.len());
        let r = f(&mut self.slot[..len]);
        // Room for the length too: the queue holds at most 64 frames and a token is only
        // handed out while fewer are queued.
        let _ = self.lens.push_back(len);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::{RxToken as _, TxToken as _};

    fn send(dev: &mut Loopback<'_>, byte: u8, len: usize) -> bool {
        match dev.transmit(Instant::ZERO) {
            Some(tx) => {
                tx.consume(len, |buf| buf.fill(byte));
                true
            }
            None => false,
        }
    }

    #[test]
    fn frames_come_back_in_order_and_a_full_queue_refuses_tokens() {
        let mut storage = [0u8; 1280 * 4];
        let mut dev = Loopback::new(&mut storage, 1280, Medium::Ethernet).unwrap();
        assert_eq!(dev.capabilities().max_transmission_unit, 1280);
        // Scratch + 3 frames.
        assert!(send(&mut dev, 1, 10));
        assert!(send(&mut dev, 2, 1280));
        assert!(send(&mut dev, 3, 1));
        assert!(!send(&mut dev, 4, 5), "queue of 3 is full");
        assert_eq!(dev.queued(), 3);
        for (byte, len) in [(1u8, 10usize), (2, 1280), (3, 1)] {
            let (rx, tx) = dev.receive(Instant::ZERO).unwrap();
            rx.consume(|f| {
                assert_eq!(f.len(), len);
                assert!(f.iter().all(|&b| b == byte));
            });
            // The paired transmit token has room for exactly one frame (a reply), queued
            // behind the others.
            tx.consume(2, |buf| buf.fill(9 + byte));
            assert_eq!(dev.queued(), 3);
        }
        for byte in [10u8, 11, 12] {
            let (rx, _) = dev.receive(Instant::ZERO).unwrap();
            rx.consume(|f| assert_eq!(f, &[byte, byte]));
        }
        assert!(dev.receive(Instant::ZERO).is_none());
    }

    #[test]
    fn a_frame_is_read_in_place_while_its_reply_is_written() {
        let mut storage = [0u8; 1280 * 4];
        let mut dev = Loopback::new(&mut storage, 1280, Medium::Ip).unwrap();
        // Three slots, three rounds: the received frame's slot and the reply's slot move
        // around the ring, and each reply is written while the frame is still being read.
        assert!(send(&mut dev, 1, 1280));
        assert!(send(&mut dev, 2, 700));
        for (byte, len) in [(1u8, 1280usize), (2, 700), (11, 1280), (12, 1280)] {
            let (rx, tx) = dev.receive(Instant::ZERO).unwrap();
            rx.consume(|f| {
                tx.consume(1280, |buf| buf.fill(byte + 10));
                assert_eq!(f.len(), len);
                assert!(f.iter().all(|&b| b == byte), "frame {byte} kept");
            });
            assert_eq!(dev.queued(), 2);
        }
        let mut copy = [0u8; 1280];
        for byte in [21u8, 22] {
            let (rx, _) = dev.receive(Instant::ZERO).unwrap();
            rx.consume(|f| copy[..f.len()].copy_from_slice(f));
            assert!(copy.iter().all(|&b| b == byte));
        }
        assert!(dev.receive(Instant::ZERO).is_none());
    }

    #[test]
    fn bad_sizes_are_errors() {
        let mut small = [0u8; 100];
        assert!(Loopback::new(&mut small, 1279, Medium::Ethernet).is_err());
        assert!(Loopback::new(&mut small, 70000, Medium::Ethernet).is_err());
        assert_eq!(
            Loopback::new(&mut small, 1280, Medium::Ethernet)
                .unwrap_err()
                .kind(),
            ErrorKind::OutOfMemory
        );
    }
}
