//! Shared helpers of the conformance suite: assertions on error kinds, the leak check, bounded
//! waiting, and the skip policy for tests that need privileges.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use unisock::Stack;

pub use crate::check::{assert_kind, assert_kind_in, ok};

/// Poll `cond` every few milliseconds until it holds or `limit` passes; returns whether it
/// held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Tests of one process that count open sockets must not overlap (the kernel backend's count
/// is process-wide): each holds this guard for its whole run.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The leak check: remembers each stack's open-socket count at the start and, at the end of a
/// test, waits (bounded) for the counts to come back to it and fails the test if they do not.
pub struct LeakCheck<'a> {
    stacks: Vec<(&'a str, &'a dyn Fn() -> usize, usize)>,
}

impl<'a> LeakCheck<'a> {
    /// Start checking the stacks whose counters are given (name, counter).
    pub fn new(counters: &[(&'a str, &'a dyn Fn() -> usize)]) -> Self {
        LeakCheck {
            stacks: counters.iter().map(|&(name, f)| (name, f, f())).collect(),
        }
    }

    /// Fail if a stack still has more sockets open than at the start after `limit`.
    #[track_caller]
    pub fn finish(self, limit: Duration) {
        for (name, count, start) in self.stacks {
            let settled = wait_until(limit, || count() <= start);
            assert!(
                settled,
                "{name}: {} sockets open at the end of the test, {start} at its start",
                count()
            );
        }
    }
}

/// The open-socket counter of a stack, as a closure for [`LeakCheck`].
pub fn counter<S: Stack>(stack: &S) -> impl Fn() -> usize + '_ {
    move || stack.open_sockets()
}

/// Whether a skipped test must fail instead (`CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skip the calling test with a notice on stderr, or fail it in CI.
#[track_caller]
pub fn skip(reason: &str) {
    if in_ci() {
        panic!("test skipped in CI (CI=true makes a skip a failure): {reason}");
    }
    eprintln!("SKIPPED: {reason}");
}

/// Whether this process runs as root (needed for raw sockets, namespaces and TAP).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Print a notice of the suite (a scenario that does not apply to a setup), to stderr.
pub fn notice(args: core::fmt::Arguments<'_>) {
    eprintln!("{args}");
}

/// The leak check around an async scenario (here, not in [`crate::async_scenarios`], which
/// must build without `std` for the firmware).
impl<S, C, T> crate::async_scenarios::AsyncEnv<'_, S, C, T>
where
    S: unisock::asynch::Stack,
    C: unisock::asynch::Stack,
    T: crate::async_scenarios::Sleep,
{
    /// Run one scenario (already turned into a future by the caller's executor: `run` drives
    /// it to completion) under the leak check: both stacks' open-socket counts must come back
    /// to their starting values within `settle` after it ends.
    pub fn run_checked(&self, settle: Duration, run: impl FnOnce()) {
        let server = || self.server.open_sockets();
        let client = || self.client.open_sockets();
        let leaks = LeakCheck::new(&[("server stack", &server), ("client stack", &client)]);
        run();
        leaks.finish(settle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    #[should_panic(expected = "1 sockets open at the end of the test, 0 at its start")]
    fn leak_check_fails_on_a_leak() {
        let open = Cell::new(0usize);
        let count = || open.get();
        let leaks = LeakCheck::new(&[("fake", &count)]);
        open.set(1);
        leaks.finish(Duration::from_millis(20));
    }

    #[test]
    fn leak_check_waits_for_sockets_to_close() {
        let open = Cell::new(3usize);
        let count = || {
            // Each look closes one more socket, as a stack finishing its closes would.
            open.set(open.get().saturating_sub(1));
            open.get()
        };
        LeakCheck::new(&[("fake", &count)]).finish(Duration::from_secs(1));
    }
}
