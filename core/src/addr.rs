//! Socket vocabulary: communication domains, socket types, protocols, UNIX-domain endpoints and
//! associations.
//!
//! Internet endpoints are [`core::net::SocketAddr`]; UNIX-domain endpoints are [`UnixAddr`]
//! (a filesystem path or a Linux abstract name, stored inline with a fixed capacity, so no
//! allocation is needed). An [`Association`] is the BSD 5-tuple of a connection: protocol, local
//! endpoint, remote endpoint.
//!
//! Not modelled: link-layer (`AF_PACKET`) and other exotic families.

use core::fmt;
use core::net::{IpAddr, SocketAddr};

/// A communication domain (address family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Domain {
    /// Internet protocol version 4 (`AF_INET`).
    Ipv4,
    /// Internet protocol version 6 (`AF_INET6`).
    Ipv6,
    /// Local inter-process communication (`AF_UNIX`); kernel backends only.
    Unix,
}

impl Domain {
    /// The Internet domain an address belongs to.
    pub const fn of(addr: &SocketAddr) -> Domain {
        match addr {
            SocketAddr::V4(_) => Domain::Ipv4,
            SocketAddr::V6(_) => Domain::Ipv6,
        }
    }

    /// The Internet domain an IP address belongs to.
    pub const fn of_ip(addr: &IpAddr) -> Domain {
        match addr {
            IpAddr::V4(_) => Domain::Ipv4,
            IpAddr::V6(_) => Domain::Ipv6,
        }
    }

    /// Whether `addr` belongs to this domain.
    pub const fn contains(self, addr: &SocketAddr) -> bool {
        matches!(
            (self, addr),
            (Domain::Ipv4, SocketAddr::V4(_)) | (Domain::Ipv6, SocketAddr::V6(_))
        )
    }
}

/// The type of a socket: its communication semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SockType {
    /// Reliable, ordered byte stream (`SOCK_STREAM`, TCP).
    Stream,
    /// Unreliable messages with boundaries (`SOCK_DGRAM`, UDP).
    Datagram,
    /// IP packets of one protocol (`SOCK_RAW`).
    Raw,
}

/// An IP protocol number (the `protocol` argument of `socket(2)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Protocol(pub u8);

impl Protocol {
    /// ICMP for IPv4 (1).
    pub const ICMP: Protocol = Protocol(1);
    /// TCP (6).
    pub const TCP: Protocol = Protocol(6);
    /// UDP (17).
    pub const UDP: Protocol = Protocol(17);
    /// ICMP for IPv6 (58).
    pub const ICMPV6: Protocol = Protocol(58);

    /// The protocol's conventional lower-case name, if it is one of the above.
    pub const fn name(self) -> Option<&'static str> {
        match self.0 {
            1 => Some("icmp"),
            6 => Some("tcp"),
            17 => Some("udp"),
            58 => Some("icmpv6"),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "proto-{}", self.0),
        }
    }
}

/// Capacity of a UNIX-domain name in bytes: Linux's `sun_path` length.
pub const UNIX_PATH_CAPACITY: usize = 108;

/// How a [`UnixAddr`] names its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum UnixAddrKind {
    /// A socket with no name (an unbound socket, or a `socketpair` end).
    Unnamed,
    /// A filesystem path.
    Pathname,
    /// A Linux abstract-namespace name (leading NUL byte in `sun_path`, not stored here).
    Abstract,
}

/// Why a UNIX-domain name was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum UnixAddrError {
    /// The name is longer than the space `sun_path` has for it (`len`, `max`).
    TooLong {
        /// Bytes given.
        len: usize,
        /// Bytes allowed.
        max: usize,
    },
    /// A path was empty.
    Empty,
    /// A path contained a NUL byte (at this index).
    InteriorNul(usize),
}

impl fmt::Display for UnixAddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnixAddrError::TooLong { len, max } => {
                write!(f, "UNIX socket name is {len} bytes, at most {max} fit")
            }
            UnixAddrError::Empty => f.write_str("UNIX socket path is empty"),
            UnixAddrError::InteriorNul(i) => write!(f, "UNIX socket path has a NUL byte at {i}"),
        }
    }
}

impl core::error::Error for UnixAddrError {}

/// A UNIX-domain endpoint: a path or a Linux abstract name, stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnixAddr {
    kind: UnixAddrKind,
    len: u8,
    bytes: [u8; UNIX_PATH_CAPACITY],
}

impl UnixAddr {
    /// The unnamed address.
    pub const UNNAMED: UnixAddr = UnixAddr {
        kind: UnixAddrKind::Unnamed,
        len: 0,
        bytes: [0; UNIX_PATH_CAPACITY],
    };

    /// A filesystem path (without terminating NUL; at most 107 bytes so the NUL fits).
    pub fn pathname(path: &[u8]) -> Result<UnixAddr, UnixAddrError> {
        if path.is_empty() {
            return Err(UnixAddrError::Empty);
        }
        if let Some(i) = path.iter().position(|&b| b == 0) {
            return Err(UnixAddrError::InteriorNul(i));
        }
        Self::with(UnixAddrKind::Pathname, path, UNIX_PATH_CAPACITY - 1)
    }

    /// A Linux abstract-namespace name (the bytes after the leading NUL; at most 107 bytes).
    /// Any bytes are allowed, including NUL and the empty name.
    pub fn abstract_name(name: &[u8]) -> Result<UnixAddr, UnixAddrError> {
        Self::with(UnixAddrKind::Abstract, name, UNIX_PATH_CAPACITY - 1)
    }

    fn with(kind: UnixAddrKind, name: &[u8], max: usize) -> Result<UnixAddr, UnixAddrError> {
        if name.len() > max {
            return Err(UnixAddrError::TooLong {
                len: name.len(),
                max,
            });
        }
        let mut bytes = [0; UNIX_PATH_CAPACITY];
        bytes[..name.len()].copy_from_slice(name);
        Ok(UnixAddr {
            kind,
            // The length is at most 107, checked above.
            len: name.len() as u8,
            bytes,
        })
    }

    /// How this address names its endpoint.
    pub const fn kind(&self) -> UnixAddrKind {
        self.kind
    }

    /// The path or abstract name, without leading or trailing NUL.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The path, if this is a pathname address.
    pub fn as_pathname(&self) -> Option<&[u8]> {
        (self.kind == UnixAddrKind::Pathname).then(|| self.as_bytes())
    }

    /// The abstract name, if this is an abstract address.
    pub fn as_abstract(&self) -> Option<&[u8]> {
        (self.kind == UnixAddrKind::Abstract).then(|| self.as_bytes())
    }
}

impl fmt::Debug for UnixAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixAddr({self})")
    }
}

impl fmt::Display for UnixAddr {
    /// Paths print as themselves, abstract names with a leading `@` (as `ss(8)` does), unnamed
    /// as `(unnamed)`. Non-UTF-8 bytes print as `\xNN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            UnixAddrKind::Unnamed => return f.write_str("(unnamed)"),
            UnixAddrKind::Abstract => f.write_str("@")?,
            UnixAddrKind::Pathname => {}
        }
        for chunk in self.as_bytes().utf8_chunks() {
            f.write_str(chunk.valid())?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

/// The association of a connection: protocol, local endpoint, remote endpoint.
///
/// Printable (`tcp 127.0.0.1:40000 -> 127.0.0.1:8080`), comparable and hashable, so it can key
/// a connection table. `A` is [`SocketAddr`] for Internet sockets and [`UnixAddr`] for
/// UNIX-domain ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Association<A = SocketAddr> {
    /// The transport protocol ([`Protocol::TCP`], [`Protocol::UDP`], ...; `Protocol(0)` for
    /// UNIX-domain sockets).
    pub protocol: Protocol,
    /// The local endpoint.
    pub local: A,
    /// The remote endpoint.
    pub remote: A,
}

impl<A> Association<A> {
    /// An association from its three parts.
    pub const fn new(protocol: Protocol, local: A, remote: A) -> Self {
        Association {
            protocol,
            local,
            remote,
        }
    }
}

impl<A: fmt::Display> fmt::Display for Association<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.protocol.0 == 0 {
            f.write_str("unix")?;
        } else {
            write!(f, "{}", self.protocol)?;
        }
        write!(f, " {} -> {}", self.local, self.remote)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_addr_limits_and_display() {
        assert_eq!(UnixAddr::pathname(b""), Err(UnixAddrError::Empty));
        assert_eq!(
            UnixAddr::pathname(b"a\0b"),
            Err(UnixAddrError::InteriorNul(1))
        );
        assert_eq!(
            UnixAddr::pathname(&[b'a'; 108]),
            Err(UnixAddrError::TooLong { len: 108, max: 107 })
        );
        let p = UnixAddr::pathname(b"/tmp/x.sock").unwrap();
        assert_eq!(p.as_pathname(), Some(&b"/tmp/x.sock"[..]));
        assert_eq!(p.as_abstract(), None);
        let a = UnixAddr::abstract_name(b"svc\xff").unwrap();
        extern crate std;
        use std::string::ToString;
        assert_eq!(a.to_string(), "@svc\\xff");
        assert_eq!(p.to_string(), "/tmp/x.sock");
        assert_eq!(UnixAddr::UNNAMED.to_string(), "(unnamed)");
        assert_ne!(p, a);
    }

    #[test]
    fn association_prints_like_netstat() {
        extern crate std;
        use std::string::ToString;
        let a = Association::new(
            Protocol::TCP,
            "127.0.0.1:40000".parse::<SocketAddr>().unwrap(),
            "[::1]:80".parse::<SocketAddr>().unwrap(),
        );
        assert_eq!(a.to_string(), "tcp 127.0.0.1:40000 -> [::1]:80");
        assert_eq!(Domain::of(&a.local), Domain::Ipv4);
        assert!(Domain::Ipv6.contains(&a.remote));
    }
}
