//! # unisock-posix: the Linux kernel as a unisock stack
//!
//! [`PosixStack`] implements [`unisock::Stack`] with BSD sockets through libc: TCP
//! ([`TcpSocket`], [`TcpListener`], [`TcpStream`]), UDP ([`UdpSocket`]), raw IP
//! ([`RawSocket`]), and UNIX-domain sockets ([`UnixStream`], [`UnixListener`],
//! [`UnixDatagram`]; paths and Linux abstract names), plus name resolution through
//! `getaddrinfo`. Every operation returns the one [`Error`] type, which records the operation
//! ([`Op`]), the `errno` or `getaddrinfo` code, and the address involved.
//!
//! ```no_run
//! use unisock::prelude::*;
//! use unisock_posix::PosixStack;
//!
//! let stack = PosixStack;
//! let mut listener = stack.listen("127.0.0.1:0".parse().unwrap(), 8)?;
//! let mut client = stack.connect(listener.local_addr()?)?;
//! let (mut server, _peer) = listener.accept()?;
//! client.write_all(b"ping")?;
//! let mut buf = [0u8; 4];
//! server.read_exact(&mut buf).map_err(|_| "short read")?;
//! assert_eq!(&buf, b"ping");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Design
//! - All system calls are in one private `sys` module; descriptors are `OwnedFd`s opened
//!   with `SOCK_CLOEXEC`, sends carry `MSG_NOSIGNAL` (no `SIGPIPE`), `EINTR` is retried.
//! - One system call per read, write, send or receive, and no heap allocation on those paths.
//! - Blocking calls honour `SockOpt::ReadTimeout` / `SockOpt::WriteTimeout` (`TimedOut`);
//!   `try_*` calls use `MSG_DONTWAIT` (`WouldBlock`).
//! - IPv6 TCP and UDP sockets are `IPV6_V6ONLY`: `[::]:p` and `0.0.0.0:p` are separate
//!   endpoints.
//! - UDP segmentation offload (`UDP_SEGMENT` / `UDP_GRO`) behind the batched calls:
//!   [`unisock::DatagramSocket::send_batch`] sends each run of equal-size datagrams to one
//!   destination as one segmented send, and with [`UdpSocket::set_gro`] on, `recv_batch` (and
//!   every other receive call) cuts the buffers the kernel coalesced into single datagrams.
//!   [`UdpSocket::send_segments`] and [`UdpSocket::recv_segments`] give direct access.
//! - [`unisock::Stack::open_sockets`] counts the descriptors this crate holds, process-wide.
//!
//! ## Options
//! [`unisock::Socket::set_option`] takes these per socket type; anything else fails with
//! `Unsupported` before any system call (nothing is silently ignored):
//!
//! | option | TCP | UDP | raw | UNIX stream | UNIX datagram |
//! |---|---|---|---|---|---|
//! | `NoDelay` (`TCP_NODELAY`) | yes | | | | |
//! | `KeepAlive` (`SO_KEEPALIVE` + `TCP_KEEPIDLE`) | yes | | | | |
//! | `Ttl` (`IP_TTL` / `IPV6_UNICAST_HOPS`) | yes | yes | yes | | |
//! | `Linger` (`SO_LINGER`) | yes | | | | |
//! | `ReuseAddr` (`SO_REUSEADDR`) | yes | yes | | | |
//! | `RecvBufferSize`, `SendBufferSize` | yes | yes | yes | yes | yes |
//! | `ReadTimeout`, `WriteTimeout` | yes | yes | yes | yes | yes |
//!
//! Durations are rounded up to the kernel's unit: whole seconds for `KeepAlive` and `Linger`,
//! microseconds for timeouts (which the kernel keeps in clock ticks, so `50 ms` may read back
//! as `52 ms`). A zero `ReadTimeout`/`WriteTimeout` is `InvalidInput` (use `None`).
//! `Linger` and `ReuseAddr` are refused where Linux accepts but ignores them (UNIX and raw
//! sockets). On UNIX sockets Linux stores `RecvBufferSize`, but what bounds a queue is the
//! sender's `SendBufferSize`.
//!
//! ## Flags
//! `PEEK`, `OOB`, `WAITALL`, `DONTROUTE` map to `MSG_PEEK`, `MSG_OOB`, `MSG_WAITALL`,
//! `MSG_DONTROUTE`. `OOB` and `WAITALL` are stream flags: datagram and raw sockets refuse them
//! with `Unsupported` (Linux would silently ignore some of them there).
//!
//! ## Errors
//! [`kind_of_errno`] and [`kind_of_gai`] document the mapping to [`unisock::ErrorKind`].
//!
//! ## Not supported
//! `SO_REUSEPORT`, multicast, `IP_HDRINCL`, ancillary data other than UDP GSO/GRO
//! (descriptor passing, credentials).
//!
//! ## Async
//! With feature `tokio` and/or `async-io`, [`asynch`] has the async sockets
//! ([`unisock::asynch`] traits) over tokio's or async-io's reactor.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
// The non-blocking helpers the async sockets use are unused without a reactor.
#![cfg_attr(not(any(feature = "tokio", feature = "async-io")), allow(dead_code))]

#[cfg(any(feature = "tokio", feature = "async-io"))]
// The module docs name both reactors; with one feature off, the other's links dangle.
#[cfg_attr(
    not(all(feature = "tokio", feature = "async-io")),
    allow(rustdoc::broken_intra_doc_links)
)]
pub mod asynch;
mod convert;
mod datagram;
mod error;
mod family;
mod flags;
mod options;
mod raw;
mod stack;
mod stream;
mod sys;

pub use datagram::{Datagram, UdpSocket, UnixDatagram};
pub use error::{Cause, Error, ErrorAddr, Name, Op, kind_of_errno, kind_of_gai};
pub use family::Family;
pub use raw::RawSocket;
pub use stack::PosixStack;
pub use stream::{Listener, Stream, TcpListener, TcpSocket, TcpStream, UnixListener, UnixStream};

// Everything is `Send + Sync`; checked at compile time.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PosixStack>();
    assert_send_sync::<TcpSocket>();
    assert_send_sync::<TcpStream>();
    assert_send_sync::<TcpListener>();
    assert_send_sync::<UdpSocket>();
    assert_send_sync::<RawSocket>();
    assert_send_sync::<UnixStream>();
    assert_send_sync::<UnixListener>();
    assert_send_sync::<UnixDatagram>();
    assert_send_sync::<Error>();
};

// Errors stay small, so every `Result` of the hot paths stays small.
const _: () = assert!(core::mem::size_of::<Error>() <= 96);
