//! TCP listeners and their accept queue.
//!
//! **Backlog.** smoltcp has no accept queue: a listening socket becomes the connection. A
//! [`TcpListener`] therefore keeps `backlog` smoltcp sockets listening on its endpoint
//! (capped at [`MAX_BACKLOG`] and by free pool sockets): the armed sockets are the queue.
//! `accept` hands out one that is established (or already in CLOSE-WAIT with data) and
//! re-arms a fresh socket at once. So `backlog` clients connecting before the first `accept`
//! all succeed; with every armed socket taken, smoltcp answers the next SYN with an RST, and
//! client `backlog + 1` gets `ConnectionRefused` (the kernel would queue or drop the SYN
//! instead). An IPv4 listener on `0.0.0.0` resets IPv6 connections at `accept` (smoltcp lets
//! them complete the handshake).
//!
//! **Wake-ups.** A waiting `accept` (blocking or async) registers its waker on every armed
//! socket (`wake.rs`): smoltcp wakes it when one changes state (handshake done, or reset). A
//! dropped async `accept` changes nothing: the connection stays armed for the next call.

use core::net::SocketAddr;
use core::time::Duration;

use smoltcp::phy::Device;
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use unisock::{ErrorKind, SockOpt, SockOptName};

use crate::addr::ep_to_std;
use crate::clock::Clock;
use crate::drive::Limit;
use crate::error::{Error, Result};
use crate::slot::{Handle, Kind, timeout_value};
use crate::stack::{Inner, Stack};
use crate::stream::{TcpStream, listen_ep, set_tcp_option, tcp_option};
use crate::wait::Wait;

/// The largest backlog a listener keeps armed.
pub const MAX_BACKLOG: usize = 32;

impl<D: Device, C: Clock, W: Wait> core::fmt::Debug for TcpListener<'_, '_, D, C, W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local)
            .field("armed", &self.armed.len())
            .field("backlog", &self.backlog)
            .finish()
    }
}

/// A listening TCP socket keeping a backlog of armed smoltcp sockets.
pub struct TcpListener<'s, 'a, D: Device, C: Clock, W: Wait> {
    pub(crate) stack: &'s Stack<'a, D, C, W>,
    pub(crate) armed: heapless::Vec<Handle, MAX_BACKLOG>,
    pub(crate) id: u32,
    pub(crate) stack_id: u32,
    pub(crate) local: SocketAddr,
    pub(crate) backlog: usize,
    pub(crate) v6: bool,
    pub(crate) read_timeout: Option<Duration>,
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> TcpListener<'s, 'a, D, C, W> {
    /// The handles of the armed pool sockets (established but not yet accepted ones
    /// included).
    pub fn handles(&self) -> &[Handle] {
        &self.armed
    }

    /// How many sockets are armed now (at most the backlog).
    pub fn armed(&self) -> usize {
        self.armed.len()
    }

    /// Arm more listening sockets until the backlog is reached or the pool is empty.
    pub(crate) fn top_up(&mut self, g: &mut Inner<'a, D>, now: Instant) {
        // Re-arm sockets whose half-open connection was reset before accept.
        for &h in self.armed.iter() {
            if let Ok((_, s)) = g.tcp(h)
                && s.state() == tcp::State::Closed
                && s.local_endpoint().is_none()
            {
                let _ = s.listen(listen_ep(self.local));
            }
        }
        while self.armed.len() < self.backlog {
            let Ok(h) = g.alloc(Kind::Tcp, now) else {
                break;
            };
            let ok = match g.tcp(h) {
                Ok((slot, s)) => {
                    slot.v6 = self.v6;
                    slot.local = Some(self.local);
                    slot.listener = self.id;
                    s.listen(listen_ep(self.local)).is_ok()
                }
                Err(_) => false,
            };
            if !ok || self.armed.push(h).is_err() {
                g.release_tcp(h, true, now);
                break;
            }
        }
    }

    fn take_ready(
        &mut self,
        g: &mut Inner<'a, D>,
        now: Instant,
    ) -> Result<(TcpStream<'s, 'a, D, C, W>, SocketAddr)> {
        let mut found = None;
        for (i, &h) in self.armed.iter().enumerate() {
            let (_, s) = g.tcp(h)?;
            match s.state() {
                tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed => {}
                _ => {
                    if let Some(remote) = s.remote_endpoint() {
                        if !matches!(remote.addr, smoltcp::wire::IpAddress::Ipv4(_)) && !self.v6 {
                            // smoltcp matches an unspecified listen address for both
                            // families; an IPv4 listener refuses IPv6 clients (RST).
                            s.abort();
                            continue;
                        }
                        found = Some((i, h, ep_to_std(remote)));
                        break;
                    }
                }
            }
        }
        let Some((i, h, remote)) = found else {
            self.top_up(g, now);
            return Err(Error::would_block());
        };
        self.armed.remove(i);
        {
            let (slot, s) = g.tcp(h)?;
            slot.listener = 0;
            slot.established = true;
            slot.peer = Some(remote);
            slot.local = s.local_endpoint().map(ep_to_std).or(slot.local);
        }
        self.top_up(g, now);
        Ok((
            TcpStream {
                stack: self.stack,
                handle: h,
            },
            remote,
        ))
    }
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> TcpListener<'s, 'a, D, C, W> {
    /// Async accept: wait on every armed socket until one holds an established connection.
    /// A dropped future changed nothing: the connection stays queued for the next call.
    pub(crate) fn accept_async(
        &mut self,
    ) -> impl core::future::Future<Output = Result<(TcpStream<'s, 'a, D, C, W>, SocketAddr)>> + '_
    {
        let stack = self.stack;
        let id = self.id;
        core::future::poll_fn(move |cx| {
            stack.poll_op(
                cx,
                |g, w| g.register_listener(id, w),
                |g, now| self.take_ready(g, now),
            )
        })
    }
}

impl<D: Device, C: Clock, W: Wait> Drop for TcpListener<'_, '_, D, C, W> {
    fn drop(&mut self) {
        let armed = core::mem::take(&mut self.armed);
        let _ = self.stack.with(|g, now| {
            for h in armed {
                g.release_tcp(h, true, now);
            }
            Ok(())
        });
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::ErrorType for TcpListener<'_, '_, D, C, W> {
    type Error = Error;
}

impl<D: Device, C: Clock, W: Wait> unisock::Socket for TcpListener<'_, '_, D, C, W> {
    type Addr = SocketAddr;

    fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.local)
    }

    fn set_option(&mut self, option: SockOpt) -> Result<()> {
        match option {
            SockOpt::ReadTimeout(v) => {
                self.read_timeout = timeout_value(v)?;
                Ok(())
            }
            SockOpt::ReuseAddr(_) => Ok(()),
            SockOpt::RecvBufferSize(_) | SockOpt::SendBufferSize(_) => Err(Error::unsupported(
                "smoltcp buffer sizes are fixed by the pool (PoolConfig)",
            )),
            _ => {
                let armed = self.armed.clone();
                self.stack.with(|g, _| {
                    for h in armed {
                        let (slot, s) = g.tcp(h)?;
                        set_tcp_option(slot, s, option)?;
                    }
                    Ok(())
                })
            }
        }
    }

    fn option(&self, name: SockOptName) -> Result<SockOpt> {
        match name {
            SockOptName::ReadTimeout => Ok(SockOpt::ReadTimeout(self.read_timeout)),
            SockOptName::ReuseAddr => Ok(SockOpt::ReuseAddr(true)),
            _ => {
                let h = *self.armed.first().ok_or(Error::new(
                    ErrorKind::OutOfMemory,
                    "listener has no armed socket",
                ))?;
                self.stack.with(|g, _| {
                    let (slot, s) = g.tcp(h)?;
                    Ok(tcp_option(slot, s, name))
                })
            }
        }
    }
}

impl<'s, 'a, D: Device, C: Clock, W: Wait> unisock::StreamListener
    for TcpListener<'s, 'a, D, C, W>
{
    type Stream = TcpStream<'s, 'a, D, C, W>;

    fn accept(&mut self) -> Result<(TcpStream<'s, 'a, D, C, W>, SocketAddr)> {
        let timeout = self.read_timeout;
        let stack = self.stack;
        let id = self.id;
        stack.block(
            Limit::Fixed(timeout),
            "accept: no connection in time",
            |g, w| g.register_listener(id, w),
            |g, now| self.take_ready(g, now),
        )
    }

    fn try_accept(&mut self) -> Result<(TcpStream<'s, 'a, D, C, W>, SocketAddr)> {
        let stack = self.stack;
        stack.with(|g, now| self.take_ready(g, now))
    }
}

impl<D: Device, C: Clock, W: Wait> unisock::poll::AsSource for TcpListener<'_, '_, D, C, W> {
    type Source = crate::Source;

    fn source(&self) -> crate::Source {
        crate::Source::Listener {
            stack: self.stack_id,
            id: self.id,
        }
    }
}
