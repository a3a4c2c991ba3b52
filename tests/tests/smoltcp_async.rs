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

/// Across a TAP device against the kernel, in a private network namespace: the stack's
/// driver thread polls (`TapStack`), scenarios and the kernel side (`TokioStack`) on tokio.
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
    pub(super) const SETTLE: Duration = Duration::from_secs(10);

    /// smoltcp serves, the kernel connects.
    const SMOLTCP_SERVER: Profile = Profile {
        name: "smoltcp-server/kernel-client (async)",
        client_urgent: true,
        server_urgent: false,
        backlog_extra: 0,
        backlog_overflow: ErrorKind::ConnectionRefused,
        resolves_localhost: true,
    };

    /// The kernel serves, smoltcp connects.
    const KERNEL_SERVER: Profile = Profile {
        name: "kernel-server/smoltcp-client (async)",
        client_urgent: false,
        server_urgent: true,
        backlog_extra: 1,
        backlog_overflow: ErrorKind::TimedOut,
        resolves_localhost: false,
    };

    type Net<'a> = &'a unisock_smoltcp::Stack<'static, Capture<TapDevice>, StdClock, TapWait>;

    /// The namespace, the TAP and the smoltcp stack; `None` (after a notice) without root.
    fn setup() -> Option<unisock_smoltcp::TapStack> {
        tap_stack(TAP, SMOL_V4, SMOL_V6, "10.8.0.1/24", "fd00:8::1/64")
    }

    /// The environment with smoltcp (`smol`) serving and the kernel (`kernel`) connecting.
    pub(super) fn smoltcp_server_env<'a, S, C, T>(
        smol: &'a S,
        kernel: &'a C,
        timer: T,
    ) -> AsyncEnv<'a, S, C, T> {
        AsyncEnv {
            server: smol,
            client: kernel,
            server_v4: SMOL_V4,
            client_v4: KERNEL_V4,
            v6: Some((SMOL_V6, KERNEL_V6)),
            profile: SMOLTCP_SERVER,
            timer,
        }
    }

    /// The environment with the kernel (`kernel`) serving and smoltcp (`smol`) connecting.
    pub(super) fn kernel_server_env<'a, S, C, T>(
        kernel: &'a S,
        smol: &'a C,
        timer: T,
    ) -> AsyncEnv<'a, S, C, T> {
        AsyncEnv {
            server: kernel,
            client: smol,
            server_v4: KERNEL_V4,
            client_v4: SMOL_V4,
            v6: Some((KERNEL_V6, SMOL_V6)),
            profile: KERNEL_SERVER,
            timer,
        }
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

        pub fn with_env(f: impl AsyncFnOnce(&AsyncEnv<'_, Net<'_>, TokioStack, TokioSleep>)) {
            let _serial = serial();
            let Some(owner) = setup() else { return };
            let smol: Net<'_> = &owner;
            let kernel = TokioStack::new();
            run(smoltcp_server_env(&smol, &kernel, TokioSleep), f);
        }

        unisock_conformance::async_conformance_tests!(with_env);
    }

    pub mod kernel_server {
        use super::*;

        pub fn with_env(f: impl AsyncFnOnce(&AsyncEnv<'_, TokioStack, Net<'_>, TokioSleep>)) {
            let _serial = serial();
            let Some(owner) = setup() else { return };
            let smol: Net<'_> = &owner;
            let kernel = TokioStack::new();
            run(kernel_server_env(&kernel, &smol, TokioSleep), f);
        }

        unisock_conformance::async_conformance_tests!(with_env);
    }
}

/// Across a TAP device against the kernel without a driver thread: `Stack::tap_async`'s
/// runner future (woken by its `TapSleep` at the next deadline or when the TAP descriptor is
/// readable), the scenario and the kernel side (`AsyncIoStack`) all on the test thread, under
/// async-io's `block_on`.
mod tap_one_thread {
    use super::tap::{SETTLE, kernel_server_env, smoltcp_server_env};
    use super::*;
    use futures_lite::future;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use unisock_conformance::netns::tap_async_stack;
    use unisock_posix::asynch::AsyncIoStack;
    use unisock_smoltcp::{AsyncTapStack, TapSleep};

    /// The namespace, the TAP and the smoltcp stack with its runner's sleep; `None` (after a
    /// notice) without root. The addresses of the `tap` module: its tests are serialised.
    fn setup() -> Option<(AsyncTapStack, TapSleep)> {
        tap_async_stack(
            "unisock1",
            Ipv4Addr::new(10, 8, 0, 2),
            Ipv6Addr::new(0xfd00, 8, 0, 0, 0, 0, 0, 2),
            "10.8.0.1/24",
            "fd00:8::1/64",
        )
    }

    /// Run `f` in `env` next to `owner`'s runner on this thread, then let the runner finish
    /// the closing handshakes before the leak check.
    fn run<S, C>(
        owner: &AsyncTapStack,
        sleep: TapSleep,
        env: AsyncEnv<'_, S, C, AsyncIoSleep>,
        f: impl AsyncFnOnce(&AsyncEnv<'_, S, C, AsyncIoSleep>),
    ) where
        S: unisock::asynch::Stack,
        C: unisock::asynch::Stack,
    {
        env.run_checked(SETTLE, || {
            let runner = async { match owner.run(sleep).await {} };
            let scenario = async {
                f(&env).await;
                for _ in 0..1000 {
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

    /// With nothing due (only a listener), the runner sleeps without a deadline: the kernel's
    /// SYN can reach the stack only through `TapSleep` completing when the TAP descriptor
    /// becomes readable. Without that wake-up the accept never completes and this fails.
    #[test]
    fn idle_runner_wakes_when_the_tap_is_readable() {
        use unisock::asynch::{Stack as _, StreamListener as _};
        let _serial = serial();
        let Some((owner, sleep)) = setup() else {
            return;
        };
        let smol = &owner;
        let kernel = AsyncIoStack::new();
        let at = std::net::SocketAddr::from((Ipv4Addr::new(10, 8, 0, 2), 7100));
        let mut listener = smol.listen(at, 1).expect("listen");
        let runner = async { match owner.run(sleep).await {} };
        let test = async {
            // Let the interface settle (the kernel's router solicitations and the like).
            async_io::Timer::after(Duration::from_millis(300)).await;
            assert_eq!(owner.poll_delay(), None, "the premise: no timer is due");
            let (accepted, connected) = future::zip(listener.accept(), kernel.connect(at)).await;
            let (_conn, peer) = accepted.expect("accept");
            let client = connected.expect("kernel connect");
            assert_eq!(Some(peer), unisock::Socket::local_addr(&client).ok());
        };
        async_io::block_on(future::or(future::or(test, runner), async {
            async_io::Timer::after(Duration::from_secs(5)).await;
            panic!("the runner was not woken by the kernel's SYN on the TAP")
        }));
    }

    pub mod smoltcp_server {
        use super::*;

        pub fn with_env(
            f: impl AsyncFnOnce(&AsyncEnv<'_, &AsyncTapStack, AsyncIoStack, AsyncIoSleep>),
        ) {
            let _serial = serial();
            let Some((owner, sleep)) = setup() else {
                return;
            };
            let smol = &owner;
            let kernel = AsyncIoStack::new();
            run(
                &owner,
                sleep,
                smoltcp_server_env(&smol, &kernel, AsyncIoSleep),
                f,
            );
        }

        unisock_conformance::async_conformance_tests!(with_env);
    }

    pub mod kernel_server {
        use super::*;

        pub fn with_env(
            f: impl AsyncFnOnce(&AsyncEnv<'_, AsyncIoStack, &AsyncTapStack, AsyncIoSleep>),
        ) {
            let _serial = serial();
            let Some((owner, sleep)) = setup() else {
                return;
            };
            let smol = &owner;
            let kernel = AsyncIoStack::new();
            run(
                &owner,
                sleep,
                kernel_server_env(&kernel, &smol, AsyncIoSleep),
                f,
            );
        }

        unisock_conformance::async_conformance_tests!(with_env);
    }
}
