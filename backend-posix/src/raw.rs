//! Raw IP sockets ([`RawSocket`]): `socket(AF_INET or AF_INET6, SOCK_RAW, protocol)`, with the
//! packet format of [`unisock::RawSocket`]: send takes the protocol payload; an IPv4 receive
//! returns the whole packet with its IP header, an IPv6 receive the payload only; the kernel
//! computes ICMPv6 checksums. Needs `CAP_NET_RAW` (`PermissionDenied` otherwise).
//!
//! Not supported: `IP_HDRINCL` (building IP headers yourself), ICMP filters.

use core::net::IpAddr;

use unisock::{Domain, ErrorType, Protocol, RecvFlags, RecvMeta, SockOpt, SockOptName};

use crate::error::{Error, Op};
use crate::flags::recv_flags;
use crate::options::{self, Kind};
use crate::stream::inet_socket;
use crate::sys::{self, SockAddr};

/// A raw IP socket for one protocol.
#[derive(Debug)]
pub struct RawSocket {
    pub(crate) sock: sys::Socket,
}

impl RawSocket {
    /// A raw socket of `domain` for `protocol` (`Unix` is `InvalidInput`).
    pub fn new(domain: Domain, protocol: Protocol) -> Result<RawSocket, Error> {
        Ok(RawSocket {
            sock: inet_socket(domain, libc::SOCK_RAW, libc::c_int::from(protocol.0))?,
        })
    }

    fn recv_inner(
        &self,
        buf: &mut [u8],
        flags: RecvFlags,
        extra: libc::c_int,
    ) -> Result<RecvMeta<IpAddr>, Error> {
        let bits = recv_flags(flags, false)? | libc::MSG_TRUNC | extra;
        let (full_len, from) = self.sock.recv_from(buf, bits).map_err(|e| {
            if extra == 0 {
                Error::blocking(Op::Recv, e)
            } else {
                Error::os(Op::Recv, e)
            }
        })?;
        let from = from.to_ip().ok_or_else(|| {
            Error::invalid(
                Op::Recv,
                unisock::ErrorKind::InvalidData,
                "the kernel returned a non-IP source address",
            )
        })?;
        Ok(RecvMeta {
            len: full_len.min(buf.len()),
            full_len,
            from,
        })
    }
}

impl ErrorType for RawSocket {
    type Error = Error;
}

impl unisock::Socket for RawSocket {
    type Addr = IpAddr;

    fn local_addr(&self) -> Result<IpAddr, Error> {
        let addr = self
            .sock
            .local_addr()
            .map_err(|e| Error::os(Op::LocalAddr, e))?;
        addr.to_ip().ok_or_else(|| {
            Error::invalid(
                Op::LocalAddr,
                unisock::ErrorKind::InvalidData,
                "the kernel returned a non-IP address",
            )
        })
    }

    fn set_option(&mut self, option: SockOpt) -> Result<(), Error> {
        options::set(&self.sock, Kind::Raw, option)
    }

    fn option(&self, name: SockOptName) -> Result<SockOpt, Error> {
        options::get(&self.sock, Kind::Raw, name)
    }
}

impl RawSocket {
    /// One non-blocking send (`MSG_DONTWAIT`): `WouldBlock` when the send buffer is full.
    pub(crate) fn try_send_to(&mut self, payload: &[u8], to: IpAddr) -> Result<usize, Error> {
        self.sock
            .send_to(payload, libc::MSG_DONTWAIT, &SockAddr::from_ip(&to))
            .map_err(|e| Error::os(Op::Send, e).at(to))
    }
}

impl unisock::RawSocket for RawSocket {
    fn send_to(&mut self, payload: &[u8], to: IpAddr) -> Result<usize, Error> {
        self.sock
            .send_to(payload, 0, &SockAddr::from_ip(&to))
            .map_err(|e| Error::blocking(Op::Send, e).at(to))
    }

    fn recv_from(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<RecvMeta<IpAddr>, Error> {
        self.recv_inner(buf, flags, 0)
    }

    fn try_recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<IpAddr>, Error> {
        self.recv_inner(buf, flags, libc::MSG_DONTWAIT)
    }
}
