//! The two endpoint families stream and datagram sockets are generic over: Internet
//! ([`SocketAddr`]) and UNIX domain ([`UnixAddr`]).

use core::net::SocketAddr;

use unisock::{Protocol, UnixAddr};

use crate::error::ErrorAddr;
use crate::options::Kind;
use crate::sys::SockAddr;

/// An endpoint type a socket of this crate can use: [`SocketAddr`] or [`UnixAddr`]. Sealed.
pub trait Family: sealed::Sealed {}

impl Family for SocketAddr {}
impl Family for UnixAddr {}

pub(crate) mod sealed {
    use super::*;

    /// What the sockets need to know about an endpoint family.
    pub trait Sealed:
        Copy + core::fmt::Debug + core::fmt::Display + Eq + Into<ErrorAddr> + Send + Sync + 'static
    {
        /// Option rules for a stream socket of this family.
        const STREAM_KIND: Kind;
        /// Option rules for a datagram socket of this family.
        const DATAGRAM_KIND: Kind;
        /// The protocol reported in associations.
        const STREAM_PROTOCOL: Protocol;
        /// The protocol of a datagram socket.
        const DATAGRAM_PROTOCOL: Protocol;
        /// The kernel form.
        fn to_sockaddr(&self) -> SockAddr;
        /// From the kernel form; `None` if it is of another family.
        fn from_sockaddr(addr: &SockAddr) -> Option<Self>;
    }

    impl Sealed for SocketAddr {
        const STREAM_KIND: Kind = Kind::Tcp;
        const DATAGRAM_KIND: Kind = Kind::Udp;
        const STREAM_PROTOCOL: Protocol = Protocol::TCP;
        const DATAGRAM_PROTOCOL: Protocol = Protocol::UDP;
        #[inline]
        fn to_sockaddr(&self) -> SockAddr {
            SockAddr::from_inet(self)
        }
        #[inline]
        fn from_sockaddr(addr: &SockAddr) -> Option<Self> {
            addr.to_inet()
        }
    }

    impl Sealed for UnixAddr {
        const STREAM_KIND: Kind = Kind::UnixStream;
        const DATAGRAM_KIND: Kind = Kind::UnixDatagram;
        const STREAM_PROTOCOL: Protocol = Protocol(0);
        const DATAGRAM_PROTOCOL: Protocol = Protocol(0);
        #[inline]
        fn to_sockaddr(&self) -> SockAddr {
            SockAddr::from_unix(self)
        }
        #[inline]
        fn from_sockaddr(addr: &SockAddr) -> Option<Self> {
            addr.to_unix()
        }
    }
}

/// Convert an address the kernel returned for operation `op`.
#[inline]
pub(crate) fn decode<F: Family>(
    op: crate::error::Op,
    addr: crate::sys::Result<SockAddr>,
) -> Result<F, crate::Error> {
    let addr = addr.map_err(|e| crate::Error::os(op, e))?;
    F::from_sockaddr(&addr).ok_or_else(|| {
        crate::Error::invalid(
            op,
            unisock::ErrorKind::InvalidData,
            "the kernel returned an address of another family",
        )
    })
}
