//! The conformance scenarios on smoltcp over its in-process loopback device (no privileges).

use std::time::Duration;

use unisock::ErrorKind;
use unisock_conformance::scenarios::{Env, Profile};
use unisock_conformance::util::serial;
use unisock_smoltcp::{Config, Notify, StdClock, StdLoopback, StdStack};

/// What the smoltcp backend documents.
const SMOLTCP: Profile = Profile {
    name: "smoltcp-loopback",
    client_urgent: false,
    server_urgent: false,
    backlog_extra: 0,
    backlog_overflow: ErrorKind::ConnectionRefused,
    resolves_localhost: true,
};

type Net<'a> = &'a unisock_smoltcp::Stack<'static, StdLoopback, StdClock, Notify>;

fn with_env(f: impl FnOnce(&Env<'_, Net<'_>, Net<'_>>)) {
    let _serial = serial();
    let owner = StdStack::loopback(Config::loopback()).expect("loopback stack");
    let stack: Net<'_> = &owner;
    Env::loopback(&stack, SMOLTCP).run_checked(Duration::from_secs(5), f);
    assert_eq!(
        stack.open_sockets(),
        0,
        "sockets left open in a fresh stack"
    );
}

unisock_conformance::conformance_tests!(with_env);
