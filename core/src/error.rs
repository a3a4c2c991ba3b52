//! The error vocabulary shared by every backend.
//!
//! Each backend keeps its own precise error type (which operation failed, with which value, and
//! the operating-system code or stack state behind it); all of them report one [`ErrorKind`]
//! through the [`Error`] trait, so generic code can branch on what happened without naming a
//! backend.
//!
//! [`ErrorKind`] maps to [`embedded_io::ErrorKind`] (lossy: embedded-io has fewer kinds) and,
//! under the `std` feature, both ways to [`std::io::ErrorKind`] (lossless for every kind defined
//! here: `ErrorKind -> std -> ErrorKind` is the identity).

use core::fmt;

/// What went wrong, independent of the backend.
///
/// Named after [`std::io::ErrorKind`]; the comment on each variant gives the POSIX error numbers
/// that map to it and what the smoltcp backend reports it for.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ErrorKind {
    /// Anything not covered by a more specific kind.
    Other,
    /// A host name did not resolve to any address (`EAI_NONAME`, `EAI_NODATA`, no DNS answer).
    /// Maps to `std::io::ErrorKind::NotFound`.
    HostNotFound,
    /// The operation lacked the necessary privileges (`EPERM`, `EACCES`), e.g. a raw socket
    /// without `CAP_NET_RAW`.
    PermissionDenied,
    /// The remote host actively refused the connection (`ECONNREFUSED`, or an RST answering our
    /// SYN).
    ConnectionRefused,
    /// The remote host reset an established connection (`ECONNRESET`, or an RST on an
    /// established smoltcp connection).
    ConnectionReset,
    /// The connection was aborted locally (`ECONNABORTED`), e.g. by an explicit abort.
    ConnectionAborted,
    /// No route to the destination host (`EHOSTUNREACH`).
    HostUnreachable,
    /// The destination network is unreachable (`ENETUNREACH`), e.g. `DONTROUTE` towards an
    /// off-link address, or no route and no gateway.
    NetworkUnreachable,
    /// The network interface is down (`ENETDOWN`).
    NetworkDown,
    /// The socket is not connected (`ENOTCONN`), or an operation came in the wrong order (recv
    /// before connect).
    NotConnected,
    /// The local endpoint is already in use (`EADDRINUSE`): a second listener on one endpoint,
    /// or no ephemeral port left.
    AddrInUse,
    /// The requested local address is not one of this host's (`EADDRNOTAVAIL`), or no local
    /// address can reach the destination.
    AddrNotAvailable,
    /// Writing to a stream whose peer has gone, or whose write side was shut down (`EPIPE`).
    BrokenPipe,
    /// The socket is already in the requested state (`EISCONN`, `EALREADY`): connect twice,
    /// listen twice. Maps to `std::io::ErrorKind::AlreadyExists`.
    AlreadyConnected,
    /// A non-blocking operation could not complete now (`EAGAIN`, `EWOULDBLOCK`,
    /// `EINPROGRESS`).
    WouldBlock,
    /// A parameter was invalid (`EINVAL`, `EAFNOSUPPORT`, `EMSGSIZE`, a malformed address or
    /// host string, a zero port where one is required, an operation on the wrong kind of socket).
    InvalidInput,
    /// Data received was malformed (a resolver answer, a packet shorter than its header).
    InvalidData,
    /// A timeout expired: connect, accept, read or write timeout, or the TCP retransmission or
    /// keep-alive timer gave up (`ETIMEDOUT`, or `EAGAIN` from a call with a timeout set).
    TimedOut,
    /// A `write` could not write any byte of a non-empty buffer.
    WriteZero,
    /// The operation was interrupted (`EINTR`); backends retry this internally, so it is only
    /// seen where retrying is not possible.
    Interrupted,
    /// The backend cannot provide this feature or option at all (`EOPNOTSUPP`,
    /// `ENOPROTOOPT`, `EPROTONOSUPPORT`, urgent data on smoltcp). Retrying cannot succeed.
    Unsupported,
    /// The stream ended before the requested amount of data arrived.
    UnexpectedEof,
    /// A resource pool is exhausted: no free socket slot, no buffer memory, the process or
    /// system file-descriptor limit (`ENOMEM`, `ENOBUFS`, `EMFILE`, `ENFILE`).
    OutOfMemory,
    /// The handle no longer names a live socket of this stack (closed, reused, or from another
    /// stack), or the descriptor is invalid (`EBADF`, `ENOTSOCK`).
    /// Maps to `std::io::ErrorKind::StaleNetworkFileHandle`.
    StaleHandle,
}

impl ErrorKind {
    /// Every kind, in declaration order (used by round-trip tests and tables).
    pub const ALL: [ErrorKind; 24] = [
        ErrorKind::Other,
        ErrorKind::HostNotFound,
        ErrorKind::PermissionDenied,
        ErrorKind::ConnectionRefused,
        ErrorKind::ConnectionReset,
        ErrorKind::ConnectionAborted,
        ErrorKind::HostUnreachable,
        ErrorKind::NetworkUnreachable,
        ErrorKind::NetworkDown,
        ErrorKind::NotConnected,
        ErrorKind::AddrInUse,
        ErrorKind::AddrNotAvailable,
        ErrorKind::BrokenPipe,
        ErrorKind::AlreadyConnected,
        ErrorKind::WouldBlock,
        ErrorKind::InvalidInput,
        ErrorKind::InvalidData,
        ErrorKind::TimedOut,
        ErrorKind::WriteZero,
        ErrorKind::Interrupted,
        ErrorKind::Unsupported,
        ErrorKind::UnexpectedEof,
        ErrorKind::OutOfMemory,
        ErrorKind::StaleHandle,
    ];

    /// A short human-readable description, as `strerror` would give.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Other => "other error",
            ErrorKind::HostNotFound => "host not found",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::ConnectionRefused => "connection refused",
            ErrorKind::ConnectionReset => "connection reset by peer",
            ErrorKind::ConnectionAborted => "connection aborted",
            ErrorKind::HostUnreachable => "host unreachable",
            ErrorKind::NetworkUnreachable => "network unreachable",
            ErrorKind::NetworkDown => "network down",
            ErrorKind::NotConnected => "not connected",
            ErrorKind::AddrInUse => "address in use",
            ErrorKind::AddrNotAvailable => "address not available",
            ErrorKind::BrokenPipe => "broken pipe",
            ErrorKind::AlreadyConnected => "already connected",
            ErrorKind::WouldBlock => "operation would block",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::InvalidData => "invalid data",
            ErrorKind::TimedOut => "timed out",
            ErrorKind::WriteZero => "write zero",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::UnexpectedEof => "unexpected end of stream",
            ErrorKind::OutOfMemory => "out of memory",
            ErrorKind::StaleHandle => "stale socket handle",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for ErrorKind {}

impl embedded_io::Error for ErrorKind {
    fn kind(&self) -> embedded_io::ErrorKind {
        (*self).into()
    }
}

impl Error for ErrorKind {
    fn socket_kind(&self) -> ErrorKind {
        *self
    }
}

/// A backend error that reports its [`ErrorKind`].
///
/// Every socket trait's error type implements this (it is bound on the shared
/// [`ErrorType`](crate::ErrorType)). The method is not called `kind` because
/// [`embedded_io::Error::kind`] already is, and a generic function bound on both would find the
/// name ambiguous; concrete backend error types also offer an inherent `kind()` returning
/// [`ErrorKind`].
pub trait Error: embedded_io::Error {
    /// What went wrong, in the shared vocabulary.
    fn socket_kind(&self) -> ErrorKind;
}

impl From<ErrorKind> for embedded_io::ErrorKind {
    /// Lossy: kinds that embedded-io lacks become the closest one it has (`HostNotFound` becomes
    /// `NotFound`, `WouldBlock` and the unreachable kinds become `Other`).
    fn from(kind: ErrorKind) -> Self {
        use embedded_io::ErrorKind as E;
        match kind {
            ErrorKind::HostNotFound => E::NotFound,
            ErrorKind::PermissionDenied => E::PermissionDenied,
            ErrorKind::ConnectionRefused => E::ConnectionRefused,
            ErrorKind::ConnectionReset => E::ConnectionReset,
            ErrorKind::ConnectionAborted => E::ConnectionAborted,
            ErrorKind::NotConnected => E::NotConnected,
            ErrorKind::AddrInUse => E::AddrInUse,
            ErrorKind::AddrNotAvailable => E::AddrNotAvailable,
            ErrorKind::BrokenPipe => E::BrokenPipe,
            ErrorKind::AlreadyConnected => E::AlreadyExists,
            ErrorKind::InvalidInput => E::InvalidInput,
            ErrorKind::InvalidData => E::InvalidData,
            ErrorKind::TimedOut => E::TimedOut,
            ErrorKind::WriteZero => E::WriteZero,
            ErrorKind::Interrupted => E::Interrupted,
            ErrorKind::Unsupported => E::Unsupported,
            ErrorKind::OutOfMemory => E::OutOfMemory,
            ErrorKind::StaleHandle => E::InvalidInput,
            ErrorKind::Other
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::NetworkDown
            | ErrorKind::WouldBlock
            | ErrorKind::UnexpectedEof => E::Other,
        }
    }
}

impl From<embedded_io::ErrorKind> for ErrorKind {
    fn from(kind: embedded_io::ErrorKind) -> Self {
        use embedded_io::ErrorKind as E;
        match kind {
            E::NotFound => ErrorKind::HostNotFound,
            E::PermissionDenied => ErrorKind::PermissionDenied,
            E::ConnectionRefused => ErrorKind::ConnectionRefused,
            E::ConnectionReset => ErrorKind::ConnectionReset,
            E::ConnectionAborted => ErrorKind::ConnectionAborted,
            E::NotConnected => ErrorKind::NotConnected,
            E::AddrInUse => ErrorKind::AddrInUse,
            E::AddrNotAvailable => ErrorKind::AddrNotAvailable,
            E::BrokenPipe => ErrorKind::BrokenPipe,
            E::AlreadyExists => ErrorKind::AlreadyConnected,
            E::InvalidInput => ErrorKind::InvalidInput,
            E::InvalidData => ErrorKind::InvalidData,
            E::TimedOut => ErrorKind::TimedOut,
            E::WriteZero => ErrorKind::WriteZero,
            E::Interrupted => ErrorKind::Interrupted,
            E::Unsupported => ErrorKind::Unsupported,
            E::OutOfMemory => ErrorKind::OutOfMemory,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(feature = "std")]
impl From<ErrorKind> for std::io::ErrorKind {
    /// Lossless: every [`ErrorKind`] has its own `std::io::ErrorKind`.
    fn from(kind: ErrorKind) -> Self {
        use std::io::ErrorKind as S;
        match kind {
            ErrorKind::Other => S::Other,
            ErrorKind::HostNotFound => S::NotFound,
            ErrorKind::PermissionDenied => S::PermissionDenied,
            ErrorKind::ConnectionRefused => S::ConnectionRefused,
            ErrorKind::ConnectionReset => S::ConnectionReset,
            ErrorKind::ConnectionAborted => S::ConnectionAborted,
            ErrorKind::HostUnreachable => S::HostUnreachable,
            ErrorKind::NetworkUnreachable => S::NetworkUnreachable,
            ErrorKind::NetworkDown => S::NetworkDown,
            ErrorKind::NotConnected => S::NotConnected,
            ErrorKind::AddrInUse => S::AddrInUse,
            ErrorKind::AddrNotAvailable => S::AddrNotAvailable,
            ErrorKind::BrokenPipe => S::BrokenPipe,
            ErrorKind::AlreadyConnected => S::AlreadyExists,
            ErrorKind::WouldBlock => S::WouldBlock,
            ErrorKind::InvalidInput => S::InvalidInput,
            ErrorKind::InvalidData => S::InvalidData,
            ErrorKind::TimedOut => S::TimedOut,
            ErrorKind::WriteZero => S::WriteZero,
            ErrorKind::Interrupted => S::Interrupted,
            ErrorKind::Unsupported => S::Unsupported,
            ErrorKind::UnexpectedEof => S::UnexpectedEof,
            ErrorKind::OutOfMemory => S::OutOfMemory,
            ErrorKind::StaleHandle => S::StaleNetworkFileHandle,
        }
    }
}

#[cfg(feature = "std")]
impl From<std::io::ErrorKind> for ErrorKind {
    /// Kinds with no socket meaning (file-system kinds and the like) become [`ErrorKind::Other`].
    fn from(kind: std::io::ErrorKind) -> Self {
        use std::io::ErrorKind as S;
        match kind {
            S::NotFound => ErrorKind::HostNotFound,
            S::PermissionDenied => ErrorKind::PermissionDenied,
            S::ConnectionRefused => ErrorKind::ConnectionRefused,
            S::ConnectionReset => ErrorKind::ConnectionReset,
            S::ConnectionAborted => ErrorKind::ConnectionAborted,
            S::HostUnreachable => ErrorKind::HostUnreachable,
            S::NetworkUnreachable => ErrorKind::NetworkUnreachable,
            S::NetworkDown => ErrorKind::NetworkDown,
            S::NotConnected => ErrorKind::NotConnected,
            S::AddrInUse => ErrorKind::AddrInUse,
            S::AddrNotAvailable => ErrorKind::AddrNotAvailable,
            S::BrokenPipe => ErrorKind::BrokenPipe,
            S::AlreadyExists => ErrorKind::AlreadyConnected,
            S::WouldBlock => ErrorKind::WouldBlock,
            S::InvalidInput => ErrorKind::InvalidInput,
            S::InvalidData => ErrorKind::InvalidData,
            S::TimedOut => ErrorKind::TimedOut,
            S::WriteZero => ErrorKind::WriteZero,
            S::Interrupted => ErrorKind::Interrupted,
            S::Unsupported => ErrorKind::Unsupported,
            S::UnexpectedEof => ErrorKind::UnexpectedEof,
            S::OutOfMemory => ErrorKind::OutOfMemory,
            S::StaleNetworkFileHandle => ErrorKind::StaleHandle,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(feature = "std")]
impl From<ErrorKind> for std::io::Error {
    fn from(kind: ErrorKind) -> Self {
        std::io::Error::from(std::io::ErrorKind::from(kind))
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn every_kind_is_listed_once() {
        for (i, a) in ErrorKind::ALL.iter().enumerate() {
            for b in &ErrorKind::ALL[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[cfg(feature = "std")]
    #[test]
    fn std_round_trip_is_identity_for_every_kind() {
        for kind in ErrorKind::ALL {
            let std_kind: std::io::ErrorKind = kind.into();
            assert_eq!(ErrorKind::from(std_kind), kind, "{kind:?} -> {std_kind:?}");
        }
    }

    #[test]
    fn embedded_io_round_trip_keeps_every_kind_it_can_express() {
        for kind in ErrorKind::ALL {
            let e: embedded_io::ErrorKind = kind.into();
            let back = ErrorKind::from(e);
            if e != embedded_io::ErrorKind::Other && kind != ErrorKind::StaleHandle {
                assert_eq!(back, kind, "{kind:?} -> {e:?}");
            } else {
                assert!(matches!(back, ErrorKind::Other | ErrorKind::InvalidInput));
            }
        }
    }
}
