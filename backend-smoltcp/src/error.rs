//! The backend's one error type: an [`ErrorKind`] plus what was being done.
//!
//! Every operation of this crate reports [`Error`]; [`Error::kind`] gives the shared
//! [`ErrorKind`] and [`Error::context`] a short static description of the failing step (for
//! example `"tcp connect: RST answered our SYN"`) and [`Error::addr`] the endpoint involved,
//! when there is one. It converts to `std::io::Error` under `std`.
//!
//! Under `std`, an error from a system call (the TAP device) also carries the OS error number
//! ([`Error::os_error`]); its text then names the OS cause instead of the kind's generic text,
//! as `TAP: TUNSETIFF failed: EBUSY: Device or resource busy`, and adds no cause the OS did not
//! give.

use core::fmt;
use core::net::SocketAddr;

use unisock::ErrorKind;

/// An error of the smoltcp backend.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error {
    kind: ErrorKind,
    context: &'static str,
    addr: Option<SocketAddr>,
    /// The OS error number (`errno`) of a failed system call.
    #[cfg(feature = "std")]
    os: Option<i32>,
}

#[cfg(feature = "defmt")]
impl defmt::Format for Error {
    fn format(&self, f: defmt::Formatter<'_>) {
        if self.context.is_empty() {
            defmt::write!(f, "{}", self.kind)
        } else if self.context_names_kind() {
            defmt::write!(f, "{=str}", self.context)
        } else {
            defmt::write!(f, "{=str}: {}", self.context, self.kind)
        }
    }
}

impl Error {
    /// An error of `kind` with a static description of what failed.
    ///
    /// Without the `error-context` feature the description is dropped (it is then `""`), so
    /// that its text is not linked into small firmware.
    pub const fn new(kind: ErrorKind, context: &'static str) -> Error {
        Error {
            kind,
            context: if cfg!(feature = "error-context") {
                context
            } else {
                ""
            },
            addr: None,
            #[cfg(feature = "std")]
            os: None,
        }
    }

    /// The error of a failed system call: `errno` is the OS error number, `kind` the shared
    /// kind for it (see [`Error::from_io`]).
    #[cfg(feature = "std")]
    pub fn from_os(kind: ErrorKind, context: &'static str, errno: i32) -> Error {
        let mut e = Error::new(kind, context);
        e.os = Some(errno);
        e
    }

    /// An `std::io::Error` as this crate's error: its kind mapped, and its OS error number
    /// kept when it has one.
    #[cfg(feature = "std")]
    pub fn from_io(e: &std::io::Error, context: &'static str) -> Error {
        let mut out = Error::new(e.kind().into(), context);
        out.os = e.raw_os_error();
        out
    }

    /// The OS error number (`errno`) behind this error, if a system call failed.
    #[cfg(feature = "std")]
    pub const fn os_error(&self) -> Option<i32> {
        self.os
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

    /// What was being done, and why it failed (`""` without the `error-context` feature).
    pub const fn context(&self) -> &'static str {
        self.context
    }

    pub(crate) const fn would_block() -> Error {
        Error::new(ErrorKind::WouldBlock, "operation would block")
    }

    pub(crate) const fn stale() -> Error {
        Error::new(
            ErrorKind::StaleHandle,
            "handle names no live socket of this stack (closed, reused, or another stack's)",
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
    /// What failed and why (the context), then the kind's text unless the context already
    /// says it, then the endpoint involved: `tcp read: peer sent RST: connection reset by
    /// peer (10.7.0.2:7)`. Each part appears once.
    ///
    /// With an OS error number (`std`), the OS cause replaces the kind's text:
    /// `TAP: TUNSETIFF failed: EBUSY: Device or resource busy`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[cfg(feature = "std")]
        if let Some(errno) = self.os {
            f.write_str(if self.context.is_empty() {
                self.kind.as_str()
            } else {
                self.context
            })?;
            f.write_str(": ")?;
            write_os_error(f, errno)?;
            return self.write_addr_part(f);
        }
        if self.context.is_empty() {
            f.write_str(self.kind.as_str())?;
        } else {
            f.write_str(self.context)?;
            if !self.context_names_kind() {
                f.write_str(": ")?;
                f.write_str(self.kind.as_str())?;
            }
        }
        self.write_addr_part(f)
    }
}

impl fmt::Debug for Error {
    /// `Error { kind: ConnectionReset, context: "tcp read: peer sent RST", addr: 10.7.0.2:7 }`
    /// (`addr` and, under `std`, `os` only when present). Written by hand rather than derived:
    /// the derived form links `core`'s string escaper with its Unicode tables and `core`'s IP
    /// address formatters into every firmware that prints an error with `{:?}` (about 3 KiB
    /// of flash); the context is a literal of this crate and needs no escaping.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Error { kind: ")?;
        fmt::Debug::fmt(&self.kind, f)?;
        f.write_str(", context: \"")?;
        f.write_str(self.context)?;
        f.write_str("\"")?;
        if let Some(a) = self.addr {
            f.write_str(", addr: ")?;
            write_addr(f, a)?;
        }
        #[cfg(feature = "std")]
        if let Some(errno) = self.os {
            write!(f, ", os: {errno}")?;
        }
        f.write_str(" }")
    }
}

impl Error {
    /// ` (endpoint)`, if there is one.
    fn write_addr_part(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            Some(a) => {
                f.write_str(" (")?;
                write_addr(f, a)?;
                f.write_str(")")
            }
            None => Ok(()),
        }
    }
}

/// `a` as `Display` writes it, without pulling `core`'s IP address formatters into small
/// firmware: IPv4 through integer formatting; IPv6 through `core` with the `proto-ipv6`
/// feature (compressed, `[fd00::2]:7`), otherwise as eight hexadecimal groups (an IPv6 address
/// cannot reach an error then, as no IPv6 socket exists).
fn write_addr(f: &mut fmt::Formatter<'_>, a: SocketAddr) -> fmt::Result {
    match a {
        SocketAddr::V4(v4) => {
            let [a, b, c, d] = v4.ip().octets();
            write!(f, "{a}.{b}.{c}.{d}:{}", v4.port())
        }
        #[cfg(feature = "proto-ipv6")]
        SocketAddr::V6(v6) => write!(f, "{v6}"),
        #[cfg(not(feature = "proto-ipv6"))]
        SocketAddr::V6(v6) => {
            f.write_str("[")?;
            for (i, g) in v6.ip().segments().iter().enumerate() {
                if i > 0 {
                    f.write_str(":")?;
                }
                write!(f, "{g:x}")?;
            }
            write!(f, "]:{}", v6.port())
        }
    }
}

/// Linux `errno` names, for messages (`EBUSY`); `EWOULDBLOCK` and `ENOTSUP` are aliases of
/// `EAGAIN` and `EOPNOTSUPP` and print as those.
#[cfg(feature = "std")]
const ERRNO_NAMES: &[(i32, &str)] = &[
    (libc::EPERM, "EPERM"),
    (libc::ENOENT, "ENOENT"),
    (libc::ESRCH, "ESRCH"),
    (libc::EINTR, "EINTR"),
    (libc::EIO, "EIO"),
    (libc::ENXIO, "ENXIO"),
    (libc::E2BIG, "E2BIG"),
    (libc::ENOEXEC, "ENOEXEC"),
    (libc::EBADF, "EBADF"),
    (libc::ECHILD, "ECHILD"),
    (libc::EAGAIN, "EAGAIN"),
    (libc::ENOMEM, "ENOMEM"),
    (libc::EACCES, "EACCES"),
    (libc::EFAULT, "EFAULT"),
    (libc::ENOTBLK, "ENOTBLK"),
    (libc::EBUSY, "EBUSY"),
    (libc::EEXIST, "EEXIST"),
    (libc::EXDEV, "EXDEV"),
    (libc::ENODEV, "ENODEV"),
    (libc::ENOTDIR, "ENOTDIR"),
    (libc::EISDIR, "EISDIR"),
    (libc::EINVAL, "EINVAL"),
    (libc::ENFILE, "ENFILE"),
    (libc::EMFILE, "EMFILE"),
    (libc::ENOTTY, "ENOTTY"),
    (libc::ETXTBSY, "ETXTBSY"),
    (libc::EFBIG, "EFBIG"),
    (libc::ENOSPC, "ENOSPC"),
    (libc::ESPIPE, "ESPIPE"),
    (libc::EROFS, "EROFS"),
    (libc::EMLINK, "EMLINK"),
    (libc::EPIPE, "EPIPE"),
    (libc::EDOM, "EDOM"),
    (libc::ERANGE, "ERANGE"),
    (libc::EDEADLK, "EDEADLK"),
    (libc::ENAMETOOLONG, "ENAMETOOLONG"),
    (libc::ENOLCK, "ENOLCK"),
    (libc::ENOSYS, "ENOSYS"),
    (libc::ENOTEMPTY, "ENOTEMPTY"),
    (libc::ELOOP, "ELOOP"),
    (libc::ENOMSG, "ENOMSG"),
    (libc::EIDRM, "EIDRM"),
    (libc::ENOSTR, "ENOSTR"),
    (libc::ENODATA, "ENODATA"),
    (libc::ETIME, "ETIME"),
    (libc::ENOSR, "ENOSR"),
    (libc::ENOLINK, "ENOLINK"),
    (libc::EPROTO, "EPROTO"),
    (libc::EBADMSG, "EBADMSG"),
    (libc::EOVERFLOW, "EOVERFLOW"),
    (libc::EBADFD, "EBADFD"),
    (libc::EILSEQ, "EILSEQ"),
    (libc::EUSERS, "EUSERS"),
    (libc::ENOTSOCK, "ENOTSOCK"),
    (libc::EDESTADDRREQ, "EDESTADDRREQ"),
    (libc::EMSGSIZE, "EMSGSIZE"),
    (libc::EPROTOTYPE, "EPROTOTYPE"),
    (libc::ENOPROTOOPT, "ENOPROTOOPT"),
    (libc::EPROTONOSUPPORT, "EPROTONOSUPPORT"),
    (libc::ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT"),
    (libc::EOPNOTSUPP, "EOPNOTSUPP"),
    (libc::EPFNOSUPPORT, "EPFNOSUPPORT"),
    (libc::EAFNOSUPPORT, "EAFNOSUPPORT"),
    (libc::EADDRINUSE, "EADDRINUSE"),
    (libc::EADDRNOTAVAIL, "EADDRNOTAVAIL"),
    (libc::ENETDOWN, "ENETDOWN"),
    (libc::ENETUNREACH, "ENETUNREACH"),
    (libc::ENETRESET, "ENETRESET"),
    (libc::ECONNABORTED, "ECONNABORTED"),
    (libc::ECONNRESET, "ECONNRESET"),
    (libc::ENOBUFS, "ENOBUFS"),
    (libc::EISCONN, "EISCONN"),
    (libc::ENOTCONN, "ENOTCONN"),
    (libc::ESHUTDOWN, "ESHUTDOWN"),
    (libc::ETOOMANYREFS, "ETOOMANYREFS"),
    (libc::ETIMEDOUT, "ETIMEDOUT"),
    (libc::ECONNREFUSED, "ECONNREFUSED"),
    (libc::EHOSTDOWN, "EHOSTDOWN"),
    (libc::EHOSTUNREACH, "EHOSTUNREACH"),
    (libc::EALREADY, "EALREADY"),
    (libc::EINPROGRESS, "EINPROGRESS"),
    (libc::ESTALE, "ESTALE"),
    (libc::EDQUOT, "EDQUOT"),
    (libc::ECANCELED, "ECANCELED"),
    (libc::EOWNERDEAD, "EOWNERDEAD"),
    (libc::ENOTRECOVERABLE, "ENOTRECOVERABLE"),
    (libc::ERFKILL, "ERFKILL"),
    (libc::EHWPOISON, "EHWPOISON"),
];

/// The name of OS error number `errno` (`EBUSY`), if it is a known Linux one.
#[cfg(feature = "std")]
pub(crate) fn errno_name(errno: i32) -> Option<&'static str> {
    ERRNO_NAMES
        .iter()
        .find(|(n, _)| *n == errno)
        .map(|(_, name)| *name)
}

/// `EBUSY: Device or resource busy`: the OS error's name and the C library's text for it
/// (`errno 4242: Unknown error 4242` for a number without a name).
#[cfg(feature = "std")]
fn write_os_error(f: &mut fmt::Formatter<'_>, errno: i32) -> fmt::Result {
    match errno_name(errno) {
        Some(name) => f.write_str(name)?,
        None => write!(f, "errno {errno}")?,
    }
    // std's text is strerror's, followed by " (os error N)", which the name already says.
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    let suffix = format!(" (os error {errno})");
    write!(
        f,
        ": {}",
        text.strip_suffix(suffix.as_str()).unwrap_or(&text)
    )
}

impl Error {
    /// Whether the context already contains the kind's text (ASCII case-insensitive).
    fn context_names_kind(&self) -> bool {
        let hay = self.context.as_bytes();
        let needle = self.kind.as_str().as_bytes();
        hay.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
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

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::{String, ToString};
    #[cfg(feature = "error-context")]
    use std::vec::Vec;

    use super::*;

    /// Every error this crate builds, found in its sources: `ErrorKind::X` followed by a
    /// string literal (`Error::new`), and the shorthand constructors.
    #[cfg(feature = "error-context")]
    fn every_error() -> Vec<Error> {
        let sources = [
            include_str!("clock.rs"),
            include_str!("config.rs"),
            include_str!("datagram.rs"),
            include_str!("datagram_off.rs"),
            include_str!("error.rs"),
            include_str!("local.rs"),
            include_str!("loopback.rs"),
            include_str!("raw.rs"),
            include_str!("raw_off.rs"),
            include_str!("resolve.rs"),
            include_str!("resources.rs"),
            include_str!("stack.rs"),
            include_str!("std_stack.rs"),
            include_str!("stream.rs"),
            include_str!("tap.rs"),
            include_str!("wait.rs"),
        ];
        let shorthands: [(&str, ErrorKind); 3] = [
            ("Error::invalid(", ErrorKind::InvalidInput),
            ("Error::unsupported(", ErrorKind::Unsupported),
            ("os_error(", ErrorKind::PermissionDenied),
        ];
        let mut out = Vec::new();
        for src in sources {
            // Production code only (this module's tests name the constructors too).
            let src = src.split("#[cfg(test)]").next().unwrap_or(src);
            // ErrorKind::Name, "literal"  (possibly across lines).
            for (i, _) in src.match_indices("ErrorKind::") {
                let rest = &src[i + "ErrorKind::".len()..];
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
                let after = rest[name.len()..].trim_start();
                let Some(after) = after.strip_prefix(',') else {
                    continue;
                };
                let Some(lit) = literal(after).filter(|l| !l.contains('{')) else {
                    continue;
                };
                let Some(kind) = ErrorKind::ALL
                    .iter()
                    .find(|k| std::format!("{k:?}") == name)
                else {
                    continue;
                };
                out.push(Error::new(*kind, leak(lit)));
            }
            for (pat, kind) in shorthands {
                for (i, _) in src.match_indices(pat) {
                    if let Some(lit) = literal(&src[i + pat.len()..]).filter(|l| !l.contains('{')) {
                        out.push(Error::new(kind, leak(lit)));
                    }
                }
            }
        }
        for kind in ErrorKind::ALL {
            out.push(Error::from(kind));
        }
        out.push(Error::would_block());
        out.push(Error::stale());
        out
    }

    /// The string literal at the start of `s` (after whitespace), with `\` line
    /// continuations joined as the compiler does.
    #[cfg(feature = "error-context")]
    fn literal(s: &str) -> Option<String> {
        let s = s.trim_start().strip_prefix('"')?;
        let end = s.find('"')?;
        let raw = &s[..end];
        let mut text = String::new();
        let mut parts = raw.split("\\\n");
        if let Some(first) = parts.next() {
            text.push_str(first);
        }
        for p in parts {
            text.push_str(p.trim_start());
        }
        Some(text)
    }

    #[cfg(feature = "error-context")]
    fn leak(s: String) -> &'static str {
        std::boxed::Box::leak(s.into_boxed_str())
    }

    #[cfg(feature = "error-context")]
    #[test]
    fn no_message_says_its_kind_twice() {
        let errors = every_error();
        assert!(errors.len() > 100, "found only {} errors", errors.len());
        for e in errors {
            let e = e.at("10.7.0.2:7".parse().unwrap());
            let text = e.to_string();
            let kind = e.kind().as_str();
            let times = text.to_ascii_lowercase().matches(kind).count();
            assert_eq!(times, 1, "{text:?} says {kind:?} {times} times");
            assert_eq!(text.matches(e.context()).count(), 1, "{text:?}");
            assert!(text.ends_with(" (10.7.0.2:7)"), "{text:?}");
            // What failed (the context before its first colon) is said once too.
            if let Some((what, _)) = e.context().split_once(':') {
                let what = std::format!("{what}:");
                assert_eq!(text.matches(what.as_str()).count(), 1, "{text:?}");
            }
        }
    }

    /// `what: ` when contexts are compiled in.
    fn prefix(what: &str) -> String {
        if cfg!(feature = "error-context") {
            std::format!("{what}: ")
        } else {
            String::new()
        }
    }

    #[test]
    fn addresses_print_as_core_prints_them() {
        let x = prefix("x");
        for a in ["10.7.0.2:7", "255.255.255.255:65535", "0.0.0.0:0"] {
            let e = Error::invalid("x").at(a.parse().unwrap());
            assert_eq!(e.to_string(), std::format!("{x}invalid input ({a})"));
        }
        let e = Error::invalid("x").at("[fd00::2]:7".parse().unwrap());
        let want = if cfg!(feature = "proto-ipv6") {
            "invalid input ([fd00::2]:7)"
        } else {
            "invalid input ([fd00:0:0:0:0:0:0:2]:7)"
        };
        assert_eq!(e.to_string(), std::format!("{x}{want}"));
    }

    /// A failed system call names the OS cause (errno name and text) in place of the kind's
    /// generic text, and adds nothing the OS did not say.
    #[cfg(feature = "std")]
    #[test]
    fn os_errors_name_the_os_cause() {
        let e = Error::from_os(ErrorKind::Other, "TAP: TUNSETIFF failed", libc::EBUSY);
        let what = prefix("TAP: TUNSETIFF failed");
        let cause = if cfg!(feature = "error-context") {
            ""
        } else {
            "other error: "
        };
        assert_eq!(
            e.to_string(),
            std::format!("{what}{cause}EBUSY: Device or resource busy")
        );
        assert_eq!(e.kind(), ErrorKind::Other);
        assert_eq!(e.os_error(), Some(libc::EBUSY));
        let e = e.at("10.7.0.2:7".parse().unwrap());
        assert!(
            e.to_string()
                .ends_with("Device or resource busy (10.7.0.2:7)")
        );
        // From std::io::Error: the kind mapped, the number kept.
        let io = std::io::Error::from_raw_os_error(libc::EPERM);
        let e = Error::from_io(&io, "TAP: TUNSETIFF failed");
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert!(
            e.to_string().ends_with("EPERM: Operation not permitted"),
            "{e}"
        );
        // A number without a name.
        let e = Error::from_os(ErrorKind::Other, "x", 4242);
        assert!(
            e.to_string().ends_with("errno 4242: Unknown error 4242"),
            "{e}"
        );
        // An io::Error without a number keeps the old form.
        let io = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(Error::from_io(&io, "x").os_error(), None);
    }

    #[cfg(feature = "std")]
    #[test]
    fn errno_names_are_unique_and_match_libc() {
        for (i, (n, name)) in ERRNO_NAMES.iter().enumerate() {
            assert!(
                ERRNO_NAMES[i + 1..].iter().all(|(m, _)| m != n),
                "{name} listed twice"
            );
            assert_eq!(errno_name(*n), Some(*name));
        }
        assert_eq!(errno_name(libc::EBUSY), Some("EBUSY"));
        assert_eq!(errno_name(libc::ENOTTY), Some("ENOTTY"));
        assert_eq!(errno_name(0), None);
    }

    #[test]
    fn reset_read_prints_once() {
        let e = Error::new(ErrorKind::ConnectionReset, "connection reset by peer");
        assert_eq!(e.to_string(), "connection reset by peer");
        let e = Error::new(ErrorKind::ConnectionReset, "tcp read");
        let want = std::format!("{}connection reset by peer", prefix("tcp read"));
        assert_eq!(e.to_string(), want);
        assert_eq!(e.kind(), ErrorKind::ConnectionReset);
    }

    #[test]
    fn debug_shows_each_field_that_is_present() {
        let ctx = if cfg!(feature = "error-context") {
            "tcp read: peer sent RST"
        } else {
            ""
        };
        let e = Error::new(ErrorKind::ConnectionReset, "tcp read: peer sent RST");
        assert_eq!(
            std::format!("{e:?}"),
            std::format!("Error {{ kind: ConnectionReset, context: \"{ctx}\" }}")
        );
        let e = e.at("10.7.0.2:7".parse().unwrap());
        assert_eq!(
            std::format!("{e:?}"),
            std::format!("Error {{ kind: ConnectionReset, context: \"{ctx}\", addr: 10.7.0.2:7 }}")
        );
        #[cfg(feature = "std")]
        {
            let e = Error::from_os(ErrorKind::Other, "TAP: TUNSETIFF failed", libc::EBUSY);
            assert!(
                std::format!("{e:?}").ends_with(&std::format!(", os: {} }}", libc::EBUSY)),
                "{e:?}"
            );
        }
    }
}
