//! The unisock-smoltcp sides of workloads 5 and 6.
//!
//! - [`inproc_superloop`]: one thread, the application's own loop over
//!   `unisock_smoltcp::Stack::poll` and the sockets' `try_*` calls, on the backend's in-process
//!   `Loopback` device: the same shape as the plain smoltcp program ([`crate::plain`]).
//! - [`inproc_threads`]: the `std` way: `StdStack::loopback_with` (driver thread), one thread
//!   writing with blocking `write_all`, one reading with blocking `read`.
//! - [`inproc_async`]: one thread, a small executor running the stack's runner future and
//!   two tasks (async `write_all` / `read` through `unisock::asynch`).
//! - [`tap_bulk`]: `StdStack::tap` on the benchmark's TAP device, blocking calls from one
//!   thread, against the same kernel peer as the plain smoltcp program.

use std::net::SocketAddr;
use std::thread;
use std::time::Instant;

use smoltcp::phy::Medium;
use unisock::embedded_io::{Read, Write};
use unisock::{ErrorKind, SockOpt, Socket as _, Stack as _, StreamListener, StreamSocket};
use unisock_smoltcp::{
    Cidr, Config, Loopback, LoopbackOptions, PoolConfig, Spin, StdClock, StdStack, TapOptions,
};

use crate::harness::{BenchResult, Ctx};
use crate::plain::{self, Dir, TAP_KERNEL, TAP_MAC, TAP_SMOLTCP, TRANSFER_LIMIT};
use crate::tcp::IO_TIMEOUT;

/// Frames queued by the in-process devices (the plain program's ring has as many).
pub const FRAMES: usize = 64;

/// Four TCP sockets with `buf`-byte buffers, a small rest, no local-delivery queue (the
/// in-process device loops back by itself; over TAP nothing is sent to the stack's own
/// address).
fn pool(buf: usize) -> PoolConfig {
    PoolConfig {
        tcp: 4,
        tcp_rx: buf,
        tcp_tx: buf,
        local_bytes: 0,
        ..PoolConfig::SMALL
    }
}

fn gbits(bytes: u64, secs: f64) -> f64 {
    bytes as f64 * 8.0 / secs / 1e9
}

fn would_block<E: unisock::Error>(e: &E) -> bool {
    e.socket_kind() == ErrorKind::WouldBlock
}

/// unisock-smoltcp in one thread (superloop): `total` bytes between two sockets of one
/// in-process stack, MTU `mtu`, socket buffers `buf`; Gbit/s.
pub fn inproc_superloop(total: u64, mtu: usize, buf: usize) -> BenchResult<f64> {
    let dev = Loopback::with_capacity(FRAMES, mtu, Medium::Ip).ctx("Loopback")?;
    let config = Config::loopback().with_pool(pool(buf));
    let stack =
        unisock_smoltcp::Stack::new_alloc(dev, StdClock::new(), Spin, &config).ctx("Stack")?;
    let net = &stack;
    let at = SocketAddr::from(([127, 0, 0, 1], 5000));
    let mut listener = net.listen(at, 1).ctx("listen")?;
    let mut client = net.connect(at).ctx("connect")?;
    let start = Instant::now();
    let (mut server, _) = loop {
        stack.poll();
        match listener.try_accept() {
            Ok(s) => break s,
            Err(e) if would_block(&e) => {}
            Err(e) => return Err(format!("accept: {e:?}")),
        }
        if start.elapsed() > IO_TIMEOUT {
            return Err("accept: timed out".into());
        }
    };
    let src = vec![0xa5u8; 64 * 1024];
    let mut dst = vec![0u8; 64 * 1024];
    let (mut sent, mut got) = (0u64, 0u64);
    let start = Instant::now();
    while got < total {
        stack.poll();
        while sent < total {
            let n = (total - sent).min(src.len() as u64) as usize;
            match client.try_write(&src[..n]) {
                Ok(k) => sent += k as u64,
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(format!("try_write: {e:?}")),
            }
        }
        loop {
            match server.try_read(&mut dst) {
                Ok(0) => return Err("unexpected end of stream".into()),
                Ok(k) => got += k as u64,
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(format!("try_read: {e:?}")),
            }
        }
        if start.elapsed() > TRANSFER_LIMIT {
            return Err(format!("only {got} of {total} bytes in time"));
        }
    }
    Ok(gbits(total, start.elapsed().as_secs_f64()))
}

/// unisock-smoltcp with its driver thread and blocking calls from two threads; Gbit/s.
pub fn inproc_threads(total: u64, mtu: usize, buf: usize) -> BenchResult<f64> {
    let net = StdStack::loopback_with(LoopbackOptions {
        config: Config::loopback().with_pool(pool(buf)),
        mtu,
        medium: Medium::Ip,
        frames: FRAMES,
        pcap: None,
    })
    .ctx("StdStack::loopback_with")?;
    let stack = &*net;
    let at = SocketAddr::from(([127, 0, 0, 1], 5000));
    let mut listener = stack.listen(at, 1).ctx("listen")?;
    listener
        .set_option(SockOpt::ReadTimeout(Some(IO_TIMEOUT)))
        .ctx("timeout")?;
    thread::scope(|s| {
        let rx = s.spawn(move || -> BenchResult<(u64, Instant)> {
            let (mut c, _) = listener.accept().ctx("accept")?;
            c.set_option(SockOpt::ReadTimeout(Some(IO_TIMEOUT)))
                .ctx("timeout")?;
            let mut b = vec![0u8; 64 * 1024];
            let mut got = 0u64;
            loop {
                let n = c.read(&mut b).ctx("read")?;
                if n == 0 {
                    return Ok((got, Instant::now()));
                }
                got += n as u64;
            }
        });
        let start = Instant::now();
        let mut c = stack.connect(at).ctx("connect")?;
        c.set_option(SockOpt::WriteTimeout(Some(IO_TIMEOUT)))
            .ctx("timeout")?;
        let src = vec![0xa5u8; 64 * 1024];
        let mut left = total;
        while left > 0 {
            let n = left.min(src.len() as u64) as usize;
            c.write_all(&src[..n]).ctx("write")?;
            left -= n as u64;
        }
        drop(c);
        let (got, end) = rx.join().map_err(|_| "reader panicked".to_string())??;
        if got != total {
            return Err(format!("received {got} of {total} bytes"));
        }
        Ok(gbits(total, (end - start).as_secs_f64()))
    })
}

/// unisock-smoltcp over TAP device `name` (set up by [`plain::setup_tap`]): one transfer of
/// `total` bytes in direction `dir` with the kernel, socket buffers `buf`; Gbit/s.
/// With `offload`, the TAP device uses `IFF_VNET_HDR` offloads (TCP segmentation both ways).
pub fn tap_bulk(
    name: &str,
    dir: Dir,
    total: u64,
    buf: usize,
    cc: &str,
    offload: bool,
) -> BenchResult<f64> {
    plain::with_kernel_peer(dir, total, cc, |port| {
        tap_transfer(name, dir, port, total, pool(buf), offload)
    })
}

/// The smoltcp side of [`tap_bulk`] with socket pool `pool`: returns when the transfer
/// started and when this side finished.
pub fn tap_transfer(
    name: &str,
    dir: Dir,
    port: u16,
    total: u64,
    pool: PoolConfig,
    offload: bool,
) -> BenchResult<(Instant, Instant)> {
    let opts = TapOptions {
        name: name.into(),
        ips: vec![Cidr::new(TAP_SMOLTCP.into(), 24).ctx("cidr")?],
        mac: Some(TAP_MAC),
        pool: Some(pool),
        ..TapOptions::default()
    };
    let net = if offload {
        StdStack::tap_with_offload(opts)
    } else {
        StdStack::tap(opts)
    }
    .ctx("StdStack::tap")?;
    let stack = &*net;
    let mut b = vec![0u8; 64 * 1024];
    let start = Instant::now();
    let mut c = stack
        .connect_timeout(SocketAddr::from((TAP_KERNEL, port)), IO_TIMEOUT)
        .ctx("connect")?;
    c.set_option(SockOpt::ReadTimeout(Some(IO_TIMEOUT)))
        .ctx("timeout")?;
    c.set_option(SockOpt::WriteTimeout(Some(IO_TIMEOUT)))
        .ctx("timeout")?;
    match dir {
        Dir::Out => {
            let mut left = total;
            while left > 0 {
                let n = left.min(b.len() as u64) as usize;
                c.write_all(&b[..n]).ctx("write")?;
                left -= n as u64;
            }
            c.shutdown(unisock::Shutdown::Write).ctx("shutdown")?;
            // Wait for the kernel's end of stream: it has read everything.
            let n = c.read(&mut b).ctx("read end of stream")?;
            if n != 0 {
                return Err(format!("unexpected {n} bytes from the kernel"));
            }
            Ok((start, Instant::now()))
        }
        Dir::In => {
            let mut got = 0u64;
            while got < total {
                let n = c.read(&mut b).ctx("read")?;
                if n == 0 {
                    return Err(format!("end of stream after {got} bytes"));
                }
                got += n as u64;
            }
            Ok((start, Instant::now()))
        }
    }
}

/// A one-thread executor with a timer, enough for [`inproc_async`]: polls the future, and
/// when it is pending parks until a waker fires or the earliest `Sleeper` deadline.
mod one_thread {
    use std::cell::Cell;
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll, Wake, Waker};
    use std::thread::Thread;
    use std::time::{Duration, Instant};

    struct Unpark(Thread, AtomicBool);

    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.1.store(true, Ordering::Release);
            self.0.unpark();
        }
    }

    /// The executor's timer: the earliest deadline a [`Sleeper`] future asked for.
    #[derive(Default)]
    pub struct Timer(Cell<Option<Instant>>);

    /// `unisock_smoltcp::Sleep` on [`Timer`].
    pub struct Sleeper<'t>(pub &'t Timer);

    impl unisock_smoltcp::Sleep for Sleeper<'_> {
        fn sleep(&mut self, d: Option<Duration>) -> impl Future<Output = ()> {
            let until = d.map(|d| Instant::now() + d);
            let timer = self.0;
            std::future::poll_fn(move |_| match until {
                Some(u) if Instant::now() >= u => Poll::Ready(()),
                Some(u) => {
                    timer.0.set(Some(timer.0.get().map_or(u, |t| t.min(u))));
                    Poll::Pending
                }
                None => Poll::Pending,
            })
        }
    }

    /// Run `f` to completion on this thread.
    pub fn block_on<F: Future>(timer: &Timer, f: F) -> F::Output {
        let unpark = Arc::new(Unpark(std::thread::current(), AtomicBool::new(true)));
        let waker = Waker::from(Arc::clone(&unpark));
        let mut cx = Context::from_waker(&waker);
        let mut f = pin!(f);
        loop {
            if unpark.1.swap(false, Ordering::Acquire)
                || timer.0.get().is_some_and(|t| Instant::now() >= t)
            {
                timer.0.set(None);
                if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                    return v;
                }
                continue;
            }
            match timer.0.get() {
                Some(t) => std::thread::park_timeout(t.saturating_duration_since(Instant::now())),
                None => std::thread::park(),
            }
        }
    }
}

/// unisock-smoltcp async on one thread: the runner future (`Stack::run`) and two tasks, a
/// writer (`write_all`) and a reader (`read`), through the async traits; Gbit/s. Also
/// returns the heap allocations counted during the transfer. `ack_delay`: the TCP
/// delayed-ACK time (`None`, unisock's default: acknowledge at once; plain smoltcp's sockets
/// default to 10 ms).
pub fn inproc_async(
    total: u64,
    mtu: usize,
    buf: usize,
    ack_delay: Option<std::time::Duration>,
) -> BenchResult<(f64, u64)> {
    use std::future::Future;
    use std::pin::pin;
    use std::task::Poll;
    use unisock::asynch::embedded_io_async::{Read as ARead, Write as AWrite};
    use unisock::asynch::{SendStack, SendStreamListener};

    let dev = Loopback::with_capacity(FRAMES, mtu, Medium::Ip).ctx("Loopback")?;
    let config = Config::loopback()
        .with_pool(pool(buf))
        .with_tcp_ack_delay(ack_delay);
    let stack =
        unisock_smoltcp::Stack::new_alloc(dev, StdClock::new(), Spin, &config).ctx("Stack")?;
    let net = &stack;
    let at = SocketAddr::from(([127, 0, 0, 1], 5000));
    let mut listener = SendStack::listen(&net, at, 1).ctx("listen")?;
    let timer = one_thread::Timer::default();
    let src = vec![0xa5u8; 64 * 1024];
    let mut dst = vec![0u8; 64 * 1024];
    let runner = async {
        stack.run(one_thread::Sleeper(&timer)).await;
    };
    let reader = async {
        let (mut c, _) = SendStreamListener::accept(&mut listener)
            .await
            .ctx("accept")?;
        let mut got = 0u64;
        loop {
            let n = ARead::read(&mut c, &mut dst).await.ctx("read")?;
            if n == 0 {
                return Ok::<_, String>((got, Instant::now()));
            }
            got += n as u64;
        }
    };
    let writer = async {
        let mut c = SendStack::connect(&net, at).await.ctx("connect")?;
        let mut left = total;
        while left > 0 {
            let n = left.min(src.len() as u64) as usize;
            AWrite::write_all(&mut c, &src[..n]).await.ctx("write")?;
            left -= n as u64;
        }
        Ok::<_, String>(())
    };
    let (mut runner, mut reader, mut writer) = (pin!(runner), pin!(reader), pin!(writer));
    let start = Instant::now();
    let allocs = crate::alloc::allocations();
    let mut wrote = None;
    let r = one_thread::block_on(
        &timer,
        std::future::poll_fn(|cx| {
            if wrote.is_none()
                && let Poll::Ready(r) = writer.as_mut().poll(cx)
            {
                wrote = Some(r);
            }
            if let Poll::Ready(r) = reader.as_mut().poll(cx) {
                return Poll::Ready(r);
            }
            let _ = runner.as_mut().poll(cx);
            Poll::Pending
        }),
    );
    let allocs = crate::alloc::allocations() - allocs;
    // The writer's stream is dropped with the future above only now: the reader saw end
    // of stream because the writer finished and dropped its stream inside its task.
    let (got, end) = r?;
    wrote.unwrap_or(Err("writer did not finish".into()))?;
    if got != total {
        return Err(format!("received {got} of {total} bytes"));
    }
    Ok((gbits(total, (end - start).as_secs_f64()), allocs))
}
