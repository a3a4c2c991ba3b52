//! An async MQTT client, unmodified from crates.io (`rust-mqtt` 0.6, MQTT 5 over
//! embedded-io-async), on a connection from the embedded-nal-async adapter
//! ([`AsyncNalStack`]'s `TcpConnect`), against mosquitto started by the test:
//!
//! - `posix_loopback`: the kernel backend, mosquitto on a free port of 127.0.0.1;
//! - `smoltcp_tap`: smoltcp on a TAP device against the kernel, inside a network namespace
//!   the test creates, mosquitto inside it on 10.7.0.1. Needs root.
//!
//! Each test: subscribe, publish and receive our own message back; receive one from
//! `mosquitto_pub`; publish one (QoS 1, retained, acknowledged) that `mosquitto_sub` receives;
//! disconnect; leak check. The async stacks are the backends' native ones (`unisock-posix`'s
//! `AsyncIoStack`; `&unisock_smoltcp::Stack`, driven by `StdStack`'s driver thread) under
//! `async_io::block_on`. Without mosquitto (or root, for TAP) the tests skip with a
//! notice; with `CI=true` a skip is a failure.
#![cfg(feature = "async")]

mod mosquitto;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;

use embedded_nal_async::TcpConnect;
use rust_mqtt::Bytes;
use rust_mqtt::buffer::AllocBuffer;
use rust_mqtt::client::Client;
use rust_mqtt::client::event::Event;
use rust_mqtt::client::options::{
    ConnectOptions, DisconnectOptions, PublicationOptions, SubscriptionOptions, TopicReference,
};
use rust_mqtt::types::{MqttString, TopicFilter, TopicName};
use unisock_conformance::netns::{configure_kernel_side, enter_private_netns};
use unisock_conformance::util::{LeakCheck, counter, is_root, serial, skip};
use unisock_nal::asynch::AsyncNalStack;

use mosquitto::{LIMIT, Mosquitto, Proc, free_port, tools};

/// The bound on the whole scenario.
const BOUND: std::time::Duration = std::time::Duration::from_secs(60);

/// Run `f` to completion on this thread (async-io's executor); panics after [`BOUND`], so a
/// lost wake-up fails instead of hanging.
#[track_caller]
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    async fn expire<T>() -> T {
        async_io::Timer::after(BOUND).await;
        panic!("future not done within {BOUND:?}")
    }
    async_io::block_on(futures_lite::future::or(f, expire()))
}

fn topic_name(s: &str) -> TopicName<'_> {
    TopicName::new(MqttString::try_from(s).expect("MQTT string")).expect("topic name")
}

/// The scenario against the broker at `at`, over the adapter on `native`; `stack` (the same
/// backend, blocking) counts the open sockets.
fn round_trip<S: unisock::Stack, A: unisock::asynch::Stack>(
    stack: &S,
    native: A,
    at: SocketAddr,
    tools: &[PathBuf; 3],
) {
    let [_, sub_bin, pub_bin] = tools;
    let host = at.ip().to_string();
    let port = at.port().to_string();
    let count = counter(stack);
    let leaks = LeakCheck::new(&[("stack", &count)]);
    let net = AsyncNalStack::new(native);
    block_on(async {
        let mut buffer = AllocBuffer;
        let mut client = Client::<'_, '_, _, _, 1, 1, 1, 1, 16, 0, 1>::new(&mut buffer);
        let transport = TcpConnect::connect(&net, at)
            .await
            .unwrap_or_else(|e| panic!("TCP connect to {at}: {e}"));
        client
            .connect(
                transport,
                &ConnectOptions::new().clean_start(),
                Some(MqttString::try_from("unisock-rust-mqtt").expect("client id")),
            )
            .await
            .unwrap_or_else(|e| panic!("MQTT connect: {e:?}"));

        for filter in ["unisock/async", "unisock/async-in"] {
            let filter =
                TopicFilter::new(MqttString::try_from(filter).expect("string")).expect("filter");
            client
                .subscribe(filter, &SubscriptionOptions::new())
                .await
                .unwrap_or_else(|e| panic!("subscribe: {e:?}"));
            match client.poll().await {
                Ok(Event::Suback(_)) => {}
                other => panic!("expected SUBACK, got {other:?}"),
            }
        }

        // 1. Our own publication back through the broker.
        let echo: &[u8] = b"rust-mqtt round trip";
        client
            .publish(
                &PublicationOptions::new(TopicReference::Name(topic_name("unisock/async"))),
                Bytes::from(echo),
            )
            .await
            .unwrap_or_else(|e| panic!("publish: {e:?}"));
        let mut expect_publish = async |topic: &str, payload: &[u8]| loop {
            match client.poll().await {
                Ok(Event::Publish(p)) => {
                    let name = p.topic.name().map(|n| n.as_ref().as_str().to_string());
                    assert_eq!(name.as_deref(), Some(topic));
                    assert_eq!(p.message.as_bytes(), payload);
                    return;
                }
                Ok(Event::Pingresp) => {}
                other => panic!("expected PUBLISH on {topic}, got {other:?}"),
            }
        };
        expect_publish("unisock/async", echo).await;

        // 2. mosquitto_pub -> broker -> us.
        let mut publisher = Proc::spawn(
            "mosquitto_pub",
            Command::new(pub_bin).args([
                "-h",
                &host,
                "-p",
                &port,
                "-t",
                "unisock/async-in",
                "-m",
                "from mosquitto_pub",
            ]),
        );
        publisher.wait_success();
        expect_publish("unisock/async-in", b"from mosquitto_pub").await;

        // 3. us -> broker -> mosquitto_sub: QoS 1 and retained, so once PUBACK is in the
        // broker holds it for a subscriber that comes later.
        let out: &[u8] = b"from rust-mqtt over unisock";
        client
            .publish(
                &PublicationOptions::new(TopicReference::Name(topic_name("unisock/async-out")))
                    .at_least_once()
                    .retain(),
                Bytes::from(out),
            )
            .await
            .unwrap_or_else(|e| panic!("publish: {e:?}"));
        match client.poll().await {
            Ok(Event::PublishAcknowledged(_)) => {}
            other => panic!("expected PUBACK, got {other:?}"),
        }
        client
            .disconnect(&DisconnectOptions::new())
            .await
            .unwrap_or_else(|e| panic!("disconnect: {e:?}"));
    });
    let mut subscriber = Proc::spawn(
        "mosquitto_sub",
        Command::new(sub_bin).args([
            "-h",
            &host,
            "-p",
            &port,
            "-t",
            "unisock/async-out",
            "-C",
            "1",
            "-W",
            "20",
        ]),
    );
    let line = subscriber.wait_line("from rust-mqtt");
    subscriber.wait_success();
    assert_eq!(line.trim(), "from rust-mqtt over unisock");
    leaks.finish(LIMIT);
}

#[test]
fn posix_loopback() {
    let _serial = serial();
    let Some(tools) = tools() else { return };
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let at = SocketAddr::new(ip, free_port(ip));
    let _broker = Mosquitto::start(&tools[0], at);
    round_trip(
        &unisock_posix::PosixStack,
        unisock_posix::asynch::AsyncIoStack::new(),
        at,
        &tools,
    );
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
    const TAP: &str = "usknal2";
    let net = unisock_smoltcp::StdStack::tap(unisock_smoltcp::TapOptions {
        name: TAP.into(),
        ips: vec![unisock_smoltcp::Cidr::parse("10.7.0.2/24").expect("cidr")],
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("TAP stack: {e}"));
    configure_kernel_side(TAP, "10.7.0.1/24", None).unwrap_or_else(|e| panic!("{e}"));
    let at = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 7, 0, 1)), 1883);
    let _broker = Mosquitto::start(&tools[0], at);
    let stack = &*net;
    round_trip(&stack, stack, at, &tools);
}
