//! The async half of the conformance suite: the scenarios of [`crate::scenarios`] that make
//! sense async, written once against [`unisock::asynch::Stack`] (the plain family, so they run
//! on single-threaded and `no_std`-style stacks too), plus wake-up and cancellation checks.
//!
//! The scenarios never spawn: concurrency inside one is `futures_lite::future::zip`, so they
//! run on any executor. They need `alloc` but not `std` (the paths are `core`'s and `alloc`'s,
//! the crate-level helpers come from [`crate::check`] and `crate::util::notice`), so the
//! firmware `examples/firmware/ascen` includes this file by path and runs them on the MCU
//! under embassy-executor. Time comes from the instantiation through [`Sleep`] (used only for
//! short pauses and for bounding calls that must not complete); the instantiation bounds each
//! whole scenario with its executor's timer (a lost wake-up then fails the test instead of
//! hanging it).
//!
//! ## Instantiating on another backend (e.g. smoltcp, `tests/tests/smoltcp_async.rs`)
//! 1. Build an [`AsyncEnv`] (server and client stack, the addresses, the
//!    [`Profile`] of the blocking suite, and a [`Sleep`] for the
//!    executor).
//! 2. Write a `with_env(f)` that takes the [`serial`](crate::util::serial) lock, builds the
//!    env, and runs `f(&env)` (a future) on the executor under a timeout, inside
//!    [`AsyncEnv::run_checked`] (the leak check).
//! 3. `unisock_conformance::async_conformance_tests!(with_env);` instantiates every scenario
//!    as one `#[test]` (see `tests/tests/posix_async.rs` for tokio and async-io).

use alloc::string::ToString;
use alloc::vec::Vec;
use alloc::{format, vec};
use core::future::Future;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::time::Duration;

use futures_lite::future;
use unisock::asynch::embedded_io_async::{Read, Write};
use unisock::asynch::{
    DatagramRecvHalf, DatagramSendHalf, DatagramSocket, Readable, SplitDatagram, Stack,
    StreamListener, StreamSocket, TcpSocket,
};
use unisock::{Domain, ErrorKind, Protocol, RecvFlags, SendFlags, Shutdown, Socket};

use crate::check::{Profile, assert_kind, assert_kind_in, ok};
use crate::util::notice;

/// The executor's timer, as the scenarios need it.
pub trait Sleep {
    /// Complete after `d`.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()>;
}

/// The stacks, addresses and timer a scenario runs on.
pub struct AsyncEnv<'a, S, C, T> {
    /// Where listeners and receivers live.
    pub server: &'a S,
    /// Where connections and senders start.
    pub client: &'a C,
    /// The server's IPv4 address, as the client reaches it.
    pub server_v4: Ipv4Addr,
    /// The client's IPv4 address.
    pub client_v4: Ipv4Addr,
    /// The server's and the client's IPv6 addresses, when both have IPv6.
    pub v6: Option<(Ipv6Addr, Ipv6Addr)>,
    /// What the backends document (shared with the blocking suite).
    pub profile: Profile,
    /// The executor's timer.
    pub timer: T,
}

impl<'a, S: Stack, T: Sleep> AsyncEnv<'a, S, S, T> {
    /// Both roles on one stack, reached over 127.0.0.1 and ::1.
    pub fn loopback(stack: &'a S, profile: Profile, timer: T) -> Self {
        AsyncEnv {
            server: stack,
            client: stack,
            server_v4: Ipv4Addr::LOCALHOST,
            client_v4: Ipv4Addr::LOCALHOST,
            v6: Some((Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST)),
            profile,
            timer,
        }
    }
}

impl<S: Stack, C: Stack, T: Sleep> AsyncEnv<'_, S, C, T> {
    /// The (server, client) IP pair of one family; `None` (with a notice) without IPv6.
    pub fn ips(&self, v6: bool) -> Option<(IpAddr, IpAddr)> {
        if v6 {
            match self.v6 {
                Some((s, c)) => Some((IpAddr::V6(s), IpAddr::V6(c))),
                None => {
                    notice(format_args!("{}: no IPv6 in this setup", self.profile.name));
                    None
                }
            }
        } else {
            Some((IpAddr::V4(self.server_v4), IpAddr::V4(self.client_v4)))
        }
    }

    /// `fut`, or `None` if it has not completed after `d`.
    pub async fn timeout<F: Future>(&self, d: Duration, fut: F) -> Option<F::Output> {
        future::or(async { Some(fut.await) }, async {
            self.timer.sleep(d).await;
            None
        })
        .await
    }

    /// A connected pair: (listener, client stream, server stream).
    pub async fn pair(&self, v6: bool) -> Option<(S::TcpListener, C::TcpStream, S::TcpStream)> {
        let (server_ip, _) = self.ips(v6)?;
        let mut listener = ok(
            self.server.listen(SocketAddr::new(server_ip, 0), 8),
            "listen",
        );
        let at = ok(listener.local_addr(), "listener local_addr");
        let (client, accepted) = future::zip(self.client.connect(at), listener.accept()).await;
        let client = ok(client, "connect");
        let (server, _) = ok(accepted, "accept");
        Some((listener, client, server))
    }
}

/// Read exactly `n` bytes (failing on end of stream or error).
pub async fn read_n<T: StreamSocket>(s: &mut T, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        let k = ok(s.read(&mut buf[got..]).await, "read");
        assert_ne!(k, 0, "end of stream after {got} of {n} bytes");
        got += k;
    }
    buf
}

/// Expect end of stream (`Ok(0)`) from a read.
pub async fn expect_eof<T: StreamSocket>(s: &mut T) {
    let mut buf = [0u8; 64];
    let n = ok(s.read(&mut buf).await, "read at end of stream");
    assert_eq!(n, 0, "expected end of stream, got {:?}", &buf[..n]);
}

/// Echo over connect/listen/accept; associations; 48 KiB both ways; graceful close.
pub async fn tcp_echo<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>, v6: bool) {
    let Some((listener, mut client, mut server)) = env.pair(v6).await else {
        return;
    };
    let at = ok(listener.local_addr(), "listener local_addr");
    let ca = ok(client.association(), "client association");
    let sa = ok(server.association(), "server association");
    assert_eq!(ca.protocol, Protocol::TCP);
    assert_eq!(ca.remote, at);
    assert_eq!(sa.local, at);
    assert_eq!(sa.remote, ca.local);
    assert_eq!(ok(server.peer_addr(), "peer_addr"), ca.local);

    let msg = b"hello, async unisock";
    ok(client.write_all(msg).await, "client write");
    let got = read_n(&mut server, msg.len()).await;
    ok(server.write_all(&got).await, "server write");
    assert_eq!(read_n(&mut client, msg.len()).await, msg);

    let big: Vec<u8> = (0..48 * 1024u32).map(|i| (i % 251) as u8).collect();
    for chunk in big.chunks(4096) {
        ok(client.send_all(chunk).await, "client send_all");
        let echoed = read_n(&mut server, chunk.len()).await;
        ok(server.write_all(&echoed).await, "server write");
        assert_eq!(read_n(&mut client, chunk.len()).await, chunk);
    }
    ok(client.shutdown(Shutdown::Write), "client shutdown(Write)");
    expect_eof(&mut server).await;
    ok(server.shutdown(Shutdown::Write), "server shutdown(Write)");
    expect_eof(&mut client).await;
}

/// Bind a chosen local endpoint, then connect; unbound connects pick distinct ephemeral ports.
pub async fn bind_then_connect<S: Stack, C: Stack, T: Sleep>(
    env: &AsyncEnv<'_, S, C, T>,
    v6: bool,
) {
    let Some((server_ip, client_ip)) = env.ips(v6) else {
        return;
    };
    let mut listener = ok(
        env.server.listen(SocketAddr::new(server_ip, 0), 4),
        "listen",
    );
    let at = ok(listener.local_addr(), "local_addr");
    let a = ok(env.client.connect(at).await, "connect unbound");
    let la = ok(a.local_addr(), "local_addr");
    assert_ne!(la.port(), 0);
    assert_eq!(la.ip(), client_ip);
    let mut sock = ok(
        env.client
            .tcp_socket(if v6 { Domain::Ipv6 } else { Domain::Ipv4 }),
        "tcp_socket",
    );
    ok(sock.bind(SocketAddr::new(client_ip, 0)), "bind");
    let bound = ok(sock.local_addr(), "local_addr after bind");
    assert_ne!(bound.port(), 0);
    assert_ne!(bound, la, "two live connections share a local endpoint");
    let c = ok(sock.connect(at).await, "connect bound");
    assert_eq!(ok(c.local_addr(), "local_addr"), bound);
    let mut peers = vec![
        ok(listener.accept().await, "accept").1,
        ok(listener.accept().await, "accept").1,
    ];
    peers.sort();
    let mut want = vec![la, bound];
    want.sort();
    assert_eq!(peers, want);
}

/// A backlog of N: the admitted clients connect before any accept, the next one gets the
/// documented outcome, all admitted ones are accepted, then the listener takes new ones.
pub async fn backlog<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>) {
    const N: usize = 3;
    let (server_ip, _) = env.ips(false).expect("IPv4");
    let mut listener = ok(
        env.server.listen(SocketAddr::new(server_ip, 0), N),
        "listen",
    );
    let at = ok(listener.local_addr(), "local_addr");
    let admitted = N + env.profile.backlog_extra;
    let mut clients = Vec::new();
    for i in 0..admitted {
        let c = env
            .timeout(Duration::from_secs(5), env.client.connect(at))
            .await;
        let c = c.unwrap_or_else(|| panic!("connect #{i} within the backlog hung"));
        clients.push(ok(c, "connect within the backlog"));
    }
    let over = env
        .timeout(Duration::from_millis(700), env.client.connect(at))
        .await;
    match (over, env.profile.backlog_overflow) {
        (None, ErrorKind::TimedOut) => {}
        (Some(r), kind) if kind != ErrorKind::TimedOut => {
            assert_kind(r, kind);
        }
        (r, kind) => panic!(
            "connect beyond the backlog: expected {kind:?}, got {}",
            match r {
                None => "no answer".to_string(),
                Some(Ok(_)) => "a connection".to_string(),
                Some(Err(e)) => format!("{e}"),
            }
        ),
    }
    let mut peers = Vec::new();
    for _ in 0..admitted {
        peers.push(ok(listener.accept().await, "accept").1);
    }
    let mut locals: Vec<SocketAddr> = clients
        .iter()
        .map(|c| ok(c.local_addr(), "local_addr"))
        .collect();
    peers.sort();
    locals.sort();
    assert_eq!(peers, locals, "every queued client accepted exactly once");
    let (late, accepted) = future::zip(env.client.connect(at), listener.accept()).await;
    let late = ok(late, "connect after drain");
    assert_eq!(
        ok(accepted, "accept after drain").1,
        ok(late.local_addr(), "local_addr")
    );
}

/// Half-close: the server reads end of stream after the client's shutdown(Write); the other
/// direction still flows.
pub async fn half_close<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>) {
    let Some((_l, mut client, mut server)) = env.pair(false).await else {
        return;
    };
    ok(client.write_all(b"request").await, "client write");
    ok(client.shutdown(Shutdown::Write), "shutdown(Write)");
    assert_eq!(read_n(&mut server, 7).await, b"request");
    expect_eof(&mut server).await;
    expect_eof(&mut server).await;
    assert_kind_in(
        client.write(b"x").await,
        &[ErrorKind::BrokenPipe, ErrorKind::NotConnected],
    );
    ok(
        server.write_all(b"response after half-close").await,
        "write",
    );
    assert_eq!(read_n(&mut client, 25).await, b"response after half-close");
    ok(server.shutdown(Shutdown::Both), "server shutdown(Both)");
    expect_eof(&mut client).await;
}

/// Dropping a stream with data still queued closes it gracefully: the peer reads every byte,
/// then end of stream (no reset). The data is written before the peer reads anything, so part
/// of it is still in the dropped stream's send queue (or in flight) when it is dropped.
pub async fn drop_delivers_queued_data<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>) {
    let Some((_l, mut client, mut server)) = env.pair(false).await else {
        return;
    };
    // Below the smallest send buffer the suite runs with (4 KiB on the firmware), so that the
    // write completes without the peer reading.
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    ok(client.write_all(&data).await, "client write");
    drop(client);
    assert!(
        read_n(&mut server, data.len()).await == data,
        "data after the drop differs"
    );
    expect_eof(&mut server).await;
}

/// shutdown(Read): reads return end of stream at once; writing still works.
pub async fn shutdown_read<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>) {
    let Some((_l, mut client, mut server)) = env.pair(false).await else {
        return;
    };
    ok(client.shutdown(Shutdown::Read), "shutdown(Read)");
    let eof = env
        .timeout(Duration::from_secs(2), expect_eof(&mut client))
        .await;
    assert!(eof.is_some(), "read after shutdown(Read) waited");
    ok(server.write_all(b"discarded").await, "server write");
    env.timer.sleep(Duration::from_millis(50)).await;
    expect_eof(&mut client).await;
    ok(client.write_all(b"still writes").await, "client write");
    assert_eq!(read_n(&mut server, 12).await, b"still writes");
}

/// Abort: the peer's next read fails with `ConnectionReset`.
pub async fn abort_resets_peer<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>) {
    let Some((_l, mut client, mut server)) = env.pair(false).await else {
        return;
    };
    ok(client.write_all(b"x").await, "write");
    assert_eq!(read_n(&mut server, 1).await, b"x");
    ok(client.abort(), "abort");
    let mut buf = [0u8; 16];
    assert_kind(server.read(&mut buf).await, ErrorKind::ConnectionReset);
}

/// PEEK does not consume; WAITALL fills the buffer across segments written 100 ms apart.
pub async fn peek_and_waitall<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>) {
    let Some((_l, mut client, mut server)) = env.pair(false).await else {
        return;
    };
    ok(client.write_all(b"abcdef").await, "write");
    let mut buf = [0u8; 6];
    let n = ok(
        server
            .recv(&mut buf, RecvFlags::PEEK | RecvFlags::WAITALL)
            .await,
        "recv(PEEK|WAITALL)",
    );
    assert_eq!(&buf[..n], b"abcdef");
    let mut small = [0u8; 3];
    assert_eq!(
        ok(server.recv(&mut small, RecvFlags::PEEK).await, "PEEK"),
        3
    );
    assert_eq!(&small, b"abc");
    assert_eq!(
        read_n(&mut server, 6).await,
        b"abcdef",
        "PEEK consumed data"
    );

    let writer = async {
        ok(client.write_all(b"1234").await, "write");
        env.timer.sleep(Duration::from_millis(100)).await;
        ok(client.write_all(b"5678").await, "write");
    };
    let mut all = [0u8; 8];
    let (_, n) = future::zip(writer, server.recv(&mut all, RecvFlags::WAITALL)).await;
    let n = ok(n, "recv(WAITALL)");
    assert_eq!(&all[..n], b"12345678");
}

/// Connecting to a port nobody listens on: `ConnectionRefused`.
pub async fn connect_refused<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>, v6: bool) {
    let Some((server_ip, _)) = env.ips(v6) else {
        return;
    };
    let at = {
        let l = ok(
            env.server.listen(SocketAddr::new(server_ip, 0), 1),
            "listen",
        );
        ok(l.local_addr(), "local_addr")
    };
    assert_kind(env.client.connect(at).await, ErrorKind::ConnectionRefused);
}

async fn udp_pair<S: Stack, C: Stack, T: Sleep>(
    env: &AsyncEnv<'_, S, C, T>,
    v6: bool,
) -> Option<(S::UdpSocket, C::UdpSocket)> {
    let (server_ip, client_ip) = env.ips(v6)?;
    let a = ok(env.server.bind_udp(SocketAddr::new(server_ip, 0)), "bind");
    let b = ok(env.client.bind_udp(SocketAddr::new(client_ip, 0)), "bind");
    Some((a, b))
}

/// Datagram round trip, peek, the sender's address; nothing more to receive afterwards.
pub async fn udp_round_trip<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>, v6: bool) {
    let Some((mut a, mut b)) = udp_pair(env, v6).await else {
        return;
    };
    let at = ok(a.local_addr(), "local_addr");
    let from_b = ok(b.local_addr(), "local_addr");
    assert_eq!(
        ok(b.send_to(b"ping", at, SendFlags::NONE).await, "send_to"),
        4
    );
    let mut buf = [0u8; 64];
    let peeked = ok(a.recv_from(&mut buf, RecvFlags::PEEK).await, "PEEK");
    assert_eq!((&buf[..peeked.len], peeked.from), (&b"ping"[..], from_b));
    let meta = ok(a.recv_from(&mut buf, RecvFlags::NONE).await, "recv_from");
    assert_eq!(
        (&buf[..meta.len], meta.from, meta.truncated()),
        (&b"ping"[..], from_b, false)
    );
    ok(
        a.send_to(b"pong", meta.from, SendFlags::NONE).await,
        "reply",
    );
    let back = ok(b.recv_from(&mut buf, RecvFlags::NONE).await, "recv reply");
    assert_eq!((&buf[..back.len], back.from), (&b"pong"[..], at));
    let more = env
        .timeout(
            Duration::from_millis(50),
            a.recv_from(&mut buf, RecvFlags::NONE),
        )
        .await;
    assert!(more.is_none(), "a datagram appeared from nowhere");
    assert_kind(a.peer_addr(), ErrorKind::NotConnected);
}

/// A datagram longer than the buffer: truncated, full length reported, rest discarded.
pub async fn udp_truncation<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>) {
    let Some((mut a, mut b)) = udp_pair(env, false).await else {
        return;
    };
    let at = ok(a.local_addr(), "local_addr");
    let long: Vec<u8> = (0..100u8).collect();
    ok(b.send_to(&long, at, SendFlags::NONE).await, "send_to");
    ok(b.send_to(b"next", at, SendFlags::NONE).await, "send_to");
    let mut small = [0u8; 10];
    let meta = ok(a.recv_from(&mut small, RecvFlags::NONE).await, "recv");
    assert_eq!((meta.len, meta.full_len, meta.truncated()), (10, 100, true));
    assert_eq!(&small[..], &long[..10]);
    let mut buf = [0u8; 128];
    let next = ok(a.recv_from(&mut buf, RecvFlags::NONE).await, "recv");
    assert_eq!(&buf[..next.len], b"next");
}

/// A connected datagram socket receives only from its peer; `send` goes to it.
pub async fn udp_connected_filtering<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>) {
    let Some((mut a, mut b)) = udp_pair(env, false).await else {
        return;
    };
    let (_, client_ip) = env.ips(false).expect("IPv4");
    let mut stranger = ok(env.client.bind_udp(SocketAddr::new(client_ip, 0)), "bind");
    let at = ok(a.local_addr(), "local_addr");
    let b_addr = ok(b.local_addr(), "local_addr");
    ok(a.connect(b_addr), "connect");
    ok(
        stranger.send_to(b"stranger", at, SendFlags::NONE).await,
        "send_to",
    );
    ok(
        b.send_to(b"from the peer", at, SendFlags::NONE).await,
        "send_to",
    );
    let mut buf = [0u8; 64];
    let meta = ok(a.recv(&mut buf, RecvFlags::NONE).await, "recv");
    assert_eq!(
        (&buf[..meta.len], meta.from),
        (&b"from the peer"[..], b_addr)
    );
    let more = env
        .timeout(Duration::from_millis(50), a.recv(&mut buf, RecvFlags::NONE))
        .await;
    assert!(more.is_none(), "the stranger's datagram got through");
    ok(a.send(b"reply", SendFlags::NONE).await, "send to the peer");
    let back = ok(b.recv_from(&mut buf, RecvFlags::NONE).await, "recv_from");
    assert_eq!((&buf[..back.len], back.from), (&b"reply"[..], at));
}

/// A split datagram socket ([`SplitDatagram`]): the receive half waits (`readable`, then
/// `recv_from`) while the send half sends, and what it waits for is the peer's echo of that
/// send, so the two halves must run at once. The send half's `send` reaches a connected
/// socket's peer, and is `NotConnected` on a socket without one.
pub async fn udp_split<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>)
where
    S::UdpSocket: SplitDatagram,
    C::UdpSocket: SplitDatagram,
{
    let Some((mut a, mut b)) = udp_pair(env, false).await else {
        return;
    };
    let at = ok(a.local_addr(), "local_addr");
    let b_addr = ok(b.local_addr(), "local_addr");
    ok(b.connect(at), "connect");
    let mut got = [0u8; 16];
    let (mut rx, mut tx) = a.split();
    assert_kind(
        tx.send(b"x", SendFlags::NONE).await,
        ErrorKind::NotConnected,
    );
    let receiving = async {
        ok(rx.readable().await, "readable");
        ok(rx.recv_from(&mut got, RecvFlags::NONE).await, "recv_from")
    };
    let sending = async {
        ok(
            tx.send_to(b"hello", b_addr, SendFlags::NONE).await,
            "send_to",
        )
    };
    let echoing = async {
        let (mut b_rx, mut b_tx) = b.split();
        let mut buf = [0u8; 16];
        let m = ok(b_rx.recv_from(&mut buf, RecvFlags::NONE).await, "echo recv");
        assert_eq!(m.from, at);
        ok(
            b_tx.send(&buf[..m.len], SendFlags::NONE).await,
            "echo send to the peer",
        );
    };
    let ((meta, sent), ()) = future::zip(future::zip(receiving, sending), echoing).await;
    assert_eq!(sent, 5);
    assert_eq!((&got[..meta.len], meta.from), (&b"hello"[..], b_addr));
}

/// `localhost` resolves to loopback addresses; literals come back unchanged.
pub async fn resolve_localhost<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>) {
    let lit = ok(env.client.resolve("192.0.2.7").await, "resolve a literal");
    assert_eq!(&lit[..], &[IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))]);
    if !env.profile.resolves_localhost {
        notice(format_args!(
            "{}: no localhost in this setup",
            env.profile.name
        ));
        return;
    }
    let addrs = ok(env.client.resolve("localhost").await, "resolve localhost");
    assert!(!addrs.is_empty());
    assert!(
        addrs.iter().all(|a| a.is_loopback()),
        "localhost -> {addrs:?}"
    );
}

/// `make_connection` reaches a listener by literal and by name; bad targets are
/// `InvalidInput`.
pub async fn make_connection_cases<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>) {
    let (server_ip, _) = env.ips(false).expect("IPv4");
    let mut listener = ok(
        env.server.listen(SocketAddr::new(server_ip, 0), 8),
        "listen",
    );
    let port = ok(listener.local_addr(), "local_addr").port();
    let mut targets = vec![format!("{server_ip}:{port}")];
    if env.profile.resolves_localhost && server_ip.is_loopback() {
        targets.push(format!("localhost:{port}"));
    }
    for target in &targets {
        let mut c = ok(
            unisock::asynch::make_connection(env.client, target, 80).await,
            target,
        );
        let (mut s, peer) = ok(listener.accept().await, "accept");
        assert_eq!(peer, ok(c.local_addr(), "local_addr"));
        ok(c.write_all(target.as_bytes()).await, "write");
        assert_eq!(read_n(&mut s, target.len()).await, target.as_bytes());
    }
    for bad in [
        "",
        ":80",
        "localhost:0",
        "localhost:65536",
        "[::1",
        "bad host:80",
    ] {
        let e = assert_kind(
            unisock::asynch::make_connection(env.client, bad, 80).await,
            ErrorKind::InvalidInput,
        );
        assert!(
            matches!(e, unisock::MakeConnectionError::Target(_)),
            "{bad:?}: {e}"
        );
    }
}

/// Wake-up correctness: 5,000 one-byte ping-pong rounds between two concurrent futures, then
/// 8 MiB one way and back (send buffers fill, so writers wait on writability). Strict
/// alternation means a lost wake-up leaves both sides waiting: the test's timeout fails it.
pub async fn wakeups_ping_pong<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>) {
    const ROUNDS: usize = 5_000;
    let Some((_l, mut client, mut server)) = env.pair(false).await else {
        return;
    };
    let pinger = async {
        let mut b = [0u8; 1];
        for i in 0..ROUNDS {
            ok(client.write_all(&[i as u8]).await, "ping");
            ok(
                client.read_exact(&mut b).await.map_err(read_exact_err),
                "pong",
            );
            assert_eq!(b[0], (i as u8).wrapping_add(1), "round {i}");
        }
        client
    };
    let ponger = async {
        let mut b = [0u8; 1];
        for _ in 0..ROUNDS {
            ok(
                server.read_exact(&mut b).await.map_err(read_exact_err),
                "ping",
            );
            ok(server.write_all(&[b[0].wrapping_add(1)]).await, "pong");
        }
        server
    };
    let (mut client, mut server) = future::zip(pinger, ponger).await;

    const BULK: usize = 8 << 20;
    future::zip(
        send_pattern(&mut client, BULK),
        expect_pattern(&mut server, BULK, "server"),
    )
    .await;
    future::zip(
        send_pattern(&mut server, BULK),
        expect_pattern(&mut client, BULK, "client"),
    )
    .await;
}

/// Byte `i` of the bulk pattern of [`wakeups_ping_pong`].
fn pattern(i: usize) -> u8 {
    (i * 7 % 253) as u8
}

/// Send `n` bytes of [`pattern`] in 16 KiB writes (the writer waits on writability whenever
/// the peer lags), generated as they go: no buffer of the whole transfer (the firmware that
/// runs these scenarios has 4 MiB of RAM).
async fn send_pattern<T: StreamSocket>(s: &mut T, n: usize) {
    let mut chunk = vec![0u8; 16 * 1024];
    let mut sent = 0;
    while sent < n {
        let k = chunk.len().min(n - sent);
        for (j, b) in chunk[..k].iter_mut().enumerate() {
            *b = pattern(sent + j);
        }
        ok(s.write_all(&chunk[..k]).await, "write");
        sent += k;
    }
}

/// Read exactly `n` bytes and check each against [`pattern`] as it arrives.
async fn expect_pattern<T: StreamSocket>(s: &mut T, n: usize, who: &str) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut got = 0;
    while got < n {
        let want = buf.len().min(n - got);
        let k = ok(s.read(&mut buf[..want]).await, "read");
        assert_ne!(k, 0, "{who}: end of stream after {got} of {n} bytes");
        for (j, &b) in buf[..k].iter().enumerate() {
            assert_eq!(
                b,
                pattern(got + j),
                "{who} received corrupted data at byte {}",
                got + j
            );
        }
        got += k;
    }
}

fn read_exact_err<E>(e: unisock::asynch::embedded_io_async::ReadExactError<E>) -> E
where
    E: unisock::Error,
{
    match e {
        unisock::asynch::embedded_io_async::ReadExactError::Other(e) => e,
        unisock::asynch::embedded_io_async::ReadExactError::UnexpectedEof => {
            panic!("unexpected end of stream")
        }
    }
}

/// Cancellation: a dropped pending accept, read, recv_from and connect leave no socket behind
/// and no state half-changed: the connection is still accepted later, no data is lost, the
/// stream still works, and the open-socket count comes back.
pub async fn cancellation<S: Stack, C: Stack, T: Sleep>(env: &AsyncEnv<'_, S, C, T>) {
    let (server_ip, client_ip) = env.ips(false).expect("IPv4");
    let start = env.client.open_sockets();
    let mut listener = ok(
        env.server.listen(SocketAddr::new(server_ip, 0), 4),
        "listen",
    );
    let at = ok(listener.local_addr(), "local_addr");

    // accept: pending with nothing queued, dropped; the next connection is still accepted.
    assert!(
        future::poll_once(listener.accept()).await.is_none(),
        "accept completed with no client"
    );
    let mut client = ok(env.client.connect(at).await, "connect");
    let (mut server, peer) = ok(listener.accept().await, "accept after a dropped accept");
    assert_eq!(peer, ok(client.local_addr(), "local_addr"));

    // read: pending, dropped, then data arrives: the next read gets all of it.
    let mut buf = [0u8; 16];
    assert!(
        future::poll_once(server.read(&mut buf)).await.is_none(),
        "read completed with no data"
    );
    ok(client.write_all(b"not lost").await, "write");
    assert_eq!(read_n(&mut server, 8).await, b"not lost");
    // A read dropped after timing out, and the stream still works both ways.
    let timed = env
        .timeout(Duration::from_millis(20), server.read(&mut buf))
        .await;
    assert!(timed.is_none(), "read completed with no data");
    ok(
        server.write_all(b"still works").await,
        "write after a dropped read",
    );
    assert_eq!(read_n(&mut client, 11).await, b"still works");
    ok(client.write_all(b"again").await, "write");
    assert_eq!(read_n(&mut server, 5).await, b"again");

    // recv_from: pending, dropped; the datagram sent afterwards is received whole.
    let mut u = ok(env.server.bind_udp(SocketAddr::new(server_ip, 0)), "bind");
    let u_at = ok(u.local_addr(), "local_addr");
    assert!(
        future::poll_once(u.recv_from(&mut buf, RecvFlags::NONE))
            .await
            .is_none()
    );
    let mut v = ok(env.client.bind_udp(SocketAddr::new(client_ip, 0)), "bind");
    ok(
        v.send_to(b"datagram", u_at, SendFlags::NONE).await,
        "send_to",
    );
    let meta = ok(u.recv_from(&mut buf, RecvFlags::NONE).await, "recv_from");
    assert_eq!(&buf[..meta.len], b"datagram");

    // connect: dropped before it completes (or right after; loopback may be instant): the
    // socket it was connecting is closed.
    let before = env.client.open_sockets();
    let pending = future::poll_once(env.client.connect(at)).await;
    drop(pending);
    // Drain whatever reached the accept queue.
    let _ = env
        .timeout(Duration::from_millis(100), listener.accept())
        .await;
    // A connection the handshake had already completed closes gracefully (FIN), as the
    // kernel's does: give it a bounded moment to finish closing.
    for _ in 0..200 {
        if env.client.open_sockets() == before {
            break;
        }
        env.timer.sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        env.client.open_sockets(),
        before,
        "a dropped connect left a socket open"
    );

    // connect that surely waits (where the backlog overflow is a dropped SYN: the connect
    // hangs until the timeout), cancelled by the timeout: no socket left behind.
    if env.profile.backlog_overflow == ErrorKind::TimedOut {
        let full = ok(
            env.server.listen(SocketAddr::new(server_ip, 0), 1),
            "listen",
        );
        let full_at = ok(full.local_addr(), "local_addr");
        let mut queued = Vec::new();
        for _ in 0..1 + env.profile.backlog_extra {
            queued.push(ok(
                env.client.connect(full_at).await,
                "connect within the backlog",
            ));
        }
        let before = env.client.open_sockets();
        let waited = env
            .timeout(Duration::from_millis(200), env.client.connect(full_at))
            .await;
        assert!(
            waited.is_none(),
            "a connect beyond the full backlog completed"
        );
        assert_eq!(
            env.client.open_sockets(),
            before,
            "a cancelled pending connect left a socket open"
        );
        drop((queued, full));
    }

    drop((client, server, u, v, listener));
    let settled = env
        .timeout(Duration::from_secs(5), async {
            while env.client.open_sockets() > start {
                env.timer.sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
    assert!(settled.is_some(), "sockets left open after cancellation");
}
