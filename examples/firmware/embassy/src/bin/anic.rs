//! The NIC firmware's job, async: `unisock-smoltcp`'s [`unisock::asynch`] API under
//! embassy-executor with the board's embassy-time driver.
//!
//! Same board, driver (the plain `smoltcp::phy::Device` `Lan9118`, polled), addresses,
//! socket pool (two TCP sockets with 4 KiB each way), 1 KiB echo buffer and sequence as
//! `unisock-firmware`'s blocking `nic` and embassy-net's `enet`. Four tasks:
//!
//! - `net_task` (`embassy_firmware::net_task`, shared with `aclients` and `ahttpd`): the
//!   runner, `Stack::run`, which polls the interface and sleeps with
//!   [`embassy_time::Timer`] between rounds. The LAN9118 is **polled**: its interrupt is not
//!   wired, so nothing wakes the runner when a frame arrives. The runner therefore never sleeps
//!   longer than `POLL_INTERVAL_US` (1 ms, one tick of the time driver): with no timer due
//!   (`None`) it sleeps 1 ms, and a later deadline is cut to 1 ms too. A frame waits at most
//!   1 ms, as with the blocking `nic`'s `WFI` wait and `enet`'s driver.
//! - `echo_task`: listens on port 7, serves one connection with [`echo_once`] (accept, then
//!   `embedded_io_async` read and `write_all` until the peer closes), drops the listener and
//!   signals the report task.
//! - `report_task`: waits for the echo to end, then [`send_message`] to `10.42.0.1:4242`,
//!   waits until no socket is open (the leak check), prints the summary and exits 0.
//! - `watchdog`: exit 2 after the overall time limit.
//!
//! ICMP echo is answered by smoltcp inside the runner's polls. [`echo_once`] and
//! [`send_message`] are generic over [`unisock::asynch`] (the async counterparts of
//! `unisock_examples::{echo_server, send_message}`, which are blocking). Exit status 0 on
//! success, 1 on a network error, 2 on the time limit, 3 if the core peripherals are gone.
#![no_std]
#![no_main]

use core::mem::MaybeUninit;
use core::net::{Ipv4Addr, SocketAddr};

use cortex_m_rt::entry;
use embassy_executor::Executor;
use embassy_firmware::{NicStack, bring_up, net_task, spawn, wait_all_closed, watchdog};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::signal::Signal;
use lan9118::Buffers;
use mps2_board::net::{DEVICE_IP, ECHO_PORT, HOST_IP, REPORT_PORT};
use mps2_board::semihosting::println;
use mps2_board::{exit, stack_used};
use unisock::Shutdown;
use unisock::asynch::embedded_io_async::{Read, Write};
use unisock::asynch::{Stack as AsyncStack, StreamListener, StreamSocket};
use unisock_firmware::{BYTES, NicResources, POOL};

/// This firmware's name in what it prints.
const NAME: &str = "anic";
/// The message sent to the host.
const MESSAGE: &[u8] = b"hello from the async unisock firmware";
/// How long the closing connections may take to finish their handshakes at the end.
const CLOSE_LIMIT_MS: u64 = 10_000;

/// The echo task's result for the report task: bytes echoed.
type EchoDone = Signal<NoopRawMutex, u64>;

fn fail(what: &str, e: impl core::fmt::Debug) -> ! {
    embassy_firmware::fail(NAME, what, e)
}

/// Accept one connection on `listener` and echo everything it sends until it ends its stream,
/// then shut down the write side. Returns the bytes echoed and the peer.
async fn echo_once<L: StreamListener>(
    listener: &mut L,
    buf: &mut [u8],
) -> Result<(u64, L::Addr), L::Error> {
    let (mut conn, peer) = listener.accept().await?;
    let mut total = 0u64;
    loop {
        let n = conn.read(buf).await?;
        if n == 0 {
            break;
        }
        conn.write_all(&buf[..n]).await?;
        total += n as u64;
    }
    conn.shutdown(Shutdown::Write)?;
    Ok((total, peer))
}

/// Connect to `to`, send `message`, half-close, and wait for the peer to close. Returns the
/// connection's local endpoint.
async fn send_message<S: AsyncStack>(
    stack: &S,
    to: SocketAddr,
    message: &[u8],
) -> Result<SocketAddr, S::Error> {
    let mut conn = stack.connect(to).await?;
    let local = unisock::Socket::local_addr(&conn)?;
    conn.write_all(message).await?;
    conn.shutdown(Shutdown::Write)?;
    let mut sink = [0u8; 64];
    while conn.read(&mut sink).await? != 0 {}
    Ok(local)
}

/// Serve one echo connection on port 7, then hand over to the report task.
#[embassy_executor::task]
async fn echo_task(
    stack: &'static NicStack,
    mac: [u8; 6],
    buf: &'static mut [u8; 1024],
    done: &'static EchoDone,
) {
    let [a, b, c, d] = DEVICE_IP;
    let at = SocketAddr::from((Ipv4Addr::new(a, b, c, d), ECHO_PORT));
    let mut listener = AsyncStack::listen(&stack, at, 1).unwrap_or_else(|e| fail("listen", e));
    println!(
        "READY anic: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, echo on {a}.{b}.{c}.{d}:{ECHO_PORT}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    );
    // Addresses are printed as numbers (as in `nic`): formatting `SocketAddr` would pull
    // `core`'s IPv6 formatter into the size comparison.
    let (echoed, peer) = echo_once(&mut listener, buf)
        .await
        .unwrap_or_else(|e| fail("echo server", e));
    println!("anic: echoed {echoed} bytes to port {}", peer.port());
    // Frees the listener's armed socket for the outbound connection (the pool has two).
    drop(listener);
    done.signal(echoed);
}

/// After the echo: connect out, send [`MESSAGE`], check that no socket is left open, exit 0.
#[embassy_executor::task]
async fn report_task(stack: &'static NicStack, done: &'static EchoDone) {
    let echoed = done.wait().await;
    let host = SocketAddr::from((Ipv4Addr::from(HOST_IP), REPORT_PORT));
    let local = send_message(&stack, host, MESSAGE)
        .await
        .unwrap_or_else(|e| fail("send_message", e));
    let open = wait_all_closed(stack, CLOSE_LIMIT_MS).await;
    if open != 0 {
        println!("anic: {open} sockets still open at the end");
        exit(1)
    }
    let stats = stack.with_device(|nic| nic.stats());
    println!(
        "anic: done, echoed {echoed} bytes, reported from port {}, rx {} tx {} dropped {}",
        local.port(),
        stats.rx_frames,
        stats.tx_frames,
        stats.rx_dropped
    );
    println!("anic: stack high-water mark {} bytes", stack_used());
    exit(0)
}

#[entry]
fn main() -> ! {
    // As in `nic`: the socket tables are filled at start-up (not all zero bytes, so not a
    // `.bss` initialiser), the socket buffers are zeros (`.bss`).
    static mut RESOURCES: MaybeUninit<NicResources> = MaybeUninit::uninit();
    static mut SOCKET_BUFFERS: [u8; BYTES] = [0; BYTES];
    static mut STACK: Option<NicStack> = None;
    static mut BUF: [u8; 1024] = [0; 1024];
    static mut FRAMES: Buffers = Buffers::new();
    static mut DONE: EchoDone = Signal::new();
    static mut EXECUTOR: Option<Executor> = None;

    let Some(cp) = cortex_m::Peripherals::take() else {
        exit(3)
    };
    mps2_board::start_clock(cp.SYST);
    let (stack, mac) = bring_up(NAME, POOL, &[], FRAMES, RESOURCES, SOCKET_BUFFERS, STACK);
    let done: &'static EchoDone = DONE;
    let buf: &'static mut [u8; 1024] = BUF;
    EXECUTOR.insert(Executor::new()).run(move |spawner| {
        spawn(NAME, spawner, net_task(stack));
        spawn(NAME, spawner, watchdog(NAME));
        spawn(NAME, spawner, echo_task(stack, mac, buf, done));
        spawn(NAME, spawner, report_task(stack, done));
    })
}
