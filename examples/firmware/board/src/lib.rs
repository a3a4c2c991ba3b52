//! # Board support for QEMU's `mps2-an386` (Cortex-M4F)
//!
//! What every firmware binary of this workspace shares, and what a port to another board
//! replaces:
//! - the memory map (`memory.x`, put on the linker path by this crate's build script: 4 MiB of
//!   code RAM at `0x0000_0000`, 4 MiB of data RAM at `0x2000_0000`);
//! - a millisecond clock driven by the SysTick exception ([`start_clock`], [`now_ms`]);
//! - a wait strategy: [`wait_for_tick`] sleeps (`WFI`) until the next interrupt, at the latest
//!   the next SysTick, so a polling loop does not spin the host CPU;
//! - the stack high-water mark ([`stack_used`]), read from the paint that cortex-m-rt's
//!   `paint-stack` feature applies at reset;
//! - semihosting output and [`exit`] with a status code (a panic exits with status 101 through
//!   the `semihosting` crate's panic handler and prints the message).
//!
//! With the `embassy-time` feature, the same SysTick also drives an `embassy-time` driver
//! ([`time_driver`]: 1 ms ticks, alarms checked on every tick), so that `embassy_time::Timer`
//! works under embassy-executor; without it the firmware links none of it.
//!
//! Not modelled: the board's UARTs, timers other than SysTick, and interrupts of the Ethernet
//! controller (the driver is polled).
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

pub use semihosting;

#[cfg(feature = "embassy-time")]
pub mod time_driver;

/// The core clock of QEMU's MPS2 boards (`SYSCLK_FRQ` in `hw/arm/mps2.c`), which SysTick
/// counts when clocked from the processor clock.
pub const CORE_CLOCK_HZ: u32 = 25_000_000;

/// Base address of the LAN9118 Ethernet controller on this board.
pub const LAN9118_BASE: usize = 0x4020_0000;

static MILLIS_LO: AtomicU32 = AtomicU32::new(0);
static MILLIS_HI: AtomicU32 = AtomicU32::new(0);

/// Start the 1 kHz SysTick interrupt that drives [`now_ms`].
pub fn start_clock(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_CLOCK_HZ / 1000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    // Only this handler writes; it cannot be preempted by the thread-mode readers.
    let lo = MILLIS_LO.load(Ordering::Relaxed).wrapping_add(1);
    if lo == 0 {
        MILLIS_HI.fetch_add(1, Ordering::Relaxed);
    }
    MILLIS_LO.store(lo, Ordering::Release);
    #[cfg(feature = "embassy-time")]
    time_driver::on_tick((u64::from(MILLIS_HI.load(Ordering::Relaxed)) << 32) | u64::from(lo));
}

/// Milliseconds since [`start_clock`].
pub fn now_ms() -> u64 {
    loop {
        let hi = MILLIS_HI.load(Ordering::Acquire);
        let lo = MILLIS_LO.load(Ordering::Acquire);
        if MILLIS_HI.load(Ordering::Acquire) == hi {
            return (u64::from(hi) << 32) | u64::from(lo);
        }
    }
}

/// Sleep until the next interrupt (at the latest the next SysTick, 1 ms).
pub fn wait_for_tick() {
    cortex_m::asm::wfi();
}

/// Bytes of stack used so far at most: the distance from the stack top to the lowest word no
/// longer holding cortex-m-rt's paint value.
pub fn stack_used() -> usize {
    unsafe extern "C" {
        static _stack_start: u32;
        static _stack_end: u32;
    }
    let top = (&raw const _stack_start) as usize;
    let bottom = (&raw const _stack_end) as usize;
    let mut addr = bottom;
    while addr < top {
        // SAFETY: `addr` is a word-aligned address in `_stack_end.._stack_start`, which the
        // linker script reserves for the stack; reading it races with nothing (one thread, the
        // SysTick handler's frame lies below the current stack pointer only while it runs).
        let word = unsafe { core::ptr::read_volatile(addr as *const u32) };
        if word != cortex_m_rt::STACK_PAINT_VALUE {
            break;
        }
        addr += 4;
    }
    top - addr
}

/// End the program: QEMU exits with `code` as its own exit status.
pub fn exit(code: i32) -> ! {
    semihosting::process::exit(code)
}

/// The network plan shared by the firmware and the host-side test (`tests/tests/embedded_qemu.rs`
/// in the main workspace): the host's TAP end and the firmware live in one /24 that exists only
/// inside the test's network namespace.
pub mod net {
    /// The firmware's IPv4 address.
    pub const DEVICE_IP: [u8; 4] = [10, 42, 0, 2];
    /// The host's address on the TAP device.
    pub const HOST_IP: [u8; 4] = [10, 42, 0, 1];
    /// Prefix length of the link.
    pub const PREFIX_LEN: u8 = 24;
    /// TCP port the firmware's echo server listens on.
    pub const ECHO_PORT: u16 = 7;
    /// TCP port on the host the firmware connects to when the echo is done.
    pub const REPORT_PORT: u16 = 4242;
    /// How long a firmware run may take in all before it gives up (exit status 2).
    pub const RUN_LIMIT_MS: u64 = 120_000;
}
