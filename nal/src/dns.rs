//! Name resolution: embedded-nal's [`Dns`] over [`unisock::Stack::resolve`].

use core::net::IpAddr;

use embedded_nal::{AddrType, Dns, nb};
use unisock::{ErrorKind, Stack};

use crate::{Error, NalStack};

impl<S: Stack> Dns for NalStack<S> {
    type Error = Error<S::Error>;

    /// Resolve `hostname` with the stack (`getaddrinfo` on the kernel backend, the host table
    /// and DNS on smoltcp), blocking for the lookup, and return its first address of
    /// `addr_type` ([`Error::NoAddressOfType`] if none). An IP literal is returned without a
    /// lookup when it is of the requested type.
    fn get_host_by_name(
        &mut self,
        hostname: &str,
        addr_type: AddrType,
    ) -> nb::Result<IpAddr, Self::Error> {
        let addresses = self
            .stack
            .resolve(hostname)
            .map_err(|e| nb::Error::Other(Error::Stack(e)))?;
        addresses
            .iter()
            .copied()
            .find(|ip| match addr_type {
                AddrType::IPv4 => ip.is_ipv4(),
                AddrType::IPv6 => ip.is_ipv6(),
                AddrType::Either => true,
            })
            .ok_or(nb::Error::Other(Error::NoAddressOfType))
    }

    /// Reverse lookup is not part of unisock: always `Unsupported`.
    fn get_host_by_address(
        &mut self,
        _addr: IpAddr,
        _result: &mut [u8],
    ) -> nb::Result<usize, Self::Error> {
        Err(nb::Error::Other(Error::state(
            ErrorKind::Unsupported,
            "get_host_by_address: unisock has no reverse name lookup",
        )))
    }
}
