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
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
    /// The stack's message as it is; the adapter's own say what and why, each once:
    /// `send: the socket is not connected`,
    /// `connect: the socket was released by a failed connect or listen; close it: stale socket
    /// handle`.
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
            // The kind's text only when `what` does not say it already.
            Error::State { kind, what } => {
                f.write_str(what)?;
                let said = what
                    .as_bytes()
                    .windows(kind.as_str().len())
                    .any(|w| w.eq_ignore_ascii_case(kind.as_str().as_bytes()));
                if said { Ok(()) } else { write!(f, ": {kind}") }
            }
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

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    #[test]
    fn messages_say_what_and_the_kind_once() {
        let e: Error<ErrorKind> =
            Error::state(ErrorKind::NotConnected, "send: the socket is not connected");
        assert_eq!(e.to_string(), "send: the socket is not connected");
        let e: Error<ErrorKind> = Error::state(
            ErrorKind::InvalidInput,
            "accept: the socket is not listening",
        );
        assert_eq!(
            e.to_string(),
            "accept: the socket is not listening: invalid input"
        );
        let e: Error<ErrorKind> = Error::Stack(ErrorKind::ConnectionReset);
        assert_eq!(e.to_string(), "connection reset by peer");
        assert_eq!(TcpError::kind(&e), TcpErrorKind::PipeClosed);
        let e: Error<ErrorKind> = Error::Truncated {
            len: 10,
            full_len: 100,
            from: "10.7.0.1:5683".parse().unwrap(),
        };
        assert_eq!(
            e.to_string(),
            "datagram of 100 bytes from 10.7.0.1:5683 truncated to the 10-byte buffer"
        );
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(TcpError::kind(&e), TcpErrorKind::Other);
    }

    #[test]
    fn pipe_closed_exactly_for_a_gone_connection() {
        for kind in ErrorKind::ALL {
            let e: Error<ErrorKind> = Error::Stack(kind);
            let gone = matches!(
                kind,
                ErrorKind::UnexpectedEof
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::TimedOut
            );
            assert_eq!(
                TcpError::kind(&e) == TcpErrorKind::PipeClosed,
                gone,
                "{kind:?}"
            );
            assert_eq!(e.kind(), kind);
        }
        let eof: Error<ErrorKind> = Error::EndOfStream;
        assert_eq!(TcpError::kind(&eof), TcpErrorKind::PipeClosed);
    }
}
