//! UDP without the `udp` feature: [`UdpSocket`] exists (the [`unisock::Stack`] trait names
//! it) but cannot be created: `udp_socket` and `bind_udp` fail with `Unsupported`. The type
//! has no values, so its methods can never run.

use core::net::SocketAddr;

use smoltcp::phy::Device;
use unisock::{Domain, RecvFlags, RecvMeta, SendFlags, SockOpt, SockOptName};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::slot::Handle;
use crate::stack::Stack;
use crate::wait::Wait;

/// No value of this type exists: it stands for the sockets of a disabled feature.
#[derive(Debug, Clone, Copy)]
enum Never {}

/// A UDP socket; without the `udp` feature none can be created.
pub struct UdpSocket<'s, 'a, D: Device, C: Clock, W: Wait> {
    never: Never,
    _stack: core::marker::PhantomData<&'s Stack<'a, D, C, W>>,
}

impl<D: Device, C: Clock, W: Wait> core::fmt::Debug for UdpSocket<'_, '_, D, C, W> {
    fn fmt(&self, _: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.never {}
    }
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> UdpSocket<'s, 'a, D, C, W> {
    pub(crate) fn open(_stack: &'s Stack<'a, D, C, W>, _domain: Domain) -> Result<Self> {
        Err(Error::unsupported(
            "UDP support not compiled in (feature udp)",
        ))
    }

    /// This socket's generation-checked handle.
    pub fn handle(&self) -> Handle {
        match self.never {}
    }

    pub(crate) async fn send_to_async(
        &self,
        _: &[u8],
        _: SocketAddr,
        _: SendFlags,
    ) -> Result<usize> {
        match self.never {}
    }

    pub(crate) async fn recv_from_async(
        &self,
        _: &mut [u8],
        _: RecvFlags,
    ) -> Result<RecvMeta<SocketAddr>> {
        match self.never {}
    }

    pub(crate) async fn send_connected_async(&self, _: &[u8], _: SendFlags) -> Result<usize> {
        match self.never {}
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::ErrorType for UdpSocket<'_, '_, D, C, W> {
    type Error = Error;
}

impl<D: Device, C: Clock, W: Wait> unisock::Socket for UdpSocket<'_, '_, D, C, W> {
    type Addr = SocketAddr;

    fn local_addr(&self) -> Result<SocketAddr> {
        match self.never {}
    }

    fn set_option(&mut self, _: SockOpt) -> Result<()> {
        match self.never {}
    }

    fn option(&self, _: SockOptName) -> Result<SockOpt> {
        match self.never {}
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::DatagramSocket for UdpSocket<'_, '_, D, C, W> {
    fn bind(&mut self, _: SocketAddr) -> Result<()> {
        match self.never {}
    }

    fn connect(&mut self, _: SocketAddr) -> Result<()> {
        match self.never {}
    }

    fn peer_addr(&self) -> Result<SocketAddr> {
        match self.never {}
    }

    fn send_to(&mut self, _: &[u8], _: SocketAddr, _: SendFlags) -> Result<usize> {
        match self.never {}
    }

    fn recv_from(&mut self, _: &mut [u8], _: RecvFlags) -> Result<RecvMeta<SocketAddr>> {
        match self.never {}
    }

    fn try_send_to(&mut self, _: &[u8], _: SocketAddr, _: SendFlags) -> Result<usize> {
        match self.never {}
    }

    fn try_recv_from(&mut self, _: &mut [u8], _: RecvFlags) -> Result<RecvMeta<SocketAddr>> {
        match self.never {}
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::poll::AsSource for UdpSocket<'_, '_, D, C, W> {
    type Source = crate::Source;

    fn source(&self) -> crate::Source {
        match self.never {}
    }
}
