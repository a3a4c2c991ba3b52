//! Per-socket wake-ups: what a waiting task or thread registers, and on which socket.
//!
//! smoltcp keeps one [`Waker`] per direction per socket (`register_recv_waker`,
//! `register_send_waker`; the DNS socket one per query) and calls it from `Interface::poll`
//! when that direction may progress; a TCP socket wakes both on every state change (connected,
//! peer FIN, reset). Everything that waits here waits on those:
//!
//! - an **async** operation registers its task's waker (`cx.waker()`) on the socket and
//!   direction it waits for, under the stack lock, after trying the operation and polling, so
//!   no event can slip between the check and the registration;
//! - a **blocking** call (with a driver, `std`) registers the calling thread's [`Parker`]
//!   waker the same way, releases the lock and parks; the waker sets a flag and unparks that
//!   thread only. One parker per thread, cached in a thread-local: no allocation per call;
//! - an **accept** registers on every armed socket of its listener (the one that completes
//!   the handshake wakes it);
//! - **`poll_sockets`** registers on every polled socket, in the directions of interest.
//!
//! **One waiter per direction per socket.** smoltcp stores a single waker per direction and a
//! second registration replaces the first without waking it. Through the API two waiters on
//! one direction cannot arise for async code (every waiting call takes the socket by `&mut`, and
//! a split stream's two halves, borrowed by `&mut` together, wait on one direction each),
//! nor for one blocking thread; they can for blocking code that mixes `poll_sockets` on a
//! socket with a blocking call on the same socket from another thread. So a parked thread
//! never sleeps longer than [`RECHECK`] without retrying its operation: a displaced waiter is
//! late by at most that, never stuck.

use core::task::Waker;

use smoltcp::phy::Device;
use smoltcp::socket::tcp;
use unisock::poll::Interest;

use crate::slot::{Handle, Kind, Use};
use crate::stack::Inner;

/// The longest a blocked thread parks before retrying its operation even without a
/// wake-up (see the module docs: a second waiter on one socket direction displaces the
/// first).
pub const RECHECK: core::time::Duration = core::time::Duration::from_millis(100);

/// Which direction of a socket an operation waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// Data, a datagram, a connection or end of stream to receive.
    Recv,
    /// Room to send, or the connection's state (connect, linger, all acknowledged).
    Send,
}

impl<'a, D: Device> Inner<'a, D> {
    /// Register `waker` on direction `dir` of the socket `h` names (nothing if it is stale:
    /// the operation that follows reports that).
    pub(crate) fn register(&mut self, h: Handle, dir: Dir, waker: &Waker) {
        let Ok(slot) = self.slot(h) else { return };
        let (kind, Some(sh)) = (slot.kind, slot.handle) else {
            return;
        };
        match kind {
            Kind::Tcp => {
                let s = self.sockets.get_mut::<tcp::Socket>(sh);
                match dir {
                    Dir::Recv => s.register_recv_waker(waker),
                    Dir::Send => s.register_send_waker(waker),
                }
            }
            #[cfg(feature = "udp")]
            Kind::Udp => {
                let s = self.sockets.get_mut::<smoltcp::socket::udp::Socket>(sh);
                match dir {
                    Dir::Recv => s.register_recv_waker(waker),
                    Dir::Send => s.register_send_waker(waker),
                }
            }
            #[cfg(feature = "raw")]
            Kind::RawV4 | Kind::RawV6 => {
                let s = self.sockets.get_mut::<smoltcp::socket::raw::Socket>(sh);
                match dir {
                    Dir::Recv => s.register_recv_waker(waker),
                    Dir::Send => s.register_send_waker(waker),
                }
            }
            _ => {}
        }
    }

    /// Register `waker` on every armed socket of listener `id`: whichever completes a
    /// handshake (or is reset) wakes the acceptor.
    pub(crate) fn register_listener(&mut self, id: u32, waker: &Waker) {
        if id == 0 {
            return;
        }
        for slot in self.slots.iter() {
            if slot.kind != Kind::Tcp || slot.use_ != Use::Open || slot.listener != id {
                continue;
            }
            if let Some(sh) = slot.handle {
                self.sockets
                    .get_mut::<tcp::Socket>(sh)
                    .register_recv_waker(waker);
            }
        }
    }

    /// Register `waker` for what `source` is polled for (`interest`).
    pub(crate) fn register_source(&mut self, source: crate::Source, interest: Interest, w: &Waker) {
        match source {
            crate::Source::Listener { stack, id } => {
                if stack == self.id {
                    self.register_listener(id, w);
                }
            }
            crate::Source::Socket(h) => {
                // A hang-up or error is reported whatever the interest: a TCP socket wakes
                // both directions on a state change, so registering one direction is enough.
                if interest.readable() || !interest.writable() {
                    self.register(h, Dir::Recv, w);
                }
                if interest.writable() {
                    self.register(h, Dir::Send, w);
                }
            }
        }
    }
}

/// The waker of the stack's runner (or driver thread) and whether it was woken: a socket
/// operation that makes the interface's next deadline earlier than the one the runner sleeps
/// until wakes it.
#[derive(Debug, Default)]
pub(crate) struct RunnerWake {
    pub waker: Option<Waker>,
    pub woken: bool,
}

impl RunnerWake {
    /// Wake the runner (if one waits) and remember it for its next check.
    pub(crate) fn wake(&mut self) {
        self.woken = true;
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

#[cfg(feature = "std")]
pub(crate) use parker::Parker;

#[cfg(feature = "std")]
mod parker {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Wake, Waker};
    use std::thread::Thread;
    use std::time::{Duration, Instant};

    /// Spin iterations before parking (a few microseconds).
    const SPINS: u32 = 200;

    struct Unpark {
        thread: Thread,
        woken: AtomicBool,
    }

    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.woken.store(true, Ordering::Release);
            self.thread.unpark();
        }
    }

    /// A blocked thread's wake-up: a [`Waker`] that sets a flag and unparks this thread
    /// only. One per thread, created on the thread's first blocking wait and cached.
    pub(crate) struct Parker {
        unpark: Arc<Unpark>,
        waker: Waker,
    }

    thread_local! {
        static PARKER: Parker = {
            let unpark = Arc::new(Unpark {
                thread: std::thread::current(),
                woken: AtomicBool::new(false),
            });
            let waker = Waker::from(Arc::clone(&unpark));
            Parker { unpark, waker }
        };
    }

    impl Parker {
        /// Run `f` with this thread's parker.
        pub(crate) fn with<R>(f: impl FnOnce(&Parker) -> R) -> R {
            PARKER.with(f)
        }

        /// The waker to register (clear an old wake-up first, under the stack lock).
        pub(crate) fn arm(&self) -> &Waker {
            self.unpark.woken.store(false, Ordering::Relaxed);
            &self.waker
        }

        /// Park until woken or `timeout` passes. The thread first spins for a few
        /// microseconds: a wake-up that comes that soon (the other side of a transfer
        /// finishing its critical section) then costs no sleep and no system call.
        pub(crate) fn park(&self, timeout: Duration) {
            for _ in 0..SPINS {
                if self.unpark.woken.swap(false, Ordering::Acquire) {
                    return;
                }
                core::hint::spin_loop();
            }
            let start = Instant::now();
            loop {
                if self.unpark.woken.swap(false, Ordering::Acquire) {
                    return;
                }
                let spent = start.elapsed();
                if spent >= timeout {
                    return;
                }
                std::thread::park_timeout(timeout - spent);
            }
        }
    }
}

impl<'a, D: Device, C: crate::Clock, W: crate::Wait> crate::Stack<'a, D, C, W> {
    /// One poll of an async operation: take the lock, try `op` (polling the interface and
    /// trying again once if that changed anything); on `WouldBlock` register the task's
    /// waker with `on` **before** releasing the lock (no event can slip in between) and
    /// return `Pending`. Then, as every operation does, poll the interface and wake the
    /// runner if its deadline moved earlier. No allocation (smoltcp clones the waker only
    /// when a different task registers).
    pub(crate) fn poll_op<T>(
        &self,
        cx: &mut core::task::Context<'_>,
        on: impl FnOnce(&mut Inner<'a, D>, &Waker),
        mut op: impl FnMut(&mut Inner<'a, D>, smoltcp::time::Instant) -> crate::Result<T>,
    ) -> core::task::Poll<crate::Result<T>> {
        let now = self.clock.now();
        let mut g = self.lock();
        let mut r = op(&mut g, now);
        if r.as_ref().is_err_and(crate::Error::is_would_block) && g.poll_drain(now) {
            r = op(&mut g, now);
        }
        let pending = r.as_ref().is_err_and(crate::Error::is_would_block);
        if pending {
            on(&mut g, cx.waker());
        }
        self.finish(g, now, false);
        if pending {
            core::task::Poll::Pending
        } else {
            core::task::Poll::Ready(r)
        }
    }
}
