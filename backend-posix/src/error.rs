//! The one error type of this backend: which operation failed, why (the `errno` or
//! `getaddrinfo` code), and with which address.
//!
//! `errno` values map to [`ErrorKind`] as the comments on [`ErrorKind`]'s variants say; see
//! [`kind_of_errno`] for the table. `EAGAIN` depends on the call: a non-blocking (`try_*`) call
//! reports [`ErrorKind::WouldBlock`], a blocking call (which can only see it when a
//! `ReadTimeout`/`WriteTimeout` expired) reports [`ErrorKind::TimedOut`]; so does
//! `EINPROGRESS` from a blocking `connect` whose `WriteTimeout` expired.

use core::fmt;
use core::net::{IpAddr, SocketAddr};

use unisock::{ErrorKind, UnixAddr, UnixAddrKind, embedded_io};

use crate::sys::Errno;

/// The operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Creating a socket (`socket`, `socketpair`).
    Socket,
    /// `bind`.
    Bind,
    /// `listen`.
    Listen,
    /// `connect`.
    Connect,
    /// `accept`.
    Accept,
    /// Sending (`send`, `sendto`, `sendmmsg`, `write`).
    Send,
    /// Receiving (`recv`, `recvfrom`, `recvmmsg`, `read`).
    Recv,
    /// `shutdown`.
    Shutdown,
    /// `setsockopt`.
    SetOption,
    /// `getsockopt`.
    GetOption,
    /// Name resolution (`getaddrinfo`).
    Resolve,
    /// `getsockname`.
    LocalAddr,
    /// `getpeername`.
    PeerAddr,
    /// Waiting for readiness (`poll`).
    Poll,
    /// Closing (`abort`).
    Close,
}

impl Op {
    /// The operation's name, as printed in messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            Op::Socket => "socket",
            Op::Bind => "bind",
            Op::Listen => "listen",
            Op::Connect => "connect",
            Op::Accept => "accept",
            Op::Send => "send",
            Op::Recv => "recv",
            Op::Shutdown => "shutdown",
            Op::SetOption => "setsockopt",
            Op::GetOption => "getsockopt",
            Op::Resolve => "resolve",
            Op::LocalAddr => "getsockname",
            Op::PeerAddr => "getpeername",
            Op::Poll => "poll",
            Op::Close => "close",
        }
    }

    /// The preposition before an address in messages (`connect to 127.0.0.1:9`).
    const fn preposition(self) -> &'static str {
        match self {
            Op::Connect | Op::Bind | Op::Send => "to",
            Op::Recv | Op::Accept => "from",
            Op::Resolve => "",
            _ => "on",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The address (or host name) an error concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorAddr {
    /// An Internet endpoint.
    Inet(SocketAddr),
    /// An IP address (raw sockets).
    Ip(IpAddr),
    /// A UNIX-domain endpoint: how it is named, and the start of the name.
    Unix(UnixAddrKind, Name),
    /// A host name given to the resolver (its start).
    Host(Name),
}

impl fmt::Display for ErrorAddr {
    /// UNIX names print as [`UnixAddr`] does (`@` before abstract names).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorAddr::Inet(a) => a.fmt(f),
            ErrorAddr::Ip(a) => a.fmt(f),
            ErrorAddr::Unix(UnixAddrKind::Unnamed, _) => f.write_str("(unnamed)"),
            ErrorAddr::Unix(UnixAddrKind::Abstract, name) => write!(f, "@{name}"),
            ErrorAddr::Unix(UnixAddrKind::Pathname, name) | ErrorAddr::Host(name) => name.fmt(f),
        }
    }
}

impl From<SocketAddr> for ErrorAddr {
    fn from(a: SocketAddr) -> Self {
        ErrorAddr::Inet(a)
    }
}

impl From<IpAddr> for ErrorAddr {
    fn from(a: IpAddr) -> Self {
        ErrorAddr::Ip(a)
    }
}

impl From<UnixAddr> for ErrorAddr {
    fn from(a: UnixAddr) -> Self {
        ErrorAddr::Unix(a.kind(), Name::new(a.as_bytes()))
    }
}

/// The start of a name (UNIX socket path, abstract name, host name), kept inline in an
/// [`Error`]: a whole [`UnixAddr`] would make every error, and so every `Result` of this crate,
/// much larger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name {
    len: u8,
    truncated: bool,
    bytes: [u8; Name::CAPACITY],
}

impl Name {
    /// How many leading bytes of a name are kept.
    pub const CAPACITY: usize = 64;

    /// Keep the first [`Name::CAPACITY`] bytes of `name`.
    pub fn new(name: &[u8]) -> Name {
        let len = name.len().min(Self::CAPACITY);
        let mut bytes = [0; Self::CAPACITY];
        bytes[..len].copy_from_slice(&name[..len]);
        Name {
            // At most CAPACITY (64).
            len: len as u8,
            truncated: name.len() > len,
            bytes,
        }
    }

    /// The kept bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len).min(Self::CAPACITY)]
    }

    /// Whether the name was longer than [`Name::CAPACITY`].
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Display for Name {
    /// Non-UTF-8 bytes print as `\xNN`; a truncated name ends with `...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.as_bytes().utf8_chunks() {
            f.write_str(chunk.valid())?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        if self.truncated {
            f.write_str("...")?;
        }
        Ok(())
    }
}

/// Why the operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The operating system refused with this `errno`.
    Os(i32),
    /// `getaddrinfo` failed with this `EAI_*` code.
    Gai(i32),
    /// This crate refused before asking the OS (the text says why).
    Invalid(&'static str),
}

/// An error of this backend: the operation, its cause, the [`ErrorKind`], and the address
/// involved where there is one.
///
/// Displays as `connect to 127.0.0.1:9: connection refused (os error 111)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error {
    op: Op,
    kind: ErrorKind,
    cause: Cause,
    addr: Option<ErrorAddr>,
}

/// The [`ErrorKind`] of an `errno`, as for a non-blocking call (`EAGAIN` is `WouldBlock`).
///
/// | errno | kind |
/// |---|---|
/// | `EPERM`, `EACCES` | `PermissionDenied` |
/// | `ECONNREFUSED` | `ConnectionRefused` |
/// | `ECONNRESET` | `ConnectionReset` |
/// | `ECONNABORTED` | `ConnectionAborted` |
/// | `EHOSTUNREACH`, `EHOSTDOWN` | `HostUnreachable` |
/// | `ENETUNREACH` | `NetworkUnreachable` |
/// | `ENETDOWN` | `NetworkDown` |
/// | `ENOTCONN`, `EDESTADDRREQ` | `NotConnected` |
/// | `EADDRINUSE` | `AddrInUse` |
/// | `EADDRNOTAVAIL` | `AddrNotAvailable` |
/// | `EPIPE` | `BrokenPipe` |
/// | `EISCONN`, `EALREADY` | `AlreadyConnected` |
/// | `EAGAIN`/`EWOULDBLOCK`, `EINPROGRESS` | `WouldBlock` |
/// | `EINVAL`, `EAFNOSUPPORT`, `EMSGSIZE`, `EFAULT`, `EPROTOTYPE`, `EDOM` | `InvalidInput` |
/// | `ETIMEDOUT` | `TimedOut` |
/// | `EINTR` | `Interrupted` |
/// | `EOPNOTSUPP`, `ENOPROTOOPT`, `EPROTONOSUPPORT`, `ESOCKTNOSUPPORT`, `EPFNOSUPPORT`, `ENOSYS` | `Unsupported` |
/// | `ENOMEM`, `ENOBUFS`, `EMFILE`, `ENFILE` | `OutOfMemory` |
/// | `EBADF`, `ENOTSOCK` | `StaleHandle` |
/// | anything else (e.g. `ENOENT` for a missing UNIX socket path) | `Other` |
pub const fn kind_of_errno(errno: i32) -> ErrorKind {
    match errno {
        libc::EPERM | libc::EACCES => ErrorKind::PermissionDenied,
        libc::ECONNREFUSED => ErrorKind::ConnectionRefused,
        libc::ECONNRESET => ErrorKind::ConnectionReset,
        libc::ECONNABORTED => ErrorKind::ConnectionAborted,
        libc::EHOSTUNREACH | libc::EHOSTDOWN => ErrorKind::HostUnreachable,
        libc::ENETUNREACH => ErrorKind::NetworkUnreachable,
        libc::ENETDOWN => ErrorKind::NetworkDown,
        libc::ENOTCONN | libc::EDESTADDRREQ => ErrorKind::NotConnected,
        libc::EADDRINUSE => ErrorKind::AddrInUse,
        libc::EADDRNOTAVAIL => ErrorKind::AddrNotAvailable,
        libc::EPIPE => ErrorKind::BrokenPipe,
        libc::EISCONN | libc::EALREADY => ErrorKind::AlreadyConnected,
        libc::EAGAIN | libc::EINPROGRESS => ErrorKind::WouldBlock,
        libc::EINVAL
        | libc::EAFNOSUPPORT
        | libc::EMSGSIZE
        | libc::EFAULT
        | libc::EPROTOTYPE
        | libc::EDOM => ErrorKind::InvalidInput,
        libc::ETIMEDOUT => ErrorKind::TimedOut,
        libc::EINTR => ErrorKind::Interrupted,
        libc::EOPNOTSUPP
        | libc::ENOPROTOOPT
        | libc::EPROTONOSUPPORT
        | libc::ESOCKTNOSUPPORT
        | libc::EPFNOSUPPORT
        | libc::ENOSYS => ErrorKind::Unsupported,
        libc::ENOMEM | libc::ENOBUFS | libc::EMFILE | libc::ENFILE => ErrorKind::OutOfMemory,
        libc::EBADF | libc::ENOTSOCK => ErrorKind::StaleHandle,
        _ => ErrorKind::Other,
    }
}

/// The [`ErrorKind`] of a `getaddrinfo` code (`EAI_SYSTEM` is reported through its `errno`
/// instead).
///
/// `EAI_NONAME`, `EAI_NODATA` and `EAI_AGAIN` (no answer now) are `HostNotFound`; `EAI_MEMORY`
/// is `OutOfMemory`; `EAI_FAMILY`, `EAI_SOCKTYPE`, `EAI_SERVICE`, `EAI_BADFLAGS` are
/// `InvalidInput`; others (`EAI_FAIL`) are `Other`.
pub const fn kind_of_gai(code: i32) -> ErrorKind {
    match code {
        libc::EAI_NONAME | libc::EAI_NODATA | libc::EAI_AGAIN => ErrorKind::HostNotFound,
        libc::EAI_MEMORY => ErrorKind::OutOfMemory,
        libc::EAI_FAMILY | libc::EAI_SOCKTYPE | libc::EAI_SERVICE | libc::EAI_BADFLAGS => {
            ErrorKind::InvalidInput
        }
        _ => ErrorKind::Other,
    }
}

impl Error {
    /// An OS error of a non-blocking call (`EAGAIN` is `WouldBlock`).
    #[cold]
    pub(crate) fn os(op: Op, errno: Errno) -> Error {
        Error {
            op,
            kind: kind_of_errno(errno),
            cause: Cause::Os(errno),
            addr: None,
        }
    }

    /// An OS error of a blocking call: `EAGAIN` (and, from a blocking `connect`,
    /// `EINPROGRESS`) means its `SO_RCVTIMEO`/`SO_SNDTIMEO` expired: `TimedOut`.
    #[cold]
    pub(crate) fn blocking(op: Op, errno: Errno) -> Error {
        let mut e = Error::os(op, errno);
        if errno == libc::EAGAIN || errno == libc::EINPROGRESS {
            e.kind = ErrorKind::TimedOut;
        }
        e
    }

    /// A `getaddrinfo` error.
    #[cold]
    pub(crate) fn gai(code: i32) -> Error {
        Error {
            op: Op::Resolve,
            kind: kind_of_gai(code),
            cause: Cause::Gai(code),
            addr: None,
        }
    }

    /// An error found by this crate before any system call.
    #[cold]
    pub(crate) fn invalid(op: Op, kind: ErrorKind, why: &'static str) -> Error {
        Error {
            op,
            kind,
            cause: Cause::Invalid(why),
            addr: None,
        }
    }

    /// Attach the address the operation concerned.
    #[cold]
    pub(crate) fn at(mut self, addr: impl Into<ErrorAddr>) -> Error {
        self.addr = Some(addr.into());
        self
    }

    /// What went wrong, in the shared vocabulary.
    #[inline]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The operation that failed.
    pub fn op(&self) -> Op {
        self.op
    }

    /// Why it failed.
    pub fn cause(&self) -> Cause {
        self.cause
    }

    /// The `errno`, if the OS reported this error.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self.cause {
            Cause::Os(e) => Some(e),
            _ => None,
        }
    }

    /// The `getaddrinfo` `EAI_*` code, if name resolution failed.
    pub fn gai_code(&self) -> Option<i32> {
        match self.cause {
            Cause::Gai(c) => Some(c),
            _ => None,
        }
    }

    /// The address the operation concerned, if recorded.
    pub fn addr(&self) -> Option<ErrorAddr> {
        self.addr
    }
}

/// Write C message bytes, lower-casing the first letter (`Connection refused` becomes
/// `connection refused`, as Rust messages are written).
fn write_message(f: &mut fmt::Formatter<'_>, msg: &[u8]) -> fmt::Result {
    let mut first = true;
    for chunk in msg.utf8_chunks() {
        let s = chunk.valid();
        if first && !s.is_empty() {
            let mut chars = s.chars();
            if let Some(c) = chars.next() {
                for l in c.to_lowercase() {
                    fmt::Write::write_char(f, l)?;
                }
            }
            f.write_str(chars.as_str())?;
        } else {
            f.write_str(s)?;
        }
        first = false;
        for b in chunk.invalid() {
            write!(f, "\\x{b:02x}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.op.as_str())?;
        if let Some(addr) = &self.addr {
            match self.op.preposition() {
                "" => write!(f, " {addr}")?,
                p => write!(f, " {p} {addr}")?,
            }
        }
        f.write_str(": ")?;
        match self.cause {
            Cause::Os(errno) => {
                if matches!(errno, libc::EAGAIN | libc::EINPROGRESS)
                    && self.kind == ErrorKind::TimedOut
                {
                    f.write_str(self.kind.as_str())?;
                } else {
                    let mut buf = [0u8; 128];
                    let msg = crate::sys::strerror(errno, &mut buf);
                    if msg.is_empty() {
                        f.write_str(self.kind.as_str())?;
                    } else {
                        write_message(f, msg)?;
                    }
                }
                write!(f, " (os error {errno})")
            }
            Cause::Gai(code) => {
                write_message(f, crate::sys::gai_strerror(code))?;
                write!(f, " (getaddrinfo error {code})")
            }
            Cause::Invalid(why) => write!(f, "{}: {why}", self.kind),
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

impl From<Error> for std::io::Error {
    /// Keeps the `errno` (`from_raw_os_error`) when std would give it the same kind; otherwise
    /// (an `EAGAIN` that means a timeout, a resolver or validation error) wraps the whole error
    /// with its kind, so the operation and address are kept.
    fn from(e: Error) -> std::io::Error {
        let kind = std::io::ErrorKind::from(e.kind);
        if let Cause::Os(errno) = e.cause {
            let raw = std::io::Error::from_raw_os_error(errno);
            if raw.kind() == kind {
                return raw;
            }
        }
        std::io::Error::new(kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_table() {
        let table = [
            (libc::EPERM, ErrorKind::PermissionDenied),
            (libc::EACCES, ErrorKind::PermissionDenied),
            (libc::ECONNREFUSED, ErrorKind::ConnectionRefused),
            (libc::ECONNRESET, ErrorKind::ConnectionReset),
            (libc::ECONNABORTED, ErrorKind::ConnectionAborted),
            (libc::EHOSTUNREACH, ErrorKind::HostUnreachable),
            (libc::ENETUNREACH, ErrorKind::NetworkUnreachable),
            (libc::ENETDOWN, ErrorKind::NetworkDown),
            (libc::ENOTCONN, ErrorKind::NotConnected),
            (libc::EADDRINUSE, ErrorKind::AddrInUse),
            (libc::EADDRNOTAVAIL, ErrorKind::AddrNotAvailable),
            (libc::EPIPE, ErrorKind::BrokenPipe),
            (libc::EISCONN, ErrorKind::AlreadyConnected),
            (libc::EALREADY, ErrorKind::AlreadyConnected),
            (libc::EAGAIN, ErrorKind::WouldBlock),
            (libc::EWOULDBLOCK, ErrorKind::WouldBlock),
            (libc::EINPROGRESS, ErrorKind::WouldBlock),
            (libc::EINVAL, ErrorKind::InvalidInput),
            (libc::EAFNOSUPPORT, ErrorKind::InvalidInput),
            (libc::EMSGSIZE, ErrorKind::InvalidInput),
            (libc::ETIMEDOUT, ErrorKind::TimedOut),
            (libc::EINTR, ErrorKind::Interrupted),
            (libc::EOPNOTSUPP, ErrorKind::Unsupported),
            (libc::ENOPROTOOPT, ErrorKind::Unsupported),
            (libc::EPROTONOSUPPORT, ErrorKind::Unsupported),
            (libc::ENOMEM, ErrorKind::OutOfMemory),
            (libc::ENOBUFS, ErrorKind::OutOfMemory),
            (libc::EMFILE, ErrorKind::OutOfMemory),
            (libc::ENFILE, ErrorKind::OutOfMemory),
            (libc::EBADF, ErrorKind::StaleHandle),
            (libc::ENOTSOCK, ErrorKind::StaleHandle),
            (libc::ENOENT, ErrorKind::Other),
        ];
        for (errno, kind) in table {
            assert_eq!(kind_of_errno(errno), kind, "errno {errno}");
            assert_eq!(Error::os(Op::Recv, errno).kind(), kind, "errno {errno}");
        }
        assert_eq!(
            Error::blocking(Op::Recv, libc::EAGAIN).kind(),
            ErrorKind::TimedOut
        );
        assert_eq!(
            Error::blocking(Op::Recv, libc::ECONNRESET).kind(),
            ErrorKind::ConnectionReset
        );
        assert_eq!(kind_of_gai(libc::EAI_NONAME), ErrorKind::HostNotFound);
        assert_eq!(kind_of_gai(libc::EAI_NODATA), ErrorKind::HostNotFound);
        assert_eq!(kind_of_gai(libc::EAI_MEMORY), ErrorKind::OutOfMemory);
        assert_eq!(kind_of_gai(libc::EAI_FAIL), ErrorKind::Other);
    }

    #[test]
    fn display_names_op_address_and_errno() {
        let e = Error::os(Op::Connect, libc::ECONNREFUSED)
            .at("127.0.0.1:9".parse::<SocketAddr>().unwrap());
        assert_eq!(
            e.to_string(),
            "connect to 127.0.0.1:9: connection refused (os error 111)"
        );
        let e = Error::blocking(Op::Recv, libc::EAGAIN);
        assert_eq!(e.to_string(), "recv: timed out (os error 11)");
        let e = Error::gai(libc::EAI_NONAME).at(ErrorAddr::Host(Name::new(b"nowhere.invalid")));
        assert!(
            e.to_string().starts_with("resolve nowhere.invalid: "),
            "{e}"
        );
        assert!(
            e.to_string()
                .ends_with(&format!("(getaddrinfo error {})", libc::EAI_NONAME)),
            "{e}"
        );
        let e =
            Error::os(Op::Bind, libc::EADDRINUSE).at(UnixAddr::abstract_name(&[b'n'; 70]).unwrap());
        assert_eq!(
            e.to_string(),
            format!(
                "bind to @{}...: address already in use (os error 98)",
                "n".repeat(64)
            )
        );
        let e = Error::invalid(
            Op::Bind,
            ErrorKind::InvalidInput,
            "address family differs from the socket's",
        );
        assert_eq!(
            e.to_string(),
            "bind: invalid input: address family differs from the socket's"
        );
    }

    #[test]
    fn io_error_keeps_errno_or_kind() {
        let io: std::io::Error = Error::os(Op::Send, libc::EPIPE).into();
        assert_eq!(io.raw_os_error(), Some(libc::EPIPE));
        assert_eq!(io.kind(), std::io::ErrorKind::BrokenPipe);
        let io: std::io::Error = Error::blocking(Op::Recv, libc::EAGAIN).into();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
        let io: std::io::Error = Error::gai(libc::EAI_NONAME).into();
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    }
}
