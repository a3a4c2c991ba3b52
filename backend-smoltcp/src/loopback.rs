//! The in-process loopback device: every frame sent is received back, in order.
//!
//! Fixed capacity and no allocation: the device stores up to `storage.len() / mtu - 1` frames
//! of at most `mtu` bytes in memory the caller provides (one more frame-sized area is the
//! receive scratch buffer). Under `std`, [`Loopback::with_capacity`] takes the memory from the
//! heap. Works with [`Medium::Ip`] (no link layer) or [`Medium::Ethernet`]; the MTU may be up
//! to 65535. When the queue is full, transmission waits (the device reports no transmit
//! token) until the stack has received a frame.

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
    lens: heapless::Vec<usize, 64>,
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
            lens: heapless::Vec::new(),
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
            lens: heapless::Vec::new(),
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
        if self.lens.is_empty() {
            return None;
        }
        let len = self.lens.remove(0);
        let start = self.head * self.mtu;
        let src = self.frames.get(start..start + len)?;
        let dst = self.scratch.get_mut(..len)?;
        crate::copy::copy(dst, src);
        self.head = (self.head + 1) % self.slots;
        let rx = RxToken {
            frame: self.scratch.get(..len)?,
        };
        let tx = TxToken {
            frames: &mut self.frames,
            lens: &mut self.lens,
            mtu: self.mtu,
            slots: self.slots,
            head: self.head,
        };
        Some((rx, tx))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_>> {
        if !self.has_room() {
            return None;
        }
        Some(TxToken {
            frames: &mut self.frames,
            lens: &mut self.lens,
            mtu: self.mtu,
            slots: self.slots,
            head: self.head,
        })
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

/// Room for one frame to send through the [`Loopback`] device.
pub struct TxToken<'t> {
    frames: &'t mut [u8],
    lens: &'t mut heapless::Vec<usize, 64>,
    mtu: usize,
    slots: usize,
    head: usize,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        // smoltcp never asks for more than the MTU; clamp anyway so nothing can overflow.
        let len = len.min(self.mtu);
        let queued = self.lens.len();
        if queued >= self.slots {
            // Full (not reachable: a token is only handed out with room for one frame). Drop
            // the newest queued frame in favour of this one rather than fail.
            let idx = (self.head + queued + self.slots - 1) % self.slots;
            let start = idx * self.mtu;
            if let Some(last) = self.lens.last_mut() {
                *last = len;
            }
            return f(&mut self.frames[start..start + len]);
        }
        let idx = (self.head + queued) % self.slots;
        let start = idx * self.mtu;
        let r = f(&mut self.frames[start..start + len]);
        let _ = self.lens.push(len);
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
