//! Raw sockets without the `raw` feature: [`RawSocket`] exists (the [`unisock::Stack`] trait
//! names it) but cannot be created: `raw_socket` fails with `Unsupported`. The type has no
//! values, so its methods can never run.

use core::net::IpAddr;

use smoltcp::phy::Device;
use unisock::{Domain, Protocol, RecvFlags, RecvMeta, SockOpt, SockOptName};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::slot::Handle;
use crate::stack::Stack;
use crate::wait::Wait;

/// No value of this type exists: it stands for the sockets of a disabled feature.
#[derive(Debug, Clone, Copy)]
enum Never {}

/// A raw ICMP or ICMPv6 socket; without the `raw` feature none can be created.
pub struct RawSocket<'s, 'a, D: Device, C: Clock, W: Wait> {
    never: Never,
    _stack: core::marker::PhantomData<&'s Stack<'a, D, C, W>>,
}

impl<D: Device, C: Clock, W: Wait> core::fmt::Debug for RawSocket<'_, '_, D, C, W> {
    fn fmt(&self, _: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.never {}
    }
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> RawSocket<'s, 'a, D, C, W> {
    pub(crate) fn open(
        _stack: &'s Stack<'a, D, C, W>,
        _domain: Domain,
        _protocol: Protocol,
    ) -> Result<Self> {
        Err(Error::unsupported(
            "raw socket support not compiled in (feature raw)",
        ))
    }

    /// This socket's generation-checked handle.
    pub fn handle(&self) -> Handle {
        match self.never {}
    }

    pub(crate) async fn send_to_async(&mut self, _: &[u8], _: IpAddr) -> Result<usize> {
        match self.never {}
    }

    pub(crate) async fn recv_from_async(
        &mut self,
        _: &mut [u8],
        _: RecvFlags,
    ) -> Result<RecvMeta<IpAddr>> {
        match self.never {}
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::ErrorType for RawSocket<'_, '_, D, C, W> {
    type Error = Error;
}

impl<D: Device, C: Clock, W: Wait> unisock::Socket for RawSocket<'_, '_, D, C, W> {
    type Addr = IpAddr;

    fn local_addr(&self) -> Result<IpAddr> {
        match self.never {}
    }

    fn set_option(&mut self, _: SockOpt) -> Result<()> {
        match self.never {}
    }

    fn option(&self, _: SockOptName) -> Result<SockOpt> {
        match self.never {}
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::RawSocket for RawSocket<'_, '_, D, C, W> {
    fn send_to(&mut self, _: &[u8], _: IpAddr) -> Result<usize> {
        match self.never {}
    }

    fn recv_from(&mut self, _: &mut [u8], _: RecvFlags) -> Result<RecvMeta<IpAddr>> {
        match self.never {}
    }

    fn try_recv_from(&mut self, _: &mut [u8], _: RecvFlags) -> Result<RecvMeta<IpAddr>> {
        match self.never {}
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::poll::AsSource for RawSocket<'_, '_, D, C, W> {
    type Source = crate::Source;

    fn source(&self) -> crate::Source {
        match self.never {}
    }
}
