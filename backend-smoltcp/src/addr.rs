//! Address conversions between `core::net` and smoltcp, and address checks shared by the
//! socket types.

use core::net::{IpAddr, SocketAddr};

use smoltcp::wire::{IpAddress, IpEndpoint};
use unisock::Domain;

use crate::error::{Error, Result};

/// `ip` in smoltcp's type (`Unsupported` for IPv6 without the `proto-ipv6` feature).
pub(crate) fn smol_ip(ip: IpAddr) -> Result<IpAddress> {
    match ip {
        IpAddr::V4(a) => Ok(IpAddress::Ipv4(a)),
        #[cfg(feature = "proto-ipv6")]
        IpAddr::V6(a) => Ok(IpAddress::Ipv6(a)),
        #[cfg(not(feature = "proto-ipv6"))]
        IpAddr::V6(_) => Err(Error::unsupported(
            "IPv6 support not compiled in (feature proto-ipv6)",
        )),
    }
}

/// `Unsupported` for an IPv6 domain without the `proto-ipv6` feature, `InvalidInput` for
/// UNIX.
pub(crate) fn check_domain(domain: Domain, what: &'static str) -> Result<()> {
    match domain {
        Domain::Unix => Err(Error::invalid(what)),
        #[cfg(not(feature = "proto-ipv6"))]
        Domain::Ipv6 => Err(Error::unsupported(
            "IPv6 support not compiled in (feature proto-ipv6)",
        )),
        _ => Ok(()),
    }
}

/// `ep` as a `core::net` socket address.
pub(crate) fn ep_to_std(ep: IpEndpoint) -> SocketAddr {
    SocketAddr::new(ep.addr.into(), ep.port)
}

/// Whether two bind addresses overlap (either unspecified, or equal).
pub(crate) fn overlaps(a: IpAddr, b: IpAddr) -> bool {
    a.is_unspecified() || b.is_unspecified() || a == b
}
