//! UDP: [`UdpSocket`], the embedded-nal socket over a unisock stack's UDP socket, and the
//! `UdpClientStack` / `UdpFullStack` implementations of [`NalStack`].

use core::fmt;
use core::net::SocketAddr;

use embedded_nal::{UdpClientStack, UdpFullStack, nb};
use unisock::{DatagramSocket, Domain, ErrorKind, RecvFlags, SendFlags, Socket as _, Stack};

use crate::{Error, NalStack, any_of};

/// An embedded-nal UDP socket of a [`NalStack`] over stack `S`.
///
/// Owned by the caller; dropping it (or [`UdpClientStack::close`]) closes the unisock socket.
pub struct UdpSocket<S: Stack> {
    /// `None` until `connect`, `bind` or `send_to` creates the unisock socket.
    socket: Option<S::UdpSocket>,
    /// Where `send` goes: the `connect` peer, or the last `send_to` destination.
    remote: Option<SocketAddr>,
}

impl<S: Stack> fmt::Debug for UdpSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.local_addr().ok())
            .field("remote", &self.remote)
            .finish()
    }
}

impl<S: Stack> UdpSocket<S> {
    /// An embedded-nal socket over a unisock UDP socket (bound or connected through the
    /// unisock API, with its options set). `send` goes to its connected peer, if any.
    pub fn from_socket(socket: S::UdpSocket) -> Self {
        let remote = socket.peer_addr().ok();
        UdpSocket {
            socket: Some(socket),
            remote,
        }
    }

    /// The local endpoint (`getsockname`): how to learn the port of `bind(0)`.
    /// `NotConnected` while the socket holds no unisock socket yet.
    pub fn local_addr(&self) -> Result<SocketAddr, Error<S::Error>> {
        match &self.socket {
            Some(s) => Ok(s.local_addr()?),
            None => Err(Error::state(
                ErrorKind::NotConnected,
                "local_addr: the UDP socket is neither bound nor connected",
            )),
        }
    }

    /// Where `send` goes: the `connect` peer, or the last `send_to` destination.
    pub fn remote(&self) -> Option<SocketAddr> {
        self.remote
    }

    /// The unisock socket, once created.
    pub fn socket(&mut self) -> Option<&mut S::UdpSocket> {
        self.socket.as_mut()
    }
}

/// `WouldBlock` from unisock becomes `nb::Error::WouldBlock`.
fn nb_of<T, E: unisock::Error>(r: Result<T, E>) -> nb::Result<T, Error<E>> {
    r.map_err(|e| {
        if e.socket_kind() == ErrorKind::WouldBlock {
            nb::Error::WouldBlock
        } else {
            nb::Error::Other(Error::Stack(e))
        }
    })
}

impl<S: Stack> NalStack<S> {
    /// A unisock UDP socket of `domain` bound to `unspecified:port`.
    fn udp_bound(&self, domain: Domain, port: u16) -> Result<S::UdpSocket, Error<S::Error>> {
        let local = any_of(domain, port).ok_or(Error::state(
            ErrorKind::InvalidInput,
            "bind: the bind domain is not an Internet domain",
        ))?;
        let mut s = self.stack.udp_socket(domain)?;
        s.bind(local)?;
        Ok(s)
    }
}

impl<S: Stack> UdpClientStack for NalStack<S> {
    type UdpSocket = UdpSocket<S>;
    type Error = Error<S::Error>;

    /// A socket holding no unisock socket yet (created by `connect`, `bind` or `send_to`).
    /// Never fails.
    fn socket(&mut self) -> Result<UdpSocket<S>, Self::Error> {
        Ok(UdpSocket {
            socket: None,
            remote: None,
        })
    }

    /// Fix the peer: an unbound socket is first created in the remote's family and bound to
    /// an ephemeral port; afterwards only the peer's datagrams are received.
    fn connect(
        &mut self,
        socket: &mut UdpSocket<S>,
        remote: SocketAddr,
    ) -> Result<(), Self::Error> {
        let s = match &mut socket.socket {
            Some(s) => s,
            empty @ None => empty.insert(self.udp_bound(Domain::of(&remote), 0)?),
        };
        s.connect(remote)?;
        socket.remote = Some(remote);
        Ok(())
    }

    /// Send one datagram to the `connect` peer or the last `send_to` destination
    /// (`NotConnected` if there is neither); `WouldBlock` while the send buffer is full.
    fn send(&mut self, socket: &mut UdpSocket<S>, buffer: &[u8]) -> nb::Result<(), Self::Error> {
        let (Some(s), Some(remote)) = (&mut socket.socket, socket.remote) else {
            return Err(nb::Error::Other(Error::state(
                ErrorKind::NotConnected,
                "send: the UDP socket has no peer (connect or send_to first)",
            )));
        };
        nb_of(s.try_send_to(buffer, remote, SendFlags::NONE)).map(|_| ())
    }

    /// Take one queued datagram: `WouldBlock` if there is none; [`Error::Truncated`] if it
    /// was longer than `buffer`.
    fn receive(
        &mut self,
        socket: &mut UdpSocket<S>,
        buffer: &mut [u8],
    ) -> nb::Result<(usize, SocketAddr), Self::Error> {
        let Some(s) = &mut socket.socket else {
            return Err(nb::Error::Other(Error::state(
                ErrorKind::NotConnected,
                "receive: the UDP socket is neither bound nor connected",
            )));
        };
        let meta = nb_of(s.try_recv_from(buffer, RecvFlags::NONE))?;
        if meta.truncated() {
            return Err(nb::Error::Other(Error::Truncated {
                len: meta.len,
                full_len: meta.full_len,
                from: meta.from,
            }));
        }
        Ok((meta.len, meta.from))
    }

    /// Drop the socket. Never fails.
    fn close(&mut self, socket: UdpSocket<S>) -> Result<(), Self::Error> {
        drop(socket);
        Ok(())
    }
}

impl<S: Stack> UdpFullStack for NalStack<S> {
    /// Create the unisock socket in the bind domain, bound to `unspecified:local_port` (0: an
    /// ephemeral port). `InvalidInput` if the socket is already bound or connected.
    fn bind(&mut self, socket: &mut UdpSocket<S>, local_port: u16) -> Result<(), Self::Error> {
        if socket.socket.is_some() {
            return Err(Error::state(
                ErrorKind::InvalidInput,
                "bind: the UDP socket is already bound or connected",
            ));
        }
        socket.socket = Some(self.udp_bound(self.bind_domain, local_port)?);
        Ok(())
    }

    /// Send one datagram to `remote` (which later `send` calls then use); an unbound socket
    /// is first bound to an ephemeral port of the remote's family.
    fn send_to(
        &mut self,
        socket: &mut UdpSocket<S>,
        remote: SocketAddr,
        buffer: &[u8],
    ) -> nb::Result<(), Self::Error> {
        let s = match &mut socket.socket {
            Some(s) => s,
            empty @ None => empty.insert(
                self.udp_bound(Domain::of(&remote), 0)
                    .map_err(nb::Error::Other)?,
            ),
        };
        nb_of(s.try_send_to(buffer, remote, SendFlags::NONE))?;
        socket.remote = Some(remote);
        Ok(())
    }
}
