//! Datagram sockets: [`UdpSocket`] and [`UnixDatagram`], one generic type [`Datagram`] over the
//! endpoint [`Family`].
//!
//! - Receives pass `MSG_TRUNC`, so [`RecvMeta::full_len`] is the datagram's real length even
//!   when it did not fit (also with `PEEK`); the rest of a truncated datagram is discarded.
//! - A datagram too large to send fails with `InvalidInput` (`EMSGSIZE`); sending before
//!   binding auto-binds an ephemeral port (the kernel does it).
//! - `OOB` and `WAITALL` are stream flags: `Unsupported` here (Linux would silently ignore
//!   `MSG_OOB` on some datagram calls).
//! - IPv6 UDP sockets are `IPV6_V6ONLY`.
//! - `send_batch`/`recv_batch` use `sendmmsg`/`recvmmsg` in chunks of 64 with stack arrays:
//!   `send_batch` may block for the first chunk (while the send buffer is full) and sends the
//!   later ones only as far as they fit; `recv_batch` waits for the first datagram
//!   (`MSG_WAITFORONE`, bounded by the read timeout) and then takes what is queued.
//! - UDP segmentation offload: `send_batch` on a UDP socket sends each run of datagrams to one
//!   destination with one length (the run's last may be shorter) as one `UDP_SEGMENT` send;
//!   the receiver gets exactly the datagrams separate sends would have produced. With GRO on
//!   ([`UdpSocket::set_gro`]) the receive calls still hand out one datagram per call or slot
//!   (see the `UdpSocket` offload methods). Direct access: [`UdpSocket::send_segments`],
//!   [`UdpSocket::recv_segments`].
//!
//! Not supported: multicast membership, other ancillary data.

use core::marker::PhantomData;
use core::net::SocketAddr;

use unisock::{
    DatagramSocket, Domain, ErrorKind, ErrorType, RecvFlags, RecvMeta, RecvSlot, SendFlags,
    SendMsg, SockOpt, SockOptName, UnixAddr,
};

use crate::error::{Error, Op};
use crate::family::{Family, decode};
use crate::flags::{recv_flags, send_flags};
use crate::options::{self, Kind};
use crate::stream::inet_socket;
use crate::sys::{self, SockAddr};

/// A datagram socket of endpoint family `F`: [`UdpSocket`] or [`UnixDatagram`].
#[derive(Debug)]
pub struct Datagram<F: Family> {
    pub(crate) sock: sys::Socket,
    /// Coalesced datagrams received with `UDP_GRO` on and not yet handed out (allocated
    /// once, by the first [`UdpSocket::set_gro`]`(true)`).
    gro: Option<Box<Coalesced<F>>>,
    _family: PhantomData<F>,
}

/// Size of the buffer coalesced datagrams are received into: the largest UDP payload plus
/// slack (GRO never builds more than 64 KiB).
const GRO_BUF: usize = 65536 + 4096;

/// A buffer of datagrams the kernel coalesced (`UDP_GRO`): `len` bytes from `from`, cut into
/// datagrams of `segment` bytes (the last may be shorter); those before `off` were handed out.
#[derive(Debug)]
struct Coalesced<F> {
    on: bool,
    data: Box<[u8]>,
    len: usize,
    off: usize,
    segment: usize,
    from: Option<F>,
}

impl<F: Family> Coalesced<F> {
    fn new() -> Coalesced<F> {
        Coalesced {
            on: false,
            data: vec![0u8; GRO_BUF].into_boxed_slice(),
            len: 0,
            off: 0,
            segment: 0,
            from: None,
        }
    }

    /// Whether datagrams are waiting here.
    fn pending(&self) -> bool {
        self.off < self.len && self.from.is_some()
    }

    /// Receive the next coalesced buffer from `sock` (never with `MSG_PEEK`: the bytes are
    /// kept here, peeking only does not advance `off`).
    fn fill(&mut self, sock: &sys::Socket, bits: libc::c_int) -> Result<(), sys::Errno> {
        let (full, from, segment) =
            sys::offload::recv_segments(sock, &mut self.data, bits & !libc::MSG_PEEK)?;
        let addr = F::from_sockaddr(&from);
        self.len = full.min(self.data.len());
        self.off = 0;
        self.segment = match segment {
            Some(s) if s > 0 => s,
            _ => full.max(1),
        };
        self.from = addr;
        if self.from.is_none() {
            // Cannot happen for a socket of family `F`: drop the buffer.
            self.len = 0;
            return Err(libc::EAFNOSUPPORT);
        }
        Ok(())
    }

    /// Copy the next datagram into `buf` (truncating as a receive would); advance unless
    /// `peek`.
    fn take(&mut self, buf: &mut [u8], peek: bool) -> Option<RecvMeta<F>> {
        let from = self.from?;
        let full_len = (self.len - self.off).min(self.segment);
        let len = full_len.min(buf.len());
        buf[..len].copy_from_slice(&self.data[self.off..self.off + len]);
        if !peek {
            self.off += full_len;
        }
        Some(RecvMeta {
            len,
            full_len,
            from,
        })
    }
}

/// A UDP socket.
pub type UdpSocket = Datagram<SocketAddr>;
/// A UNIX-domain datagram socket (`AF_UNIX`, `SOCK_DGRAM`).
pub type UnixDatagram = Datagram<UnixAddr>;

impl<F: Family> Datagram<F> {
    pub(crate) fn from_socket(sock: sys::Socket) -> Self {
        Datagram {
            sock,
            gro: None,
            _family: PhantomData,
        }
    }

    #[inline]
    fn recv_inner(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
        extra: libc::c_int,
    ) -> Result<RecvMeta<F>, Error> {
        Self::recv_on(&self.sock, self.gro.as_deref_mut(), buf, flags, extra)
    }

    /// A receive on `sock`, through the coalesced datagrams `gro` when there are any (or GRO
    /// is on). Apart from `self` so that the async receive half can hold the socket shared.
    #[inline]
    fn recv_on(
        sock: &sys::Socket,
        gro: Option<&mut Coalesced<F>>,
        buf: &mut [u8],
        flags: RecvFlags,
        extra: libc::c_int,
    ) -> Result<RecvMeta<F>, Error> {
        let bits = recv_flags(flags, false)? | libc::MSG_TRUNC | extra;
        let blocking = extra & libc::MSG_DONTWAIT == 0;
        if let Some(g) = gro
            && (g.pending() || g.on)
        {
            return Self::recv_coalesced(sock, g, buf, bits, blocking);
        }
        let (full_len, from) = sock.recv_from(buf, bits).map_err(|e| {
            if blocking {
                Error::blocking(Op::Recv, e)
            } else {
                Error::os(Op::Recv, e)
            }
        })?;
        Ok(RecvMeta {
            len: full_len.min(buf.len()),
            full_len,
            from: decode(Op::Recv, Ok(from))?,
        })
    }

    /// A receive with `UDP_GRO` on (or coalesced datagrams still waiting): one datagram out
    /// of the coalesced buffer, refilled from the socket when empty.
    fn recv_coalesced(
        sock: &sys::Socket,
        g: &mut Coalesced<F>,
        buf: &mut [u8],
        bits: libc::c_int,
        blocking: bool,
    ) -> Result<RecvMeta<F>, Error> {
        if !g.pending() {
            g.fill(sock, bits).map_err(|e| {
                if blocking {
                    Error::blocking(Op::Recv, e)
                } else {
                    Error::os(Op::Recv, e)
                }
            })?;
        }
        g.take(buf, bits & libc::MSG_PEEK != 0).ok_or_else(|| {
            Error::invalid(
                Op::Recv,
                ErrorKind::InvalidData,
                "the kernel returned an address of another family",
            )
        })
    }

    #[inline]
    fn send_inner(
        &self,
        buf: &[u8],
        to: F,
        flags: SendFlags,
        extra: libc::c_int,
    ) -> Result<usize, Error> {
        Self::send_on(&self.sock, buf, to, flags, extra)
    }

    #[inline]
    fn send_on(
        sock: &sys::Socket,
        buf: &[u8],
        to: F,
        flags: SendFlags,
        extra: libc::c_int,
    ) -> Result<usize, Error> {
        let bits = send_flags(flags, false)? | extra;
        let blocking = extra & libc::MSG_DONTWAIT == 0;
        sock.send_to(buf, bits, &to.to_sockaddr()).map_err(|e| {
            if blocking {
                Error::blocking(Op::Send, e).at(to)
            } else {
                Error::os(Op::Send, e).at(to)
            }
        })
    }
}

/// The receiving side of a datagram socket, borrowed apart from its sending side (the async
/// receive half): the descriptor shared, the coalesced-datagram buffer exclusively.
#[derive(Debug)]
pub(crate) struct RecvSide<'a, F: Family> {
    sock: &'a sys::Socket,
    gro: Option<&'a mut Coalesced<F>>,
}

impl<F: Family> RecvSide<'_, F> {
    /// Non-blocking receive, as [`DatagramSocket::try_recv_from`].
    #[inline]
    pub(crate) fn try_recv_from(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<RecvMeta<F>, Error> {
        Datagram::recv_on(
            self.sock,
            self.gro.as_deref_mut(),
            buf,
            flags,
            libc::MSG_DONTWAIT,
        )
    }
}

/// The sending side of a datagram socket (the async send half): the descriptor, shared.
#[derive(Debug)]
pub(crate) struct SendSide<'a, F: Family> {
    sock: &'a sys::Socket,
    _family: PhantomData<F>,
}

impl<F: Family> SendSide<'_, F> {
    /// Non-blocking send to `to`, as [`DatagramSocket::try_send_to`].
    #[inline]
    pub(crate) fn try_send_to(&self, buf: &[u8], to: F, flags: SendFlags) -> Result<usize, Error> {
        Datagram::send_on(self.sock, buf, to, flags, libc::MSG_DONTWAIT)
    }

    /// Non-blocking send to the connected peer (`NotConnected` if there is none).
    #[inline]
    pub(crate) fn try_send(&self, buf: &[u8], flags: SendFlags) -> Result<usize, Error> {
        let bits = send_flags(flags, false)? | libc::MSG_DONTWAIT;
        self.sock
            .send(buf, bits)
            .map_err(|e| Error::os(Op::Send, e))
    }
}

impl<F: Family> Datagram<F> {
    /// Borrow the socket as its receiving and sending sides (the async split).
    pub(crate) fn sides(&mut self) -> (RecvSide<'_, F>, SendSide<'_, F>) {
        (
            RecvSide {
                sock: &self.sock,
                gro: self.gro.as_deref_mut(),
            },
            SendSide {
                sock: &self.sock,
                _family: PhantomData,
            },
        )
    }
}

impl UdpSocket {
    /// A new unbound UDP socket of `domain` (`Ipv4` or `Ipv6`; `Unix` is `InvalidInput`).
    pub fn new(domain: Domain) -> Result<UdpSocket, Error> {
        Ok(Datagram::from_socket(inet_socket(
            domain,
            libc::SOCK_DGRAM,
            0,
        )?))
    }
}

/// UDP segmentation offload (Linux 4.18+ for GSO, 5.0+ for GRO).
///
/// GSO: [`UdpSocket::send_segments`] hands the kernel one buffer that leaves as datagrams of
/// `segment` bytes each (the last may be shorter), for one system call instead of many.
/// GRO: with [`UdpSocket::set_gro`] on, the kernel may hand over several datagrams of one
/// flow as one buffer, and [`UdpSocket::recv_segments`] reports their segment size. The
/// ordinary receive calls keep their one-datagram meaning: they receive the coalesced buffer
/// into the socket's own 68 KiB buffer (allocated by the first `set_gro(true)`) and hand out
/// one datagram per call, or per slot of [`DatagramSocket::recv_batch`], copying it once more.
/// This pays off when the sender segments (GSO, which [`DatagramSocket::send_batch`] does by
/// itself for runs of equal-size datagrams): a whole run then crosses the kernel as one
/// packet and one `recvmsg`. Traffic the kernel does not coalesce costs one `recvmsg` per
/// datagram, so leave GRO off for it.
impl UdpSocket {
    /// Send `buf` as datagrams of `segment` bytes each (the last one may be shorter) to `to`,
    /// or to the connected peer if `to` is `None`, in one `sendmsg` with `UDP_SEGMENT`.
    /// Returns the bytes sent (all of `buf`). A zero `segment`, too many segments (the
    /// kernel's limit is 64 or 128) or a segment larger than the path allows is `InvalidInput`.
    pub fn send_segments(
        &mut self,
        buf: &[u8],
        segment: u16,
        to: Option<SocketAddr>,
    ) -> Result<usize, Error> {
        if segment == 0 {
            return Err(Error::invalid(
                Op::Send,
                ErrorKind::InvalidInput,
                "segment size must not be zero",
            ));
        }
        let raw = to.map(|a| SockAddr::from_inet(&a));
        sys::offload::send_segments(&self.sock, buf, segment, raw.as_ref(), 0).map_err(|e| {
            let err = Error::blocking(Op::Send, e);
            match to {
                Some(to) => err.at(to),
                None => err,
            }
        })
    }

    /// Let the kernel coalesce received datagrams (`UDP_GRO`); see
    /// [`UdpSocket::recv_segments`].
    pub fn set_gro(&mut self, on: bool) -> Result<(), Error> {
        if on && self.gro.is_none() {
            self.gro = Some(Box::new(Coalesced::new()));
        }
        self.sock
            .set_opt(libc::SOL_UDP, libc::UDP_GRO, libc::c_int::from(on))
            .map_err(|e| Error::os(Op::SetOption, e))?;
        if let Some(g) = self.gro.as_deref_mut() {
            g.on = on;
        }
        Ok(())
    }

    /// Whether `UDP_GRO` is on.
    pub fn gro(&self) -> Result<bool, Error> {
        self.sock
            .opt::<libc::c_int>(libc::SOL_UDP, libc::UDP_GRO)
            .map(|v| v != 0)
            .map_err(|e| Error::os(Op::GetOption, e))
    }

    /// Receive one buffer, blocking (bounded by the read timeout). With GRO on it may hold
    /// several datagrams of the same sender, each `segment` bytes (the last may be shorter):
    /// the second value is `Some(segment)` then, `None` for a single datagram. Truncation is
    /// reported as for [`DatagramSocket::recv_from`].
    pub fn recv_segments(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<(RecvMeta<SocketAddr>, Option<usize>), Error> {
        let bits = recv_flags(flags, false)?;
        if let Some(g) = self.gro.as_deref_mut()
            && g.pending()
        {
            // Datagrams an ordinary receive left in the coalesced buffer come first: as many
            // whole segments as fit, or the first one truncated if none does.
            let from = g.from.ok_or_else(|| {
                Error::invalid(Op::Recv, ErrorKind::InvalidData, "no sender recorded")
            })?;
            let rest = g.len - g.off;
            let whole = buf.len() / g.segment * g.segment;
            let (len, full_len) = if buf.len() >= rest {
                (rest, rest)
            } else if whole > 0 {
                (whole, whole)
            } else {
                (buf.len(), g.segment.min(rest))
            };
            buf[..len].copy_from_slice(&g.data[g.off..g.off + len]);
            if !flags.contains(RecvFlags::PEEK) {
                g.off += full_len;
            }
            let segments = full_len.div_ceil(g.segment);
            let meta = RecvMeta {
                len,
                full_len,
                from,
            };
            return Ok((meta, (segments > 1).then_some(g.segment)));
        }
        let (full_len, from, segment) = sys::offload::recv_segments(&self.sock, buf, bits)
            .map_err(|e| Error::blocking(Op::Recv, e))?;
        let meta = RecvMeta {
            len: full_len.min(buf.len()),
            full_len,
            from: decode(Op::Recv, Ok(from))?,
        };
        Ok((meta, segment))
    }
}

impl UnixDatagram {
    /// A UNIX datagram socket bound to `addr` (a path must not exist yet).
    pub fn bind(addr: &UnixAddr) -> Result<UnixDatagram, Error> {
        let mut s = UnixDatagram::unbound()?;
        DatagramSocket::bind(&mut s, *addr)?;
        Ok(s)
    }

    /// An unbound UNIX datagram socket (it can send; replies need a bound sender).
    pub fn unbound() -> Result<UnixDatagram, Error> {
        let sock = sys::Socket::new(libc::AF_UNIX, libc::SOCK_DGRAM, 0)
            .map_err(|e| Error::os(Op::Socket, e))?;
        Ok(Datagram::from_socket(sock))
    }

    /// Two connected, unnamed UNIX datagram sockets (`socketpair`).
    pub fn pair() -> Result<(UnixDatagram, UnixDatagram), Error> {
        let (a, b) = sys::Socket::pair(libc::AF_UNIX, libc::SOCK_DGRAM)
            .map_err(|e| Error::os(Op::Socket, e))?;
        Ok((Datagram::from_socket(a), Datagram::from_socket(b)))
    }
}

impl<F: Family> ErrorType for Datagram<F> {
    type Error = Error;
}

impl<F: Family> unisock::Socket for Datagram<F> {
    type Addr = F;

    fn local_addr(&self) -> Result<F, Error> {
        decode(Op::LocalAddr, self.sock.local_addr())
    }

    fn set_option(&mut self, option: SockOpt) -> Result<(), Error> {
        options::set(&self.sock, F::DATAGRAM_KIND, option)
    }

    fn option(&self, name: SockOptName) -> Result<SockOpt, Error> {
        options::get(&self.sock, F::DATAGRAM_KIND, name)
    }
}

impl<F: Family> DatagramSocket for Datagram<F> {
    fn bind(&mut self, local: F) -> Result<(), Error> {
        self.sock
            .bind(&local.to_sockaddr())
            .map_err(|e| Error::os(Op::Bind, e).at(local))
    }

    fn connect(&mut self, peer: F) -> Result<(), Error> {
        self.sock
            .connect(&peer.to_sockaddr())
            .map_err(|e| Error::os(Op::Connect, e).at(peer))
    }

    fn peer_addr(&self) -> Result<F, Error> {
        decode(Op::PeerAddr, self.sock.peer_addr())
    }

    #[inline]
    fn send_to(&mut self, buf: &[u8], to: F, flags: SendFlags) -> Result<usize, Error> {
        self.send_inner(buf, to, flags, 0)
    }

    #[inline]
    fn recv_from(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<RecvMeta<F>, Error> {
        self.recv_inner(buf, flags, 0)
    }

    #[inline]
    fn try_send_to(&mut self, buf: &[u8], to: F, flags: SendFlags) -> Result<usize, Error> {
        self.send_inner(buf, to, flags, libc::MSG_DONTWAIT)
    }

    #[inline]
    fn try_recv_from(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<RecvMeta<F>, Error> {
        self.recv_inner(buf, flags, libc::MSG_DONTWAIT)
    }

    /// One `send` to the connected peer (`NotConnected` if there is none).
    #[inline]
    fn send(&mut self, buf: &[u8], flags: SendFlags) -> Result<usize, Error> {
        let bits = send_flags(flags, false)?;
        self.sock
            .send(buf, bits)
            .map_err(|e| Error::blocking(Op::Send, e))
    }

    /// `sendmmsg` in chunks of 64; on UDP, runs of equal-size datagrams to one destination
    /// go as one segmented send each (`UDP_SEGMENT`, see the module docs).
    fn send_batch(&mut self, msgs: &[SendMsg<'_, F>]) -> Result<usize, Error> {
        sys::mmsg::send_batch(&self.sock, msgs, F::DATAGRAM_KIND == Kind::Udp)
    }

    /// `recvmmsg` in chunks of 64. With `UDP_GRO` on (UDP), one `recvmsg` per coalesced
    /// buffer instead, cut into one datagram per slot (see [`UdpSocket::set_gro`]).
    fn recv_batch(&mut self, slots: &mut [RecvSlot<'_, F>]) -> Result<usize, Error> {
        let Some(g) = self.gro.as_deref_mut().filter(|g| g.on || g.pending()) else {
            return sys::mmsg::recv_batch(&self.sock, slots);
        };
        for slot in slots.iter_mut() {
            slot.meta = None;
        }
        let mut filled = 0;
        for slot in slots.iter_mut() {
            if !g.pending() {
                if !g.on {
                    break;
                }
                let bits = libc::MSG_TRUNC | if filled == 0 { 0 } else { libc::MSG_DONTWAIT };
                match g.fill(&self.sock, bits) {
                    Ok(()) => {}
                    Err(e) if filled == 0 => return Err(Error::blocking(Op::Recv, e)),
                    Err(_) => break,
                }
            }
            match g.take(slot.buf, false) {
                Some(meta) => {
                    slot.meta = Some(meta);
                    filled += 1;
                }
                None => break,
            }
        }
        Ok(filled)
    }
}
