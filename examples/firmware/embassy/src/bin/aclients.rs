//! Issue 12's firmware job on unisock's async API: the same unmodified crates.io clients as
//! `enet-clients` (embassy-net), here over `unisock-smoltcp` and the LAN9118 under
//! embassy-executor, so that the two builds differ only in the network stack.
//!
//! 1. MQTT (`rust-mqtt` 0.6, MQTT 5, its bump buffer over a static array): connect to the
//!    broker on the host (`10.42.0.1:1883`) with `unisock::asynch::Stack::connect`, publish
//!    [`MESSAGE`] on [`TOPIC`] with QoS 0 and the retain flag over the unisock stream
//!    (embedded-io-async), disconnect, close the connection.
//! 2. HTTP (`reqwless` 0.14, no TLS) through `unisock-nal`'s embedded-nal-async adapter
//!    (`AsyncNalStack`: `TcpConnect` and `Dns`): `GET http://10.42.0.1:8080/page.bin`, stream the
//!    body and print its length and FNV-1a hash (`http: got N bytes fnv1a XXXXXXXX`).
//!
//! The interface is driven by unisock-smoltcp's runner future (`Stack::run`) in its own task
//! (`embassy_firmware::net_task`, shared with `anic` and `ahttpd`). Answers ICMP echo throughout. Exit status 0 on success, 1 on an error, 2 on the
//! overall time limit, 3 if the core peripherals are gone.
#![no_std]
#![no_main]

use core::mem::MaybeUninit;
use core::net::{Ipv4Addr, SocketAddr};

use cortex_m_rt::entry;
use embassy_executor::Executor;
use embassy_firmware::{NicStack, bring_up, net_task, spawn, wait_all_closed, watchdog};
use embassy_time::{Duration, with_timeout};
use lan9118::Buffers;
use mps2_board::net::{DEVICE_IP, HOST_IP};
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
use unisock::Shutdown;
use unisock::asynch::Stack as AsyncStack;
use unisock::asynch::embedded_io_async::Read;
use unisock_firmware::{BYTES, NicResources, POOL};
use unisock_nal::asynch::AsyncNalStack;

/// This firmware's name in what it prints.
const NAME: &str = "aclients";
/// The MQTT broker's port on the host.
const MQTT_PORT: u16 = 1883;
/// The topic published on.
const TOPIC: &str = "unisock/firmware";
/// The message published.
const MESSAGE: &[u8] = b"hello over MQTT from the async unisock firmware";
/// The MQTT client identifier.
const CLIENT_ID: &str = "mps2-unisock-async";
/// The page fetched.
const URL: &str = "http://10.42.0.1:8080/page.bin";
/// Bytes of the HTTP client's buffer for the response head.
const HTTP_HEAD: usize = 2048;
/// Bytes of rust-mqtt's bump buffer (incoming packets' properties and payloads).
const MQTT_BUFFER: usize = 1024;
/// How long each network operation may take.
const IO_LIMIT: Duration = Duration::from_secs(30);
/// How long the closing handshakes may take at the end.
const CLOSE_LIMIT_MS: u64 = 10_000;

fn fail(what: &str, e: impl core::fmt::Debug) -> ! {
    embassy_firmware::fail(NAME, what, e)
}

/// Publish [`MESSAGE`] on [`TOPIC`] through the broker on the host.
async fn mqtt(stack: &'static NicStack, bump: &mut [u8]) {
    let broker = SocketAddr::from((Ipv4Addr::from(HOST_IP), MQTT_PORT));
    let mut conn = match with_timeout(IO_LIMIT, AsyncStack::connect(&stack, broker)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => fail("mqtt connect", e),
        Err(e) => fail("mqtt connect", e),
    };
    {
        let mut buffer = BumpBuffer::new(bump);
        let mut client = Client::<'_, '_, _, _, 1, 1, 1, 1, 0, 0, 0>::new(&mut buffer);
        let id = MqttString::try_from(CLIENT_ID).unwrap_or_else(|e| fail("client id", e));
        let options = ConnectOptions::new().clean_start();
        let connected = with_timeout(IO_LIMIT, client.connect(&mut conn, &options, Some(id))).await;
        match connected {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => fail("mqtt CONNECT", e),
            Err(e) => fail("mqtt CONNECT", e),
        }
        let topic = MqttString::try_from(TOPIC)
            .ok()
            .and_then(TopicName::new)
            .unwrap_or_else(|| fail("topic", TOPIC));
        // Retained, so that a subscriber that subscribes after the publication still gets it
        // (the only difference from enet-clients' call: one flag bit).
        let options = PublicationOptions::new(TopicReference::Name(topic)).retain();
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
    // Half-close, then read until the broker closes too, so that nothing is cut short.
    if let Err(e) = unisock::StreamSocket::shutdown(&mut conn, Shutdown::Write) {
        fail("mqtt shutdown", e);
    }
    let mut sink = [0u8; 64];
    let drained = with_timeout(IO_LIMIT, async {
        loop {
            match conn.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    if drained.is_err() {
        fail("mqtt close", "the broker did not close");
    }
}

/// FNV-1a, 32 bits: a small checksum the host recomputes.
fn fnv1a(mut hash: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    hash
}

/// GET [`URL`] with reqwless over the adapter and stream its body; returns its length and
/// FNV-1a hash.
async fn http(stack: &'static NicStack, head: &mut [u8], chunk: &mut [u8]) -> (usize, u32) {
    let net = AsyncNalStack::new(stack);
    let mut client = HttpClient::new(&net, &net);
    let mut request = match with_timeout(IO_LIMIT, client.request(Method::GET, URL)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => fail("http connect", e),
        Err(e) => fail("http connect", e),
    };
    let response = match with_timeout(IO_LIMIT, request.send(head)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => fail("http request", e),
        Err(e) => fail("http request", e),
    };
    if !response.status.is_successful() {
        fail("http status", response.status.0);
    }
    let mut body = response.body().reader();
    let (mut len, mut hash) = (0usize, 0x811c_9dc5u32);
    loop {
        match with_timeout(IO_LIMIT, body.read(chunk)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => {
                hash = fnv1a(hash, &chunk[..n]);
                len += n;
            }
            Ok(Err(e)) => fail("http body", e),
            Err(e) => fail("http body", e),
        }
    }
    (len, hash)
}

/// The clients' buffers (all zeros: a `static` of them is `.bss`).
struct ClientBuffers {
    mqtt_bump: [u8; MQTT_BUFFER],
    http_head: [u8; HTTP_HEAD],
    chunk: [u8; 1024],
}

impl ClientBuffers {
    const fn new() -> Self {
        ClientBuffers {
            mqtt_bump: [0; MQTT_BUFFER],
            http_head: [0; HTTP_HEAD],
            chunk: [0; 1024],
        }
    }
}

#[embassy_executor::task]
async fn job(stack: &'static NicStack, mac: [u8; 6], mem: &'static mut ClientBuffers) {
    let [a, b, c, d] = DEVICE_IP;
    println!(
        "READY aclients: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, at {a}.{b}.{c}.{d}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    );
    mqtt(stack, &mut mem.mqtt_bump).await;
    let (len, hash) = http(stack, &mut mem.http_head, &mut mem.chunk).await;
    println!("http: got {len} bytes fnv1a {hash:08x}");
    let open = wait_all_closed(stack, CLOSE_LIMIT_MS).await;
    if open != 0 {
        println!("aclients: {open} sockets still open at the end");
        exit(1)
    }
    println!("aclients: done");
    println!("aclients: stack high-water mark {} bytes", stack_used());
    exit(0)
}

#[entry]
fn main() -> ! {
    static mut RESOURCES: MaybeUninit<NicResources> = MaybeUninit::uninit();
    static mut SOCKET_BUFFERS: [u8; BYTES] = [0; BYTES];
    static mut STACK: Option<NicStack> = None;
    static mut FRAMES: Buffers = Buffers::new();
    static mut CLIENTS: ClientBuffers = ClientBuffers::new();
    static mut EXECUTOR: Option<Executor> = None;

    let Some(cp) = cortex_m::Peripherals::take() else {
        exit(3)
    };
    mps2_board::start_clock(cp.SYST);
    let (stack, mac) = bring_up(NAME, POOL, &[], FRAMES, RESOURCES, SOCKET_BUFFERS, STACK);
    let clients: &'static mut ClientBuffers = CLIENTS;
    EXECUTOR.insert(Executor::new()).run(move |spawner| {
        spawn(NAME, spawner, net_task(stack));
        spawn(NAME, spawner, watchdog(NAME));
        spawn(NAME, spawner, job(stack, mac, clients));
    })
}
