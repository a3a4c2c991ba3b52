//! Application code shared by the example programs and the embedded firmware.
//!
//! Everything here is written once against the `unisock` traits and runs unchanged on every
//! backend: the host programs in `src/bin/` call it over `unisock-posix` or `unisock-smoltcp`,
//! and the bare-metal firmware calls the very same functions over `unisock-smoltcp` with its NIC
//! driver. Without the `std` feature this library is `no_std` and allocation-free.
//!
//! With `std` (the default) it also holds what the host programs share: the command-line
//! options and stack construction for both backends ([`cli`]), HTTP ([`http`]), ICMP echo
//! ([`ping`]) and the socket tutorial ([`tour`]).
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "std")]
pub mod asynch;
#[cfg(feature = "std")]
pub mod cli;
#[cfg(feature = "std")]
pub mod http;
#[cfg(feature = "std")]
pub mod ping;
#[cfg(feature = "std")]
pub mod tour;

use core::fmt;
use core::net::SocketAddr;

use unisock::embedded_io::{Read, Write};
use unisock::{Shutdown, Socket as _, Stack, StreamListener, StreamSocket};

/// The byte at `offset` of the test pattern that echo clients send and check.
///
/// The period is 251 (a prime), so a lost, duplicated or reordered block of any length that is
/// not a multiple of 251 bytes changes the bytes seen at some offset.
#[inline]
pub fn pattern_byte(offset: u64) -> u8 {
    (offset % 251) as u8
}

/// Fill `buf` with the pattern starting at stream offset `offset`.
pub fn fill_pattern(offset: u64, buf: &mut [u8]) {
    let mut v = (offset % 251) as u8;
    for b in buf {
        *b = v;
        v = if v == 250 { 0 } else { v + 1 };
    }
}

/// The index of the first byte of `buf` that differs from the pattern at `offset`, if any.
pub fn check_pattern(offset: u64, buf: &[u8]) -> Option<usize> {
    let mut v = (offset % 251) as u8;
    for (i, &b) in buf.iter().enumerate() {
        if b != v {
            return Some(i);
        }
        v = if v == 250 { 0 } else { v + 1 };
    }
    None
}

/// Echo everything read from `conn` back to it until the peer ends its stream, then shut down
/// the write side. Returns the number of bytes echoed.
pub fn echo_connection<T: StreamSocket>(conn: &mut T, buf: &mut [u8]) -> Result<u64, T::Error> {
    let mut total = 0u64;
    loop {
        let n = conn.read(buf)?;
        if n == 0 {
            break;
        }
        conn.write_all(&buf[..n])?;
        total += n as u64;
    }
    conn.shutdown(Shutdown::Write)?;
    Ok(total)
}

/// Accept up to `max_conns` connections one after another and echo each
/// ([`echo_connection`]); `on_conn` is told each connection's peer and byte count. Returns the
/// total number of bytes echoed.
pub fn echo_server<L, F>(
    listener: &mut L,
    max_conns: usize,
    buf: &mut [u8],
    mut on_conn: F,
) -> Result<u64, L::Error>
where
    L: StreamListener,
    F: FnMut(&L::Stream, L::Addr, u64),
{
    let mut total = 0;
    for _ in 0..max_conns {
        let (mut conn, peer) = listener.accept()?;
        let n = echo_connection(&mut conn, buf)?;
        on_conn(&conn, peer, n);
        total += n;
    }
    Ok(total)
}

/// What went wrong in an echo client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EchoError<E> {
    /// A socket call failed.
    Io(E),
    /// A byte came back different from what was sent.
    Mismatch {
        /// Stream offset of the first wrong byte.
        offset: u64,
        /// The byte sent at that offset.
        expected: u8,
        /// The byte received.
        got: u8,
    },
    /// The server ended the stream before echoing everything.
    ShortEcho {
        /// Bytes echoed before the end of stream.
        received: u64,
        /// Bytes sent.
        sent: u64,
    },
    /// The server sent more than it was sent.
    ExtraData,
}

impl<E> From<E> for EchoError<E> {
    fn from(e: E) -> Self {
        EchoError::Io(e)
    }
}

impl<E: fmt::Display> fmt::Display for EchoError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EchoError::Io(e) => write!(f, "{e}"),
            EchoError::Mismatch {
                offset,
                expected,
                got,
            } => write!(
                f,
                "echo mismatch at byte {offset}: sent {expected:#04x}, got {got:#04x}"
            ),
            EchoError::ShortEcho { received, sent } => {
                write!(f, "server closed after echoing {received} of {sent} bytes")
            }
            EchoError::ExtraData => f.write_str("server sent more bytes than it was sent"),
        }
    }
}

/// Send `total` bytes of the pattern over `conn` and check the echo byte for byte, in lock-step
/// blocks of `tx.len()` bytes (so it never deadlocks on full buffers); then half-close and
/// expect the server's end of stream. `rx` is the read size (any length). Returns the bytes
/// verified.
pub fn echo_client<T: StreamSocket>(
    conn: &mut T,
    total: u64,
    tx: &mut [u8],
    rx: &mut [u8],
) -> Result<u64, EchoError<T::Error>> {
    let mut sent = 0u64;
    let mut received = 0u64;
    let block = tx.len().max(1) as u64;
    while sent < total {
        let n = (total - sent).min(block) as usize;
        fill_pattern(sent, &mut tx[..n]);
        conn.write_all(&tx[..n])?;
        sent += n as u64;
        while received < sent {
            let want = ((sent - received) as usize).min(rx.len());
            let got = conn.read(&mut rx[..want])?;
            if got == 0 {
                return Err(EchoError::ShortEcho { received, sent });
            }
            if let Some(i) = check_pattern(received, &rx[..got]) {
                let offset = received + i as u64;
                return Err(EchoError::Mismatch {
                    offset,
                    expected: pattern_byte(offset),
                    got: rx[i],
                });
            }
            received += got as u64;
        }
    }
    conn.shutdown(Shutdown::Write)?;
    match conn.read(rx)? {
        0 => Ok(received),
        _ => Err(EchoError::ExtraData),
    }
}

/// Connect to `to`, send `message`, half-close, and wait for the peer to close. Returns the
/// connection's local endpoint.
pub fn send_message<S: Stack>(
    stack: &S,
    to: SocketAddr,
    message: &[u8],
) -> Result<SocketAddr, S::Error> {
    let mut conn = stack.connect(to)?;
    let local = conn.local_addr()?;
    conn.write_all(message)?;
    conn.shutdown(Shutdown::Write)?;
    let mut sink = [0u8; 64];
    while conn.read(&mut sink)? != 0 {}
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_checks_itself() {
        let mut buf = [0u8; 1000];
        fill_pattern(77, &mut buf);
        assert_eq!(check_pattern(77, &buf), None);
        assert_eq!(buf[0], pattern_byte(77));
        assert_eq!(buf[999], pattern_byte(77 + 999));
        assert_eq!(check_pattern(78, &buf), Some(0));
        buf[500] ^= 1;
        assert_eq!(check_pattern(77, &buf), Some(500));
    }
}
