//! Socket options common to every backend (`setsockopt` / `getsockopt`).
//!
//! One enum carries an option and its value, so every socket trait has the same two methods
//! ([`Socket::set_option`](crate::Socket::set_option) and
//! [`Socket::option`](crate::Socket::option)). An option a backend (or a socket type) cannot
//! provide fails with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported); the feature
//! table in the README says which.

use core::time::Duration;

/// A socket option with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SockOpt {
    /// Disable Nagle's algorithm (`TCP_NODELAY`). Streams.
    NoDelay(bool),
    /// Send keep-alive probes after this idle time (`SO_KEEPALIVE` with `TCP_KEEPIDLE`);
    /// `None` disables them. Streams.
    KeepAlive(Option<Duration>),
    /// Time-to-live of outgoing IPv4 packets (`IP_TTL`) or hop limit of IPv6 ones
    /// (`IPV6_UNICAST_HOPS`), whichever the socket's domain uses.
    Ttl(u8),
    /// On close, wait up to this long for unsent data (`SO_LINGER`); `Some(Duration::ZERO)`
    /// makes close send an RST, `None` restores the default graceful close. Streams.
    Linger(Option<Duration>),
    /// Allow binding a local endpoint that still has connections in TIME-WAIT
    /// (`SO_REUSEADDR`). Two listeners on one endpoint are refused regardless.
    ReuseAddr(bool),
    /// Receive buffer size in bytes (`SO_RCVBUF`). Reading it reports what the backend
    /// actually uses (Linux doubles the requested value).
    RecvBufferSize(usize),
    /// Send buffer size in bytes (`SO_SNDBUF`), as for [`SockOpt::RecvBufferSize`].
    SendBufferSize(usize),
    /// Time limit for blocking receive calls and `accept` (`SO_RCVTIMEO`); `None` waits
    /// forever. An expired limit is [`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut).
    ReadTimeout(Option<Duration>),
    /// Time limit for blocking send calls (`SO_SNDTIMEO`); `None` waits forever.
    WriteTimeout(Option<Duration>),
}

/// The name of a [`SockOpt`], for reading an option's current value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SockOptName {
    /// [`SockOpt::NoDelay`].
    NoDelay,
    /// [`SockOpt::KeepAlive`].
    KeepAlive,
    /// [`SockOpt::Ttl`].
    Ttl,
    /// [`SockOpt::Linger`].
    Linger,
    /// [`SockOpt::ReuseAddr`].
    ReuseAddr,
    /// [`SockOpt::RecvBufferSize`].
    RecvBufferSize,
    /// [`SockOpt::SendBufferSize`].
    SendBufferSize,
    /// [`SockOpt::ReadTimeout`].
    ReadTimeout,
    /// [`SockOpt::WriteTimeout`].
    WriteTimeout,
}

impl SockOpt {
    /// This option's name.
    pub const fn name(&self) -> SockOptName {
        match self {
            SockOpt::NoDelay(_) => SockOptName::NoDelay,
            SockOpt::KeepAlive(_) => SockOptName::KeepAlive,
            SockOpt::Ttl(_) => SockOptName::Ttl,
            SockOpt::Linger(_) => SockOptName::Linger,
            SockOpt::ReuseAddr(_) => SockOptName::ReuseAddr,
            SockOpt::RecvBufferSize(_) => SockOptName::RecvBufferSize,
            SockOpt::SendBufferSize(_) => SockOptName::SendBufferSize,
            SockOpt::ReadTimeout(_) => SockOptName::ReadTimeout,
            SockOpt::WriteTimeout(_) => SockOptName::WriteTimeout,
        }
    }
}
