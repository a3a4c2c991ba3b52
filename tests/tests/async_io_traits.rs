//! The poll-based I/O traits of the std async ecosystem on unisock's async streams, used the
//! way tokio and futures users use them, on both backends: the kernel (`TokioStack` /
//! `AsyncIoStack`) and smoltcp on its in-process device with the `std` driver thread.
//!
//! - tokio's `AsyncRead`/`AsyncWrite`: `tokio::io::copy` echo through `tokio::io::split` and
//!   through unisock's own split halves (`BufReader::lines` on the read half), half-close
//!   with `shutdown()`, `read_to_end`; gathered writes (`write_vectored`: one `sendmsg` on
//!   the kernel, one hold of the lock on smoltcp); the errors as `std::io::Error` (reset, broken pipe);
//!   **hyper** 1 (client and server, HTTP/1.1 through `hyper_util::rt::TokioIo`) with a 1 MiB
//!   response and a 256 KiB request body echoed, both checked.
//! - futures' `AsyncRead`/`AsyncWrite`: `futures_lite::io::copy` echo, `close()` as the
//!   half-close, on async-io's `block_on`.
//! - Real peers over a TAP device (in a network namespace of the test's own, as root): hyper's
//!   server on smoltcp answering `curl` on the kernel's side (1 MiB GET, 256 KiB POST echoed,
//!   one kept-alive connection), and hyper's client on smoltcp against hyper's server on the
//!   kernel.
//!
//! Every exchange is bounded by a timeout (a lost wake-up fails instead of hanging), every
//! byte is checked, and each test ends with the leak check.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use unisock::Socket;
use unisock::asynch::{SplitStream, Stack, StreamListener};
use unisock_conformance::util::{LeakCheck, serial};

/// The bound on each exchange.
const LIMIT: Duration = Duration::from_secs(60);
/// Bytes of the bulk echoes.
const BULK: usize = 1 << 20;
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// `n` bytes that differ per `seed` and do not repeat with a short period.
fn data(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A connected pair on `stack`: (client, server).
async fn pair<S: Stack>(stack: &S) -> (S::TcpStream, S::TcpStream) {
    let mut listener = stack
        .listen(SocketAddr::new(LOCALHOST, 0), 1)
        .expect("listen");
    let at = listener.local_addr().expect("local_addr");
    let (client, accepted) = futures_lite::future::zip(stack.connect(at), listener.accept()).await;
    (client.expect("connect"), accepted.expect("accept").0)
}

/// `tokio::io::copy` echo: the server copies its read side (`tokio::io::split`) into its write
/// side until end of stream, then shuts down; the client writes 1 MiB, shuts down and reads
/// everything back to the end.
async fn tokio_copy_echo<S: Stack>(stack: &S)
where
    S::TcpStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (client, server) = pair(stack).await;
    let sent = data(BULK, 1);
    let server = async move {
        let (mut rd, mut wr) = tokio::io::split(server);
        let n = tokio::io::copy(&mut rd, &mut wr).await.expect("copy");
        wr.shutdown().await.expect("server shutdown");
        n
    };
    let (mut crd, mut cwr) = tokio::io::split(client);
    let write = async {
        cwr.write_all(&sent).await.expect("write_all");
        cwr.shutdown().await.expect("client shutdown");
        // A second shutdown succeeds, as on tokio::net.
        cwr.shutdown().await.expect("second shutdown");
    };
    let read = async {
        let mut back = Vec::new();
        crd.read_to_end(&mut back).await.expect("read_to_end");
        back
    };
    let (copied, ((), back)) = tokio::join!(server, async { tokio::join!(write, read) });
    assert_eq!(copied, BULK as u64, "bytes tokio::io::copy moved");
    assert!(back == sent, "echo differs ({} bytes back)", back.len());
}

/// Through unisock's own split halves: the server reads lines with `BufReader::lines` on its
/// read half and answers each, upper-cased, on its write half (`$server` is a concrete
/// stream: the halves' types are the backend's).
macro_rules! lines_through_halves {
    ($client:expr, $server:expr) => {{
        let (mut client, mut server) = ($client, $server);
        const LINES: usize = 2000;
        let serve = async {
            let (rd, mut wr) = SplitStream::split(&mut server);
            let mut lines = BufReader::new(rd).lines();
            let mut n = 0;
            while let Some(line) = lines.next_line().await.expect("next_line") {
                wr.write_all(format!("{}\n", line.to_uppercase()).as_bytes())
                    .await
                    .expect("answer");
                n += 1;
            }
            wr.shutdown().await.expect("half shutdown");
            n
        };
        let talk = async {
            let (rd, mut wr) = SplitStream::split(&mut client);
            let ask = async {
                for i in 0..LINES {
                    wr.write_all(format!("line {i} of the test\n").as_bytes())
                        .await
                        .expect("ask");
                }
                wr.shutdown().await.expect("client half shutdown");
            };
            let hear = async {
                let mut lines = BufReader::new(rd).lines();
                let mut i = 0;
                while let Some(line) = lines.next_line().await.expect("hear") {
                    assert_eq!(line, format!("LINE {i} OF THE TEST"));
                    i += 1;
                }
                i
            };
            tokio::join!(ask, hear).1
        };
        let (served, heard) = tokio::join!(serve, talk);
        assert_eq!(
            (served, heard),
            (LINES, LINES),
            "lines served and heard back"
        );
    }};
}

/// Gathered writes: many small slices through `write_vectored` (advancing past what each
/// call took), read back whole. Returns the stream's `is_write_vectored` and the most bytes
/// one call took.
async fn tokio_vectored<S: Stack>(stack: &S) -> (bool, usize)
where
    S::TcpStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut client, mut server) = pair(stack).await;
    let sent = data(200 * 1024, 5);
    let vectored = tokio::io::AsyncWrite::is_write_vectored(&client);
    let mut most = 0;
    let write = async {
        // 400 slices of 512 bytes: more than one call takes at once on either backend.
        let mut slices: Vec<std::io::IoSlice<'_>> =
            sent.chunks(512).map(std::io::IoSlice::new).collect();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            let n = client.write_vectored(rest).await.expect("write_vectored");
            assert!(n > 0, "write_vectored wrote nothing");
            most = most.max(n);
            std::io::IoSlice::advance_slices(&mut rest, n);
        }
        client.shutdown().await.expect("shutdown");
    };
    let read = async {
        let mut back = Vec::new();
        server.read_to_end(&mut back).await.expect("read_to_end");
        back
    };
    let ((), back) = tokio::join!(write, read);
    assert!(
        back == sent,
        "gathered data differs ({} bytes back)",
        back.len()
    );
    (vectored, most)
}

/// Errors through `std::io::Error`: a zero-length read completes at once, a write after
/// `shutdown()` is `BrokenPipe`, a read after the peer's abort is `ConnectionReset`.
async fn tokio_errors<S: Stack>(stack: &S) -> std::io::Error
where
    S::TcpStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut client, server) = pair(stack).await;
    let mut empty = [0u8; 0];
    assert_eq!(client.read(&mut empty).await.expect("empty read"), 0);
    client.shutdown().await.expect("shutdown");
    let e = client
        .write(b"late")
        .await
        .expect_err("write after shutdown");
    assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    unisock::asynch::StreamSocket::abort(server).expect("abort");
    let mut buf = [0u8; 16];
    let e = client
        .read(&mut buf)
        .await
        .expect_err("read after the peer's abort");
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
    e
}

/// hyper 1 on both ends of a unisock connection: a GET of a 1 MiB body and a POST whose
/// 256 KiB body the server echoes, on one kept-alive HTTP/1.1 connection; then the client
/// drops its sender and both connection futures end.
async fn hyper_round_trip<S: Stack>(stack: &S)
where
    S::TcpStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (client, server) = pair(stack).await;
    hyper_over(client, server).await;
}

/// The exchange of [`hyper_round_trip`] over a connected pair of any two stream types (the
/// two ends may be on different stacks).
async fn hyper_over<A, B>(client: A, server: B)
where
    A: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    B: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper::{Method, Request, Response, body::Incoming};
    use hyper_util::rt::TokioIo;

    let page = Bytes::from(data(BULK, 2));
    let upload = data(256 * 1024, 3);
    let expected = page.clone();

    let service = hyper::service::service_fn(|req: Request<Incoming>| {
        let page = page.clone();
        async move {
            let body = match (req.method(), req.uri().path()) {
                (&Method::GET, "/page") => page,
                (&Method::POST, "/echo") => req.into_body().collect().await?.to_bytes(),
                _ => Bytes::from_static(b"not found"),
            };
            Ok::<_, hyper::Error>(Response::new(Full::new(body)))
        }
    });
    let serve = async {
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(server), service)
            .await
            .expect("hyper server connection");
    };
    let fetch = async {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(client))
            .await
            .expect("hyper handshake");
        let drive = async { conn.await.expect("hyper client connection") };
        let requests = async move {
            let get = Request::get("/page")
                .header("host", "unisock")
                .body(Full::new(Bytes::new()))
                .unwrap();
            let res = sender.send_request(get).await.expect("GET");
            assert!(res.status().is_success(), "GET status {}", res.status());
            let got = res
                .into_body()
                .collect()
                .await
                .expect("GET body")
                .to_bytes();
            assert!(got == expected, "GET body differs ({} bytes)", got.len());

            let post = Request::post("/echo")
                .header("host", "unisock")
                .body(Full::new(Bytes::from(upload.clone())))
                .unwrap();
            let res = sender.send_request(post).await.expect("POST");
            let got = res
                .into_body()
                .collect()
                .await
                .expect("POST body")
                .to_bytes();
            assert!(
                got[..] == upload[..],
                "POST echo differs ({} bytes)",
                got.len()
            );
            // Dropping the sender ends the client connection; the server then sees the end.
        };
        tokio::join!(drive, requests);
    };
    tokio::join!(serve, fetch);
}

/// futures' traits: `futures_lite::io::copy` echo through `futures_lite::io::split`, the
/// client's `close()` as the half-close, `read_to_end`.
async fn futures_copy_echo<S: Stack>(stack: &S)
where
    S::TcpStream: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    use futures_lite::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (client, server) = pair(stack).await;
    let sent = data(BULK, 4);
    let server = async move {
        let (rd, mut wr) = futures_lite::io::split(server);
        let n = futures_lite::io::copy(rd, &mut wr).await.expect("copy");
        wr.close().await.expect("server close");
        n
    };
    let (mut crd, mut cwr) = futures_lite::io::split(client);
    let write = async {
        cwr.write_all(&sent).await.expect("write_all");
        cwr.close().await.expect("client close");
    };
    let read = async {
        let mut back = Vec::new();
        crd.read_to_end(&mut back).await.expect("read_to_end");
        back
    };
    let (copied, ((), back)) =
        futures_lite::future::zip(server, futures_lite::future::zip(write, read)).await;
    assert_eq!(copied, BULK as u64, "bytes futures_lite::io::copy moved");
    assert!(back == sent, "echo differs ({} bytes back)", back.len());
}

/// A current-thread tokio runtime running `f` within [`LIMIT`].
fn on_tokio<T>(f: impl Future<Output = T>) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        tokio::time::timeout(LIMIT, f)
            .await
            .expect("not done in time (a lost wake-up?)")
    })
}

/// async-io's `block_on` running `f` within [`LIMIT`].
fn on_async_io<T>(f: impl Future<Output = T>) -> T {
    async_io::block_on(futures_lite::future::or(f, async {
        async_io::Timer::after(LIMIT).await;
        panic!("not done in time (a lost wake-up?)")
    }))
}

mod kernel {
    use super::*;
    use unisock_posix::asynch::{AsyncIoStack, TokioStack};

    /// Run `f` with the posix leak check around it.
    fn checked(f: impl FnOnce()) {
        let _serial = serial();
        let count = || unisock::Stack::open_sockets(&unisock_posix::PosixStack);
        let leaks = LeakCheck::new(&[("posix", &count)]);
        f();
        leaks.finish(Duration::from_secs(5));
    }

    #[test]
    fn tokio_copy_echo() {
        checked(|| on_tokio(super::tokio_copy_echo(&TokioStack::new())));
    }

    #[test]
    fn tokio_lines_through_the_split_halves() {
        checked(|| {
            on_tokio(async {
                let (c, s) = pair(&TokioStack::new()).await;
                lines_through_halves!(c, s);
            })
        });
    }

    #[test]
    fn tokio_vectored_writes_are_one_sendmsg() {
        checked(|| {
            let (vectored, most) = on_tokio(tokio_vectored(&TokioStack::new()));
            assert!(vectored && most > 512, "one call took at most {most} bytes");
        });
    }

    #[test]
    fn tokio_errors_carry_the_os_error() {
        checked(|| {
            let e = on_tokio(super::tokio_errors(&TokioStack::new()));
            assert_eq!(e.raw_os_error(), Some(libc::ECONNRESET), "{e}");
        });
    }

    #[test]
    fn hyper_client_and_server() {
        checked(|| on_tokio(hyper_round_trip(&TokioStack::new())));
    }

    #[test]
    fn futures_io_copy_echo_on_async_io() {
        checked(|| on_async_io(futures_copy_echo(&AsyncIoStack::new())));
    }

    #[test]
    fn futures_io_on_a_tokio_registered_stream() {
        // The traits do not depend on the reactor.
        checked(|| on_tokio(futures_copy_echo(&TokioStack::new())));
    }

    /// UNIX-domain streams have the traits too: a connected pair registered with tokio,
    /// `tokio::io::copy` one way, half-close, everything read back to the end.
    #[test]
    fn tokio_traits_on_a_unix_stream_pair() {
        use unisock_posix::asynch::{Registered, Tokio};
        checked(|| {
            on_tokio(async {
                let (a, b) = unisock_posix::UnixStream::pair().expect("socketpair");
                let mut a: Registered<Tokio, _> = Registered::new(a).expect("register a");
                let b: Registered<Tokio, _> = Registered::new(b).expect("register b");
                let sent = data(BULK, 9);
                let (mut brd, mut bwr) = tokio::io::split(b);
                let echo = async {
                    tokio::io::copy(&mut brd, &mut bwr).await.expect("copy");
                    bwr.shutdown().await.expect("b shutdown");
                };
                let (mut ard, mut awr) = tokio::io::split(&mut a);
                let talk = async {
                    awr.write_all(&sent).await.expect("write_all");
                    awr.shutdown().await.expect("a shutdown");
                };
                let hear = async {
                    let mut back = Vec::new();
                    ard.read_to_end(&mut back).await.expect("read_to_end");
                    back
                };
                let ((), (), back) = tokio::join!(echo, talk, hear);
                assert!(back == sent, "echo differs ({} bytes back)", back.len());
            })
        });
    }
}

mod smoltcp_inproc {
    use super::*;
    use unisock_smoltcp::{Config, PoolConfig, StdStack};

    /// Run `f` on a fresh in-process stack (driver thread) with its leak check.
    fn checked(f: impl FnOnce(&unisock_smoltcp::LoopbackStack)) {
        let _serial = serial();
        let net = StdStack::loopback(Config::loopback().with_pool(PoolConfig {
            tcp_rx: 64 * 1024,
            tcp_tx: 64 * 1024,
            ..PoolConfig::SMALL
        }))
        .expect("loopback stack");
        let count = || net.open_sockets();
        let leaks = LeakCheck::new(&[("smoltcp", &count)]);
        f(&net);
        leaks.finish(Duration::from_secs(10));
    }

    #[test]
    fn tokio_copy_echo() {
        checked(|net| on_tokio(super::tokio_copy_echo(&net.stack())));
    }

    #[test]
    fn tokio_lines_through_the_split_halves() {
        checked(|net| {
            on_tokio(async {
                let (c, s) = pair(&net.stack()).await;
                lines_through_halves!(c, s);
            })
        });
    }

    #[test]
    fn tokio_vectored_writes_fill_the_ring_at_once() {
        checked(|net| {
            let (vectored, most) = on_tokio(tokio_vectored(&net.stack()));
            assert!(vectored && most > 512, "one call took at most {most} bytes");
        });
    }

    #[test]
    fn tokio_errors() {
        checked(|net| {
            on_tokio(super::tokio_errors(&net.stack()));
        });
    }

    #[test]
    fn hyper_client_and_server() {
        checked(|net| on_tokio(hyper_round_trip(&net.stack())));
    }

    #[test]
    fn futures_io_copy_echo() {
        checked(|net| on_async_io(futures_copy_echo(&net.stack())));
    }
}

/// smoltcp over a TAP device against the kernel, in a network namespace of the test's own
/// (as root; skipped with a notice otherwise, a failure under `CI=true`): hyper on unisock's
/// userspace stack talking to real peers.
mod smoltcp_tap {
    use super::*;
    use std::net::Ipv6Addr;
    use std::process::{Command, Stdio};
    use unisock_conformance::netns::tap_stack;
    use unisock_conformance::util::skip;
    use unisock_posix::asynch::TokioStack;

    const SMOL: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);
    const KERNEL: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);

    fn setup() -> Option<unisock_smoltcp::TapStack> {
        tap_stack(
            "usiotap0",
            SMOL,
            Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 2),
            "10.9.0.1/24",
            "fd00:9::1/64",
        )
    }

    /// hyper's server on smoltcp over the TAP, fetched by `curl` on the kernel's side: a
    /// 1 MiB GET and a 256 KiB POST echoed, on one kept-alive connection (`--next`), both
    /// checked byte for byte.
    #[test]
    fn hyper_server_on_smoltcp_answers_curl() {
        use bytes::Bytes;
        use http_body_util::{BodyExt, Full};
        use hyper::{Method, Request, Response, body::Incoming};
        use hyper_util::rt::TokioIo;

        let _serial = serial();
        if Command::new("curl").arg("--version").output().is_err() {
            skip("curl is not installed");
            return;
        }
        let Some(net) = setup() else { return };
        let count = || net.open_sockets();
        let leaks = LeakCheck::new(&[("smoltcp", &count)]);
        let dir = std::env::temp_dir().join(format!("unisock-hyper-curl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let page = data(BULK, 7);
        let upload = data(256 * 1024, 8);
        std::fs::write(dir.join("upload"), &upload).expect("write upload");

        // curl runs on a thread of this namespace (threads inherit the creating thread's).
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let curl_dir = dir.clone();
        let curl = std::thread::spawn(move || {
            let url = |path: &str| format!("http://{SMOL}:8080{path}");
            let status = Command::new("curl")
                .args(["-sS", "--max-time", "30", "-o"])
                .arg(curl_dir.join("page"))
                .arg(url("/page"))
                .args(["--next", "-sS", "--max-time", "30", "--data-binary"])
                .arg(format!("@{}", curl_dir.join("upload").display()))
                .arg("-o")
                .arg(curl_dir.join("echo"))
                .arg(url("/echo"))
                .stdin(Stdio::null())
                .status();
            let _ = done_tx.send(());
            status
        });

        let stack = net.stack();
        let served = Bytes::from(page.clone());
        on_tokio(async {
            let mut listener =
                unisock::asynch::Stack::listen(&stack, SocketAddr::new(IpAddr::V4(SMOL), 8080), 4)
                    .expect("listen");
            let serve = async {
                loop {
                    let (conn, _) = listener.accept().await.expect("accept");
                    let page = served.clone();
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let page = page.clone();
                        async move {
                            let body = match (req.method(), req.uri().path()) {
                                (&Method::GET, "/page") => page,
                                (&Method::POST, "/echo") => {
                                    req.into_body().collect().await?.to_bytes()
                                }
                                _ => Bytes::from_static(b"not found"),
                            };
                            Ok::<_, hyper::Error>(Response::new(Full::new(body)))
                        }
                    });
                    // One connection at a time: curl reuses its connection for `--next`.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(conn), service)
                        .await;
                }
            };
            futures_lite::future::or(serve, async {
                let _ = done_rx.await;
            })
            .await;
        });
        let status = curl.join().expect("curl thread").expect("run curl");
        assert!(status.success(), "curl: {status}");
        let got = std::fs::read(dir.join("page")).expect("page");
        assert!(got == page, "GET body differs ({} bytes)", got.len());
        let echoed = std::fs::read(dir.join("echo")).expect("echo");
        assert!(
            echoed == upload,
            "POST echo differs ({} bytes)",
            echoed.len()
        );
        let _ = std::fs::remove_dir_all(&dir);
        leaks.finish(Duration::from_secs(10));
    }

    /// hyper's client on smoltcp, hyper's server on the kernel (`TokioStack`), across the
    /// TAP: the exchange of the in-process tests between the two stacks.
    #[test]
    fn hyper_client_on_smoltcp_server_on_the_kernel() {
        let _serial = serial();
        let Some(net) = setup() else { return };
        let count = || net.open_sockets();
        let leaks = LeakCheck::new(&[("smoltcp", &count)]);
        let stack = net.stack();
        on_tokio(async {
            let kernel = TokioStack::new();
            let mut listener =
                unisock::asynch::Stack::listen(&kernel, SocketAddr::new(IpAddr::V4(KERNEL), 0), 1)
                    .expect("listen");
            let at = listener.local_addr().expect("local_addr");
            let (client, accepted) = futures_lite::future::zip(
                unisock::asynch::Stack::connect(&stack, at),
                listener.accept(),
            )
            .await;
            hyper_over(client.expect("connect"), accepted.expect("accept").0).await;
        });
        leaks.finish(Duration::from_secs(10));
    }
}
