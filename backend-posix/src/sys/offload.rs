//! UDP segmentation offload: `sendmsg` with a `UDP_SEGMENT` control message (GSO: one call
//! sends a buffer as many equal-size datagrams) and `recvmsg` reading the `UDP_GRO` control
//! message (GRO: the kernel hands over several datagrams of one flow as one buffer). Control
//! buffers live on the stack.

use core::mem;
use core::ptr;

use super::{SockAddr, Socket};

/// Room for one control message with up to 8 bytes of data, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct ControlBuf([u8; 32]);

/// `sendmsg(buf)` to `to` (or the connected peer) with `UDP_SEGMENT = segment`; returns the
/// bytes sent (the whole buffer on success).
pub(crate) fn send_segments(
    sock: &Socket,
    buf: &[u8],
    segment: u16,
    to: Option<&SockAddr>,
    flags: libc::c_int,
) -> super::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: buf.as_ptr().cast_mut().cast(),
        iov_len: buf.len(),
    };
    let mut control = ControlBuf([0; 32]);
    // SAFETY: `msghdr` is plain C data; all-zero (null pointers, zero lengths) is valid.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    if let Some(to) = to {
        msg.msg_name = to.as_ptr().cast_mut().cast();
        msg.msg_namelen = to.len();
    }
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(mem::size_of::<u16>() as libc::c_uint) } as _;
    // SAFETY: `msg_control` points to `control`, which is aligned for `cmsghdr` and at least
    // `msg_controllen` (CMSG_SPACE(2) = 24 on 64-bit Linux) bytes long, so CMSG_FIRSTHDR
    // returns a valid, writable header inside it, and CMSG_DATA a pointer to 2 writable bytes
    // after it.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_UDP;
        (*cmsg).cmsg_type = libc::UDP_SEGMENT;
        (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<u16>() as libc::c_uint) as _;
        ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<u16>(), segment);
    }
    // SAFETY: `msg` points to the live iovec over `buf` (only read), the optional address and
    // the control buffer, all in this frame.
    let n =
        super::syscall!(unsafe { libc::sendmsg(sock.raw(), &msg, flags | libc::MSG_NOSIGNAL) })?;
    Ok(super::len(n))
}

/// `recvmsg(buf, flags | MSG_TRUNC)`: the full length, the sender, and the segment size from
/// a `UDP_GRO` control message if the kernel coalesced several datagrams.
pub(crate) fn recv_segments(
    sock: &Socket,
    buf: &mut [u8],
    flags: libc::c_int,
) -> super::Result<(usize, SockAddr, Option<usize>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut addr = SockAddr::empty();
    let mut control = ControlBuf([0; 32]);
    // SAFETY: `msghdr` is plain C data; all-zero (null pointers, zero lengths) is valid.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = addr.as_mut_ptr().cast();
    msg.msg_namelen = addr.len();
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = control.0.len() as _;
    // SAFETY: `msg` points to the live iovec over `buf` (exclusively borrowed), the address
    // storage and the control buffer, all in this frame, with their true lengths.
    let n =
        super::syscall!(unsafe { libc::recvmsg(sock.raw(), &mut msg, flags | libc::MSG_TRUNC) })?;
    addr.set_len(msg.msg_namelen);
    let mut segment = None;
    // SAFETY: the kernel filled `msg_controllen` bytes of `control` with well-formed control
    // messages; CMSG_FIRSTHDR/CMSG_NXTHDR stay within them and return null at the end.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: `cmsg` is non-null and points to a header inside `control` (see above).
        let hdr = unsafe { &*cmsg };
        if hdr.cmsg_level == libc::SOL_UDP && hdr.cmsg_type == libc::UDP_GRO {
            // SAFETY: a UDP_GRO message carries one `int` after its header.
            let size = unsafe { ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>()) };
            segment = usize::try_from(size).ok();
        }
        // SAFETY: as above; CMSG_NXTHDR returns null past the last message.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    Ok((super::len(n), addr, segment))
}
