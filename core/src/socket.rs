//! The base of every socket trait: one error type, the local endpoint, options.

use crate::{Error, SockOpt, SockOptName};

pub use embedded_io::ErrorType;

/// What every socket has: a local endpoint and options.
///
/// The error type comes from [`ErrorType`] (embedded-io's, shared with the stream I/O traits),
/// bound to [`Error`] so that every error of every socket of a backend reports an
/// [`ErrorKind`](crate::ErrorKind). A backend's stack, streams, listeners, datagram and raw
/// sockets all use the one error type (the [`Stack`](crate::Stack) trait requires it), so they
/// cannot disagree.
pub trait Socket: ErrorType<Error: Error> {
    /// The endpoint type: [`core::net::SocketAddr`] for TCP and UDP, [`crate::UnixAddr`] for
    /// UNIX-domain sockets, [`core::net::IpAddr`] for raw sockets.
    type Addr: Copy + core::fmt::Debug + core::fmt::Display + Eq;

    /// The local endpoint (`getsockname`). For a socket that was never bound, the unspecified
    /// address with port 0.
    fn local_addr(&self) -> Result<Self::Addr, Self::Error>;

    /// Set an option (`setsockopt`). An option this backend or socket type cannot provide
    /// fails with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported); a value out of
    /// range with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
    fn set_option(&mut self, option: SockOpt) -> Result<(), Self::Error>;

    /// Read an option's current value (`getsockopt`).
    fn option(&self, name: SockOptName) -> Result<SockOpt, Self::Error>;
}
