//! The parts of the suite that need no `std`: the [`Profile`] of what the backends document,
//! and the assertions on results and error kinds. Shared by the blocking and async scenarios,
//! and compiled into the firmware that runs the async scenarios on the MCU
//! (`examples/firmware/ascen`), which includes this file and [`crate::async_scenarios`] by path.

use core::fmt::Debug;

use unisock::{Error, ErrorKind};

/// What the backends under test document where BSD leaves room.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// Name in messages (`posix`, `smoltcp-loopback`, `smoltcp-server/kernel-client`...).
    pub name: &'static str,
    /// Whether the client stack supports urgent data (`MSG_OOB`).
    pub client_urgent: bool,
    /// Whether the server stack supports urgent data.
    pub server_urgent: bool,
    /// How many connections beyond `backlog` the server's listener still completes (Linux
    /// queues `backlog + 1`; smoltcp exactly `backlog`).
    pub backlog_extra: usize,
    /// What the connect beyond that gets: Linux drops the SYN, so the client's connect times
    /// out (`TimedOut`); smoltcp answers with RST (`ConnectionRefused`).
    pub backlog_overflow: ErrorKind,
    /// Whether `localhost` resolves on the client stack.
    pub resolves_localhost: bool,
}

/// Assert that `result` failed with `kind`; returns the error for further checks.
#[track_caller]
pub fn assert_kind<T, E: Error + Debug>(result: Result<T, E>, kind: ErrorKind) -> E {
    match result {
        Ok(_) => panic!("expected an error of kind {kind:?}, got Ok"),
        Err(e) => {
            assert_eq!(e.socket_kind(), kind, "wrong error kind; error: {e}");
            e
        }
    }
}

/// Assert that `result` failed with one of `kinds`.
#[track_caller]
pub fn assert_kind_in<T, E: Error + Debug>(result: Result<T, E>, kinds: &[ErrorKind]) -> E {
    match result {
        Ok(_) => panic!("expected an error of kind {kinds:?}, got Ok"),
        Err(e) => {
            assert!(
                kinds.contains(&e.socket_kind()),
                "error kind {:?} not in {kinds:?}; error: {e}",
                e.socket_kind()
            );
            e
        }
    }
}

/// Unwrap with the error's text and kind in the panic message.
#[track_caller]
pub fn ok<T, E: Error>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{what} failed: {e} (kind {:?})", e.socket_kind()),
    }
}
