//! The NIC firmware's job on embassy-net 0.9.1: the size anchor for the async unisock firmware.
//!
//! Same board, driver ([`lan9118::embassy::EmbassyLan9118`], polled), addresses, socket count
//! and buffer sizes (two TCP sockets with 4 KiB each way, a 1 KiB echo buffer) and sequence as
//! `unisock-firmware`'s `nic` and the direct-smoltcp baseline: answer ICMP echo (smoltcp does,
//! in embassy-net's runner task), serve one TCP echo connection on port 7 until the peer closes,
//! then connect to the host's port 4242, send a message, close, and wait for the host to close.
//! Exit status 0 on success, 1 on a network error, 2 on the overall time limit, 3 if the core
//! peripherals are gone.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use embassy_executor::{Executor, SpawnError, SpawnToken, Spawner};
use embassy_net::tcp::{State, TcpSocket};
use embassy_net::{Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use embassy_time::{Duration, Instant, Timer, with_timeout};
use embedded_io_async::Write;
use lan9118::embassy::EmbassyLan9118;
use lan9118::{Buffers, Lan9118, Mmio};
use mps2_board::net::{DEVICE_IP, ECHO_PORT, HOST_IP, PREFIX_LEN, REPORT_PORT, RUN_LIMIT_MS};
use mps2_board::semihosting::println;
use mps2_board::{exit, stack_used};

/// Receive and transmit buffer of each TCP socket (as in the other NIC firmware).
const TCP_BUFFER: usize = 4096;
/// The message sent to the host.
const MESSAGE: &[u8] = b"hello from the embassy-net firmware";
/// How long a closing connection may take to finish its handshake.
const CLOSE_LIMIT: Duration = Duration::from_secs(10);

type Nic = EmbassyLan9118<'static, Mmio>;

fn fail(what: &str, e: impl core::fmt::Debug) -> ! {
    println!("enet: {what}: {e:?}");
    exit(1)
}

/// Spawn `token`, or exit 1 if its task is already running (each task has one slot).
fn spawn<S>(spawner: Spawner, token: Result<SpawnToken<S>, SpawnError>) {
    match token {
        Ok(token) => spawner.spawn(token),
        Err(e) => fail("spawn", e),
    }
}

/// embassy-net's runner: polls the interface whenever the driver, a socket or a timer wakes it.
#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, Nic>) -> ! {
    runner.run().await
}

/// The overall time limit of the run.
#[embassy_executor::task]
async fn watchdog() {
    Timer::after(Duration::from_millis(RUN_LIMIT_MS)).await;
    println!("enet: time limit reached");
    exit(2)
}

/// Close `socket` (FIN after what is queued) and wait, at most [`CLOSE_LIMIT`], until the
/// connection is fully closed, so that dropping the socket (which removes it from the stack
/// without a reset) cuts nothing short.
async fn close(socket: &mut TcpSocket<'_>) {
    socket.close();
    let closed = with_timeout(CLOSE_LIMIT, async {
        // Sends everything queued, including the FIN.
        let _ = socket.flush().await;
        while !matches!(socket.state(), State::Closed | State::TimeWait) {
            Timer::after(Duration::from_millis(5)).await;
        }
    })
    .await;
    if closed.is_err() {
        fail("close", socket.state());
    }
}

/// Serve one echo connection on port 7 until the peer closes; returns the bytes echoed.
async fn echo(stack: Stack<'static>, rx: &mut [u8], tx: &mut [u8], buf: &mut [u8]) -> u64 {
    let mut socket = TcpSocket::new(stack, rx, tx);
    if let Err(e) = socket.accept(ECHO_PORT).await {
        fail("accept", e);
    }
    let mut echoed: u64 = 0;
    loop {
        let n = match socket.read(buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => fail("echo read", e),
        };
        if let Err(e) = socket.write_all(&buf[..n]).await {
            fail("echo write", e);
        }
        echoed += n as u64;
    }
    let port = socket.remote_endpoint().map_or(0, |e| e.port);
    println!("enet: echoed {echoed} bytes to port {port}");
    close(&mut socket).await;
    echoed
}

/// Connect to the host's report port, send [`MESSAGE`], close; returns the local port.
async fn report(stack: Stack<'static>, rx: &mut [u8], tx: &mut [u8]) -> u16 {
    let mut socket = TcpSocket::new(stack, rx, tx);
    let [a, b, c, d] = HOST_IP;
    if let Err(e) = socket
        .connect((Ipv4Address::new(a, b, c, d), REPORT_PORT))
        .await
    {
        fail("connect", e);
    }
    if let Err(e) = socket.write_all(MESSAGE).await {
        fail("report write", e);
    }
    let port = socket.local_endpoint().map_or(0, |e| e.port);
    close(&mut socket).await;
    port
}

/// The socket buffers of [`job`] and its echo buffer (all zeros: a `static` of them is `.bss`).
struct SocketBuffers {
    echo_rx: [u8; TCP_BUFFER],
    echo_tx: [u8; TCP_BUFFER],
    report_rx: [u8; TCP_BUFFER],
    report_tx: [u8; TCP_BUFFER],
    buf: [u8; 1024],
}

impl SocketBuffers {
    const fn new() -> Self {
        SocketBuffers {
            echo_rx: [0; TCP_BUFFER],
            echo_tx: [0; TCP_BUFFER],
            report_rx: [0; TCP_BUFFER],
            report_tx: [0; TCP_BUFFER],
            buf: [0; 1024],
        }
    }
}

#[embassy_executor::task]
async fn job(stack: Stack<'static>, mac: [u8; 6], mem: &'static mut SocketBuffers) {
    stack.wait_config_up().await;
    let [a, b, c, d] = DEVICE_IP;
    println!(
        "READY enet: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, echo on {a}.{b}.{c}.{d}:{ECHO_PORT}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    );
    let echoed = echo(stack, &mut mem.echo_rx, &mut mem.echo_tx, &mut mem.buf).await;
    let port = report(stack, &mut mem.report_rx, &mut mem.report_tx).await;
    // Time for the host's side of the last close to arrive and be acknowledged.
    Timer::after(Duration::from_millis(100)).await;
    println!("enet: done, echoed {echoed} bytes, reported from port {port}");
    println!("enet: stack high-water mark {} bytes", stack_used());
    exit(0)
}

fn start(
    spawner: Spawner,
    frames: &'static mut Buffers,
    resources: &'static mut StackResources<2>,
    sockets: &'static mut SocketBuffers,
) {
    // SAFETY: the LAN9118 window of this board; this is its only user.
    let bus = unsafe { Mmio::new(mps2_board::LAN9118_BASE) };
    let nic = Lan9118::new(bus, frames).unwrap_or_else(|e| fail("lan9118", e));
    let mac = nic.mac_address();
    let [a, b, c, d] = DEVICE_IP;
    let config = embassy_net::Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(Ipv4Address::new(a, b, c, d), PREFIX_LEN),
        gateway: None,
        dns_servers: heapless::Vec::new(),
    });
    // The seed picks initial sequence numbers and ephemeral ports: the boot time will do for
    // a test network.
    let seed = Instant::now().as_ticks() ^ 0x2545_f491_4f6c_dd1d;
    let (stack, runner) = embassy_net::new(EmbassyLan9118::new(nic), config, resources, seed);
    spawn(spawner, net_task(runner));
    spawn(spawner, watchdog());
    spawn(spawner, job(stack, mac, sockets));
}

#[entry]
fn main() -> ! {
    static mut EXECUTOR: Option<Executor> = None;
    static mut FRAMES: Buffers = Buffers::new();
    static mut RESOURCES: StackResources<2> = StackResources::new();
    static mut SOCKETS: SocketBuffers = SocketBuffers::new();

    let Some(cp) = cortex_m::Peripherals::take() else {
        exit(3)
    };
    mps2_board::start_clock(cp.SYST);
    EXECUTOR
        .insert(Executor::new())
        .run(move |spawner| start(spawner, FRAMES, RESOURCES, SOCKETS))
}
