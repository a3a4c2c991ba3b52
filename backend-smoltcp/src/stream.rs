//! TCP: unconnected sockets and connected streams (listeners and their accept queue:
//! `listener.rs`).
//!
//! **Errors.** A connect answered by RST (SYN-SENT -> CLOSED) is `ConnectionRefused`; an
//! established connection closed by a received RST is `ConnectionReset`; a local abort is
//! `ConnectionAborted`; writing after our `shutdown(Write)` is `BrokenPipe`. A connection
//! smoltcp gives up on by itself (retransmission or keep-alive timeout: it closes while
//! transmitting, not on a received segment) is `TimedOut`. With `KeepAlive(Some(idle))` the
//! peer is declared dead after [`KEEPALIVE_PROBES`]` * idle` of silence.
//!
//! **Flags and options.** `PEEK` and `WAITALL` work; `OOB` is `Unsupported`; `DONTROUTE`
//! fails with `NetworkUnreachable` when the peer is not on-link. `NoDelay` maps to smoltcp's
//! Nagle switch, `KeepAlive` to its keep-alive interval, `Ttl` to the hop limit, `Linger`
//! as in BSD (`Some(0)`: drop resets; `Some(t)`: drop waits up to `t` for the data to be
//! acknowledged). Buffer sizes are readable; setting them is `Unsupported` (they come from the
//! pool, [`PoolConfig`](crate::PoolConfig)). Listeners pass nothing on to accepted streams.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::time::Duration;

use smoltcp::phy::Device;
use smoltcp::socket::tcp;
use smoltcp::wire::{IpEndpoint, IpListenEndpoint};
use unisock::{
    Association, Domain, ErrorKind, Protocol, RecvFlags, SendFlags, Shutdown, SockOpt, SockOptName,
};

use crate::addr::ep_to_std;
use crate::clock::{Clock, to_smol};
use crate::drive::Limit;
use crate::error::{Error, Result};
use crate::listener::{MAX_BACKLOG, TcpListener};
use crate::slot::{CloseCause, Handle, Kind, Slot, timeout_value};
use crate::stack::{CONNECT_TIMEOUT, Inner, Stack};
use crate::wait::Wait;
use crate::wake::Dir;

/// With [`SockOpt::KeepAlive`]`(Some(idle))`, a connection is given up (`TimedOut`) after
/// `KEEPALIVE_PROBES * idle` without hearing from the peer.
pub const KEEPALIVE_PROBES: u32 = 4;

fn unspecified(domain: Domain) -> SocketAddr {
    match domain {
        Domain::Ipv6 => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
        _ => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
    }
}

fn domain_of(slot: &Slot) -> Domain {
    if slot.v6 { Domain::Ipv6 } else { Domain::Ipv4 }
}

pub(crate) fn listen_ep(local: SocketAddr) -> IpListenEndpoint {
    IpListenEndpoint {
        addr: if local.ip().is_unspecified() {
            None
        } else {
            // The socket's family was checked at bind: an IPv6 address only reaches here
            // with the `proto-ipv6` feature.
            crate::addr::smol_ip(local.ip()).ok()
        },
        port: local.port(),
    }
}

/// Apply a socket option common to TCP sockets.
pub(crate) fn set_tcp_option(
    slot: &mut Slot,
    s: &mut tcp::Socket<'_>,
    option: SockOpt,
) -> Result<()> {
    match option {
        SockOpt::NoDelay(v) => {
            slot.opts.nodelay = v;
            s.set_nagle_enabled(!v);
        }
        SockOpt::KeepAlive(v) => {
            if v.is_some_and(|d| d.is_zero()) {
                return Err(Error::invalid("keep-alive interval must be non-zero"));
            }
            slot.opts.keepalive = v;
            s.set_keep_alive(v.map(to_smol));
            // smoltcp gives up only with a timeout; without one a dead peer is never noticed.
            // Idle connections with keep-alive stay fresh (the probes are acknowledged).
            s.set_timeout(v.map(|idle| to_smol(idle.saturating_mul(KEEPALIVE_PROBES))));
        }
        SockOpt::Ttl(v) => {
            if v == 0 {
                return Err(Error::invalid("TTL must be at least 1"));
            }
            slot.opts.ttl = Some(v);
            s.set_hop_limit(Some(v));
        }
        SockOpt::Linger(v) => slot.opts.linger = v,
        SockOpt::ReuseAddr(v) => slot.opts.reuse_addr = v,
        SockOpt::ReadTimeout(v) => {
            slot.opts.read_timeout = timeout_value(v)?;
        }
        SockOpt::WriteTimeout(v) => {
            slot.opts.write_timeout = timeout_value(v)?;
        }
        SockOpt::RecvBufferSize(_) | SockOpt::SendBufferSize(_) => {
            return Err(Error::unsupported(
                "smoltcp buffer sizes are fixed by the pool (PoolConfig)",
            ));
        }
    }
    Ok(())
}

pub(crate) fn tcp_option(slot: &Slot, s: &tcp::Socket<'_>, name: SockOptName) -> SockOpt {
    match name {
        SockOptName::NoDelay => SockOpt::NoDelay(!s.nagle_enabled()),
        SockOptName::KeepAlive => SockOpt::KeepAlive(slot.opts.keepalive),
        SockOptName::Ttl => SockOpt::Ttl(s.hop_limit().unwrap_or(64)),
        SockOptName::Linger => SockOpt::Linger(slot.opts.linger),
        SockOptName::ReuseAddr => SockOpt::ReuseAddr(slot.opts.reuse_addr),
        SockOptName::RecvBufferSize => SockOpt::RecvBufferSize(s.recv_capacity()),
        SockOptName::SendBufferSize => SockOpt::SendBufferSize(s.send_capacity()),
        SockOptName::ReadTimeout => SockOpt::ReadTimeout(slot.opts.read_timeout),
        SockOptName::WriteTimeout => SockOpt::WriteTimeout(slot.opts.write_timeout),
    }
}

/// An unconnected TCP socket (created by `tcp_socket`): bind, set options, then listen or
/// connect. Holds one pool socket.
pub struct TcpSocket<'s, 'a, D: Device, C: Clock, W: Wait> {
    stack: &'s Stack<'a, D, C, W>,
    handle: Handle,
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> TcpSocket<'s, 'a, D, C, W> {
    pub(crate) fn open(stack: &'s Stack<'a, D, C, W>, domain: Domain) -> Result<Self> {
        crate::addr::check_domain(domain, "smoltcp has no UNIX-domain sockets")?;
        let handle = stack.with(|g, now| {
            let h = g.alloc(Kind::Tcp, now)?;
            g.slot(h)?.v6 = domain == Domain::Ipv6;
            Ok(h)
        })?;
        Ok(TcpSocket { stack, handle })
    }

    /// This socket's generation-checked handle.
    pub fn handle(&self) -> Handle {
        self.handle
    }

    fn into_handle(self) -> Handle {
        let h = self.handle;
        core::mem::forget(self);
        h
    }

    fn start_connect(&self, remote: SocketAddr) -> Result<()> {
        self.start_connect_in(remote).map_err(|e| e.at(remote))
    }

    fn start_connect_in(&self, remote: SocketAddr) -> Result<()> {
        self.stack.with(|g, _now| {
            let local_bound = {
                let slot = g.slot(self.handle)?;
                if !domain_of(slot).contains(&remote) {
                    return Err(Error::invalid(
                        "connect: address family differs from the socket's",
                    ));
                }
                slot.local
            };
            if remote.port() == 0 || remote.ip().is_unspecified() {
                return Err(Error::invalid(
                    "connect: remote port 0 or unspecified address",
                ));
            }
            g.check_route(&remote.ip(), false)?;
            let local_ip = match local_bound {
                Some(l) if !l.ip().is_unspecified() => l.ip(),
                _ => g.source_for(&remote.ip())?,
            };
            let port = match local_bound {
                Some(l) if l.port() != 0 => l.port(),
                _ => g.ephemeral_tcp()?,
            };
            let local = SocketAddr::new(local_ip, port);
            let remote_ep = IpEndpoint::new(crate::addr::smol_ip(remote.ip())?, remote.port());
            let local_ep = IpListenEndpoint {
                addr: Some(crate::addr::smol_ip(local_ip)?),
                port,
            };
            let cx_ok = {
                let iface = &mut g.iface;
                let cx = iface.context();
                let sh = g
                    .slots
                    .get(usize::from(self.handle.index))
                    .and_then(|s| s.handle)
                    .ok_or(Error::stale())?;
                g.sockets
                    .get_mut::<tcp::Socket>(sh)
                    .connect(cx, remote_ep, local_ep)
            };
            cx_ok.map_err(|e| match e {
                tcp::ConnectError::InvalidState => Error::new(
                    ErrorKind::AlreadyConnected,
                    "connect: socket is already connected",
                ),
                tcp::ConnectError::Unaddressable => {
                    Error::invalid("connect: smoltcp rejected the endpoints")
                }
            })?;
            let slot = g.slot(self.handle)?;
            slot.local = Some(local);
            slot.peer = Some(remote);
            slot.closed_by = None;
            Ok(())
        })
    }

    /// Start connecting to `remote` and return the stream at once, without waiting for the
    /// handshake (non-blocking `connect`, for the superloop). While the handshake runs, the
    /// stream's `try_*` calls fail with `WouldBlock`; [`TcpStream::is_connected`] tells when
    /// it is established; a refused connection then fails with `ConnectionRefused`.
    pub fn connect_nonblocking(self, remote: SocketAddr) -> Result<TcpStream<'s, 'a, D, C, W>> {
        self.start_connect(remote)?;
        Ok(TcpStream {
            stack: self.stack,
            handle: self.into_handle(),
        })
    }

    fn finish_connect(self, timeout: Duration) -> Result<TcpStream<'s, 'a, D, C, W>> {
        let h = self.handle;
        let remote = self.stack.with(|g, _| Ok(g.slot(h)?.peer)).ok().flatten();
        let r = self.stack.block(
            Limit::Fixed(Some(timeout)),
            "connect: not established in time",
            |g, w| g.register(h, Dir::Send, w),
            |g, _| {
                let (slot, s) = g.tcp(h)?;
                match s.state() {
                    tcp::State::SynSent | tcp::State::SynReceived => Err(Error::would_block()),
                    tcp::State::Closed => Err(closed_error(slot)),
                    _ => {
                        slot.established = true;
                        Ok(())
                    }
                }
            },
        );
        match r {
            Ok(()) => Ok(TcpStream {
                stack: self.stack,
                handle: self.into_handle(),
            }),
            Err(e) => {
                if e.kind() == ErrorKind::TimedOut {
                    let _ = self.stack.with(|g, _| {
                        g.tcp(h)?.1.abort();
                        Ok(())
                    });
                }
                Err(match remote {
                    Some(r) => e.at(r),
                    None => e,
                })
            }
        }
    }
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> TcpSocket<'s, 'a, D, C, W> {
    /// Async connect: start it, then wait (on the socket's send waker: smoltcp wakes both
    /// directions on a state change) until established or failed. No timeout (bound it with
    /// the executor's timer); a dropped future drops `self`, which closes the socket.
    pub(crate) async fn connect_async(
        self,
        remote: SocketAddr,
    ) -> Result<TcpStream<'s, 'a, D, C, W>> {
        {
            self.start_connect(remote)?;
            let h = self.handle;
            core::future::poll_fn(|cx| {
                self.stack.poll_op(
                    cx,
                    |g, w| g.register(h, Dir::Send, w),
                    |g, _| {
                        let (slot, s) = g.tcp(h)?;
                        match s.state() {
                            tcp::State::SynSent | tcp::State::SynReceived => {
                                Err(Error::would_block())
                            }
                            tcp::State::Closed => Err(closed_error(slot)),
                            _ => {
                                slot.established = true;
                                Ok(())
                            }
                        }
                    },
                )
            })
            .await
            .map_err(|e| e.at(remote))?;
            Ok(TcpStream {
                stack: self.stack,
                handle: self.into_handle(),
            })
        }
    }
}

impl<D: Device, C: Clock, W: Wait> Drop for TcpSocket<'_, '_, D, C, W> {
    fn drop(&mut self) {
        let h = self.handle;
        let _ = self.stack.with(|g, now| {
            g.release_tcp(h, true, now);
            Ok(())
        });
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::ErrorType for TcpSocket<'_, '_, D, C, W> {
    type Error = Error;
}

impl<D: Device, C: Clock, W: Wait> unisock::Socket for TcpSocket<'_, '_, D, C, W> {
    type Addr = SocketAddr;

    fn local_addr(&self) -> Result<SocketAddr> {
        self.stack.with(|g, _| {
            let slot = g.slot(self.handle)?;
            Ok(slot.local.unwrap_or(unspecified(domain_of(slot))))
        })
    }

    fn set_option(&mut self, option: SockOpt) -> Result<()> {
        self.stack.with(|g, _| {
            let (slot, s) = g.tcp(self.handle)?;
            set_tcp_option(slot, s, option)
        })
    }

    fn option(&self, name: SockOptName) -> Result<SockOpt> {
        self.stack.with(|g, _| {
            let (slot, s) = g.tcp(self.handle)?;
            Ok(tcp_option(slot, s, name))
        })
    }
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> unisock::TcpSocket for TcpSocket<'s, 'a, D, C, W> {
    type Stream = TcpStream<'s, 'a, D, C, W>;
    type Listener = TcpListener<'s, 'a, D, C, W>;

    fn bind(&mut self, local: SocketAddr) -> Result<()> {
        self.bind_in(local).map_err(|e| e.at(local))
    }

    fn listen(self, backlog: usize) -> Result<TcpListener<'s, 'a, D, C, W>> {
        self.listen_in(backlog)
    }

    fn connect(self, remote: SocketAddr) -> Result<TcpStream<'s, 'a, D, C, W>> {
        self.start_connect(remote)?;
        self.finish_connect(CONNECT_TIMEOUT)
    }

    fn connect_nonblocking(self, remote: SocketAddr) -> Result<Self::Stream> {
        TcpSocket::connect_nonblocking(self, remote)
    }

    fn connect_timeout(
        self,
        remote: SocketAddr,
        timeout: Duration,
    ) -> Result<TcpStream<'s, 'a, D, C, W>> {
        if timeout.is_zero() {
            return Err(Error::invalid("connect: zero timeout").at(remote));
        }
        self.start_connect(remote)?;
        self.finish_connect(timeout)
    }
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> TcpSocket<'s, 'a, D, C, W> {
    fn bind_in(&mut self, local: SocketAddr) -> Result<()> {
        self.stack.with(|g, _| {
            let (reuse, bound, dom) = {
                let slot = g.slot(self.handle)?;
                (slot.opts.reuse_addr, slot.local.is_some(), domain_of(slot))
            };
            if bound {
                return Err(Error::invalid("bind: socket is already bound"));
            }
            if !dom.contains(&local) {
                return Err(Error::invalid(
                    "bind: address family differs from the socket's",
                ));
            }
            g.check_bind_addr(&local.ip())?;
            let port = if local.port() == 0 {
                g.ephemeral_tcp()?
            } else {
                g.check_tcp_bind(local, reuse, self.handle.index)?;
                local.port()
            };
            g.slot(self.handle)?.local = Some(SocketAddr::new(local.ip(), port));
            Ok(())
        })
    }

    fn listen_in(self, backlog: usize) -> Result<TcpListener<'s, 'a, D, C, W>> {
        let backlog = backlog.clamp(1, MAX_BACKLOG);
        let id = self.stack.with(|g, now| {
            let (bound, dom) = {
                let slot = g.slot(self.handle)?;
                (slot.local, domain_of(slot))
            };
            let local = match bound {
                Some(l) => l,
                None => {
                    let p = g.ephemeral_tcp()?;
                    let l = SocketAddr::new(unspecified(dom).ip(), p);
                    g.slot(self.handle)?.local = Some(l);
                    l
                }
            };
            if g.listener_on(local.ip(), local.port(), self.handle.index) {
                return Err(Error::new(
                    ErrorKind::AddrInUse,
                    "listen: another socket listens on this endpoint",
                )
                .at(local));
            }
            let id = g.new_listener_id();
            let (slot, s) = g.tcp(self.handle)?;
            s.listen(listen_ep(local)).map_err(|_| {
                Error::new(ErrorKind::AlreadyConnected, "listen: socket is not closed")
            })?;
            slot.listener = id;
            let _ = now;
            Ok((id, local))
        })?;
        let (id, local) = id;
        let mut listener = TcpListener {
            stack: self.stack,
            armed: heapless::Vec::new(),
            id,
            stack_id: self.handle.stack,
            local,
            backlog,
            v6: local.is_ipv6(),
            read_timeout: None,
        };
        let first = self.into_handle();
        // Capacity is MAX_BACKLOG >= 1.
        let _ = listener.armed.push(first);
        listener.stack.with(|g, now| {
            listener.top_up(g, now);
            Ok(())
        })?;
        Ok(listener)
    }
}

impl<D: Device, C: Clock, W: Wait> core::fmt::Debug for TcpSocket<'_, '_, D, C, W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpSocket")
            .field("handle", &self.handle)
            .finish()
    }
}

/// A connected TCP stream. Dropping it closes gracefully (FIN after queued data; RST with
/// `Linger(Some(0))`); the pool socket returns to the pool once the connection is finished.
pub struct TcpStream<'s, 'a, D: Device, C: Clock, W: Wait> {
    pub(crate) stack: &'s Stack<'a, D, C, W>,
    pub(crate) handle: Handle,
}

impl<D: Device, C: Clock, W: Wait> core::fmt::Debug for TcpStream<'_, '_, D, C, W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpStream")
            .field("handle", &self.handle)
            .finish()
    }
}

pub(crate) fn closed_error(slot: &Slot) -> Error {
    let e = if slot.aborted {
        Error::new(
            ErrorKind::ConnectionAborted,
            "tcp: the stream was aborted locally",
        )
    } else if slot.closed_by == Some(CloseCause::Timer) {
        Error::new(
            ErrorKind::TimedOut,
            "tcp: the retransmission or keep-alive timer gave up",
        )
    } else if !slot.established {
        Error::new(
            ErrorKind::ConnectionRefused,
            "connect: RST answered our SYN",
        )
    } else {
        Error::new(ErrorKind::ConnectionReset, "tcp: the peer sent RST")
    };
    match slot.peer {
        Some(peer) => e.at(peer),
        None => e,
    }
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> TcpStream<'s, 'a, D, C, W> {
    /// This stream's generation-checked handle.
    pub fn handle(&self) -> Handle {
        self.handle
    }

    /// The smoltcp TCP state.
    pub fn state(&self) -> Result<tcp::State> {
        self.stack.with(|g, _| Ok(g.tcp(self.handle)?.1.state()))
    }

    /// Whether the handshake has completed (always true for streams from `connect` and
    /// `accept`; see [`TcpSocket::connect_nonblocking`]). Fails with `ConnectionRefused` if
    /// the connection attempt was refused.
    pub fn is_connected(&self) -> Result<bool> {
        self.stack.with(|g, _| {
            let (slot, s) = g.tcp(self.handle)?;
            slot.note_state(s.state());
            match s.state() {
                tcp::State::SynSent | tcp::State::SynReceived => Ok(false),
                tcp::State::Closed if !slot.established => Err(closed_error(slot)),
                _ => Ok(true),
            }
        })
    }

    fn try_recv_in(g: &mut Inner<'a, D>, h: Handle, buf: &mut [u8], peek: bool) -> Result<usize> {
        let (slot, s) = g.tcp(h)?;
        slot.note_state(s.state());
        if slot.shut_rd || buf.is_empty() {
            return Ok(0);
        }
        let r = if peek {
            // smoltcp's `peek_slice` skips the state check `recv_slice` makes, so a peek at end
            // of stream or on a closed connection would look like "no data yet": ask
            // `recv_slice` first with an empty buffer (it consumes nothing).
            s.recv_slice(&mut []).and_then(|_| s.peek_slice(buf))
        } else {
            crate::copy::recv_into(s, buf)
        };
        match r {
            Ok(0) => Err(Error::would_block()),
            Ok(n) => Ok(n),
            Err(tcp::RecvError::Finished) => Ok(0),
            Err(tcp::RecvError::InvalidState) => match s.state() {
                // smoltcp 0.14.0 without unisock's patch 10 forgets the FIN when the
                // TIME-WAIT timer expires; the connection still ended cleanly.
                tcp::State::Closed if slot.finished && !slot.aborted => Ok(0),
                tcp::State::Closed => Err(closed_error(slot)),
                tcp::State::SynSent | tcp::State::SynReceived => Err(Error::would_block()),
                tcp::State::Listen => {
                    Err(Error::new(ErrorKind::NotConnected, "recv: not connected"))
                }
                _ => Ok(0),
            },
        }
    }

    fn try_send_in(g: &mut Inner<'a, D>, h: Handle, buf: &[u8], flags: SendFlags) -> Result<usize> {
        if flags.contains(SendFlags::OOB) {
            return Err(Error::unsupported("smoltcp has no urgent (OOB) data"));
        }
        let peer = {
            let (slot, s) = g.tcp(h)?;
            slot.note_state(s.state());
            if slot.shut_wr {
                return Err(Error::new(
                    ErrorKind::BrokenPipe,
                    "send: the write side was shut down",
                ));
            }
            if buf.is_empty() {
                return Ok(0);
            }
            s.remote_endpoint().map(ep_to_std).or(slot.peer)
        };
        if flags.contains(SendFlags::DONTROUTE)
            && let Some(p) = peer
        {
            g.check_route(&p.ip(), true)?;
        }
        let (slot, s) = g.tcp(h)?;
        match crate::copy::send_from(s, buf) {
            Ok(0) => Err(Error::would_block()),
            Ok(n) => Ok(n),
            Err(tcp::SendError::InvalidState) => match s.state() {
                tcp::State::Closed => Err(closed_error(slot)),
                tcp::State::SynSent | tcp::State::SynReceived => Err(Error::would_block()),
                tcp::State::Listen => {
                    Err(Error::new(ErrorKind::NotConnected, "send: not connected"))
                }
                _ => Err(Error::new(
                    ErrorKind::BrokenPipe,
                    "send: the connection's write side is closed",
                )),
            },
        }
    }

    /// Wait until every queued byte has been acknowledged by the peer, bounded by `timeout`
    /// (`TimedOut`); fails with the connection's error if it is reset meanwhile.
    pub fn wait_acked(&mut self, timeout: Option<Duration>) -> Result<()> {
        let h = self.handle;
        self.stack.block(
            Limit::Fixed(timeout),
            "wait_acked: data not acknowledged in time",
            |g, w| g.register(h, Dir::Send, w),
            |g, _| {
                let (slot, s) = g.tcp(h)?;
                if s.send_queue() == 0 {
                    Ok(())
                } else if s.state() == tcp::State::Closed {
                    Err(closed_error(slot))
                } else {
                    Err(Error::would_block())
                }
            },
        )
    }

    fn recv_blocking(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize> {
        if flags.contains(RecvFlags::OOB) {
            return Err(Error::unsupported("smoltcp has no urgent (OOB) data"));
        }
        let h = self.handle;
        let peek = flags.contains(RecvFlags::PEEK);
        if flags.contains(RecvFlags::WAITALL) && !peek {
            let mut done = 0;
            while done < buf.len() {
                let rest = &mut buf[done..];
                let r = self.stack.block(
                    Limit::Read(h),
                    "recv: read timeout",
                    |g, w| g.register(h, Dir::Recv, w),
                    |g, _| Self::try_recv_in(g, h, rest, false),
                );
                match r {
                    Ok(0) => break,
                    Ok(n) => done += n,
                    Err(e) if done > 0 && e.kind() == ErrorKind::TimedOut => break,
                    Err(e) => return Err(e),
                }
            }
            return Ok(done);
        }
        if flags.contains(RecvFlags::WAITALL) {
            // PEEK | WAITALL: wait until the whole buffer can be peeked.
            let want = buf.len();
            return self.stack.block(
                Limit::Read(h),
                "recv: read timeout",
                |g, w| g.register(h, Dir::Recv, w),
                |g, _| {
                    let (slot, s) = g.tcp(h)?;
                    if !slot.shut_rd
                        && s.recv_queue() < want
                        && s.may_recv()
                        && s.state() != tcp::State::CloseWait
                    {
                        return Err(Error::would_block());
                    }
                    Self::try_recv_in(g, h, buf, true)
                },
            );
        }
        self.stack.block(
            Limit::Read(h),
            "recv: read timeout",
            |g, w| g.register(h, Dir::Recv, w),
            |g, _| Self::try_recv_in(g, h, buf, peek),
        )
    }

    fn send_blocking(&mut self, buf: &[u8], flags: SendFlags) -> Result<usize> {
        let h = self.handle;
        self.stack.block(
            Limit::Write(h),
            "send: write timeout",
            |g, w| g.register(h, Dir::Send, w),
            |g, _| Self::try_send_in(g, h, buf, flags),
        )
    }
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> TcpStream<'s, 'a, D, C, W> {
    /// Async receive (flags as the blocking `recv`). Cancellation-safe: data is only taken
    /// in the poll that completes (with `WAITALL`, each completed chunk is kept in `buf`).
    pub(crate) async fn recv_async(&self, buf: &mut [u8], flags: RecvFlags) -> Result<usize> {
        let h = self.handle;
        let stack = self.stack;
        let peek = flags.contains(RecvFlags::PEEK);
        let on = |g: &mut Inner<'a, D>, w: &core::task::Waker| g.register(h, Dir::Recv, w);
        if flags.contains(RecvFlags::WAITALL) && !peek {
            let mut done = 0;
            while done < buf.len() {
                let rest = &mut buf[done..];
                let r = core::future::poll_fn(|cx| {
                    stack.poll_op(cx, on, |g, _| Self::try_recv_in(g, h, rest, false))
                })
                .await;
                match r? {
                    0 => break,
                    n => done += n,
                }
            }
            return Ok(done);
        }
        if flags.contains(RecvFlags::WAITALL) {
            let want = buf.len();
            return core::future::poll_fn(|cx| {
                stack.poll_op(cx, on, |g, _| {
                    let (slot, s) = g.tcp(h)?;
                    if !slot.shut_rd
                        && s.recv_queue() < want
                        && s.may_recv()
                        && s.state() != tcp::State::CloseWait
                    {
                        return Err(Error::would_block());
                    }
                    Self::try_recv_in(g, h, buf, true)
                })
            })
            .await;
        }
        core::future::poll_fn(|cx| stack.poll_op(cx, on, |g, _| Self::try_recv_in(g, h, buf, peek)))
            .await
    }

    /// One poll of a plain receive: data, end of stream (`Ok(0)`), the error, or `Pending`
    /// with the task's waker registered on the receive direction. Kept apart from
    /// `recv_async`'s flag-taking polls (and `poll_send` from `send_async`'s) on purpose:
    /// sharing one poll with a runtime `peek` or flags puts their handling into every task
    /// that reads or writes (measured: +0.5 to +0.8 KiB on the async firmware).
    pub(crate) fn poll_recv(
        &self,
        cx: &mut core::task::Context<'_>,
        buf: &mut [u8],
    ) -> core::task::Poll<Result<usize>> {
        let h = self.handle;
        self.stack.poll_op(
            cx,
            |g, w| g.register(h, Dir::Recv, w),
            |g, _| Self::try_recv_in(g, h, buf, false),
        )
    }

    /// One poll of a plain receive into tokio's `ReadBuf`. Only as much of its unfilled part
    /// is zeroed (so that it can be written safely) as there is data queued, at least one
    /// byte (so that end of stream and errors are reported): zeroing all of it would cost a
    /// memset of the caller's whole buffer on every read. A full `buf` reads nothing
    /// (`Ok(0)`).
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_recv_readbuf(
        &self,
        cx: &mut core::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> core::task::Poll<Result<usize>> {
        let h = self.handle;
        self.stack.poll_op(
            cx,
            |g, w| g.register(h, Dir::Recv, w),
            |g, _| {
                if buf.remaining() == 0 {
                    return Ok(0);
                }
                let queued = g.tcp(h)?.1.recv_queue();
                let want = queued.clamp(1, buf.remaining());
                Self::try_recv_in(g, h, buf.initialize_unfilled_to(want), false)
            },
        )
    }

    /// One poll of a plain send: bytes queued, the error, or `Pending` with the task's waker
    /// registered on the send direction.
    pub(crate) fn poll_send(
        &self,
        cx: &mut core::task::Context<'_>,
        buf: &[u8],
    ) -> core::task::Poll<Result<usize>> {
        let h = self.handle;
        self.stack.poll_op(
            cx,
            |g, w| g.register(h, Dir::Send, w),
            |g, _| Self::try_send_in(g, h, buf, SendFlags::NONE),
        )
    }

    /// One poll of a gathered send: as much of `bufs`, in order, as the send ring takes, in
    /// one hold of the lock; `Pending` (waker on the send direction) only if nothing fit.
    #[cfg(any(feature = "tokio", feature = "futures-io"))]
    pub(crate) fn poll_send_vectored(
        &self,
        cx: &mut core::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> core::task::Poll<Result<usize>> {
        let h = self.handle;
        self.stack.poll_op(
            cx,
            |g, w| g.register(h, Dir::Send, w),
            |g, _| {
                let mut total = 0;
                for b in bufs.iter().filter(|b| !b.is_empty()) {
                    match Self::try_send_in(g, h, b, SendFlags::NONE) {
                        Ok(n) if n == b.len() => total += n,
                        Ok(n) => return Ok(total + n),
                        // What was queued is the result; the error comes with the next call.
                        Err(_) if total > 0 => return Ok(total),
                        Err(e) => return Err(e),
                    }
                }
                Ok(total)
            },
        )
    }

    /// `shutdown` through a shared reference (the trait's `shutdown`, and the write half's
    /// `poll_shutdown`). Shutting a direction down again does nothing.
    pub(crate) fn shutdown_shared(&self, how: Shutdown) -> Result<()> {
        self.stack.with(|g, _| {
            let (slot, s) = g.tcp(self.handle)?;
            if matches!(how, Shutdown::Read | Shutdown::Both) {
                slot.shut_rd = true;
                while s.can_recv() {
                    let _ = s.recv(|b| (b.len(), ()));
                }
            }
            if matches!(how, Shutdown::Write | Shutdown::Both) && !slot.shut_wr {
                slot.shut_wr = true;
                s.close();
            }
            Ok(())
        })
    }

    /// Async send: completes once at least one byte is queued. Cancellation-safe.
    pub(crate) async fn send_async(&self, buf: &[u8], flags: SendFlags) -> Result<usize> {
        let h = self.handle;
        let stack = self.stack;
        core::future::poll_fn(|cx| {
            stack.poll_op(
                cx,
                |g, w| g.register(h, Dir::Send, w),
                |g, _| Self::try_send_in(g, h, buf, flags),
            )
        })
        .await
    }
}

impl<D: Device, C: Clock, W: Wait> Drop for TcpStream<'_, '_, D, C, W> {
    fn drop(&mut self) {
        let h = self.handle;
        let linger = self
            .stack
            .with(|g, _| Ok(g.slot(h)?.opts.linger))
            .ok()
            .flatten();
        if let Some(t) = linger.filter(|t| !t.is_zero()) {
            let _ = self.stack.with(|g, _| {
                g.tcp(h)?.1.close();
                Ok(())
            });
            let done = self.stack.block(
                Limit::Fixed(Some(t)),
                "linger",
                |g, w| g.register(h, Dir::Send, w),
                |g, _| {
                    let (_, s) = g.tcp(h)?;
                    if s.send_queue() == 0 || !s.is_active() {
                        Ok(())
                    } else {
                        Err(Error::would_block())
                    }
                },
            );
            let _ = self.stack.with(|g, now| {
                g.release_tcp(h, done.is_err(), now);
                Ok(())
            });
            return;
        }
        let _ = self.stack.with(|g, now| {
            g.release_tcp(h, false, now);
            Ok(())
        });
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::ErrorType for TcpStream<'_, '_, D, C, W> {
    type Error = Error;
}

impl<D: Device, C: Clock, W: Wait> unisock::Socket for TcpStream<'_, '_, D, C, W> {
    type Addr = SocketAddr;

    fn local_addr(&self) -> Result<SocketAddr> {
        self.stack.with(|g, _| {
            let (slot, s) = g.tcp(self.handle)?;
            Ok(s.local_endpoint()
                .map(ep_to_std)
                .or(slot.local)
                .unwrap_or(unspecified(domain_of(slot))))
        })
    }

    fn set_option(&mut self, option: SockOpt) -> Result<()> {
        self.stack.with(|g, _| {
            let (slot, s) = g.tcp(self.handle)?;
            set_tcp_option(slot, s, option)
        })
    }

    fn option(&self, name: SockOptName) -> Result<SockOpt> {
        self.stack.with(|g, _| {
            let (slot, s) = g.tcp(self.handle)?;
            Ok(tcp_option(slot, s, name))
        })
    }
}

impl<D: Device, C: Clock, W: Wait> embedded_io::Read for TcpStream<'_, '_, D, C, W> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.recv_blocking(buf, RecvFlags::NONE)
    }
}

impl<D: Device, C: Clock, W: Wait> embedded_io::Write for TcpStream<'_, '_, D, C, W> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        self.send_blocking(buf, SendFlags::NONE)
    }

    /// Push queued data towards the peer and return, like the kernel backend (it does not
    /// wait for acknowledgement; see [`TcpStream::wait_acked`] for that).
    fn flush(&mut self) -> Result<()> {
        self.stack.with(|g, _| g.tcp(self.handle).map(|_| ()))
    }
}

impl<D: Device, C: Clock, W: Wait> embedded_io::ReadReady for TcpStream<'_, '_, D, C, W> {
    fn read_ready(&mut self) -> Result<bool> {
        self.stack.with(|g, _| {
            let (slot, s) = g.tcp(self.handle)?;
            Ok(slot.shut_rd || s.can_recv() || !s.may_recv())
        })
    }
}

impl<D: Device, C: Clock, W: Wait> embedded_io::WriteReady for TcpStream<'_, '_, D, C, W> {
    fn write_ready(&mut self) -> Result<bool> {
        self.stack.with(|g, _| {
            let (slot, s) = g.tcp(self.handle)?;
            Ok(slot.shut_wr || s.can_send() || !s.may_send())
        })
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::StreamSocket for TcpStream<'_, '_, D, C, W> {
    fn peer_addr(&self) -> Result<SocketAddr> {
        self.stack.with(|g, _| {
            let (slot, s) = g.tcp(self.handle)?;
            s.remote_endpoint()
                .map(ep_to_std)
                .or(slot.peer)
                .ok_or(Error::new(
                    ErrorKind::NotConnected,
                    "peer_addr: not connected",
                ))
        })
    }

    fn association(&self) -> Result<Association<SocketAddr>> {
        let local = unisock::Socket::local_addr(self)?;
        let remote = self.peer_addr()?;
        Ok(Association::new(Protocol::TCP, local, remote))
    }

    fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize> {
        self.recv_blocking(buf, flags)
    }

    fn send(&mut self, buf: &[u8], flags: SendFlags) -> Result<usize> {
        self.send_blocking(buf, flags)
    }

    fn try_recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<usize> {
        if flags.contains(RecvFlags::OOB) {
            return Err(Error::unsupported("smoltcp has no urgent (OOB) data"));
        }
        let h = self.handle;
        let peek = flags.contains(RecvFlags::PEEK);
        self.stack.with(|g, _| Self::try_recv_in(g, h, buf, peek))
    }

    fn try_send(&mut self, buf: &[u8], flags: SendFlags) -> Result<usize> {
        let h = self.handle;
        self.stack.with(|g, _| Self::try_send_in(g, h, buf, flags))
    }

    fn shutdown(&mut self, how: Shutdown) -> Result<()> {
        self.shutdown_shared(how)
    }

    fn abort(self) -> Result<()> {
        let h = self.handle;
        let stack = self.stack;
        core::mem::forget(self);
        stack.with(|g, now| {
            g.tcp(h)?.0.aborted = true;
            g.release_tcp(h, true, now);
            Ok(())
        })
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::poll::AsSource for TcpStream<'_, '_, D, C, W> {
    type Source = crate::Source;

    fn source(&self) -> crate::Source {
        crate::Source::Socket(self.handle)
    }
}
