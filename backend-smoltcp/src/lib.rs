//! # unisock-smoltcp: the unisock socket API over the smoltcp userspace TCP/IP stack
//!
//! The same generic code that runs on `unisock-posix` (the Linux kernel) runs on this
//! backend: `&`[`Stack`] implements [`unisock::Stack`]. Users are people experimenting with a
//! userspace stack on a Linux TAP device and embedded targets without an OS: the core needs
//! neither `std` nor an allocator.
//!
//! ## Public API (stable names)
//!
//! - [`Stack<'a, D, C, W>`](Stack): one smoltcp interface over any `smoltcp::phy::Device`
//!   `D`, a [`Clock`] `C` and a [`Wait`] strategy `W`.
//!   - [`Stack::new(device, clock, waiter, &config, &mut resources)`](Stack::new): no
//!     allocation; memory from a [`Resources<SOCKETS, BYTES, PACKETS>`](Resources).
//!   - [`Stack::new_in(place, device, clock, waiter, &config, &mut resources, buffers)`](
//!     Stack::new_in): for small targets, built straight into `place` (a `static`), socket
//!     buffers from a separate zeroed area (`.bss`).
//!   - `std`: [`Stack::new_alloc(device, clock, waiter, &config)`](Stack::new_alloc): the
//!     same on the heap.
//!   - Driving: [`Stack::poll`] / [`Stack::poll_at`] (superloop), [`Stack::poll_delay`];
//!     [`Stack::open_sockets`], [`Stack::socket_info`] (generation-checked [`Handle`]s),
//!     [`Stack::addresses`], [`Stack::time_wait`], [`Stack::set_next_ephemeral_port`],
//!     [`Stack::with_device`]; `std`: [`Stack::set_driven`].
//! - Socket types (returned by the [`unisock::Stack`] methods of `&Stack`):
//!   [`TcpSocket`] (+ [`TcpSocket::connect_nonblocking`]), [`TcpListener`], [`TcpStream`]
//!   (+ [`TcpStream::is_connected`], [`TcpStream::wait_acked`], [`TcpStream::state`]),
//!   [`UdpSocket`], [`RawSocket`]; each has `handle()`. One error type [`Error`]
//!   ([`Error::kind`], [`Error::context`], [`Error::addr`]).
//! - Configuration: [`Config`] (static [`Cidr`] addresses, gateways, DNS servers, static hosts,
//!   MAC, DHCPv4, TCP delayed-ACK time, [`PoolConfig`]), [`Config::loopback`] (127.0.0.1/8 and
//!   ::1/128); builder methods `with_address`, `with_gateway`, `with_dns_server`,
//!   `with_host`, `with_mac`, `with_dhcpv4`, `with_pool`, `with_tcp_ack_delay`,
//!   `with_random_seed`.
//! - Devices: [`Loopback`] (fixed capacity, no alloc); `std`: [`TapDevice`] (+ [`TapWait`]),
//!   [`Capture`] (pcap via smoltcp's `PcapWriter` and a [`PcapFile`]). TAP offloads
//!   (`IFF_VNET_HDR` with TCP segmentation both ways, off by default):
//!   [`TapDevice::open_with_offload`], [`StdStack::tap_with_offload`].
//! - ACK policy: with frames of 16 KiB and more the stack transmits (ACKs) after every 2
//!   received frames instead of after draining the device queue.
//! - Clocks and waiting: [`Clock`], [`ManualClock`], [`ClockFn`], [`Wait`], [`Spin`],
//!   [`ManualWait`], [`WaitFn`];
//!   `std`: [`StdClock`], [`Notify`].
//! - Async: `&Stack` implements [`unisock::asynch::SendStack`] (`std`; `Send` futures) or
//!   [`unisock::asynch::Stack`] (`no_std`); [`TcpStream`] is `embedded_io_async::Read` +
//!   `Write`. The runner future [`Stack::run`] with a [`Sleep`] ([`SleepFn`] for closures).
//!   Features `tokio` / `futures-io` (`std`): [`TcpStream`] and its split halves also
//!   implement `tokio::io::AsyncRead`/`AsyncWrite` / `futures_io::AsyncRead`/`AsyncWrite`
//!   (`poll_shutdown` / `poll_close` shut the write direction down), for `tokio::io::copy`,
//!   codecs, hyper through `hyper_util::rt::TokioIo`, on any executor.
//!   [`RECHECK`]: the longest a blocked thread sleeps without retrying.
//! - `std` conveniences: [`StdStack`] (heap stack + background driver thread, derefs to
//!   [`Stack`]): [`StdStack::loopback(config)`](StdStack::loopback),
//!   [`StdStack::loopback_with`], [`StdStack::tap(TapOptions { .. })`](StdStack::tap),
//!   [`StdStack::new(device, waiter, &config)`](StdStack::new); type aliases
//!   [`LoopbackStack`] and [`TapStack`].
//! - `async-io` (Linux): [`Stack::tap_async(TapOptions { .. })`](Stack::tap_async) returns an
//!   [`AsyncTapStack`] (no driver thread) and a [`TapSleep`] for its runner: the runner, the
//!   sockets' futures and the TAP device on the user's executor thread (as embassy-net with
//!   embassy-net-tuntap).
//!
//! ## Three ways to drive it
//!
//! **1. The application's own loop** (embedded superloop): call [`Stack::poll`] (or
//! [`Stack::poll_at`] with your time) and use the sockets' non-blocking `try_*` methods. No
//! thread, no allocation:
//!
//! ```
//! use core::net::SocketAddr;
//! use smoltcp::phy::Medium;
//! use unisock::prelude::*;
//! use unisock::{RecvFlags, SendFlags};
//! use unisock_smoltcp::{Config, Loopback, ManualClock, PoolConfig, Resources, Spin, Stack};
//!
//! let clock = ManualClock::new();
//! let mut frames = [0u8; 4 * 1500];
//! let device = Loopback::new(&mut frames, 1500, Medium::Ethernet).unwrap();
//! let config = Config::loopback().with_pool(PoolConfig::SMALL);
//! let mut resources = Resources::<10, 32768, 16>::new();
//! let stack = Stack::new(device, &clock, Spin, &config, &mut resources).unwrap();
//! let net = &stack;
//!
//! let at: SocketAddr = "127.0.0.1:7".parse().unwrap();
//! let mut listener = net.listen(at, 1).unwrap();
//! let mut client = net
//!     .tcp_socket(unisock::Domain::Ipv4)
//!     .unwrap()
//!     .connect_nonblocking(at)
//!     .unwrap();
//! let mut server = None;
//! let mut sent = false;
//! let mut buf = [0u8; 8];
//! let mut got = 0;
//! for _ in 0..1000 {
//!     stack.poll(); // the superloop's network step
//!     if server.is_none() {
//!         if let Ok((s, _peer)) = listener.try_accept() {
//!             server = Some(s);
//!         }
//!     }
//!     if !sent && client.is_connected().unwrap() {
//!         sent = client.try_send(b"ping", SendFlags::NONE).is_ok();
//!     }
//!     if let Some(s) = server.as_mut() {
//!         if let Ok(n) = s.try_recv(&mut buf[got..], RecvFlags::NONE) {
//!             got += n;
//!         }
//!     }
//!     if got == 4 {
//!         break;
//!     }
//!     clock.advance(core::time::Duration::from_millis(1)); // your timer ticks
//! }
//! assert_eq!(&buf[..got], b"ping");
//! ```
//!
//! **2. Blocking calls** (`read`, `write`, `accept`, `connect`, `recv_from` ...) wait until
//! done or timed out. With [`StdStack`] a background thread polls the interface and a blocked
//! call parks its thread on **its own socket's** wake-up, **without holding the lock**, so a
//! thread-per-connection server written for `unisock-posix` runs unchanged (without a driver
//! thread, a blocking call polls the stack itself, waiting with the [`Wait`] strategy):
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use unisock::prelude::*;
//! use unisock_smoltcp::{Config, StdStack};
//!
//! let net = StdStack::loopback(Config::default()).unwrap();
//! let stack = &*net; // &Stack implements unisock::Stack
//! let mut listener = stack.listen("127.0.0.1:8080".parse().unwrap(), 4).unwrap();
//! std::thread::scope(|s| {
//!     s.spawn(|| {
//!         let (mut conn, _) = listener.accept().unwrap();
//!         let mut buf = [0u8; 5];
//!         conn.read_exact(&mut buf).unwrap();
//!         conn.write_all(&buf).unwrap();
//!     });
//!     let mut c = stack.connect("127.0.0.1:8080".parse().unwrap()).unwrap();
//!     c.write_all(b"hello").unwrap();
//!     let mut buf = [0u8; 5];
//!     c.read_exact(&mut buf).unwrap();
//!     assert_eq!(&buf, b"hello");
//! });
//! # }
//! ```
//!
//!
//! **3. Async** ([`unisock::asynch`]): every waiting call is a future that registers its
//! task's waker on its socket. Something must poll the interface for timers and incoming
//! frames: with [`StdStack`], its driver thread (futures are `Send`: any executor, tokio's
//! multi-threaded one included); otherwise the runner future [`Stack::run`], spawned on the
//! same executor, with a [`Sleep`] (a timer) from that executor (embassy on a
//! microcontroller, or a one-thread executor on `std`):
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use core::future::Future;
//! use core::pin::pin;
//! use core::task::{Context, Poll, Waker};
//! use smoltcp::phy::Medium;
//! use unisock::asynch::embedded_io_async::{Read, Write};
//! use unisock::asynch::{SendStack, SendStreamListener};
//! use unisock_smoltcp::{Config, Loopback, SleepFn, Spin, Stack, StdClock};
//!
//! let device = Loopback::with_capacity(16, 1500, Medium::Ip).unwrap();
//! let stack = Stack::new_alloc(device, StdClock::new(), Spin, &Config::loopback()).unwrap();
//! let net = &stack;
//! let at = "127.0.0.1:7".parse().unwrap();
//! let mut listener = SendStack::listen(&net, at, 1).unwrap();
//! // A timer for the runner; this device is only filled by the stack itself, so a busy
//! // executor never needs it here (use embassy-time, async-io or tokio in a program).
//! let runner = pin!(stack.run(SleepFn(|_| core::future::pending::<()>())));
//! let echo = pin!(async {
//!     let mut client = SendStack::connect(&net, at).await.unwrap();
//!     let (mut server, _) = listener.accept().await.unwrap();
//!     client.write_all(b"ping").await.unwrap();
//!     let mut buf = [0u8; 4];
//!     server.read_exact(&mut buf).await.unwrap();
//!     buf
//! });
//! // Any executor; here a busy loop polling both futures.
//! let (mut runner, mut echo) = (runner, echo);
//! let mut cx = Context::from_waker(Waker::noop());
//! let buf = loop {
//!     if let Poll::Ready(b) = echo.as_mut().poll(&mut cx) {
//!         break b;
//!     }
//!     let _ = runner.as_mut().poll(&mut cx);
//! };
//! assert_eq!(&buf, b"ping");
//! # }
//! ```
//!
//! Generic code takes `&S` where `S: unisock::Stack`; here `S` is `&Stack<..>`, so call it as
//! `scenario(&&*net)` or `scenario(&net.stack())`.
//!
//! ## Design
//!
//! - **Pools.** Every socket is created up front ([`PoolConfig`]): `tcp` TCP sockets, `udp`
//!   UDP sockets, `raw` ICMP and `raw` ICMPv6 raw sockets, a DNS socket (only when a DNS
//!   server is configured or DHCPv4 is on) and (optionally) one DHCPv4 socket. Opening a socket takes a free one of its kind (`OutOfMemory` if none); closing
//!   returns it. Slots are named by generation-checked [`Handle`]s (stale: `StaleHandle`).
//! - **Concurrency contract** (the files: `drive.rs` polls, `wake.rs` wakes, `runner.rs`
//!   runs):
//!   - *One lock*, a `Mutex` under `std` (the stack is `Sync` when its device is `Send` and its
//!     clock and waiter are `Sync`), a `RefCell` without (single-threaded). It guards the
//!     interface, the device and every socket. No other lock exists inside the stack (the
//!     [`Notify`] waiter has its own, never taken with the stack's), so there is no lock
//!     order to get wrong; the lock is never held across a wait, an `await` or user code.
//!   - *Who polls the interface*: every socket operation, after acting (under the lock, until
//!     nothing changes, so what it queued is sent and frames that come back through the
//!     device are processed at once); and for timers and frames arriving on their own, one
//!     driver: the [`StdStack`] thread, the runner future [`Stack::run`], or the
//!     superloop's [`Stack::poll`]. One drain processes about 128 KiB of received frames
//!     at most (at least one round: 256 frames below 16 KiB MTU, 2 above), so readers copy
//!     data out while it is in cache; a drain stopped there has the driver poll again at
//!     once (the runner after yielding once to the tasks it woke). The driver sleeps exactly until [`Stack::poll_delay`]
//!     (the [`Wait`] strategy or the runner's [`Sleep`]); an operation that makes the next
//!     deadline earlier wakes it.
//!   - *Who waits on what*: a waiting call waits on its own socket only, through smoltcp's
//!     per-socket wakers (`register_recv_waker` / `register_send_waker`; DNS: per query),
//!     which smoltcp calls while polling: an async task with its task waker, a blocked thread
//!     with a per-thread unpark waker (cached: no allocation), an `accept` on each armed
//!     socket of its listener, `poll_sockets` on every polled socket. The waker is
//!     registered under the lock after the operation failed, so no event is lost; no thread
//!     or task is woken for another socket's event.
//!   - *One waiter per direction per socket*: smoltcp keeps one waker per direction, and a
//!     new registration replaces the old one without waking it. Async calls take the socket
//!     by `&mut`, so they cannot collide; a blocked thread displaced by another thread's
//!     `poll_sockets` on the same socket retries after at most [`RECHECK`] (every parked
//!     thread does), so it is late, never stuck.
//! - **Backlog.** See [`TcpListener`]: `backlog` armed smoltcp sockets per listener; client
//!   `backlog + 1` before an `accept` gets `ConnectionRefused` (smoltcp answers RST).
//! - **TIME-WAIT.** Finished connections are remembered in a table for ephemeral port
//!   selection and their socket is freed at once, so [`Stack::open_sockets`] returns to 0
//!   quickly after everything is dropped.
//!
//! - **Local delivery.** Packets to one of the interface's own addresses (TCP, UDP, ICMP, raw)
//!   never reach the device: a wrapper around it keeps them in a small queue
//!   ([`PoolConfig::local_bytes`], from the pool's memory) that receiving drains first, and
//!   answers the ARP requests and neighbour solicitations for our own addresses from it, as
//!   the kernel delivers such traffic locally, on any medium. With a queue of 0 bytes (or
//!   without the `local-delivery` feature) such a send fails at once with `Unsupported`. The
//!   in-process [`Loopback`] device returns every frame itself
//!   ([`Config::device_loops_back`]). `127.0.0.1` configured on an Ethernet device is
//!   delivered like any own address; `::1` is not (smoltcp never answers a neighbour
//!   solicitation for it): a connect or send to `::1` over an Ethernet device fails at once
//!   with `Unsupported`; use the interface's own IPv6 address.
//!
//! ## Not supported
//!
//! Urgent data (`OOB`: `Unsupported`), setting buffer sizes (`Unsupported`: they come from the
//! pool), raw sockets other than ICMP/ICMPv6, IP fragmentation (datagrams larger than the MTU
//! are refused), UNIX-domain sockets, multicast, SLAAC, several interfaces. An IPv4 listener on
//! `0.0.0.0` cannot refuse an IPv6 SYN (smoltcp matches an unspecified listen address for both
//! families): the handshake completes and the connection is reset at `accept` instead of being
//! refused.
//!
//! ## Features
//!
//! - `std` (default): [`StdStack`], [`TapDevice`], [`StdClock`], [`Notify`], pcap files, heap
//!   constructors. Without it the crate is `no_std` and allocation-free.
//! - `log` / `defmt` (mutually exclusive): debug logging through one internal shim.
//! - Protocol features, all on by default, so a firmware links only what it uses (a
//!   TCP-only IPv4 Ethernet build is `default-features = false`):
//!   - `local-delivery`: the local-delivery queue (above);
//!   - `proto-ipv6`: IPv6, ICMPv6, neighbour discovery (off: IPv6 sockets, addresses and
//!     gateways are `Unsupported`);
//!   - `medium-ip`: devices without a link layer (`std` needs it; off: only Ethernet);
//!   - `udp`: UDP sockets (off: `udp_socket` is `Unsupported`);
//!   - `raw`: raw ICMP/ICMPv6 sockets (off: `raw_socket` is `Unsupported`);
//!   - `dns`: DNS queries (off: `resolve` answers IP literals and the host table, a name
//!     needing DNS is `Unsupported`);
//!   - `dhcpv4`: the DHCPv4 client (off: [`Config::dhcpv4`] is `Unsupported` at
//!     [`Stack::new`]).
//! - `async-io` (off by default; implies `std`): [`Stack::tap_async`] and [`TapSleep`], async
//!   over TAP on one thread, the descriptor watched by async-io's reactor.
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(all(feature = "std", target_os = "linux")), forbid(unsafe_code))]
#![cfg_attr(all(feature = "std", target_os = "linux"), deny(unsafe_code))]
#![deny(missing_docs)]
// The crate docs link the `std`-only items; without `std` those links cannot resolve.
#![cfg_attr(not(feature = "std"), allow(rustdoc::broken_intra_doc_links))]

mod log;

mod addr;
mod api;
mod asynch;

mod clock;
#[cfg(any(feature = "tokio", feature = "futures-io"))]
mod compat;
mod config;
mod copy;
#[cfg(feature = "udp")]
mod datagram;
#[cfg(not(feature = "udp"))]
#[path = "datagram_off.rs"]
mod datagram;
mod drive;
mod error;
mod listener;
mod local;
mod loopback;
#[cfg(all(feature = "std", target_os = "linux"))]
mod offload;
mod poll;
mod pool;
mod ports;
#[cfg(feature = "raw")]
mod raw;
#[cfg(not(feature = "raw"))]
#[path = "raw_off.rs"]
mod raw;
mod resolve;
mod resources;
mod runner;
mod slot;
mod stack;
#[cfg(feature = "std")]
mod std_stack;
mod stream;
#[cfg(all(feature = "std", target_os = "linux"))]
mod tap;
#[cfg(all(feature = "async-io", target_os = "linux"))]
mod tap_async;
mod wait;
mod wake;

pub use asynch::{TcpReadHalf, TcpWriteHalf, UdpRecvHalf, UdpSendHalf};
#[cfg(feature = "std")]
pub use clock::StdClock;
pub use clock::{Clock, ClockFn, ManualClock};
pub use config::{
    Cidr, Config, HostEntry, MAX_ADDRESSES, MAX_DNS_SERVERS, MAX_HOST_NAME, MAX_HOSTS, PoolConfig,
};
pub use datagram::UdpSocket;
pub use error::{Error, Result};
pub use listener::{MAX_BACKLOG, TcpListener};
pub use loopback::{LOOPBACK_MAX_MTU, Loopback};
pub use poll::Source;
pub use ports::{EPHEMERAL_PORTS, TIME_WAIT, TIME_WAIT_ENTRIES};
pub use raw::RawSocket;
pub use resolve::RESOLVE_TIMEOUT;
pub use resources::Resources;
pub use runner::{Sleep, SleepFn};
pub use slot::{Handle, SocketInfo};
pub use stack::{CONNECT_TIMEOUT, DEFAULT_MAC, ORPHAN_LIMIT, RST_GRACE, Stack};
#[cfg(feature = "std")]
pub use std_stack::{
    Capture, LoopbackOptions, LoopbackStack, Notify, PcapFile, StdLoopback, StdStack,
};
pub use stream::{KEEPALIVE_PROBES, TcpSocket, TcpStream};
#[cfg(all(feature = "std", target_os = "linux"))]
pub use tap::{TapDevice, TapOptions, TapStack, TapWait};
#[cfg(all(feature = "async-io", target_os = "linux"))]
pub use tap_async::{AsyncTapStack, TapSleep};
pub use wait::{ManualWait, Spin, Wait, WaitFn};
pub use wake::RECHECK;

/// Device building blocks re-exported from smoltcp.
pub use smoltcp;

/// Device types of the in-process loopback.
pub mod loopback_tokens {
    pub use crate::loopback::{RxToken, TxToken};
}
