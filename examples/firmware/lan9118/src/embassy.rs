//! The driver as an [`embassy_net_driver::Driver`] (feature `embassy-net-driver`), for
//! embassy-net.
//!
//! [`EmbassyLan9118`] wraps a started [`Lan9118`] and lends embassy-net the same frame buffers
//! and FIFO accesses as the smoltcp [`Device`](smoltcp::phy::Device) implementation does.
//!
//! **Wake-ups are polled**, as the driver is: the chip's interrupt line is not used. When
//! `receive` finds no frame, or `transmit` finds no room in the transmit FIFO, the adapter asks
//! the embassy-time driver (`embassy_time_driver::schedule_wake`) to wake the caller (embassy-net's
//! runner task) [`POLL_INTERVAL_MS`] later, so an idle link costs one FIFO check per millisecond
//! and a frame waits at most that long before the stack sees it. Any time driver works; on
//! `mps2-board` it is the 1 kHz SysTick.
//!
//! The link state comes from the internal PHY's basic status register, read over MII at most
//! once per second (an MII read is a few dozen register accesses); a failed read reports the
//! link down.

use core::task::Context;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState};

use crate::{Bus, Lan9118, MAX_FRAME, RxToken, TxToken};

/// How long an idle receive or a full transmit FIFO waits before the runner polls again.
pub const POLL_INTERVAL_MS: u64 = 1;
/// How often the PHY's link bit is read again, in milliseconds.
const LINK_CHECK_MS: u64 = 1000;

/// Milliseconds of the embassy-time driver's clock as its ticks (at least one tick).
fn ms_to_ticks(ms: u64) -> u64 {
    (ms * embassy_time_driver::TICK_HZ / 1000).max(1)
}

/// A [`Lan9118`] as an embassy-net driver.
pub struct EmbassyLan9118<'a, B: Bus> {
    nic: Lan9118<'a, B>,
    link: LinkState,
    /// When the link bit is read next (embassy-time ticks).
    link_check_at: u64,
}

impl<'a, B: Bus> EmbassyLan9118<'a, B> {
    /// Wrap a started driver.
    pub fn new(nic: Lan9118<'a, B>) -> Self {
        EmbassyLan9118 {
            nic,
            link: LinkState::Down,
            link_check_at: 0,
        }
    }

    /// The wrapped driver (for its statistics and MAC address).
    pub fn inner(&self) -> &Lan9118<'a, B> {
        &self.nic
    }

    /// The wrapped driver, mutably.
    pub fn inner_mut(&mut self) -> &mut Lan9118<'a, B> {
        &mut self.nic
    }

    /// Give the driver back.
    pub fn into_inner(self) -> Lan9118<'a, B> {
        self.nic
    }
}

impl<B: Bus> core::fmt::Debug for EmbassyLan9118<'_, B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EmbassyLan9118")
            .field("nic", &self.nic)
            .finish_non_exhaustive()
    }
}

/// Have the task of `cx` polled again after [`POLL_INTERVAL_MS`].
fn poll_later(cx: &Context<'_>) {
    let at = embassy_time_driver::now().saturating_add(ms_to_ticks(POLL_INTERVAL_MS));
    embassy_time_driver::schedule_wake(at, cx.waker());
}

impl embassy_net_driver::RxToken for RxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        f(self.frame)
    }
}

impl<B: Bus> embassy_net_driver::TxToken for TxToken<'_, B> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        smoltcp::phy::TxToken::consume(self, len, f)
    }
}

impl<B: Bus> Driver for EmbassyLan9118<'_, B> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, B>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let nic = &mut self.nic;
        if !nic.tx_room() {
            poll_later(cx);
            return None;
        }
        let Some(len) = nic.pop_frame() else {
            poll_later(cx);
            return None;
        };
        let rx = RxToken {
            frame: &mut nic.rx[..len],
        };
        let tx = TxToken {
            bus: &mut nic.bus,
            buf: &mut *nic.tx,
            tag: &mut nic.tag,
            stats: &mut nic.stats,
        };
        Some((rx, tx))
    }

    fn transmit(&mut self, cx: &mut Context<'_>) -> Option<Self::TxToken<'_>> {
        let nic = &mut self.nic;
        if !nic.tx_room() {
            poll_later(cx);
            return None;
        }
        Some(TxToken {
            bus: &mut nic.bus,
            buf: &mut *nic.tx,
            tag: &mut nic.tag,
            stats: &mut nic.stats,
        })
    }

    fn link_state(&mut self, _cx: &mut Context<'_>) -> LinkState {
        let now = embassy_time_driver::now();
        if now >= self.link_check_at {
            self.link_check_at = now.saturating_add(ms_to_ticks(LINK_CHECK_MS));
            self.link = match self.nic.link_up() {
                Ok(true) => LinkState::Up,
                Ok(false) | Err(_) => LinkState::Down,
            };
        }
        self.link
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = MAX_FRAME;
        // No checksum offload: the default capabilities compute and verify everything.
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.nic.mac)
    }
}
