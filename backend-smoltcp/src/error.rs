//! The backend's one error type: an [`ErrorKind`] plus what was being done.
//!
//! Every operation of this crate reports [`Error`]; [`Error::kind`] gives the shared
//! [`ErrorKind`] and [`Error::context`] a short static description of the failing step (for
//! example `"tcp connect: RST answered our SYN"`) and [`Error::addr`] the endpoint involved,
//! when there is one. It converts to `std::io::Error` under `std`.

use core::fmt;
use core::net::SocketAddr;

use unisock::ErrorKind;

/// An error of the smoltcp backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error {
    kind: ErrorKind,
    context: &'static str,
    addr: Option<SocketAddr>,
}

#[cfg(feature = "defmt")]
impl defmt::Format for Error {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}: {}", self.kind, self.context)
    }
}

impl Error {
    /// An error of `kind` with a static description of what failed.
    pub const fn new(kind: ErrorKind, context: &'static str) -> Error {
        Error {
            kind,
            context,
            addr: None,
        }
    }

    /// The same error, naming the endpoint involved.
    pub const fn at(mut self, addr: SocketAddr) -> Error {
        self.addr = Some(addr);
        self
    }

    /// The endpoint involved (the address bound, connected or sent to), if any.
    pub const fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// What went wrong, in the shared vocabulary.
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What was being done, and why it failed.
    pub const fn context(&self) -> &'static str {
        self.context
    }

    pub(crate) const fn would_block() -> Error {
        Error::new(ErrorKind::WouldBlock, "operation would block")
    }

    pub(crate) const fn stale() -> Error {
        Error::new(
            ErrorKind::StaleHandle,
            "socket handle no longer names a live socket of this stack",
        )
    }

    pub(crate) const fn unsupported(context: &'static str) -> Error {
        Error::new(ErrorKind::Unsupported, context)
    }

    pub(crate) const fn invalid(context: &'static str) -> Error {
        Error::new(ErrorKind::InvalidInput, context)
    }

    pub(crate) fn is_would_block(&self) -> bool {
        self.kind == ErrorKind::WouldBlock
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.context)?;
        match self.addr {
            Some(a) => write!(f, " ({a})"),
            None => Ok(()),
        }
    }
}

impl core::error::Error for Error {}

impl embedded_io::Error for Error {
    fn kind(&self) -> embedded_io::ErrorKind {
        self.kind.into()
    }
}

impl unisock::Error for Error {
    fn socket_kind(&self) -> ErrorKind {
        self.kind
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error::new(kind, kind.as_str())
    }
}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        std::io::Error::new(e.kind.into(), e)
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
