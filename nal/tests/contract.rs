//! The embedded-nal adapter's contract, written once over any unisock stack and run on the
//! kernel (loopback) and on smoltcp (its in-process loopback): round trips through every
//! trait, connection refused, reset by the peer, end of stream, would-block, calls on closed
//! or unconnected sockets, released (stale) sockets, datagram truncation and name resolution.
//! Every test ends with the leak check: the stack's open-socket count returns to its start.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use embedded_nal::{
    AddrType, Dns, TcpClientStack, TcpError, TcpErrorKind, TcpFullStack, UdpClientStack,
    UdpFullStack, nb,
};
use unisock::prelude::*;
use unisock::{Domain, ErrorKind, Stack, StreamListener, StreamSocket};
use unisock_conformance::util::{LeakCheck, counter, serial};
use unisock_nal::{Error, NalStack, TcpSocket};

const LOCAL_V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const LOCAL_V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);
/// The bound on every wait.
const LIMIT: Duration = Duration::from_secs(10);

/// Call `f` until it stops returning `WouldBlock` (bounded by [`LIMIT`]); also returns how many
/// times it did.
#[track_caller]
fn block<T, E>(mut f: impl FnMut() -> nb::Result<T, E>) -> (Result<T, E>, usize) {
    let deadline = Instant::now() + LIMIT;
    let mut would_block = 0;
    loop {
        match f() {
            Ok(v) => return (Ok(v), would_block),
            Err(nb::Error::Other(e)) => return (Err(e), would_block),
            Err(nb::Error::WouldBlock) => {
                would_block += 1;
                assert!(
                    Instant::now() < deadline,
                    "still WouldBlock after {LIMIT:?}"
                );
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }
}

/// Unwrap with the error in the message.
#[track_caller]
fn ok<T, E: std::fmt::Debug>(r: Result<T, E>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e:?}"))
}

/// The error of `r`, which must be of `kind`.
#[track_caller]
fn fails<T, E: unisock::Error + std::fmt::Display>(
    r: Result<T, Error<E>>,
    kind: ErrorKind,
) -> Error<E> {
    match r {
        Ok(_) => panic!("expected an error of kind {kind:?}, got Ok"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "wrong kind; error: {e}");
            e
        }
    }
}

/// `r` must be `Err(WouldBlock)`.
#[track_caller]
fn would_block<T, E: std::fmt::Display>(r: nb::Result<T, E>) {
    match r {
        Err(nb::Error::WouldBlock) => {}
        Err(nb::Error::Other(e)) => panic!("expected WouldBlock, got the error {e}"),
        Ok(_) => panic!("expected WouldBlock, got Ok"),
    }
}

/// The non-WouldBlock error of an `nb` result.
#[track_caller]
fn nb_err<T, E>(r: nb::Result<T, E>) -> E {
    match r {
        Err(nb::Error::Other(e)) => e,
        Err(nb::Error::WouldBlock) => panic!("expected an error, got WouldBlock"),
        Ok(_) => panic!("expected an error, got Ok"),
    }
}

/// Run `f` with the leak check around it.
fn checked<S: Stack>(stack: &S, f: impl FnOnce()) {
    let _serial = serial();
    let count = counter(stack);
    let leaks = LeakCheck::new(&[("stack", &count)]);
    f();
    leaks.finish(LIMIT);
}

/// A port nothing listens on: a listener's, closed again.
fn closed_port<S: Stack>(stack: &S, ip: IpAddr) -> SocketAddr {
    let l = ok(stack.listen(SocketAddr::new(ip, 0), 1), "listen");
    ok(l.local_addr(), "local_addr")
}

/// An adapter client connected to a unisock listener: (client, server side).
fn pair<S: Stack + Clone>(mut net: &mut NalStack<S>) -> (TcpSocket<S>, S::TcpStream) {
    let mut l = ok(
        net.stack().listen(SocketAddr::new(LOCAL_V4, 0), 1),
        "listen",
    );
    let at = ok(l.local_addr(), "local_addr");
    let mut c = ok(TcpClientStack::socket(&mut net), "socket");
    ok(
        block(|| TcpClientStack::connect(&mut net, &mut c, at)).0,
        "connect",
    );
    l.set_option(unisock::SockOpt::ReadTimeout(Some(LIMIT)))
        .expect("accept timeout");
    let (mut s, peer) = ok(l.accept(), "accept");
    assert_eq!(peer.port(), ok(c.local_addr(), "local_addr").port());
    s.set_option(unisock::SockOpt::ReadTimeout(Some(LIMIT)))
        .expect("read timeout");
    (c, s)
}

/// TCP through every call of `TcpClientStack` and `TcpFullStack`, on both sides: bind to a
/// port only (the bind domain's unspecified address), listen, accept, connect until it stops
/// returning `WouldBlock`, send and receive both ways, connect again (same remote: `Ok`;
/// another: `AlreadyConnected`), close.
pub fn tcp_round_trip<S: Stack + Clone>(stack: &S, v6: bool) {
    checked(stack, || {
        let (domain, ip, any) = if v6 {
            (Domain::Ipv6, LOCAL_V6, IpAddr::V6(Ipv6Addr::UNSPECIFIED))
        } else {
            (Domain::Ipv4, LOCAL_V4, IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        };
        let mut net = NalStack::new(stack.clone()).with_bind_domain(domain);
        let mut server = ok(TcpClientStack::socket(&mut net), "socket");
        ok(TcpFullStack::bind(&mut net, &mut server, 0), "bind(0)");
        let local = ok(server.local_addr(), "local_addr");
        assert_eq!(
            local.ip(),
            any,
            "port-only bind takes the unspecified address"
        );
        assert_ne!(local.port(), 0, "bind(0) picks an ephemeral port");
        ok(net.listen(&mut server), "listen");
        would_block(net.accept(&mut server));

        let at = SocketAddr::new(ip, local.port());
        let mut client = ok(TcpClientStack::socket(&mut net), "socket");
        assert!(!client.is_connected());
        ok(
            block(|| TcpClientStack::connect(&mut net, &mut client, at)).0,
            "connect",
        );
        assert!(client.is_connected());
        ok(
            TcpClientStack::connect(&mut net, &mut client, at),
            "connect again to the same remote",
        );
        let other = SocketAddr::new(ip, local.port().wrapping_add(1).max(1));
        fails(
            TcpClientStack::connect(&mut net, &mut client, other).map_err(nb_other),
            ErrorKind::AlreadyConnected,
        );
        let (mut conn, peer) = ok(block(|| net.accept(&mut server)).0, "accept");
        assert_eq!(peer, ok(client.local_addr(), "client local_addr"));

        would_block(TcpClientStack::receive(
            &mut net,
            &mut client,
            &mut [0u8; 8],
        ));
        assert_eq!(
            ok(
                block(|| TcpClientStack::send(&mut net, &mut client, b"ping")).0,
                "send"
            ),
            4
        );
        let mut buf = [0u8; 16];
        let n = ok(
            block(|| TcpClientStack::receive(&mut net, &mut conn, &mut buf)).0,
            "receive",
        );
        assert_eq!(&buf[..n], b"ping");
        assert_eq!(
            ok(
                block(|| TcpClientStack::send(&mut net, &mut conn, b"pong!")).0,
                "send"
            ),
            5
        );
        let n = ok(
            block(|| TcpClientStack::receive(&mut net, &mut client, &mut buf)).0,
            "receive",
        );
        assert_eq!(&buf[..n], b"pong!");
        // Zero-length calls are no-ops.
        assert_eq!(
            ok(
                TcpClientStack::send(&mut net, &mut client, b""),
                "empty send"
            ),
            0
        );
        assert_eq!(
            ok(
                TcpClientStack::receive(&mut net, &mut client, &mut []),
                "empty receive"
            ),
            0
        );

        ok(TcpClientStack::close(&mut net, client), "close client");
        ok(TcpClientStack::close(&mut net, conn), "close conn");
        ok(TcpClientStack::close(&mut net, server), "close listener");
    });
}

/// `nb::Error::Other(e)` to `e`; `WouldBlock` is a test failure here.
#[track_caller]
fn nb_other<E>(e: nb::Error<E>) -> E {
    match e {
        nb::Error::Other(e) => e,
        nb::Error::WouldBlock => panic!("unexpected WouldBlock"),
    }
}

/// Connecting to a port nobody listens on: `ConnectionRefused` (not `PipeClosed`: it never
/// was a connection), after which the socket is released: every call but `close` is
/// `StaleHandle`, and `close` succeeds.
pub fn connect_refused<S: Stack + Clone>(stack: &S) {
    checked(stack, || {
        let mut net = NalStack::new(stack.clone());
        let at = closed_port(stack, LOCAL_V4);
        let mut c = ok(TcpClientStack::socket(&mut net), "socket");
        let e = fails(
            block(|| TcpClientStack::connect(&mut net, &mut c, at)).0,
            ErrorKind::ConnectionRefused,
        );
        assert_eq!(TcpError::kind(&e), TcpErrorKind::Other, "{e}");
        assert!(c.is_released());
        let e = fails(
            TcpClientStack::connect(&mut net, &mut c, at).map_err(nb_other),
            ErrorKind::StaleHandle,
        );
        assert!(e.to_string().contains("released"), "{e}");
        fails(
            TcpClientStack::send(&mut net, &mut c, b"x").map_err(nb_other),
            ErrorKind::StaleHandle,
        );
        fails(
            TcpClientStack::receive(&mut net, &mut c, &mut [0u8; 4]).map_err(nb_other),
            ErrorKind::StaleHandle,
        );
        fails(
            TcpFullStack::bind(&mut net, &mut c, 0),
            ErrorKind::StaleHandle,
        );
        fails(net.listen(&mut c), ErrorKind::StaleHandle);
        fails(c.local_addr(), ErrorKind::StaleHandle);
        ok(
            TcpClientStack::close(&mut net, c),
            "close a released socket",
        );
        // A fresh socket reaches the same address once something listens there again.
        let mut l = ok(stack.listen(at, 1), "listen on the refused port");
        let mut c = ok(TcpClientStack::socket(&mut net), "socket");
        ok(
            block(|| TcpClientStack::connect(&mut net, &mut c, at)).0,
            "connect after the refusal",
        );
        l.set_option(unisock::SockOpt::ReadTimeout(Some(LIMIT)))
            .expect("accept timeout");
        drop(ok(l.accept(), "accept"));
    });
}

/// The peer resets the connection: `receive` and `send` fail with `ConnectionReset` (or
/// `BrokenPipe` for a send the kernel already saw fail), both reported as `PipeClosed`.
pub fn reset_by_peer<S: Stack + Clone>(stack: &S) {
    checked(stack, || {
        let mut net = NalStack::new(stack.clone());
        let (mut c, s) = pair(&mut net);
        ok(s.abort(), "abort");
        let e = ok_err(block(|| TcpClientStack::receive(&mut net, &mut c, &mut [0u8; 8])).0);
        assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
        assert_eq!(TcpError::kind(&e), TcpErrorKind::PipeClosed, "{e}");
        let e = ok_err(block(|| TcpClientStack::send(&mut net, &mut c, b"after the reset")).0);
        assert!(
            matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
            "{e}"
        );
        assert_eq!(TcpError::kind(&e), TcpErrorKind::PipeClosed, "{e}");
        ok(TcpClientStack::close(&mut net, c), "close");
    });
}

#[track_caller]
fn ok_err<T, E>(r: Result<T, E>) -> E {
    match r {
        Ok(_) => panic!("expected an error, got Ok"),
        Err(e) => e,
    }
}

/// The peer writes and closes: `receive` returns the bytes, then `EndOfStream`
/// (`UnexpectedEof`, `PipeClosed`), again on every later call, never `Ok(0)`. Our direction
/// still works (half-close).
pub fn end_of_stream<S: Stack + Clone>(stack: &S) {
    checked(stack, || {
        let mut net = NalStack::new(stack.clone());
        let (mut c, mut s) = pair(&mut net);
        ok(s.write_all(b"bye"), "write");
        ok(s.shutdown(unisock::Shutdown::Write), "shutdown(Write)");
        let mut got = Vec::new();
        let e = loop {
            let mut buf = [0u8; 2];
            match block(|| TcpClientStack::receive(&mut net, &mut c, &mut buf)).0 {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => break e,
            }
            assert!(got.len() <= 3, "more bytes than were sent: {got:?}");
        };
        assert_eq!(got, b"bye");
        assert!(matches!(e, Error::EndOfStream), "{e}");
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
        assert_eq!(TcpError::kind(&e), TcpErrorKind::PipeClosed);
        let again = nb_err(TcpClientStack::receive(&mut net, &mut c, &mut [0u8; 2]));
        assert!(matches!(again, Error::EndOfStream), "not sticky: {again}");
        // Half-close: the other direction still flows.
        assert_eq!(
            ok(
                block(|| TcpClientStack::send(&mut net, &mut c, b"still")).0,
                "send"
            ),
            5
        );
        let mut buf = [0u8; 5];
        ok(s.read_exact(&mut buf), "read");
        assert_eq!(&buf, b"still");
        ok(TcpClientStack::close(&mut net, c), "close");
    });
}

/// The peer accepts and closes before our `connect` has seen the handshake finish: `connect`
/// still succeeds (the connection was made) and `receive` then reports the end of the stream.
/// (Regression: smoltcp's `PEEK` answers `WouldBlock` at end of stream, which the handshake
/// check must not take as the answer.)
pub fn peer_closes_before_connect_returns<S: Stack + Clone>(stack: &S) {
    checked(stack, || {
        let mut net = NalStack::new(stack.clone());
        let mut l = ok(stack.listen(SocketAddr::new(LOCAL_V4, 0), 1), "listen");
        l.set_option(unisock::SockOpt::ReadTimeout(Some(LIMIT)))
            .expect("accept timeout");
        let at = ok(l.local_addr(), "local_addr");
        let mut c = ok(TcpClientStack::socket(&mut net), "socket");
        let first = TcpClientStack::connect(&mut net, &mut c, at);
        assert!(
            matches!(first, Ok(()) | Err(nb::Error::WouldBlock)),
            "first connect call: {first:?}"
        );
        let (s, _) = ok(l.accept(), "accept");
        drop(s);
        std::thread::sleep(Duration::from_millis(50));
        ok(
            block(|| TcpClientStack::connect(&mut net, &mut c, at)).0,
            "connect",
        );
        let e = ok_err(block(|| TcpClientStack::receive(&mut net, &mut c, &mut [0u8; 4])).0);
        assert!(matches!(e, Error::EndOfStream), "{e}");
        ok(TcpClientStack::close(&mut net, c), "close");
    });
}

/// `WouldBlock` wherever a call would wait: accept with nothing queued, receive with nothing
/// there, send into a full send buffer (and again after the peer drains it, with every byte
/// arriving in order), UDP receive with nothing queued.
pub fn would_block_everywhere<S: Stack + Clone>(stack: &S) {
    checked(stack, || {
        let mut net = NalStack::new(stack.clone());
        let mut server = ok(TcpClientStack::socket(&mut net), "socket");
        ok(net.listen(&mut server), "listen on an unbound socket");
        would_block(net.accept(&mut server));
        drop(server);

        let (mut c, mut s) = pair(&mut net);
        would_block(TcpClientStack::receive(&mut net, &mut c, &mut [0u8; 8]));

        // Fill the send buffer, then let the peer drain, twice.
        let chunk: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
        let mut sent: u64 = 0;
        let mut read: u64 = 0;
        let check = |buf: &[u8], read: &mut u64| {
            for &b in buf {
                assert_eq!(b, (*read % 4096 % 251) as u8, "byte {read} out of order");
                *read += 1;
            }
        };
        for round in 0..2 {
            let mut full = false;
            // Bounded: no send buffer holds 256 MiB.
            while sent < (256 << 20) {
                let off = (sent % 4096) as usize;
                match TcpClientStack::send(&mut net, &mut c, &chunk[off..]) {
                    Ok(n) => {
                        assert!(n > 0, "send returned Ok(0)");
                        sent += n as u64;
                    }
                    Err(nb::Error::WouldBlock) => {
                        full = true;
                        break;
                    }
                    Err(nb::Error::Other(e)) => panic!("send: {e}"),
                }
            }
            assert!(full, "round {round}: no WouldBlock after {sent} bytes");
            // Drain what was sent so far.
            let mut buf = vec![0u8; 65536];
            while read < sent {
                let n = ok(s.read(&mut buf), "drain");
                assert!(n > 0, "early end of stream");
                check(&buf[..n], &mut read);
            }
        }
        ok(TcpClientStack::close(&mut net, c), "close");
        let mut buf = vec![0u8; 65536];
        loop {
            let n = ok(s.read(&mut buf), "read to the end");
            if n == 0 {
                break;
            }
            check(&buf[..n], &mut read);
        }
        assert_eq!(read, sent, "bytes lost");

        let mut u = ok(UdpClientStack::socket(&mut net), "udp socket");
        ok(UdpFullStack::bind(&mut net, &mut u, 0), "udp bind");
        would_block(UdpClientStack::receive(&mut net, &mut u, &mut [0u8; 8]));
    });
}

/// Calls that do not fit the socket's state fail with a kind saying so, and `close` of a
/// socket in any state releases its unisock socket at once.
pub fn closed_and_unconnected_sockets<S: Stack + Clone>(stack: &S) {
    checked(stack, || {
        let mut net = NalStack::new(stack.clone());
        let start = stack.open_sockets();
        let mut t = ok(TcpClientStack::socket(&mut net), "socket");
        assert_eq!(
            stack.open_sockets(),
            start,
            "socket() holds no unisock socket"
        );
        fails(
            TcpClientStack::send(&mut net, &mut t, b"x").map_err(nb_other),
            ErrorKind::NotConnected,
        );
        fails(
            TcpClientStack::receive(&mut net, &mut t, &mut [0u8; 1]).map_err(nb_other),
            ErrorKind::NotConnected,
        );
        fails(
            net.accept(&mut t).map_err(nb_other),
            ErrorKind::InvalidInput,
        );
        fails(t.local_addr(), ErrorKind::NotConnected);
        ok(TcpFullStack::bind(&mut net, &mut t, 0), "bind");
        assert_eq!(
            stack.open_sockets(),
            start + 1,
            "bind creates the unisock socket"
        );
        fails(
            TcpFullStack::bind(&mut net, &mut t, 0),
            ErrorKind::InvalidInput,
        );
        fails(
            TcpClientStack::send(&mut net, &mut t, b"x").map_err(nb_other),
            ErrorKind::NotConnected,
        );
        ok(TcpClientStack::close(&mut net, t), "close a bound socket");
        assert_eq!(
            stack.open_sockets(),
            start,
            "close released the bound socket"
        );

        let mut l = ok(TcpClientStack::socket(&mut net), "socket");
        ok(net.listen(&mut l), "listen");
        fails(net.listen(&mut l), ErrorKind::InvalidInput);
        fails(
            TcpClientStack::send(&mut net, &mut l, b"x").map_err(nb_other),
            ErrorKind::NotConnected,
        );
        fails(
            TcpClientStack::connect(&mut net, &mut l, SocketAddr::new(LOCAL_V4, 9))
                .map_err(nb_other),
            ErrorKind::InvalidInput,
        );
        ok(TcpClientStack::close(&mut net, l), "close a listener");
        assert_eq!(stack.open_sockets(), start, "close released the listener");

        let (c, s) = pair(&mut net);
        let mut c = c;
        fails(net.listen(&mut c), ErrorKind::InvalidInput);
        fails(
            TcpFullStack::bind(&mut net, &mut c, 0),
            ErrorKind::InvalidInput,
        );
        ok(TcpClientStack::close(&mut net, c), "close a connection");
        // The peer sees the graceful close.
        let mut s = s;
        let mut buf = [0u8; 1];
        assert_eq!(ok(s.read(&mut buf), "read after the peer's close"), 0);
        drop(s);

        let mut u = ok(UdpClientStack::socket(&mut net), "udp socket");
        fails(
            UdpClientStack::send(&mut net, &mut u, b"x").map_err(nb_other),
            ErrorKind::NotConnected,
        );
        fails(
            UdpClientStack::receive(&mut net, &mut u, &mut [0u8; 1]).map_err(nb_other),
            ErrorKind::NotConnected,
        );
        ok(UdpFullStack::bind(&mut net, &mut u, 0), "udp bind");
        fails(
            UdpFullStack::bind(&mut net, &mut u, 0),
            ErrorKind::InvalidInput,
        );
        fails(
            UdpClientStack::send(&mut net, &mut u, b"no peer").map_err(nb_other),
            ErrorKind::NotConnected,
        );
        ok(UdpClientStack::close(&mut net, u), "udp close");
        assert_eq!(stack.open_sockets(), start, "close released the UDP socket");
    });
}

/// UDP through every call: port-only bind, connect (ephemeral port, peer filter), send to the
/// connect peer, send_to (which `send` then uses), truncation reported as an error with the
/// sizes, the next datagram intact.
pub fn udp_round_trip<S: Stack + Clone>(stack: &S) {
    checked(stack, || {
        let mut net = NalStack::new(stack.clone());
        let mut a = ok(UdpClientStack::socket(&mut net), "socket");
        ok(UdpFullStack::bind(&mut net, &mut a, 0), "bind");
        let a_port = ok(a.local_addr(), "local_addr").port();
        let a_at = SocketAddr::new(LOCAL_V4, a_port);

        let mut b = ok(UdpClientStack::socket(&mut net), "socket");
        ok(UdpClientStack::connect(&mut net, &mut b, a_at), "connect");
        ok(
            block(|| UdpClientStack::send(&mut net, &mut b, b"hello")).0,
            "send",
        );
        let mut buf = [0u8; 64];
        let (n, from) = ok(
            block(|| UdpClientStack::receive(&mut net, &mut a, &mut buf)).0,
            "receive",
        );
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(from.port(), ok(b.local_addr(), "local_addr").port());

        ok(block(|| net.send_to(&mut a, from, b"reply")).0, "send_to");
        assert_eq!(a.remote(), Some(from), "send_to sets the remote of send");
        ok(
            block(|| UdpClientStack::send(&mut net, &mut a, b"again")).0,
            "send",
        );
        for want in [&b"reply"[..], b"again"] {
            let (n, from) = ok(
                block(|| UdpClientStack::receive(&mut net, &mut b, &mut buf)).0,
                "receive",
            );
            assert_eq!(&buf[..n], want);
            assert_eq!(from, a_at);
        }

        // A third socket's datagram does not reach the connected b.
        let mut c = ok(UdpClientStack::socket(&mut net), "socket");
        let b_at = SocketAddr::new(LOCAL_V4, ok(b.local_addr(), "local_addr").port());
        ok(
            block(|| net.send_to(&mut c, b_at, b"stranger")).0,
            "send_to",
        );
        std::thread::sleep(Duration::from_millis(100));
        would_block(UdpClientStack::receive(&mut net, &mut b, &mut buf));

        // Truncation.
        let long = [7u8; 100];
        ok(
            block(|| UdpClientStack::send(&mut net, &mut b, &long)).0,
            "send",
        );
        ok(
            block(|| UdpClientStack::send(&mut net, &mut b, b"next")).0,
            "send",
        );
        let mut small = [0u8; 10];
        let e = fails(
            block(|| UdpClientStack::receive(&mut net, &mut a, &mut small)).0,
            ErrorKind::InvalidInput,
        );
        match e {
            Error::Truncated {
                len,
                full_len,
                from,
            } => {
                assert_eq!((len, full_len), (10, 100));
                assert_eq!(from.port(), b_at.port());
                assert_eq!(small, [7u8; 10]);
            }
            other => panic!("expected Truncated, got {other}"),
        }
        let (n, _) = ok(
            block(|| UdpClientStack::receive(&mut net, &mut a, &mut buf)).0,
            "receive",
        );
        assert_eq!(&buf[..n], b"next", "the datagram after the truncated one");
        for s in [a, b, c] {
            ok(UdpClientStack::close(&mut net, s), "close");
        }
    });
}

/// Name resolution: IP literals of the requested type, `localhost`, no address of the
/// requested type, reverse lookup unsupported.
pub fn dns<S: Stack + Clone>(stack: &S) {
    checked(stack, || {
        let mut net = NalStack::new(stack.clone());
        assert_eq!(
            ok(net.get_host_by_name("127.0.0.1", AddrType::IPv4), "literal"),
            LOCAL_V4
        );
        assert_eq!(
            ok(net.get_host_by_name("::1", AddrType::Either), "literal"),
            LOCAL_V6
        );
        assert_eq!(
            ok(
                net.get_host_by_name("localhost", AddrType::IPv4),
                "localhost"
            ),
            LOCAL_V4
        );
        let e = nb_err(net.get_host_by_name("127.0.0.1", AddrType::IPv6));
        assert!(matches!(e, Error::NoAddressOfType), "{e}");
        assert_eq!(e.kind(), ErrorKind::HostNotFound);
        let e = nb_err(net.get_host_by_address(LOCAL_V4, &mut [0u8; 255]));
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    });
}

/// Every scenario as one `#[test]`; `$with_stack` builds the stack, runs the closure with it
/// and tears it down.
macro_rules! contract_tests {
    ($with_stack:path) => {
        #[test]
        fn tcp_round_trip_v4() {
            $with_stack(|s| super::tcp_round_trip(s, false))
        }
        #[test]
        fn tcp_round_trip_v6() {
            $with_stack(|s| super::tcp_round_trip(s, true))
        }
        #[test]
        fn connect_refused() {
            $with_stack(|s| super::connect_refused(s))
        }
        #[test]
        fn reset_by_peer() {
            $with_stack(|s| super::reset_by_peer(s))
        }
        #[test]
        fn end_of_stream() {
            $with_stack(|s| super::end_of_stream(s))
        }
        #[test]
        fn would_block_everywhere() {
            $with_stack(|s| super::would_block_everywhere(s))
        }
        #[test]
        fn closed_and_unconnected_sockets() {
            $with_stack(|s| super::closed_and_unconnected_sockets(s))
        }
        #[test]
        fn udp_round_trip() {
            $with_stack(|s| super::udp_round_trip(s))
        }
        #[test]
        fn peer_closes_before_connect_returns() {
            $with_stack(|s| super::peer_closes_before_connect_returns(s))
        }
        #[test]
        fn dns() {
            $with_stack(|s| super::dns(s))
        }
    };
}

mod posix {
    use super::*;
    use std::os::fd::OwnedFd;
    use unisock_posix::PosixStack;

    fn with_stack(f: impl FnOnce(&PosixStack)) {
        f(&PosixStack)
    }

    contract_tests!(with_stack);

    /// A stale descriptor under the adapter: the kernel backend's `StaleHandle` (`ENOTSOCK`)
    /// comes through with its kind, as `TcpErrorKind::Other`, and nothing panics.
    #[test]
    fn stale_descriptor() {
        checked(&PosixStack, || {
            let mut net = NalStack::new(PosixStack);
            let file = std::fs::File::open("/dev/null").expect("open /dev/null");
            let stream = unisock_posix::TcpStream::from(OwnedFd::from(file));
            let mut s = TcpSocket::<PosixStack>::from_stream(stream, SocketAddr::new(LOCAL_V4, 9));
            let e = fails(
                TcpClientStack::send(&mut net, &mut s, b"x").map_err(nb_other),
                ErrorKind::StaleHandle,
            );
            assert!(matches!(e, Error::Stack(_)), "{e}");
            assert_eq!(TcpError::kind(&e), TcpErrorKind::Other);
            fails(
                TcpClientStack::receive(&mut net, &mut s, &mut [0u8; 4]).map_err(nb_other),
                ErrorKind::StaleHandle,
            );
            fails(s.local_addr(), ErrorKind::StaleHandle);
            ok(TcpClientStack::close(&mut net, s), "close");
        });
    }
}

mod smoltcp_loopback {
    use unisock_smoltcp::{Config, Notify, StdClock, StdLoopback, StdStack};

    type Net<'a> = &'a unisock_smoltcp::Stack<'static, StdLoopback, StdClock, Notify>;

    /// A fresh stack per test, on the in-process loopback (127.0.0.1/8, ::1).
    fn with_stack(f: impl FnOnce(&Net<'_>)) {
        let owner = StdStack::loopback(Config::loopback()).expect("loopback stack");
        let stack: Net<'_> = &owner;
        f(&stack);
    }

    contract_tests!(with_stack);
}
