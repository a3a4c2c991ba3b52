//! The scenarios: written once, generic over the stacks, run against every backend.
//!
//! Each scenario takes an [`Env`]: a server stack (where listeners and receivers live), a client
//! stack (where connections start), the addresses by which the client reaches the server, and
//! the [`Profile`] of what the backends document where BSD leaves room. On an in-process setup
//! both stacks are the same one; across a TAP device one is smoltcp and the other the Linux
//! kernel.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use unisock::embedded_io::{Read, Write, WriteReady};
use unisock::poll::{AsSource, Interest, PollItem, Ready};
use unisock::prelude::*;
use unisock::{
    DatagramSocket, RecvSlot, SendMsg, Socket, Stack, StreamListener, StreamSocket, TcpSocket,
    make_connection,
};

use crate::util::{LeakCheck, assert_kind, assert_kind_in, counter, ok, skip};

/// A generous bound on every blocking call of a scenario, so a bug fails the test instead of
/// hanging it.
pub const GUARD: Duration = Duration::from_secs(10);

pub use crate::check::Profile;

/// The stacks and addresses a scenario runs on.
pub struct Env<'a, S, C> {
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
    /// What the backends document.
    pub profile: Profile,
}

impl<'a, S: Stack> Env<'a, S, S> {
    /// Both roles on one stack, reached over 127.0.0.1 and ::1.
    pub fn loopback(stack: &'a S, profile: Profile) -> Self {
        Env {
            server: stack,
            client: stack,
            server_v4: Ipv4Addr::LOCALHOST,
            client_v4: Ipv4Addr::LOCALHOST,
            v6: Some((Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST)),
            profile,
        }
    }
}

impl<S: Stack, C: Stack> Env<'_, S, C> {
    /// Run one scenario under the leak check: both stacks' open-socket counts must come back
    /// to their starting values within `settle` after it ends. Tests that count sockets hold
    /// [`serial`](crate::util::serial) while they run.
    pub fn run_checked(&self, settle: Duration, scenario: impl FnOnce(&Self)) {
        let (server, client) = (counter(self.server), counter(self.client));
        let leaks = LeakCheck::new(&[("server stack", &server), ("client stack", &client)]);
        scenario(self);
        leaks.finish(settle);
    }

    /// The (server, client) IP pair of one family; `None` (with a notice) if the setup has no
    /// IPv6.
    pub fn ips(&self, v6: bool) -> Option<(IpAddr, IpAddr)> {
        if v6 {
            match self.v6 {
                Some((s, c)) => Some((IpAddr::V6(s), IpAddr::V6(c))),
                None => {
                    eprintln!("{}: no IPv6 in this setup", self.profile.name);
                    None
                }
            }
        } else {
            Some((IpAddr::V4(self.server_v4), IpAddr::V4(self.client_v4)))
        }
    }

    /// A connected pair: (listener, client stream, server stream), with guard timeouts set.
    pub fn pair(&self, v6: bool) -> Option<(S::TcpListener, C::TcpStream, S::TcpStream)> {
        let (server_ip, _) = self.ips(v6)?;
        let mut listener = listen_guarded(self.server, server_ip, 8);
        let at = ok(listener.local_addr(), "listener local_addr");
        let mut client = ok(self.client.connect(at), "connect");
        let (mut server, _) = ok(listener.accept(), "accept");
        guard(&mut client);
        guard(&mut server);
        Some((listener, client, server))
    }
}

/// Listen on `ip` (ephemeral port) with the guard timeout on `accept`.
#[track_caller]
pub fn listen_guarded<S: Stack>(stack: &S, ip: IpAddr, backlog: usize) -> S::TcpListener {
    let mut listener = ok(stack.listen(SocketAddr::new(ip, 0), backlog), "listen");
    ok(
        listener.set_option(SockOpt::ReadTimeout(Some(GUARD))),
        "accept timeout",
    );
    listener
}

/// Set the guard timeouts on a stream.
pub fn guard<T: StreamSocket>(s: &mut T) {
    ok(
        s.set_option(SockOpt::ReadTimeout(Some(GUARD))),
        "set read timeout",
    );
    ok(
        s.set_option(SockOpt::WriteTimeout(Some(GUARD))),
        "set write timeout",
    );
}

/// Read exactly `n` bytes (failing the test on end of stream or error).
#[track_caller]
pub fn read_n<T: StreamSocket>(s: &mut T, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        let k = ok(s.read(&mut buf[got..]), "read");
        assert_ne!(k, 0, "end of stream after {got} of {n} bytes");
        got += k;
    }
    buf
}

/// Expect end of stream (`Ok(0)`) from a read.
#[track_caller]
pub fn expect_eof<T: StreamSocket>(s: &mut T) {
    let mut buf = [0u8; 64];
    let n = ok(s.read(&mut buf), "read at end of stream");
    assert_eq!(n, 0, "expected end of stream, got {:?}", &buf[..n]);
}

/// Echo over connect/listen/accept; association reporting on both ends; graceful close.
pub fn tcp_echo<S: Stack, C: Stack>(env: &Env<S, C>, v6: bool) {
    let Some((listener, mut client, mut server)) = env.pair(v6) else {
        return;
    };
    let at = ok(listener.local_addr(), "listener local_addr");
    let ca = ok(client.association(), "client association");
    let sa = ok(server.association(), "server association");
    assert_eq!(ca.protocol, Protocol::TCP);
    assert_eq!(ca.remote, at, "client's remote is the listener's endpoint");
    assert_eq!(
        sa.local, at,
        "accepted stream's local is the listener's endpoint"
    );
    assert_eq!(
        sa.remote, ca.local,
        "each end's remote is the other's local"
    );
    assert_eq!(ok(server.peer_addr(), "peer_addr"), ca.local);
    assert!(ca.to_string().starts_with("tcp "), "{ca}");

    let msg = b"hello, unisock";
    ok(client.write_all(msg), "client write");
    let got = read_n(&mut server, msg.len());
    ok(server.write_all(&got), "server write");
    assert_eq!(read_n(&mut client, msg.len()), msg);

    // A larger transfer, in both directions, checked byte for byte.
    let big: Vec<u8> = (0..48 * 1024u32).map(|i| (i % 251) as u8).collect();
    for chunk in big.chunks(4096) {
        ok(client.write_all(chunk), "client write");
        let echoed = read_n(&mut server, chunk.len());
        ok(server.write_all(&echoed), "server write");
        assert_eq!(read_n(&mut client, chunk.len()), chunk);
    }

    ok(client.shutdown(Shutdown::Write), "client shutdown(Write)");
    expect_eof(&mut server);
    ok(server.shutdown(Shutdown::Write), "server shutdown(Write)");
    expect_eof(&mut client);
}

/// The step-by-step BSD form: create, bind a chosen local endpoint, then connect; and connect
/// without bind picks an ephemeral port.
pub fn bind_then_connect_and_ephemeral_ports<S: Stack, C: Stack>(env: &Env<S, C>, v6: bool) {
    let Some((server_ip, client_ip)) = env.ips(v6) else {
        return;
    };
    let mut listener = listen_guarded(env.server, server_ip, 4);
    let at = ok(listener.local_addr(), "local_addr");

    // Unbound connect: auto-bind to an ephemeral port and a local address that reaches `at`.
    let a = ok(env.client.connect(at), "connect unbound");
    let la = ok(a.local_addr(), "local_addr");
    assert_ne!(la.port(), 0, "auto-bind picked no port");
    assert_eq!(
        la.ip(),
        client_ip,
        "auto-bind picked the wrong local address"
    );
    let b = ok(env.client.connect(at), "second connect unbound");
    let lb = ok(b.local_addr(), "local_addr");
    assert_ne!(la, lb, "two live connections share a local endpoint");

    // Explicit bind before connect.
    let mut sock = ok(
        env.client
            .tcp_socket(if v6 { Domain::Ipv6 } else { Domain::Ipv4 }),
        "tcp_socket",
    );
    ok(sock.bind(SocketAddr::new(client_ip, 0)), "bind");
    let bound = ok(sock.local_addr(), "local_addr after bind");
    assert_eq!(bound.ip(), client_ip);
    assert_ne!(bound.port(), 0, "bind to port 0 picked no port");
    let c = ok(sock.connect(at), "connect bound");
    assert_eq!(
        ok(c.local_addr(), "local_addr"),
        bound,
        "connect moved the bound endpoint"
    );
    let assoc = ok(c.association(), "association");
    assert_eq!((assoc.local, assoc.remote), (bound, at));

    let mut peers = Vec::new();
    for _ in 0..3 {
        peers.push(ok(listener.accept(), "accept").1);
    }
    peers.sort();
    let mut want = vec![la, lb, bound];
    want.sort();
    assert_eq!(peers, want, "accepted peers are the connected clients");
}

/// A backlog of N: N clients connect before the first accept and all are accepted; the client
/// beyond what the backend documents gets the documented outcome; after accepting, new clients
/// connect again.
pub fn backlog<S: Stack, C: Stack>(env: &Env<S, C>) {
    const N: usize = 3;
    let (server_ip, _) = env.ips(false).expect("IPv4 is always present");
    let mut listener = listen_guarded(env.server, server_ip, N);
    let at = ok(listener.local_addr(), "local_addr");

    let admitted = N + env.profile.backlog_extra;
    let mut clients = Vec::new();
    for i in 0..admitted {
        let c = ok(
            env.client.connect_timeout(at, Duration::from_secs(5)),
            &format!("connect #{i} within the backlog"),
        );
        clients.push(c);
    }
    let over = env.client.connect_timeout(at, Duration::from_millis(700));
    assert_kind(over, env.profile.backlog_overflow);

    let mut peers = Vec::new();
    for _ in 0..admitted {
        let (mut s, peer) = ok(listener.accept(), "accept");
        guard(&mut s);
        peers.push(peer);
    }
    let mut locals: Vec<SocketAddr> = clients
        .iter()
        .map(|c| ok(c.local_addr(), "local_addr"))
        .collect();
    peers.sort();
    locals.sort();
    assert_eq!(
        peers, locals,
        "every queued client was accepted exactly once"
    );
    assert_kind(listener.try_accept(), ErrorKind::WouldBlock);

    // With the queue drained, the listener takes new connections again.
    let late = ok(
        env.client.connect_timeout(at, Duration::from_secs(5)),
        "connect after drain",
    );
    let (_, peer) = ok(listener.accept(), "accept after drain");
    assert_eq!(peer, ok(late.local_addr(), "local_addr"));
}

/// A non-blocking connect returns at once; `write_ready` turns true when the handshake is
/// done; to a closed port the failure is reported by the next call as `ConnectionRefused`.
pub fn connect_nonblocking<S: Stack, C: Stack>(env: &Env<S, C>) {
    let (server_ip, _) = env.ips(false).expect("IPv4");
    let domain = Domain::Ipv4;
    let mut listener = listen_guarded(env.server, server_ip, 4);
    let at = ok(listener.local_addr(), "local_addr");

    let sock = ok(env.client.tcp_socket(domain), "tcp_socket");
    let mut c = ok(sock.connect_nonblocking(at), "connect_nonblocking");
    let ready = crate::util::wait_until(GUARD, || ok(c.write_ready(), "write_ready"));
    assert!(ready, "the handshake never finished");
    assert_eq!(ok(c.try_write(b"nb connect"), "try_write"), 10);
    let (mut s, peer) = ok(listener.accept(), "accept");
    guard(&mut s);
    assert_eq!(peer, ok(c.local_addr(), "local_addr"));
    assert_eq!(read_n(&mut s, 10), b"nb connect");

    // To a closed port: the refusal comes with the next call once the handshake failed.
    let closed = {
        let l = ok(
            env.server.listen(SocketAddr::new(server_ip, 0), 1),
            "listen",
        );
        ok(l.local_addr(), "local_addr")
    };
    let sock = ok(env.client.tcp_socket(domain), "tcp_socket");
    let mut r = ok(sock.connect_nonblocking(closed), "connect_nonblocking");
    let finished = crate::util::wait_until(GUARD, || r.write_ready().unwrap_or(true));
    assert!(finished, "the refused handshake never finished");
    let mut buf = [0u8; 4];
    assert_kind(r.try_read(&mut buf), ErrorKind::ConnectionRefused);
}

/// Two listeners on one endpoint: the second gets `AddrInUse`.
pub fn two_listeners_addr_in_use<S: Stack, C: Stack>(env: &Env<S, C>, v6: bool) {
    let Some((server_ip, _)) = env.ips(v6) else {
        return;
    };
    let first = ok(
        env.server.listen(SocketAddr::new(server_ip, 0), 4),
        "listen",
    );
    let at = ok(first.local_addr(), "local_addr");
    assert_kind(env.server.listen(at, 4), ErrorKind::AddrInUse);
    // The first listener is unharmed.
    let _c = ok(env.client.connect(at), "connect to the first listener");
}

/// Half-close: after the client's shutdown(Write) the server reads end of stream, and the
/// other direction still flows.
pub fn half_close<S: Stack, C: Stack>(env: &Env<S, C>) {
    let Some((_l, mut client, mut server)) = env.pair(false) else {
        return;
    };
    ok(client.write_all(b"request"), "client write");
    ok(client.shutdown(Shutdown::Write), "shutdown(Write)");
    assert_eq!(read_n(&mut server, 7), b"request");
    expect_eof(&mut server);
    expect_eof(&mut server); // end of stream is sticky
    // The client can no longer write...
    assert_kind_in(
        client.write(b"x"),
        &[ErrorKind::BrokenPipe, ErrorKind::NotConnected],
    );
    // ...but still reads what the server sends after the half-close.
    ok(
        server.write_all(b"response after half-close"),
        "server write",
    );
    assert_eq!(read_n(&mut client, 25), b"response after half-close");
    ok(
        client.shutdown(Shutdown::Write),
        "second shutdown(Write) is not an error",
    );
    ok(server.shutdown(Shutdown::Both), "server shutdown(Both)");
    expect_eof(&mut client);
}

/// shutdown(Read): reads return end of stream at once, later data is discarded, writing still
/// works.
pub fn shutdown_read<S: Stack, C: Stack>(env: &Env<S, C>) {
    let Some((_l, mut client, mut server)) = env.pair(false) else {
        return;
    };
    ok(client.shutdown(Shutdown::Read), "shutdown(Read)");
    let t = Instant::now();
    expect_eof(&mut client);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "read after shutdown(Read) blocked"
    );
    ok(
        server.write_all(b"discarded"),
        "server write after the client's shutdown(Read)",
    );
    std::thread::sleep(Duration::from_millis(50));
    expect_eof(&mut client);
    ok(
        client.write_all(b"still writes"),
        "client write after shutdown(Read)",
    );
    assert_eq!(read_n(&mut server, 12), b"still writes");
}

/// Abort: the peer's next read fails with `ConnectionReset`.
pub fn abort_resets_peer<S: Stack, C: Stack>(env: &Env<S, C>) {
    let Some((_l, mut client, mut server)) = env.pair(false) else {
        return;
    };
    ok(client.write_all(b"x"), "write");
    assert_eq!(read_n(&mut server, 1), b"x");
    ok(client.abort(), "abort");
    let mut buf = [0u8; 16];
    assert_kind(server.read(&mut buf), ErrorKind::ConnectionReset);
}

/// Peek does not consume; WAITALL fills the whole buffer across separate segments.
pub fn peek_and_waitall<S: Stack, C: Stack>(env: &Env<S, C>)
where
    C::TcpStream: Send,
{
    let Some((_l, mut client, mut server)) = env.pair(false) else {
        return;
    };
    ok(client.write_all(b"abcdef"), "write");
    let mut buf = [0u8; 16];
    let seen = crate::util::wait_until(GUARD, || {
        ok(server.recv(&mut buf, RecvFlags::PEEK), "recv(PEEK)") == 6
    });
    assert!(seen, "the 6 bytes never became visible to PEEK");
    assert_eq!(&buf[..6], b"abcdef");
    let mut small = [0u8; 3];
    assert_eq!(
        ok(server.recv(&mut small, RecvFlags::PEEK), "recv(PEEK)"),
        3
    );
    assert_eq!(&small, b"abc");
    assert_eq!(read_n(&mut server, 6), b"abcdef", "PEEK consumed data");

    // WAITALL: the second half is written 100 ms later, yet one recv returns all 8 bytes.
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || {
            ok(client.write_all(b"1234"), "write");
            std::thread::sleep(Duration::from_millis(100));
            ok(client.write_all(b"5678"), "write");
            client
        });
        let mut all = [0u8; 8];
        let n = ok(server.recv(&mut all, RecvFlags::WAITALL), "recv(WAITALL)");
        assert_eq!(&all[..n], b"12345678");
        let mut client = writer.join().expect("writer thread");
        // peek_at_end_of_stream_is_zero: after the peer's FIN, PEEK reports end of stream
        // (Ok(0)) as a read does, not "no data yet" (smoltcp's peek skipped its state check).
        ok(client.shutdown(Shutdown::Write), "shutdown(Write)");
        let eof = crate::util::wait_until(GUARD, || {
            matches!(server.try_recv(&mut buf, RecvFlags::PEEK), Ok(0))
        });
        assert!(
            eof,
            "PEEK never reported end of stream after the peer's FIN"
        );
        assert_eq!(ok(server.recv(&mut buf, RecvFlags::NONE), "recv"), 0);
    });
}

/// Urgent data: a round trip where both stacks support it; `Unsupported` from a stack that
/// does not.
pub fn urgent_data<S: Stack, C: Stack>(env: &Env<S, C>) {
    let Some((_l, mut client, mut server)) = env.pair(false) else {
        return;
    };
    let p = env.profile;
    if !p.client_urgent {
        assert_kind(client.send(b"!", SendFlags::OOB), ErrorKind::Unsupported);
    }
    if !p.server_urgent {
        let mut b = [0u8; 4];
        assert_kind(server.recv(&mut b, RecvFlags::OOB), ErrorKind::Unsupported);
    }
    if p.client_urgent && p.server_urgent {
        assert_eq!(ok(client.send(b"ab!", SendFlags::OOB), "send(OOB)"), 3);
        // Normal reads stop at the urgent mark; the urgent byte comes with recv(OOB).
        assert_eq!(read_n(&mut server, 2), b"ab");
        let mut b = [0u8; 4];
        let got = crate::util::wait_until(GUARD, || {
            matches!(server.recv(&mut b, RecvFlags::OOB), Ok(1))
        });
        assert!(got, "urgent byte never arrived");
        assert_eq!(b[0], b'!');
    }
    // The stream still works either way.
    ok(client.write_all(b"ok"), "write after urgent");
    assert_eq!(read_n(&mut server, 2), b"ok");
}

/// Read timeout and non-blocking calls stay within bounds.
pub fn timeouts_and_would_block<S: Stack, C: Stack>(env: &Env<S, C>) {
    let Some((mut listener, mut client, mut server)) = env.pair(false) else {
        return;
    };
    let limit = Duration::from_millis(200);
    ok(
        server.set_option(SockOpt::ReadTimeout(Some(limit))),
        "set read timeout",
    );
    assert_eq!(
        ok(server.option(SockOptName::ReadTimeout), "get read timeout"),
        SockOpt::ReadTimeout(Some(limit))
    );
    let mut buf = [0u8; 8];
    let t = Instant::now();
    assert_kind(server.read(&mut buf), ErrorKind::TimedOut);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(150),
        "timed out early: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "timed out late: {took:?}");

    let t = Instant::now();
    assert_kind(server.try_read(&mut buf), ErrorKind::WouldBlock);
    assert_kind(listener.try_accept(), ErrorKind::WouldBlock);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "non-blocking calls blocked"
    );

    ok(
        listener.set_option(SockOpt::ReadTimeout(Some(limit))),
        "accept timeout",
    );
    let t = Instant::now();
    assert_kind(listener.accept(), ErrorKind::TimedOut);
    assert!(t.elapsed() >= Duration::from_millis(150));

    // A timed-out read loses nothing: data sent afterwards arrives intact.
    ok(client.write_all(b"late"), "write");
    ok(
        server.set_option(SockOpt::ReadTimeout(Some(GUARD))),
        "restore timeout",
    );
    assert_eq!(read_n(&mut server, 4), b"late");
    assert!(ok(client.try_write(b"nb"), "try_write") > 0);
    assert_eq!(read_n(&mut server, 2), b"nb");
}

/// Common options read back what was set.
pub fn options_round_trip<S: Stack, C: Stack>(env: &Env<S, C>) {
    let Some((_l, mut client, _server)) = env.pair(false) else {
        return;
    };
    ok(client.set_option(SockOpt::NoDelay(true)), "set NoDelay");
    assert_eq!(
        ok(client.option(SockOptName::NoDelay), "get"),
        SockOpt::NoDelay(true)
    );
    ok(client.set_option(SockOpt::NoDelay(false)), "clear NoDelay");
    assert_eq!(
        ok(client.option(SockOptName::NoDelay), "get"),
        SockOpt::NoDelay(false)
    );
    ok(client.set_option(SockOpt::Ttl(42)), "set Ttl");
    assert_eq!(ok(client.option(SockOptName::Ttl), "get"), SockOpt::Ttl(42));
    match ok(
        client.option(SockOptName::RecvBufferSize),
        "get RecvBufferSize",
    ) {
        SockOpt::RecvBufferSize(n) => assert!(n > 0),
        other => panic!("asked for RecvBufferSize, got {other:?}"),
    }
    ok(
        client.set_option(SockOpt::KeepAlive(Some(Duration::from_secs(30)))),
        "KeepAlive",
    );
    assert_eq!(
        ok(client.option(SockOptName::KeepAlive), "get"),
        SockOpt::KeepAlive(Some(Duration::from_secs(30)))
    );
}

/// Connecting to a port nobody listens on: `ConnectionRefused`.
pub fn connect_refused<S: Stack, C: Stack>(env: &Env<S, C>, v6: bool) {
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
    assert_kind(env.client.connect(at), ErrorKind::ConnectionRefused);
    assert_kind(
        env.client.connect_timeout(at, Duration::from_secs(5)),
        ErrorKind::ConnectionRefused,
    );
}

fn udp_pair<S: Stack, C: Stack>(env: &Env<S, C>, v6: bool) -> Option<(S::UdpSocket, C::UdpSocket)> {
    let (server_ip, client_ip) = env.ips(v6)?;
    let mut a = ok(
        env.server.bind_udp(SocketAddr::new(server_ip, 0)),
        "bind server",
    );
    let mut b = ok(
        env.client.bind_udp(SocketAddr::new(client_ip, 0)),
        "bind client",
    );
    ok(a.set_option(SockOpt::ReadTimeout(Some(GUARD))), "timeout");
    ok(b.set_option(SockOpt::ReadTimeout(Some(GUARD))), "timeout");
    Some((a, b))
}

/// Datagram round trip, peek, and the sender's address.
pub fn udp_round_trip<S: Stack, C: Stack>(env: &Env<S, C>, v6: bool) {
    let Some((mut a, mut b)) = udp_pair(env, v6) else {
        return;
    };
    let at = ok(a.local_addr(), "local_addr");
    let from_b = ok(b.local_addr(), "local_addr");
    assert_ne!(at.port(), 0, "bind to port 0 picked no port");
    assert_eq!(ok(b.send_to(b"ping", at, SendFlags::NONE), "send_to"), 4);
    let mut buf = [0u8; 64];
    let peeked = ok(a.recv_from(&mut buf, RecvFlags::PEEK), "recv_from(PEEK)");
    assert_eq!((&buf[..peeked.len], peeked.from), (&b"ping"[..], from_b));
    let meta = ok(a.recv_from(&mut buf, RecvFlags::NONE), "recv_from");
    assert_eq!(
        (&buf[..meta.len], meta.from, meta.truncated()),
        (&b"ping"[..], from_b, false)
    );
    ok(
        a.send_to(b"pong", meta.from, SendFlags::NONE),
        "send_to reply",
    );
    let back = ok(b.recv_from(&mut buf, RecvFlags::NONE), "recv_from reply");
    assert_eq!((&buf[..back.len], back.from), (&b"pong"[..], at));
    assert_kind(
        a.try_recv_from(&mut buf, RecvFlags::NONE),
        ErrorKind::WouldBlock,
    );
    assert_kind(a.peer_addr(), ErrorKind::NotConnected);
}

/// A datagram longer than the buffer is truncated, its full length reported, and its rest
/// discarded.
pub fn udp_truncation<S: Stack, C: Stack>(env: &Env<S, C>) {
    let Some((mut a, mut b)) = udp_pair(env, false) else {
        return;
    };
    let at = ok(a.local_addr(), "local_addr");
    let long: Vec<u8> = (0..100u8).collect();
    ok(b.send_to(&long, at, SendFlags::NONE), "send_to");
    ok(b.send_to(b"next", at, SendFlags::NONE), "send_to");
    let mut small = [0u8; 10];
    let peek = ok(
        a.recv_from(&mut small, RecvFlags::PEEK),
        "recv_from(PEEK) truncated",
    );
    assert_eq!((peek.len, peek.full_len), (10, 100));
    let meta = ok(
        a.recv_from(&mut small, RecvFlags::NONE),
        "recv_from truncated",
    );
    assert_eq!((meta.len, meta.full_len, meta.truncated()), (10, 100, true));
    assert_eq!(&small[..], &long[..10]);
    let mut buf = [0u8; 128];
    let next = ok(
        a.recv_from(&mut buf, RecvFlags::NONE),
        "recv_from after truncation",
    );
    assert_eq!(
        &buf[..next.len],
        b"next",
        "the rest of the truncated datagram leaked"
    );
}

/// A connected datagram socket only receives from its peer, and `send` goes to it.
pub fn udp_connected_filtering<S: Stack, C: Stack>(env: &Env<S, C>) {
    let Some((mut a, mut b)) = udp_pair(env, false) else {
        return;
    };
    let (_, client_ip) = env.ips(false).expect("IPv4");
    let mut stranger = ok(
        env.client.bind_udp(SocketAddr::new(client_ip, 0)),
        "bind stranger",
    );
    let at = ok(a.local_addr(), "local_addr");
    let b_addr = ok(b.local_addr(), "local_addr");
    ok(a.connect(b_addr), "connect");
    assert_eq!(ok(a.peer_addr(), "peer_addr"), b_addr);
    ok(
        stranger.send_to(b"from a stranger", at, SendFlags::NONE),
        "stranger send_to",
    );
    ok(
        b.send_to(b"from the peer", at, SendFlags::NONE),
        "peer send_to",
    );
    let mut buf = [0u8; 64];
    let meta = ok(a.recv(&mut buf, RecvFlags::NONE), "recv");
    assert_eq!(
        (&buf[..meta.len], meta.from),
        (&b"from the peer"[..], b_addr)
    );
    std::thread::sleep(Duration::from_millis(50));
    assert_kind(
        a.try_recv_from(&mut buf, RecvFlags::NONE),
        ErrorKind::WouldBlock,
    );
    ok(
        a.send(b"reply", SendFlags::NONE),
        "send to the connected peer",
    );
    let back = ok(b.recv_from(&mut buf, RecvFlags::NONE), "recv_from");
    assert_eq!((&buf[..back.len], back.from), (&b"reply"[..], at));
}

/// Batched datagrams: 40 sent in batches arrive complete and in order through batched
/// receives.
pub fn udp_batches<S: Stack, C: Stack>(env: &Env<S, C>) {
    const COUNT: usize = 40;
    let Some((mut a, mut b)) = udp_pair(env, false) else {
        return;
    };
    let at = ok(a.local_addr(), "local_addr");
    let payloads: Vec<Vec<u8>> = (0..COUNT)
        .map(|i| format!("datagram {i:03} ").repeat(4).into_bytes())
        .collect();
    let mut sent = 0;
    while sent < COUNT {
        let msgs: Vec<SendMsg<'_, SocketAddr>> = payloads[sent..(sent + 16).min(COUNT)]
            .iter()
            .map(|p| SendMsg {
                data: p,
                to: Some(at),
            })
            .collect();
        let n = ok(b.send_batch(&msgs), "send_batch");
        assert!(n > 0 && n <= msgs.len());
        sent += n;
        // Pace the sender so a small receive buffer is not overrun.
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut storage = vec![[0u8; 256]; 8];
    while got.len() < COUNT {
        let mut slots: Vec<RecvSlot<'_, SocketAddr>> = storage
            .iter_mut()
            .map(|b| RecvSlot::new(&mut b[..]))
            .collect();
        let n = ok(a.recv_batch(&mut slots), "recv_batch");
        assert!(n >= 1 && n <= slots.len());
        for slot in &slots[..n] {
            let meta = slot.meta.expect("filled slot has metadata");
            assert!(!meta.truncated());
            got.push(slot.data().expect("filled slot").to_vec());
        }
        assert!(slots[n..].iter().all(|s| s.meta.is_none()));
    }
    assert_eq!(got, payloads, "datagrams lost, duplicated or reordered");
}

/// Raw ICMP: an echo request to the server's address gets an echo reply, received as a whole
/// IPv4 packet with its header.
pub fn raw_icmp_echo<S: Stack, C: Stack>(env: &Env<S, C>) {
    let mut raw = match env.client.raw_socket(Domain::Ipv4, Protocol::ICMP) {
        Ok(raw) => raw,
        Err(e) if e.socket_kind() == ErrorKind::PermissionDenied => {
            skip(&format!(
                "{}: raw sockets need CAP_NET_RAW: {e}",
                env.profile.name
            ));
            return;
        }
        Err(e) => panic!("raw_socket failed: {e}"),
    };
    ok(
        raw.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(2)))),
        "timeout",
    );
    let target = IpAddr::V4(env.server_v4);
    let ident = (std::process::id() as u16) ^ 0x5a5a;
    let mut request = vec![8u8, 0, 0, 0];
    request.extend_from_slice(&ident.to_be_bytes());
    request.extend_from_slice(&7u16.to_be_bytes());
    request.extend_from_slice(b"unisock raw ping");
    let sum = icmp_checksum(&request);
    request[2..4].copy_from_slice(&sum.to_be_bytes());
    assert_eq!(
        ok(raw.send_to(&request, target), "raw send_to"),
        request.len()
    );

    let deadline = Instant::now() + GUARD;
    let mut buf = [0u8; 1500];
    loop {
        assert!(Instant::now() < deadline, "no echo reply within {GUARD:?}");
        let meta = match raw.recv_from(&mut buf, RecvFlags::NONE) {
            Ok(m) => m,
            Err(e) if e.socket_kind() == ErrorKind::TimedOut => {
                // Lost on the way: ask again.
                ok(raw.send_to(&request, target), "raw send_to again");
                continue;
            }
            Err(e) => panic!("raw recv_from: {e}"),
        };
        let pkt = &buf[..meta.len];
        assert!(
            pkt.len() >= 20 && pkt[0] >> 4 == 4,
            "not an IPv4 packet: {pkt:02x?}"
        );
        let ihl = usize::from(pkt[0] & 0x0f) * 4;
        assert_eq!(pkt[9], 1, "protocol is ICMP");
        assert_eq!(usize::from(u16::from_be_bytes([pkt[2], pkt[3]])), pkt.len());
        let icmp = &pkt[ihl..];
        if icmp[0] == 0 && icmp[4..6] == ident.to_be_bytes() {
            assert_eq!(meta.from, target);
            assert_eq!(&icmp[8..], b"unisock raw ping");
            assert_eq!(icmp_checksum(icmp), 0, "reply checksum");
            break;
        }
        // Our own request (seen on loopback) or someone else's traffic: keep reading.
    }
}

/// The Internet checksum of `data`.
pub fn icmp_checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// `localhost` resolves to a loopback address; literals come back unchanged.
pub fn resolve_localhost<S: Stack, C: Stack>(env: &Env<S, C>) {
    let lit = ok(env.client.resolve("192.0.2.7"), "resolve a literal");
    assert_eq!(&lit[..], &[IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))]);
    if !env.profile.resolves_localhost {
        eprintln!("{}: no localhost in this setup", env.profile.name);
        return;
    }
    let addrs = ok(env.client.resolve("localhost"), "resolve localhost");
    assert!(!addrs.is_empty());
    assert!(
        addrs.iter().all(|a| a.is_loopback()),
        "localhost -> {addrs:?}"
    );
}

/// `make_connection` reaches a local listener by name and by literal; bad targets are
/// `InvalidInput`.
pub fn make_connection_cases<S: Stack, C: Stack>(env: &Env<S, C>) {
    let (server_ip, _) = env.ips(false).expect("IPv4");
    let mut listener = listen_guarded(env.server, server_ip, 8);
    let port = ok(listener.local_addr(), "local_addr").port();
    let mut targets = vec![format!("{server_ip}:{port}")];
    if env.profile.resolves_localhost && server_ip.is_loopback() {
        targets.push(format!("localhost:{port}"));
    }
    for target in &targets {
        let mut c = ok(make_connection(env.client, target), target);
        let (mut s, peer) = ok(listener.accept(), "accept");
        assert_eq!(peer, ok(c.local_addr(), "local_addr"));
        guard(&mut s);
        ok(c.write_all(target.as_bytes()), "write");
        assert_eq!(read_n(&mut s, target.len()), target.as_bytes());
    }
    for bad in [
        "",
        ":80",
        "localhost:",
        "localhost:0",
        "localhost:65536",
        "localhost:http",
        "[::1",
        "bad host:80",
        "1.2.3.4.5:80",
    ] {
        let e = assert_kind(make_connection(env.client, bad), ErrorKind::InvalidInput);
        assert!(
            matches!(e, unisock::MakeConnectionError::Target(_)),
            "{bad:?}: {e}"
        );
    }
}

/// Readiness over many sockets (`Stack::poll_sockets`): a timeout with nothing ready returns 0
/// after waiting; a connecting socket turns writable; a listener with a pending connection is
/// readable; a stream is readable once data arrives (and not before); after the peer closes,
/// the stream reports hang-up and is readable (end of stream).
pub fn poll_readiness<S: Stack, C: Stack>(env: &Env<S, C>) {
    let (server_ip, _) = env.ips(false).expect("IPv4");
    let mut listener = listen_guarded(env.server, server_ip, 4);
    let at = ok(listener.local_addr(), "local_addr");

    // Nothing pending: the timeout passes and 0 sockets are ready.
    let mut li = [PollItem::new(listener.source(), Interest::READABLE)];
    let t = Instant::now();
    let n = ok(
        env.server
            .poll_sockets(&mut li, Some(Duration::from_millis(100))),
        "poll (timeout)",
    );
    assert_eq!(
        (n, li[0].ready),
        (0, Ready::EMPTY),
        "nothing should be ready"
    );
    assert!(
        t.elapsed() >= Duration::from_millis(90),
        "poll returned after {:?}, before its timeout",
        t.elapsed()
    );

    // Writable once the (non-blocking) connect is done.
    let sock = ok(env.client.tcp_socket(Domain::Ipv4), "tcp_socket");
    let mut c = ok(sock.connect_nonblocking(at), "connect_nonblocking");
    let mut ci = [PollItem::new(c.source(), Interest::WRITABLE)];
    let n = ok(
        env.client.poll_sockets(&mut ci, Some(GUARD)),
        "poll (writable)",
    );
    assert_eq!(n, 1, "the connecting socket never turned writable");
    assert!(ci[0].ready.is_writable(), "{:?}", ci[0].ready);

    // The listener is readable with the connection pending.
    let n = ok(
        env.server.poll_sockets(&mut li, Some(GUARD)),
        "poll (listener)",
    );
    assert_eq!(n, 1, "the listener never reported the pending connection");
    assert!(li[0].ready.is_readable(), "{:?}", li[0].ready);
    let (mut s, _) = ok(listener.accept(), "accept");
    guard(&mut s);

    // Not readable before data, readable after; two sockets in one poll, only one ready.
    let mut si = [
        PollItem::new(s.source(), Interest::READABLE),
        PollItem::new(listener.source(), Interest::READABLE),
    ];
    let n = ok(
        env.server
            .poll_sockets(&mut si, Some(Duration::from_millis(20))),
        "poll (no data)",
    );
    assert_eq!(n, 0, "readable with no data: {:?}", si[0].ready);
    ok(c.write_all(b"data"), "write");
    let n = ok(env.server.poll_sockets(&mut si, Some(GUARD)), "poll (data)");
    assert_eq!(n, 1, "{:?} / {:?}", si[0].ready, si[1].ready);
    assert!(si[0].ready.is_readable() && si[1].ready.is_empty());
    assert_eq!(read_n(&mut s, 4), b"data");

    // The peer closes: hang-up (and readable: the read returns end of stream at once).
    drop(c);
    let mut si = [PollItem::new(s.source(), Interest::READABLE)];
    let hung = crate::util::wait_until(GUARD, || {
        ok(
            env.server
                .poll_sockets(&mut si, Some(Duration::from_millis(100))),
            "poll (hang-up)",
        );
        si[0].ready.is_readable() && si[0].ready.is_hangup()
    });
    assert!(hung, "no hang-up after the peer's close: {:?}", si[0].ready);
    expect_eof(&mut s);
}

/// Run every scenario in this module once, in order (used by demos; the test binaries
/// instantiate them one test each).
pub fn run_all<S: Stack, C: Stack>(env: &Env<S, C>)
where
    C::TcpStream: Send,
{
    for v6 in [false, true] {
        tcp_echo(env, v6);
        bind_then_connect_and_ephemeral_ports(env, v6);
        two_listeners_addr_in_use(env, v6);
        connect_refused(env, v6);
        udp_round_trip(env, v6);
    }
    backlog(env);
    connect_nonblocking(env);
    half_close(env);
    shutdown_read(env);
    abort_resets_peer(env);
    peek_and_waitall(env);
    urgent_data(env);
    timeouts_and_would_block(env);
    options_round_trip(env);
    udp_truncation(env);
    udp_connected_filtering(env);
    udp_batches(env);
    resolve_localhost(env);
    make_connection_cases(env);
    poll_readiness(env);
}
