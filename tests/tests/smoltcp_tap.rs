//! The conformance scenarios across a TAP device, smoltcp on one side and the Linux kernel on
//! the other, in both roles: `smoltcp_server` (smoltcp listens and receives, the kernel
//! connects and sends) and `kernel_server` (the reverse).
//!
//! Each test moves its thread into a fresh network namespace, creates the TAP device there,
//! addresses the kernel side (10.7.0.1/24, fd00:7::1/64) and runs smoltcp on the other
//! (10.7.0.2/24, fd00:7::2/64). Nothing leaves the namespace. Needs root; without it the tests
//! skip with a notice (fail with `CI=true`).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use unisock::ErrorKind;
use unisock_conformance::netns::tap_stack;
use unisock_conformance::scenarios::{Env, Profile};
use unisock_conformance::util::serial;
use unisock_posix::PosixStack;
use unisock_smoltcp::{Capture, StdClock, TapDevice, TapWait};

const TAP: &str = "unisock0";
const KERNEL_V4: Ipv4Addr = Ipv4Addr::new(10, 7, 0, 1);
const SMOL_V4: Ipv4Addr = Ipv4Addr::new(10, 7, 0, 2);
const KERNEL_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 7, 0, 0, 0, 0, 0, 1);
const SMOL_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 7, 0, 0, 0, 0, 0, 2);

type Net<'a> = &'a unisock_smoltcp::Stack<'static, Capture<TapDevice>, StdClock, TapWait>;

/// Build the namespace, the TAP and the smoltcp stack; `None` (after a skip notice) without
/// privileges.
fn setup() -> Option<unisock_smoltcp::TapStack> {
    tap_stack(TAP, SMOL_V4, SMOL_V6, "10.7.0.1/24", "fd00:7::1/64")
}

/// How long the stacks get to close everything after a scenario.
const SETTLE: Duration = Duration::from_secs(10);

mod smoltcp_server {
    use super::*;

    const PROFILE: Profile = Profile {
        name: "smoltcp-server/kernel-client",
        client_urgent: true,
        server_urgent: false,
        backlog_extra: 0,
        backlog_overflow: ErrorKind::ConnectionRefused,
        resolves_localhost: true,
    };

    fn with_env(f: impl FnOnce(&Env<'_, Net<'_>, PosixStack>)) {
        let _serial = serial();
        let Some(owner) = setup() else { return };
        let smol: Net<'_> = &owner;
        let kernel = PosixStack;
        Env {
            server: &smol,
            client: &kernel,
            server_v4: SMOL_V4,
            client_v4: KERNEL_V4,
            v6: Some((SMOL_V6, KERNEL_V6)),
            profile: PROFILE,
        }
        .run_checked(SETTLE, f);
    }

    unisock_conformance::conformance_tests!(with_env);
}

mod kernel_server {
    use super::*;

    const PROFILE: Profile = Profile {
        name: "kernel-server/smoltcp-client",
        client_urgent: false,
        server_urgent: true,
        backlog_extra: 1,
        backlog_overflow: ErrorKind::TimedOut,
        resolves_localhost: false,
    };

    fn with_env(f: impl FnOnce(&Env<'_, PosixStack, Net<'_>>)) {
        let _serial = serial();
        let Some(owner) = setup() else { return };
        let smol: Net<'_> = &owner;
        let kernel = PosixStack;
        Env {
            server: &kernel,
            client: &smol,
            server_v4: KERNEL_V4,
            client_v4: SMOL_V4,
            v6: Some((KERNEL_V6, SMOL_V6)),
            profile: PROFILE,
        }
        .run_checked(SETTLE, f);
    }

    unisock_conformance::conformance_tests!(with_env);
}
