//! edge-nal 0.7 through [`EdgeNalStack`]: an HTTP server unmodified from crates.io (`edge-http`
//! 0.8 (the release built on edge-nal 0.7; edge-http 0.7 is built on edge-nal 0.6)'s `Server`, built on edge-nal's `TcpBind`/`TcpAccept`/`TcpSplit`) answering the
//! system's `curl`, and the contract cases (connect refused, end of stream, reset), each with
//! the leak check.
//!
//! The server runs on posix (kernel backend, tokio reactor) over loopback and on smoltcp over
//! a TAP device in a network namespace the test creates (needs root); the contract cases on
//! posix and on smoltcp's in-process loopback. Without `curl` the HTTP test skips with a notice (`CI=true`: a failure).
#![cfg(feature = "edge-nal")]

use std::fmt::{Debug, Display};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::time::Duration;

use edge_http::Method;
use edge_http::io::Error as HttpError;
use edge_http::io::server::{Connection, DefaultServer, Handler};
use edge_nal::{Close, TcpAccept, TcpBind, TcpConnect, TcpShutdown, TcpSplit};
use unisock::ErrorKind;
use unisock::asynch::embedded_io_async::{Read, Write};
use unisock_conformance::netns::{configure_kernel_side, enter_private_netns};
use unisock_conformance::util::{LeakCheck, counter, is_root, serial, skip};
use unisock_nal::edge::EdgeNalStack;
use unisock_posix::PosixStack;
use unisock_posix::asynch::TokioStack;

const LIMIT: Duration = Duration::from_secs(10);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A free loopback port (bound and released by a std listener).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Hello;

impl Handler for Hello {
    type Error<E>
        = HttpError<E>
    where
        E: Debug;

    async fn handle<T, const N: usize>(
        &self,
        _task_id: impl Display + Copy,
        conn: &mut Connection<'_, T, N>,
    ) -> Result<(), Self::Error<T::Error>>
    where
        T: Read + Write,
    {
        let headers = conn.headers()?;
        if headers.method != Method::Get {
            conn.initiate_response(405, Some("Method Not Allowed"), &[])
                .await?;
        } else if headers.path != "/hello" {
            conn.initiate_response(404, Some("Not Found"), &[]).await?;
        } else {
            conn.initiate_response(200, Some("OK"), &[("Content-Type", "text/plain")])
                .await?;
            conn.write_all(b"Hello from unisock").await?;
        }
        Ok(())
    }
}

fn curl(args: Vec<String>) -> std::process::Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl")
}

/// Serve with edge-http on `net` at `at` (an address of the stack's) and fetch from it with
/// `curl` run from this thread (so in this thread's network namespace): one request, and two
/// on one kept-alive connection at the same time.
fn serve_and_curl<S>(net: EdgeNalStack<S>, at: SocketAddr)
where
    S: unisock::asynch::Stack,
    S::TcpStream: unisock::asynch::SplitStream,
{
    let url = format!("http://{at}/hello");
    let missing = format!("http://{at}/nope");
    let a = std::thread::spawn({
        let url = url.clone();
        move || {
            // Let the server bind first; curl retries a refused connection within its bound.
            curl(vec![
                "--retry".into(),
                "5".into(),
                "--retry-connrefused".into(),
                url,
            ])
        }
    });
    let b = std::thread::spawn(move || {
        curl(vec![
            "--retry".into(),
            "5".into(),
            "--retry-connrefused".into(),
            "-w".into(),
            " %{http_code}\n".into(),
            url,
            missing,
        ])
    });
    let rt = runtime();
    rt.block_on(async {
        let acceptor = net.bind(at).await.unwrap();
        let mut server = DefaultServer::new();
        let run = server.run(Some(2_000), acceptor, Hello);
        let clients = async {
            while !(a.is_finished() && b.is_finished()) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::select! {
            r = run => panic!("server ended: {r:?}"),
            out = tokio::time::timeout(LIMIT * 3, clients) => out.expect("curl timed out"),
        }
    });
    drop(rt);
    let (one, two) = (a.join().unwrap(), b.join().unwrap());
    assert!(one.status.success(), "{one:?}");
    assert_eq!(String::from_utf8_lossy(&one.stdout), "Hello from unisock");
    assert!(two.status.success(), "{two:?}");
    assert_eq!(
        String::from_utf8_lossy(&two.stdout),
        "Hello from unisock 200\n 404\n"
    );
}

fn have_curl() -> bool {
    if Command::new("curl").arg("--version").output().is_err() {
        skip("curl not installed");
        return false;
    }
    true
}

#[test]
fn edge_http_server_answers_curl_posix() {
    if !have_curl() {
        return;
    }
    let _serial = serial();
    let blocking = PosixStack;
    let count = counter(&blocking);
    let leaks = LeakCheck::new(&[("posix", &count)]);
    let at = SocketAddr::from(([127, 0, 0, 1], free_port()));
    serve_and_curl(EdgeNalStack::new(TokioStack::new()), at);
    leaks.finish(LIMIT);
}

#[test]
fn edge_http_server_answers_curl_smoltcp_tap() {
    if !have_curl() {
        return;
    }
    let _serial = serial();
    if !is_root() {
        return skip("the TAP test needs root (network namespace and TAP device)");
    }
    if let Err(e) = enter_private_netns() {
        return skip(&format!("cannot make a private network namespace: {e}"));
    }
    const TAP: &str = "usknal3";
    let owner = unisock_smoltcp::StdStack::tap(unisock_smoltcp::TapOptions {
        name: TAP.into(),
        ips: vec![unisock_smoltcp::Cidr::parse("10.7.0.2/24").expect("cidr")],
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("TAP stack: {e}"));
    configure_kernel_side(TAP, "10.7.0.1/24", None).unwrap_or_else(|e| panic!("{e}"));
    let stack = &*owner;
    let count = counter(&stack);
    let leaks = LeakCheck::new(&[("smoltcp", &count)]);
    serve_and_curl(
        EdgeNalStack::new(stack),
        SocketAddr::from(([10, 7, 0, 2], 8080)),
    );
    leaks.finish(LIMIT);
}

/// The contract cases through the edge-nal traits on any unisock async stack whose streams
/// split; `ip` is an address of the stack's own (the listener binds it, connects go to it).
async fn contract<S>(net: &EdgeNalStack<S>, ip: std::net::IpAddr)
where
    S: unisock::asynch::Stack,
    S::TcpStream: unisock::asynch::SplitStream,
{
    // Connection refused: nothing listens on that port.
    let Err(err) = net.connect(SocketAddr::new(ip, 9)).await else {
        panic!("connected to a closed port")
    };
    assert_eq!(
        unisock::Error::socket_kind(&err),
        ErrorKind::ConnectionRefused
    );

    let acceptor = net.bind(SocketAddr::new(ip, 0)).await.unwrap();
    let at = SocketAddr::new(ip, acceptor.local_addr().unwrap().unwrap().port());

    // Split: the read half waits while the write half sends (one task, both futures).
    let (client, (peer, mut server)) =
        futures_join(net.connect(at), async { acceptor.accept().await.unwrap() }).await;
    let mut client = client.unwrap();
    assert_eq!(peer.ip(), ip);
    {
        let (mut r, mut w) = client.split();
        let mut buf = [0u8; 5];
        let reading = async {
            edge_nal::Readable::readable(&mut r).await.unwrap();
            r.read_exact(&mut buf).await.unwrap();
        };
        let echoing = async {
            let mut got = [0u8; 5];
            server.read_exact(&mut got).await.unwrap();
            server.write_all(&got).await.unwrap();
        };
        tokio::time::timeout(LIMIT, async {
            tokio::join!(reading, echoing, async {
                w.write_all(b"hello").await.unwrap()
            })
        })
        .await
        .unwrap();
        assert_eq!(&buf, b"hello");
    }

    // End of stream: the server half-closes, the client reads Ok(0), readable says ready.
    server.close(Close::Write).await.unwrap();
    tokio::time::timeout(LIMIT, edge_nal::Readable::readable(&mut client))
        .await
        .unwrap()
        .unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(client.read(&mut buf).await.unwrap(), 0);
    drop((client, server));

    // Reset: the server aborts, the client's read fails with ConnectionReset.
    let (client, (_, mut server)) =
        futures_join(net.connect(at), async { acceptor.accept().await.unwrap() }).await;
    let mut client = client.unwrap();
    server.abort().await.unwrap();
    drop(server);
    let err = tokio::time::timeout(LIMIT, client.read(&mut buf))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        unisock::Error::socket_kind(&err),
        ErrorKind::ConnectionReset
    );
    drop(client);

    // Closed socket: after our close(Both) a write fails with BrokenPipe and a read reports
    // end of stream (Ok(0)), on both backends; the peer reads end of stream.
    let (client, (_, mut server)) =
        futures_join(net.connect(at), async { acceptor.accept().await.unwrap() }).await;
    let mut client = client.unwrap();
    client.close(Close::Both).await.unwrap();
    let err = tokio::time::timeout(LIMIT, client.write_all(b"after close"))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(unisock::Error::socket_kind(&err), ErrorKind::BrokenPipe);
    let n = tokio::time::timeout(LIMIT, client.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0, "a read after our close(Both)");
    let n = tokio::time::timeout(LIMIT, server.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0, "the peer's read after our close");
    drop((client, server));

    // accept(&self) from several futures at once: each gets one connection.
    let (a, b, c1, c2) = tokio::time::timeout(LIMIT, async {
        tokio::join!(
            acceptor.accept(),
            acceptor.accept(),
            net.connect(at),
            net.connect(at)
        )
    })
    .await
    .unwrap();
    drop((a.unwrap(), b.unwrap(), c1.unwrap(), c2.unwrap()));
    drop(acceptor);
}

/// Both futures to completion (bounded).
async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let (a, b) = tokio::time::timeout(LIMIT, async { tokio::join!(a, b) })
        .await
        .expect("connect/accept timed out");
    (a, b)
}

#[test]
fn contract_refused_eof_reset_split_posix() {
    let _serial = serial();
    let blocking = PosixStack;
    let count = counter(&blocking);
    let leaks = LeakCheck::new(&[("posix", &count)]);
    let rt = runtime();
    rt.block_on(contract(
        &EdgeNalStack::new(TokioStack::new()),
        std::net::Ipv4Addr::LOCALHOST.into(),
    ));
    drop(rt);
    leaks.finish(LIMIT);
}

#[test]
fn contract_refused_eof_reset_split_smoltcp_loopback() {
    let _serial = serial();
    let owner = unisock_smoltcp::StdStack::loopback(unisock_smoltcp::Config::loopback()).unwrap();
    let stack = &*owner;
    let count = counter(&stack);
    let leaks = LeakCheck::new(&[("smoltcp", &count)]);
    let rt = runtime();
    rt.block_on(contract(
        &EdgeNalStack::new(stack),
        std::net::Ipv4Addr::LOCALHOST.into(),
    ));
    drop(rt);
    leaks.finish(LIMIT);
}

/// A stale descriptor under the edge-nal socket (posix): a pipe, not a socket, registered with
/// the reactor; `StaleHandle` comes through read, write, readable and the split halves,
/// nothing panics.
#[test]
fn contract_stale_descriptor_posix() {
    use std::os::fd::OwnedFd;
    use unisock_posix::asynch::AsyncIo;
    let _serial = serial();
    let blocking = PosixStack;
    let count = counter(&blocking);
    let leaks = LeakCheck::new(&[("posix", &count)]);
    let rt = runtime();
    rt.block_on(async {
        let (reader, _writer) = std::io::pipe().expect("pipe");
        let stream = unisock_posix::TcpStream::from(OwnedFd::from(reader))
            .into_async::<AsyncIo>()
            .expect("register");
        let mut socket = unisock_nal::edge::EdgeTcpSocket::new(stream);
        let mut buf = [0u8; 4];
        let kind = |e: &dyn unisock::Error| e.socket_kind();
        let e = socket.read(&mut buf).await.unwrap_err();
        assert_eq!(kind(&e), ErrorKind::StaleHandle);
        let e = socket.write(b"x").await.unwrap_err();
        assert_eq!(kind(&e), ErrorKind::StaleHandle);
        {
            let (mut r, mut w) = socket.split();
            let e = r.read(&mut buf).await.unwrap_err();
            assert_eq!(kind(&e), ErrorKind::StaleHandle);
            let e = w.write(b"x").await.unwrap_err();
            assert_eq!(kind(&e), ErrorKind::StaleHandle);
        }
        drop(socket);
    });
    drop(rt);
    leaks.finish(LIMIT);
}
