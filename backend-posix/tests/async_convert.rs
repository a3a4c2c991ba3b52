//! Blocking sockets convert into async ones and back (`into_async`, `Registered::into_inner`),
//! keeping their connection and unread data; async sockets cannot be created outside a tokio
//! runtime (a typed `Unsupported` error, not a panic).

use unisock::asynch::embedded_io_async::{Read as _, Write as _};
use unisock::embedded_io::{Read, Write};
use unisock::{ErrorKind, Socket, Stack, StreamListener};
use unisock_posix::PosixStack;
use unisock_posix::asynch::{Tokio, TokioStack};

#[test]
fn blocking_to_async_and_back_keeps_the_connection() {
    let stack = PosixStack;
    let mut listener = stack.listen("127.0.0.1:0".parse().unwrap(), 4).unwrap();
    let mut client = stack.connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    client.write_all(b"before").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let server = rt.block_on(async {
        let mut server = server.into_async::<Tokio>().unwrap();
        let mut buf = [0u8; 6];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"before");
        server.write_all(b"async").await.unwrap();
        server.into_inner()
    });
    let mut buf = [0u8; 5];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"async");
    // Back to blocking: the stream still works with blocking calls.
    let mut server = server;
    client.write_all(b"after").unwrap();
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"after");
}

#[test]
fn outside_a_tokio_runtime_is_unsupported() {
    let e = unisock::asynch::SendStack::udp_socket(&TokioStack::new(), unisock::Domain::Ipv4)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    let l = stack_listener();
    let e = l.into_async::<Tokio>().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}

fn stack_listener() -> unisock_posix::TcpListener {
    let l = PosixStack
        .listen("127.0.0.1:0".parse().unwrap(), 1)
        .unwrap();
    assert_ne!(l.local_addr().unwrap().port(), 0);
    l
}

/// The async connect uses a socket created non-blocking; the stream it gives is blocking
/// again once it leaves the async wrapper: a read with nothing to read waits for its timeout
/// (`TimedOut`) instead of failing at once with `WouldBlock`, and a later write of data
/// arrives. The async listener, back to blocking too, accepts with a blocking call.
#[test]
fn async_connected_stream_is_blocking_after_into_inner() {
    use std::time::{Duration, Instant};
    use unisock::SockOpt;
    use unisock::asynch::SendStack as _;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stack = TokioStack::new();
    let (client, listener) = rt.block_on(async {
        let listener = stack.listen("127.0.0.1:0".parse().unwrap(), 4).unwrap();
        let at = listener.local_addr().unwrap();
        let client = stack.connect(at).await.unwrap();
        (client.into_inner(), listener.into_inner())
    });
    let mut client = client;
    let mut listener = listener;
    let (mut server, _) = listener.accept().unwrap();
    client
        .set_option(SockOpt::ReadTimeout(Some(Duration::from_millis(150))))
        .unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 4];
    let e = client.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert!(
        start.elapsed() >= Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
    server.write_all(b"late").unwrap();
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"late");
}
