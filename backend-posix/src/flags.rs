//! [`RecvFlags`] and [`SendFlags`] to `MSG_*` bits. Every flag maps to a kernel flag or is
//! refused with `Unsupported`; none is dropped.

use unisock::{ErrorKind, RecvFlags, SendFlags};

use crate::error::{Error, Op};

/// `MSG_*` bits for a receive; `WAITALL` only on streams (`stream == true`).
#[inline]
pub(crate) fn recv_flags(flags: RecvFlags, stream: bool) -> Result<libc::c_int, Error> {
    let mut bits = 0;
    if flags.contains(RecvFlags::PEEK) {
        bits |= libc::MSG_PEEK;
    }
    if flags.contains(RecvFlags::OOB) {
        bits |= libc::MSG_OOB;
    }
    if flags.contains(RecvFlags::WAITALL) {
        if !stream {
            return Err(Error::invalid(
                Op::Recv,
                ErrorKind::Unsupported,
                "WAITALL applies to stream sockets only",
            ));
        }
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

/// `MSG_*` bits for a send (`MSG_NOSIGNAL` is added by the system layer).
#[inline]
pub(crate) fn send_flags(flags: SendFlags) -> Result<libc::c_int, Error> {
    let mut bits = 0;
    if flags.contains(SendFlags::OOB) {
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
            send_flags(SendFlags::OOB | SendFlags::DONTROUTE).unwrap(),
            libc::MSG_OOB | libc::MSG_DONTROUTE
        );
    }
}
