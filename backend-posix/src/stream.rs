//! Stream sockets: the unconnected [`TcpSocket`], listeners ([`TcpListener`],
//! [`UnixListener`]) and connected streams ([`TcpStream`], [`UnixStream`]).
//!
//! Streams and listeners are one generic type each ([`Stream`], [`Listener`]) over the endpoint
//! [`Family`]; the four names are aliases. Every read or write is one `recv`/`send` call, with
//! no allocation and no user-space buffer (so [`embedded_io::Write::flush`] has nothing to do).
//!
//! - Blocking calls honour [`SockOpt::ReadTimeout`] / [`SockOpt::WriteTimeout`]
//!   (`SO_RCVTIMEO` / `SO_SNDTIMEO`): when one expires the call fails with `TimedOut`.
//! - A listener's `accept` is one blocking `accept4`, bounded by the read timeout (Linux applies
//!   `SO_RCVTIMEO` to `accept`); `try_accept` switches the descriptor to non-blocking mode
//!   (one `fcntl`, only when the mode changes) and `accept` switches it back, so both forms
//!   work on one descriptor at the cost of a system call only when they alternate. Accepted
//!   streams are blocking and inherit the listener's options (Linux copies them).
//! - After [`Shutdown::Read`], reads return end of stream at once and TCP data that arrives
//!   later is discarded (by the next read), as the trait specifies; on its own Linux would
//!   keep such data readable. (A UNIX-stream peer gets `BrokenPipe` when it writes.)
//! - Dropping a stream closes it (FIN after queued data); [`StreamSocket::abort`] sets
//!   `SO_LINGER` to zero first, so close sends RST.
//! - IPv6 TCP sockets are `IPV6_V6ONLY`: `[::]:p` and `0.0.0.0:p` are separate endpoints and an
//!   IPv6 socket never sees IPv4-mapped peers.
//! - Out-of-band data on UNIX sockets is whatever the kernel does (recent kernels support
//!   `MSG_OOB` on UNIX stream sockets; others fail with `Unsupported`).
//!
//! Not supported: `SO_REUSEPORT`, `TCP_FASTOPEN`, ancillary data (`SCM_RIGHTS`,
//! credentials) on UNIX sockets.

use core::marker::PhantomData;
use core::net::SocketAddr;
use core::sync::atomic::{AtomicU8, Ordering::Relaxed};
use core::time::Duration;

use unisock::{
    Association, Domain, ErrorKind, ErrorType, RecvFlags, SendFlags, Shutdown, SockOpt,
    SockOptName, StreamSocket, UnixAddr, embedded_io,
};

use crate::error::{Error, Op};
use crate::family::{Family, decode};
use crate::flags::{recv_flags, send_flags};
use crate::options::{self, Kind};
use crate::sys::{self, SockAddr};

/// Create an Internet socket of `ty` in `domain`; IPv6 sockets get `IPV6_V6ONLY`.
pub(crate) fn inet_socket(
    domain: Domain,
    ty: libc::c_int,
    protocol: libc::c_int,
) -> Result<sys::Socket, Error> {
    let family = match domain {
        Domain::Ipv4 => libc::AF_INET,
        Domain::Ipv6 => libc::AF_INET6,
        Domain::Unix => {
            return Err(Error::invalid(
                Op::Socket,
                ErrorKind::InvalidInput,
                "UNIX-domain sockets are created with the Unix* types",
            ));
        }
    };
    let sock = sys::Socket::new(family, ty, protocol).map_err(|e| Error::os(Op::Socket, e))?;
    if family == libc::AF_INET6 && ty != libc::SOCK_RAW {
        sock.set_opt(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1 as libc::c_int)
            .map_err(|e| Error::os(Op::SetOption, e))?;
    }
    Ok(sock)
}

/// Refuse remote endpoints no connection can have: the unspecified address, port 0.
fn check_remote(remote: SocketAddr) -> Result<(), Error> {
    let why = if remote.ip().is_unspecified() {
        "cannot connect to the unspecified address"
    } else if remote.port() == 0 {
        "cannot connect to port 0"
    } else {
        return Ok(());
    };
    Err(Error::invalid(Op::Connect, ErrorKind::InvalidInput, why).at(remote))
}

/// An unconnected TCP socket: set options, bind, then [`listen`](unisock::TcpSocket::listen)
/// or [`connect`](unisock::TcpSocket::connect).
#[derive(Debug)]
pub struct TcpSocket {
    pub(crate) sock: sys::Socket,
}

impl TcpSocket {
    /// A new TCP socket of `domain` (`Ipv4` or `Ipv6`; `Unix` is `InvalidInput`).
    pub fn new(domain: Domain) -> Result<TcpSocket, Error> {
        Ok(TcpSocket {
            sock: inet_socket(domain, libc::SOCK_STREAM, 0)?,
        })
    }

    /// A new TCP socket created non-blocking (`SOCK_NONBLOCK`), for the async API: its
    /// connect needs no mode switch. [`TcpSocket::listen_blocking`] and
    /// [`TcpSocket::connect_started`] are its only ways out.
    pub(crate) fn new_nonblocking(domain: Domain) -> Result<TcpSocket, Error> {
        Ok(TcpSocket {
            sock: inet_socket(domain, libc::SOCK_STREAM | libc::SOCK_NONBLOCK, 0)?,
        })
    }

    /// `listen` on a socket of [`TcpSocket::new_nonblocking`]: the listener starts in blocking
    /// mode, as every listener of this crate does (its `try_accept` switches it when needed).
    pub(crate) fn listen_blocking(self, backlog: usize) -> Result<TcpListener, Error> {
        self.sock
            .set_nonblocking(false)
            .map_err(|e| Error::os(Op::Listen, e))?;
        Listener::from_bound(self.sock, backlog)
    }

    /// Start connecting a socket of [`TcpSocket::new_nonblocking`]: one `connect`, no mode
    /// switch; the stream stays non-blocking (the async wrapper restores blocking mode when
    /// the stream leaves it).
    pub(crate) fn connect_started(self, remote: SocketAddr) -> Result<TcpStream, Error> {
        check_remote(remote)?;
        self.sock
            .connect_in_progress(&SockAddr::from_inet(&remote))
            .map_err(|e| Error::os(Op::Connect, e).at(remote))?;
        Ok(Stream::from_socket(self.sock))
    }
}

impl ErrorType for TcpSocket {
    type Error = Error;
}

impl unisock::Socket for TcpSocket {
    type Addr = SocketAddr;

    fn local_addr(&self) -> Result<SocketAddr, Error> {
        decode(Op::LocalAddr, self.sock.local_addr())
    }

    fn set_option(&mut self, option: SockOpt) -> Result<(), Error> {
        options::set(&self.sock, Kind::Tcp, option)
    }

    fn option(&self, name: SockOptName) -> Result<SockOpt, Error> {
        options::get(&self.sock, Kind::Tcp, name)
    }
}

impl unisock::TcpSocket for TcpSocket {
    type Stream = TcpStream;
    type Listener = TcpListener;

    fn bind(&mut self, local: SocketAddr) -> Result<(), Error> {
        self.sock
            .bind(&SockAddr::from_inet(&local))
            .map_err(|e| Error::os(Op::Bind, e).at(local))
    }

    fn listen(self, backlog: usize) -> Result<TcpListener, Error> {
        Listener::from_bound(self.sock, backlog)
    }

    /// Connect; an unspecified remote address (`0.0.0.0`, `::`) or port 0 is `InvalidInput`
    /// (Linux would route the first to this host and refuse the second).
    fn connect(self, remote: SocketAddr) -> Result<TcpStream, Error> {
        check_remote(remote)?;
        self.sock
            .connect(&SockAddr::from_inet(&remote))
            .map_err(|e| Error::blocking(Op::Connect, e).at(remote))?;
        Ok(Stream::from_socket(self.sock))
    }

    /// Non-blocking connect: `EINPROGRESS` is success, the handshake goes on in the kernel,
    /// and the descriptor is blocking again for later calls (which wait for the handshake).
    fn connect_nonblocking(self, remote: SocketAddr) -> Result<TcpStream, Error> {
        check_remote(remote)?;
        self.sock
            .start_connect(&SockAddr::from_inet(&remote))
            .map_err(|e| Error::os(Op::Connect, e).at(remote))?;
        Ok(Stream::from_socket(self.sock))
    }

    fn connect_timeout(self, remote: SocketAddr, timeout: Duration) -> Result<TcpStream, Error> {
        check_remote(remote)?;
        if timeout.is_zero() {
            return Err(Error::invalid(
                Op::Connect,
                ErrorKind::InvalidInput,
                "a zero connect timeout is not allowed",
            )
            .at(remote));
        }
        self.sock
            .connect_timeout(&SockAddr::from_inet(&remote), timeout)
            .map_err(|e| Error::blocking(Op::Connect, e).at(remote))?;
        Ok(Stream::from_socket(self.sock))
    }
}

/// A connected stream socket of endpoint family `F`: [`TcpStream`] or [`UnixStream`].
#[derive(Debug)]
pub struct Stream<F: Family> {
    pub(crate) sock: sys::Socket,
    /// Directions already shut down (`SHUT_RD` = bit 0, `SHUT_WR` = bit 1), so that shutting
    /// one down again succeeds even after the connection has closed (Linux says `ENOTCONN`).
    /// Atomic so that a shared reference can shut down (an async write half).
    shut: AtomicU8,
    _family: PhantomData<F>,
}

const SHUT_READ: u8 = 1;
const SHUT_WRITE: u8 = 2;

/// A connected TCP stream.
pub type TcpStream = Stream<SocketAddr>;
/// A connected UNIX-domain stream (`AF_UNIX`, `SOCK_STREAM`).
pub type UnixStream = Stream<UnixAddr>;

impl<F: Family> Stream<F> {
    pub(crate) fn from_socket(sock: sys::Socket) -> Self {
        Stream {
            sock,
            shut: AtomicU8::new(0),
            _family: PhantomData,
        }
    }

    #[inline]
    fn recv_with(&self, buf: &mut [u8], bits: libc::c_int, blocking: bool) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.shut.load(Relaxed) & SHUT_READ != 0 {
            return Ok(self.read_after_shutdown());
        }
        self.sock.recv(buf, bits).map_err(|e| {
            if blocking {
                Error::blocking(Op::Recv, e)
            } else {
                Error::os(Op::Recv, e)
            }
        })
    }

    /// After `shutdown(Read)` every read is end of stream, and data that arrives is
    /// discarded (Linux would otherwise keep TCP data arriving later readable).
    #[cold]
    fn read_after_shutdown(&self) -> usize {
        if F::STREAM_KIND == Kind::Tcp {
            self.sock.discard_received();
        }
        0
    }

    #[inline]
    fn send_with(&self, buf: &[u8], bits: libc::c_int, blocking: bool) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.sock.send(buf, bits).map_err(|e| {
            if blocking {
                Error::blocking(Op::Send, e)
            } else {
                Error::os(Op::Send, e)
            }
        })
    }

    /// Non-blocking `recv` through a shared reference (the async read half).
    pub(crate) fn try_recv_shared(&self, buf: &mut [u8], flags: RecvFlags) -> Result<usize, Error> {
        self.recv_with(buf, recv_flags(flags, true)? | libc::MSG_DONTWAIT, false)
    }

    /// Non-blocking `send` through a shared reference (the async write half).
    pub(crate) fn try_send_shared(&self, buf: &[u8], flags: SendFlags) -> Result<usize, Error> {
        self.send_with(buf, send_flags(flags, true)? | libc::MSG_DONTWAIT, false)
    }

    /// Non-blocking plain `recv` into possibly uninitialised memory, through a shared
    /// reference (tokio's `poll_read`, whose `ReadBuf` would otherwise have to be zeroed
    /// first). As [`try_recv_shared`](Stream::try_recv_shared) with no flags.
    #[cfg(feature = "tokio")]
    pub(crate) fn try_recv_uninit_shared(
        &self,
        buf: &mut [core::mem::MaybeUninit<u8>],
    ) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.shut.load(Relaxed) & SHUT_READ != 0 {
            return Ok(self.read_after_shutdown());
        }
        self.sock
            .recv_uninit(buf, libc::MSG_DONTWAIT)
            .map_err(|e| Error::os(Op::Recv, e))
    }

    /// Non-blocking gathered `send` (`sendmsg`) through a shared reference: the async
    /// streams' `poll_write_vectored`.
    #[cfg(any(feature = "tokio", feature = "futures-io"))]
    pub(crate) fn try_send_vectored_shared(
        &self,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Result<usize, Error> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Ok(0);
        }
        self.sock
            .send_vectored(bufs, libc::MSG_DONTWAIT)
            .map_err(|e| Error::os(Op::Send, e))
    }

    /// `shutdown` through a shared reference (the trait's `shutdown`, and the async write
    /// half's). Shutting down a direction that this stream already shut down succeeds, even
    /// once the connection has fully closed.
    pub(crate) fn shutdown_shared(&self, how: Shutdown) -> Result<(), Error> {
        let (how, bits) = match how {
            Shutdown::Read => (libc::SHUT_RD, SHUT_READ),
            Shutdown::Write => (libc::SHUT_WR, SHUT_WRITE),
            Shutdown::Both => (libc::SHUT_RDWR, SHUT_READ | SHUT_WRITE),
        };
        match self.sock.shutdown(how) {
            Ok(()) => {
                self.shut.fetch_or(bits, Relaxed);
                Ok(())
            }
            Err(libc::ENOTCONN) if bits & !self.shut.load(Relaxed) == 0 => Ok(()),
            Err(e) => Err(Error::os(Op::Shutdown, e)),
        }
    }

    /// Where a non-blocking connect stands: `WouldBlock` while the handshake goes on, then
    /// `Ok` or the error it failed with (`SO_ERROR`).
    pub(crate) fn connect_status(&self) -> Result<(), Error> {
        if !self.ready(libc::POLLOUT)? {
            return Err(Error::os(Op::Connect, libc::EAGAIN));
        }
        self.sock
            .take_error()
            .map_err(|e| Error::os(Op::Connect, e))
    }

    fn ready(&self, events: libc::c_short) -> Result<bool, Error> {
        self.sock
            .poll(events, Some(Duration::ZERO))
            .map(|revents| revents != 0)
            .map_err(|e| Error::os(Op::Poll, e))
    }
}

impl TcpStream {
    /// Connect to `remote` (a new socket of its family, bound to an ephemeral port).
    pub fn connect(remote: SocketAddr) -> Result<TcpStream, Error> {
        unisock::TcpSocket::connect(TcpSocket::new(Domain::of(&remote))?, remote)
    }

    /// As [`TcpStream::connect`], failing with `TimedOut` after `timeout`.
    pub fn connect_timeout(remote: SocketAddr, timeout: Duration) -> Result<TcpStream, Error> {
        unisock::TcpSocket::connect_timeout(TcpSocket::new(Domain::of(&remote))?, remote, timeout)
    }
}

impl UnixStream {
    /// Connect to a UNIX-domain listener at `addr` (path or abstract name).
    pub fn connect(addr: &UnixAddr) -> Result<UnixStream, Error> {
        let sock = sys::Socket::new(libc::AF_UNIX, libc::SOCK_STREAM, 0)
            .map_err(|e| Error::os(Op::Socket, e))?;
        sock.connect(&SockAddr::from_unix(addr))
            .map_err(|e| Error::blocking(Op::Connect, e).at(*addr))?;
        Ok(Stream::from_socket(sock))
    }

    /// Two connected, unnamed UNIX streams (`socketpair`).
    pub fn pair() -> Result<(UnixStream, UnixStream), Error> {
        let (a, b) = sys::Socket::pair(libc::AF_UNIX, libc::SOCK_STREAM)
            .map_err(|e| Error::os(Op::Socket, e))?;
        Ok((Stream::from_socket(a), Stream::from_socket(b)))
    }
}

impl<F: Family> ErrorType for Stream<F> {
    type Error = Error;
}

impl<F: Family> unisock::Socket for Stream<F> {
    type Addr = F;

    fn local_addr(&self) -> Result<F, Error> {
        decode(Op::LocalAddr, self.sock.local_addr())
    }

    fn set_option(&mut self, option: SockOpt) -> Result<(), Error> {
        options::set(&self.sock, F::STREAM_KIND, option)
    }

    fn option(&self, name: SockOptName) -> Result<SockOpt, Error> {
        options::get(&self.sock, F::STREAM_KIND, name)
    }
}

impl<F: Family> embedded_io::Read for Stream<F> {
    /// One `recv`: blocks until at least one byte; `Ok(0)` at end of stream or for an empty
    /// buffer.
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.recv_with(buf, 0, true)
    }
}

impl<F: Family> embedded_io::Write for Stream<F> {
    /// One `send`: blocks until at least one byte is queued; `Ok(0)` only for an empty buffer.
    #[inline]
    fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        self.send_with(buf, 0, true)
    }

    /// Nothing is buffered in user space, so this does nothing.
    #[inline]
    fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

impl<F: Family> embedded_io::ReadReady for Stream<F> {
    /// `poll(POLLIN)` with zero timeout: true if a read would not block (data, end of stream
    /// or a pending error).
    fn read_ready(&mut self) -> Result<bool, Error> {
        self.ready(libc::POLLIN)
    }
}

impl<F: Family> embedded_io::WriteReady for Stream<F> {
    /// `poll(POLLOUT)` with zero timeout: true if a write would not block.
    fn write_ready(&mut self) -> Result<bool, Error> {
        self.ready(libc::POLLOUT)
    }
}

impl<F: Family> StreamSocket for Stream<F> {
    fn peer_addr(&self) -> Result<F, Error> {
        decode(Op::PeerAddr, self.sock.peer_addr())
    }

    fn association(&self) -> Result<Association<F>, Error> {
        Ok(Association::new(
            F::STREAM_PROTOCOL,
            unisock::Socket::local_addr(self)?,
            self.peer_addr()?,
        ))
    }

    #[inline]
    fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize, Error> {
        self.recv_with(buf, recv_flags(flags, true)?, true)
    }

    #[inline]
    fn send(&mut self, buf: &[u8], flags: SendFlags) -> Result<usize, Error> {
        self.send_with(buf, send_flags(flags, true)?, true)
    }

    #[inline]
    fn try_recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize, Error> {
        self.recv_with(buf, recv_flags(flags, true)? | libc::MSG_DONTWAIT, false)
    }

    #[inline]
    fn try_send(&mut self, buf: &[u8], flags: SendFlags) -> Result<usize, Error> {
        self.send_with(buf, send_flags(flags, true)? | libc::MSG_DONTWAIT, false)
    }

    /// `shutdown`. Shutting down a direction that this stream already shut down succeeds,
    /// even once the connection has fully closed.
    fn shutdown(&mut self, how: Shutdown) -> Result<(), Error> {
        self.shutdown_shared(how)
    }

    /// `SO_LINGER {1, 0}`, then close: the kernel discards queued data and sends RST (on a
    /// UNIX stream the peer sees `ECONNRESET` if it had unread data, else end of stream).
    fn abort(self) -> Result<(), Error> {
        let zero = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        let r = self
            .sock
            .set_opt(libc::SOL_SOCKET, libc::SO_LINGER, zero)
            .map_err(|e| Error::os(Op::Close, e));
        drop(self);
        r
    }
}

/// A listening stream socket of endpoint family `F`: [`TcpListener`] or [`UnixListener`].
#[derive(Debug)]
pub struct Listener<F: Family> {
    pub(crate) sock: sys::Socket,
    /// Whether the descriptor is in non-blocking mode now (set by `try_accept`).
    nonblocking: bool,
    _family: PhantomData<F>,
}

/// A listening TCP socket.
pub type TcpListener = Listener<SocketAddr>;
/// A listening UNIX-domain stream socket.
pub type UnixListener = Listener<UnixAddr>;

impl<F: Family> Listener<F> {
    /// `listen` on a (bound or unbound) socket.
    fn from_bound(sock: sys::Socket, backlog: usize) -> Result<Self, Error> {
        sock.listen(backlog).map_err(|e| Error::os(Op::Listen, e))?;
        Ok(Listener {
            sock,
            nonblocking: false,
            _family: PhantomData,
        })
    }

    /// Wrap a descriptor already listening, in blocking mode (see the module docs).
    pub(crate) fn from_listening(sock: sys::Socket) -> Self {
        // F_GETFL/F_SETFL only fail for a descriptor that is not open, which an owned
        // descriptor always is.
        let _ = sock.set_nonblocking(false);
        Listener {
            sock,
            nonblocking: false,
            _family: PhantomData,
        }
    }

    /// Put the descriptor in (non-)blocking mode if it is not already.
    fn set_mode(&mut self, nonblocking: bool) -> Result<(), Error> {
        if self.nonblocking != nonblocking {
            self.sock
                .set_nonblocking(nonblocking)
                .map_err(|e| Error::os(Op::Accept, e))?;
            self.nonblocking = nonblocking;
        }
        Ok(())
    }

    #[inline]
    fn accept_once(&self) -> sys::Result<(Stream<F>, SockAddr)> {
        let (sock, addr) = self.sock.accept()?;
        Ok((Stream::from_socket(sock), addr))
    }

    fn finish(op: Op, r: (Stream<F>, SockAddr)) -> Result<(Stream<F>, F), Error> {
        let peer = decode(op, Ok(r.1))?;
        Ok((r.0, peer))
    }
}

impl TcpListener {
    /// Bind to `local` with `SO_REUSEADDR` (as `std::net` does) and listen with `backlog` (0
    /// is taken as 1).
    pub fn bind(local: SocketAddr, backlog: usize) -> Result<TcpListener, Error> {
        let mut socket = TcpSocket::new(Domain::of(&local))?;
        unisock::Socket::set_option(&mut socket, SockOpt::ReuseAddr(true))?;
        unisock::TcpSocket::bind(&mut socket, local)?;
        unisock::TcpSocket::listen(socket, backlog)
    }
}

impl UnixListener {
    /// Bind a UNIX-domain stream socket to `addr` and listen with `backlog` (0 is taken as 1).
    /// A path must not exist yet (`AddrInUse` otherwise); remove it after use.
    pub fn bind(addr: &UnixAddr, backlog: usize) -> Result<UnixListener, Error> {
        let sock = sys::Socket::new(libc::AF_UNIX, libc::SOCK_STREAM, 0)
            .map_err(|e| Error::os(Op::Socket, e))?;
        sock.bind(&SockAddr::from_unix(addr))
            .map_err(|e| Error::os(Op::Bind, e).at(*addr))?;
        Listener::from_bound(sock, backlog)
    }
}

impl<F: Family> ErrorType for Listener<F> {
    type Error = Error;
}

impl<F: Family> unisock::Socket for Listener<F> {
    type Addr = F;

    fn local_addr(&self) -> Result<F, Error> {
        decode(Op::LocalAddr, self.sock.local_addr())
    }

    fn set_option(&mut self, option: SockOpt) -> Result<(), Error> {
        options::set(&self.sock, F::STREAM_KIND, option)
    }

    fn option(&self, name: SockOptName) -> Result<SockOpt, Error> {
        options::get(&self.sock, F::STREAM_KIND, name)
    }
}

impl<F: Family> unisock::StreamListener for Listener<F> {
    type Stream = Stream<F>;

    /// One blocking `accept4`; the kernel bounds it by `SO_RCVTIMEO` (`EAGAIN` then means
    /// the read timeout expired: `TimedOut`).
    fn accept(&mut self) -> Result<(Stream<F>, F), Error> {
        self.set_mode(false)?;
        let r = self
            .accept_once()
            .map_err(|e| Error::blocking(Op::Accept, e))?;
        Self::finish(Op::Accept, r)
    }

    fn try_accept(&mut self) -> Result<(Stream<F>, F), Error> {
        self.set_mode(true)?;
        let r = self.accept_once().map_err(|e| Error::os(Op::Accept, e))?;
        Self::finish(Op::Accept, r)
    }
}
