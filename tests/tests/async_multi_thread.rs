//! Generic async server and clients spawned as tasks on tokio's **multi-threaded** runtime,
//! written once against `unisock::asynch::SendStack` and run on both backends: the kernel
//! (`TokioStack`) and smoltcp on its in-process device with the `std` driver thread
//! (`&'static Stack`, the way a program keeps a stack for its whole run). Tasks migrate between
//! the two worker threads, so every wake-up crosses threads; some clients cancel a pending
//! read (the future is dropped) and carry on, some vanish mid-echo. Every transfer is checked
//! byte for byte, every task must end, and both stacks' open sockets must come back to where
//! they started (the leak check).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use unisock::asynch::{SendStack, SendStreamListener, SendStreamSocket};
use unisock::{RecvFlags, Shutdown, Socket};
use unisock_conformance::util::{LeakCheck, serial};

/// Clients at once: all may connect before the first accept, so no more than the listen
/// backlog (smoltcp keeps at most `MAX_BACKLOG` = 32 sockets armed and answers a SYN beyond
/// them with RST, as documented; the kernel queues more).
const CLIENTS: u8 = 32;
/// Bytes each client sends and expects back.
const SIZE: usize = 16 * 1024;
/// The bound on the whole exchange (a lost wake-up fails the test instead of hanging it).
const LIMIT: Duration = Duration::from_secs(60);

type Tasks = Arc<Mutex<Vec<JoinHandle<()>>>>;

/// Accept forever; one spawned task per connection echoing until end of stream. A connection
/// whose peer vanished ends its task with the error (it is not this test's failure).
async fn serve<S: SendStack + 'static>(mut listener: S::TcpListener, tasks: Tasks) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            loop {
                let Ok(n) = conn.recv(&mut buf, RecvFlags::NONE).await else {
                    return;
                };
                if n == 0 {
                    let _ = conn.shutdown(Shutdown::Write);
                    return;
                }
                if conn.send_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        });
        tasks.lock().unwrap().push(task);
    }
}

/// What a client does besides the plain echo.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Send everything, half-close, read it all back.
    Echo,
    /// First start a read with nothing to read and drop it (a cancelled future), then echo:
    /// the cancelled read must neither take data nor break the stream.
    CancelFirst,
    /// Read half of the echo back and drop the stream with data in flight both ways.
    Vanish,
}

/// One client `id` of kind `kind`.
async fn client<S: SendStack>(stack: S, at: SocketAddr, id: u8, kind: Kind) -> Result<(), String> {
    let mut c = stack
        .connect(at)
        .await
        .map_err(|e| format!("client {id}: connect: {e:?}"))?;
    if let Kind::CancelFirst = kind {
        let mut b = [0u8; 64];
        let r = tokio::time::timeout(Duration::from_millis(20), c.recv(&mut b, RecvFlags::NONE));
        if let Ok(r) = r.await {
            return Err(format!(
                "client {id}: a read with nothing sent completed: {r:?}"
            ));
        }
    }
    let data: Vec<u8> = (0..SIZE).map(|i| (i as u8) ^ id ^ (i >> 8) as u8).collect();
    c.send_all(&data)
        .await
        .map_err(|e| format!("client {id}: send: {e:?}"))?;
    let want = match kind {
        Kind::Vanish => SIZE / 2,
        _ => {
            c.shutdown(Shutdown::Write)
                .map_err(|e| format!("client {id}: shutdown: {e:?}"))?;
            SIZE + 1
        }
    };
    let mut back = vec![0u8; want];
    let mut got = 0;
    while got < SIZE.min(want) {
        let n = c
            .recv(&mut back[got..], RecvFlags::NONE)
            .await
            .map_err(|e| format!("client {id}: recv after {got} bytes: {e:?}"))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    if let Kind::Vanish = kind {
        // Dropped here with the rest of the echo in flight.
        return match got >= want && back[..got] == data[..got] {
            true => Ok(()),
            false => Err(format!("client {id}: first half of the echo differs")),
        };
    }
    // End of stream after exactly the data.
    let n = c
        .recv(&mut back[got..], RecvFlags::NONE)
        .await
        .map_err(|e| format!("client {id}: recv at the end: {e:?}"))?;
    if got != SIZE || n != 0 || back[..SIZE] != data[..] {
        return Err(format!("client {id}: echo differs ({got} bytes, then {n})"));
    }
    Ok(())
}

/// The whole exchange on `stack` (`S` is `Copy`: the posix stack, or `&'static Stack`).
fn exchange<S: SendStack + Copy + Send + Sync + 'static>(name: &str, stack: S) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .enable_io()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = stack
            .listen("127.0.0.1:0".parse().unwrap(), CLIENTS as usize)
            .expect("listen");
        let at = listener.local_addr().expect("local_addr");
        let tasks: Tasks = Arc::default();
        let server = tokio::spawn(serve::<S>(listener, Arc::clone(&tasks)));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| {
                let kind = match id % 4 {
                    1 => Kind::CancelFirst,
                    3 => Kind::Vanish,
                    _ => Kind::Echo,
                };
                tokio::spawn(client(stack, at, id, kind))
            })
            .collect();
        let all = async {
            for c in clients {
                c.await.expect("client task panicked")?;
            }
            // Dropping the accept loop closes the listener; every connection task must end.
            server.abort();
            let _ = server.await;
            let tasks = std::mem::take(&mut *tasks.lock().unwrap());
            assert_eq!(
                tasks.len(),
                CLIENTS as usize,
                "{name}: connections accepted"
            );
            for t in tasks {
                t.await.expect("connection task panicked");
            }
            Ok::<_, String>(())
        };
        match tokio::time::timeout(LIMIT, all).await {
            Ok(r) => r.unwrap_or_else(|e| panic!("{name}: {e}")),
            Err(_) => panic!("{name}: not done within {LIMIT:?}: a wake-up was lost"),
        }
    });
}

#[test]
fn kernel_tokio_stack_on_the_multi_threaded_runtime() {
    let _serial = serial();
    let stack = unisock_posix::asynch::TokioStack::new();
    let count = || unisock::Stack::open_sockets(&unisock_posix::PosixStack);
    let leaks = LeakCheck::new(&[("posix", &count)]);
    exchange("posix", stack);
    leaks.finish(Duration::from_secs(5));
}

#[test]
fn smoltcp_driver_thread_stack_on_the_multi_threaded_runtime() {
    let _serial = serial();
    let net = unisock_smoltcp::StdStack::loopback(unisock_smoltcp::Config::loopback().with_pool(
        unisock_smoltcp::PoolConfig {
            tcp: 2 * CLIENTS as usize + 80,
            tcp_rx: 8 * 1024,
            tcp_tx: 8 * 1024,
            ..unisock_smoltcp::PoolConfig::SMALL
        },
    ))
    .expect("loopback stack");
    // Tasks are 'static: the stack lives for the rest of the test process, as a program's
    // would (its driver thread keeps polling an idle interface).
    let net: &'static _ = Box::leak(Box::new(net));
    let stack: &'static unisock_smoltcp::Stack<'static, _, _, _> = net.stack();
    let count = || stack.open_sockets();
    let leaks = LeakCheck::new(&[("smoltcp", &count)]);
    exchange("smoltcp", stack);
    leaks.finish(Duration::from_secs(10));
}
