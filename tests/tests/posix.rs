//! The conformance scenarios on the Linux kernel backend, over loopback.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use unisock::ErrorKind;
use unisock_conformance::scenarios::{Env, Profile};
use unisock_conformance::util::{LeakCheck, counter, serial};
use unisock_posix::PosixStack;

/// What the kernel backend documents.
const POSIX: Profile = Profile {
    name: "posix",
    client_urgent: true,
    server_urgent: true,
    backlog_extra: 1,
    backlog_overflow: ErrorKind::TimedOut,
    resolves_localhost: true,
};

fn with_env(f: impl FnOnce(&Env<'_, PosixStack, PosixStack>)) {
    let _serial = serial();
    let stack = PosixStack::default();
    let count = counter(&stack);
    let leaks = LeakCheck::new(&[("posix", &count)]);
    f(&Env {
        server: &stack,
        client: &stack,
        server_v4: Ipv4Addr::LOCALHOST,
        client_v4: Ipv4Addr::LOCALHOST,
        v6: Some((Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST)),
        profile: POSIX,
    });
    leaks.finish(Duration::from_secs(5));
}

unisock_conformance::conformance_tests!(with_env);
