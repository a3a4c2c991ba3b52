//! The async API as a `no_std` firmware uses it: `&Stack` implements the plain (non-`Send`)
//! [`unisock::asynch::Stack`] family, the stack lives in caller-provided `Resources`, a
//! [`ManualClock`] keeps virtual time, and the runner future drives the interface with a
//! `Sleep` that advances that clock (an embassy firmware passes `embassy_time::Timer`).
//! Run with `cargo test -p unisock-smoltcp --no-default-features --test asynch_nostd`.
#![cfg(not(feature = "std"))]

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;
use std::net::SocketAddr;

use smoltcp::phy::Medium;
use unisock::asynch::embedded_io_async::{Read, Write};
use unisock::asynch::{Stack as _, StreamListener as _, StreamSocket as _};
use unisock_smoltcp::{Config, Loopback, ManualClock, PoolConfig, Resources, SleepFn, Spin, Stack};

/// A sleep on virtual time: advance the clock to the deadline, after yielding once (so the
/// runner lets the other tasks run between rounds).
fn virtual_sleep(clock: &ManualClock, d: Option<Duration>) -> impl Future<Output = ()> + '_ {
    let mut yielded = false;
    poll_fn(move |cx| {
        if yielded {
            clock.advance(d.unwrap_or(Duration::from_millis(1)));
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

#[test]
fn async_echo_on_the_runner_without_std() {
    let clock = ManualClock::new();
    let mut frames = vec![0u8; 8 * 1514];
    let device = Loopback::new(&mut frames, 1514, Medium::Ethernet).unwrap();
    let config = Config::loopback().with_pool(PoolConfig::SMALL);
    let mut resources = Box::new(Resources::<12, 40960, 16>::new());
    let stack = Stack::new(device, &clock, Spin, &config, &mut resources).unwrap();
    let net = &stack;
    let start = net.open_sockets();
    let at: SocketAddr = "127.0.0.1:7".parse().unwrap();
    let mut listener = net.listen(at, 1).unwrap();

    let total = {
        let server = pin!(async {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 256];
            loop {
                let n = conn.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                conn.write_all(&buf[..n]).await.unwrap();
            }
        });
        let runner = pin!(stack.run(SleepFn(|d| virtual_sleep(&clock, d))));
        let client = pin!(async {
            let mut c = net.connect(at).await.unwrap();
            let mut total = 0;
            for round in 0..200u32 {
                let msg = round.to_be_bytes();
                c.write_all(&msg).await.unwrap();
                let mut back = [0u8; 4];
                c.read_exact(&mut back).await.unwrap();
                assert_eq!(back, msg);
                total += 4;
            }
            c.shutdown(unisock::Shutdown::Write).unwrap();
            total
        });
        let (mut server, mut runner, mut client) = (server, runner, client);
        let mut server_done = false;
        futures_executor::block_on(poll_fn(|cx| {
            if !server_done {
                server_done = server.as_mut().poll(cx).is_ready();
            }
            let _ = runner.as_mut().poll(cx);
            client.as_mut().poll(cx)
        }))
    };
    assert_eq!(total, 800);
    // Closing takes a few virtual rounds (FIN exchange, TIME-WAIT bookkeeping).
    for _ in 0..10_000 {
        if net.open_sockets() == start + 1 {
            break;
        }
        stack.poll();
        clock.advance(Duration::from_millis(10));
    }
    drop(listener);
    stack.poll();
    assert_eq!(net.open_sockets(), start, "sockets left open");
}
