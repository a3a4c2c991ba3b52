//! Workload 8: embassy-net over TAP, the baseline of issue 10's "smoltcp async over TAP vs
//! embassy-net 0.9.1 with embassy-net-tuntap, both directions, MTU 1500".
//!
//! - [`tap_bulk`]: embassy-net 0.9.1 (its own smoltcp 0.13) on `embassy-net-tuntap` 0.1.1
//!   over the benchmark's TAP device (made by [`crate::plain::setup_tap`] in the benchmark's private
//!   network namespace), one `TcpSocket` against a kernel TCP socket on the other side of the
//!   TAP. The executor is `async_io::block_on` on the calling thread: embassy-net-tuntap's
//!   device is an `async_io::Async` file descriptor, so async-io's reactor, driven by the same
//!   thread, wakes the runner when a frame arrives; the runner future and the transfer future
//!   are polled together on that one thread (what an embedded developer prototyping on Linux
//!   writes, minus the embassy-executor task statics). embassy-time runs on its `std` driver with
//!   the generic timer queue (the integrated one needs embassy-executor's wakers).
//! - [`kernel_peer`]: the kernel side, in a thread of this process, with the congestion control
//!   set as in the other TAP workloads.
//!
//! Both sides hash the byte stream with SHA-256 while it moves (the sender what it wrote, the
//! receiver what it read) and the transfer fails if the digests or counts differ. The payload is
//! a 1 MiB xorshift block sent over and over. Hashing is inside the timed window on both sides
//! and is the same cost for any subject measured with these helpers.
//!
//! The unisock side (unisock-smoltcp's async sockets over its TAP device) plugs in through
//! [`TapTransfer`]: `UNISOCK_ASYNC_TAP` in `main.rs` is that slot, `None` until the async
//! smoltcp backend lands; with it set, workload 8 runs both interleaved and prints the ratio.

use std::future::{Future, poll_fn};
use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use embassy_net::tcp::{State, TcpSocket};
use embassy_net::{Ipv4Cidr, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use sha2::{Digest, Sha256};

use crate::harness::{BenchResult, Ctx};
use crate::plain::{Dir, TAP_KERNEL, TAP_MAC, TAP_SMOLTCP, TRANSFER_LIMIT};
use crate::sys;
use crate::tcp::IO_TIMEOUT;

/// One transfer of a subject over TAP: move `total` bytes in direction `dir` between a stack
/// on TAP device `tap` and the kernel (congestion control `cc` on the kernel's socket), socket
/// buffers of `buf` bytes each way; returns the elapsed time from the start of the connect to
/// the moment the receiver had every byte. The byte streams are SHA-256 checked (write the
/// subject with [`with_kernel_peer`]). [`tap_bulk`] is embassy-net's; unisock's async TAP
/// transfer will have this type too.
pub type TapTransfer =
    fn(tap: &str, dir: Dir, total: u64, buf: usize, cc: &str) -> BenchResult<Duration>;

/// Bytes of the payload block repeated over the stream.
const BLOCK: usize = 1 << 20;
/// How long a closing connection may take to finish its handshake.
const CLOSE_LIMIT: Duration = Duration::from_secs(10);

/// The payload block: xorshift bytes (no short period inside a block).
pub fn payload_block() -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..BLOCK)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// What one side of a transfer saw: bytes, their SHA-256, and when it finished.
#[derive(Debug)]
pub struct Side {
    /// Bytes sent or received.
    pub bytes: u64,
    /// SHA-256 of those bytes.
    pub digest: [u8; 32],
    /// When this side finished (the receiver: when it had every byte).
    pub end: Instant,
}

/// The kernel side: accept one connection on `listener`. `Dir::Out` (the stack sends): read and
/// hash until end of stream, then close. `Dir::In` (the stack receives): write `total` bytes of
/// `block` repeated, hashing them, shut down the write side, then read until the stack closes.
pub fn kernel_peer(
    listener: TcpListener,
    dir: Dir,
    total: u64,
    cc: &str,
    block: &[u8],
) -> BenchResult<Side> {
    let (mut c, _) = listener.accept().ctx("kernel accept")?;
    sys::set_congestion(c.as_raw_fd(), cc)?;
    c.set_read_timeout(Some(IO_TIMEOUT)).ctx("kernel timeout")?;
    c.set_write_timeout(Some(IO_TIMEOUT))
        .ctx("kernel timeout")?;
    let mut hash = Sha256::new();
    match dir {
        Dir::Out => {
            let mut buf = vec![0u8; 256 * 1024];
            let mut got = 0u64;
            loop {
                let n = c.read(&mut buf).ctx("kernel read")?;
                if n == 0 {
                    break;
                }
                hash.update(&buf[..n]);
                got += n as u64;
                if got > total {
                    return Err(format!("kernel received {got} bytes, more than {total}"));
                }
            }
            Ok(Side {
                bytes: got,
                digest: hash.finalize().into(),
                end: Instant::now(),
            })
        }
        Dir::In => {
            let mut left = total;
            while left > 0 {
                let n = left.min(block.len() as u64) as usize;
                c.write_all(&block[..n]).ctx("kernel write")?;
                hash.update(&block[..n]);
                left -= n as u64;
            }
            let end = Instant::now();
            c.shutdown(Shutdown::Write).ctx("kernel shutdown")?;
            // Wait for the stack's close (bounded by the read timeout).
            let mut rest = [0u8; 64];
            while c.read(&mut rest).ctx("kernel read after sending")? > 0 {}
            Ok(Side {
                bytes: total,
                digest: hash.finalize().into(),
                end,
            })
        }
    }
}

/// Run `subject` (the stack side of one transfer, given the kernel's port) against
/// [`kernel_peer`] in a thread of this process; checks counts and digests and returns the
/// elapsed time from `subject`'s start to the receiver's end.
pub fn with_kernel_peer(
    dir: Dir,
    total: u64,
    cc: &str,
    block: &[u8],
    subject: impl FnOnce(u16) -> BenchResult<(Instant, Side)>,
) -> BenchResult<Duration> {
    let listener = TcpListener::bind(SocketAddr::from((TAP_KERNEL, 0))).ctx("kernel bind")?;
    sys::set_congestion(listener.as_raw_fd(), cc)?;
    sys::set_recv_timeout(listener.as_raw_fd(), IO_TIMEOUT)?;
    let port = listener.local_addr().ctx("kernel addr")?.port();
    thread::scope(|s| {
        let peer = s.spawn(|| kernel_peer(listener, dir, total, cc, block));
        let mine = subject(port);
        let theirs = peer
            .join()
            .map_err(|_| "kernel peer panicked".to_string())?;
        let (start, mine) = mine?;
        let theirs = theirs?;
        if mine.bytes != total || theirs.bytes != total {
            return Err(format!(
                "{}: stack moved {} bytes, kernel {}, of {total}",
                dir.label(),
                mine.bytes,
                theirs.bytes
            ));
        }
        if mine.digest != theirs.digest {
            return Err(format!("{}: SHA-256 of the stream differs", dir.label()));
        }
        let end = match dir {
            Dir::Out => theirs.end,
            Dir::In => mine.end,
        };
        Ok(end.saturating_duration_since(start))
    })
}

/// Poll `work` and `runner` together until `work` completes (`runner` never does).
async fn alongside<T>(runner: impl Future<Output = ()>, work: impl Future<Output = T>) -> T {
    let mut runner = pin!(runner);
    let mut work = pin!(work);
    poll_fn(|cx| {
        if let Poll::Ready(v) = work.as_mut().poll(cx) {
            return Poll::Ready(v);
        }
        // The runner only ever returns `Pending`; its output is `()` here only for the type.
        let _ = runner.as_mut().poll(cx);
        Poll::Pending
    })
    .await
}

/// embassy-net over embassy-net-tuntap on TAP device `tap`: one transfer of `total` bytes in
/// direction `dir` with the kernel's `cc` congestion control on its side, `buf`-byte socket
/// buffers; the elapsed time (see [`TapTransfer`]).
pub fn tap_bulk(tap: &str, dir: Dir, total: u64, buf: usize, cc: &str) -> BenchResult<Duration> {
    let block = payload_block();
    with_kernel_peer(dir, total, cc, &block, |port| {
        tap_side(tap, dir, port, total, buf, &block)
    })
}

/// The embassy-net side of [`tap_bulk`]: connect to the kernel's `port` and move the bytes.
fn tap_side(
    tap: &str,
    dir: Dir,
    port: u16,
    total: u64,
    buf: usize,
    block: &[u8],
) -> BenchResult<(Instant, Side)> {
    let mut device = TunTapDevice::new(tap).ctx("TunTapDevice::new")?;
    device.set_hardware_address(TAP_MAC);
    let config = embassy_net::Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(TAP_SMOLTCP, 24),
        gateway: None,
        dns_servers: heapless::Vec::new(),
    });
    let mut resources = StackResources::<2>::new();
    // Initial sequence numbers and the ephemeral port: different in every transfer, so that a
    // connection never meets the TIME-WAIT of the previous one on the kernel's side.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let seed = (u64::from(std::process::id()) << 32) | u64::from(nanos);
    let (stack, mut runner) = embassy_net::new(device, config, &mut resources, seed);
    let mut rx = vec![0u8; buf];
    let mut tx = vec![0u8; buf];
    let work = async {
        let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
        socket.set_timeout(Some(embassy_time::Duration::from_secs(
            IO_TIMEOUT.as_secs(),
        )));
        let start = Instant::now();
        socket
            .connect((TAP_KERNEL, port))
            .await
            .ctx("embassy-net connect")?;
        let mut hash = Sha256::new();
        let mut moved = 0u64;
        let mut end = Instant::now();
        match dir {
            Dir::Out => {
                while moved < total {
                    let at = (moved % block.len() as u64) as usize;
                    let n = (total - moved).min((block.len() - at) as u64) as usize;
                    let k = socket
                        .write(&block[at..at + n])
                        .await
                        .ctx("embassy-net write")?;
                    if k == 0 {
                        return Err(format!("embassy-net write: 0 after {moved} bytes"));
                    }
                    hash.update(&block[at..at + k]);
                    moved += k as u64;
                }
            }
            Dir::In => {
                let mut chunk = vec![0u8; 64 * 1024];
                loop {
                    let n = socket.read(&mut chunk).await.ctx("embassy-net read")?;
                    if n == 0 {
                        break;
                    }
                    hash.update(&chunk[..n]);
                    moved += n as u64;
                    if moved == total {
                        end = Instant::now();
                    }
                }
            }
        }
        // Close and wait for the handshake to finish: dropping an open embassy-net socket
        // removes it from the stack without telling the peer.
        socket.close();
        let closed = embassy_time::with_timeout(
            embassy_time::Duration::from_secs(CLOSE_LIMIT.as_secs()),
            async {
                socket.flush().await.ctx("embassy-net flush")?;
                while !matches!(socket.state(), State::Closed | State::TimeWait) {
                    embassy_time::Timer::after_millis(1).await;
                }
                Ok::<(), String>(())
            },
        )
        .await;
        match closed {
            Ok(r) => r?,
            Err(_) => return Err(format!("embassy-net close: still {}", socket.state())),
        }
        if dir == Dir::Out {
            end = Instant::now();
        }
        Ok((
            start,
            Side {
                bytes: moved,
                digest: hash.finalize().into(),
                end,
            },
        ))
    };
    let bounded = async {
        match embassy_time::with_timeout(
            embassy_time::Duration::from_secs(TRANSFER_LIMIT.as_secs()),
            work,
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(format!("embassy-net {}: stalled", dir.label())),
        }
    };
    async_io::block_on(alongside(
        async {
            runner.run().await;
        },
        bounded,
    ))
}

/// unisock-smoltcp's async sockets over its TAP device on `tap`: one transfer as
/// [`tap_bulk`] does it (same kernel peer, payload and hashing), everything on
/// `async_io::block_on` on the calling thread as embassy-net runs: the stack from
/// [`Stack::tap_async`](unisock_smoltcp::Stack::tap_async) (no driver thread), its runner
/// future polled next to the transfer, its [`TapSleep`](unisock_smoltcp::TapSleep) ending a
/// runner round at the next deadline or when the TAP descriptor is readable. Fills workload
/// 8's `UNISOCK_ASYNC_TAP` slot.
pub fn unisock_tap_bulk(
    tap: &str,
    dir: Dir,
    total: u64,
    buf: usize,
    cc: &str,
) -> BenchResult<Duration> {
    use unisock::asynch::embedded_io_async::{Read as _, Write as _};
    use unisock::asynch::{SendStack, SendStreamSocket};
    use unisock_smoltcp::{Cidr, PoolConfig, Stack, TapOptions};

    let block = payload_block();
    with_kernel_peer(dir, total, cc, &block, |port| {
        let (net, sleep) = Stack::tap_async(TapOptions {
            name: tap.into(),
            ips: vec![Cidr::new(TAP_SMOLTCP.into(), 24).ctx("cidr")?],
            mac: Some(TAP_MAC),
            pool: Some(PoolConfig {
                tcp: 4,
                tcp_rx: buf,
                tcp_tx: buf,
                ..PoolConfig::DEFAULT
            }),
            ..TapOptions::default()
        })
        .ctx("Stack::tap_async")?;
        let stack = &net;
        let work = async {
            let start = Instant::now();
            let mut c = SendStack::connect(&stack, SocketAddr::from((TAP_KERNEL, port)))
                .await
                .ctx("unisock connect")?;
            let mut hash = Sha256::new();
            let mut moved = 0u64;
            let mut end = Instant::now();
            match dir {
                Dir::Out => {
                    while moved < total {
                        let at = (moved % block.len() as u64) as usize;
                        let n = (total - moved).min((block.len() - at) as u64) as usize;
                        c.write_all(&block[at..at + n]).await.ctx("unisock write")?;
                        hash.update(&block[at..at + n]);
                        moved += n as u64;
                    }
                    SendStreamSocket::shutdown(&mut c, unisock::Shutdown::Write)
                        .ctx("unisock shutdown")?;
                    // The kernel closes once it has read everything.
                    let mut rest = [0u8; 64];
                    while c.read(&mut rest).await.ctx("unisock read end of stream")? > 0 {}
                    end = Instant::now();
                }
                Dir::In => {
                    let mut chunk = vec![0u8; 64 * 1024];
                    loop {
                        let n = c.read(&mut chunk).await.ctx("unisock read")?;
                        if n == 0 {
                            break;
                        }
                        hash.update(&chunk[..n]);
                        moved += n as u64;
                        if moved == total {
                            end = Instant::now();
                        }
                    }
                }
            }
            Ok((
                start,
                Side {
                    bytes: moved,
                    digest: hash.finalize().into(),
                    end,
                },
            ))
        };
        let runner = async { match net.run(sleep).await {} };
        async_io::block_on(futures_or_timeout(alongside(runner, work), dir))
    })
}

/// `work`, or a "stalled" error after [`TRANSFER_LIMIT`].
async fn futures_or_timeout<T>(
    work: impl Future<Output = BenchResult<T>>,
    dir: Dir,
) -> BenchResult<T> {
    let mut work = pin!(work);
    let mut timer = pin!(async_io::Timer::after(TRANSFER_LIMIT));
    poll_fn(|cx| {
        if let Poll::Ready(r) = work.as_mut().poll(cx) {
            return Poll::Ready(r);
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(_) => Poll::Ready(Err(format!("unisock {}: stalled", dir.label()))),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}
