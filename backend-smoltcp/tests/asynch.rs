//! The async API on smoltcp in process: with the `std` driver thread (`StdStack`) and with
//! the runner future on one thread; wake-ups that must not be lost, cancellation, and
//! `poll_sockets` over many sockets.
//!
//! Every test that could hang if a wake-up were lost runs on a helper thread bounded by a
//! deadline that fails the test.
#![cfg(feature = "std")]

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use smoltcp::phy::Medium;
use unisock::asynch::embedded_io_async::{Read, Write};
use unisock::asynch::{SendStack, SendStreamListener, SendStreamSocket, SendTcpSocket};
use unisock::{ErrorKind, Shutdown};
use unisock_smoltcp::{
    Cidr, Config, Loopback, LoopbackOptions, PoolConfig, SleepFn, Spin, StdClock, StdStack,
};

/// Run `f` on a helper thread; fail the test if it takes longer than `limit` (a lost
/// wake-up hangs the future).
#[track_caller]
fn bounded<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(_) => panic!("not done within {limit:?}: a wake-up was lost"),
    }
}

fn pool() -> PoolConfig {
    PoolConfig {
        tcp: 40,
        tcp_rx: 16 * 1024,
        tcp_tx: 16 * 1024,
        ..PoolConfig::SMALL
    }
}

fn std_stack() -> unisock_smoltcp::LoopbackStack {
    StdStack::loopback_with(LoopbackOptions {
        config: Config::loopback().with_pool(pool()),
        mtu: 1500,
        medium: Medium::Ip,
        frames: 64,
        pcap: None,
    })
    .unwrap()
}

/// Poll `main` and `others` on the current thread until `main` completes.
fn run_until<T>(
    main: impl Future<Output = T>,
    mut others: Vec<core::pin::Pin<&mut dyn Future<Output = ()>>>,
) -> T {
    let mut main = pin!(main);
    futures_executor::block_on(poll_fn(|cx| {
        if let Poll::Ready(v) = main.as_mut().poll(cx) {
            return Poll::Ready(v);
        }
        for f in others.iter_mut() {
            let _ = f.as_mut().poll(cx);
        }
        Poll::Pending
    }))
}

/// The runner's timer: async-io's, which works on any executor.
async fn sleep(d: Option<Duration>) {
    match d {
        Some(d) => {
            async_io::Timer::after(d).await;
        }
        None => core::future::pending::<()>().await,
    }
}

/// Echo `rounds` messages of `size` bytes between a client and an accepted connection,
/// generic over any async `Send` stack.
async fn echo<S: SendStack>(
    stack: &S,
    at: SocketAddr,
    rounds: usize,
    size: usize,
) -> Result<(), S::Error> {
    let mut listener = stack.listen(at, 4)?;
    let client = async {
        let mut c = stack.connect(at).await?;
        let mut back = vec![0u8; size];
        for r in 0..rounds {
            let msg: Vec<u8> = (0..size).map(|i| (i + r) as u8).collect();
            c.write_all(&msg).await.map_err(unisock_err::<S>)?;
            c.read_exact(&mut back).await.map_err(|e| match e {
                unisock::embedded_io::ReadExactError::Other(e) => e,
                unisock::embedded_io::ReadExactError::UnexpectedEof => {
                    panic!("early end of stream")
                }
            })?;
            assert_eq!(back, msg, "round {r}");
        }
        c.shutdown(Shutdown::Write)?;
        Ok::<_, S::Error>(())
    };
    let server = async {
        let (mut s, _) = listener.accept().await?;
        let mut buf = vec![0u8; 4096];
        loop {
            let n = s.recv(&mut buf, unisock::RecvFlags::NONE).await?;
            if n == 0 {
                return Ok::<_, S::Error>(());
            }
            s.send_all(&buf[..n]).await?;
        }
    };
    let mut client = pin!(client);
    let mut server = pin!(server);
    let (mut c_done, mut s_done) = (None, None);
    poll_fn(|cx| {
        if c_done.is_none()
            && let Poll::Ready(r) = client.as_mut().poll(cx)
        {
            c_done = Some(r);
        }
        if s_done.is_none()
            && let Poll::Ready(r) = server.as_mut().poll(cx)
        {
            s_done = Some(r);
        }
        if c_done.is_some() && s_done.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    c_done.unwrap()?;
    s_done.unwrap()
}

fn unisock_err<S: SendStack>(e: S::Error) -> S::Error {
    e
}

#[test]
fn async_echo_with_the_driver_thread() {
    bounded(Duration::from_secs(30), || {
        let net = std_stack();
        let start = net.open_sockets();
        futures_executor::block_on(echo(&&*net, "127.0.0.1:7000".parse().unwrap(), 50, 3000))
            .unwrap();
        wait_sockets(&net, start);
    });
}

#[test]
fn async_echo_with_the_runner_on_one_thread() {
    bounded(Duration::from_secs(30), || {
        let dev = Loopback::with_capacity(64, 1500, Medium::Ip).unwrap();
        let config = Config::loopback().with_pool(pool());
        let stack = unisock_smoltcp::Stack::new_alloc(dev, StdClock::new(), Spin, &config).unwrap();
        let start = stack.open_sockets();
        let runner = pin!(async {
            stack.run(SleepFn(sleep)).await;
        });
        run_until(
            echo(&&stack, "127.0.0.1:7001".parse().unwrap(), 50, 3000),
            vec![runner],
        )
        .unwrap();
        // The runner keeps polling until the closed connections are freed.
        let deadline = Instant::now() + Duration::from_secs(10);
        while stack.open_sockets() != start && Instant::now() < deadline {
            stack.poll();
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(stack.open_sockets(), start, "sockets left open");
    });
}

#[track_caller]
fn wait_sockets(net: &unisock_smoltcp::LoopbackStack, start: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while net.open_sockets() != start && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(net.open_sockets(), start, "sockets left open");
}

#[test]
fn accept_wakes_the_acceptor() {
    let net = std::sync::Arc::new(std_stack());
    let start = net.open_sockets();
    let at: SocketAddr = "127.0.0.1:7002".parse().unwrap();
    let n2 = net.clone();
    // The acceptor waits first (nothing else polls its socket for it); the connection comes
    // 200 ms later from another thread.
    let (ready_tx, ready_rx) = mpsc::channel();
    let acceptor = std::thread::spawn(move || {
        let stack = &**n2;
        let mut l = SendStack::listen(&stack, at, 1).unwrap();
        ready_tx.send(()).unwrap();
        let t = Instant::now();
        let (c, peer) = futures_executor::block_on(SendStreamListener::accept(&mut l)).unwrap();
        (t.elapsed(), peer, SendStreamSocket::peer_addr(&c).unwrap())
    });
    ready_rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let stack = &**net;
    let c = unisock::Stack::connect(&stack, at).unwrap();
    let (took, peer, peer2) = bounded(Duration::from_secs(10), move || acceptor.join().unwrap());
    assert!(
        took >= Duration::from_millis(150),
        "accept returned before the connection ({took:?})"
    );
    assert_eq!(peer, peer2);
    assert_eq!(peer, unisock::Socket::local_addr(&c).unwrap());
    drop(c);
    wait_sockets(&net, start);
}

/// Many 1-byte ping-pong rounds between two threads, each an async task on its own
/// executor: every round needs one wake-up per side, and there is no polling fallback in an
/// async wait, so one lost wake-up hangs the test (and the bound fails it).
#[test]
fn ping_pong_loses_no_wake_up_async_threads() {
    bounded(Duration::from_secs(60), || {
        let net = std::sync::Arc::new(std_stack());
        let at: SocketAddr = "127.0.0.1:7003".parse().unwrap();
        let stack = &**net;
        let mut l = SendStack::listen(&stack, at, 1).unwrap();
        const ROUNDS: usize = 3000;
        std::thread::scope(|s| {
            s.spawn(|| {
                futures_executor::block_on(async {
                    let (mut c, _) = SendStreamListener::accept(&mut l).await.unwrap();
                    let mut b = [0u8; 1];
                    for _ in 0..ROUNDS {
                        c.read_exact(&mut b).await.unwrap();
                        c.write_all(&[b[0].wrapping_add(1)]).await.unwrap();
                    }
                })
            });
            futures_executor::block_on(async {
                let mut c = SendStack::connect(&stack, at).await.unwrap();
                let mut v = 0u8;
                for _ in 0..ROUNDS {
                    c.write_all(&[v]).await.unwrap();
                    let mut b = [0u8; 1];
                    c.read_exact(&mut b).await.unwrap();
                    assert_eq!(b[0], v.wrapping_add(1));
                    v = b[0];
                }
            });
        });
    });
}

/// One thread, the runner and two tasks: ping-pong with no other poller.
#[test]
fn ping_pong_loses_no_wake_up_on_the_runner() {
    bounded(Duration::from_secs(60), || {
        let dev = Loopback::with_capacity(64, 1500, Medium::Ip).unwrap();
        let config = Config::loopback().with_pool(pool());
        let stack = unisock_smoltcp::Stack::new_alloc(dev, StdClock::new(), Spin, &config).unwrap();
        let net = &stack;
        let at: SocketAddr = "127.0.0.1:7005".parse().unwrap();
        let mut l = SendStack::listen(&net, at, 1).unwrap();
        const ROUNDS: usize = 5000;
        let server = pin!(async {
            let (mut c, _) = SendStreamListener::accept(&mut l).await.unwrap();
            let mut b = [0u8; 1];
            for _ in 0..ROUNDS {
                c.read_exact(&mut b).await.unwrap();
                c.write_all(&[b[0].wrapping_add(1)]).await.unwrap();
            }
        });
        let runner = pin!(async {
            stack.run(SleepFn(sleep)).await;
        });
        let client = async {
            let mut c = SendStack::connect(&net, at).await.unwrap();
            let mut v = 0u8;
            for _ in 0..ROUNDS {
                c.write_all(&[v]).await.unwrap();
                let mut b = [0u8; 1];
                c.read_exact(&mut b).await.unwrap();
                v = b[0];
            }
            v
        };
        let v = run_until(client, vec![server, runner]);
        assert_eq!(v, (ROUNDS % 256) as u8);
    });
}

/// Poll `f` once with a waker that does nothing; it must be pending.
#[track_caller]
fn poll_once_pending<F: Future>(f: F) {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(
        f.as_mut().poll(&mut cx).is_pending(),
        "expected a pending future"
    );
}

#[test]
fn dropped_accept_leaves_the_connection_queued() {
    let net = std_stack();
    let start = net.open_sockets();
    let stack = &*net;
    let at: SocketAddr = "127.0.0.1:7006".parse().unwrap();
    let mut l = SendStack::listen(&stack, at, 2).unwrap();
    let armed = net.open_sockets();
    poll_once_pending(SendStreamListener::accept(&mut l));
    assert_eq!(
        net.open_sockets(),
        armed,
        "a dropped accept changed the pool"
    );
    let c = unisock::Stack::connect(&stack, at).unwrap();
    let (s, peer) = bounded_block_on(SendStreamListener::accept(&mut l)).unwrap();
    assert_eq!(peer, unisock::Socket::local_addr(&c).unwrap());
    drop((s, c, l));
    wait_sockets(&net, start);
}

#[test]
fn dropped_read_consumes_nothing_and_the_socket_still_works() {
    let net = std_stack();
    let start = net.open_sockets();
    let stack = &*net;
    let at: SocketAddr = "127.0.0.1:7007".parse().unwrap();
    let mut l = SendStack::listen(&stack, at, 1).unwrap();
    let mut c = unisock::Stack::connect(&stack, at).unwrap();
    let (mut s, _) = unisock::StreamListener::accept(&mut l).unwrap();
    let mut buf = [0u8; 8];
    poll_once_pending(Read::read(&mut s, &mut buf));
    poll_once_pending(SendStreamSocket::recv(
        &mut s,
        &mut buf,
        unisock::RecvFlags::NONE,
    ));
    unisock::embedded_io::Write::write_all(&mut c, b"after").unwrap();
    let n = bounded_block_on(Read::read(&mut s, &mut buf)).unwrap();
    assert_eq!(&buf[..n], b"after");
    drop((s, c, l));
    wait_sockets(&net, start);
}

#[test]
fn dropped_connect_closes_its_socket() {
    // A peer that never answers: an address of the interface's subnet that nobody has (the
    // in-process device only loops back to the stack itself).
    let config = Config::loopback()
        .with_pool(pool())
        .with_address(Cidr::new("10.77.0.1".parse().unwrap(), 24).unwrap())
        .unwrap();
    let net = StdStack::loopback_with(LoopbackOptions {
        config,
        mtu: 1500,
        medium: Medium::Ip,
        frames: 64,
        pcap: None,
    })
    .unwrap();
    let start = net.open_sockets();
    let stack = &*net;
    let sock = SendStack::tcp_socket(&stack, unisock::Domain::Ipv4).unwrap();
    assert_eq!(net.open_sockets(), start + 1);
    poll_once_pending(SendTcpSocket::connect(
        sock,
        "10.77.0.2:80".parse().unwrap(),
    ));
    wait_sockets(&net, start);
    // Nothing stuck: the pool still hands out sockets and they connect.
    let at: SocketAddr = "127.0.0.1:7008".parse().unwrap();
    let l = SendStack::listen(&stack, at, 1).unwrap();
    let c = bounded_block_on(SendStack::connect(&stack, at)).unwrap();
    drop((c, l));
    wait_sockets(&net, start);
}

#[test]
fn resolve_async_answers_literals_and_the_host_table() {
    let net = std_stack();
    let stack = &*net;
    let a = futures_executor::block_on(SendStack::resolve(&stack, "127.0.0.1")).unwrap();
    assert_eq!(
        a.as_slice(),
        &["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
    );
    let a = futures_executor::block_on(SendStack::resolve(&stack, "localhost")).unwrap();
    assert!(a.contains(&"127.0.0.1".parse().unwrap()));
    // No DNS server configured: a name outside the table is HostNotFound, at once.
    let e = futures_executor::block_on(SendStack::resolve(&stack, "example.invalid")).unwrap_err();
    assert_eq!(unisock::Error::socket_kind(&e), ErrorKind::HostNotFound);
}

/// Block on `f` (which only needs the driver thread to complete).
fn bounded_block_on<F: Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// Blocking calls on the same wake-ups (no async trait in scope here).
mod blocking {
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    use unisock::embedded_io::{Read as _, Write as _};
    use unisock::poll::{AsSource, Interest, PollItem};
    use unisock::{Stack as _, StreamListener as _};

    use super::{bounded, std_stack, wait_sockets};

    /// The same with blocking calls: a parked thread retries at most every `RECHECK` (100 ms),
    /// so a lost wake-up costs 100 ms a round and the 3000 rounds blow the bound.
    #[test]
    fn ping_pong_loses_no_wake_up_blocking() {
        bounded(Duration::from_secs(60), || {
            let net = std_stack();
            let at: SocketAddr = "127.0.0.1:7004".parse().unwrap();
            let stack = &*net;
            let mut l = stack.listen(at, 1).unwrap();
            const ROUNDS: usize = 3000;
            let t = Instant::now();
            std::thread::scope(|s| {
                s.spawn(|| {
                    let (mut c, _) = l.accept().unwrap();
                    let mut b = [0u8; 1];
                    for _ in 0..ROUNDS {
                        c.read_exact(&mut b).unwrap();
                        c.write_all(&[b[0].wrapping_add(1)]).unwrap();
                    }
                });
                let mut c = stack.connect(at).unwrap();
                let mut v = 0u8;
                for _ in 0..ROUNDS {
                    c.write_all(&[v]).unwrap();
                    let mut b = [0u8; 1];
                    c.read_exact(&mut b).unwrap();
                    v = b[0];
                }
            });
            // 100 ms per lost wake-up: even 100 of them would show.
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "took {:?}",
                t.elapsed()
            );
        });
    }

    #[test]
    fn poll_sockets_over_many_sockets() {
        let net = std_stack();
        let start = net.open_sockets();
        let stack = &*net;
        let at: SocketAddr = "127.0.0.1:7009".parse().unwrap();
        let mut l = stack.listen(at, 4).unwrap();
        let mut clients = Vec::new();
        let mut servers = Vec::new();
        for _ in 0..16 {
            clients.push(stack.connect(at).unwrap());
            servers.push(l.accept().unwrap().0);
        }
        let mut items: Vec<_> = servers
            .iter()
            .map(|s| PollItem::new(s.source(), Interest::READABLE))
            .collect();
        // Nothing to read: the timeout is honoured.
        let t = Instant::now();
        assert_eq!(
            stack
                .poll_sockets(&mut items, Some(Duration::from_millis(80)))
                .unwrap(),
            0
        );
        assert!(t.elapsed() >= Duration::from_millis(80));
        // One writer, later, from another thread: exactly that socket is reported, promptly.
        let t = Instant::now();
        std::thread::scope(|s| {
            let c = &mut clients[11];
            s.spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                unisock::embedded_io::Write::write_all(c, b"x").unwrap();
            });
            let n = stack
                .poll_sockets(&mut items, Some(Duration::from_secs(10)))
                .unwrap();
            assert_eq!(n, 1);
        });
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "poll woke late: {:?}",
            t.elapsed()
        );
        for (i, item) in items.iter().enumerate() {
            assert_eq!(item.ready.is_readable(), i == 11, "item {i}");
        }
        drop((clients, servers, l));
        wait_sockets(&net, start);
    }
}
