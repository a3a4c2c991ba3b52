//! Readiness over many sockets ([`unisock::Stack::poll_sockets`]) from the stack's own socket
//! states: no descriptor, no system call; a blocked poll waits like any blocking call.
//!
//! A socket is named by a [`Source`]: its pool [`Handle`], or, for a listener (which keeps
//! several armed pool sockets), the listener itself.

use core::time::Duration;

use smoltcp::phy::Device;
use smoltcp::socket::tcp;
use unisock::ErrorKind;
use unisock::poll::{PollItem, Ready};

use crate::clock::{Clock, to_smol};
use crate::error::{Error, Result};
use crate::slot::{Handle, Kind, Use};
use crate::stack::{Inner, Stack};
use crate::wait::Wait;

/// How a socket of this backend is named in a poll (`sock.source()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Source {
    /// A stream, datagram or raw socket: its pool handle.
    Socket(Handle),
    /// A listener: readable when an armed socket holds an established connection.
    Listener {
        /// The stack's id (as in [`Handle`]).
        stack: u32,
        /// The listener's id within the stack.
        id: u32,
    },
}

/// Readiness of a datagram or raw socket: a datagram queued, room for one.
#[cfg_attr(not(any(feature = "udp", feature = "raw")), allow(dead_code))]
fn datagram_ready(can_recv: bool, can_send: bool) -> Ready {
    let mut r = Ready::EMPTY;
    if can_recv {
        r |= Ready::READABLE;
    }
    if can_send {
        r |= Ready::WRITABLE;
    }
    r
}

impl<'a, D: Device> Inner<'a, D> {
    /// What `source` is ready for now. `StaleHandle` for a closed socket or another stack's.
    pub(crate) fn readiness(&mut self, source: Source) -> Result<Ready> {
        match source {
            Source::Listener { stack, id } => {
                if stack != self.id || id == 0 {
                    return Err(Error::stale());
                }
                // A listener whose pool ran out may have no armed socket: it is idle, not stale.
                let mut ready = Ready::EMPTY;
                for slot in self.slots.iter() {
                    if slot.kind != Kind::Tcp || slot.use_ == Use::Free || slot.listener != id {
                        continue;
                    }
                    let Some(h) = slot.handle else { continue };
                    let s = self.sockets.get::<tcp::Socket>(h);
                    if !matches!(
                        s.state(),
                        tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed
                    ) {
                        ready |= Ready::READABLE;
                    }
                }
                Ok(ready)
            }
            Source::Socket(h) => {
                let kind = self.slot(h)?.kind;
                match kind {
                    Kind::Tcp => {
                        let (slot, s) = self.tcp(h)?;
                        let mut r = Ready::EMPTY;
                        let state = s.state();
                        let connecting =
                            matches!(state, tcp::State::SynSent | tcp::State::SynReceived);
                        if slot.shut_rd || s.can_recv() || (!connecting && !s.may_recv()) {
                            r |= Ready::READABLE;
                        }
                        if slot.shut_wr || s.can_send() || (!connecting && !s.may_send()) {
                            r |= Ready::WRITABLE;
                        }
                        if state == tcp::State::Closed {
                            r |= Ready::HANGUP | Ready::READABLE | Ready::WRITABLE;
                            if slot.closed_by.is_some() || slot.aborted {
                                r |= Ready::ERROR;
                            }
                        } else if !connecting && !s.may_recv() {
                            r |= Ready::HANGUP;
                        }
                        Ok(r)
                    }
                    Kind::Udp => self.udp_readiness(h),
                    Kind::RawV4 | Kind::RawV6 => self.raw_readiness(h),
                    Kind::Unused => Err(Error::stale()),
                }
            }
        }
    }

    #[cfg(feature = "udp")]
    fn udp_readiness(&mut self, h: Handle) -> Result<Ready> {
        let (_, s) = self.udp(h)?;
        Ok(datagram_ready(s.can_recv(), s.can_send()))
    }

    #[cfg(not(feature = "udp"))]
    fn udp_readiness(&mut self, _h: Handle) -> Result<Ready> {
        Err(Error::stale())
    }

    #[cfg(feature = "raw")]
    fn raw_readiness(&mut self, h: Handle) -> Result<Ready> {
        let (_, s) = self.raw(h)?;
        Ok(datagram_ready(s.can_recv(), s.can_send()))
    }

    #[cfg(not(feature = "raw"))]
    fn raw_readiness(&mut self, _h: Handle) -> Result<Ready> {
        Err(Error::stale())
    }

    /// Fill every item's readiness; how many are ready.
    pub(crate) fn poll_items(&mut self, items: &mut [PollItem<Source>]) -> Result<usize> {
        let mut n = 0;
        for item in items.iter_mut() {
            item.ready = self.readiness(item.source)?.filter(item.interest);
            n += usize::from(!item.ready.is_empty());
        }
        Ok(n)
    }
}

impl<'a, D: Device, C: Clock, W: Wait> Stack<'a, D, C, W> {
    /// [`unisock::Stack::poll_sockets`] for this stack.
    pub(crate) fn poll_sockets_in(
        &self,
        items: &mut [PollItem<Source>],
        timeout: Option<Duration>,
    ) -> Result<usize> {
        let zero = timeout.is_some_and(|t| t.is_zero());
        let start = self.clock().now();
        let deadline = timeout.filter(|_| !zero).map(|t| start + to_smol(t));
        let mut g = self.lock();
        loop {
            let now = self.clock().now();
            match g.poll_items(items) {
                Ok(0) if !zero => {}
                r => {
                    self.finish(g, now, false);
                    return r;
                }
            }
            // Wait on every polled socket's wake-up (see `wake.rs`).
            let on = |g: &mut Inner<'a, D>, w: &core::task::Waker| {
                for item in items.iter() {
                    g.register_source(item.source, item.interest, w);
                }
            };
            g = match self.idle(
                g,
                now,
                deadline,
                "poll: no socket became ready in time",
                &on,
            ) {
                Ok(g) => g,
                Err(e) if e.kind() == ErrorKind::TimedOut => return Ok(0),
                Err(e) => return Err(e),
            };
        }
    }
}
