//! # unisock on a bare-metal Cortex-M4F
//!
//! The glue a board needs to run `unisock-smoltcp` without an operating system, for QEMU's
//! `mps2-an386`:
//! - [`SysTickClock`]: the [`Clock`] over the board's 1 kHz SysTick counter, and the same
//!   counter as an [`embedded_time::Clock`] for clients that keep time with it (minimq);
//! - [`Wfi`]: the [`Wait`] strategy: sleep until the next interrupt (at the latest the next
//!   SysTick, 1 ms later), since the polled LAN9118 raises none;
//! - [`POOL`] and the matching [`NicResources`]/[`LoopbackResources`]: the fixed socket pool
//!   (two TCP sockets with 4 KiB buffers each way, no UDP or raw socket), sized at compile time;
//! - [`configure`]: the interface configuration of the test network;
//! - [`wait_all_closed`]: the leak check every run ends with;
//! - [`http`]: a minimal HTTP/1.0 GET over any embedded-nal `TcpClientStack`.
//!
//! The binaries: `nic` runs the shared echo server and client of `unisock-examples` over the
//! LAN9118 ([`lan9118::Lan9118`]); `loopback` moves 64 KiB through the in-firmware loopback
//! device in a single-threaded superloop of non-blocking calls; `clients` runs unmodified
//! crates.io clients (minimq's MQTT publish) and [`http::get`] through `unisock-nal`'s
//! embedded-nal adapter over the LAN9118.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use core::net::{IpAddr, Ipv4Addr};
use core::time::Duration;

use smoltcp::phy::Device;
use smoltcp::time::Instant;
use unisock_smoltcp::{Cidr, Clock, Config, PoolConfig, Resources, Stack, Wait};

pub mod http;

/// The board's millisecond SysTick counter as a unisock-smoltcp [`Clock`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SysTickClock;

impl Clock for SysTickClock {
    fn now(&self) -> Instant {
        // Milliseconds since boot fit an i64 for 292 million years.
        Instant::from_millis(mps2_board::now_ms() as i64)
    }
}

/// The same counter for `embedded-time` users: milliseconds in a `u32`, which wraps after
/// 49.7 days; `embedded_time::Instant` compares wrapping values correctly for spans under
/// half of that.
impl embedded_time::Clock for SysTickClock {
    type T = u32;
    const SCALING_FACTOR: embedded_time::rate::Fraction =
        embedded_time::rate::Fraction::new(1, 1000);

    fn try_now(&self) -> Result<embedded_time::Instant<Self>, embedded_time::clock::Error> {
        // Truncation is the wrap-around described above.
        Ok(embedded_time::Instant::new(mps2_board::now_ms() as u32))
    }
}

/// Sleep with `WFI` until the next interrupt; the 1 kHz SysTick bounds every wait to 1 ms.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wfi;

impl Wait for Wfi {
    fn wait(&self, _timeout: Option<Duration>) {
        mps2_board::wait_for_tick();
    }
}

/// Bytes of each TCP socket's receive and transmit buffer (as in the direct-smoltcp baseline).
pub const TCP_BUFFER: usize = 4096;

/// The socket pool: two TCP sockets (the listener's armed one, then the outbound connection),
/// nothing else. `udp_packets` and `raw_packets` must be at least 1 even with no such socket.
/// No local-delivery queue: the firmware never talks to its own address (the `loopback`
/// binary's device returns every frame itself).
pub const POOL: PoolConfig = PoolConfig {
    tcp: 2,
    tcp_rx: TCP_BUFFER,
    tcp_tx: TCP_BUFFER,
    udp: 0,
    udp_rx: 0,
    udp_tx: 0,
    udp_packets: 1,
    raw: 0,
    raw_bytes: 0,
    raw_packets: 1,
    local_bytes: 0,
};

/// Socket slots [`POOL`] needs.
pub const SOCKETS: usize = POOL.sockets_needed();
/// Buffer bytes [`POOL`] needs.
pub const BYTES: usize = POOL.bytes_needed();
/// Packet metadata entries [`POOL`] needs (at least one).
pub const PACKETS: usize = if POOL.packets_needed() > 0 {
    POOL.packets_needed()
} else {
    1
};

/// The socket tables of the NIC firmware's stack. Its socket buffers are a separate
/// zero-initialised `static` of [`BYTES`] bytes (`.bss`), given to `Stack::new_in`, so this
/// holds no byte arena (`BYTES` parameter 0).
pub type NicResources = Resources<'static, SOCKETS, 0, PACKETS>;
/// The socket tables of the loopback firmware's stack (buffers as for [`NicResources`]).
pub type LoopbackResources = Resources<'static, SOCKETS, 0, PACKETS>;

/// Fill `config` for the test network: the board's address, the NIC's MAC and [`POOL`].
///
/// Filled in place rather than returned: a `Config` is almost 1 KiB, and every by-value step
/// of a builder chain would be one more copy of it in `main`'s stack frame.
pub fn configure(config: &mut Config, mac: [u8; 6]) -> Result<(), unisock_smoltcp::Error> {
    let [a, b, c, d] = mps2_board::net::DEVICE_IP;
    let address = Cidr::new(
        IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        mps2_board::net::PREFIX_LEN,
    )?;
    config.addresses.clear();
    config.addresses.push(address).map_err(|_| {
        unisock_smoltcp::Error::new(unisock::ErrorKind::OutOfMemory, "interface addresses")
    })?;
    config.mac = Some(mac);
    config.pool = POOL;
    Ok(())
}

/// The leak check every run ends with: poll until the stack has no socket open (closing
/// connections finish their handshake), at most `limit_ms`. Returns how many are still open
/// when the limit passes, or 0.
pub fn wait_all_closed<D: Device, C: Clock, W: Wait>(
    stack: &Stack<'_, D, C, W>,
    limit_ms: u64,
) -> usize {
    let deadline = mps2_board::now_ms() + limit_ms;
    loop {
        stack.poll();
        let open = stack.open_sockets();
        if open == 0 || mps2_board::now_ms() > deadline {
            return open;
        }
        mps2_board::wait_for_tick();
    }
}
