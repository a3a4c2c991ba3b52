//! An async HTTP client, unmodified from crates.io (`reqwless` 0.14 over embedded-nal-async
//! 0.9), through [`AsyncNalStack`] against `python3 -m http.server` started by the test,
//! fetching a multi-megabyte file checked by SHA-256:
//!
//! - `posix_loopback`: the kernel backend, the server on 127.0.0.1;
//! - `smoltcp_tap`: smoltcp on a TAP device against the kernel, inside a network namespace
//!   the test creates (server on 10.7.0.1, smoltcp 10.7.0.2). Needs root.
//!
//! The async stacks are the backends' native ones (`unisock-posix`'s `AsyncIoStack`;
//! `&unisock_smoltcp::Stack`, driven by `StdStack`'s driver thread) under `async_io::block_on`;
//! the leak check counts on the same backend's blocking stack. Without python3 (or root, for
//! TAP) the tests skip with a notice; with `CI=true` a skip is a failure.
#![cfg(feature = "async")]

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwless::client::HttpClient;
use reqwless::request::{Method, RequestBuilder};
use sha2::{Digest, Sha256};
use unisock::asynch::embedded_io_async::Read;
use unisock_conformance::netns::{configure_kernel_side, enter_private_netns};
use unisock_conformance::util::{LeakCheck, counter, is_root, serial, skip};
use unisock_nal::asynch::AsyncNalStack;

/// The size of the file served: 8 MiB plus an odd tail.
const FILE_LEN: usize = (8 << 20) + 12345;
/// The bound on waiting for the server.
const LIMIT: Duration = Duration::from_secs(20);
/// The bound on the whole transfer.
const BOUND: Duration = Duration::from_secs(60);

/// Run `f` to completion on this thread (async-io's executor); panics after [`BOUND`], so a
/// lost wake-up fails instead of hanging.
#[track_caller]
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    async fn expire<T>() -> T {
        async_io::Timer::after(BOUND).await;
        panic!("future not done within {BOUND:?}")
    }
    async_io::block_on(futures_lite::future::or(f, expire()))
}

/// Kills (by PID) and reaps the server, and removes its directory, when dropped.
struct Server {
    child: Child,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The file's bytes: a xorshift stream (incompressible, no repeating period to hide a
/// misplaced block).
fn file_bytes() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..FILE_LEN)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// `python3 -m http.server` on `at`, serving a directory holding `blob.bin` (`file`); `None`
/// after a skip notice if python3 is missing.
fn start_server(at: SocketAddr, file: &[u8]) -> Option<Server> {
    let dir = std::env::temp_dir().join(format!(
        "unisock-nal-http-{}-{}-{}",
        std::process::id(),
        at.ip(),
        at.port()
    ));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    std::fs::write(dir.join("blob.bin"), file).expect("write blob.bin");
    let child = Command::new("python3")
        .args(["-m", "http.server", &at.port().to_string(), "--bind"])
        .arg(at.ip().to_string())
        .arg("--directory")
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            skip(&format!("python3 is not available: {e}"));
            return None;
        }
    };
    let server = Server { child, dir };
    let deadline = Instant::now() + LIMIT;
    while TcpStream::connect_timeout(&at, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "http.server does not accept connections on {at} after {LIMIT:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(server)
}

/// GET the file through reqwless over the adapter on `native` and check its length and
/// SHA-256; `stack` (the same backend, blocking) counts the open sockets.
fn fetch_and_check<S: unisock::Stack, A: unisock::asynch::Stack>(
    stack: &S,
    native: A,
    at: SocketAddr,
    file: &[u8],
) {
    let count = counter(stack);
    let leaks = LeakCheck::new(&[("stack", &count)]);
    let want: [u8; 32] = Sha256::digest(file).into();
    let net = AsyncNalStack::new(native);
    let url = format!("http://{at}/blob.bin");
    let (len, got) = block_on(async {
        let mut client = HttpClient::new(&net, &net);
        let mut headers = [0u8; 4096];
        let request = client
            .request(Method::GET, &url)
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e:?}"));
        let mut request = request.headers(&[("User-Agent", "unisock-nal test")]);
        let response = request
            .send(&mut headers)
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e:?}"));
        assert_eq!(response.status.0, 200, "status");
        assert_eq!(response.content_length, Some(FILE_LEN), "Content-Length");
        let mut reader = response.body().reader();
        let mut hasher = Sha256::new();
        let mut len = 0usize;
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            let n = reader
                .read(&mut chunk)
                .await
                .unwrap_or_else(|e| panic!("reading the body: {e:?}"));
            if n == 0 {
                break;
            }
            hasher.update(&chunk[..n]);
            len += n;
            assert!(len <= FILE_LEN, "more bytes than the file has");
        }
        let got: [u8; 32] = hasher.finalize().into();
        (len, got)
    });
    assert_eq!(len, FILE_LEN, "body length");
    assert_eq!(got, want, "SHA-256 of the body");
    leaks.finish(LIMIT);
}

#[test]
fn posix_loopback() {
    let _serial = serial();
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let port = {
        let l = TcpListener::bind(SocketAddr::new(ip, 0)).expect("bind");
        l.local_addr().expect("local_addr").port()
    };
    let at = SocketAddr::new(ip, port);
    let file = file_bytes();
    let Some(_server) = start_server(at, &file) else {
        return;
    };
    fetch_and_check(
        &unisock_posix::PosixStack,
        unisock_posix::asynch::AsyncIoStack::new(),
        at,
        &file,
    );
}

#[test]
fn smoltcp_tap() {
    let _serial = serial();
    if !is_root() {
        skip("the TAP test needs root (network namespace and TAP device)");
        return;
    }
    if let Err(e) = enter_private_netns() {
        skip(&format!("cannot make a private network namespace: {e}"));
        return;
    }
    const TAP: &str = "usknal1";
    let net = unisock_smoltcp::StdStack::tap(unisock_smoltcp::TapOptions {
        name: TAP.into(),
        ips: vec![unisock_smoltcp::Cidr::parse("10.7.0.2/24").expect("cidr")],
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("TAP stack: {e}"));
    configure_kernel_side(TAP, "10.7.0.1/24", None).unwrap_or_else(|e| panic!("{e}"));
    // This thread is in the namespace, so the server it starts is too.
    let at = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 7, 0, 1)), 8080);
    let file = file_bytes();
    let Some(_server) = start_server(at, &file) else {
        return;
    };
    let stack = &*net;
    fetch_and_check(&stack, stack, at, &file);
}
