//! # unisock: one BSD-shaped socket API, many stacks
//!
//! This crate is the vocabulary every unisock backend speaks: the [`Stack`] trait and the
//! socket traits ([`TcpSocket`], [`StreamListener`], [`StreamSocket`], [`DatagramSocket`],
//! [`RawSocket`]), addresses and associations, message flags, socket options, the shared
//! [`ErrorKind`], and resolution helpers ([`make_connection`]). It needs neither `std` nor an
//! allocator.
//!
//! Backends: `unisock-posix` (the Linux kernel through libc) and `unisock-smoltcp` (the smoltcp
//! userspace stack, on TAP, an in-process loopback or any embedded NIC driver). Code written
//! against these traits runs unchanged on both.
//!
//! ```
//! use core::net::SocketAddr;
//! use unisock::{Shutdown, Stack, StreamListener, StreamSocket};
//! use unisock::embedded_io::{Read, Write};
//!
//! /// Accept one connection and echo one read back, then half-close.
//! fn echo_once<S: Stack>(stack: &S, at: SocketAddr) -> Result<(), S::Error> {
//!     let mut listener = stack.listen(at, 8)?;
//!     let (mut conn, _peer) = listener.accept()?;
//!     let mut buf = [0u8; 1024];
//!     let n = conn.read(&mut buf)?;
//!     conn.write_all(&buf[..n])?;
//!     conn.shutdown(Shutdown::Write)
//! }
//! ```
//!
//! Waiting on many sockets at once: [`Stack::poll_sockets`] (the BSD `poll`, module [`poll`]).
//! Async code: the traits of [`asynch`], mirroring these name for name.
//!
//! ## What is not modelled
//! Ancillary data
//! (`cmsg`) beyond what the batched datagram calls use, multicast group membership, and
//! link-layer sockets.
//!
//! ## Features
//! - `alloc`, `std` (`std` adds the `std::io::ErrorKind` conversions);
//! - `defmt`: `defmt::Format` on the public enums. (This crate does not log; the backends have
//!   `log` and `defmt` features for that.)
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod addr;
pub mod asynch;
mod datagram;
mod error;
mod flags;
mod options;
pub mod poll;
mod raw;
pub mod resolve;
mod socket;
mod stack;
mod stream;

pub use embedded_io;

pub use addr::{
    Association, Domain, Protocol, SockType, UNIX_PATH_CAPACITY, UnixAddr, UnixAddrError,
    UnixAddrKind,
};
pub use datagram::{DatagramSocket, RecvMeta, RecvSlot, SendMsg};
pub use error::{Error, ErrorKind};
pub use flags::{RecvFlags, SendFlags, Shutdown};
pub use options::{SockOpt, SockOptName};
pub use raw::RawSocket;
pub use resolve::{
    ConnectOptions, MakeConnectionError, TargetError, make_connection, make_connection_with,
    parse_target,
};
pub use socket::{ErrorType, Socket};
pub use stack::{Addresses, MAX_ADDRESSES, Stack};
pub use stream::{StreamListener, StreamSocket, TcpSocket};

/// Everything generic socket code usually needs, in one import.
pub mod prelude {
    pub use crate::embedded_io::{Read as _, ReadReady as _, Write as _, WriteReady as _};
    pub use crate::{
        Association, Domain, ErrorKind, Protocol, RecvFlags, SendFlags, Shutdown, SockOpt,
        SockOptName,
    };
    pub use crate::{
        DatagramSocket as _, Error as _, RawSocket as _, Socket as _, Stack as _,
        StreamListener as _, StreamSocket as _, TcpSocket as _,
    };
}
