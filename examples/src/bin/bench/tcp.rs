//! Workloads 1-3 over loopback: TCP bulk transfer, 1-byte ping-pong, connect/accept/close
//! rate. Each has a unisock version (generic over any [`Stack`] whose sockets expose their
//! descriptor, i.e. the kernel backend) and a `std::net` version written the same way.
//!
//! Both versions use the same buffer sizes, thread layout, socket options (`TCP_NODELAY` where
//! stated, the congestion-control algorithm set on every socket) and the same bounds (read and
//! write timeouts, an iteration cap and a time cap).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::{Duration, Instant};

use unisock::embedded_io::{Read, Write};
use unisock::{SockOpt, Socket as _, Stack, StreamListener};

use crate::harness::{BenchResult, Ctx};
use crate::sys;

/// Timeout of every blocking call (a bound, never reached in a healthy run).
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The loopback address every loopback workload uses.
pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Read buffer of bulk receivers.
const READ_BUF: usize = 256 * 1024;

fn gbits(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 * 8.0 / elapsed.as_secs_f64() / 1e9
}

fn join<T>(h: thread::ScopedJoinHandle<'_, BenchResult<T>>) -> BenchResult<T> {
    h.join()
        .map_err(|_| "benchmark thread panicked".to_string())?
}

// ---------------------------------------------------------------------------------------------
// 1. Bulk

/// std::net: send `total` bytes in writes of `wsize` over loopback; Gbit/s.
pub fn std_bulk(total: u64, wsize: usize, cc: &str) -> BenchResult<f64> {
    let listener = TcpListener::bind(loopback()).ctx("std bind")?;
    sys::set_congestion(listener.as_raw_fd(), cc)?;
    sys::set_recv_timeout(listener.as_raw_fd(), IO_TIMEOUT)?;
    let addr = listener.local_addr().ctx("std local_addr")?;
    thread::scope(|s| {
        let rx = s.spawn(|| -> BenchResult<u64> {
            let (mut c, _) = listener.accept().ctx("std accept")?;
            sys::set_congestion(c.as_raw_fd(), cc)?;
            c.set_read_timeout(Some(IO_TIMEOUT)).ctx("std timeout")?;
            let mut buf = vec![0u8; READ_BUF];
            let mut got = 0u64;
            loop {
                let n = c.read(&mut buf).ctx("std read")?;
                if n == 0 {
                    return Ok(got);
                }
                got += n as u64;
            }
        });
        let start = Instant::now();
        let mut c = TcpStream::connect(addr).ctx("std connect")?;
        sys::set_congestion(c.as_raw_fd(), cc)?;
        c.set_write_timeout(Some(IO_TIMEOUT)).ctx("std timeout")?;
        let buf = vec![0xa5u8; wsize];
        let mut left = total;
        while left > 0 {
            let n = left.min(wsize as u64) as usize;
            c.write_all(&buf[..n]).ctx("std write")?;
            left -= n as u64;
        }
        drop(c);
        let got = join(rx)?;
        let elapsed = start.elapsed();
        if got != total {
            return Err(format!("std bulk: received {got} of {total} bytes"));
        }
        Ok(gbits(total, elapsed))
    })
}

/// unisock: the same transfer as [`std_bulk`] through `stack`; Gbit/s.
pub fn unisock_bulk<S>(stack: &S, total: u64, wsize: usize, cc: &str) -> BenchResult<f64>
where
    S: Stack + Sync,
    S::TcpStream: Send + AsRawFd,
    S::TcpListener: Send + AsRawFd,
{
    let mut listener = stack.listen(loopback(), 128).ctx("unisock listen")?;
    sys::set_congestion(listener.as_raw_fd(), cc)?;
    listener
        .set_option(SockOpt::ReadTimeout(Some(IO_TIMEOUT)))
        .ctx("unisock listener timeout")?;
    let addr = listener.local_addr().ctx("unisock local_addr")?;
    thread::scope(|s| {
        let rx = s.spawn(move || -> BenchResult<u64> {
            let (mut c, _) = listener.accept().ctx("unisock accept")?;
            sys::set_congestion(c.as_raw_fd(), cc)?;
            c.set_option(SockOpt::ReadTimeout(Some(IO_TIMEOUT)))
                .ctx("unisock timeout")?;
            let mut buf = vec![0u8; READ_BUF];
            let mut got = 0u64;
            loop {
                let n = c.read(&mut buf).ctx("unisock read")?;
                if n == 0 {
                    return Ok(got);
                }
                got += n as u64;
            }
        });
        let start = Instant::now();
        let mut c = stack.connect(addr).ctx("unisock connect")?;
        sys::set_congestion(c.as_raw_fd(), cc)?;
        c.set_option(SockOpt::WriteTimeout(Some(IO_TIMEOUT)))
            .ctx("unisock timeout")?;
        let buf = vec![0xa5u8; wsize];
        let mut left = total;
        while left > 0 {
            let n = left.min(wsize as u64) as usize;
            c.write_all(&buf[..n]).ctx("unisock write")?;
            left -= n as u64;
        }
        drop(c);
        let got = join(rx)?;
        let elapsed = start.elapsed();
        if got != total {
            return Err(format!("unisock bulk: received {got} of {total} bytes"));
        }
        Ok(gbits(total, elapsed))
    })
}

// ---------------------------------------------------------------------------------------------
// 2. Ping-pong

/// Bounds of one ping-pong sample.
#[derive(Debug, Clone, Copy)]
pub struct PingPong {
    /// At most this many round trips.
    pub max_trips: u64,
    /// At most this long.
    pub max_time: Duration,
    /// Pin both threads to CPU 0.
    pub pinned: bool,
}

fn maybe_pin(pinned: bool) -> BenchResult<()> {
    if pinned { sys::pin_to_cpu(0) } else { Ok(()) }
}

/// std::net: 1-byte round trips per second.
pub fn std_pingpong(p: PingPong, cc: &str) -> BenchResult<f64> {
    let listener = TcpListener::bind(loopback()).ctx("std bind")?;
    sys::set_congestion(listener.as_raw_fd(), cc)?;
    sys::set_recv_timeout(listener.as_raw_fd(), IO_TIMEOUT)?;
    let addr = listener.local_addr().ctx("std local_addr")?;
    thread::scope(|s| {
        let server = s.spawn(|| -> BenchResult<()> {
            maybe_pin(p.pinned)?;
            let (mut c, _) = listener.accept().ctx("std accept")?;
            c.set_nodelay(true).ctx("std nodelay")?;
            c.set_read_timeout(Some(IO_TIMEOUT)).ctx("std timeout")?;
            let mut b = [0u8; 1];
            loop {
                if c.read(&mut b).ctx("std server read")? == 0 {
                    return Ok(());
                }
                c.write_all(&b).ctx("std server write")?;
            }
        });
        let client = s.spawn(|| -> BenchResult<f64> {
            maybe_pin(p.pinned)?;
            let mut c = TcpStream::connect(addr).ctx("std connect")?;
            sys::set_congestion(c.as_raw_fd(), cc)?;
            c.set_nodelay(true).ctx("std nodelay")?;
            c.set_read_timeout(Some(IO_TIMEOUT)).ctx("std timeout")?;
            let mut b = [7u8; 1];
            let start = Instant::now();
            let mut trips = 0u64;
            while trips < p.max_trips {
                c.write_all(&b).ctx("std client write")?;
                c.read_exact(&mut b).ctx("std client read")?;
                trips += 1;
                if trips.is_multiple_of(1024) && start.elapsed() > p.max_time {
                    break;
                }
            }
            Ok(trips as f64 / start.elapsed().as_secs_f64())
        });
        let rate = join(client)?;
        join(server)?;
        Ok(rate)
    })
}

/// unisock: 1-byte round trips per second, as [`std_pingpong`].
pub fn unisock_pingpong<S>(stack: &S, p: PingPong, cc: &str) -> BenchResult<f64>
where
    S: Stack + Sync,
    S::TcpStream: Send + AsRawFd,
    S::TcpListener: Send + AsRawFd,
{
    let mut listener = stack.listen(loopback(), 128).ctx("unisock listen")?;
    sys::set_congestion(listener.as_raw_fd(), cc)?;
    listener
        .set_option(SockOpt::ReadTimeout(Some(IO_TIMEOUT)))
        .ctx("unisock listener timeout")?;
    let addr = listener.local_addr().ctx("unisock local_addr")?;
    thread::scope(|s| {
        let server = s.spawn(move || -> BenchResult<()> {
            maybe_pin(p.pinned)?;
            let (mut c, _) = listener.accept().ctx("unisock accept")?;
            c.set_option(SockOpt::NoDelay(true))
                .ctx("unisock nodelay")?;
            c.set_option(SockOpt::ReadTimeout(Some(IO_TIMEOUT)))
                .ctx("unisock timeout")?;
            let mut b = [0u8; 1];
            loop {
                if c.read(&mut b).ctx("unisock server read")? == 0 {
                    return Ok(());
                }
                c.write_all(&b).ctx("unisock server write")?;
            }
        });
        let client = s.spawn(|| -> BenchResult<f64> {
            maybe_pin(p.pinned)?;
            let mut c = stack.connect(addr).ctx("unisock connect")?;
            sys::set_congestion(c.as_raw_fd(), cc)?;
            c.set_option(SockOpt::NoDelay(true))
                .ctx("unisock nodelay")?;
            c.set_option(SockOpt::ReadTimeout(Some(IO_TIMEOUT)))
                .ctx("unisock timeout")?;
            let mut b = [7u8; 1];
            let start = Instant::now();
            let mut trips = 0u64;
            while trips < p.max_trips {
                c.write_all(&b).ctx("unisock client write")?;
                c.read_exact(&mut b).ctx("unisock client read")?;
                trips += 1;
                if trips.is_multiple_of(1024) && start.elapsed() > p.max_time {
                    break;
                }
            }
            Ok(trips as f64 / start.elapsed().as_secs_f64())
        });
        let rate = join(client)?;
        join(server)?;
        Ok(rate)
    })
}

// ---------------------------------------------------------------------------------------------
// 3. Connect + accept + close

/// std::net: connections per second. Each connection: the client connects, the server accepts
/// and closes, the client reads end of stream and closes.
pub fn std_connect_rate(n: u32, cc: &str) -> BenchResult<f64> {
    let listener = TcpListener::bind(loopback()).ctx("std bind")?;
    sys::set_congestion(listener.as_raw_fd(), cc)?;
    sys::set_recv_timeout(listener.as_raw_fd(), IO_TIMEOUT)?;
    let addr = listener.local_addr().ctx("std local_addr")?;
    thread::scope(|s| {
        let server = s.spawn(|| -> BenchResult<()> {
            for _ in 0..n {
                let (c, _) = listener.accept().ctx("std accept")?;
                drop(c);
            }
            Ok(())
        });
        let start = Instant::now();
        let mut b = [0u8; 1];
        for _ in 0..n {
            let mut c = TcpStream::connect(addr).ctx("std connect")?;
            c.set_read_timeout(Some(IO_TIMEOUT)).ctx("std timeout")?;
            if c.read(&mut b).ctx("std read eof")? != 0 {
                return Err("std connect: unexpected data".into());
            }
        }
        let elapsed = start.elapsed();
        join(server)?;
        Ok(f64::from(n) / elapsed.as_secs_f64())
    })
}

/// unisock: connections per second, as [`std_connect_rate`].
pub fn unisock_connect_rate<S>(stack: &S, n: u32, cc: &str) -> BenchResult<f64>
where
    S: Stack + Sync,
    S::TcpStream: Send + AsRawFd,
    S::TcpListener: Send + AsRawFd,
{
    let mut listener = stack.listen(loopback(), 128).ctx("unisock listen")?;
    sys::set_congestion(listener.as_raw_fd(), cc)?;
    listener
        .set_option(SockOpt::ReadTimeout(Some(IO_TIMEOUT)))
        .ctx("unisock listener timeout")?;
    let addr = listener.local_addr().ctx("unisock local_addr")?;
    thread::scope(|s| {
        let server = s.spawn(move || -> BenchResult<()> {
            for _ in 0..n {
                let (c, _) = listener.accept().ctx("unisock accept")?;
                drop(c);
            }
            Ok(())
        });
        let start = Instant::now();
        let mut b = [0u8; 1];
        for _ in 0..n {
            let mut c = stack.connect(addr).ctx("unisock connect")?;
            c.set_option(SockOpt::ReadTimeout(Some(IO_TIMEOUT)))
                .ctx("unisock timeout")?;
            if c.read(&mut b).ctx("unisock read eof")? != 0 {
                return Err("unisock connect: unexpected data".into());
            }
        }
        let elapsed = start.elapsed();
        join(server)?;
        Ok(f64::from(n) / elapsed.as_secs_f64())
    })
}
