//! The async conformance scenarios on smoltcp: over its in-process loopback device driven by
//! the `std` driver thread (under tokio), over the same device driven by the runner future on
//! one thread (no driver thread, as on a microcontroller; async-io's `block_on`), and across a
//! TAP device against the Linux kernel in both roles (smoltcp server / kernel client and the
//! reverse; the kernel side is `unisock-posix`'s async stack under tokio). Each scenario is
//! bounded by a timeout that fails it, so a lost wake-up fails instead of hanging.

use std::time::Duration;

use unisock::ErrorKind;
use unisock_conformance::async_scenarios::{AsyncEnv, Sleep};
use unisock_conformance::scenarios::Profile;
use unisock_conformance::util::serial;

/// What the smoltcp backend documents (as in `smoltcp_loopback.rs`).
const SMOLTCP: Profile = Profile {
    name: "smoltcp-async",
    client_urgent: false,
    server_urgent: false,
    backlog_extra: 0,
    backlog_overflow: ErrorKind::ConnectionRefused,
    resolves_localhost: true,
};

/// The bound on one scenario.
const LIMIT: Duration = Duration::from_secs(30);

/// tokio's timer.
pub struct TokioSleep;

impl Sleep for TokioSleep {
    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await
    }
}

/// async-io's timer.
pub struct AsyncIoSleep;

impl Sleep for AsyncIoSleep {
    async fn sleep(&self, d: Duration) {
        async_io::Timer::after(d).await;
    }
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// In-process loopback, the driver thread polls; scenarios on tokio's current-thread runtime.
mod inproc_driver {
    use super::*;
    use unisock_smoltcp::{Config, Notify, StdClock, StdLoopback, StdStack};

    type Net<'a> = &'a unisock_smoltcp::Stack<'static, StdLoopback, StdClock, Notify>;

    pub fn with_env(f: impl AsyncFnOnce(&AsyncEnv<'_, Net<'_>, Net<'_>, TokioSleep>)) {
        let _serial = serial();
        let owner = StdStack::loopback(Config::loopback()).expect("loopback stack");
        let stack: Net<'_> = &owner;
        let rt = tokio_rt();
        let env = AsyncEnv::loopback(&stack, SMOLTCP, TokioSleep);
        env.run_checked(Duration::from_secs(5), || {
            rt.block_on(async {
                tokio::time::timeout(LIMIT, f(&env))
                    .await
                    .expect("scenario timed out (a lost wake-up?)")
            })
        });
    }

    unisock_conformance::async_conformance_tests!(with_env);
}

/// In-process loopback without a driver thread: the runner future (`Stack::run`) and the
/// scenario on one thread.
mod inproc_runner {
    use super::*;
    use futures_lite::future;
    use smoltcp::phy::Medium;
    use unisock_smoltcp::{Config, Loopback, SleepFn, Spin, StdClock};

    type Owner = unisock_smoltcp::Stack<'static, Loopback<'static>, StdClock, Spin>;
    type Net<'a> = &'a Owner;

    fn stack() -> Owner {
        let mut config = Config::loopback();
        config.device_loops_back = true;
        let dev = Loopback::with_capacity(32, 65535, Medium::Ip).expect("device");
        Owner::new_alloc(dev, StdClock::new(), Spin, &config).expect("stack")
    }

    pub fn with_env(f: impl AsyncFnOnce(&AsyncEnv<'_, Net<'_>, Net<'_>, AsyncIoSleep>)) {
        let _serial = serial();
        let owner = stack();
        let stack: Net<'_> = &owner;
        let env = AsyncEnv::loopback(&stack, SMOLTCP, AsyncIoSleep);
        env.run_checked(Duration::from_secs(5), || {
            let runner = async {
                owner
                    .run(SleepFn(|d: Option<Duration>| async move {
                        match d {
                            Some(d) => {
                                async_io::Timer::after(d).await;
                            }
                            None => future::pending::<()>().await,
                        }
                    }))
                    .await;
                unreachable!("the runner never returns")
            };
            let scenario = async {
                f(&env).await;
                // Nothing polls the stack after this future ends: let the runner close what
                // the scenario dropped (FIN handshakes, RSTs) before the leak check looks.
                for _ in 0..500 {
                    if owner.open_sockets() == 0 {
                        break;
                    }
                    async_io::Timer::after(Duration::from_millis(10)).await;
                }
            };
            async_io::block_on(future::or(future::or(scenario, runner), async {
                async_io::Timer::after(LIMIT).await;
                panic!("scenario timed out (a lost wake-up?)")
            }))
        });
    }

    unisock_conformance::async_conformance_tests!(with_env);
}

/// Across a TAP device against the kernel, in a private network namespace.
mod tap {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use unisock_conformance::netns::tap_stack;
    use unisock_posix::asynch::TokioStack;
    use unisock_smoltcp::{Capture, StdClock, TapDevice, TapWait};

    const TAP: &str = "unisock1";
    const KERNEL_V4: Ipv4Addr = Ipv4Addr::new(10, 8, 0, 1);
    const SMOL_V4: Ipv4Addr = Ipv4Addr::new(10, 8, 0, 2);
    const KERNEL_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 8, 0, 0, 0, 0, 0, 1);
    const SMOL_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 8, 0, 0, 0, 0, 0, 2);
    const SETTLE: Duration = Duration::from_secs(10);

    type Net<'a> = &'a unisock_smoltcp::Stack<'static, Capture<TapDevice>, StdClock, TapWait>;

    /// The namespace, the TAP and the smoltcp stack; `None` (after a notice) without root.
    fn setup() -> Option<unisock_smoltcp::TapStack> {
        tap_stack(TAP, SMOL_V4, SMOL_V6, "10.8.0.1/24", "fd00:8::1/64")
    }

    fn run<S, C>(
        env: AsyncEnv<'_, S, C, TokioSleep>,
        f: impl AsyncFnOnce(&AsyncEnv<'_, S, C, TokioSleep>),
    ) where
        S: unisock::asynch::Stack,
        C: unisock::asynch::Stack,
    {
        let rt = tokio_rt();
        env.run_checked(SETTLE, || {
            rt.block_on(async {
                tokio::time::timeout(LIMIT, f(&env))
                    .await
                    .expect("scenario timed out (a lost wake-up?)")
            })
        });
    }

    pub mod smoltcp_server {
        use super::*;

        const PROFILE: Profile = Profile {
            name: "smoltcp-server/kernel-client (async)",
            client_urgent: true,
            server_urgent: false,
            backlog_extra: 0,
            backlog_overflow: ErrorKind::ConnectionRefused,
            resolves_localhost: true,
        };

        pub fn with_env(f: impl AsyncFnOnce(&AsyncEnv<'_, Net<'_>, TokioStack, TokioSleep>)) {
            let _serial = serial();
            let Some(owner) = setup() else { return };
            let smol: Net<'_> = &owner;
            let kernel = TokioStack::new();
            let env = AsyncEnv {
                server: &smol,
                client: &kernel,
                server_v4: SMOL_V4,
                client_v4: KERNEL_V4,
                v6: Some((SMOL_V6, KERNEL_V6)),
                profile: PROFILE,
                timer: TokioSleep,
            };
            run(env, f);
        }

        unisock_conformance::async_conformance_tests!(with_env);
    }

    pub mod kernel_server {
        use super::*;

        const PROFILE: Profile = Profile {
            name: "kernel-server/smoltcp-client (async)",
            client_urgent: false,
            server_urgent: true,
            backlog_extra: 1,
            backlog_overflow: ErrorKind::TimedOut,
            resolves_localhost: false,
        };

        pub fn with_env(f: impl AsyncFnOnce(&AsyncEnv<'_, TokioStack, Net<'_>, TokioSleep>)) {
            let _serial = serial();
            let Some(owner) = setup() else { return };
            let smol: Net<'_> = &owner;
            let kernel = TokioStack::new();
            let env = AsyncEnv {
                server: &kernel,
                client: &smol,
                server_v4: KERNEL_V4,
                client_v4: SMOL_V4,
                v6: Some((KERNEL_V6, SMOL_V6)),
                profile: PROFILE,
                timer: TokioSleep,
            };
            run(env, f);
        }

        unisock_conformance::async_conformance_tests!(with_env);
    }
}
