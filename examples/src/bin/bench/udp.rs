//! Workload 4: UDP datagrams over loopback, per-datagram and batched calls.
//!
//! - **send**: one thread sends `count` datagrams as fast as it can; a `std::net` receiver
//!   (the same one for both sides, so only the sending path differs) drains concurrently.
//!   Rate: datagrams handed to the kernel per second by the sender.
//! - **drain**: the receive queue of the measured socket is prefilled by a `std::net` sender
//!   (unmeasured), then drained; only the draining is timed. Rate: datagrams received per
//!   second.
//!
//! Batched cases call `send_batch` / `recv_batch` with 32 datagrams per call; their baseline
//! is `std::net`, which has one call per datagram.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use unisock::{
    DatagramSocket, RecvFlags, RecvSlot, SendFlags, SendMsg, SockOpt, Socket as _, Stack,
};

use crate::harness::{BenchResult, Ctx};
use crate::sys;
use crate::tcp::loopback;

/// Datagrams per batched call.
pub const BATCH: usize = 32;
/// Receive buffer requested for every receiving socket.
const RCVBUF: usize = 4 << 20;

/// One UDP measurement's size.
#[derive(Debug, Clone, Copy)]
pub struct UdpCfg {
    /// Payload bytes per datagram.
    pub size: usize,
    /// Datagrams sent per send sample.
    pub count: u64,
    /// Datagrams per prefill of a drain sample.
    pub fill: usize,
    /// Prefill + drain cycles per drain sample.
    pub cycles: usize,
}

/// A `std::net` receiver draining until told to stop; it spins on a non-blocking socket, so
/// the sender never pays for waking it up (that would measure the scheduler, not the socket
/// layer).
fn spawn_sink<'s>(
    s: &'s thread::Scope<'s, '_>,
    sock: &'s UdpSocket,
    stop: &'s AtomicBool,
    got: &'s AtomicU64,
) -> thread::ScopedJoinHandle<'s, ()> {
    s.spawn(move || {
        let mut buf = vec![0u8; 65536];
        let mut n = 0u64;
        loop {
            match sock.recv_from(&mut buf) {
                Ok(_) => n += 1,
                Err(_) => {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
            }
        }
        got.store(n, Ordering::Relaxed);
    })
}

fn sink_socket() -> BenchResult<(UdpSocket, SocketAddr)> {
    let sock = UdpSocket::bind(loopback()).ctx("sink bind")?;
    sys::set_recv_buffer(sock.as_raw_fd(), RCVBUF)?;
    sock.set_nonblocking(true).ctx("sink nonblocking")?;
    let addr = sock.local_addr().ctx("sink addr")?;
    Ok((sock, addr))
}

/// Run `send` (which sends `count` datagrams to the address) against a draining sink; returns
/// (datagrams per second, datagrams received).
fn with_sink(mut send: impl FnMut(SocketAddr) -> BenchResult<()>) -> BenchResult<(f64, u64)> {
    let (sink, addr) = sink_socket()?;
    let stop = AtomicBool::new(false);
    let got = AtomicU64::new(0);
    thread::scope(|s| {
        let h = spawn_sink(s, &sink, &stop, &got);
        let start = Instant::now();
        let r = send(addr);
        let elapsed = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        let _ = h.join();
        r.map(|()| (elapsed.as_secs_f64(), got.load(Ordering::Relaxed)))
    })
}

/// std::net: per-datagram sends; datagrams/s.
pub fn std_send(c: UdpCfg) -> BenchResult<f64> {
    let sock = UdpSocket::bind(loopback()).ctx("std bind")?;
    let buf = vec![0x5au8; c.size];
    let (secs, _) = with_sink(|to| {
        for _ in 0..c.count {
            sock.send_to(&buf, to).ctx("std send_to")?;
        }
        Ok(())
    })?;
    Ok(c.count as f64 / secs)
}

/// unisock: per-datagram (`batched == false`) or 32-per-call sends; datagrams/s.
pub fn unisock_send<S: Stack>(stack: &S, c: UdpCfg, batched: bool) -> BenchResult<f64> {
    let mut sock = stack.bind_udp(loopback()).ctx("unisock bind")?;
    let buf = vec![0x5au8; c.size];
    let (secs, _) = with_sink(|to| {
        if batched {
            let msgs = [SendMsg {
                data: &buf,
                to: Some(to),
            }; BATCH];
            let mut sent = 0u64;
            while sent < c.count {
                let want = (c.count - sent).min(BATCH as u64) as usize;
                sent += sock.send_batch(&msgs[..want]).ctx("unisock send_batch")? as u64;
            }
        } else {
            for _ in 0..c.count {
                sock.send_to(&buf, to, SendFlags::NONE)
                    .ctx("unisock send_to")?;
            }
        }
        Ok(())
    })?;
    Ok(c.count as f64 / secs)
}

fn prefill(from: &UdpSocket, to: SocketAddr, buf: &[u8], n: usize) -> BenchResult<()> {
    for _ in 0..n {
        from.send_to(buf, to).ctx("prefill send_to")?;
    }
    Ok(())
}

/// std::net: drain a prefilled queue with one call per datagram; datagrams/s.
pub fn std_drain(c: UdpCfg) -> BenchResult<f64> {
    let rx = UdpSocket::bind(loopback()).ctx("std bind")?;
    sys::set_recv_buffer(rx.as_raw_fd(), RCVBUF)?;
    rx.set_read_timeout(Some(Duration::from_secs(2)))
        .ctx("std timeout")?;
    let to = rx.local_addr().ctx("std addr")?;
    let tx = UdpSocket::bind(loopback()).ctx("prefill bind")?;
    let payload = vec![0x5au8; c.size];
    let mut buf = vec![0u8; 65536];
    let mut busy = Duration::ZERO;
    for _ in 0..c.cycles {
        prefill(&tx, to, &payload, c.fill)?;
        let start = Instant::now();
        for _ in 0..c.fill {
            let (n, _) = rx
                .recv_from(&mut buf)
                .ctx("std drain recv_from (a prefilled datagram was dropped?)")?;
            if n != c.size {
                return Err(format!("std drain: got {n} bytes, sent {}", c.size));
            }
        }
        busy += start.elapsed();
    }
    Ok((c.fill * c.cycles) as f64 / busy.as_secs_f64())
}

/// unisock: drain a prefilled queue per datagram or 32 per call; datagrams/s.
pub fn unisock_drain<S: Stack>(stack: &S, c: UdpCfg, batched: bool) -> BenchResult<f64> {
    let mut rx = stack.bind_udp(loopback()).ctx("unisock bind")?;
    rx.set_option(SockOpt::RecvBufferSize(RCVBUF))
        .ctx("unisock rcvbuf")?;
    rx.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(2))))
        .ctx("unisock timeout")?;
    let to = unisock::Socket::local_addr(&rx).ctx("unisock addr")?;
    let tx = UdpSocket::bind(loopback()).ctx("prefill bind")?;
    let payload = vec![0x5au8; c.size];
    let mut bufs = vec![vec![0u8; 2048.max(c.size)]; BATCH];
    let mut single = vec![0u8; 2048.max(c.size)];
    let mut slots: Vec<RecvSlot<'_, SocketAddr>> =
        bufs.iter_mut().map(|b| RecvSlot::new(b)).collect();
    let mut busy = Duration::ZERO;
    for _ in 0..c.cycles {
        prefill(&tx, to, &payload, c.fill)?;
        let start = Instant::now();
        let mut got = 0;
        if batched {
            while got < c.fill {
                let n = rx
                    .recv_batch(&mut slots)
                    .ctx("unisock drain recv_batch (a prefilled datagram was dropped?)")?;
                for slot in &slots[..n] {
                    match slot.meta {
                        Some(m) if m.len == c.size => {}
                        other => {
                            return Err(format!("unisock drain: bad slot {other:?}"));
                        }
                    }
                }
                got += n;
            }
        } else {
            let buf = &mut single;
            while got < c.fill {
                let m = rx
                    .recv_from(buf, RecvFlags::NONE)
                    .ctx("unisock drain recv_from (a prefilled datagram was dropped?)")?;
                if m.len != c.size {
                    return Err(format!("unisock drain: got {} bytes", m.len));
                }
                got += 1;
            }
        }
        busy += start.elapsed();
    }
    Ok((c.fill * c.cycles) as f64 / busy.as_secs_f64())
}

/// std::net, both ends: one thread sends `count` datagrams with `send_to`, another receives
/// with `recv_from`; datagrams delivered per second (from the first send to the last
/// datagram received; datagrams the receive queue dropped are not counted).
pub fn std_stream(c: UdpCfg) -> BenchResult<f64> {
    let rx = UdpSocket::bind(loopback()).ctx("std bind")?;
    sys::set_recv_buffer(rx.as_raw_fd(), RCVBUF)?;
    rx.set_read_timeout(Some(Duration::from_millis(100)))
        .ctx("std timeout")?;
    let to = rx.local_addr().ctx("std addr")?;
    let tx = UdpSocket::bind(loopback()).ctx("std bind")?;
    let payload = vec![0x5au8; c.size];
    stream(
        c,
        |done| {
            let mut buf = vec![0u8; 65536];
            let (mut n, mut last) = (0u64, Instant::now());
            while n < c.count {
                match rx.recv_from(&mut buf) {
                    Ok(_) => {
                        n += 1;
                        last = Instant::now();
                    }
                    Err(_) if done.load(Ordering::Acquire) => break,
                    Err(_) => {}
                }
            }
            (n, last)
        },
        || {
            for _ in 0..c.count {
                tx.send_to(&payload, to).ctx("std send_to")?;
            }
            Ok(())
        },
    )
}

/// unisock-posix, both ends: `send_batch` of 32 (segmented by the backend when the
/// datagrams are equal) and `recv_batch` of 32 with `UDP_GRO` on; datagrams delivered per
/// second, as [`std_stream`].
pub fn unisock_stream(c: UdpCfg) -> BenchResult<f64> {
    let stack = unisock_posix::PosixStack;
    let mut rx = stack.bind_udp(loopback()).ctx("unisock bind")?;
    rx.set_option(SockOpt::RecvBufferSize(RCVBUF))
        .ctx("unisock rcvbuf")?;
    rx.set_option(SockOpt::ReadTimeout(Some(Duration::from_millis(100))))
        .ctx("unisock timeout")?;
    rx.set_gro(true).ctx("unisock set_gro")?;
    let to = rx.local_addr().ctx("unisock addr")?;
    let mut tx = stack.bind_udp(loopback()).ctx("unisock bind")?;
    let payload = vec![0x5au8; c.size];
    let mut bufs = vec![vec![0u8; 2048.max(c.size)]; BATCH];
    stream(
        c,
        |done| {
            let mut slots: Vec<RecvSlot<'_, SocketAddr>> =
                bufs.iter_mut().map(|b| RecvSlot::new(b)).collect();
            let (mut n, mut last) = (0u64, Instant::now());
            while n < c.count {
                match rx.recv_batch(&mut slots) {
                    Ok(k) => {
                        n += k as u64;
                        last = Instant::now();
                    }
                    Err(_) if done.load(Ordering::Acquire) => break,
                    Err(_) => {}
                }
            }
            (n, last)
        },
        || {
            let msgs = [SendMsg {
                data: &payload,
                to: Some(to),
            }; BATCH];
            let mut sent = 0u64;
            while sent < c.count {
                let want = (c.count - sent).min(BATCH as u64) as usize;
                sent += tx.send_batch(&msgs[..want]).ctx("unisock send_batch")? as u64;
            }
            Ok(())
        },
    )
}

/// Run `recv` (returns datagrams received and when the last arrived; it stops once `done` is
/// set and its socket is idle) against `send`; delivered datagrams per second.
fn stream(
    c: UdpCfg,
    recv: impl FnOnce(&AtomicBool) -> (u64, Instant) + Send,
    send: impl FnOnce() -> BenchResult<()>,
) -> BenchResult<f64> {
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let h = s.spawn(|| recv(&done));
        let start = Instant::now();
        let r = send();
        done.store(true, Ordering::Release);
        let (n, last) = h.join().map_err(|_| "receiver panicked".to_string())?;
        r?;
        if n == 0 {
            return Err("no datagram delivered".into());
        }
        if n * 2 < c.count {
            eprintln!("  note: only {n} of {} datagrams delivered", c.count);
        }
        Ok(n as f64 / (last - start).as_secs_f64())
    })
}

/// unisock-posix: drain with `recv_batch` and `UDP_GRO` on, the queue prefilled by
/// `send_batch` (segmented); datagrams/s. Compare with [`std_drain`] (prefilled by std).
pub fn unisock_drain_gro(c: UdpCfg) -> BenchResult<f64> {
    let stack = unisock_posix::PosixStack;
    let mut rx = stack.bind_udp(loopback()).ctx("unisock bind")?;
    rx.set_option(SockOpt::RecvBufferSize(RCVBUF))
        .ctx("unisock rcvbuf")?;
    rx.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(2))))
        .ctx("unisock timeout")?;
    rx.set_gro(true).ctx("unisock set_gro")?;
    let to = rx.local_addr().ctx("unisock addr")?;
    let mut tx = stack.bind_udp(loopback()).ctx("unisock bind")?;
    let payload = vec![0x5au8; c.size];
    let msgs = [SendMsg {
        data: &payload,
        to: Some(to),
    }; BATCH];
    let mut bufs = vec![vec![0u8; 2048.max(c.size)]; BATCH];
    let mut slots: Vec<RecvSlot<'_, SocketAddr>> =
        bufs.iter_mut().map(|b| RecvSlot::new(b)).collect();
    let mut busy = Duration::ZERO;
    for _ in 0..c.cycles {
        let mut sent = 0;
        while sent < c.fill {
            let want = (c.fill - sent).min(BATCH);
            sent += tx.send_batch(&msgs[..want]).ctx("prefill send_batch")?;
        }
        let start = Instant::now();
        let mut got = 0;
        while got < c.fill {
            let n = rx
                .recv_batch(&mut slots)
                .ctx("unisock drain recv_batch (a prefilled datagram was dropped?)")?;
            for slot in &slots[..n] {
                match slot.meta {
                    Some(m) if m.len == c.size => {}
                    other => return Err(format!("unisock drain: bad slot {other:?}")),
                }
            }
            got += n;
        }
        busy += start.elapsed();
    }
    Ok((c.fill * c.cycles) as f64 / busy.as_secs_f64())
}
