//! [`RecvFlags`] and [`SendFlags`] to `MSG_*` bits. Every flag maps to a kernel flag or is
//! refused with `Unsupported`; none is dropped.
//!
//! `OOB` and `WAITALL` are stream flags: on datagram and raw sockets they are refused here,
//! because Linux silently ignores some of them there (`MSG_OOB` on an IPv6 UDP send, on a UDP
//! receive).

use unisock::{ErrorKind, RecvFlags, SendFlags};

use crate::error::{Error, Op};

/// `MSG_*` bits for a receive; `OOB` and `WAITALL` only on streams (`stream == true`).
#[inline]
pub(crate) fn recv_flags(flags: RecvFlags, stream: bool) -> Result<libc::c_int, Error> {
    let mut bits = 0;
    if flags.contains(RecvFlags::PEEK) {
        bits |= libc::MSG_PEEK;
    }
    if !stream && (flags.contains(RecvFlags::OOB) || flags.contains(RecvFlags::WAITALL)) {
        return Err(Error::invalid(
            Op::Recv,
            ErrorKind::Unsupported,
            "OOB and WAITALL apply to stream sockets only",
        ));
    }
    if flags.contains(RecvFlags::OOB) {
        bits |= libc::MSG_OOB;
    }
    if flags.contains(RecvFlags::WAITALL) {
        bits |= libc::MSG_WAITALL;
    }
    if !flags
        .without(RecvFlags::PEEK | RecvFlags::OOB | RecvFlags::WAITALL)
        .is_empty()
    {
        return Err(Error::invalid(
            Op::Recv,
            ErrorKind::Unsupported,
            "unknown receive flag",
        ));
    }
    Ok(bits)
}

/// `MSG_*` bits for a send (`MSG_NOSIGNAL` is added by the system layer); `OOB` only on
/// streams.
#[inline]
pub(crate) fn send_flags(flags: SendFlags, stream: bool) -> Result<libc::c_int, Error> {
    let mut bits = 0;
    if flags.contains(SendFlags::OOB) {
        if !stream {
            return Err(Error::invalid(
                Op::Send,
                ErrorKind::Unsupported,
                "OOB applies to stream sockets only",
            ));
        }
        bits |= libc::MSG_OOB;
    }
    if flags.contains(SendFlags::DONTROUTE) {
        bits |= libc::MSG_DONTROUTE;
    }
    if !flags
        .without(SendFlags::OOB | SendFlags::DONTROUTE)
        .is_empty()
    {
        return Err(Error::invalid(
            Op::Send,
            ErrorKind::Unsupported,
            "unknown send flag",
        ));
    }
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_maps() {
        assert_eq!(recv_flags(RecvFlags::NONE, true).unwrap(), 0);
        assert_eq!(
            recv_flags(RecvFlags::PEEK | RecvFlags::OOB | RecvFlags::WAITALL, true).unwrap(),
            libc::MSG_PEEK | libc::MSG_OOB | libc::MSG_WAITALL
        );
        assert_eq!(
            recv_flags(RecvFlags::WAITALL, false).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(
            recv_flags(RecvFlags::OOB, false).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(recv_flags(RecvFlags::PEEK, false).unwrap(), libc::MSG_PEEK);
        assert_eq!(
            send_flags(SendFlags::OOB | SendFlags::DONTROUTE, true).unwrap(),
            libc::MSG_OOB | libc::MSG_DONTROUTE
        );
        assert_eq!(
            send_flags(SendFlags::OOB, false).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(
            send_flags(SendFlags::DONTROUTE, false).unwrap(),
            libc::MSG_DONTROUTE
        );
    }
}
