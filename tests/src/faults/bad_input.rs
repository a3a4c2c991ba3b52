//! The bad-input catalogue: misuse of the socket API and malformed arguments, each answered by
//! one specific [`ErrorKind`], without losing data already accepted and without panicking.
//!
//! Every scenario is generic over [`unisock::Stack`] and runs on one stack ([`Net`]); the test
//! binary `tests/bad_input.rs` instantiates them for the kernel backend (inside a private
//! network namespace) and for the smoltcp in-process loopback. Where the backends legitimately
//! differ (the core contract leaves room), [`Expect`] names the kind each one documents.
//!
//! Misuse the typestate API rules out at compile time (reading an unconnected TCP socket,
//! listening twice, connecting twice, accepting on a non-listener, any use after close) is not
//! tested here; RELIABILITY.md lists it, and the `compile_fail` doctests below prove it.
//!
//! ```compile_fail,E0599
//! // Reading needs a connected stream: an unconnected TcpSocket has no `read`.
//! use unisock::prelude::*;
//! fn f<S: unisock::Stack>(s: &S) {
//!     let mut sock = s.tcp_socket(unisock::Domain::Ipv4).unwrap();
//!     let mut buf = [0u8; 4];
//!     let _ = sock.read(&mut buf);
//! }
//! ```
//!
//! ```compile_fail,E0382
//! // `listen` consumes the socket: listening twice does not compile.
//! use unisock::prelude::*;
//! fn f<S: unisock::Stack>(s: &S) {
//!     let sock = s.tcp_socket(unisock::Domain::Ipv4).unwrap();
//!     let _l = sock.listen(1);
//!     let _l2 = sock.listen(1);
//! }
//! ```
//!
//! ```compile_fail,E0382
//! // `connect` consumes the socket: connecting twice does not compile.
//! use unisock::prelude::*;
//! fn f<S: unisock::Stack>(s: &S, at: core::net::SocketAddr) {
//!     let sock = s.tcp_socket(unisock::Domain::Ipv4).unwrap();
//!     let _c = sock.connect(at);
//!     let _c2 = sock.connect(at);
//! }
//! ```
//!
//! ```compile_fail,E0599
//! // Only a listener accepts: a connected stream has no `accept`.
//! use unisock::prelude::*;
//! fn f<S: unisock::Stack>(s: &S, at: core::net::SocketAddr) {
//!     let mut c = s.connect(at).unwrap();
//!     let _ = c.accept();
//! }
//! ```
//!
//! ```compile_fail,E0382
//! // Dropping closes: a closed stream cannot be used (nor closed twice).
//! use unisock::prelude::*;
//! fn f<S: unisock::Stack>(s: &S, at: core::net::SocketAddr) {
//!     let mut c = s.connect(at).unwrap();
//!     drop(c);
//!     let _ = c.write(b"after close");
//! }
//! ```
//!
//! ```compile_fail,E0382
//! // `abort` consumes the stream: nothing can follow it.
//! use unisock::prelude::*;
//! fn f<S: unisock::Stack>(s: &S, at: core::net::SocketAddr) {
//!     let c = s.connect(at).unwrap();
//!     let _ = c.abort();
//!     let _ = c.abort();
//! }
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use unisock::embedded_io::{Read, Write};
use unisock::prelude::*;
use unisock::resolve::TargetError;
use unisock::{
    DatagramSocket, MakeConnectionError, Socket, Stack, StreamListener, StreamSocket, TcpSocket,
    make_connection,
};

use crate::util::{assert_kind, ok};

/// A generous bound on every blocking call, so a bug fails instead of hanging.
pub const GUARD: Duration = Duration::from_secs(10);

/// The kinds a backend documents where the core contract leaves room.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    /// Backend name, for messages.
    pub name: &'static str,
    /// TCP connect to a broadcast or multicast address. Both backends answer
    /// `NetworkUnreachable` before sending anything (Linux: `ENETUNREACH` from the route
    /// lookup; smoltcp: no route to an off-link destination); `InvalidInput` would also fit
    /// the contract, so the kind is per backend.
    pub stream_to_group: ErrorKind,
}

/// The stack under test and its addresses.
pub struct Net<'a, S> {
    /// The stack.
    pub stack: &'a S,
    /// Its IPv4 address (loopback).
    pub v4: Ipv4Addr,
    /// Its IPv6 address, if it has one.
    pub v6: Option<Ipv6Addr>,
    /// An IPv4 address that is not the stack's own (bind to it: `AddrNotAvailable`). Binding
    /// sends nothing.
    pub foreign_v4: Ipv4Addr,
    /// An endpoint that never answers (for connect timeouts), if the setup has one: an address
    /// routed to a device that discards everything, inside a namespace the test created.
    pub silent: Option<SocketAddr>,
    /// Whether the stack is isolated (a private namespace, or in-process), so cases that
    /// address non-loopback destinations may run.
    pub isolated: bool,
    /// What this backend documents.
    pub expect: Expect,
}

impl<S: Stack> Net<'_, S> {
    fn listener(&self) -> (S::TcpListener, SocketAddr) {
        let mut l = ok(
            self.stack.listen(SocketAddr::new(self.v4.into(), 0), 4),
            "listen",
        );
        ok(
            l.set_option(SockOpt::ReadTimeout(Some(GUARD))),
            "accept timeout",
        );
        let at = ok(l.local_addr(), "listener local_addr");
        (l, at)
    }

    fn pair(&self) -> (S::TcpListener, S::TcpStream, S::TcpStream) {
        let (mut l, at) = self.listener();
        let mut c = ok(self.stack.connect(at), "connect");
        let (mut s, _) = ok(l.accept(), "accept");
        for x in [&mut c, &mut s] {
            ok(
                x.set_option(SockOpt::ReadTimeout(Some(GUARD))),
                "read timeout",
            );
            ok(
                x.set_option(SockOpt::WriteTimeout(Some(GUARD))),
                "write timeout",
            );
        }
        (l, c, s)
    }

    fn udp(&self) -> S::UdpSocket {
        let mut u = ok(
            self.stack.bind_udp(SocketAddr::new(self.v4.into(), 0)),
            "bind udp",
        );
        ok(
            u.set_option(SockOpt::ReadTimeout(Some(GUARD))),
            "udp read timeout",
        );
        u
    }
}

pub use crate::scenarios::read_n;

/// Connect to the unspecified address (`0.0.0.0:p`, `[::]:p`, where a listener waits on the
/// loopback port `p`): `InvalidInput`. (Linux alone would silently connect to loopback.)
pub fn connect_unspecified_remote<S: Stack>(net: &Net<S>) {
    let (_l, at) = net.listener();
    let any4 = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), at.port());
    assert_kind(net.stack.connect(any4), ErrorKind::InvalidInput);
    assert_kind(
        net.stack.connect_timeout(any4, GUARD),
        ErrorKind::InvalidInput,
    );
    if net.v6.is_some() {
        let any6 = SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), at.port());
        assert_kind(net.stack.connect(any6), ErrorKind::InvalidInput);
    }
}

/// Connect to port 0: `InvalidInput` (no such port can be connected to).
pub fn connect_port_zero<S: Stack>(net: &Net<S>) {
    let zero = SocketAddr::new(net.v4.into(), 0);
    assert_kind(net.stack.connect(zero), ErrorKind::InvalidInput);
    assert_kind(
        net.stack.connect_timeout(zero, GUARD),
        ErrorKind::InvalidInput,
    );
    if let Some(v6) = net.v6 {
        assert_kind(
            net.stack.connect(SocketAddr::new(v6.into(), 0)),
            ErrorKind::InvalidInput,
        );
    }
}

/// A stream peer that is a broadcast or multicast address: [`Expect::stream_to_group`].
pub fn connect_broadcast_or_multicast<S: Stack>(net: &Net<S>) {
    if !net.isolated {
        crate::util::skip(&format!(
            "{}: not isolated, group addresses not tried",
            net.expect.name
        ));
        return;
    }
    let kind = net.expect.stream_to_group;
    for ip in [
        IpAddr::V4(Ipv4Addr::BROADCAST),
        IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)),
    ] {
        let at = SocketAddr::new(ip, 80);
        assert_kind(net.stack.connect_timeout(at, Duration::from_secs(2)), kind);
    }
    if net.v6.is_some() {
        let at = SocketAddr::new("ff02::1".parse::<IpAddr>().expect("literal"), 80);
        assert_kind(net.stack.connect_timeout(at, Duration::from_secs(2)), kind);
    }
}

/// An address of the other family than the socket's: `InvalidInput`, for bind, connect and
/// datagram send.
pub fn family_mismatch<S: Stack>(net: &Net<S>) {
    let v4_any = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0);
    let v6_any = SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 0);
    let mut s = ok(net.stack.tcp_socket(Domain::Ipv6), "tcp_socket(v6)");
    assert_kind(s.bind(v4_any), ErrorKind::InvalidInput);
    let s = ok(net.stack.tcp_socket(Domain::Ipv4), "tcp_socket(v4)");
    assert_kind(
        s.connect(SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 80)),
        ErrorKind::InvalidInput,
    );
    let mut s = ok(net.stack.tcp_socket(Domain::Ipv4), "tcp_socket(v4)");
    assert_kind(s.bind(v6_any), ErrorKind::InvalidInput);
    let mut u = net.udp();
    assert_kind(
        u.send_to(
            b"x",
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 9),
            SendFlags::NONE,
        ),
        ErrorKind::InvalidInput,
    );
    assert_kind(
        u.connect(SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 9)),
        ErrorKind::InvalidInput,
    );
    assert_kind(net.stack.tcp_socket(Domain::Unix), ErrorKind::InvalidInput);
    assert_kind(net.stack.udp_socket(Domain::Unix), ErrorKind::InvalidInput);
}

/// Bind to an address that is not the stack's: `AddrNotAvailable` (TCP and UDP).
pub fn bind_non_local<S: Stack>(net: &Net<S>) {
    let foreign = SocketAddr::new(net.foreign_v4.into(), 0);
    let mut s = ok(net.stack.tcp_socket(Domain::Ipv4), "tcp_socket");
    assert_kind(s.bind(foreign), ErrorKind::AddrNotAvailable);
    assert_kind(net.stack.listen(foreign, 1), ErrorKind::AddrNotAvailable);
    assert_kind(net.stack.bind_udp(foreign), ErrorKind::AddrNotAvailable);
    // The socket is still usable after the failed bind.
    ok(
        s.bind(SocketAddr::new(net.v4.into(), 0)),
        "bind after a failed bind",
    );
}

/// Bind twice: `InvalidInput` (already bound); bind an endpoint a listener holds, or a UDP
/// endpoint in use: `AddrInUse`.
pub fn double_bind<S: Stack>(net: &Net<S>) {
    let mut s = ok(net.stack.tcp_socket(Domain::Ipv4), "tcp_socket");
    ok(s.bind(SocketAddr::new(net.v4.into(), 0)), "first bind");
    let first = ok(s.local_addr(), "local_addr");
    assert_kind(
        s.bind(SocketAddr::new(net.v4.into(), 0)),
        ErrorKind::InvalidInput,
    );
    assert_eq!(
        ok(s.local_addr(), "local_addr"),
        first,
        "a failed bind moved the socket"
    );

    let (_l, at) = net.listener();
    let mut t = ok(net.stack.tcp_socket(Domain::Ipv4), "tcp_socket");
    assert_kind(t.bind(at), ErrorKind::AddrInUse);
    assert_kind(net.stack.listen(at, 1), ErrorKind::AddrInUse);

    let u = net.udp();
    let uat = ok(u.local_addr(), "udp local_addr");
    assert_kind(net.stack.bind_udp(uat), ErrorKind::AddrInUse);
    let mut u2 = net.udp();
    assert_kind(
        u2.bind(SocketAddr::new(net.v4.into(), 0)),
        ErrorKind::InvalidInput,
    );
}

/// Datagram send and `peer_addr` before connect: `NotConnected`; a receive on a socket that
/// has nothing: `WouldBlock` (non-blocking) or `TimedOut` (with a read timeout).
pub fn datagram_before_connect<S: Stack>(net: &Net<S>) {
    let mut u = net.udp();
    assert_kind(u.send(b"x", SendFlags::NONE), ErrorKind::NotConnected);
    assert_kind(u.peer_addr(), ErrorKind::NotConnected);
    let mut buf = [0u8; 8];
    assert_kind(
        u.try_recv_from(&mut buf, RecvFlags::NONE),
        ErrorKind::WouldBlock,
    );
    ok(
        u.set_option(SockOpt::ReadTimeout(Some(Duration::from_millis(100)))),
        "timeout",
    );
    assert_kind(u.recv(&mut buf, RecvFlags::NONE), ErrorKind::TimedOut);
    // An unbound socket: nothing to receive either.
    let mut fresh = ok(net.stack.udp_socket(Domain::Ipv4), "udp_socket");
    assert_kind(
        fresh.try_recv_from(&mut buf, RecvFlags::NONE),
        ErrorKind::WouldBlock,
    );
    assert_kind(fresh.send(b"x", SendFlags::NONE), ErrorKind::NotConnected);
}

/// After shutdown(Write): writes fail with `BrokenPipe`, what was written before arrives whole,
/// reading still works. After shutdown(Both): reads give end of stream.
pub fn after_shutdown<S: Stack>(net: &Net<S>) {
    let (_l, mut c, mut s) = net.pair();
    let before: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    ok(c.write_all(&before), "write before shutdown");
    ok(c.shutdown(Shutdown::Write), "shutdown(Write)");
    assert_kind(c.write(b"late"), ErrorKind::BrokenPipe);
    assert_kind(c.send(b"late", SendFlags::NONE), ErrorKind::BrokenPipe);
    assert_kind(c.try_write(b"late"), ErrorKind::BrokenPipe);
    assert_eq!(
        read_n(&mut s, before.len()),
        before,
        "data written before shutdown"
    );
    let mut buf = [0u8; 16];
    assert_eq!(
        ok(s.read(&mut buf), "read at end"),
        0,
        "end of stream after the data"
    );
    ok(s.write_all(b"reply"), "reply");
    assert_eq!(read_n(&mut c, 5), b"reply");
    ok(c.shutdown(Shutdown::Both), "shutdown(Both)");
    assert_eq!(ok(c.read(&mut buf), "read after shutdown(Both)"), 0);
    assert_kind(c.write(b"x"), ErrorKind::BrokenPipe);
}

/// Zero-length buffers: stream reads and writes of nothing return `Ok(0)` and lose nothing;
/// an empty datagram is sent and received as such; receiving into an empty buffer reports the
/// datagram as truncated.
pub fn zero_length_buffers<S: Stack>(net: &Net<S>) {
    let (_l, mut c, mut s) = net.pair();
    assert_eq!(ok(c.write(&[]), "write(empty)"), 0);
    assert_eq!(ok(c.try_write(&[]), "try_write(empty)"), 0);
    ok(c.write_all(b"kept"), "write");
    // Wait until the data is there, then read into nothing: Ok(0), data untouched.
    let mut four = [0u8; 4];
    assert_eq!(
        ok(
            s.recv(&mut four, RecvFlags::PEEK | RecvFlags::WAITALL),
            "peek"
        ),
        4
    );
    assert_eq!(ok(s.read(&mut []), "read(empty)"), 0);
    assert_eq!(ok(s.try_read(&mut []), "try_read(empty)"), 0);
    assert_eq!(read_n(&mut s, 4), b"kept", "an empty read consumed data");

    let mut a = net.udp();
    let mut b = net.udp();
    let at = ok(a.local_addr(), "local_addr");
    assert_eq!(ok(b.send_to(&[], at, SendFlags::NONE), "send_to(empty)"), 0);
    let mut buf = [0u8; 16];
    let m = ok(
        a.recv_from(&mut buf, RecvFlags::NONE),
        "recv empty datagram",
    );
    assert_eq!((m.len, m.full_len), (0, 0));
    ok(b.send_to(b"abc", at, SendFlags::NONE), "send_to");
    let m = ok(
        a.recv_from(&mut [], RecvFlags::NONE),
        "recv into empty buffer",
    );
    assert_eq!((m.len, m.full_len, m.truncated()), (0, 3, true));
}

/// A datagram longer than the buffer: truncated, full length reported, the next datagram
/// intact.
pub fn datagram_truncation<S: Stack>(net: &Net<S>) {
    let mut a = net.udp();
    let mut b = net.udp();
    let at = ok(a.local_addr(), "local_addr");
    let long: Vec<u8> = (0..1200u32).map(|i| (i % 253) as u8).collect();
    ok(b.send_to(&long, at, SendFlags::NONE), "send_to long");
    ok(b.send_to(b"after", at, SendFlags::NONE), "send_to after");
    let mut small = [0u8; 100];
    let m = ok(a.recv_from(&mut small, RecvFlags::NONE), "recv truncated");
    assert_eq!((m.len, m.full_len, m.truncated()), (100, 1200, true));
    assert_eq!(&small[..], &long[..100]);
    let mut buf = [0u8; 64];
    let m = ok(a.recv_from(&mut buf, RecvFlags::NONE), "recv next");
    assert_eq!(&buf[..m.len], b"after");
}

/// A datagram too large to send (more than 65507 bytes of UDP payload over IPv4): rejected with
/// `InvalidInput`, nothing sent (never truncated).
pub fn oversize_datagram<S: Stack>(net: &Net<S>) {
    let mut a = net.udp();
    let mut b = net.udp();
    let at = ok(a.local_addr(), "local_addr");
    let huge = vec![0x5au8; 70_000];
    assert_kind(
        b.send_to(&huge, at, SendFlags::NONE),
        ErrorKind::InvalidInput,
    );
    assert_kind(
        b.try_send_to(&huge, at, SendFlags::NONE),
        ErrorKind::InvalidInput,
    );
    ok(
        b.send_to(b"small", at, SendFlags::NONE),
        "send after the refusal",
    );
    let mut buf = [0u8; 64];
    let m = ok(a.recv_from(&mut buf, RecvFlags::NONE), "recv");
    assert_eq!(
        &buf[..m.len],
        b"small",
        "part of the oversize datagram went out"
    );
    assert_kind(
        a.try_recv_from(&mut buf, RecvFlags::NONE),
        ErrorKind::WouldBlock,
    );
}

/// Malformed `host:port` strings given to `make_connection`: `InvalidInput`, with the exact
/// [`TargetError`], before any lookup or connection.
pub fn malformed_targets<S: Stack>(net: &Net<S>) {
    let cases: &[(&str, TargetError)] = &[
        ("", TargetError::EmptyHost),
        (":80", TargetError::EmptyHost),
        ("[]:80", TargetError::EmptyHost),
        ("host:", TargetError::EmptyPort),
        ("host:http", TargetError::BadPort),
        ("host:+80", TargetError::BadPort),
        ("host:0", TargetError::ZeroPort),
        ("127.0.0.1:0", TargetError::ZeroPort),
        ("host:65536", TargetError::PortOutOfRange),
        ("host:184467440737095516160", TargetError::PortOutOfRange),
        ("[::1", TargetError::BadBrackets),
        ("[::1]80", TargetError::BadBrackets),
        ("::1]:80", TargetError::BadBrackets),
        ("[127.0.0.1]:80", TargetError::BadIpv6),
        ("1:2:3", TargetError::BadIpv6),
        ("fe80::1%eth0", TargetError::BadIpv6),
        ("bad host:80", TargetError::BadHostName(3)),
        ("-lead:80", TargetError::BadHostName(0)),
        ("a..b:80", TargetError::BadHostName(2)),
        ("1.2.3.4.5:80", TargetError::BadHostName(0)),
        ("h\u{e9}:80", TargetError::BadHostName(1)),
        ("nul\0:80", TargetError::BadHostName(3)),
        ("http://host/", TargetError::BadPort),
    ];
    for (input, want) in cases {
        let e = assert_kind(make_connection(net.stack, input), ErrorKind::InvalidInput);
        match e {
            MakeConnectionError::Target(got) => assert_eq!(got, *want, "{input:?}"),
            other => panic!("{input:?}: expected a target error, got {other}"),
        }
    }
    let long = format!("{}:80", "a".repeat(300));
    let e = assert_kind(make_connection(net.stack, &long), ErrorKind::InvalidInput);
    assert!(
        matches!(e, MakeConnectionError::Target(TargetError::HostNameTooLong)),
        "{e}"
    );
}

/// Errors on a live stream (refused options) leave it intact: queued data still arrives.
pub fn errors_keep_the_stream<S: Stack>(net: &Net<S>) {
    let (_l, mut c, mut s) = net.pair();
    ok(c.write_all(b"first"), "write");
    assert_kind(
        c.set_option(SockOpt::ReadTimeout(Some(Duration::ZERO))),
        ErrorKind::InvalidInput,
    );
    assert_kind(
        c.set_option(SockOpt::WriteTimeout(Some(Duration::ZERO))),
        ErrorKind::InvalidInput,
    );
    let mut l = ok(
        net.stack.listen(SocketAddr::new(net.v4.into(), 0), 1),
        "listen",
    );
    assert_kind(l.try_accept(), ErrorKind::WouldBlock);
    ok(c.write_all(b"second"), "write after the refusals");
    assert_eq!(read_n(&mut s, 11), b"firstsecond");
    drop(l);
}

/// Connect to an endpoint that never answers, with a timeout: `TimedOut`, after about the
/// timeout (not much earlier, not much later).
pub fn connect_silent_host_times_out<S: Stack>(net: &Net<S>) {
    let Some(silent) = net.silent else {
        crate::util::skip(&format!(
            "{}: no silent host in this setup",
            net.expect.name
        ));
        return;
    };
    let limit = Duration::from_millis(800);
    let t = Instant::now();
    assert_kind(
        net.stack.connect_timeout(silent, limit),
        ErrorKind::TimedOut,
    );
    let took = t.elapsed();
    assert!(
        took >= limit - Duration::from_millis(50),
        "timed out early: {took:?}"
    );
    assert!(
        took < limit + Duration::from_secs(5),
        "timed out late: {took:?}"
    );
}

/// Instantiate every bad-input scenario as one `#[test]`. `$with_net` runs a closure on a
/// `Net` and checks for leaks; a scenario may carry attributes (`#[ignore = "..."]`).
#[macro_export]
macro_rules! bad_input_tests {
    ($with_net:path; $($(#[$m:meta])* $name:ident),* $(,)?) => {$(
        #[test]
        $(#[$m])*
        fn $name() {
            $with_net(|net| $crate::faults::bad_input::$name(net))
        }
    )*};
}
