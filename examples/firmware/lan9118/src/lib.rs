//! # A polled driver for the SMSC LAN9118 Ethernet controller
//!
//! [`Lan9118`] implements [`smoltcp::phy::Device`] over the chip's programmed-I/O FIFOs: no DMA,
//! no interrupts, no allocation. Its one receive and one transmit frame buffer
//! ([`FRAME_BUFFER`] bytes each) are a [`Buffers`] the caller lends it, typically a zeroed
//! `static` (in `.bss`), so the driver value itself is small and cheap to move into a stack.
//!
//! With the `embassy-net-driver` feature, `embassy::EmbassyLan9118` is the same driver as an
//! `embassy_net_driver::Driver` for embassy-net (polled too: an idle receive asks the
//! embassy-time driver for a wake-up 1 ms later).
//!
//! Register access goes through the [`Bus`] trait: [`Mmio`] is the real memory-mapped window
//! (QEMU's `mps2-an385`/`mps2-an386` place it at [`MPS2_BASE`]); tests substitute a software model.
//!
//! ## Register facts this driver relies on
//! All registers are 32 bits wide, little-endian, at these offsets from the window base (SMSC
//! LAN9118 datasheet, section 5; QEMU `hw/net/lan9118.c`):
//!
//! | Offset | Register        | Use here |
//! |--------|-----------------|----------|
//! | `0x00` | `RX_DATA_FIFO`  | read a received frame, one little-endian word at a time |
//! | `0x20` | `TX_DATA_FIFO`  | write command A, command B, then the frame words |
//! | `0x40` | `RX_STATUS_FIFO`| one word per received frame: bits 29:16 length *including* the 4-byte FCS, bit 15 error summary, bit 30 filter fail |
//! | `0x48` | `TX_STATUS_FIFO`| one word per sent frame: bits 31:16 the tag from command B, bit 15 error summary |
//! | `0x50` | `ID_REV`        | bits 31:16 chip id (`0x0118` on QEMU, which reads `0x01180001`) |
//! | `0x64` | `BYTE_TEST`     | always `0x87654321`: proves the bus and its byte order |
//! | `0x6c` | `RX_CFG`        | 0: no end padding, no start offset |
//! | `0x70` | `TX_CFG`        | bit 1 `TX_ON`, bit 2 `TXSAO` (status overrun allowed) |
//! | `0x74` | `HW_CFG`        | bit 0 `SRST` soft reset, self-clearing |
//! | `0x7c` | `RX_FIFO_INF`   | bits 23:16 status words waiting (= frames received) |
//! | `0x80` | `TX_FIFO_INF`   | bits 23:16 TX status words waiting, bits 15:0 free data FIFO bytes |
//! | `0x84` | `PMT_CTRL`      | bit 0 `READY` after reset |
//! | `0xa4` | `MAC_CSR_CMD`   | bit 31 busy, bit 30 read, bits 7:0 MAC register index |
//! | `0xa8` | `MAC_CSR_DATA`  | data of the indirect MAC register access |
//!
//! Indirect MAC registers: `MAC_CR` (1: bit 2 `RXEN`, bit 3 `TXEN`, bit 11 `BCAST` *disables*
//! broadcast, bit 18 `PRMS` promiscuous, bit 20 `FDPX` full duplex), `ADDRH` (2: MAC bytes 4, 5),
//! `ADDRL` (3: MAC bytes 0..=3), `MII_ACC` (6) and `MII_DATA` (7) to reach the internal PHY at
//! MII address 1 (basic status register 1, bit 2: link up).
//!
//! A transmitted frame is `command A` (bit 13 first segment, bit 12 last segment, bits 10:0 buffer
//! length), `command B` (bits 31:16 tag, bits 10:0 frame length), then `ceil(len / 4)` data words.
//! A received frame is popped as its status word, then `ceil(status_len / 4)` data words whose
//! last 4 bytes are the FCS (dropped before smoltcp sees the frame).
//!
//! ## What is not supported
//! The driver is exercised against QEMU's model (unit tests against a software model of the
//! same register behaviour, and the firmware on `mps2-an386`), not against silicon: real
//! hardware would also want `HW_CFG`'s TX FIFO sizing, the PHY's auto-negotiation result, and
//! the `RX_DP_CTRL` fast-forward for long discards. Interrupts (the driver is polled), DMA, checksum offload (QEMU's model has none, so smoltcp
//! computes every checksum in software), multicast filtering (the MAC accepts its own address and
//! broadcast only, which is all IPv4 needs; IPv6 neighbour discovery would need `MCPAS` or the
//! hash filter), PHY configuration beyond the reset defaults (auto-negotiation), flow control,
//! the 16-bit bus mode, and frames longer than 1514 bytes (no VLAN tags, no jumbo frames).
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

use core::fmt;

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

#[cfg(feature = "embassy-net-driver")]
pub mod embassy;

/// Base address of the LAN9118 register window on QEMU's `mps2-an385` and `mps2-an386`.
pub const MPS2_BASE: usize = 0x4020_0000;

/// The largest Ethernet frame handed to or taken from smoltcp (no FCS): 1500 + 14.
pub const MAX_FRAME: usize = 1514;

/// Size of each of the two frame buffers: a maximal frame plus its FCS, in whole words.
pub const FRAME_BUFFER: usize = 1520;

/// Register offsets from the window base.
pub mod reg {
    /// Receive data FIFO (read).
    pub const RX_DATA_FIFO: usize = 0x00;
    /// Transmit data FIFO (write).
    pub const TX_DATA_FIFO: usize = 0x20;
    /// Receive status FIFO (read pops).
    pub const RX_STATUS_FIFO: usize = 0x40;
    /// Transmit status FIFO (read pops).
    pub const TX_STATUS_FIFO: usize = 0x48;
    /// Chip id and revision.
    pub const ID_REV: usize = 0x50;
    /// Interrupt enable (kept 0: polled).
    pub const INT_EN: usize = 0x5c;
    /// Byte order test register.
    pub const BYTE_TEST: usize = 0x64;
    /// Receive configuration.
    pub const RX_CFG: usize = 0x6c;
    /// Transmit configuration.
    pub const TX_CFG: usize = 0x70;
    /// Hardware configuration (soft reset).
    pub const HW_CFG: usize = 0x74;
    /// Receive FIFO information.
    pub const RX_FIFO_INF: usize = 0x7c;
    /// Transmit FIFO information.
    pub const TX_FIFO_INF: usize = 0x80;
    /// Power management control (`READY` bit).
    pub const PMT_CTRL: usize = 0x84;
    /// Indirect MAC register command.
    pub const MAC_CSR_CMD: usize = 0xa4;
    /// Indirect MAC register data.
    pub const MAC_CSR_DATA: usize = 0xa8;

    /// The value `BYTE_TEST` always reads.
    pub const BYTE_TEST_VALUE: u32 = 0x8765_4321;
    /// `HW_CFG`: soft reset.
    pub const HW_CFG_SRST: u32 = 1;
    /// `PMT_CTRL`: device ready.
    pub const PMT_READY: u32 = 1;
    /// `TX_CFG`: transmitter on.
    pub const TX_CFG_TX_ON: u32 = 1 << 1;
    /// `TX_CFG`: allow the TX status FIFO to overrun (the driver drains it anyway).
    pub const TX_CFG_TXSAO: u32 = 1 << 2;
    /// `MAC_CSR_CMD`: busy.
    pub const CSR_BUSY: u32 = 1 << 31;
    /// `MAC_CSR_CMD`: read (else write).
    pub const CSR_READ: u32 = 1 << 30;

    /// Indirect MAC register: control.
    pub const MAC_CR: u8 = 1;
    /// Indirect MAC register: address bytes 4 and 5.
    pub const MAC_ADDRH: u8 = 2;
    /// Indirect MAC register: address bytes 0 to 3.
    pub const MAC_ADDRL: u8 = 3;
    /// Indirect MAC register: MII (PHY) access.
    pub const MAC_MII_ACC: u8 = 6;
    /// Indirect MAC register: MII (PHY) data.
    pub const MAC_MII_DATA: u8 = 7;

    /// `MAC_CR`: receiver enable.
    pub const MAC_CR_RXEN: u32 = 1 << 2;
    /// `MAC_CR`: transmitter enable.
    pub const MAC_CR_TXEN: u32 = 1 << 3;
    /// `MAC_CR`: full duplex.
    pub const MAC_CR_FDPX: u32 = 1 << 20;

    /// `MII_ACC`: busy / start.
    pub const MII_BUSY: u32 = 1;
    /// Internal PHY address on the MII bus.
    pub const PHY_ADDR: u32 = 1;
    /// PHY basic status register index.
    pub const PHY_BSR: u32 = 1;
    /// PHY basic status: link up.
    pub const PHY_BSR_LINK: u32 = 1 << 2;

    /// TX command A: first segment.
    pub const TX_CMD_A_FIRST: u32 = 1 << 13;
    /// TX command A: last segment.
    pub const TX_CMD_A_LAST: u32 = 1 << 12;
    /// RX and TX status: error summary.
    pub const STATUS_ES: u32 = 1 << 15;
    /// RX status: the frame failed the address filter.
    pub const RX_STATUS_FILTER_FAIL: u32 = 1 << 30;
}

/// How many times a self-clearing bit is polled before giving up.
const POLL_LIMIT: u32 = 100_000;

/// Access to the chip's 32-bit registers.
pub trait Bus {
    /// Read the register at `offset`.
    fn read(&mut self, offset: usize) -> u32;
    /// Write `value` to the register at `offset`.
    fn write(&mut self, offset: usize, value: u32);
}

/// The memory-mapped register window.
#[derive(Debug)]
pub struct Mmio {
    base: usize,
}

impl Mmio {
    /// The window at `base` (e.g. [`MPS2_BASE`]).
    ///
    /// # Safety
    /// `base` must be the address of a LAN9118 register window (256 bytes, device memory), and
    /// nothing else may access that window while this value exists.
    pub const unsafe fn new(base: usize) -> Self {
        Mmio { base }
    }
}

impl Bus for Mmio {
    fn read(&mut self, offset: usize) -> u32 {
        debug_assert!(offset < 0x100 && offset.is_multiple_of(4));
        // SAFETY: `new`'s contract: `base` is a LAN9118 window owned by this value; every
        // offset the driver uses is an aligned register inside its 256 bytes.
        unsafe { core::ptr::read_volatile((self.base + (offset & 0xfc)) as *const u32) }
    }

    fn write(&mut self, offset: usize, value: u32) {
        debug_assert!(offset < 0x100 && offset.is_multiple_of(4));
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile((self.base + (offset & 0xfc)) as *mut u32, value) }
    }
}

/// Why the chip could not be brought up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// `BYTE_TEST` did not read `0x87654321` (wrong address, or the bus swaps bytes).
    ByteTest(u32),
    /// `ID_REV` names a chip this driver does not know.
    UnknownChip(u32),
    /// A self-clearing bit stayed set (soft reset, `READY`, MAC CSR or MII busy).
    Timeout(&'static str),
    /// The MAC address is the zero, broadcast or a multicast address.
    BadMacAddress([u8; 6]),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ByteTest(v) => write!(f, "BYTE_TEST reads {v:#010x}, expected 0x87654321"),
            Error::UnknownChip(v) => write!(f, "ID_REV {v:#010x} is not a LAN911x/LAN92xx"),
            Error::Timeout(what) => write!(f, "{what} did not complete"),
            Error::BadMacAddress(m) => write!(
                f,
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} is not a unicast MAC address",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
        }
    }
}

impl core::error::Error for Error {}

/// Frame counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames handed to smoltcp.
    pub rx_frames: u32,
    /// Received frames dropped: error status, filter failure, too short or too long.
    pub rx_dropped: u32,
    /// Frames written to the transmit FIFO.
    pub tx_frames: u32,
    /// Transmit status words reporting an error.
    pub tx_errors: u32,
    /// Frames smoltcp asked to send that were longer than [`MAX_FRAME`] (not sent).
    pub tx_dropped: u32,
}

/// The driver's frame buffers: one received and one outgoing frame.
#[derive(Debug)]
pub struct Buffers {
    rx: [u8; FRAME_BUFFER],
    tx: [u8; FRAME_BUFFER],
}

impl Buffers {
    /// Zeroed buffers (all zero bytes, so a `static` of them lands in `.bss`).
    pub const fn new() -> Self {
        Buffers {
            rx: [0; FRAME_BUFFER],
            tx: [0; FRAME_BUFFER],
        }
    }
}

impl Default for Buffers {
    fn default() -> Self {
        Self::new()
    }
}

/// The LAN9118 as a smoltcp device, with frame buffers borrowed for `'a`.
pub struct Lan9118<'a, B: Bus> {
    bus: B,
    mac: [u8; 6],
    rx: &'a mut [u8; FRAME_BUFFER],
    tx: &'a mut [u8; FRAME_BUFFER],
    tag: u16,
    stats: Stats,
}

impl<B: Bus> fmt::Debug for Lan9118<'_, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lan9118")
            .field("mac", &self.mac)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn check_mac(mac: [u8; 6]) -> Result<(), Error> {
    if mac == [0; 6] || mac[0] & 1 != 0 {
        return Err(Error::BadMacAddress(mac));
    }
    Ok(())
}

impl<'a, B: Bus> Lan9118<'a, B> {
    /// Reset the chip and start it with the MAC address it loaded at reset (from its EEPROM;
    /// QEMU's `-nic ...,mac=` or its default `52:54:00:12:34:56`).
    pub fn new(bus: B, buffers: &'a mut Buffers) -> Result<Self, Error> {
        Self::start(bus, buffers, None)
    }

    /// Reset the chip and start it with `mac`.
    pub fn with_mac(bus: B, buffers: &'a mut Buffers, mac: [u8; 6]) -> Result<Self, Error> {
        check_mac(mac)?;
        Self::start(bus, buffers, Some(mac))
    }

    fn start(bus: B, buffers: &'a mut Buffers, mac: Option<[u8; 6]>) -> Result<Self, Error> {
        let mut dev = Lan9118 {
            bus,
            mac: [0; 6],
            rx: &mut buffers.rx,
            tx: &mut buffers.tx,
            tag: 0,
            stats: Stats::default(),
        };
        let test = dev.bus.read(reg::BYTE_TEST);
        if test != reg::BYTE_TEST_VALUE {
            return Err(Error::ByteTest(test));
        }
        let id = dev.bus.read(reg::ID_REV);
        if !matches!(
            id >> 16,
            0x0115..=0x0118 | 0x0215..=0x0218 | 0x9210..=0x9221
        ) {
            return Err(Error::UnknownChip(id));
        }
        dev.bus.write(reg::HW_CFG, reg::HW_CFG_SRST);
        dev.wait_clear(reg::HW_CFG, reg::HW_CFG_SRST, "soft reset")?;
        dev.wait_set(reg::PMT_CTRL, reg::PMT_READY, "PMT_CTRL.READY")?;
        dev.bus.write(reg::INT_EN, 0);

        let mac = match mac {
            Some(mac) => {
                let [a, b, c, d, e, f] = mac;
                dev.mac_write(reg::MAC_ADDRL, u32::from_le_bytes([a, b, c, d]))?;
                dev.mac_write(reg::MAC_ADDRH, u32::from_le_bytes([e, f, 0, 0]))?;
                mac
            }
            None => {
                let [a, b, c, d] = dev.mac_read(reg::MAC_ADDRL)?.to_le_bytes();
                let [e, f, _, _] = dev.mac_read(reg::MAC_ADDRH)?.to_le_bytes();
                let mac = [a, b, c, d, e, f];
                check_mac(mac)?;
                mac
            }
        };
        dev.mac = mac;

        dev.bus.write(reg::RX_CFG, 0);
        dev.bus
            .write(reg::TX_CFG, reg::TX_CFG_TX_ON | reg::TX_CFG_TXSAO);
        // Own address and broadcast only: PRMS (set by reset) cleared, BCAST clear.
        dev.mac_write(
            reg::MAC_CR,
            reg::MAC_CR_RXEN | reg::MAC_CR_TXEN | reg::MAC_CR_FDPX,
        )?;
        Ok(dev)
    }

    /// The MAC address in use.
    pub fn mac_address(&self) -> [u8; 6] {
        self.mac
    }

    /// Frame counters since start.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Whether the internal PHY reports the link up (basic status register, read over MII).
    pub fn link_up(&mut self) -> Result<bool, Error> {
        self.wait_mac_clear(reg::MAC_MII_ACC, reg::MII_BUSY, "MII busy")?;
        let cmd = (reg::PHY_ADDR << 11) | (reg::PHY_BSR << 6) | reg::MII_BUSY;
        self.mac_write(reg::MAC_MII_ACC, cmd)?;
        self.wait_mac_clear(reg::MAC_MII_ACC, reg::MII_BUSY, "MII read")?;
        Ok(self.mac_read(reg::MAC_MII_DATA)? & reg::PHY_BSR_LINK != 0)
    }

    /// Give the bus back (the chip keeps running).
    pub fn into_inner(self) -> B {
        self.bus
    }

    fn wait_clear(&mut self, offset: usize, bit: u32, what: &'static str) -> Result<(), Error> {
        for _ in 0..POLL_LIMIT {
            if self.bus.read(offset) & bit == 0 {
                return Ok(());
            }
        }
        Err(Error::Timeout(what))
    }

    fn wait_set(&mut self, offset: usize, bit: u32, what: &'static str) -> Result<(), Error> {
        for _ in 0..POLL_LIMIT {
            if self.bus.read(offset) & bit != 0 {
                return Ok(());
            }
        }
        Err(Error::Timeout(what))
    }

    fn wait_mac_clear(&mut self, index: u8, bit: u32, what: &'static str) -> Result<(), Error> {
        for _ in 0..POLL_LIMIT {
            if self.mac_read(index)? & bit == 0 {
                return Ok(());
            }
        }
        Err(Error::Timeout(what))
    }

    fn mac_read(&mut self, index: u8) -> Result<u32, Error> {
        self.wait_clear(reg::MAC_CSR_CMD, reg::CSR_BUSY, "MAC CSR")?;
        self.bus.write(
            reg::MAC_CSR_CMD,
            reg::CSR_BUSY | reg::CSR_READ | u32::from(index),
        );
        self.wait_clear(reg::MAC_CSR_CMD, reg::CSR_BUSY, "MAC CSR read")?;
        Ok(self.bus.read(reg::MAC_CSR_DATA))
    }

    fn mac_write(&mut self, index: u8, value: u32) -> Result<(), Error> {
        self.wait_clear(reg::MAC_CSR_CMD, reg::CSR_BUSY, "MAC CSR")?;
        self.bus.write(reg::MAC_CSR_DATA, value);
        self.bus
            .write(reg::MAC_CSR_CMD, reg::CSR_BUSY | u32::from(index));
        self.wait_clear(reg::MAC_CSR_CMD, reg::CSR_BUSY, "MAC CSR write")
    }

    /// Pop TX status words so the status FIFO never fills; count errors.
    fn drain_tx_status(&mut self) {
        let waiting = (self.bus.read(reg::TX_FIFO_INF) >> 16) & 0xff;
        for _ in 0..waiting {
            if self.bus.read(reg::TX_STATUS_FIFO) & reg::STATUS_ES != 0 {
                self.stats.tx_errors = self.stats.tx_errors.wrapping_add(1);
            }
        }
    }

    /// Read the next good frame into `self.rx`, dropping bad ones. Returns its length without
    /// the FCS.
    fn pop_frame(&mut self) -> Option<usize> {
        loop {
            let frames = (self.bus.read(reg::RX_FIFO_INF) >> 16) & 0xff;
            if frames == 0 {
                return None;
            }
            let status = self.bus.read(reg::RX_STATUS_FIFO);
            let len = ((status >> 16) & 0x3fff) as usize;
            let words = len.div_ceil(4);
            let bad = status & (reg::STATUS_ES | reg::RX_STATUS_FILTER_FAIL) != 0;
            // 14-byte header plus FCS at least; FCS-included frame must fit the buffer.
            if bad || !(14 + 4..=FRAME_BUFFER).contains(&len) {
                // Discard by reading the words out (the fast-forward command of RX_DP_CTRL
                // is avoided: QEMU's model of it has been buggy).
                for _ in 0..words {
                    self.bus.read(reg::RX_DATA_FIFO);
                }
                self.stats.rx_dropped = self.stats.rx_dropped.wrapping_add(1);
                continue;
            }
            for chunk in self.rx.chunks_exact_mut(4).take(words) {
                chunk.copy_from_slice(&self.bus.read(reg::RX_DATA_FIFO).to_le_bytes());
            }
            self.stats.rx_frames = self.stats.rx_frames.wrapping_add(1);
            return Some(len - 4);
        }
    }
}

/// A received frame, borrowed from the driver's receive buffer.
pub struct RxToken<'a> {
    frame: &'a mut [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.frame)
    }
}

/// Permission to send one frame: smoltcp fills the driver's transmit buffer, the token writes
/// it to the transmit FIFO.
pub struct TxToken<'a, B: Bus> {
    bus: &'a mut B,
    buf: &'a mut [u8; FRAME_BUFFER],
    tag: &'a mut u16,
    stats: &'a mut Stats,
}

impl<B: Bus> phy::TxToken for TxToken<'_, B> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let fits = len <= MAX_FRAME;
        let result = f(&mut self.buf[..len.min(MAX_FRAME)]);
        if !fits {
            // smoltcp never asks for more than the MTU it was given; count it if it does.
            self.stats.tx_dropped = self.stats.tx_dropped.wrapping_add(1);
            return result;
        }
        *self.tag = self.tag.wrapping_add(1);
        let len32 = len as u32; // len <= 1514
        self.bus.write(
            reg::TX_DATA_FIFO,
            reg::TX_CMD_A_FIRST | reg::TX_CMD_A_LAST | len32,
        );
        self.bus
            .write(reg::TX_DATA_FIFO, (u32::from(*self.tag) << 16) | len32);
        for chunk in self.buf[..len.div_ceil(4) * 4].chunks_exact(4) {
            let word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            self.bus.write(reg::TX_DATA_FIFO, word);
        }
        self.stats.tx_frames = self.stats.tx_frames.wrapping_add(1);
        result
    }
}

impl<B: Bus> Lan9118<'_, B> {
    /// Whether the transmit data FIFO has room for a maximal frame and its two command words.
    fn tx_room(&mut self) -> bool {
        self.drain_tx_status();
        (self.bus.read(reg::TX_FIFO_INF) & 0xffff) as usize >= FRAME_BUFFER + 8
    }
}

impl<B: Bus> phy::Device for Lan9118<'_, B> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, B>
    where
        Self: 'a;

    fn receive(&mut self, _timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        if !self.tx_room() {
            return None;
        }
        let len = self.pop_frame()?;
        let rx = RxToken {
            frame: &mut self.rx[..len],
        };
        let tx = TxToken {
            bus: &mut self.bus,
            buf: &mut *self.tx,
            tag: &mut self.tag,
            stats: &mut self.stats,
        };
        Some((rx, tx))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<Self::TxToken<'_>> {
        if !self.tx_room() {
            return None;
        }
        Some(TxToken {
            bus: &mut self.bus,
            buf: &mut *self.tx,
            tag: &mut self.tag,
            stats: &mut self.stats,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        // No checksum offload: the default capabilities compute and verify everything.
        caps
    }
}

#[cfg(test)]
mod tests {
    //! The driver against a software model of the chip's FIFOs and CSRs (the register
    //! behaviour of QEMU's `hw/net/lan9118.c`).
    extern crate std;
    use std::collections::VecDeque;
    use std::vec::Vec;

    use smoltcp::phy::{Device, RxToken as _, TxToken as _};

    use super::*;

    struct Chip {
        byte_test: u32,
        mac: [u8; 6],
        mac_cr: u32,
        csr_data: u32,
        tx_cfg: u32,
        rx_status: VecDeque<u32>,
        rx_data: VecDeque<u32>,
        tx_words: Vec<u32>,
        tx_status: VecDeque<u32>,
        tx_free: u32,
        phy_bsr: u32,
    }

    impl Chip {
        fn new() -> Self {
            Chip {
                byte_test: reg::BYTE_TEST_VALUE,
                mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
                mac_cr: 1 << 18,
                csr_data: 0,
                tx_cfg: 0,
                rx_status: VecDeque::new(),
                rx_data: VecDeque::new(),
                tx_words: Vec::new(),
                tx_status: VecDeque::new(),
                tx_free: 4608,
                phy_bsr: 0x782d,
            }
        }

        /// Queue a received frame as the chip does: data words with the FCS appended, and a
        /// status word whose length includes the FCS.
        fn push_frame(&mut self, frame: &[u8], status_bits: u32) {
            let mut bytes = frame.to_vec();
            bytes.extend_from_slice(&[0xf0, 0xf1, 0xf2, 0xf3]);
            while !bytes.len().is_multiple_of(4) {
                bytes.push(0);
            }
            for w in bytes.chunks(4) {
                self.rx_data
                    .push_back(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
            }
            self.rx_status
                .push_back((((frame.len() + 4) as u32) << 16) | status_bits);
        }
    }

    impl Bus for &mut Chip {
        fn read(&mut self, offset: usize) -> u32 {
            match offset {
                reg::RX_DATA_FIFO => self.rx_data.pop_front().unwrap_or(0),
                reg::RX_STATUS_FIFO => self.rx_status.pop_front().unwrap_or(0),
                reg::TX_STATUS_FIFO => self.tx_status.pop_front().unwrap_or(0),
                reg::ID_REV => 0x0118_0001,
                reg::BYTE_TEST => self.byte_test,
                reg::TX_CFG => self.tx_cfg,
                reg::HW_CFG => 0x0005_0004,
                reg::PMT_CTRL => 1,
                reg::RX_FIFO_INF => {
                    ((self.rx_status.len() as u32) << 16) | (self.rx_data.len() as u32 * 4)
                }
                reg::TX_FIFO_INF => ((self.tx_status.len() as u32) << 16) | self.tx_free,
                reg::MAC_CSR_CMD => 0,
                reg::MAC_CSR_DATA => self.csr_data,
                other => panic!("read of unexpected register {other:#x}"),
            }
        }

        fn write(&mut self, offset: usize, value: u32) {
            match offset {
                reg::TX_DATA_FIFO => self.tx_words.push(value),
                reg::RX_CFG | reg::INT_EN => {}
                reg::TX_CFG => self.tx_cfg = value,
                reg::HW_CFG => assert_eq!(value, reg::HW_CFG_SRST),
                reg::MAC_CSR_DATA => self.csr_data = value,
                reg::MAC_CSR_CMD => {
                    assert!(value & reg::CSR_BUSY != 0);
                    let index = (value & 0xff) as u8;
                    let m = &mut self.mac;
                    if value & reg::CSR_READ != 0 {
                        self.csr_data = match index {
                            reg::MAC_CR => self.mac_cr,
                            reg::MAC_ADDRH => u32::from_le_bytes([m[4], m[5], 0, 0]),
                            reg::MAC_ADDRL => u32::from_le_bytes([m[0], m[1], m[2], m[3]]),
                            reg::MAC_MII_ACC => 0,
                            reg::MAC_MII_DATA => self.phy_bsr,
                            other => panic!("MAC read of {other}"),
                        };
                    } else {
                        let v = self.csr_data.to_le_bytes();
                        match index {
                            reg::MAC_CR => self.mac_cr = self.csr_data,
                            reg::MAC_ADDRH => m[4..].copy_from_slice(&v[..2]),
                            reg::MAC_ADDRL => m[..4].copy_from_slice(&v),
                            reg::MAC_MII_ACC => {}
                            other => panic!("MAC write of {other}"),
                        }
                    }
                }
                other => panic!("write of unexpected register {other:#x}"),
            }
        }
    }

    fn frame(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect()
    }

    #[test]
    fn start_reads_the_mac_and_enables_rx_and_tx_without_promiscuous_mode() {
        let mut chip = Chip::new();
        let mut buffers = Buffers::new();
        let mut nic = Lan9118::new(&mut chip, &mut buffers).unwrap();
        assert_eq!(nic.mac_address(), [0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        assert!(nic.link_up().unwrap());
        let chip = nic.into_inner();
        assert_eq!(
            chip.mac_cr,
            reg::MAC_CR_RXEN | reg::MAC_CR_TXEN | reg::MAC_CR_FDPX
        );
        assert_eq!(chip.tx_cfg, reg::TX_CFG_TX_ON | reg::TX_CFG_TXSAO);
    }

    #[test]
    fn with_mac_programs_the_address_and_rejects_group_addresses() {
        let mut chip = Chip::new();
        let mac = [0x02, 1, 2, 3, 4, 5];
        assert_eq!(
            Lan9118::with_mac(&mut chip, &mut Buffers::new(), mac)
                .unwrap()
                .mac_address(),
            mac
        );
        assert_eq!(chip.mac, mac);
        let bad = [0x01, 0, 0x5e, 0, 0, 1];
        assert_eq!(
            Lan9118::with_mac(&mut chip, &mut Buffers::new(), bad).unwrap_err(),
            Error::BadMacAddress(bad)
        );
    }

    #[test]
    fn wrong_byte_test_is_reported_with_the_value_read() {
        let mut chip = Chip::new();
        chip.byte_test = 0x2143_6587;
        assert_eq!(
            Lan9118::new(&mut chip, &mut Buffers::new()).unwrap_err(),
            Error::ByteTest(0x2143_6587)
        );
    }

    #[test]
    fn received_frames_of_every_alignment_arrive_without_fcs() {
        let mut chip = Chip::new();
        let lens = [60usize, 61, 62, 63, 64, 1514];
        let mut buffers = Buffers::new();
        let mut nic = Lan9118::new(&mut chip, &mut buffers).unwrap();
        for (i, &len) in lens.iter().enumerate() {
            nic.bus.push_frame(&frame(len, i as u8), 0);
        }
        for (i, &len) in lens.iter().enumerate() {
            let (rx, _tx) = nic.receive(Instant::ZERO).expect("a frame");
            rx.consume(|got| assert_eq!(got, &frame(len, i as u8)[..]));
        }
        assert!(nic.receive(Instant::ZERO).is_none());
        assert_eq!(nic.stats().rx_frames, lens.len() as u32);
        assert!(nic.bus.rx_data.is_empty());
    }

    #[test]
    fn bad_and_oversized_frames_are_dropped_and_the_fifo_stays_in_step() {
        let mut chip = Chip::new();
        let mut buffers = Buffers::new();
        let mut nic = Lan9118::new(&mut chip, &mut buffers).unwrap();
        nic.bus.push_frame(&frame(100, 1), reg::STATUS_ES);
        nic.bus.push_frame(&frame(1600, 2), 0);
        nic.bus.push_frame(&frame(10, 3), 0);
        nic.bus.push_frame(&frame(99, 4), 0);
        let (rx, _tx) = nic.receive(Instant::ZERO).expect("the good frame");
        rx.consume(|got| assert_eq!(got, &frame(99, 4)[..]));
        assert_eq!(nic.stats().rx_dropped, 3);
        assert!(nic.bus.rx_data.is_empty());
    }

    #[test]
    fn transmit_writes_both_commands_and_the_frame_in_little_endian_words() {
        let mut chip = Chip::new();
        let mut buffers = Buffers::new();
        let mut nic = Lan9118::new(&mut chip, &mut buffers).unwrap();
        let data = frame(61, 9);
        nic.transmit(Instant::ZERO)
            .expect("room")
            .consume(61, |buf| buf.copy_from_slice(&data));
        nic.bus.tx_status.push_back(1 << 16);
        nic.bus.tx_status.push_back((2 << 16) | reg::STATUS_ES);
        // The next transmit drains the status FIFO and counts the error.
        nic.transmit(Instant::ZERO)
            .expect("room")
            .consume(14, |buf| buf.fill(0xab));
        let stats = nic.stats();
        assert_eq!((stats.tx_frames, stats.tx_errors), (2, 1));
        let chip = nic.into_inner();
        let w = &chip.tx_words;
        assert_eq!(w[0], reg::TX_CMD_A_FIRST | reg::TX_CMD_A_LAST | 61);
        assert_eq!(w[1], (1 << 16) | 61);
        let bytes: Vec<u8> = w[2..2 + 16].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(&bytes[..61], &data[..]);
        assert_eq!(w[18], reg::TX_CMD_A_FIRST | reg::TX_CMD_A_LAST | 14);
        assert_eq!(w[19], (2 << 16) | 14);
        assert_eq!(w.len(), 20 + 4);
        assert!(chip.tx_status.is_empty());
    }

    #[test]
    fn frames_failing_the_address_filter_are_dropped() {
        let mut chip = Chip::new();
        let mut buffers = Buffers::new();
        let mut nic = Lan9118::new(&mut chip, &mut buffers).unwrap();
        nic.bus
            .push_frame(&frame(64, 1), reg::RX_STATUS_FILTER_FAIL);
        assert!(nic.receive(Instant::ZERO).is_none());
        assert_eq!(nic.stats().rx_dropped, 1);
        assert!(nic.bus.rx_data.is_empty());
    }

    #[test]
    fn a_full_transmit_fifo_holds_back_both_tokens_and_keeps_received_frames() {
        let mut chip = Chip::new();
        let mut buffers = Buffers::new();
        let mut nic = Lan9118::new(&mut chip, &mut buffers).unwrap();
        nic.bus.push_frame(&frame(64, 5), 0);
        nic.bus.tx_free = (FRAME_BUFFER + 8 - 4) as u32;
        assert!(nic.transmit(Instant::ZERO).is_none());
        assert!(nic.receive(Instant::ZERO).is_none());
        assert_eq!(nic.bus.rx_status.len(), 1, "the frame waits in the chip");
        nic.bus.tx_free = 4608;
        let (rx, _tx) = nic.receive(Instant::ZERO).expect("room again");
        rx.consume(|got| assert_eq!(got, &frame(64, 5)[..]));
    }

    /// The embassy-net adapter, with a test time driver that records the wake-ups asked for.
    #[cfg(feature = "embassy-net-driver")]
    mod embassy_adapter {
        use core::task::{Context, Waker};
        use std::sync::Mutex;
        use std::sync::atomic::{AtomicU64, Ordering};

        use embassy_net_driver::{Driver, HardwareAddress, LinkState};

        use super::*;
        use crate::embassy::{EmbassyLan9118, POLL_INTERVAL_MS};

        static NOW: AtomicU64 = AtomicU64::new(1000);
        static WAKES: Mutex<Vec<u64>> = Mutex::new(Vec::new());

        struct TestDriver;

        impl embassy_time_driver::Driver for TestDriver {
            fn now(&self) -> u64 {
                NOW.load(Ordering::Relaxed)
            }

            fn schedule_wake(&self, at: u64, _waker: &Waker) {
                WAKES.lock().unwrap().push(at);
            }
        }

        embassy_time_driver::time_driver_impl!(static DRIVER: TestDriver = TestDriver);

        fn wakes() -> Vec<u64> {
            std::mem::take(&mut *WAKES.lock().unwrap())
        }

        // One test: the time driver and its record are global to the test binary.
        #[test]
        fn frames_pass_both_ways_and_an_idle_or_full_chip_asks_for_a_wake_up_one_ms_later() {
            let mut chip = Chip::new();
            let mut buffers = Buffers::new();
            let nic = Lan9118::new(&mut chip, &mut buffers).unwrap();
            let mut dev = EmbassyLan9118::new(nic);
            let mut cx = Context::from_waker(Waker::noop());
            let tick = (POLL_INTERVAL_MS * embassy_time_driver::TICK_HZ / 1000).max(1);
            assert_eq!(
                dev.hardware_address(),
                HardwareAddress::Ethernet([0x52, 0x54, 0, 0x12, 0x34, 0x56])
            );
            assert_eq!(dev.capabilities().max_transmission_unit, MAX_FRAME);
            assert!(dev.link_state(&mut cx) == LinkState::Up);
            wakes();

            // Idle: no frame, one wake-up asked for a poll interval later.
            assert!(dev.receive(&mut cx).is_none());
            assert_eq!(wakes(), [1000 + tick]);

            // A frame arrives: handed over mutably, without the FCS, with no wake-up asked.
            dev.inner_mut().bus.push_frame(&frame(70, 3), 0);
            let (rx, tx) = dev.receive(&mut cx).expect("a frame");
            embassy_net_driver::RxToken::consume(rx, |got: &mut [u8]| {
                assert_eq!(got, &frame(70, 3)[..]);
                got[0] ^= 0xff;
            });
            embassy_net_driver::TxToken::consume(tx, 60, |buf: &mut [u8]| buf.fill(0x11));
            assert!(wakes().is_empty());

            // A full transmit FIFO: no token, a wake-up asked for.
            dev.inner_mut().bus.tx_free = 0;
            NOW.store(2000, Ordering::Relaxed);
            assert!(dev.transmit(&mut cx).is_none());
            assert_eq!(wakes(), [2000 + tick]);
            dev.inner_mut().bus.tx_free = 4608;
            let tx = dev.transmit(&mut cx).expect("room again");
            embassy_net_driver::TxToken::consume(tx, 14, |buf: &mut [u8]| buf.fill(0x22));
            let nic = dev.into_inner();
            assert_eq!(nic.stats().tx_frames, 2);
            assert_eq!(nic.stats().rx_frames, 1);
            let chip = nic.into_inner();
            assert_eq!(chip.tx_words[1], (1 << 16) | 60);
        }
    }

    #[test]
    fn link_state_comes_from_the_phy_basic_status_register() {
        let mut chip = Chip::new();
        chip.phy_bsr = 0x7809;
        let mut buffers = Buffers::new();
        let mut nic = Lan9118::new(&mut chip, &mut buffers).unwrap();
        assert!(!nic.link_up().unwrap());
    }
}
