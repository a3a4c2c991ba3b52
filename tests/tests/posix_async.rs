//! The async conformance scenarios on the Linux kernel backend, over loopback: once under
//! tokio (current-thread runtime, `TokioStack`) and once under async-io's `block_on`
//! (`AsyncIoStack`), each scenario bounded by a timeout that fails it (a lost wake-up hangs).

use std::time::Duration;

use unisock::ErrorKind;
use unisock_conformance::async_scenarios::{AsyncEnv, Sleep};
use unisock_conformance::scenarios::Profile;
use unisock_conformance::util::serial;

/// What the kernel backend documents (as in `posix.rs`).
const POSIX: Profile = Profile {
    name: "posix-async",
    client_urgent: true,
    server_urgent: true,
    backlog_extra: 1,
    backlog_overflow: ErrorKind::TimedOut,
    resolves_localhost: true,
};

/// The bound on one scenario.
const LIMIT: Duration = Duration::from_secs(30);

mod on_tokio {
    use super::*;
    use unisock_posix::asynch::TokioStack;

    /// tokio's timer.
    pub struct TokioSleep;

    impl Sleep for TokioSleep {
        async fn sleep(&self, d: Duration) {
            tokio::time::sleep(d).await
        }
    }

    pub fn with_env(f: impl AsyncFnOnce(&AsyncEnv<'_, TokioStack, TokioStack, TokioSleep>)) {
        let _serial = serial();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let stack = TokioStack::new();
        let env = AsyncEnv::loopback(&stack, POSIX, TokioSleep);
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

mod on_async_io {
    use super::*;
    use futures_lite::future;
    use unisock_posix::asynch::AsyncIoStack;

    /// async-io's timer.
    pub struct AsyncIoSleep;

    impl Sleep for AsyncIoSleep {
        async fn sleep(&self, d: Duration) {
            async_io::Timer::after(d).await;
        }
    }

    pub fn with_env(f: impl AsyncFnOnce(&AsyncEnv<'_, AsyncIoStack, AsyncIoStack, AsyncIoSleep>)) {
        let _serial = serial();
        let stack = AsyncIoStack::new();
        let env = AsyncEnv::loopback(&stack, POSIX, AsyncIoSleep);
        env.run_checked(Duration::from_secs(5), || {
            async_io::block_on(future::or(f(&env), async {
                async_io::Timer::after(LIMIT).await;
                panic!("scenario timed out (a lost wake-up?)")
            }))
        });
    }

    unisock_conformance::async_conformance_tests!(with_env);
}
