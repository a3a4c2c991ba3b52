//! Readiness over many sockets: the BSD `poll`/`select` for blocking code.
//!
//! [`Stack::poll_sockets`](crate::Stack::poll_sockets) waits until at least one of the given
//! sockets is ready for what was asked, or the timeout passes, and reports each socket's
//! readiness in its [`PollItem::ready`]. A socket is named by its [`Source`](AsSource::Source)
//! (`sock.source()`): a file descriptor on the kernel backend, a pool handle on smoltcp.
//!
//! ```
//! use core::time::Duration;
//! use unisock::poll::{AsSource, Interest, PollItem};
//! use unisock::{Stack, StreamListener};
//!
//! /// Wait up to a second for a connection on either listener; return which is ready.
//! fn first_ready<S: Stack>(stack: &S, a: &S::TcpListener, b: &S::TcpListener)
//!     -> Result<Option<usize>, S::Error>
//! {
//!     let mut items = [
//!         PollItem::new(a.source(), Interest::READABLE),
//!         PollItem::new(b.source(), Interest::READABLE),
//!     ];
//!     stack.poll_sockets(&mut items, Some(Duration::from_secs(1)))?;
//!     Ok(items.iter().position(|i| i.ready.is_readable()))
//! }
//! ```
//!
//! What "ready" means, as for `poll(2)`: **readable**: a stream has data, has reached end of
//! stream, or has failed (the next read returns at once); a listener has a connection to
//! accept; a datagram or raw socket has a datagram. **Writable**: a stream can queue at least
//! one byte, or its non-blocking connect has finished (successfully or not); a datagram
//! socket can send. [`Ready::HANGUP`] and [`Ready::ERROR`] are reported whether asked for or
//! not. Readiness is a hint: the `try_*` call that follows may still fail with `WouldBlock`
//! (another thread may have taken the data), so event loops retry.
//!
//! Not modelled: edge-triggered notification, `POLLPRI` (urgent data), and waiting on
//! anything other than this stack's own sockets.

use core::fmt::Debug;
use core::ops::{BitOr, BitOrAssign};

/// What a caller waits for on one socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Interest(u8);

impl Interest {
    /// Nothing (the entry only reports hang-ups and errors).
    pub const NONE: Interest = Interest(0);
    /// Data, end of stream, an error, or (listener) a connection to accept.
    pub const READABLE: Interest = Interest(1);
    /// Room to send, or a finished non-blocking connect.
    pub const WRITABLE: Interest = Interest(2);
    /// Both.
    pub const BOTH: Interest = Interest(3);

    /// Whether readability is asked for.
    pub const fn readable(self) -> bool {
        self.0 & 1 != 0
    }

    /// Whether writability is asked for.
    pub const fn writable(self) -> bool {
        self.0 & 2 != 0
    }
}

impl BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        Interest(self.0 | rhs.0)
    }
}

/// What a socket is ready for, as reported by a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ready(u8);

impl Ready {
    /// Not ready.
    pub const EMPTY: Ready = Ready(0);
    /// A read (or accept) returns without waiting.
    pub const READABLE: Ready = Ready(1);
    /// A write returns without waiting.
    pub const WRITABLE: Ready = Ready(2);
    /// The peer closed or reset the connection (`POLLHUP`/`POLLRDHUP`).
    pub const HANGUP: Ready = Ready(4);
    /// The socket has a pending error (`POLLERR`); the next call reports it.
    pub const ERROR: Ready = Ready(8);

    /// Nothing is ready.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Readable.
    pub const fn is_readable(self) -> bool {
        self.0 & 1 != 0
    }

    /// Writable.
    pub const fn is_writable(self) -> bool {
        self.0 & 2 != 0
    }

    /// Hung up.
    pub const fn is_hangup(self) -> bool {
        self.0 & 4 != 0
    }

    /// Pending error.
    pub const fn is_error(self) -> bool {
        self.0 & 8 != 0
    }

    /// Whether any flag of `other` is set here.
    pub const fn intersects(self, other: Ready) -> bool {
        self.0 & other.0 != 0
    }

    /// Keep only what `interest` asks for, plus [`HANGUP`](Ready::HANGUP) and
    /// [`ERROR`](Ready::ERROR), which are always reported.
    pub const fn filter(self, interest: Interest) -> Ready {
        let mut mask = 4 | 8;
        if interest.readable() {
            mask |= 1;
        }
        if interest.writable() {
            mask |= 2;
        }
        Ready(self.0 & mask)
    }
}

impl BitOr for Ready {
    type Output = Ready;
    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl BitOrAssign for Ready {
    fn bitor_assign(&mut self, rhs: Ready) {
        self.0 |= rhs.0;
    }
}

/// One socket of a poll: what to wait for, and (after the call) what is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollItem<K> {
    /// The socket (`sock.source()`).
    pub source: K,
    /// What to wait for.
    pub interest: Interest,
    /// Set by the poll: what the socket is ready for (filtered by `interest`, plus
    /// hang-up and error).
    pub ready: Ready,
}

impl<K> PollItem<K> {
    /// An entry waiting for `interest` on `source`, nothing ready yet.
    pub const fn new(source: K, interest: Interest) -> PollItem<K> {
        PollItem {
            source,
            interest,
            ready: Ready::EMPTY,
        }
    }
}

/// A socket that can be named in a poll.
pub trait AsSource {
    /// The name: a file descriptor on the kernel backend, a pool handle on smoltcp.
    type Source: Copy + Eq + Debug;

    /// This socket's name for [`Stack::poll_sockets`](crate::Stack::poll_sockets). It stays
    /// valid while the socket is open; polling a closed socket's source fails with
    /// `StaleHandle` on smoltcp and reports [`Ready::ERROR`] on the kernel backend (as
    /// `POLLNVAL`), unless the number was reused.
    fn source(&self) -> Self::Source;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_keeps_asked_and_always_reported_flags() {
        let all = Ready::READABLE | Ready::WRITABLE | Ready::HANGUP | Ready::ERROR;
        assert_eq!(
            all.filter(Interest::READABLE),
            Ready::READABLE | Ready::HANGUP | Ready::ERROR
        );
        assert_eq!(all.filter(Interest::NONE), Ready::HANGUP | Ready::ERROR);
        assert_eq!(all.filter(Interest::BOTH), all);
        assert!(!Ready::WRITABLE.filter(Interest::READABLE).is_writable());
        assert!((Interest::READABLE | Interest::WRITABLE).writable());
    }
}
