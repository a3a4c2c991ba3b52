//! [`PosixStack`]: the Linux kernel's network stack as a [`unisock::Stack`].

use core::net::IpAddr;

use unisock::{Addresses, Domain, ErrorType, Protocol};

use crate::error::Error;
use crate::{RawSocket, TcpListener, TcpSocket, TcpStream, UdpSocket, sys};

/// The Linux kernel's network stack. Zero-sized: every value is the same stack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PosixStack;

impl PosixStack {
    /// The stack (same as `PosixStack` or `PosixStack::default()`).
    pub const fn new() -> PosixStack {
        PosixStack
    }
}

impl ErrorType for PosixStack {
    type Error = Error;
}

impl unisock::Stack for PosixStack {
    type TcpSocket = TcpSocket;
    type TcpStream = TcpStream;
    type TcpListener = TcpListener;
    type UdpSocket = UdpSocket;
    type RawSocket = RawSocket;

    fn tcp_socket(&self, domain: Domain) -> Result<TcpSocket, Error> {
        TcpSocket::new(domain)
    }

    fn udp_socket(&self, domain: Domain) -> Result<UdpSocket, Error> {
        UdpSocket::new(domain)
    }

    fn raw_socket(&self, domain: Domain, protocol: Protocol) -> Result<RawSocket, Error> {
        RawSocket::new(domain, protocol)
    }

    /// IP literals are parsed without a lookup; names go through `getaddrinfo` (`AF_UNSPEC`,
    /// `SOCK_STREAM`), duplicates removed, order kept, at most [`unisock::MAX_ADDRESSES`].
    fn resolve(&self, host: &str) -> Result<Addresses, Error> {
        let mut out = Addresses::new();
        if let Ok(ip) = host.parse::<IpAddr>() {
            // A fresh vector has room for one address.
            let _ = out.push(ip);
            return Ok(out);
        }
        sys::resolve::getaddrinfo(host, &mut out)?;
        Ok(out)
    }

    /// Sockets this crate holds open in this process (all types, UNIX ones included).
    fn open_sockets(&self) -> usize {
        sys::open_sockets()
    }
}
