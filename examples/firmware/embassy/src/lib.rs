//! What the firmwares on unisock-smoltcp's async API (`anic`, `aclients`, `ahttpd`) share: the
//! stack type over the LAN9118, bringing it up in place, the runner task, the time-limit task,
//! spawning, and the end-of-run leak check. The embassy-net firmwares (`enet`,
//! `enet-clients`) and `timers` use none of it.
#![no_std]

use core::fmt::Debug;
use core::mem::MaybeUninit;

use embassy_executor::{SpawnError, SpawnToken, Spawner};
use embassy_time::{Duration, Timer};
use lan9118::{Buffers, Lan9118, Mmio};
use mps2_board::exit;
use mps2_board::net::RUN_LIMIT_MS;
use mps2_board::semihosting::println;
use unisock_firmware::{SysTickClock, Wfi, configure};
use unisock_smoltcp::{Cidr, Config, PoolConfig, Resources, SleepFn, Stack};

/// unisock-smoltcp over the board's LAN9118. The `Wait` type parameter ([`Wfi`]) is only used
/// by blocking calls, which these firmwares make none of.
pub type NicStack = Stack<'static, Lan9118<'static, Mmio>, SysTickClock, Wfi>;

/// The longest the runner sleeps: the LAN9118 is polled (its interrupt is not wired), so this
/// is how late a received frame may be noticed (one tick of the time driver, as the blocking
/// `nic`'s `WFI` wait and `enet`'s driver).
pub const POLL_INTERVAL_US: u64 = 1_000;

/// Print `name: what: e` and exit with status 1.
pub fn fail(name: &str, what: &str, e: impl Debug) -> ! {
    println!("{name}: {what}: {e:?}");
    exit(1)
}

/// Spawn `token`, or exit 1 if its task is already running (each task has one slot).
pub fn spawn<S>(name: &str, spawner: Spawner, token: Result<SpawnToken<S>, SpawnError>) {
    match token {
        Ok(token) => spawner.spawn(token),
        Err(e) => fail(name, "spawn", e),
    }
}

/// The runner: drives the interface forever ([`Stack::run`]), sleeping with
/// [`embassy_time::Timer`] between rounds, never longer than [`POLL_INTERVAL_US`].
#[embassy_executor::task]
pub async fn net_task(stack: &'static NicStack) -> ! {
    let sleep = SleepFn(|delay: Option<core::time::Duration>| {
        // `None` (no timer due) and long deadlines alike: at most POLL_INTERVAL_US, since a
        // received frame raises nothing that would end the sleep early. Capped before the
        // conversion: embassy-time's `from_micros` rounds up with an addition that would
        // overflow near `u64::MAX`.
        let micros = delay.map_or(POLL_INTERVAL_US, |d| {
            u64::try_from(d.as_micros()).map_or(POLL_INTERVAL_US, |us| us.min(POLL_INTERVAL_US))
        });
        Timer::after(Duration::from_micros(micros))
    });
    match stack.run(sleep).await {}
}

/// The overall time limit of the run: exit 2 after the board's `RUN_LIMIT_MS`.
#[embassy_executor::task]
pub async fn watchdog(name: &'static str) {
    Timer::after(Duration::from_millis(RUN_LIMIT_MS)).await;
    println!("{name}: time limit reached");
    exit(2)
}

/// Wait until `stack` has no socket open (closing connections finish their handshakes in the
/// runner), at most `limit_ms`. Returns how many are still open then, or 0.
pub async fn wait_all_closed(stack: &NicStack, limit_ms: u64) -> usize {
    let deadline = mps2_board::now_ms() + limit_ms;
    loop {
        let open = stack.open_sockets();
        if open == 0 || mps2_board::now_ms() > deadline {
            return open;
        }
        Timer::after(Duration::from_millis(5)).await;
    }
}

/// Start the driver and the stack with the socket pool `pool` (the board's address and the
/// NIC's MAC from `unisock_firmware::configure`, then the addresses in `extra`). Not inlined: the initialisation temporaries
/// (the `Config`) live in this frame, gone before the executor runs. The stack is built
/// straight into `slot` (`Stack::new_in`), its socket buffers carved from the
/// zero-initialised `buffers`. Exits 1 (`name: ...`) on an error.
#[inline(never)]
pub fn bring_up<const SOCKETS: usize, const PACKETS: usize>(
    name: &str,
    pool: PoolConfig,
    extra: &[Cidr],
    frames: &'static mut Buffers,
    resources: &'static mut MaybeUninit<Resources<'static, SOCKETS, 0, PACKETS>>,
    buffers: &'static mut [u8],
    slot: &'static mut Option<NicStack>,
) -> (&'static NicStack, [u8; 6]) {
    // SAFETY: the LAN9118 window of this board; this is its only user.
    let bus = unsafe { Mmio::new(mps2_board::LAN9118_BASE) };
    let nic = Lan9118::new(bus, frames).unwrap_or_else(|e| fail(name, "lan9118", e));
    let mac = nic.mac_address();
    let mut config = Config::new();
    configure(&mut config, mac).unwrap_or_else(|e| fail(name, "config", e));
    config.pool = pool;
    for cidr in extra {
        if config.addresses.push(*cidr).is_err() {
            fail(name, "config", "too many interface addresses");
        }
    }
    let resources = resources.write(Resources::new());
    match Stack::new_in(slot, nic, SysTickClock, Wfi, &config, resources, buffers) {
        Ok(stack) => (stack, mac),
        Err(e) => fail(name, "stack", e),
    }
}
