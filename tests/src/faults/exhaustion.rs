//! Resource exhaustion, generic over [`unisock::Stack`]: full send buffers and a peer that
//! never reads (zero window), a listen backlog overrun, and a thousand short connections on one
//! port pair through TIME-WAIT. Each ends with the documented outcome and no live socket. The
//! backend-specific cases (smoltcp pool exhaustion, kernel file-descriptor limit, ephemeral
//! ports) are in `tests/exhaustion.rs`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use unisock::embedded_io::{Read, Write};
use unisock::prelude::*;
use unisock::{Socket, Stack, StreamListener, StreamSocket, TcpSocket};

use super::bad_input::{GUARD, Net};
use super::{Source, Verifier};
use crate::util::{assert_kind, ok};

/// What a backend documents for a listen backlog of N.
#[derive(Debug, Clone, Copy)]
pub struct Backlog {
    /// Connections beyond N the listener still completes (Linux 1, smoltcp 0).
    pub extra: usize,
    /// What the next connect gets: Linux drops the SYN (`TimedOut`), smoltcp answers RST
    /// (`ConnectionRefused`).
    pub overflow: ErrorKind,
}

/// The peer never reads: the writer fills the send buffer and the peer's window until
/// `try_write` fails with `WouldBlock` and a blocking `write` with a write timeout fails with
/// `TimedOut` (never `Ok(0)`); when the peer reads again the writer resumes, and the whole
/// stream arrives (SHA-256 compared).
pub fn zero_window_then_resume<S: Stack>(net: &Net<S>) {
    let (mut l, at) = {
        let mut l = ok(
            net.stack.listen(SocketAddr::new(net.v4.into(), 0), 1),
            "listen",
        );
        ok(
            l.set_option(SockOpt::ReadTimeout(Some(GUARD))),
            "accept timeout",
        );
        let at = ok(l.local_addr(), "local_addr");
        (l, at)
    };
    let mut w = ok(net.stack.connect(at), "connect");
    let (mut r, _) = ok(l.accept(), "accept");
    ok(
        r.set_option(SockOpt::ReadTimeout(Some(GUARD))),
        "read timeout",
    );
    const CAP: u64 = 256 * 1024 * 1024;
    let mut src = Source::new(77, CAP);
    // Fill until the stack refuses more: non-blocking writes until `WouldBlock`, then blocking
    // writes with a short write timeout until one times out (a late window update only makes
    // a write succeed and the loop go on). Bounded in bytes and time.
    ok(
        w.set_option(SockOpt::WriteTimeout(Some(Duration::from_millis(200)))),
        "write timeout",
    );
    let start = Instant::now();
    let mut would_block = false;
    loop {
        assert!(!src.done(), "256 MiB accepted with a peer that never reads");
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "filling the buffers took too long"
        );
        if !would_block {
            match w.try_write(src.pending()) {
                Ok(0) => panic!("try_write returned Ok(0) for a non-empty buffer"),
                Ok(n) => src.consume(n),
                Err(e) if e.socket_kind() == ErrorKind::WouldBlock => would_block = true,
                Err(e) => panic!("try_write failed: {e}"),
            }
            continue;
        }
        let t = Instant::now();
        match w.write(src.pending()) {
            Ok(0) => panic!("write returned Ok(0) for a non-empty buffer"),
            Ok(n) => src.consume(n),
            Err(e) if e.socket_kind() == ErrorKind::TimedOut => {
                assert!(
                    t.elapsed() >= Duration::from_millis(150),
                    "write gave up early"
                );
                break;
            }
            Err(e) => panic!("write failed: {e}"),
        }
    }
    let buffered = src.sent();
    assert!(buffered > 0, "nothing could be written at all");

    // The reader comes back: everything buffered and 1 MiB more arrives intact.
    let total = buffered + 1024 * 1024;
    let mut src2 = Source::new(77, total);
    src2.consume_all_from(&src);
    let mut v = Verifier::new(77, total);
    let mut buf = vec![0u8; 64 * 1024];
    ok(
        w.set_option(SockOpt::WriteTimeout(Some(GUARD))),
        "write timeout",
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while v.received() < total {
        assert!(
            Instant::now() < deadline,
            "transfer did not resume: {} of {total}",
            v.received()
        );
        match r.try_read(&mut buf) {
            Ok(0) => panic!("end of stream after {} bytes", v.received()),
            Ok(n) => v.feed(&buf[..n]),
            Err(e) if e.socket_kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("read: {e}"),
        }
        if !src2.done() {
            match w.try_write(src2.pending()) {
                Ok(n) => src2.consume(n),
                Err(e) if e.socket_kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("write after resume: {e}"),
            }
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let report = v.finish(src2.digest());
    assert!(report.intact(), "zero-window stream damaged: {report}");
}

/// Listen with backlog N = 2 and connect N + `extra` + 1 clients before accepting: the
/// backlog's worth succeed, the next gets the documented kind, all queued are accepted, and
/// the listener works again afterwards.
pub fn backlog_overrun<S: Stack>(net: &Net<S>, backlog: Backlog) {
    const N: usize = 2;
    let mut l = ok(
        net.stack.listen(SocketAddr::new(net.v4.into(), 0), N),
        "listen",
    );
    ok(
        l.set_option(SockOpt::ReadTimeout(Some(GUARD))),
        "accept timeout",
    );
    let at = ok(l.local_addr(), "local_addr");
    let mut clients = Vec::new();
    for i in 0..N + backlog.extra {
        clients.push(ok(
            net.stack.connect_timeout(at, Duration::from_secs(5)),
            &format!("connect #{i} within the backlog"),
        ));
    }
    assert_kind(
        net.stack.connect_timeout(at, Duration::from_millis(700)),
        backlog.overflow,
    );
    for _ in 0..N + backlog.extra {
        ok(l.accept(), "accept a queued connection");
    }
    assert_kind(l.try_accept(), ErrorKind::WouldBlock);
    let _late = ok(
        net.stack.connect_timeout(at, Duration::from_secs(5)),
        "connect after drain",
    );
    ok(l.accept(), "accept after drain");
}

/// A thousand short connections between one client port and one server port: each connects,
/// exchanges a byte each way and closes (client first, so the client end passes through
/// TIME-WAIT); the next binds the same client port with `ReuseAddr`. Every exchange succeeds and
/// no socket is left.
pub fn short_connections_one_port_pair<S: Stack>(net: &Net<S>, count: usize) {
    let mut l = ok(
        net.stack.listen(SocketAddr::new(net.v4.into(), 0), 4),
        "listen",
    );
    ok(
        l.set_option(SockOpt::ReadTimeout(Some(GUARD))),
        "accept timeout",
    );
    let at = ok(l.local_addr(), "local_addr");
    // Pick a free client port (bind to 0, note it, close).
    let client_port = {
        let mut s = ok(net.stack.tcp_socket(Domain::Ipv4), "tcp_socket");
        ok(s.bind(SocketAddr::new(net.v4.into(), 0)), "bind");
        ok(s.local_addr(), "local_addr").port()
    };
    let local = SocketAddr::new(net.v4.into(), client_port);
    let t = Instant::now();
    for i in 0..count {
        let mut s = ok(net.stack.tcp_socket(Domain::Ipv4), "tcp_socket");
        ok(s.set_option(SockOpt::ReuseAddr(true)), "ReuseAddr");
        ok(s.bind(local), &format!("bind client port again (#{i})"));
        let mut c = ok(s.connect_timeout(at, GUARD), &format!("connect #{i}"));
        let (mut srv, peer) = ok(l.accept(), "accept");
        assert_eq!(peer, local, "#{i}: the connection came from another port");
        ok(srv.set_option(SockOpt::ReadTimeout(Some(GUARD))), "timeout");
        ok(c.set_option(SockOpt::ReadTimeout(Some(GUARD))), "timeout");
        let tag = [(i % 251) as u8];
        ok(c.write_all(&tag), "client write");
        let mut b = [0u8; 1];
        ok(
            srv.read_exact(&mut b).map_err(|e| match e {
                unisock::embedded_io::ReadExactError::Other(e) => e,
                unisock::embedded_io::ReadExactError::UnexpectedEof => {
                    panic!("#{i}: end of stream before the byte")
                }
            }),
            "server read",
        );
        assert_eq!(b, tag);
        ok(srv.write_all(&tag), "server write");
        ok(
            c.read_exact(&mut b).map_err(|e| match e {
                unisock::embedded_io::ReadExactError::Other(e) => e,
                unisock::embedded_io::ReadExactError::UnexpectedEof => {
                    panic!("#{i}: end of stream before the reply")
                }
            }),
            "client read",
        );
        // Client closes first; the server sees end of stream, then closes.
        drop(c);
        let n = ok(srv.read(&mut b), "server read at end");
        assert_eq!(n, 0, "#{i}: expected end of stream");
        drop(srv);
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "{i} connections took too long"
        );
    }
}
