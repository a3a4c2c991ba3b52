//! A real MQTT client, unmodified from crates.io (`minimq` 0.10, MQTT 5 over embedded-nal
//! 0.9), through the adapter against a real broker (mosquitto) that each test starts itself:
//!
//! - `posix_loopback`: the kernel backend; mosquitto on a free port of 127.0.0.1; the broker
//!   found by name (`localhost`) through the adapter's `Dns`.
//! - `smoltcp_tap`: the smoltcp backend on a TAP device against the Linux kernel, inside a
//!   network namespace the test creates (the kernel side 10.7.0.1/24, smoltcp 10.7.0.2/24),
//!   with mosquitto started inside that namespace. Needs root.
//!
//! Each test: minimq subscribes and receives its own publication back through the broker;
//! `mosquitto_pub` publishes and minimq receives it; minimq publishes (retained) and
//! `mosquitto_sub` receives it. Then the leak check. Without mosquitto (or root, for TAP) the
//! tests skip with a notice; with `CI=true` a skip is a failure. Every wait is bounded; mosquitto and the
//! command-line clients are killed by PID when the test ends.

mod mosquitto;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use embedded_time::rate::Fraction;
use minimq::broker::{IpBroker, NamedBroker};
use minimq::types::TopicFilter;
use minimq::{Broker, ConfigBuilder, Minimq, Publication};
use unisock::Stack;
use unisock_conformance::netns::{configure_kernel_side, enter_private_netns};
use unisock_conformance::util::{LeakCheck, counter, is_root, serial, skip};
use unisock_nal::NalStack;

use mosquitto::{LIMIT, Mosquitto, Proc, free_port, tools};

/// Milliseconds since the clock was made, for minimq's keep-alive timers.
struct SysClock(Instant);

impl embedded_time::Clock for SysClock {
    type T = u32;
    const SCALING_FACTOR: Fraction = Fraction::new(1, 1000);

    fn try_now(&self) -> Result<embedded_time::Instant<Self>, embedded_time::clock::Error> {
        let ms = u32::try_from(self.0.elapsed().as_millis()).unwrap_or(u32::MAX);
        Ok(embedded_time::Instant::new(ms))
    }
}

/// The scenario: minimq on `stack` against the broker at `at` (which `broker` names), with
/// mosquitto's command-line clients as the second party.
fn round_trip<S: Stack + Clone, B: Broker>(
    stack: &S,
    mut broker: B,
    at: SocketAddr,
    tools: &[PathBuf; 3],
) {
    let [_, sub_bin, pub_bin] = tools;
    let host = at.ip().to_string();
    let port = at.port().to_string();
    let count = counter(stack);
    let leaks = LeakCheck::new(&[("stack", &count)]);
    {
        broker.set_port(at.port());
        let mut buffer = [0u8; 2048];
        let mut mqtt: Minimq<'_, _, _, B> = Minimq::new(
            NalStack::new(stack.clone()),
            SysClock(Instant::now()),
            ConfigBuilder::new(broker, &mut buffer)
                .client_id("unisock-nal")
                .expect("client id")
                .keepalive_interval(30),
        );
        let deadline = Instant::now() + LIMIT;
        let mut received: Vec<(String, Vec<u8>)> = Vec::new();
        let poll = |mqtt: &mut Minimq<'_, NalStack<S>, SysClock, B>,
                    received: &mut Vec<(String, Vec<u8>)>| {
            assert!(
                Instant::now() < deadline,
                "MQTT exchange not done within {LIMIT:?}"
            );
            match mqtt.poll(|_client, topic, payload, _props| (topic.to_string(), payload.to_vec()))
            {
                Ok(Some(message)) => received.push(message),
                Ok(None) => std::thread::sleep(Duration::from_millis(1)),
                // The broker had no session for us: expected on the first connection.
                Err(minimq::Error::SessionReset) => {}
                Err(e) => panic!("minimq poll: {e:?}"),
            }
        };

        // Connect (through the adapter's connect loop) and subscribe.
        while !mqtt.client().is_connected() {
            poll(&mut mqtt, &mut received);
        }
        let topics = [
            TopicFilter::new("unisock/echo"),
            TopicFilter::new("unisock/in"),
            TopicFilter::new("unisock/out"),
        ];
        loop {
            match mqtt.client().subscribe(&topics, &[]) {
                Ok(()) => break,
                Err(minimq::Error::NotReady) => poll(&mut mqtt, &mut received),
                Err(e) => panic!("subscribe: {e:?}"),
            }
        }
        while mqtt.client().subscriptions_pending() {
            poll(&mut mqtt, &mut received);
        }

        // 1. Our own publication comes back through the broker.
        let echo: &[u8] = b"round trip through mosquitto";
        mqtt.client()
            .publish(Publication::new("unisock/echo", echo))
            .expect("publish");
        while !received.iter().any(|(t, _)| t == "unisock/echo") {
            poll(&mut mqtt, &mut received);
        }
        assert_eq!(received[0], ("unisock/echo".to_string(), echo.to_vec()));

        // 2. mosquitto_pub -> broker -> minimq.
        let mut publisher = Proc::spawn(
            "mosquitto_pub",
            Command::new(pub_bin).args([
                "-h",
                &host,
                "-p",
                &port,
                "-t",
                "unisock/in",
                "-m",
                "from mosquitto_pub",
            ]),
        );
        publisher.wait_success();
        while !received.iter().any(|(t, _)| t == "unisock/in") {
            poll(&mut mqtt, &mut received);
        }
        let got = received.iter().find(|(t, _)| t == "unisock/in");
        assert_eq!(got.map(|(_, p)| &p[..]), Some(&b"from mosquitto_pub"[..]));

        // 3. minimq -> broker -> mosquitto_sub. Published retained, and seen coming back on
        // our own subscription first, so the broker holds it before mosquitto_sub subscribes
        // (no race, no need to read mosquitto_sub's buffered debug output).
        let out: &[u8] = b"from minimq over unisock";
        mqtt.client()
            .publish(Publication::new("unisock/out", out).retain())
            .expect("publish");
        while !received.iter().any(|(t, _)| t == "unisock/out") {
            poll(&mut mqtt, &mut received);
        }
        let mut subscriber = Proc::spawn(
            "mosquitto_sub",
            Command::new(sub_bin).args([
                "-h",
                &host,
                "-p",
                &port,
                "-t",
                "unisock/out",
                "-C",
                "1",
                "-W",
                "20",
            ]),
        );
        // Keep polling (answers the broker, keeps the session alive) meanwhile.
        let waiter = std::thread::spawn(move || {
            let line = subscriber.wait_line("from minimq");
            subscriber.wait_success();
            line
        });
        while !waiter.is_finished() {
            poll(&mut mqtt, &mut received);
        }
        let line = waiter
            .join()
            .unwrap_or_else(|_| panic!("mosquitto_sub did not receive the message (see above)"));
        assert_eq!(line.trim(), "from minimq over unisock");
        // Dropping the client closes its socket.
    }
    leaks.finish(LIMIT);
}

#[test]
fn posix_loopback() {
    let _serial = serial();
    let Some(tools) = tools() else { return };
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let at = SocketAddr::new(ip, free_port(ip));
    let _broker = Mosquitto::start(&tools[0], at);
    let stack = unisock_posix::PosixStack;
    // The broker by name, resolved through the adapter's Dns (`localhost` -> 127.0.0.1).
    let broker = NamedBroker::<_, 64>::new("localhost", NalStack::new(stack)).expect("name");
    round_trip(&stack, broker, at, &tools);
}

#[test]
fn smoltcp_tap() {
    let _serial = serial();
    let Some(tools) = tools() else { return };
    if !is_root() {
        skip("the TAP test needs root (network namespace and TAP device)");
        return;
    }
    if let Err(e) = enter_private_netns() {
        skip(&format!("cannot make a private network namespace: {e}"));
        return;
    }
    const TAP: &str = "usknal0";
    let net = unisock_smoltcp::StdStack::tap(unisock_smoltcp::TapOptions {
        name: TAP.into(),
        ips: vec![unisock_smoltcp::Cidr::parse("10.7.0.2/24").expect("cidr")],
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("TAP stack: {e}"));
    configure_kernel_side(TAP, "10.7.0.1/24", None).unwrap_or_else(|e| panic!("{e}"));
    let kernel = IpAddr::V4(Ipv4Addr::new(10, 7, 0, 1));
    // Inside the fresh namespace every port is free; this thread spawns mosquitto, so it
    // runs in the namespace too.
    let at = SocketAddr::new(kernel, 1883);
    let _broker = Mosquitto::start(&tools[0], at);
    let stack = &*net;
    round_trip(&stack, IpBroker::new(kernel), at, &tools);
}
