//! Datagram sockets (UDP, UNIX datagram).
//!
//! A datagram larger than the receive buffer is truncated, and [`RecvMeta::full_len`] reports
//! its full length (as BSD's `MSG_TRUNC`); the rest of that datagram is discarded (unless
//! [`RecvFlags::PEEK`] was given). A datagram too large to send is rejected with `InvalidInput`,
//! never truncated.
//!
//! After [`DatagramSocket::connect`], only datagrams from the peer are received and
//! [`DatagramSocket::send`] goes to it.
//!
//! Batched calls ([`DatagramSocket::send_batch`], [`DatagramSocket::recv_batch`]) move many
//! datagrams per call; the provided implementations loop over the single-datagram calls, and
//! backends override them with a faster path (`sendmmsg`/`recvmmsg` on Linux).

use crate::{RecvFlags, SendFlags, Socket};

/// What a receive call learned about one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecvMeta<A> {
    /// Bytes written into the buffer.
    pub len: usize,
    /// The datagram's full length; greater than `len` if it was truncated.
    pub full_len: usize,
    /// The sender.
    pub from: A,
}

impl<A> RecvMeta<A> {
    /// Whether the datagram was longer than the buffer.
    pub const fn truncated(&self) -> bool {
        self.full_len > self.len
    }
}

/// One datagram to send in a batch.
#[derive(Debug, Clone, Copy)]
pub struct SendMsg<'a, A> {
    /// The payload.
    pub data: &'a [u8],
    /// The destination; `None` sends to the connected peer.
    pub to: Option<A>,
}

/// One receive buffer in a batch, and what was received into it.
#[derive(Debug)]
pub struct RecvSlot<'a, A> {
    /// Where the datagram goes.
    pub buf: &'a mut [u8],
    /// Filled in for each slot that received a datagram.
    pub meta: Option<RecvMeta<A>>,
}

impl<'a, A> RecvSlot<'a, A> {
    /// An empty slot over `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        RecvSlot { buf, meta: None }
    }

    /// The received bytes, if a datagram landed here.
    pub fn data(&self) -> Option<&[u8]> {
        self.meta.as_ref().map(|m| &self.buf[..m.len])
    }
}

/// A datagram socket.
pub trait DatagramSocket: Socket {
    /// Bind to a local endpoint; port 0 picks an ephemeral port. A socket that sends before
    /// binding is bound to an ephemeral port automatically.
    fn bind(&mut self, local: Self::Addr) -> Result<(), Self::Error>;

    /// Fix the peer: later sends go to it and only its datagrams are received.
    fn connect(&mut self, peer: Self::Addr) -> Result<(), Self::Error>;

    /// The connected peer; `NotConnected` if there is none.
    fn peer_addr(&self) -> Result<Self::Addr, Self::Error>;

    /// Send one datagram to `to`, blocking while the send buffer is full. Returns the payload
    /// length.
    fn send_to(
        &mut self,
        buf: &[u8],
        to: Self::Addr,
        flags: SendFlags,
    ) -> Result<usize, Self::Error>;

    /// Receive one datagram, blocking until there is one (bounded by
    /// [`SockOpt::ReadTimeout`](crate::SockOpt::ReadTimeout)).
    fn recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<Self::Addr>, Self::Error>;

    /// As [`send_to`](DatagramSocket::send_to), failing with `WouldBlock` instead of waiting.
    fn try_send_to(
        &mut self,
        buf: &[u8],
        to: Self::Addr,
        flags: SendFlags,
    ) -> Result<usize, Self::Error>;

    /// As [`recv_from`](DatagramSocket::recv_from), failing with `WouldBlock` instead of
    /// waiting.
    fn try_recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<Self::Addr>, Self::Error>;

    /// Send one datagram to the connected peer (`NotConnected` if there is none).
    fn send(&mut self, buf: &[u8], flags: SendFlags) -> Result<usize, Self::Error> {
        let peer = self.peer_addr()?;
        self.send_to(buf, peer, flags)
    }

    /// Receive one datagram from the connected peer; same as
    /// [`recv_from`](DatagramSocket::recv_from) (a connected socket only receives from its
    /// peer).
    fn recv(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<Self::Addr>, Self::Error> {
        self.recv_from(buf, flags)
    }

    /// Send several datagrams, blocking until at least the first is sent. Returns how many
    /// were sent (from the front of `msgs`); an error is returned only if none was.
    fn send_batch(&mut self, msgs: &[SendMsg<'_, Self::Addr>]) -> Result<usize, Self::Error> {
        let mut sent = 0;
        for msg in msgs {
            let to = match msg.to {
                Some(to) => to,
                None => match self.peer_addr() {
                    Ok(peer) => peer,
                    Err(e) if sent == 0 => return Err(e),
                    Err(_) => break,
                },
            };
            let result = if sent == 0 {
                self.send_to(msg.data, to, SendFlags::NONE)
            } else {
                self.try_send_to(msg.data, to, SendFlags::NONE)
            };
            match result {
                Ok(_) => sent += 1,
                Err(e) if sent == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(sent)
    }

    /// Receive several datagrams: blocks until the first arrives, then takes whatever more is
    /// already queued, up to one per slot. Returns how many slots were filled (from the front);
    /// each filled slot has its [`RecvSlot::meta`] set.
    fn recv_batch(&mut self, slots: &mut [RecvSlot<'_, Self::Addr>]) -> Result<usize, Self::Error> {
        let mut filled = 0;
        for slot in slots.iter_mut() {
            slot.meta = None;
        }
        for slot in slots.iter_mut() {
            let result = if filled == 0 {
                self.recv_from(slot.buf, RecvFlags::NONE)
            } else {
                self.try_recv_from(slot.buf, RecvFlags::NONE)
            };
            match result {
                Ok(meta) => {
                    slot.meta = Some(meta);
                    filled += 1;
                }
                Err(e) if filled == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(filled)
    }
}
