//! The blocking [`unisock::Stack`] implementation for `&Stack`: socket creation, name
//! resolution, readiness and the leak count, each forwarded to the module that owns it.

use core::time::Duration;

use smoltcp::phy::Device;
use unisock::{Domain, Protocol};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::stack::Stack;
use crate::wait::Wait;

impl<D: Device, C: Clock, W: Wait> unisock::ErrorType for &Stack<'_, D, C, W> {
    type Error = Error;
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> unisock::Stack for &'s Stack<'a, D, C, W> {
    type TcpSocket = crate::TcpSocket<'s, 'a, D, C, W>;
    type TcpStream = crate::TcpStream<'s, 'a, D, C, W>;
    type TcpListener = crate::TcpListener<'s, 'a, D, C, W>;
    type UdpSocket = crate::UdpSocket<'s, 'a, D, C, W>;
    type Source = crate::Source;
    type RawSocket = crate::RawSocket<'s, 'a, D, C, W>;

    fn tcp_socket(&self, domain: Domain) -> Result<Self::TcpSocket> {
        crate::TcpSocket::open(self, domain)
    }

    fn udp_socket(&self, domain: Domain) -> Result<Self::UdpSocket> {
        crate::UdpSocket::open(self, domain)
    }

    fn raw_socket(&self, domain: Domain, protocol: Protocol) -> Result<Self::RawSocket> {
        crate::RawSocket::open(self, domain, protocol)
    }

    fn resolve(&self, host: &str) -> Result<unisock::Addresses> {
        self.resolve_in(host)
    }

    fn poll_sockets(
        &self,
        items: &mut [unisock::poll::PollItem<crate::Source>],
        timeout: Option<Duration>,
    ) -> Result<usize> {
        self.poll_sockets_in(items, timeout)
    }

    fn open_sockets(&self) -> usize {
        Stack::open_sockets(self)
    }
}
