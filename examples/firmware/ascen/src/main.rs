//! The async half of unisock's conformance suite on the MCU (issue 10): every scenario of
//! `tests/src/async_scenarios.rs`, the same source the host runs on tokio, async-io and
//! smoltcp, included here by path and run on unisock-smoltcp's async API over the LAN9118
//! under embassy-executor on QEMU's mps2-an386.
//!
//! Both roles of each scenario are this stack: IPv4 and IPv6 to its own addresses on the NIC
//! (`10.42.0.2`, `fd42::2`), through unisock-smoltcp's local-delivery queue (`127.0.0.1` is
//! configured too, for `localhost`); the
//! interface (the LAN9118 included) is driven by the runner task as in `anic`. Each scenario
//! runs under a [`LIMIT`] (a lost wake-up fails it instead of hanging the run), then the leak
//! check: the stack's open-socket count must come back within [`SETTLE_MS`]. A failed
//! assertion panics (the board's semihosting panic handler prints it and exits non-zero).
//!
//! Prints `scenario NAME ok` for each, then `ascen: N scenarios passed`, and exits 0. Exit
//! status 1 on a timeout or a leak, 2 on the overall time limit, 3 if the core peripherals
//! are gone. The host test is `async_scenarios_run_on_the_firmware` in
//! `tests/tests/embedded_qemu.rs`.
#![no_std]
#![no_main]

extern crate alloc;

use core::mem::MaybeUninit;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use cortex_m_rt::entry;
use embassy_executor::Executor;
use embassy_firmware::{NicStack, bring_up, fail, net_task, spawn, watchdog};
use embassy_time::{Duration, Timer, with_timeout};
use embedded_alloc::LlffHeap as Heap;
use lan9118::Buffers;
use mps2_board::net::DEVICE_IP;
use mps2_board::semihosting::println;
use mps2_board::{exit, stack_used};
use unisock::ErrorKind;
use unisock_firmware::POOL;
use unisock_smoltcp::{Cidr, PoolConfig, Resources};

/// The suite's assertions and the backends' [`check::Profile`] (`tests/src/check.rs`). The
/// async scenarios read only some of the profile's fields.
#[allow(dead_code)]
#[path = "../../../../tests/src/check.rs"]
mod check;

/// The scenarios (`tests/src/async_scenarios.rs`). Its `AsyncEnv::loopback` is for the host's
/// setups (127.0.0.1 over a loopback device); this stack is built below instead.
#[allow(dead_code)]
#[path = "../../../../tests/src/async_scenarios.rs"]
mod async_scenarios;

/// What the scenarios need of the including crate besides [`check`].
mod util {
    use mps2_board::semihosting::println;

    /// A notice of the suite (a scenario that does not apply here), printed.
    pub fn notice(args: core::fmt::Arguments<'_>) {
        println!("{}", args);
    }
}

use async_scenarios::{AsyncEnv, Sleep};

/// This firmware's name in what it prints.
const NAME: &str = "ascen";
/// The bound on one scenario.
const LIMIT: Duration = Duration::from_secs(60);
/// How long the closing handshakes after a scenario may take before the leak check fails.
const SETTLE_MS: u64 = 10_000;
/// The NIC's IPv6 address (unique local, only ever talked to by this stack itself).
const IPV6: Ipv6Addr = Ipv6Addr::new(0xfd42, 0, 0, 0, 0, 0, 0, 2);
/// Bytes of the heap the scenarios allocate from.
const HEAP_BYTES: usize = 512 * 1024;

/// What unisock-smoltcp documents where BSD leaves room (as in `tests/tests/smoltcp_async.rs`).
const PROFILE: check::Profile = check::Profile {
    name: "smoltcp-firmware",
    client_urgent: false,
    server_urgent: false,
    backlog_extra: 0,
    backlog_overflow: ErrorKind::ConnectionRefused,
    resolves_localhost: true,
};

/// The pool: [`POOL`]'s TCP buffers with room for the scenarios' listeners (backlog up to 8
/// armed sockets) and connections, four UDP sockets, and a local-delivery queue of 32
/// Ethernet frames.
const SCENARIO_POOL: PoolConfig = PoolConfig {
    tcp: 20,
    udp: 4,
    udp_rx: 4096,
    udp_tx: 4096,
    udp_packets: 8,
    local_bytes: 32 * (1514 + 2),
    ..POOL
};
/// Socket slots [`SCENARIO_POOL`] needs.
const SOCKETS: usize = SCENARIO_POOL.sockets_needed();
/// Buffer bytes [`SCENARIO_POOL`] needs.
const BYTES: usize = SCENARIO_POOL.bytes_needed();
/// Packet metadata entries [`SCENARIO_POOL`] needs.
const PACKETS: usize = SCENARIO_POOL.packets_needed();

type ScenarioResources = Resources<'static, SOCKETS, 0, PACKETS>;
type Env = AsyncEnv<'static, &'static NicStack, &'static NicStack, EmbassySleep>;

#[global_allocator]
static HEAP: Heap = Heap::empty();
/// The heap's memory, handed to [`HEAP`] once at start-up.
static mut HEAP_MEMORY: [MaybeUninit<u8>; HEAP_BYTES] = [MaybeUninit::uninit(); HEAP_BYTES];

/// embassy-time's timer, as the scenarios need it.
struct EmbassySleep;

impl Sleep for EmbassySleep {
    async fn sleep(&self, d: core::time::Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 2);
        Timer::after(Duration::from_micros(micros)).await
    }
}

/// Run one scenario future under [`LIMIT`], then the leak check.
async fn run(env: &Env, name: &str, scenario: impl core::future::Future<Output = ()>) {
    let stack = *env.server;
    let start = stack.open_sockets();
    if with_timeout(LIMIT, scenario).await.is_err() {
        fail(NAME, name, "timed out (a lost wake-up?)");
    }
    let deadline = mps2_board::now_ms() + SETTLE_MS;
    while stack.open_sockets() > start {
        if mps2_board::now_ms() > deadline {
            println!(
                "{NAME}: {name}: {} sockets left open (leak check)",
                stack.open_sockets() - start
            );
            exit(1)
        }
        Timer::after(Duration::from_millis(5)).await;
    }
    println!("scenario {name} ok");
}

/// Every scenario of the suite's `async_conformance_tests!`, in its order.
#[embassy_executor::task]
async fn scenarios(env: &'static Env) {
    use async_scenarios as s;
    let [a, b, c, d] = DEVICE_IP;
    println!("READY ascen: scenarios on {a}.{b}.{c}.{d} and {IPV6}");
    let mut passed = 0;
    macro_rules! scenario {
        ($name:literal, $fut:expr) => {
            run(env, $name, $fut).await;
            passed += 1;
        };
    }
    scenario!("tcp_echo_v4", s::tcp_echo(env, false));
    scenario!("tcp_echo_v6", s::tcp_echo(env, true));
    scenario!("bind_then_connect_v4", s::bind_then_connect(env, false));
    scenario!("bind_then_connect_v6", s::bind_then_connect(env, true));
    scenario!("backlog", s::backlog(env));
    scenario!("half_close", s::half_close(env));
    scenario!(
        "drop_delivers_queued_data",
        s::drop_delivers_queued_data(env)
    );
    scenario!("shutdown_read", s::shutdown_read(env));
    scenario!("abort_resets_peer", s::abort_resets_peer(env));
    scenario!("peek_and_waitall", s::peek_and_waitall(env));
    scenario!("connect_refused_v4", s::connect_refused(env, false));
    scenario!("connect_refused_v6", s::connect_refused(env, true));
    scenario!("udp_round_trip_v4", s::udp_round_trip(env, false));
    scenario!("udp_round_trip_v6", s::udp_round_trip(env, true));
    scenario!("udp_truncation", s::udp_truncation(env));
    scenario!("udp_connected_filtering", s::udp_connected_filtering(env));
    scenario!("udp_split", s::udp_split(env));
    scenario!("resolve_localhost", s::resolve_localhost(env));
    scenario!("make_connection_cases", s::make_connection_cases(env));
    scenario!("wakeups_ping_pong", s::wakeups_ping_pong(env));
    scenario!("cancellation", s::cancellation(env));
    println!("{NAME}: {passed} scenarios passed");
    println!("{NAME}: stack high-water mark {} bytes", stack_used());
    exit(0)
}

#[entry]
fn main() -> ! {
    static mut RESOURCES: MaybeUninit<ScenarioResources> = MaybeUninit::uninit();
    static mut SOCKET_BUFFERS: [u8; BYTES] = [0; BYTES];
    static mut STACK: Option<NicStack> = None;
    static mut FRAMES: Buffers = Buffers::new();
    static mut STACK_REF: Option<&'static NicStack> = None;
    static mut ENV: Option<Env> = None;
    static mut EXECUTOR: Option<Executor> = None;

    let Some(cp) = cortex_m::Peripherals::take() else {
        exit(3)
    };
    // SAFETY: called once, before anything allocates, with memory nothing else names for the
    // rest of the program (`HEAP_MEMORY`; `&raw mut` makes no reference to the `static mut`).
    unsafe { HEAP.init(&raw mut HEAP_MEMORY as usize, HEAP_BYTES) }
    mps2_board::start_clock(cp.SYST);
    let extra = [
        Cidr {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            prefix_len: 8,
        },
        Cidr {
            addr: IpAddr::V6(IPV6),
            prefix_len: 64,
        },
    ];
    let (stack, _mac) = bring_up(
        NAME,
        SCENARIO_POOL,
        &extra,
        FRAMES,
        RESOURCES,
        SOCKET_BUFFERS,
        STACK,
    );
    let stack: &'static &'static NicStack = STACK_REF.insert(stack);
    let ip = Ipv4Addr::from(DEVICE_IP);
    let env: &'static Env = ENV.insert(AsyncEnv {
        server: stack,
        client: stack,
        server_v4: ip,
        client_v4: ip,
        v6: Some((IPV6, IPV6)),
        profile: PROFILE,
        timer: EmbassySleep,
    });
    EXECUTOR.insert(Executor::new()).run(move |spawner| {
        spawn(NAME, spawner, net_task(stack));
        spawn(NAME, spawner, watchdog(NAME));
        spawn(NAME, spawner, scenarios(env));
    })
}
