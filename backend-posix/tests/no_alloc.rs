//! The data paths (read, write, send, recv, batches, try_ calls, errors) allocate nothing: a
//! counting global allocator watches this thread while they run. One test per file, so no
//! other test thread allocates in the measured window.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use unisock::prelude::*;
use unisock::{DatagramSocket, RecvSlot, SendMsg, Stack, StreamListener, StreamSocket};
use unisock_posix::{PosixStack, UnixDatagram, UnixStream};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting has no effect
// on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if WATCHING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
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
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Run `f` and return how many allocations this thread made in it.
fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    WATCHING.with(|w| w.set(true));
    f();
    WATCHING.with(|w| w.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

#[test]
fn data_paths_do_not_allocate() {
    let stack = PosixStack;
    let mut listener = stack.listen("127.0.0.1:0".parse().unwrap(), 4).unwrap();
    let mut client = stack.connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    let mut rx = stack.bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut tx = stack.bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
    let to = rx.local_addr().unwrap();
    let (mut ua, mut ub) = UnixStream::pair().unwrap();
    let (mut da, mut db) = UnixDatagram::pair().unwrap();
    let mut bufs = [[0u8; 64]; 8];
    // Bound every blocking call, so a mistake fails instead of hanging.
    let limit = Some(std::time::Duration::from_secs(5));
    server.set_option(SockOpt::ReadTimeout(limit)).unwrap();
    rx.set_option(SockOpt::ReadTimeout(limit)).unwrap();
    ub.set_option(SockOpt::ReadTimeout(limit)).unwrap();
    db.set_option(SockOpt::ReadTimeout(limit)).unwrap();

    let n = allocations_in(|| {
        for _ in 0..100 {
            let mut buf = [0u8; 64];
            client.write_all(b"0123456789").unwrap();
            server.read_exact(&mut buf[..10]).unwrap();
            client.send(b"x", SendFlags::NONE).unwrap();
            assert_eq!(server.recv(&mut buf[..1], RecvFlags::WAITALL).unwrap(), 1);
            assert_eq!(
                server.try_read(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
            assert!(client.write_ready().unwrap());
            tx.send_to(b"datagram", to, SendFlags::NONE).unwrap();
            let m = rx.recv_from(&mut buf, RecvFlags::NONE).unwrap();
            assert_eq!(m.len, 8);
            let msgs = [
                SendMsg::<SocketAddr> {
                    data: b"a",
                    to: Some(to),
                },
                SendMsg {
                    data: b"b",
                    to: Some(to),
                },
            ];
            assert_eq!(tx.send_batch(&msgs).unwrap(), 2);
            let [b0, b1, ..] = &mut bufs;
            let mut slots = [RecvSlot::new(&mut b0[..]), RecvSlot::new(&mut b1[..])];
            let mut got = 0;
            while got < 2 {
                got += rx.recv_batch(&mut slots[got..]).unwrap();
            }
            ua.write_all(b"unix").unwrap();
            ub.read_exact(&mut buf[..4]).unwrap();
            da.send(b"d", SendFlags::NONE).unwrap();
            db.recv(&mut buf, RecvFlags::NONE).unwrap();
            let e = rx.try_recv_from(&mut buf, RecvFlags::NONE).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::WouldBlock);
        }
    });
    assert_eq!(n, 0, "the data paths allocated {n} times");
}
