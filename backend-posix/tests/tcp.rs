//! TCP over loopback: connect/listen/accept/read/write, timeouts, flags, SIGPIPE, abort.

use std::net::SocketAddr;
use std::time::Duration;

use unisock::prelude::*;
use unisock::{Stack, StreamListener, StreamSocket};
use unisock_posix::{PosixStack, TcpListener, TcpStream};

fn any_v4() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn pair() -> (TcpListener, TcpStream, TcpStream) {
    let stack = PosixStack;
    let mut listener = stack.listen(any_v4(), 8).unwrap();
    let client = stack.connect(listener.local_addr().unwrap()).unwrap();
    let (server, peer) = listener.accept().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    (listener, client, server)
}

#[test]
fn echo_and_association() {
    let (_l, mut client, mut server) = pair();
    client.write_all(b"hello").unwrap();
    let mut buf = [0u8; 16];
    let n = server.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello");
    server.write_all(&buf[..n]).unwrap();
    let mut got = [0u8; 5];
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello");
    let a = client.association().unwrap();
    assert_eq!(a.protocol, unisock::Protocol::TCP);
    assert_eq!(a.remote, server.local_addr().unwrap());
    assert_eq!(
        a.to_string(),
        format!("tcp {} -> {}", client.local_addr().unwrap(), a.remote)
    );
    // Empty buffers.
    assert_eq!(client.write(&[]).unwrap(), 0);
    assert_eq!(client.read(&mut []).unwrap(), 0);
    // Half-close: the peer reads end of stream.
    client.shutdown(Shutdown::Write).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(server.read(&mut buf).unwrap(), 0);
    // Fully closed (client in TIME-WAIT): shutting down again is still not an error.
    server.shutdown(Shutdown::Both).unwrap();
    assert_eq!(client.read(&mut buf).unwrap(), 0);
    client.shutdown(Shutdown::Write).unwrap();
    // A direction never shut down on a closed connection is NotConnected.
    let e = client.shutdown(Shutdown::Read);
    assert_eq!(e.unwrap_err().kind(), ErrorKind::NotConnected);
}

#[test]
fn try_calls_would_block_and_timeouts_time_out() {
    let (mut l, mut client, _server) = pair();
    let mut buf = [0u8; 8];
    assert_eq!(
        client.try_read(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    assert!(!client.read_ready().unwrap());
    assert!(client.write_ready().unwrap());
    assert_eq!(l.try_accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    // The kernel keeps timeouts in clock ticks; whole seconds read back exactly.
    client
        .set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(3))))
        .unwrap();
    assert_eq!(
        client.option(SockOptName::ReadTimeout).unwrap(),
        SockOpt::ReadTimeout(Some(Duration::from_secs(3)))
    );
    client
        .set_option(SockOpt::ReadTimeout(Some(Duration::from_millis(50))))
        .unwrap();
    let e = client.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    l.set_option(SockOpt::ReadTimeout(Some(Duration::from_millis(50))))
        .unwrap();
    assert_eq!(l.accept().unwrap_err().kind(), ErrorKind::TimedOut);
}

#[test]
fn recv_flags_peek_and_waitall() {
    let (_l, mut client, mut server) = pair();
    client.write_all(b"abcdef").unwrap();
    let mut buf = [0u8; 6];
    // WAITALL gathers the whole buffer.
    let n = server
        .recv(&mut buf[..3], RecvFlags::PEEK | RecvFlags::WAITALL)
        .unwrap();
    assert_eq!(&buf[..n], b"abc");
    let n = server.recv(&mut buf, RecvFlags::WAITALL).unwrap();
    assert_eq!(&buf[..n], b"abcdef");
    // OOB: the last byte of the send is urgent.
    client.send(b"xy", SendFlags::OOB).unwrap();
    let mut one = [0u8; 1];
    // Give the urgent byte time to arrive (bounded wait).
    let mut got = None;
    for _ in 0..200 {
        match server.try_recv(&mut one, RecvFlags::OOB) {
            Ok(1) => {
                got = Some(one[0]);
                break;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::InvalidInput) => {
                std::thread::sleep(Duration::from_millis(5))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, Some(b'y'));
    let n = server.recv(&mut buf, RecvFlags::NONE).unwrap();
    assert_eq!(&buf[..n], b"x");
}

#[test]
fn connect_refused_names_the_address() {
    // Bind then drop a listener to find a port that is closed.
    let stack = PosixStack;
    let addr = stack.listen(any_v4(), 1).unwrap().local_addr().unwrap();
    let e = stack.connect(addr).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    assert_eq!(
        e.to_string(),
        format!("connect to {addr}: connection refused (os error 111)")
    );
    let e = stack
        .connect_timeout(addr, Duration::from_secs(5))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn connect_timeout_succeeds_on_loopback() {
    let stack = PosixStack;
    let mut l = stack.listen(any_v4(), 1).unwrap();
    let c = stack
        .connect_timeout(l.local_addr().unwrap(), Duration::from_secs(5))
        .unwrap();
    let (_s, peer) = l.accept().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    // The stream is blocking again after the non-blocking connect.
    let mut c = c;
    c.set_option(SockOpt::ReadTimeout(Some(Duration::from_millis(20))))
        .unwrap();
    assert_eq!(
        c.read(&mut [0u8; 1]).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
}

#[test]
fn writing_to_a_closed_peer_is_an_error_not_sigpipe() {
    let (_l, mut client, server) = pair();
    drop(server);
    let chunk = [7u8; 4096];
    let mut kind = None;
    for _ in 0..1000 {
        match client.write(&chunk) {
            Ok(_) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => {
                kind = Some(e.kind());
                break;
            }
        }
    }
    assert!(
        matches!(
            kind,
            Some(ErrorKind::BrokenPipe | ErrorKind::ConnectionReset)
        ),
        "{kind:?}"
    );
}

#[test]
fn abort_resets_the_peer() {
    let (_l, client, mut server) = pair();
    client.abort().unwrap();
    let mut buf = [0u8; 4];
    let e = server.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionReset);
}

#[test]
fn options_round_trip_and_unsupported() {
    let stack = PosixStack;
    let mut s = stack.tcp_socket(unisock::Domain::Ipv6).unwrap();
    s.set_option(SockOpt::NoDelay(true)).unwrap();
    assert_eq!(
        s.option(SockOptName::NoDelay).unwrap(),
        SockOpt::NoDelay(true)
    );
    s.set_option(SockOpt::KeepAlive(Some(Duration::from_secs(30))))
        .unwrap();
    assert_eq!(
        s.option(SockOptName::KeepAlive).unwrap(),
        SockOpt::KeepAlive(Some(Duration::from_secs(30)))
    );
    s.set_option(SockOpt::Ttl(33)).unwrap();
    assert_eq!(s.option(SockOptName::Ttl).unwrap(), SockOpt::Ttl(33));
    s.set_option(SockOpt::Linger(Some(Duration::from_secs(2))))
        .unwrap();
    assert_eq!(
        s.option(SockOptName::Linger).unwrap(),
        SockOpt::Linger(Some(Duration::from_secs(2)))
    );
    s.set_option(SockOpt::RecvBufferSize(8192)).unwrap();
    assert!(
        matches!(s.option(SockOptName::RecvBufferSize).unwrap(), SockOpt::RecvBufferSize(n) if n >= 8192)
    );
    assert_eq!(
        s.set_option(SockOpt::ReadTimeout(Some(Duration::ZERO)))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    let mut u = stack.udp_socket(unisock::Domain::Ipv4).unwrap();
    assert_eq!(
        u.set_option(SockOpt::NoDelay(true)).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    u.set_option(SockOpt::Ttl(5)).unwrap();
    assert_eq!(u.option(SockOptName::Ttl).unwrap(), SockOpt::Ttl(5));
}

#[test]
fn v6_only_separates_endpoints() {
    let stack = PosixStack;
    let l6 = stack.listen("[::1]:0".parse().unwrap(), 1).unwrap();
    let port = l6.local_addr().unwrap().port();
    // 127.0.0.1 on the same port is another endpoint: free to bind.
    let l4 = stack.listen(SocketAddr::from(([127, 0, 0, 1], port)), 1);
    assert!(l4.is_ok(), "{:?}", l4.err());
    // A second listener on the same endpoint is refused.
    let again = stack.listen(l6.local_addr().unwrap(), 1).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::AddrInUse);
}

#[test]
fn binding_twice_is_invalid_input() {
    let stack = PosixStack;
    let mut s = stack.tcp_socket(unisock::Domain::Ipv4).unwrap();
    s.bind(any_v4()).unwrap();
    assert_eq!(
        s.bind(any_v4()).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        stack.tcp_socket(unisock::Domain::Unix).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn write_timeout_and_full_buffers() {
    let mut l = TcpListener::bind(any_v4(), 1).unwrap();
    let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (_s, _) = l.accept().unwrap();
    c.set_option(SockOpt::SendBufferSize(4096)).unwrap();
    let chunk = [1u8; 65536];
    // Non-blocking: fill until WouldBlock (bounded: buffers are at most a few MB).
    let mut total = 0usize;
    let kind = loop {
        match c.try_write(&chunk) {
            Ok(n) => {
                assert!(n > 0);
                total += n;
                assert!(total < 64 << 20, "buffers never filled");
            }
            Err(e) => break e.kind(),
        }
    };
    assert_eq!(kind, ErrorKind::WouldBlock);
    assert!(!c.write_ready().unwrap());
    // Blocking with a write timeout: TimedOut, not a hang.
    c.set_option(SockOpt::WriteTimeout(Some(Duration::from_millis(50))))
        .unwrap();
    // (The receiver may still free some space: keep writing, bounded by the byte count.)
    let e = loop {
        match c.write(&chunk) {
            Ok(n) => {
                total += n;
                assert!(total < 64 << 20, "buffers never filled");
            }
            Err(e) => break e,
        }
    };
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
}

#[test]
fn data_after_shutdown_read_is_discarded_not_readable() {
    let (_l, mut client, mut server) = pair();
    server.write_all(b"queued before").unwrap();
    std::thread::sleep(Duration::from_millis(20));
    client.shutdown(Shutdown::Read).unwrap();
    let mut buf = [0u8; 32];
    assert_eq!(client.read(&mut buf).unwrap(), 0);
    server.write_all(b"sent after").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(client.read(&mut buf).unwrap(), 0);
    assert_eq!(client.try_recv(&mut buf, RecvFlags::PEEK).unwrap(), 0);
    // Writing still works.
    client.write_all(b"still").unwrap();
    let mut five = [0u8; 5];
    server.read_exact(&mut five).unwrap();
    assert_eq!(&five, b"still");
    // Nothing is left in the receive queue: the kernel reports 0 bytes readable (FIONREAD).
    let mut queued: libc::c_int = -1;
    // SAFETY: FIONREAD writes one int.
    let r = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&client),
            libc::FIONREAD,
            &mut queued,
        )
    };
    assert_eq!((r, queued), (0, 0));
}

#[test]
fn blocking_connect_honours_write_timeout() {
    // A listener whose backlog is full drops further SYNs, so a connect hangs until the
    // socket's send timeout (Linux applies SO_SNDTIMEO to connect) and reports TimedOut.
    let stack = PosixStack;
    let l = TcpListener::bind(any_v4(), 1).unwrap();
    let at = l.local_addr().unwrap();
    let mut held = Vec::new();
    let mut timed_out = false;
    for _ in 0..8 {
        let mut s = stack.tcp_socket(unisock::Domain::Ipv4).unwrap();
        s.set_option(SockOpt::WriteTimeout(Some(Duration::from_millis(300))))
            .unwrap();
        match unisock::TcpSocket::connect(s, at) {
            Ok(c) => held.push(c),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
                assert!(e.to_string().contains("timed out"), "{e}");
                timed_out = true;
                break;
            }
        }
    }
    assert!(
        timed_out,
        "{} connections admitted with backlog 1",
        held.len()
    );
}

#[test]
fn connecting_to_unspecified_or_port_zero_is_invalid_input() {
    let stack = PosixStack;
    let l = TcpListener::bind(any_v4(), 1).unwrap();
    let port = l.local_addr().unwrap().port();
    for remote in [
        SocketAddr::from(([0, 0, 0, 0], port)),
        SocketAddr::from(([0u16; 8], port)),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        "[::1]:0".parse().unwrap(),
    ] {
        let e = stack.connect(remote).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{remote}: {e}");
        assert!(
            e.to_string().starts_with(&format!("connect to {remote}: ")),
            "{e}"
        );
        let e = stack
            .connect_timeout(remote, Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{remote}: {e}");
    }
}
