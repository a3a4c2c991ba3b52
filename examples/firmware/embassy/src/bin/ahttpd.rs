//! Issue 12's server side on the MCU: an HTTP server from crates.io, unmodified
//! (`edge-http` 0.8's [`Server`], written against edge-nal 0.7's `TcpBind` / `TcpAccept` /
//! `TcpSplit`), over `unisock-nal`'s edge-nal adapter ([`EdgeNalStack`]) on unisock-smoltcp's
//! async API and the LAN9118, under embassy-executor. The host answers it with `curl` over the
//! TAP (`tests/tests/embedded_qemu.rs`).
//!
//! Port 80, two handler tasks (edge-http's own), a listen backlog of two:
//! - `GET /hello`: [`HELLO`].
//! - `GET /page.bin`: [`PAGE_BYTES`] bytes of a xorshift32 stream (seed `0x9e3779b9`, each
//!   byte the top 8 bits of the next state), generated while it is sent, with its
//!   `Content-Length`.
//! - `GET /quit`: `bye`, then the server stops: its future is dropped (a cancellation with
//!   connections and armed listen sockets open), the firmware waits until the stack has no
//!   socket open (the leak check), prints `ahttpd: done` and exits 0.
//! - any other path: 404; any other method: 405.
//!
//! The interface is driven by unisock-smoltcp's runner future (`Stack::run`) in its own task,
//! as in `anic`. Exit status 0 on success, 1 on an error, 2 on the overall time limit, 3 if
//! the core peripherals are gone.
#![no_std]
#![no_main]

use core::fmt::{Debug, Display, Write as _};
use core::mem::MaybeUninit;
use core::net::{Ipv4Addr, SocketAddr};

use cortex_m_rt::entry;
use edge_http::Method;
use edge_http::io::Error as HttpError;
use edge_http::io::server::{Connection, Handler, Server};
use edge_nal::TcpBind;
use embassy_executor::Executor;
use embassy_firmware::{NicStack, bring_up, fail, net_task, spawn, wait_all_closed, watchdog};
use embassy_futures::select::{Either, select};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer};
use embedded_io_async::{Read, Write};
use lan9118::Buffers;
use mps2_board::net::DEVICE_IP;
use mps2_board::semihosting::println;
use mps2_board::{exit, stack_used};
use unisock_firmware::POOL;
use unisock_nal::edge::EdgeNalStack;
use unisock_smoltcp::{PoolConfig, Resources};

/// This firmware's name in what it prints.
const NAME: &str = "ahttpd";
/// The port served.
const HTTP_PORT: u16 = 80;
/// The body of `GET /hello`.
const HELLO: &[u8] = b"hello from the unisock firmware over edge-http\n";
/// Bytes of `GET /page.bin`.
const PAGE_BYTES: usize = 256 * 1024;
/// edge-http's handler tasks (each accepts, then serves its connection).
const HANDLERS: usize = 2;
/// Bytes of each handler's request buffer.
const REQUEST_BUFFER: usize = 1024;
/// Request headers parsed per request.
const HEADERS: usize = 16;
/// The listen backlog: connections the stack completes before a handler accepts them.
const BACKLOG: usize = 2;
/// An idle kept-alive connection is closed after this long.
const KEEPALIVE_MS: u32 = 5_000;
/// After `/quit` is answered, how long the client has to read it before the server stops.
const QUIT_GRACE_MS: u64 = 200;
/// How long the closing handshakes may take at the end.
const CLOSE_LIMIT_MS: u64 = 10_000;

/// The pool: [`POOL`]'s buffers, with a socket per handler, per backlog entry and one closing.
const HTTPD_POOL: PoolConfig = PoolConfig {
    tcp: HANDLERS + BACKLOG + 1,
    ..POOL
};
/// Socket slots [`HTTPD_POOL`] needs.
const SOCKETS: usize = HTTPD_POOL.sockets_needed();
/// Buffer bytes [`HTTPD_POOL`] needs.
const BYTES: usize = HTTPD_POOL.bytes_needed();
/// Packet metadata entries [`HTTPD_POOL`] needs (at least one).
const PACKETS: usize = if HTTPD_POOL.packets_needed() > 0 {
    HTTPD_POOL.packets_needed()
} else {
    1
};

type HttpdResources = Resources<'static, SOCKETS, 0, PACKETS>;
/// Raised by the `/quit` handler.
type Quit = Signal<NoopRawMutex, ()>;
type HttpServer = Server<HANDLERS, REQUEST_BUFFER, HEADERS>;

/// The site: the routes of the module docs.
struct Site {
    quit: &'static Quit,
}

impl Handler for Site {
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
        let (method, path) = (headers.method, headers.path);
        if method != Method::Get {
            conn.initiate_response(405, Some("Method Not Allowed"), &[])
                .await?;
            return Ok(());
        }
        match path {
            "/hello" => {
                conn.initiate_response(200, Some("OK"), &[("Content-Type", "text/plain")])
                    .await?;
                conn.write_all(HELLO).await?;
            }
            "/page.bin" => {
                let mut length = heapless::String::<20>::new();
                // 20 digits hold any usize: the write cannot fail.
                let _ = write!(length, "{PAGE_BYTES}");
                conn.initiate_response(
                    200,
                    Some("OK"),
                    &[
                        ("Content-Type", "application/octet-stream"),
                        ("Content-Length", length.as_str()),
                    ],
                )
                .await?;
                let mut x: u32 = 0x9e37_79b9;
                let mut chunk = [0u8; 512];
                let mut left = PAGE_BYTES;
                while left > 0 {
                    let n = left.min(chunk.len());
                    for b in &mut chunk[..n] {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        *b = (x >> 24) as u8;
                    }
                    conn.write_all(&chunk[..n]).await?;
                    left -= n;
                }
            }
            "/quit" => {
                conn.initiate_response(200, Some("OK"), &[("Content-Type", "text/plain")])
                    .await?;
                conn.write_all(b"bye\n").await?;
                self.quit.signal(());
            }
            _ => {
                conn.initiate_response(404, Some("Not Found"), &[]).await?;
            }
        }
        Ok(())
    }
}

#[embassy_executor::task]
async fn serve(
    stack: &'static NicStack,
    mac: [u8; 6],
    server: &'static mut HttpServer,
    quit: &'static Quit,
) {
    let net = EdgeNalStack::new(stack).with_backlog(BACKLOG);
    let at = SocketAddr::from((Ipv4Addr::from(DEVICE_IP), HTTP_PORT));
    let acceptor = match net.bind(at).await {
        Ok(acceptor) => acceptor,
        Err(e) => fail(NAME, "bind", e),
    };
    let [a, b, c, d] = DEVICE_IP;
    println!(
        "READY ahttpd: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, http://{a}.{b}.{c}.{d}:{HTTP_PORT}/",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    );
    let stop = async {
        quit.wait().await;
        Timer::after(Duration::from_millis(QUIT_GRACE_MS)).await;
    };
    match select(
        server.run(Some(KEEPALIVE_MS), acceptor, Site { quit }),
        stop,
    )
    .await
    {
        Either::First(r) => fail(NAME, "server ended", r),
        Either::Second(()) => {}
    }
    // The server's future is gone: its connections and the listener were dropped with it.
    let open = wait_all_closed(stack, CLOSE_LIMIT_MS).await;
    if open != 0 {
        println!("ahttpd: {open} sockets still open at the end");
        exit(1)
    }
    println!("ahttpd: done");
    println!("ahttpd: stack high-water mark {} bytes", stack_used());
    exit(0)
}

#[entry]
fn main() -> ! {
    static mut RESOURCES: MaybeUninit<HttpdResources> = MaybeUninit::uninit();
    static mut SOCKET_BUFFERS: [u8; BYTES] = [0; BYTES];
    static mut STACK: Option<NicStack> = None;
    static mut FRAMES: Buffers = Buffers::new();
    static mut SERVER: HttpServer = HttpServer::new();
    static mut QUIT: Quit = Signal::new();
    static mut EXECUTOR: Option<Executor> = None;

    let Some(cp) = cortex_m::Peripherals::take() else {
        exit(3)
    };
    mps2_board::start_clock(cp.SYST);
    let (stack, mac) = bring_up(
        NAME,
        HTTPD_POOL,
        &[],
        FRAMES,
        RESOURCES,
        SOCKET_BUFFERS,
        STACK,
    );
    let server: &'static mut HttpServer = SERVER;
    let quit: &'static Quit = QUIT;
    EXECUTOR.insert(Executor::new()).run(move |spawner| {
        spawn(NAME, spawner, net_task(stack));
        spawn(NAME, spawner, watchdog(NAME));
        spawn(NAME, spawner, serve(stack, mac, server, quit));
    })
}
