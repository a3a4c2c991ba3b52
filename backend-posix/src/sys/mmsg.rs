//! `sendmmsg` / `recvmmsg` over stack arrays: chunks of at most [`CHUNK`] datagrams, each with
//! its `mmsghdr`, `iovec` and `sockaddr_storage`, and no heap allocation.

use core::mem::{self, MaybeUninit};
use core::ptr;

use unisock::{ErrorKind, RecvMeta, RecvSlot, SendMsg};

use super::{SockAddr, Socket};
use crate::error::{Error, Op};
use crate::family::Family;

/// Datagrams per system call.
pub(crate) const CHUNK: usize = 64;

fn zeroed<T>() -> T {
    // SAFETY: only used for `mmsghdr`, `iovec` and `sockaddr_storage`, plain C data for which
    // all-zero bytes (null pointers, zero lengths) are valid.
    unsafe { mem::zeroed() }
}

/// Send `msgs` (a `to` of `None` goes to the connected peer). Blocks for the first chunk only;
/// later chunks are sent with `MSG_DONTWAIT` and stop at the first that would block.
pub(crate) fn send_batch<F: Family>(
    sock: &Socket,
    msgs: &[SendMsg<'_, F>],
) -> Result<usize, Error> {
    let mut sent = 0;
    for chunk in msgs.chunks(CHUNK) {
        let mut addrs: [MaybeUninit<SockAddr>; CHUNK] = [const { MaybeUninit::uninit() }; CHUNK];
        let mut iovs: [libc::iovec; CHUNK] = zeroed();
        let mut hdrs: [libc::mmsghdr; CHUNK] = zeroed();
        for (i, msg) in chunk.iter().enumerate() {
            iovs[i] = libc::iovec {
                iov_base: msg.data.as_ptr().cast_mut().cast(),
                iov_len: msg.data.len(),
            };
            let hdr = &mut hdrs[i].msg_hdr;
            if let Some(to) = msg.to {
                let a = addrs[i].write(to.to_sockaddr());
                hdr.msg_name = a.as_mut_ptr().cast();
                hdr.msg_namelen = a.len();
            }
            hdr.msg_iov = &raw mut iovs[i];
            hdr.msg_iovlen = 1;
        }
        let flags = libc::MSG_NOSIGNAL | if sent == 0 { 0 } else { libc::MSG_DONTWAIT };
        // SAFETY: the first `chunk.len()` headers point to live iovecs (over borrowed,
        // readable buffers) and addresses in this stack frame; the kernel only reads them.
        let r = super::syscall!(unsafe {
            libc::sendmmsg(
                sock.raw(),
                hdrs.as_mut_ptr(),
                chunk.len() as libc::c_uint,
                flags,
            )
        });
        match r {
            Ok(n) => {
                let n = usize::try_from(n).unwrap_or(0);
                sent += n;
                if n < chunk.len() {
                    break;
                }
            }
            Err(e) if sent == 0 => {
                let err = Error::blocking(Op::Send, e);
                return Err(match chunk.first().and_then(|m| m.to) {
                    Some(to) => err.at(to),
                    None => err,
                });
            }
            Err(_) => break,
        }
    }
    Ok(sent)
}

/// Receive into `slots`: the first chunk waits for one datagram (`MSG_WAITFORONE`, bounded by
/// `SO_RCVTIMEO`), then takes what is queued; later chunks only take what is queued.
pub(crate) fn recv_batch<F: Family>(
    sock: &Socket,
    slots: &mut [RecvSlot<'_, F>],
) -> Result<usize, Error> {
    for slot in slots.iter_mut() {
        slot.meta = None;
    }
    let mut filled = 0;
    for chunk in slots.chunks_mut(CHUNK) {
        let mut addrs: [libc::sockaddr_storage; CHUNK] = zeroed();
        let mut iovs: [libc::iovec; CHUNK] = zeroed();
        let mut hdrs: [libc::mmsghdr; CHUNK] = zeroed();
        for (i, slot) in chunk.iter_mut().enumerate() {
            iovs[i] = libc::iovec {
                iov_base: slot.buf.as_mut_ptr().cast(),
                iov_len: slot.buf.len(),
            };
            let hdr = &mut hdrs[i].msg_hdr;
            hdr.msg_name = (&raw mut addrs[i]).cast();
            hdr.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            hdr.msg_iov = &raw mut iovs[i];
            hdr.msg_iovlen = 1;
        }
        let flags = libc::MSG_TRUNC
            | if filled == 0 {
                libc::MSG_WAITFORONE
            } else {
                libc::MSG_DONTWAIT
            };
        // SAFETY: the first `chunk.len()` headers point to live iovecs over the slots'
        // exclusively borrowed buffers and to address storage in this stack frame.
        let r = super::syscall!(unsafe {
            libc::recvmmsg(
                sock.raw(),
                hdrs.as_mut_ptr(),
                chunk.len() as libc::c_uint,
                flags,
                ptr::null_mut(),
            )
        });
        let n = match r {
            Ok(n) => usize::try_from(n).unwrap_or(0),
            Err(e) if filled == 0 => return Err(Error::blocking(Op::Recv, e)),
            Err(_) => break,
        };
        for i in 0..n.min(chunk.len()) {
            let full_len = hdrs[i].msg_len as usize;
            let mut addr = SockAddr::empty();
            *addr.storage_mut() = addrs[i];
            addr.set_len(hdrs[i].msg_hdr.msg_namelen);
            let Some(from) = F::from_sockaddr(&addr) else {
                // Cannot happen for a socket of family `F`; report what was received so far.
                filled += i;
                if filled == 0 {
                    return Err(Error::invalid(
                        Op::Recv,
                        ErrorKind::InvalidData,
                        "the kernel returned an address of another family",
                    ));
                }
                return Ok(filled);
            };
            let slot = &mut chunk[i];
            slot.meta = Some(RecvMeta {
                len: full_len.min(slot.buf.len()),
                full_len,
                from,
            });
        }
        filled += n;
        if n < chunk.len() {
            break;
        }
    }
    Ok(filled)
}
