//! Name resolution helpers: parsing `host[:port]` targets and the classic MakeConnection.
//!
//! [`parse_target`] accepts `host`, `host:port`, `1.2.3.4[:port]`, `[v6]` and `[v6]:port`, and
//! a bare IPv6 literal (`::1`, no port). Host names follow RFC 1123 (letters, digits, `-`, `.`,
//! labels of 1 to 63 characters, at most 253 in all; a trailing dot is allowed). Not supported:
//! URL schemes and paths (the `http-get` example strips them), user-info, zone indices
//! (`fe80::1%eth0`).

use core::fmt;
use core::net::{IpAddr, Ipv6Addr, SocketAddr};
use core::time::Duration;

use crate::{Error, ErrorKind, Stack};

/// The port [`make_connection`] uses when the target has none (HTTP's).
pub const DEFAULT_PORT: u16 = 80;

/// The host part of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host<'a> {
    /// A literal address: connect without a lookup.
    Ip(IpAddr),
    /// A host name to resolve.
    Name(&'a str),
}

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

/// A parsed `host[:port]` target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target<'a> {
    /// The host.
    pub host: Host<'a>,
    /// The port (the default when the target named none).
    pub port: u16,
}

impl fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Why a target string was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TargetError {
    /// No host before the port (``, `:80`).
    EmptyHost,
    /// A `:` with nothing after it.
    EmptyPort,
    /// The port is not a decimal number.
    BadPort,
    /// The port is 0, which cannot be connected to.
    ZeroPort,
    /// The port is larger than 65535.
    PortOutOfRange,
    /// A `[` without its `]`, or text between `]` and `:`.
    BadBrackets,
    /// The text in brackets is not an IPv6 address.
    BadIpv6,
    /// The host is neither an IP literal nor a valid host name (character at this byte
    /// offset).
    BadHostName(usize),
    /// The host name is longer than 253 characters or has a label longer than 63.
    HostNameTooLong,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::EmptyHost => f.write_str("empty host"),
            TargetError::EmptyPort => f.write_str("empty port after ':'"),
            TargetError::BadPort => f.write_str("port is not a number"),
            TargetError::ZeroPort => f.write_str("port 0 cannot be connected to"),
            TargetError::PortOutOfRange => f.write_str("port is larger than 65535"),
            TargetError::BadBrackets => f.write_str("unbalanced or misplaced brackets"),
            TargetError::BadIpv6 => f.write_str("bracketed host is not an IPv6 address"),
            TargetError::BadHostName(at) => {
                write!(f, "invalid character in host name at byte {at}")
            }
            TargetError::HostNameTooLong => {
                f.write_str("host name longer than 253 characters or label longer than 63")
            }
        }
    }
}

impl core::error::Error for TargetError {}

fn parse_port(s: &str) -> Result<u16, TargetError> {
    if s.is_empty() {
        return Err(TargetError::EmptyPort);
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TargetError::BadPort);
    }
    let digits = s.trim_start_matches('0');
    if digits.is_empty() {
        return Err(TargetError::ZeroPort);
    }
    if digits.len() > 5 {
        return Err(TargetError::PortOutOfRange);
    }
    match digits.parse::<u32>() {
        Ok(p) if p <= 65535 => Ok(p as u16),
        _ => Err(TargetError::PortOutOfRange),
    }
}

fn check_host_name(name: &str) -> Result<(), TargetError> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err(if name.is_empty() {
            TargetError::EmptyHost
        } else {
            TargetError::BadHostName(0)
        });
    }
    if trimmed.len() > 253 {
        return Err(TargetError::HostNameTooLong);
    }
    let mut offset = 0;
    for label in trimmed.split('.') {
        if label.is_empty() {
            return Err(TargetError::BadHostName(offset));
        }
        if label.len() > 63 {
            return Err(TargetError::HostNameTooLong);
        }
        for (i, b) in label.bytes().enumerate() {
            let ok = b.is_ascii_alphanumeric()
                || b == b'_'
                || (b == b'-' && i != 0 && i != label.len() - 1);
            if !ok {
                return Err(TargetError::BadHostName(offset + i));
            }
        }
        offset += label.len() + 1;
    }
    Ok(())
}

/// Parse a `host[:port]` target, using `default_port` when none is given.
pub fn parse_target(target: &str, default_port: u16) -> Result<Target<'_>, TargetError> {
    if target.is_empty() {
        return Err(TargetError::EmptyHost);
    }
    if let Some(rest) = target.strip_prefix('[') {
        let close = rest.find(']').ok_or(TargetError::BadBrackets)?;
        let inner = &rest[..close];
        let after = &rest[close + 1..];
        let ip: Ipv6Addr = inner.parse().map_err(|_| {
            if inner.is_empty() {
                TargetError::EmptyHost
            } else {
                TargetError::BadIpv6
            }
        })?;
        let port = match after {
            "" => default_port,
            _ => parse_port(after.strip_prefix(':').ok_or(TargetError::BadBrackets)?)?,
        };
        return Ok(Target {
            host: Host::Ip(IpAddr::V6(ip)),
            port,
        });
    }
    if target.contains(']') {
        return Err(TargetError::BadBrackets);
    }
    // A bare IPv6 literal has several colons and no port.
    if target.bytes().filter(|&b| b == b':').count() > 1 {
        return target
            .parse::<Ipv6Addr>()
            .map(|ip| Target {
                host: Host::Ip(IpAddr::V6(ip)),
                port: default_port,
            })
            .map_err(|_| TargetError::BadIpv6);
    }
    let (host, port) = match target.split_once(':') {
        Some((host, port)) => (host, parse_port(port)?),
        None => (target, default_port),
    };
    if host.is_empty() {
        return Err(TargetError::EmptyHost);
    }
    if port == 0 {
        return Err(TargetError::ZeroPort);
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Target {
            host: Host::Ip(ip),
            port,
        });
    }
    // All-digit-and-dot strings that failed to parse as IPv4 are malformed literals, not
    // names (`1.2.3.256`, `1.2.3`).
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(TargetError::BadHostName(0));
    }
    check_host_name(host)?;
    Ok(Target {
        host: Host::Name(host),
        port,
    })
}

/// Why [`make_connection`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MakeConnectionError<E> {
    /// The target string is malformed (kind `InvalidInput`).
    Target(TargetError),
    /// Resolving the host name failed.
    Resolve(E),
    /// The name resolved to no address (kind `HostNotFound`).
    NoAddress,
    /// Every address was tried and refused or failed; this is the last failure.
    Connect {
        /// The last address tried.
        addr: SocketAddr,
        /// Why connecting to it failed.
        error: E,
    },
}

impl<E: Error> MakeConnectionError<E> {
    /// The kind of the failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            MakeConnectionError::Target(_) => ErrorKind::InvalidInput,
            MakeConnectionError::Resolve(e) => e.socket_kind(),
            MakeConnectionError::NoAddress => ErrorKind::HostNotFound,
            MakeConnectionError::Connect { error, .. } => error.socket_kind(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for MakeConnectionError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MakeConnectionError::Target(e) => write!(f, "bad target: {e}"),
            MakeConnectionError::Resolve(e) => write!(f, "name resolution failed: {e}"),
            MakeConnectionError::NoAddress => f.write_str("host name has no address"),
            MakeConnectionError::Connect { addr, error } => {
                write!(f, "connect to {addr} failed: {error}")
            }
        }
    }
}

impl<E: Error> core::error::Error for MakeConnectionError<E> {}

impl<E: Error> embedded_io::Error for MakeConnectionError<E> {
    fn kind(&self) -> embedded_io::ErrorKind {
        MakeConnectionError::kind(self).into()
    }
}

impl<E: Error> Error for MakeConnectionError<E> {
    fn socket_kind(&self) -> ErrorKind {
        MakeConnectionError::kind(self)
    }
}

/// Options for [`make_connection_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Port used when the target names none.
    pub default_port: u16,
    /// Time limit for each address tried; `None` waits as long as the stack does.
    pub timeout_per_address: Option<Duration>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            default_port: DEFAULT_PORT,
            timeout_per_address: None,
        }
    }
}

/// The classic MakeConnection: connect to `host[:port]` (default port 80).
///
/// Literal IPs are connected to without a lookup; names are resolved through the stack and
/// every address is tried in order until one connects.
pub fn make_connection<S: Stack>(
    stack: &S,
    target: &str,
) -> Result<S::TcpStream, MakeConnectionError<S::Error>> {
    make_connection_with(stack, target, ConnectOptions::default())
}

/// [`make_connection`] with a chosen default port and per-address timeout.
pub fn make_connection_with<S: Stack>(
    stack: &S,
    target: &str,
    options: ConnectOptions,
) -> Result<S::TcpStream, MakeConnectionError<S::Error>> {
    let target = parse_target(target, options.default_port).map_err(MakeConnectionError::Target)?;
    let addresses = match target.host {
        Host::Ip(ip) => {
            let mut one = crate::Addresses::new();
            // Capacity is at least 1.
            let _ = one.push(ip);
            one
        }
        Host::Name(name) => stack.resolve(name).map_err(MakeConnectionError::Resolve)?,
    };
    let mut last = MakeConnectionError::NoAddress;
    for ip in addresses {
        let addr = SocketAddr::new(ip, target.port);
        let result = match options.timeout_per_address {
            Some(t) => stack.connect_timeout(addr, t),
            None => stack.connect(addr),
        };
        match result {
            Ok(stream) => return Ok(stream),
            Err(error) => last = MakeConnectionError::Connect { addr, error },
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Target<'_> {
        parse_target(s, 80).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn accepts_the_usual_forms() {
        assert_eq!(
            ok("example.org"),
            Target {
                host: Host::Name("example.org"),
                port: 80
            }
        );
        assert_eq!(ok("example.org:8080").port, 8080);
        assert_eq!(ok("localhost.").host, Host::Name("localhost."));
        assert_eq!(
            ok("127.0.0.1:1").host,
            Host::Ip("127.0.0.1".parse().unwrap())
        );
        assert_eq!(
            ok("[::1]:65535"),
            Target {
                host: Host::Ip("::1".parse().unwrap()),
                port: 65535
            }
        );
        assert_eq!(ok("[::1]").port, 80);
        assert_eq!(ok("::1").host, Host::Ip("::1".parse().unwrap()));
        assert_eq!(ok("a-b.c_d:0080").port, 80);
    }

    #[test]
    fn rejects_garbage_with_a_reason() {
        let cases: &[(&str, TargetError)] = &[
            ("", TargetError::EmptyHost),
            (":80", TargetError::EmptyHost),
            ("[]:80", TargetError::EmptyHost),
            ("host:", TargetError::EmptyPort),
            ("host:http", TargetError::BadPort),
            ("host:-1", TargetError::BadPort),
            ("host:0", TargetError::ZeroPort),
            ("host:65536", TargetError::PortOutOfRange),
            ("host:99999999999999999999", TargetError::PortOutOfRange),
            ("[::1", TargetError::BadBrackets),
            ("[::1]80", TargetError::BadBrackets),
            ("::1]", TargetError::BadBrackets),
            ("[nope]:1", TargetError::BadIpv6),
            ("1:2:3", TargetError::BadIpv6),
            ("bad host", TargetError::BadHostName(3)),
            ("-lead", TargetError::BadHostName(0)),
            ("a..b", TargetError::BadHostName(2)),
            ("1.2.3.256", TargetError::BadHostName(0)),
            ("h\u{e9}", TargetError::BadHostName(1)),
        ];
        for (input, want) in cases {
            assert_eq!(parse_target(input, 80), Err(*want), "{input:?}");
        }
        let long_label = [b'a'; 64];
        let s = core::str::from_utf8(&long_label).unwrap();
        assert_eq!(parse_target(s, 80), Err(TargetError::HostNameTooLong));
    }

    #[test]
    fn display_round_trips() {
        extern crate std;
        use std::string::ToString;
        for s in ["example.org:80", "[::1]:443", "10.0.0.1:8"] {
            assert_eq!(ok(s).to_string(), s);
            assert_eq!(ok(&ok(s).to_string()), ok(s));
        }
    }
}
