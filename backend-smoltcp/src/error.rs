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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.context.is_empty() {
            f.write_str(self.kind.as_str())?;
        } else {
            f.write_str(self.context)?;
            if !self.context_names_kind() {
                f.write_str(": ")?;
                f.write_str(self.kind.as_str())?;
            }
        }
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

    #[test]
    fn reset_read_prints_once() {
        let e = Error::new(ErrorKind::ConnectionReset, "connection reset by peer");
        assert_eq!(e.to_string(), "connection reset by peer");
        let e = Error::new(ErrorKind::ConnectionReset, "tcp read");
        let want = std::format!("{}connection reset by peer", prefix("tcp read"));
        assert_eq!(e.to_string(), want);
        assert_eq!(e.kind(), ErrorKind::ConnectionReset);
    }
}
