//! The conformance scenarios on the Linux kernel backend, over loopback.

use std::time::Duration;

use unisock::ErrorKind;
use unisock_conformance::scenarios::{Env, Profile};
use unisock_conformance::util::serial;
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
    Env::loopback(&PosixStack, POSIX).run_checked(Duration::from_secs(5), f);
}

unisock_conformance::conformance_tests!(with_env);
