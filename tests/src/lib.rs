//! The cross-backend conformance suite of unisock.
//!
//! [`scenarios`] holds every scenario, written once and generic over the stacks; the test
//! binaries in `tests/` instantiate all of them for each backend setup with
//! [`conformance_tests!`]: `posix` (the Linux kernel on loopback), `smoltcp_loopback` (smoltcp on
//! its in-process device), and `smoltcp_tap` (smoltcp across a TAP device, with the Linux kernel
//! as the peer in both directions, inside a network namespace each test creates).
//!
//! Every instantiated test ends with the leak check of [`util::LeakCheck`]: the stacks' open
//! socket counts must return to their values at the start.
#![deny(missing_docs)]

extern crate alloc;

pub mod async_scenarios;
pub mod check;
pub mod faults;
pub mod netns;
pub mod scenarios;
pub mod util;

/// Instantiate every scenario as one `#[test]` each. `$with_env` is a function taking a closure
/// `FnOnce(&Env<S, C>)`: it builds the setup, runs the closure, then checks for leaks.
#[macro_export]
macro_rules! conformance_tests {
    ($with_env:path) => {
        #[test]
        fn tcp_echo_v4() {
            $with_env(|env| $crate::scenarios::tcp_echo(env, false))
        }
        #[test]
        fn tcp_echo_v6() {
            $with_env(|env| $crate::scenarios::tcp_echo(env, true))
        }
        #[test]
        fn bind_then_connect_and_ephemeral_ports_v4() {
            $with_env(|env| $crate::scenarios::bind_then_connect_and_ephemeral_ports(env, false))
        }
        #[test]
        fn bind_then_connect_and_ephemeral_ports_v6() {
            $with_env(|env| $crate::scenarios::bind_then_connect_and_ephemeral_ports(env, true))
        }
        #[test]
        fn connect_nonblocking() {
            $with_env(|env| $crate::scenarios::connect_nonblocking(env))
        }
        #[test]
        fn backlog() {
            $with_env(|env| $crate::scenarios::backlog(env))
        }
        #[test]
        fn two_listeners_addr_in_use_v4() {
            $with_env(|env| $crate::scenarios::two_listeners_addr_in_use(env, false))
        }
        #[test]
        fn two_listeners_addr_in_use_v6() {
            $with_env(|env| $crate::scenarios::two_listeners_addr_in_use(env, true))
        }
        #[test]
        fn half_close() {
            $with_env(|env| $crate::scenarios::half_close(env))
        }
        #[test]
        fn shutdown_read() {
            $with_env(|env| $crate::scenarios::shutdown_read(env))
        }
        #[test]
        fn abort_resets_peer() {
            $with_env(|env| $crate::scenarios::abort_resets_peer(env))
        }
        #[test]
        fn peek_and_waitall() {
            $with_env(|env| $crate::scenarios::peek_and_waitall(env))
        }
        #[test]
        fn urgent_data() {
            $with_env(|env| $crate::scenarios::urgent_data(env))
        }
        #[test]
        fn timeouts_and_would_block() {
            $with_env(|env| $crate::scenarios::timeouts_and_would_block(env))
        }
        #[test]
        fn options_round_trip() {
            $with_env(|env| $crate::scenarios::options_round_trip(env))
        }
        #[test]
        fn connect_refused_v4() {
            $with_env(|env| $crate::scenarios::connect_refused(env, false))
        }
        #[test]
        fn connect_refused_v6() {
            $with_env(|env| $crate::scenarios::connect_refused(env, true))
        }
        #[test]
        fn udp_round_trip_v4() {
            $with_env(|env| $crate::scenarios::udp_round_trip(env, false))
        }
        #[test]
        fn udp_round_trip_v6() {
            $with_env(|env| $crate::scenarios::udp_round_trip(env, true))
        }
        #[test]
        fn udp_truncation() {
            $with_env(|env| $crate::scenarios::udp_truncation(env))
        }
        #[test]
        fn udp_connected_filtering() {
            $with_env(|env| $crate::scenarios::udp_connected_filtering(env))
        }
        #[test]
        fn udp_batches() {
            $with_env(|env| $crate::scenarios::udp_batches(env))
        }
        #[test]
        fn raw_icmp_echo() {
            $with_env(|env| $crate::scenarios::raw_icmp_echo(env))
        }
        #[test]
        fn resolve_localhost() {
            $with_env(|env| $crate::scenarios::resolve_localhost(env))
        }
        #[test]
        fn make_connection_cases() {
            $with_env(|env| $crate::scenarios::make_connection_cases(env))
        }
        #[test]
        fn poll_readiness() {
            $with_env(|env| $crate::scenarios::poll_readiness(env))
        }
    };
}

/// Instantiate every async scenario as one `#[test]` each. `$with_env` is a function taking
/// an async closure `AsyncFnOnce(&AsyncEnv<S, C, T>)`: it builds the setup, runs the closure
/// on its executor under a timeout, then checks for leaks (see [`async_scenarios`]).
#[macro_export]
macro_rules! async_conformance_tests {
    ($with_env:path) => {
        #[test]
        fn tcp_echo_v4() {
            $with_env(async |env| $crate::async_scenarios::tcp_echo(env, false).await)
        }
        #[test]
        fn tcp_echo_v6() {
            $with_env(async |env| $crate::async_scenarios::tcp_echo(env, true).await)
        }
        #[test]
        fn bind_then_connect_v4() {
            $with_env(async |env| $crate::async_scenarios::bind_then_connect(env, false).await)
        }
        #[test]
        fn bind_then_connect_v6() {
            $with_env(async |env| $crate::async_scenarios::bind_then_connect(env, true).await)
        }
        #[test]
        fn backlog() {
            $with_env(async |env| $crate::async_scenarios::backlog(env).await)
        }
        #[test]
        fn half_close() {
            $with_env(async |env| $crate::async_scenarios::half_close(env).await)
        }
        #[test]
        fn drop_delivers_queued_data() {
            $with_env(async |env| $crate::async_scenarios::drop_delivers_queued_data(env).await)
        }
        #[test]
        fn shutdown_read() {
            $with_env(async |env| $crate::async_scenarios::shutdown_read(env).await)
        }
        #[test]
        fn abort_resets_peer() {
            $with_env(async |env| $crate::async_scenarios::abort_resets_peer(env).await)
        }
        #[test]
        fn peek_and_waitall() {
            $with_env(async |env| $crate::async_scenarios::peek_and_waitall(env).await)
        }
        #[test]
        fn connect_refused_v4() {
            $with_env(async |env| $crate::async_scenarios::connect_refused(env, false).await)
        }
        #[test]
        fn connect_refused_v6() {
            $with_env(async |env| $crate::async_scenarios::connect_refused(env, true).await)
        }
        #[test]
        fn udp_round_trip_v4() {
            $with_env(async |env| $crate::async_scenarios::udp_round_trip(env, false).await)
        }
        #[test]
        fn udp_round_trip_v6() {
            $with_env(async |env| $crate::async_scenarios::udp_round_trip(env, true).await)
        }
        #[test]
        fn udp_truncation() {
            $with_env(async |env| $crate::async_scenarios::udp_truncation(env).await)
        }
        #[test]
        fn udp_connected_filtering() {
            $with_env(async |env| $crate::async_scenarios::udp_connected_filtering(env).await)
        }
        #[test]
        fn udp_split() {
            $with_env(async |env| $crate::async_scenarios::udp_split(env).await)
        }
        #[test]
        fn resolve_localhost() {
            $with_env(async |env| $crate::async_scenarios::resolve_localhost(env).await)
        }
        #[test]
        fn make_connection_cases() {
            $with_env(async |env| $crate::async_scenarios::make_connection_cases(env).await)
        }
        #[test]
        fn wakeups_ping_pong() {
            $with_env(async |env| $crate::async_scenarios::wakeups_ping_pong(env).await)
        }
        #[test]
        fn cancellation() {
            $with_env(async |env| $crate::async_scenarios::cancellation(env).await)
        }
    };
}

/// The code blocks of the top-level README.md, compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
