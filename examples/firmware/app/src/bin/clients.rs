//! Issue 12's firmware job on unisock: network clients nobody here wrote, unmodified from
//! crates.io, through `unisock-nal`'s embedded-nal 0.9 adapter (`NalStack`) over
//! `unisock-smoltcp` and the LAN9118, in a single-threaded superloop (`Stack::poll` plus the
//! adapter's non-blocking calls; no executor, no allocator).
//!
//! 1. MQTT (`minimq` 0.10, MQTT 5 over embedded-nal, its time from `embedded-time` over the
//!    board's SysTick): connect to the broker on the host (`10.42.0.1:1883`), publish
//!    [`MESSAGE`] on [`TOPIC`] with QoS 1 and the retain flag (so a subscriber that comes late
//!    still gets it), wait for the broker's PUBACK, close the connection.
//! 2. HTTP: `GET http://10.42.0.1:8080/page.bin` with [`unisock_firmware::http::get`] (written
//!    for this firmware over the same embedded-nal adapter: crates.io has no maintained
//!    blocking embedded-nal HTTP client, and `reqwless` is async; `aclients` in the
//!    `embassy-firmware` package runs it on unisock's async API), streaming the
//!    body and printing its length and FNV-1a hash (`http: got N bytes fnv1a XXXXXXXX`), which
//!    the host compares with the file it served.
//!
//! Then the leak check (every socket closed), and exit 0. Answers ICMP echo while it runs. Exit
//! status 1 on an error, 2 on the overall time limit, 3 if the core peripherals are gone. The
//! same job on embassy-net is the `embassy-firmware` package's `enet-clients`.
#![no_std]
#![no_main]

use core::mem::MaybeUninit;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use cortex_m_rt::entry;
use lan9118::{Buffers, Lan9118, Mmio};
use minimq::broker::IpBroker;
use minimq::{Broker as _, ConfigBuilder, Minimq, Publication, QoS};
use mps2_board::net::{DEVICE_IP, HOST_IP, RUN_LIMIT_MS};
use mps2_board::semihosting::println;
use mps2_board::{exit, now_ms, stack_used, wait_for_tick};
use unisock_firmware::{BYTES, NicResources, SysTickClock, Wfi, configure, http, wait_all_closed};
use unisock_nal::NalStack;
use unisock_smoltcp::{Config, Stack};

/// The MQTT broker's port on the host.
const MQTT_PORT: u16 = 1883;
/// The topic published on.
const TOPIC: &str = "unisock/firmware";
/// The message published.
const MESSAGE: &[u8] = b"hello over MQTT from the unisock firmware";
/// The MQTT client identifier.
const CLIENT_ID: &str = "mps2-unisock";
/// minimq's memory: its receive buffer, transmit buffer and session state, a third each.
const MQTT_BUFFER: usize = 1024;
/// The HTTP server's port on the host.
const HTTP_PORT: u16 = 8080;
/// The page fetched.
const HTTP_PATH: &str = "/page.bin";
/// The `Host` header.
const HTTP_HOST: &str = "10.42.0.1:8080";
/// The HTTP client's buffer: the whole response head, then the body chunk by chunk.
const HTTP_BUFFER: usize = 2048;
/// How long each of the two exchanges may take.
const IO_LIMIT_MS: u64 = 30_000;

type NicStack = Stack<'static, Lan9118<'static, Mmio>, SysTickClock, Wfi>;

fn fail(what: &str, e: impl core::fmt::Display) -> ! {
    println!("clients: {what}: {e}");
    exit(1)
}

/// minimq's errors, printed without `Debug` (whose machinery, with the derived `Debug` of
/// every error type inside, costs ~15 KiB of flash here).
struct MqttError<'a, E>(&'a minimq::Error<E>);

impl core::fmt::Display for MqttError<'_, unisock_nal::Error<unisock_smoltcp::Error>> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use minimq::{Error, MinimqError};
        match self.0 {
            Error::Network(e) => write!(f, "network: {}", NetError(e)),
            Error::WriteFail => f.write_str("write failed"),
            Error::NotReady => f.write_str("not ready"),
            Error::Unsupported => f.write_str("unsupported"),
            Error::NoResponseTopic => f.write_str("no response topic"),
            Error::SessionReset => f.write_str("session reset"),
            Error::Minimq(MinimqError::Protocol(p)) => f.write_str(protocol_error(p)),
            Error::Minimq(MinimqError::Clock(_)) => f.write_str("clock error"),
            _ => f.write_str("other minimq error"),
        }
    }
}

/// The adapter's errors, printed without formatting an address: `unisock_nal::Error`'s own
/// `Display` prints a truncated datagram's sender with `core`'s `SocketAddr` formatter, which
/// links the IPv6 one (~1.6 KiB) although this firmware has no UDP. The other variants as the
/// adapter says them.
struct NetError<'a>(&'a unisock_nal::Error<unisock_smoltcp::Error>);

impl core::fmt::Display for NetError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            unisock_nal::Error::Stack(e) => write!(f, "{e}"),
            unisock_nal::Error::State { what, kind } => write!(f, "{what} ({kind})"),
            other => write!(f, "{}", other.kind()),
        }
    }
}

/// A name for minimq's protocol errors.
fn protocol_error(e: &minimq::ProtocolError) -> &'static str {
    use minimq::ProtocolError as P;
    match e {
        P::ProvidedClientIdTooLong => "protocol: client id too long",
        P::UnexpectedPacket => "protocol: unexpected packet",
        P::InvalidProperty => "protocol: invalid property",
        P::MalformedPacket => "protocol: malformed packet",
        P::BufferSize => "protocol: buffer too small",
        P::BadIdentifier => "protocol: bad packet identifier",
        P::Unacknowledged => "protocol: unacknowledged",
        P::WrongQos => "protocol: wrong QoS",
        P::UnsupportedPacket => "protocol: unsupported packet",
        P::NoTopic => "protocol: no topic",
        P::AuthAlreadySpecified | P::WillAlreadySpecified => "protocol: configuration",
        P::Failed(_) => "protocol: refused by the broker (reason code)",
        P::Serialization(_) => "protocol: serialization",
        P::Deserialization(_) => "protocol: deserialization",
        _ => "protocol: other",
    }
}

/// What a superloop does when the network has nothing for it yet: drive the stack's timers,
/// sleep until the next tick, and tell whether `deadline` (and the run's limit) are still ahead.
fn idle(net: &NicStack, deadline: u64) -> bool {
    net.poll();
    let now = now_ms();
    if now > RUN_LIMIT_MS {
        println!("clients: time limit reached");
        exit(2)
    }
    if now > deadline {
        return false;
    }
    wait_for_tick();
    true
}

/// Start the driver and the stack (as the `nic` firmware does: built in place, temporaries in
/// this frame only).
#[inline(never)]
fn bring_up(
    frames: &'static mut Buffers,
    resources: &'static mut MaybeUninit<NicResources>,
    buffers: &'static mut [u8],
    slot: &'static mut Option<NicStack>,
) -> (&'static NicStack, [u8; 6]) {
    // SAFETY: the LAN9118 window of this board; this is its only user.
    let bus = unsafe { Mmio::new(mps2_board::LAN9118_BASE) };
    let nic = Lan9118::new(bus, frames).unwrap_or_else(|e| fail("lan9118", e));
    let mac = nic.mac_address();
    let mut config = Config::new();
    configure(&mut config, mac).unwrap_or_else(|e| fail("config", e));
    let resources = resources.write(NicResources::new());
    match Stack::new_in(slot, nic, SysTickClock, Wfi, &config, resources, buffers) {
        Ok(stack) => (stack, mac),
        Err(e) => fail("stack", e),
    }
}

/// Publish [`MESSAGE`] through the broker with minimq; returns once the broker acknowledged
/// it, with the connection closed.
#[inline(never)]
fn mqtt(net: &'static NicStack, buffer: &mut [u8]) {
    let [a, b, c, d] = HOST_IP;
    let mut broker = IpBroker::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)));
    broker.set_port(MQTT_PORT);
    let config = match ConfigBuilder::new(broker, buffer).client_id(CLIENT_ID) {
        Ok(config) => config.keepalive_interval(60),
        Err(e) => fail("mqtt client id", protocol_error(&e)),
    };
    let mut mqtt: Minimq<'_, _, _, IpBroker> =
        Minimq::new(NalStack::new(net), SysTickClock, config);
    let deadline = now_ms() + IO_LIMIT_MS;
    let mut published = false;
    loop {
        match mqtt.poll(|_client, _topic, _payload, _properties| ()) {
            Ok(_) => {}
            // The broker had no session for this client: expected on a first connection.
            Err(minimq::Error::SessionReset) => {}
            Err(e) => fail("mqtt", MqttError(&e)),
        }
        let client = mqtt.client();
        if client.is_connected() {
            if !published {
                let message = Publication::new(TOPIC, MESSAGE)
                    .qos(QoS::AtLeastOnce)
                    .retain();
                match client.publish(message) {
                    Ok(()) => published = true,
                    Err(minimq::PubError::Error(minimq::Error::NotReady)) => {}
                    Err(minimq::PubError::Error(e)) => fail("mqtt publish", MqttError(&e)),
                    Err(minimq::PubError::Serialization(_)) => {
                        fail("mqtt publish", "payload serialization")
                    }
                }
            } else if !client.pending_messages() {
                break;
            }
        }
        if !idle(net, deadline) {
            fail(
                "mqtt",
                if published {
                    "no PUBACK in time"
                } else {
                    "no connection in time"
                },
            );
        }
    }
    println!(
        "mqtt: published {} bytes on {TOPIC}, acknowledged",
        MESSAGE.len()
    );
    // Dropping the client closes its connection (gracefully: FIN after anything queued).
}

#[entry]
fn main() -> ! {
    // As in `nic`: socket tables filled at start-up, socket buffers zeros (.bss).
    static mut RESOURCES: MaybeUninit<NicResources> = MaybeUninit::uninit();
    static mut SOCKET_BUFFERS: [u8; BYTES] = [0; BYTES];
    static mut STACK: Option<NicStack> = None;
    static mut FRAMES: Buffers = Buffers::new();
    static mut MQTT_MEMORY: [u8; MQTT_BUFFER] = [0; MQTT_BUFFER];
    static mut HTTP_MEMORY: [u8; HTTP_BUFFER] = [0; HTTP_BUFFER];

    let Some(cp) = cortex_m::Peripherals::take() else {
        exit(3)
    };
    mps2_board::start_clock(cp.SYST);
    let (net, mac) = bring_up(FRAMES, RESOURCES, SOCKET_BUFFERS, STACK);
    let [a, b, c, d] = DEVICE_IP;
    println!(
        "READY clients: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, at {a}.{b}.{c}.{d}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    );

    mqtt(net, MQTT_MEMORY);

    let [a, b, c, d] = HOST_IP;
    let server = SocketAddr::from((Ipv4Addr::new(a, b, c, d), HTTP_PORT));
    let deadline = now_ms() + IO_LIMIT_MS;
    let page = http::get(
        &mut NalStack::new(net),
        server,
        HTTP_HOST,
        HTTP_PATH,
        HTTP_MEMORY,
        || idle(net, deadline),
    )
    .unwrap_or_else(|e| match e {
        http::HttpError::Net(step, e) => fail(step, NetError(&e)),
        e => fail("http", e.map_net(|_| "")),
    });
    println!("http: got {} bytes fnv1a {:08x}", page.len, page.fnv1a);

    let open = wait_all_closed(net, 10_000);
    if open != 0 {
        println!("clients: {open} sockets still open at the end");
        exit(1)
    }
    let stats = net.with_device(|nic| nic.stats());
    println!(
        "clients: done, rx {} tx {} dropped {}",
        stats.rx_frames, stats.tx_frames, stats.rx_dropped
    );
    println!("clients: stack high-water mark {} bytes", stack_used());
    exit(0)
}
