//! Issue 12's firmware job on embassy-net 0.9.1: unmodified client crates from crates.io over
//! embassy-net and the LAN9118, the size anchor for the same job on unisock.
//!
//! 1. MQTT (`rust-mqtt` 0.6, MQTT 5, no allocator: its bump buffer over a static array):
//!    connect to the broker on the host (`10.42.0.1:1883`), publish [`MESSAGE`] on [`TOPIC`]
//!    with QoS 0, disconnect, close the connection.
//! 2. HTTP (`reqwless` 0.14, no TLS, through embassy-net's `embedded-nal-async` `TcpClient`):
//!    `GET http://10.42.0.1:8080/page.bin`, stream the body and print its length and FNV-1a
//!    hash (`http: got N bytes fnv1a XXXXXXXX`), which the host compares with the file it served.
//!
//! No DNS: the URL holds an address literal, which [`LiteralDns`] parses (a name is an error).
//! Answers ICMP echo throughout. Exit status 0 on success, 1 on an error, 2 on the overall time
//! limit, 3 if the core peripherals are gone.
#![no_std]
#![no_main]

use core::net::{IpAddr, Ipv4Addr};

use cortex_m_rt::entry;
use embassy_executor::{Executor, SpawnError, SpawnToken, Spawner};
use embassy_net::tcp::client::{TcpClient, TcpClientState};
use embassy_net::tcp::{State, TcpSocket};
use embassy_net::{Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use embassy_time::{Duration, Instant, Timer, with_timeout};
use embedded_io_async::Read;
use embedded_nal_async::{AddrType, Dns};
use lan9118::embassy::EmbassyLan9118;
use lan9118::{Buffers, Lan9118, Mmio};
use mps2_board::net::{DEVICE_IP, HOST_IP, PREFIX_LEN, RUN_LIMIT_MS};
use mps2_board::semihosting::println;
use mps2_board::{exit, stack_used};
use reqwless::client::HttpClient;
use reqwless::request::Method;
use rust_mqtt::Bytes;
use rust_mqtt::buffer::BumpBuffer;
use rust_mqtt::client::Client;
use rust_mqtt::client::options::{
    ConnectOptions, DisconnectOptions, PublicationOptions, TopicReference,
};
use rust_mqtt::types::{MqttString, TopicName};

/// Receive and transmit buffer of each TCP socket (as in the other NIC firmware).
const TCP_BUFFER: usize = 4096;
/// The MQTT broker's port on the host.
const MQTT_PORT: u16 = 1883;
/// The topic and message published.
const TOPIC: &str = "unisock/firmware";
/// The message published.
const MESSAGE: &[u8] = b"hello over MQTT from the embassy-net firmware";
/// The MQTT client identifier.
const CLIENT_ID: &str = "mps2-embassy-net";
/// The page fetched.
const URL: &str = "http://10.42.0.1:8080/page.bin";
/// Bytes of the HTTP client's buffer for the response head.
const HTTP_HEAD: usize = 2048;
/// Bytes of rust-mqtt's bump buffer (incoming packets' properties and payloads).
const MQTT_BUFFER: usize = 1024;
/// How long each network operation may take.
const IO_LIMIT: Duration = Duration::from_secs(30);

type Nic = EmbassyLan9118<'static, Mmio>;

fn fail(what: &str, e: impl core::fmt::Debug) -> ! {
    println!("enet-clients: {what}: {e:?}");
    exit(1)
}

/// Spawn `token`, or exit 1 if its task is already running (each task has one slot).
fn spawn<S>(spawner: Spawner, token: Result<SpawnToken<S>, SpawnError>) {
    match token {
        Ok(token) => spawner.spawn(token),
        Err(e) => fail("spawn", e),
    }
}

/// A resolver for address literals only: the firmware has no DNS server to ask.
struct LiteralDns;

/// The host name given to [`LiteralDns`] is not an address literal of the asked family.
#[derive(Debug)]
struct NotALiteral;

impl Dns for LiteralDns {
    type Error = NotALiteral;

    async fn get_host_by_name(
        &self,
        host: &str,
        addr_type: AddrType,
    ) -> Result<IpAddr, NotALiteral> {
        match host.parse::<Ipv4Addr>() {
            Ok(v4) if addr_type != AddrType::IPv6 => Ok(IpAddr::V4(v4)),
            _ => Err(NotALiteral),
        }
    }

    async fn get_host_by_address(
        &self,
        _addr: IpAddr,
        _result: &mut [u8],
    ) -> Result<usize, NotALiteral> {
        Err(NotALiteral)
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
    println!("enet-clients: time limit reached");
    exit(2)
}

/// Publish [`MESSAGE`] on [`TOPIC`] through the broker on the host.
async fn mqtt(stack: Stack<'static>, rx: &mut [u8], tx: &mut [u8], bump: &mut [u8]) {
    let mut socket = TcpSocket::new(stack, rx, tx);
    socket.set_timeout(Some(IO_LIMIT));
    let [a, b, c, d] = HOST_IP;
    if let Err(e) = socket
        .connect((Ipv4Address::new(a, b, c, d), MQTT_PORT))
        .await
    {
        fail("mqtt connect", e);
    }
    {
        let mut buffer = BumpBuffer::new(bump);
        let mut client = Client::<'_, '_, _, _, 1, 1, 1, 1, 0, 0, 0>::new(&mut buffer);
        let id = MqttString::try_from(CLIENT_ID).unwrap_or_else(|e| fail("client id", e));
        let options = ConnectOptions::new().clean_start();
        let connected =
            with_timeout(IO_LIMIT, client.connect(&mut socket, &options, Some(id))).await;
        match connected {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => fail("mqtt CONNECT", e),
            Err(e) => fail("mqtt CONNECT", e),
        }
        let topic = MqttString::try_from(TOPIC)
            .ok()
            .and_then(TopicName::new)
            .unwrap_or_else(|| fail("topic", TOPIC));
        let options = PublicationOptions::new(TopicReference::Name(topic));
        match with_timeout(IO_LIMIT, client.publish(&options, Bytes::from(MESSAGE))).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => fail("mqtt PUBLISH", e),
            Err(e) => fail("mqtt PUBLISH", e),
        }
        match with_timeout(IO_LIMIT, client.disconnect(&DisconnectOptions::new())).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => fail("mqtt DISCONNECT", e),
            Err(e) => fail("mqtt DISCONNECT", e),
        }
    }
    println!("mqtt: published {} bytes on {TOPIC}", MESSAGE.len());
    // Close and wait for the handshake, so that dropping the socket cuts nothing short.
    socket.close();
    let closed = with_timeout(IO_LIMIT, async {
        let _ = socket.flush().await;
        while !matches!(socket.state(), State::Closed | State::TimeWait) {
            Timer::after(Duration::from_millis(5)).await;
        }
    })
    .await;
    if closed.is_err() {
        fail("mqtt close", socket.state());
    }
}

/// FNV-1a, 32 bits: a small checksum the host recomputes.
fn fnv1a(mut hash: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    hash
}

/// GET [`URL`] and stream its body; returns its length and FNV-1a hash.
async fn http(
    stack: Stack<'static>,
    state: &TcpClientState<1, TCP_BUFFER, TCP_BUFFER>,
    head: &mut [u8],
    chunk: &mut [u8],
) -> (usize, u32) {
    let mut tcp = TcpClient::new(stack, state);
    tcp.set_timeout(Some(IO_LIMIT));
    let mut client = HttpClient::new(&tcp, &LiteralDns);
    let mut request = match client.request(Method::GET, URL).await {
        Ok(r) => r,
        Err(e) => fail("http connect", e),
    };
    let response = match request.send(head).await {
        Ok(r) => r,
        Err(e) => fail("http request", e),
    };
    if !response.status.is_successful() {
        fail("http status", response.status.0);
    }
    let mut body = response.body().reader();
    let (mut len, mut hash) = (0usize, 0x811c_9dc5u32);
    loop {
        match body.read(chunk).await {
            Ok(0) => break,
            Ok(n) => {
                hash = fnv1a(hash, &chunk[..n]);
                len += n;
            }
            Err(e) => fail("http body", e),
        }
    }
    (len, hash)
}

/// The socket buffers of [`job`] (all zeros: a `static` of them is `.bss`).
struct SocketBuffers {
    mqtt_rx: [u8; TCP_BUFFER],
    mqtt_tx: [u8; TCP_BUFFER],
    mqtt_bump: [u8; MQTT_BUFFER],
    http_head: [u8; HTTP_HEAD],
    chunk: [u8; 1024],
}

impl SocketBuffers {
    const fn new() -> Self {
        SocketBuffers {
            mqtt_rx: [0; TCP_BUFFER],
            mqtt_tx: [0; TCP_BUFFER],
            mqtt_bump: [0; MQTT_BUFFER],
            http_head: [0; HTTP_HEAD],
            chunk: [0; 1024],
        }
    }
}

#[embassy_executor::task]
async fn job(
    stack: Stack<'static>,
    mac: [u8; 6],
    mem: &'static mut SocketBuffers,
    http_state: &'static TcpClientState<1, TCP_BUFFER, TCP_BUFFER>,
) {
    stack.wait_config_up().await;
    let [a, b, c, d] = DEVICE_IP;
    println!(
        "READY enet-clients: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, at {a}.{b}.{c}.{d}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    );
    mqtt(
        stack,
        &mut mem.mqtt_rx,
        &mut mem.mqtt_tx,
        &mut mem.mqtt_bump,
    )
    .await;
    let (len, hash) = http(stack, http_state, &mut mem.http_head, &mut mem.chunk).await;
    println!("http: got {len} bytes fnv1a {hash:08x}");
    // Time for the last segments of the closes to go out.
    Timer::after(Duration::from_millis(100)).await;
    println!("enet-clients: done");
    println!("enet-clients: stack high-water mark {} bytes", stack_used());
    exit(0)
}

fn start(
    spawner: Spawner,
    frames: &'static mut Buffers,
    resources: &'static mut StackResources<2>,
    sockets: &'static mut SocketBuffers,
    http_state: &'static TcpClientState<1, TCP_BUFFER, TCP_BUFFER>,
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
    spawn(spawner, job(stack, mac, sockets, http_state));
}

#[entry]
fn main() -> ! {
    static mut EXECUTOR: Option<Executor> = None;
    static mut FRAMES: Buffers = Buffers::new();
    static mut RESOURCES: StackResources<2> = StackResources::new();
    static mut SOCKETS: SocketBuffers = SocketBuffers::new();
    static mut HTTP_STATE: TcpClientState<1, TCP_BUFFER, TCP_BUFFER> = TcpClientState::new();

    let Some(cp) = cortex_m::Peripherals::take() else {
        exit(3)
    };
    mps2_board::start_clock(cp.SYST);
    let http_state: &'static _ = HTTP_STATE;
    EXECUTOR
        .insert(Executor::new())
        .run(move |spawner| start(spawner, FRAMES, RESOURCES, SOCKETS, http_state))
}
