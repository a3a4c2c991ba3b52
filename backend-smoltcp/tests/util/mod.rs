//! Shared helpers for the backend's integration tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use unisock_smoltcp::{Config, LoopbackStack, StdStack};

/// A fresh loopback stack with the default pool.
pub fn loopback() -> LoopbackStack {
    StdStack::loopback(Config::default()).expect("loopback stack")
}

/// Assert that the stack's open sockets drop to zero within a generous bound.
#[track_caller]
pub fn assert_no_leak<F: Fn() -> usize>(open: F) {
    let start = Instant::now();
    while open() != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "open_sockets() stayed at {} for 10 s",
            open()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
