//! The async data paths (read, write, send, recv, send_to, recv_from, and the waits between
//! them) allocate nothing in steady state (on async-io, its reactor allocates once per turn): a counting global allocator
//! watches the executor's thread (a current-thread runtime, or `block_on`) while 500
//! ping-pong rounds run between two futures, each round waiting on readiness.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use futures_lite::future;
use unisock::asynch::embedded_io_async::{Read, Write};
use unisock::asynch::{DatagramSocket, Stack, StreamListener, StreamSocket};
use unisock::{RecvFlags, SendFlags, Socket};
use unisock_posix::asynch::{AsyncIoStack, TokioStack};

struct Counting;

// Both per thread: the tests of this file run in parallel, and one thread's allocations (the
// async-io reactor's, say) must not be counted in another thread's window.
thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// This thread's allocations so far (while watching).
fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting has no effect
// on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if WATCHING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if WATCHING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// 500 rounds of: client writes 64 bytes, server reads and echoes them, client reads them
/// back; then a UDP round trip. Every read waits for data (the peer writes after the read
/// starts), so the readiness paths are measured, not only the system calls.
async fn rounds<S: Stack>(stack: &S, count: usize, warm_up: bool) -> usize {
    let mut listener = stack.listen("127.0.0.1:0".parse().unwrap(), 4).unwrap();
    let at = listener.local_addr().unwrap();
    let (client, accepted) = future::zip(stack.connect(at), listener.accept()).await;
    let mut client = client.unwrap();
    let (mut server, _) = accepted.unwrap();
    let mut rx = stack.bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut tx = stack.bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
    let to = rx.local_addr().unwrap();
    let mut run = async |n: usize| {
        for i in 0..n {
            let msg = [i as u8; 64];
            let echo = async {
                let mut buf = [0u8; 64];
                let mut got = 0;
                while got < 64 {
                    got += server.read(&mut buf[got..]).await.unwrap();
                }
                server.send(&buf, SendFlags::NONE).await.unwrap();
            };
            let ask = async {
                client.write_all(&msg).await.unwrap();
                let mut back = [0u8; 64];
                let n = client.recv(&mut back, RecvFlags::WAITALL).await.unwrap();
                assert_eq!((n, back), (64, msg));
            };
            future::zip(echo, ask).await;
            let mut d = [0u8; 64];
            let (sent, got) = future::zip(
                tx.send_to(&msg[..32], to, SendFlags::NONE),
                rx.recv_from(&mut d, RecvFlags::NONE),
            )
            .await;
            assert_eq!((sent.unwrap(), got.unwrap().len), (32, 32));
        }
    };
    if warm_up {
        run(20).await;
    }
    // Measure only the rounds, not the set-up above.
    let before = allocations();
    WATCHING.with(|w| w.set(true));
    run(count).await;
    WATCHING.with(|w| w.set(false));
    allocations() - before
}

#[test]
fn async_data_paths_do_not_allocate() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let n = rt.block_on(rounds(&TokioStack::new(), 500, true));
    assert_eq!(n, 0, "tokio: {n} allocations in 500 async rounds");

    // async-io's reactor collects the wakers of each turn into a fresh `Vec`
    // (`ReactorLock::react`): one allocation per reactor wake-up, in async-io, not here. Each
    // round makes six async calls, so an allocation per call would show as 3000.
    let n = async_io::block_on(rounds(&AsyncIoStack::new(), 500, true));
    assert!(
        n <= 500,
        "async-io: {n} allocations in 500 async rounds (more than one per reactor turn)"
    );
}

/// The same TCP ping-pong through tokio's `AsyncRead`/`AsyncWrite` (`read`, `write_all`,
/// `read_exact` of `tokio::io`'s extension traits) on the tokio reactor.
#[test]
fn tokio_io_traits_do_not_allocate() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let n = rt.block_on(async {
        let stack = TokioStack::new();
        let mut listener = stack.listen("127.0.0.1:0".parse().unwrap(), 4).unwrap();
        let at = listener.local_addr().unwrap();
        let (client, accepted) = future::zip(stack.connect(at), listener.accept()).await;
        let mut client = client.unwrap();
        let (mut server, _) = accepted.unwrap();
        let mut run = async |n: usize| {
            for i in 0..n {
                let msg = [i as u8; 64];
                let echo = async {
                    let mut buf = [0u8; 64];
                    let mut got = 0;
                    while got < 64 {
                        got += AsyncReadExt::read(&mut server, &mut buf[got..])
                            .await
                            .unwrap();
                    }
                    AsyncWriteExt::write_all(&mut server, &buf).await.unwrap();
                };
                let ask = async {
                    AsyncWriteExt::write_all(&mut client, &msg).await.unwrap();
                    let mut back = [0u8; 64];
                    AsyncReadExt::read_exact(&mut client, &mut back)
                        .await
                        .unwrap();
                    assert_eq!(back, msg);
                };
                future::zip(echo, ask).await;
            }
        };
        run(20).await;
        let before = allocations();
        WATCHING.with(|w| w.set(true));
        run(500).await;
        WATCHING.with(|w| w.set(false));
        allocations() - before
    });
    assert_eq!(n, 0, "tokio::io traits: {n} allocations in 500 rounds");
}
