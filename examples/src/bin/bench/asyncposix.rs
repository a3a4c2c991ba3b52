//! Workload 10: posix async sockets (`unisock_posix::asynch`) against `tokio::net` doing the
//! same: bulk transfer in 64 KiB writes, 1-byte ping-pong, connect + accept + close, and
//! hyper 1 GETs over one kept-alive connection (the tokio I/O traits).
//!
//! Each sample runs both ends as two futures joined in ONE task on a current-thread tokio
//! runtime (what a single-threaded async server does), for unisock's `TokioStack` and for
//! `tokio::net` alike; the unisock side is the generic code over `unisock::asynch::Stack`.
//! A third row per case runs the same generic code on `AsyncIoStack` under
//! `async_io::block_on` (async-io's reactor; the comparison that picks the default reactor).
//! Every sample is bounded in time (30 s) and in work.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use futures_lite::future;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use unisock::asynch::embedded_io_async::{Read, Write};
use unisock::asynch::{Stack, StreamListener};
use unisock::{SockOpt, Socket};
use unisock_posix::asynch::{AsyncIoStack, TokioStack};

use crate::Ctx;
use crate::harness::{BenchResult, Ctx as _};
use crate::sys;
use crate::tcp::loopback;

/// Bound on one sample.
const SAMPLE_LIMIT: Duration = Duration::from_secs(30);
/// Read buffer of bulk receivers (as in workload 1).
const READ_BUF: usize = 256 * 1024;

fn err<E: core::fmt::Debug>(what: &'static str) -> impl FnOnce(E) -> String {
    move |e| format!("{what}: {e:?}")
}

/// `fut`, or an error after [`SAMPLE_LIMIT`] (async-io's timer runs under any executor).
async fn bounded<T>(fut: impl Future<Output = BenchResult<T>>) -> BenchResult<T> {
    future::or(fut, async {
        async_io::Timer::after(SAMPLE_LIMIT).await;
        Err(format!("sample took longer than {SAMPLE_LIMIT:?}"))
    })
    .await
}

fn tokio_rt() -> BenchResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ctx("tokio runtime")
}

/// Which executor runs a sample.
#[derive(Clone, Copy)]
enum Exec {
    /// A current-thread tokio runtime.
    Tokio,
    /// `async_io::block_on`.
    AsyncIo,
}

fn run<T>(exec: Exec, fut: impl Future<Output = BenchResult<T>>) -> BenchResult<T> {
    match exec {
        Exec::Tokio => tokio_rt()?.block_on(bounded(fut)),
        Exec::AsyncIo => async_io::block_on(bounded(fut)),
    }
}

/// A listener and a connected pair on `stack`, congestion control set on every socket.
async fn pair<S: Stack>(
    stack: &S,
    cc: &str,
) -> BenchResult<(S::TcpListener, S::TcpStream, S::TcpStream)>
where
    S::TcpStream: AsRawFd,
    S::TcpListener: AsRawFd,
{
    let mut l = stack.listen(loopback(), 128).map_err(err("listen"))?;
    sys::set_congestion(l.as_raw_fd(), cc)?;
    let at = l.local_addr().map_err(err("local_addr"))?;
    let (c, a) = future::zip(stack.connect(at), l.accept()).await;
    let c = c.map_err(err("connect"))?;
    let (s, _) = a.map_err(err("accept"))?;
    sys::set_congestion(c.as_raw_fd(), cc)?;
    sys::set_congestion(s.as_raw_fd(), cc)?;
    Ok((l, c, s))
}

async fn tokio_pair(
    cc: &str,
) -> BenchResult<(
    tokio::net::TcpListener,
    tokio::net::TcpStream,
    tokio::net::TcpStream,
)> {
    let l = tokio::net::TcpListener::bind(loopback())
        .await
        .ctx("bind")?;
    sys::set_congestion(l.as_raw_fd(), cc)?;
    let at = l.local_addr().ctx("local_addr")?;
    let (c, a) = future::zip(tokio::net::TcpStream::connect(at), l.accept()).await;
    let c = c.ctx("connect")?;
    let (s, _) = a.ctx("accept")?;
    sys::set_congestion(c.as_raw_fd(), cc)?;
    sys::set_congestion(s.as_raw_fd(), cc)?;
    Ok((l, c, s))
}

fn gbits(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 * 8.0 / elapsed.as_secs_f64() / 1e9
}

/// unisock async: `total` bytes in `wsize` writes, one reader; Gbit/s.
async fn unisock_bulk<S: Stack>(stack: &S, total: u64, wsize: usize, cc: &str) -> BenchResult<f64>
where
    S::TcpStream: AsRawFd,
    S::TcpListener: AsRawFd,
{
    let (_l, mut c, mut s) = pair(stack, cc).await?;
    let start = Instant::now();
    let writer = async move {
        let buf = vec![0xa5u8; wsize];
        let mut left = total;
        while left > 0 {
            let n = left.min(wsize as u64) as usize;
            c.write_all(&buf[..n]).await.map_err(err("write"))?;
            left -= n as u64;
        }
        Ok::<_, String>(())
    };
    let reader = async {
        let mut buf = vec![0u8; READ_BUF];
        let mut got = 0u64;
        loop {
            let n = s.read(&mut buf).await.map_err(err("read"))?;
            if n == 0 {
                return Ok::<_, String>(got);
            }
            got += n as u64;
        }
    };
    let (w, r) = future::zip(writer, reader).await;
    w?;
    let got = r?;
    if got != total {
        return Err(format!("received {got} of {total} bytes"));
    }
    Ok(gbits(total, start.elapsed()))
}

/// tokio::net: the same transfer.
async fn tokio_bulk(total: u64, wsize: usize, cc: &str) -> BenchResult<f64> {
    let (_l, mut c, mut s) = tokio_pair(cc).await?;
    let start = Instant::now();
    let writer = async move {
        let buf = vec![0xa5u8; wsize];
        let mut left = total;
        while left > 0 {
            let n = left.min(wsize as u64) as usize;
            c.write_all(&buf[..n]).await.ctx("write")?;
            left -= n as u64;
        }
        Ok::<_, String>(())
    };
    let reader = async {
        let mut buf = vec![0u8; READ_BUF];
        let mut got = 0u64;
        loop {
            let n = s.read(&mut buf).await.ctx("read")?;
            if n == 0 {
                return Ok::<_, String>(got);
            }
            got += n as u64;
        }
    };
    let (w, r) = future::zip(writer, reader).await;
    w?;
    let got = r?;
    if got != total {
        return Err(format!("received {got} of {total} bytes"));
    }
    Ok(gbits(total, start.elapsed()))
}

/// unisock async: 1-byte round trips until `max_trips` or `max_time`; trips/s.
async fn unisock_pingpong<S: Stack>(
    stack: &S,
    max_trips: u64,
    max_time: Duration,
    cc: &str,
) -> BenchResult<f64>
where
    S::TcpStream: AsRawFd,
    S::TcpListener: AsRawFd,
{
    let (_l, mut c, mut s) = pair(stack, cc).await?;
    c.set_option(SockOpt::NoDelay(true))
        .map_err(err("nodelay"))?;
    s.set_option(SockOpt::NoDelay(true))
        .map_err(err("nodelay"))?;
    let client = async move {
        let mut b = [0u8; 1];
        let start = Instant::now();
        let mut trips = 0u64;
        while trips < max_trips && start.elapsed() < max_time {
            c.write_all(&[1]).await.map_err(err("write"))?;
            let n = c.read(&mut b).await.map_err(err("read"))?;
            if n != 1 {
                return Err("end of stream".to_string());
            }
            trips += 1;
        }
        Ok(trips as f64 / start.elapsed().as_secs_f64())
    };
    let server = async {
        let mut b = [0u8; 1];
        loop {
            if s.read(&mut b).await.map_err(err("read"))? == 0 {
                return Ok::<_, String>(());
            }
            s.write_all(&b).await.map_err(err("write"))?;
        }
    };
    let (rate, served) = future::zip(client, server).await;
    served?;
    rate
}

/// tokio::net: the same round trips.
async fn tokio_pingpong(max_trips: u64, max_time: Duration, cc: &str) -> BenchResult<f64> {
    let (_l, mut c, mut s) = tokio_pair(cc).await?;
    c.set_nodelay(true).ctx("nodelay")?;
    s.set_nodelay(true).ctx("nodelay")?;
    let client = async move {
        let mut b = [0u8; 1];
        let start = Instant::now();
        let mut trips = 0u64;
        while trips < max_trips && start.elapsed() < max_time {
            c.write_all(&[1]).await.ctx("write")?;
            let n = c.read(&mut b).await.ctx("read")?;
            if n != 1 {
                return Err("end of stream".to_string());
            }
            trips += 1;
        }
        Ok(trips as f64 / start.elapsed().as_secs_f64())
    };
    let server = async {
        let mut b = [0u8; 1];
        loop {
            if s.read(&mut b).await.ctx("read")? == 0 {
                return Ok::<_, String>(());
            }
            s.write_all(&b).await.ctx("write")?;
        }
    };
    let (rate, served) = future::zip(client, server).await;
    served?;
    rate
}

/// unisock async: `n` connects, each accepted and closed at both ends; connections/s.
async fn unisock_connect_rate<S: Stack>(stack: &S, n: u32, cc: &str) -> BenchResult<f64>
where
    S::TcpListener: AsRawFd,
{
    // A backlog above `n`: a client loop that never has to wait (async-io completes a
    // loopback connect on its first poll) would otherwise overflow the accept queue and wait
    // out a SYN retransmission (1 s).
    let mut l = stack.listen(loopback(), 4096).map_err(err("listen"))?;
    sys::set_congestion(l.as_raw_fd(), cc)?;
    let at = l.local_addr().map_err(err("local_addr"))?;
    let start = Instant::now();
    let server = async {
        for _ in 0..n {
            drop(l.accept().await.map_err(err("accept"))?);
        }
        Ok::<_, String>(())
    };
    let client = async {
        for _ in 0..n {
            drop(stack.connect(at).await.map_err(err("connect"))?);
        }
        Ok::<_, String>(())
    };
    let (a, b) = future::zip(server, client).await;
    a?;
    b?;
    Ok(f64::from(n) / start.elapsed().as_secs_f64())
}

/// tokio::net: the same connections (same backlog, and `SO_REUSEADDR` as `listen` sets).
async fn tokio_connect_rate(n: u32, cc: &str) -> BenchResult<f64> {
    let sock = tokio::net::TcpSocket::new_v4().ctx("socket")?;
    sock.set_reuseaddr(true).ctx("reuseaddr")?;
    sock.bind(loopback()).ctx("bind")?;
    let l = sock.listen(4096).ctx("listen")?;
    sys::set_congestion(l.as_raw_fd(), cc)?;
    let at = l.local_addr().ctx("local_addr")?;
    let start = Instant::now();
    let server = async {
        for _ in 0..n {
            drop(l.accept().await.ctx("accept")?);
        }
        Ok::<_, String>(())
    };
    let client = async {
        for _ in 0..n {
            drop(tokio::net::TcpStream::connect(at).await.ctx("connect")?);
        }
        Ok::<_, String>(())
    };
    let (a, b) = future::zip(server, client).await;
    a?;
    b?;
    Ok(f64::from(n) / start.elapsed().as_secs_f64())
}

/// hyper 1 on both ends of one kept-alive HTTP/1.1 connection (`client`, `server`, the same
/// I/O type: unisock's tokio stream or `tokio::net::TcpStream`): `n` GETs of `body`, each
/// body read whole and its length checked; requests per second.
async fn hyper_gets<T>(client: T, server: T, n: u32, body: bytes::Bytes) -> BenchResult<f64>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use http_body_util::{BodyExt, Empty, Full};
    use hyper_util::rt::TokioIo;

    let len = body.len();
    let service = hyper::service::service_fn(move |_req: hyper::Request<hyper::body::Incoming>| {
        let body = body.clone();
        async move { Ok::<_, hyper::Error>(hyper::Response::new(Full::new(body))) }
    });
    let serve = async {
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(server), service)
            .await
            .map_err(err("hyper server"))
    };
    let start = Instant::now();
    let fetch = async {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(client))
            .await
            .map_err(err("hyper handshake"))?;
        let requests = async move {
            for _ in 0..n {
                let req = hyper::Request::get("/")
                    .header("host", "bench")
                    .body(Empty::<bytes::Bytes>::new())
                    .map_err(err("request"))?;
                let res = sender.send_request(req).await.map_err(err("GET"))?;
                let got = res.into_body().collect().await.map_err(err("body"))?;
                if got.to_bytes().len() != len {
                    return Err("short body".to_string());
                }
            }
            Ok::<_, String>(())
            // The sender is dropped here: the connection closes and both futures end.
        };
        let (c, r) = future::zip(async { conn.await.map_err(err("hyper client")) }, requests).await;
        c?;
        r
    };
    let (s, f) = future::zip(serve, fetch).await;
    f?;
    s?;
    Ok(f64::from(n) / start.elapsed().as_secs_f64())
}

/// hyper over unisock's `TokioStack`.
async fn unisock_hyper(n: u32, body: bytes::Bytes, cc: &str) -> BenchResult<f64> {
    let (_l, c, s) = pair(&TokioStack::new(), cc).await?;
    hyper_gets(c, s, n, body).await
}

/// hyper over `tokio::net`.
async fn tokio_hyper(n: u32, body: bytes::Bytes, cc: &str) -> BenchResult<f64> {
    let (_l, c, s) = tokio_pair(cc).await?;
    hyper_gets(c, s, n, body).await
}

/// Workload 10: every case, unisock's tokio reactor and async-io reactor against tokio::net.
pub fn run_all(cx: &mut Ctx) {
    const W: &str = "10 posix async (1 thread)";
    let cc = cx.cc.clone();
    let total = cx.sizes.bulk;
    let (trips, trip_time, connects) = (cx.sizes.trips, cx.sizes.trip_time, cx.sizes.connects);
    let tokio_stack = TokioStack::new();
    let asyncio_stack = AsyncIoStack::new();
    for (exec, subject) in [
        (Exec::Tokio, "unisock-posix TokioStack"),
        (Exec::AsyncIo, "unisock-posix AsyncIoStack (block_on)"),
    ] {
        let case = format!("bulk {} MiB, 64 KiB writes", total >> 20);
        cx.compare(
            W,
            &case,
            "Gbit/s",
            subject,
            "tokio::net",
            &format!("cc {cc}"),
            || match exec {
                Exec::Tokio => run(exec, unisock_bulk(&tokio_stack, total, 64 * 1024, &cc)),
                Exec::AsyncIo => run(exec, unisock_bulk(&asyncio_stack, total, 64 * 1024, &cc)),
            },
            || run(Exec::Tokio, tokio_bulk(total, 64 * 1024, &cc)),
        );
        cx.compare(
            W,
            "ping-pong 1 B",
            "trips/s",
            subject,
            "tokio::net",
            "TCP_NODELAY; both ends in one task",
            || match exec {
                Exec::Tokio => run(exec, unisock_pingpong(&tokio_stack, trips, trip_time, &cc)),
                Exec::AsyncIo => run(
                    exec,
                    unisock_pingpong(&asyncio_stack, trips, trip_time, &cc),
                ),
            },
            || run(Exec::Tokio, tokio_pingpong(trips, trip_time, &cc)),
        );
        cx.compare(
            W,
            &format!("connect+accept+close, {connects} connections"),
            "conn/s",
            subject,
            "tokio::net",
            "",
            || match exec {
                Exec::Tokio => run(exec, unisock_connect_rate(&tokio_stack, connects, &cc)),
                Exec::AsyncIo => run(exec, unisock_connect_rate(&asyncio_stack, connects, &cc)),
            },
            || run(Exec::Tokio, tokio_connect_rate(connects, &cc)),
        );
    }
    // hyper, what a tokio user puts on a stream: only on the tokio reactor (hyper-util's
    // `TokioIo` over the tokio traits).
    let body = bytes::Bytes::from(vec![0x5au8; 64 * 1024]);
    let gets = connects;
    cx.compare(
        W,
        &format!("hyper 1 GET 64 KiB, {gets} requests on one connection"),
        "req/s",
        "unisock-posix TokioStack",
        "tokio::net",
        "HTTP/1.1 keep-alive, client and server in one task",
        || run(Exec::Tokio, unisock_hyper(gets, body.clone(), &cc)),
        || run(Exec::Tokio, tokio_hyper(gets, body.clone(), &cc)),
    );
}
