//! Hand-written conversions between Rust addresses and `sockaddr_in`, `sockaddr_in6` and
//! `sockaddr_un`, stored in a `sockaddr_storage`.

use core::mem;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use unisock::{UNIX_PATH_CAPACITY, UnixAddr};

/// Offset of `sun_path` in `sockaddr_un` (the size of `sun_family`).
const SUN_PATH_OFFSET: usize = mem::size_of::<libc::sa_family_t>();

/// A socket address in kernel form: a `sockaddr_storage` and the length in use.
pub struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl core::fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SockAddr(family {}, len {})", self.family(), self.len)
    }
}

fn zeroed_storage() -> libc::sockaddr_storage {
    // SAFETY: `sockaddr_storage` is plain C data; all-zero bytes are a valid value.
    unsafe { mem::zeroed() }
}

impl SockAddr {
    /// Room for any address, length set to the full capacity (for the kernel to fill in).
    pub(crate) fn empty() -> SockAddr {
        SockAddr {
            storage: zeroed_storage(),
            len: mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    #[inline]
    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&raw const self.storage).cast()
    }

    #[inline]
    pub(crate) fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        (&raw mut self.storage).cast()
    }

    #[inline]
    pub(crate) fn len(&self) -> libc::socklen_t {
        self.len
    }

    #[inline]
    pub(crate) fn len_mut(&mut self) -> &mut libc::socklen_t {
        &mut self.len
    }

    /// Set the length in use (after the kernel filled `storage` through a raw pointer).
    pub(crate) fn set_len(&mut self, len: libc::socklen_t) {
        self.len = len;
    }

    /// Pointer to the storage, for building `msghdr`s.
    pub(crate) fn storage_mut(&mut self) -> &mut libc::sockaddr_storage {
        &mut self.storage
    }

    /// The address family (`AF_*`), or `AF_UNSPEC` if the kernel wrote nothing.
    pub(crate) fn family(&self) -> libc::c_int {
        if (self.len as usize) < mem::size_of::<libc::sa_family_t>() {
            return libc::AF_UNSPEC;
        }
        libc::c_int::from(self.storage.ss_family)
    }

    /// An Internet address.
    pub(crate) fn from_inet(addr: &SocketAddr) -> SockAddr {
        let mut storage = zeroed_storage();
        let len = match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: `sockaddr_storage` is larger than and aligned at least as strictly as
                // `sockaddr_in`.
                unsafe { (&raw mut storage).cast::<libc::sockaddr_in>().write(sin) };
                mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo().to_be(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: `sockaddr_storage` is larger than and aligned at least as strictly as
                // `sockaddr_in6`.
                unsafe { (&raw mut storage).cast::<libc::sockaddr_in6>().write(sin6) };
                mem::size_of::<libc::sockaddr_in6>()
            }
        };
        SockAddr {
            storage,
            len: len as libc::socklen_t,
        }
    }

    /// An IP address with port 0 (for raw sockets).
    pub(crate) fn from_ip(ip: &IpAddr) -> SockAddr {
        SockAddr::from_inet(&SocketAddr::new(*ip, 0))
    }

    /// A UNIX-domain address (path, abstract name or unnamed).
    pub(crate) fn from_unix(addr: &UnixAddr) -> SockAddr {
        let mut sun = libc::sockaddr_un {
            sun_family: libc::AF_UNIX as libc::sa_family_t,
            sun_path: [0; UNIX_PATH_CAPACITY],
        };
        let name = addr.as_bytes();
        // A path is followed by its NUL; an abstract name is preceded by one.
        let (start, extra) = match addr.kind() {
            unisock::UnixAddrKind::Unnamed => (0, 0),
            unisock::UnixAddrKind::Pathname => (0, 1),
            unisock::UnixAddrKind::Abstract => (1, 1),
        };
        // `UnixAddr` guarantees at most 107 name bytes, so `start + name.len() <= 108`.
        for (dst, &src) in sun.sun_path.iter_mut().skip(start).zip(name) {
            *dst = src as libc::c_char;
        }
        let len = if addr.kind() == unisock::UnixAddrKind::Unnamed {
            SUN_PATH_OFFSET
        } else {
            SUN_PATH_OFFSET + name.len() + extra
        };
        let mut storage = zeroed_storage();
        // SAFETY: `sockaddr_storage` is larger than and aligned at least as strictly as
        // `sockaddr_un`.
        unsafe { (&raw mut storage).cast::<libc::sockaddr_un>().write(sun) };
        SockAddr {
            storage,
            len: len as libc::socklen_t,
        }
    }

    /// The Internet address, if this is one.
    pub(crate) fn to_inet(&self) -> Option<SocketAddr> {
        let len = self.len as usize;
        match self.family() {
            libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
                // SAFETY: the family says the storage holds a `sockaddr_in`, and it is large and
                // aligned enough for one.
                let sin = unsafe { &*(&raw const self.storage).cast::<libc::sockaddr_in>() };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
                // SAFETY: the family says the storage holds a `sockaddr_in6`, and it is large
                // and aligned enough for one.
                let sin6 = unsafe { &*(&raw const self.storage).cast::<libc::sockaddr_in6>() };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Some(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    u32::from_be(sin6.sin6_flowinfo),
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    /// The IP address, if this is an Internet address.
    pub(crate) fn to_ip(&self) -> Option<IpAddr> {
        self.to_inet().map(|a| a.ip())
    }

    /// The UNIX-domain address, if this is one.
    pub(crate) fn to_unix(&self) -> Option<UnixAddr> {
        // An unbound sender has no name at all: the kernel reports length 0.
        if (self.len as usize) < SUN_PATH_OFFSET {
            return Some(UnixAddr::UNNAMED);
        }
        if self.family() != libc::AF_UNIX {
            return None;
        }
        let len = (self.len as usize).min(mem::size_of::<libc::sockaddr_un>());
        if len <= SUN_PATH_OFFSET {
            return Some(UnixAddr::UNNAMED);
        }
        // SAFETY: the family says the storage holds a `sockaddr_un`, and it is large and
        // aligned enough for one.
        let sun = unsafe { &*(&raw const self.storage).cast::<libc::sockaddr_un>() };
        let mut bytes = [0u8; UNIX_PATH_CAPACITY];
        for (dst, &src) in bytes.iter_mut().zip(sun.sun_path.iter()) {
            *dst = src as u8;
        }
        let path = bytes.get(..len - SUN_PATH_OFFSET)?;
        match path.split_first() {
            Some((0, name)) => UnixAddr::abstract_name(name).ok(),
            _ => {
                let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                if end == 0 {
                    return Some(UnixAddr::UNNAMED);
                }
                UnixAddr::pathname(path.get(..end)?).ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_round_trips() {
        for s in ["127.0.0.1:80", "0.0.0.0:0", "[::1]:65535", "[fe80::1%3]:9"] {
            let a: SocketAddr = s.parse().unwrap();
            assert_eq!(SockAddr::from_inet(&a).to_inet(), Some(a), "{s}");
        }
        let a: SocketAddr = "10.1.2.3:258".parse().unwrap();
        let raw = SockAddr::from_inet(&a);
        assert_eq!(raw.family(), libc::AF_INET);
        assert_eq!(raw.to_unix(), None);
        // Network byte order on the wire: port 258 = 0x0102.
        // SAFETY: `raw` holds a sockaddr_in.
        let sin = unsafe { &*raw.as_ptr().cast::<libc::sockaddr_in>() };
        assert_eq!(sin.sin_port.to_ne_bytes(), [1, 2]);
        assert_eq!(sin.sin_addr.s_addr.to_ne_bytes(), [10, 1, 2, 3]);
    }

    #[test]
    fn unix_round_trips_with_kernel_lengths() {
        let p = UnixAddr::pathname(b"/tmp/x").unwrap();
        let raw = SockAddr::from_unix(&p);
        assert_eq!(raw.len() as usize, SUN_PATH_OFFSET + 7);
        assert_eq!(raw.to_unix(), Some(p));
        let a = UnixAddr::abstract_name(b"a\0b").unwrap();
        let raw = SockAddr::from_unix(&a);
        assert_eq!(raw.len() as usize, SUN_PATH_OFFSET + 4);
        assert_eq!(raw.to_unix(), Some(a));
        let raw = SockAddr::from_unix(&UnixAddr::UNNAMED);
        assert_eq!(raw.to_unix(), Some(UnixAddr::UNNAMED));
        let long = UnixAddr::pathname(&[b'x'; 107]).unwrap();
        assert_eq!(SockAddr::from_unix(&long).to_unix(), Some(long));
        let long = UnixAddr::abstract_name(&[b'y'; 107]).unwrap();
        assert_eq!(SockAddr::from_unix(&long).to_unix(), Some(long));
    }
}
