//! # unisock-nal: any unisock stack as an embedded-nal network stack
//!
//! [`NalStack`] wraps any [`unisock::Stack`] (`unisock_posix::PosixStack`, the Linux kernel;
//! `&unisock_smoltcp::Stack`, smoltcp) and implements the blocking-style traits of
//! [`embedded_nal`] 0.9 on it: [`TcpClientStack`](embedded_nal::TcpClientStack),
//! [`TcpFullStack`](embedded_nal::TcpFullStack), [`UdpClientStack`](embedded_nal::UdpClientStack),
//! [`UdpFullStack`](embedded_nal::UdpFullStack) and [`Dns`](embedded_nal::Dns). Network clients
//! written against embedded-nal (MQTT, CoAP, SNTP, ...) then run unmodified on either backend.
//!
//! ```no_run
//! use embedded_nal::{nb, TcpClientStack};
//! use unisock_nal::NalStack;
//!
//! let mut net = NalStack::new(unisock_posix::PosixStack);
//! let mut socket = net.socket()?;
//! let remote = "127.0.0.1:1883".parse().unwrap();
//! // embedded-nal's connect is called until it stops returning WouldBlock.
//! nb::block!(net.connect(&mut socket, remote))?;
//! nb::block!(net.send(&mut socket, b"hello"))?;
//! net.close(socket)?;
//! # Ok::<(), unisock_nal::Error<unisock_posix::Error>>(())
//! ```
//!
//! With the `async` feature (on by default), [`asynch::AsyncNalStack`] does the same for
//! `embedded-nal-async` 0.9 over any [`unisock::asynch::Stack`]: `TcpConnect`, `UdpStack`,
//! `Dns` (see [`asynch`] for its mapping).
//!
//! The crate is `no_std` and allocation-free: the embedded-nal socket types are enums over the
//! stack's own socket types ([`TcpSocket`], [`UdpSocket`]), held by the caller; the adapter
//! holds only the stack (by value: `PosixStack` is zero-sized, `&smoltcp::Stack` a reference).
//!
//! ## How embedded-nal calls map onto unisock
//!
//! embedded-nal's calls are non-blocking (`nb`):
//! [`nb::Error::WouldBlock`](embedded_nal::nb::Error::WouldBlock) means "call again". The
//! adapter uses unisock's non-blocking calls (`connect_nonblocking`, `try_*`), so no call here
//! ever waits, except name resolution.
//!
//! | embedded-nal call | unisock | notes |
//! |---|---|---|
//! | `TcpClientStack::socket()` | nothing yet | embedded-nal's socket has no address family; the unisock socket is created by `connect` (family of the remote) or `bind` (the adapter's bind domain). So running out of sockets is reported by `connect`/`bind`, not by `socket`. |
//! | `TcpClientStack::connect(s, remote)` | `tcp_socket(Domain::of(remote))` + `connect_nonblocking(remote)`, then `write_ready()` and a 1-byte `PEEK` | first call starts the handshake; `WouldBlock` until it finishes; `Ok(())` once established; the refusal/timeout as an error. Again with the same remote once connected: `Ok(())`; another remote: `AlreadyConnected`. After a failed connect the socket is released: later calls fail with `StaleHandle` (close it and open a new one). |
//! | `TcpClientStack::send` | `try_write` | `WouldBlock` while the send buffer is full; a partial count as unisock returns it. On a socket still connecting: `WouldBlock` until established. |
//! | `TcpClientStack::receive` | `try_read` | `WouldBlock` if no byte is there; end of stream is the error [`Error::EndOfStream`] (`TcpErrorKind::PipeClosed`), never `Ok(0)`, which embedded-nal clients would take as "nothing yet". |
//! | `TcpClientStack::close` | drop | graceful close (FIN after queued data), for every state. |
//! | `TcpFullStack::bind(s, port)` | `tcp_socket(bind domain)` + `ReuseAddr` + `bind(unspecified:port)` | port-only: the unspecified address of [`NalStack::bind_domain`] (IPv4 `0.0.0.0` by default; [`NalStack::with_bind_domain`] for IPv6 `[::]`). Port 0: an ephemeral port, see [`TcpSocket::local_addr`]. |
//! | `TcpFullStack::listen(s)` | `listen(backlog)` | backlog [`NalStack::backlog`] (default [`DEFAULT_BACKLOG`]); an unbound socket listens on an ephemeral port of the bind domain. |
//! | `TcpFullStack::accept(s)` | `try_accept` | `WouldBlock` if no connection is queued; the new socket is connected. |
//! | `UdpClientStack::socket()` | nothing yet | as for TCP. |
//! | `UdpClientStack::connect(s, remote)` | `udp_socket(Domain::of(remote))` + `bind(unspecified:0)` + `connect(remote)` | only the peer's datagrams are received afterwards. |
//! | `UdpClientStack::send` | `try_send_to(last remote)` | to the `connect` peer or the last `send_to` destination, as embedded-nal specifies; `WouldBlock` while the send buffer is full. |
//! | `UdpClientStack::receive` | `try_recv_from` | `WouldBlock` if no datagram is queued; a datagram longer than the buffer is [`Error::Truncated`] (never silently cut). |
//! | `UdpClientStack::close` | drop | |
//! | `UdpFullStack::bind(s, port)` | `udp_socket(bind domain)` + `bind(unspecified:port)` | port-only, as for TCP. |
//! | `UdpFullStack::send_to(s, remote, buf)` | `try_send_to(remote)` | an unbound socket is first bound to `unspecified:0` of the remote's family. |
//! | `Dns::get_host_by_name(name, type)` | `resolve(name)` | blocks for the lookup (never `WouldBlock`); the first address of the requested type; none: [`Error::NoAddressOfType`]. |
//! | `Dns::get_host_by_address` | — | `Unsupported` (unisock has no reverse lookup). |
//!
//! ## Who drives smoltcp
//!
//! With `std`, `unisock_smoltcp::StdStack`'s driver thread polls the interface. Without it
//! (firmware), every adapter call polls the interface once it has acted, as every unisock call
//! does, but timers (retransmission, keep-alive, TIME-WAIT) still need the superloop's
//! `Stack::poll`, as for any other use of the stack: call it in the loop that retries
//! `WouldBlock`.
//!
//! ## Errors
//!
//! Every call fails with [`Error`]: the stack's own error (with its operation, kind and OS
//! code), end of stream, a truncated datagram, or a call that does not fit the socket's state.
//! [`Error::kind`] gives unisock's [`ErrorKind`](unisock::ErrorKind) for all of them;
//! [`TcpError::kind`](embedded_nal::TcpError::kind) is `PipeClosed` for end of stream,
//! `ConnectionReset`, `ConnectionAborted`, `BrokenPipe` and `TimedOut`.
//!
//! ## Not supported
//! - Reverse name lookup (`get_host_by_address`).
//! - Sharing one adapter between owners (embedded-nal's `SharedStack`): wrap the adapter in it
//!   yourself; the backends are already safe to use from several adapters at once (`PosixStack`
//!   is `Copy`, `&smoltcp::Stack` is shared).
//! - Socket options through embedded-nal (it has none): set them on the unisock socket
//!   before handing it over with [`TcpSocket::from_stream`].
//! - `edge-nal` 0.7 (the `edge` module, feature `edge-nal`): multicast membership (every join and
//!   leave fails with `Unsupported`); see the module for its mapping of TCP and UDP.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "async")]
pub mod asynch;
mod dns;
#[cfg(feature = "edge-nal")]
pub mod edge;
mod error;
mod tcp;
mod udp;

pub use embedded_nal;
#[cfg(feature = "async")]
pub use embedded_nal_async;
pub use error::Error;
pub use tcp::TcpSocket;
pub use udp::UdpSocket;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use unisock::{Domain, Stack};

/// The listen backlog a [`NalStack`] uses unless told otherwise.
pub const DEFAULT_BACKLOG: usize = 4;

/// A unisock stack as an embedded-nal network stack. See the [crate docs](crate) for how each
/// call maps.
#[derive(Debug, Clone, Copy)]
pub struct NalStack<S> {
    stack: S,
    bind_domain: Domain,
    backlog: usize,
}

impl<S: Stack> NalStack<S> {
    /// Wrap `stack`: port-only binds use IPv4 (`0.0.0.0:port`), listeners a backlog of
    /// [`DEFAULT_BACKLOG`].
    pub const fn new(stack: S) -> Self {
        NalStack {
            stack,
            bind_domain: Domain::Ipv4,
            backlog: DEFAULT_BACKLOG,
        }
    }

    /// Port-only `bind` binds the unspecified address of `domain` (`Ipv4`: `0.0.0.0`, `Ipv6`:
    /// `[::]`). `Unix` is not an Internet domain: binds then fail with `InvalidInput`.
    pub const fn with_bind_domain(mut self, domain: Domain) -> Self {
        self.bind_domain = domain;
        self
    }

    /// Listeners queue up to `backlog` connections not yet accepted.
    pub const fn with_backlog(mut self, backlog: usize) -> Self {
        self.backlog = backlog;
        self
    }

    /// The domain whose unspecified address port-only binds use.
    pub const fn bind_domain(&self) -> Domain {
        self.bind_domain
    }

    /// The listen backlog.
    pub const fn backlog(&self) -> usize {
        self.backlog
    }

    /// The unisock stack.
    pub const fn stack(&self) -> &S {
        &self.stack
    }

    /// The unisock stack back.
    pub fn into_inner(self) -> S {
        self.stack
    }

    /// `unspecified:port` of the bind domain.
    fn any(&self, port: u16) -> Result<SocketAddr, Error<S::Error>> {
        any_of(self.bind_domain, port).ok_or(Error::state(
            unisock::ErrorKind::InvalidInput,
            "port-only bind: the bind domain is not an Internet domain",
        ))
    }
}

/// The unspecified address of an Internet domain, with `port`.
fn any_of(domain: Domain, port: u16) -> Option<SocketAddr> {
    match domain {
        Domain::Ipv4 => Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)),
        Domain::Ipv6 => Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)),
        Domain::Unix => None,
    }
}

/// The code blocks of README.md, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
