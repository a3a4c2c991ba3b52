//! One pool slot's bookkeeping ([`Slot`]: kind, generation, options, endpoints, listener,
//! shutdown and close state) and the public names of sockets ([`Handle`], [`SocketInfo`]).
//! Plain types: this module depends on nothing else of the stack.

use core::net::SocketAddr;
use core::time::Duration;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use unisock::Protocol;

use crate::error::{Error, Result};

/// What kind of pool socket a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    not(all(feature = "udp", feature = "raw", feature = "proto-ipv6")),
    allow(dead_code)
)]
pub(crate) enum Kind {
    Unused,
    Tcp,
    Udp,
    RawV4,
    RawV6,
}

/// Why a connection reached CLOSED without a local abort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseCause {
    /// While processing a received segment (an RST).
    Peer,
    /// While transmitting: smoltcp's retransmission or keep-alive timeout.
    Timer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    Free,
    Open,
    Closing,
}

/// Per-socket options kept by the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opts {
    pub nodelay: bool,
    pub keepalive: Option<Duration>,
    pub ttl: Option<u8>,
    pub linger: Option<Duration>,
    pub reuse_addr: bool,
    pub read_timeout: Option<Duration>,
    pub write_timeout: Option<Duration>,
}

/// The value of a read or write timeout option: `None` (wait forever) or a non-zero limit.
pub(crate) fn timeout_value(v: Option<Duration>) -> Result<Option<Duration>> {
    if v.is_some_and(|d| d.is_zero()) {
        return Err(Error::invalid("a zero timeout is not allowed; use None"));
    }
    Ok(v)
}

impl Opts {
    const DEFAULT: Opts = Opts {
        nodelay: false,
        keepalive: None,
        ttl: None,
        linger: None,
        reuse_addr: false,
        read_timeout: None,
        write_timeout: None,
    };
}

/// One pool entry: a smoltcp socket and the backend's bookkeeping for it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub handle: Option<SocketHandle>,
    pub kind: Kind,
    pub generation: u32,
    pub use_: Use,
    pub since: Instant,
    pub opts: Opts,
    /// Bound local endpoint (TCP before connect/listen; UDP).
    pub local: Option<SocketAddr>,
    /// Remote endpoint (TCP connection, UDP connected peer).
    pub peer: Option<SocketAddr>,
    pub v6: bool,
    /// Non-zero: armed by (or accepted from) the listener with this id, not yet accepted.
    pub listener: u32,
    pub shut_rd: bool,
    pub shut_wr: bool,
    pub aborted: bool,
    pub established: bool,
    /// The connection ended cleanly both ways (it was seen in TIME-WAIT): a later CLOSED (the
    /// TIME-WAIT timer, or an RST answering a late segment) is end of stream, not an error.
    pub finished: bool,
    /// Closing: the send queue when the peer last acknowledged data (see `ORPHAN_LIMIT`).
    pub queued: usize,
    pub closed_by: Option<CloseCause>,
}

impl Slot {
    pub(crate) const EMPTY: Slot = Slot {
        handle: None,
        kind: Kind::Unused,
        generation: 0,
        use_: Use::Free,
        since: Instant::ZERO,
        opts: Opts::DEFAULT,
        local: None,
        peer: None,
        v6: false,
        listener: 0,
        shut_rd: false,
        shut_wr: false,
        aborted: false,
        established: false,
        finished: false,
        queued: 0,
        closed_by: None,
    };

    pub(crate) fn reset(&mut self) {
        self.use_ = Use::Free;
        self.opts = Opts::DEFAULT;
        self.local = None;
        self.peer = None;
        self.v6 = false;
        self.listener = 0;
        self.shut_rd = false;
        self.shut_wr = false;
        self.aborted = false;
        self.established = false;
        self.finished = false;
        self.queued = 0;
        self.closed_by = None;
    }

    /// Remember that the connection reached the synchronized states (so a later CLOSED is a
    /// reset, not a refusal), and that it reached TIME-WAIT (so a later CLOSED is end of
    /// stream), even if nobody looked in between.
    pub(crate) fn note_state(&mut self, state: tcp::State) {
        if !matches!(
            state,
            tcp::State::Closed | tcp::State::Listen | tcp::State::SynSent | tcp::State::SynReceived
        ) {
            self.established = true;
        }
        if state == tcp::State::TimeWait {
            self.finished = true;
        }
    }
}

/// A generation-checked name of one socket of a stack.
///
/// Every socket type has a `handle()`; [`Stack::socket_info`](crate::Stack::socket_info) looks one up. After the socket
/// is closed and its slot reused, the old handle fails with `StaleHandle`: generations are
/// 32-bit and only repeat after 2^32 reuses of one slot. A handle of another stack is
/// `StaleHandle` too (handles carry their stack's id: a process-wide counter under `std`, the
/// address of the slot memory without it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Handle {
    pub(crate) stack: u32,
    pub(crate) index: u16,
    pub(crate) generation: u32,
}

/// What [`Stack::socket_info`](crate::Stack::socket_info) reports about a live socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketInfo {
    /// TCP, UDP, ICMP or ICMPv6.
    pub protocol: Protocol,
    /// The local endpoint, if bound.
    pub local: Option<SocketAddr>,
    /// The remote endpoint, if connected.
    pub remote: Option<SocketAddr>,
    /// The TCP state (`None` for other protocols).
    pub tcp_state: Option<tcp::State>,
    /// Whether the user has dropped it and it is still closing.
    pub closing: bool,
}

/// A number telling this stack's handles from other stacks'.
#[cfg(feature = "std")]
pub(crate) fn stack_id(_slots: &[Slot]) -> u32 {
    static NEXT: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(1);
    NEXT.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
}

/// A number telling this stack's handles from other stacks': the slot memory's address
/// (no atomic read-modify-write is needed, so it works on `thumbv6m`). Two live stacks never
/// share slot memory.
#[cfg(not(feature = "std"))]
pub(crate) fn stack_id(slots: &[Slot]) -> u32 {
    // Truncation is fine: only distinctness among live stacks matters.
    (slots.as_ptr() as usize as u32) | 1
}
