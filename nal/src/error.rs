//! The adapter's error type: the stack's own error, or what the adapter itself detected.
//!
//! [`Error::kind`] reports the shared [`ErrorKind`] for every variant, so code can branch on it
//! whichever backend is underneath; [`embedded_nal::TcpError::kind`] reports
//! [`TcpErrorKind::PipeClosed`] for every error that means the connection is gone (end of
//! stream, reset, abort, broken pipe, a connection that timed out), which is what embedded-nal
//! clients test to decide to reconnect.

use core::fmt;
use core::net::SocketAddr;

use embedded_nal::{TcpError, TcpErrorKind};
use unisock::ErrorKind;

/// An error of the embedded-nal adapter over a stack whose error type is `E`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error<E> {
    /// The unisock stack failed; its error says which operation, why, and (on the kernel
    /// backend) the OS error.
    Stack(E),
    /// The peer closed its direction of the stream: `receive` found the end of the stream
    /// (unisock's `read` returning `Ok(0)` for a non-empty buffer). Kind
    /// [`ErrorKind::UnexpectedEof`], [`TcpErrorKind::PipeClosed`]. Sticky: every later
    /// `receive` reports it again.
    EndOfStream,
    /// A datagram was longer than the receive buffer: its first `len` bytes are in the buffer,
    /// the rest (`full_len` in all) is discarded. Kind [`ErrorKind::InvalidInput`].
    Truncated {
        /// Bytes placed in the buffer.
        len: usize,
        /// The datagram's full length.
        full_len: usize,
        /// The sender.
        from: SocketAddr,
    },
    /// The name resolved, but to no address of the requested type
    /// ([`embedded_nal::AddrType`]). Kind [`ErrorKind::HostNotFound`].
    NoAddressOfType,
    /// The call does not fit the socket's state (for example `send` before `connect`, `bind`
    /// twice, any call but `close` on a socket whose connect failed). `what` says which call
    /// and state; `kind` is the shared kind (`NotConnected`, `InvalidInput`,
    /// `AlreadyConnected`, `StaleHandle`, `Unsupported`).
    State {
        /// The shared kind.
        kind: ErrorKind,
        /// Which call met which state.
        what: &'static str,
    },
}

impl<E: unisock::Error> Error<E> {
    /// What went wrong, in unisock's shared vocabulary.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Stack(e) => e.socket_kind(),
            Error::EndOfStream => ErrorKind::UnexpectedEof,
            Error::Truncated { .. } => ErrorKind::InvalidInput,
            Error::NoAddressOfType => ErrorKind::HostNotFound,
            Error::State { kind, .. } => *kind,
        }
    }

    /// The stack's own error, if this is one.
    pub fn stack_error(&self) -> Option<&E> {
        match self {
            Error::Stack(e) => Some(e),
            _ => None,
        }
    }
}

impl<E> Error<E> {
    pub(crate) const fn state(kind: ErrorKind, what: &'static str) -> Self {
        Error::State { kind, what }
    }
}

impl<E> From<E> for Error<E> {
    fn from(e: E) -> Self {
        Error::Stack(e)
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Stack(e) => e.fmt(f),
            Error::EndOfStream => f.write_str("end of stream: the peer closed the connection"),
            Error::Truncated {
                len,
                full_len,
                from,
            } => write!(
                f,
                "datagram of {full_len} bytes from {from} truncated to the {len}-byte buffer"
            ),
            Error::NoAddressOfType => {
                f.write_str("the name has no address of the requested type (A or AAAA)")
            }
            Error::State { kind, what } => write!(f, "{what}: {kind}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for Error<E> {}

impl<E: unisock::Error + fmt::Display> unisock::embedded_io::Error for Error<E> {
    fn kind(&self) -> unisock::embedded_io::ErrorKind {
        Error::kind(self).into()
    }
}

impl<E: unisock::Error + fmt::Display> unisock::Error for Error<E> {
    fn socket_kind(&self) -> ErrorKind {
        Error::kind(self)
    }
}

impl<E: unisock::Error> TcpError for Error<E> {
    /// [`TcpErrorKind::PipeClosed`] when the connection is gone for good in the direction of
    /// the call: end of stream, `ConnectionReset`, `ConnectionAborted`, `BrokenPipe`, and
    /// `TimedOut` (retransmission or keep-alive gave up; the adapter's non-blocking calls
    /// never time out otherwise). Everything else is [`TcpErrorKind::Other`].
    fn kind(&self) -> TcpErrorKind {
        match Error::kind(self) {
            ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
            | ErrorKind::TimedOut => TcpErrorKind::PipeClosed,
            _ => TcpErrorKind::Other,
        }
    }
}
