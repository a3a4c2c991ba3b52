//! `sendmmsg` / `recvmmsg` over stack arrays: chunks of at most [`CHUNK`] datagrams, each with
//! its `mmsghdr`, `iovec` and `sockaddr_storage`, and no heap allocation.
//!
//! With `gso`, [`send_batch`] coalesces every run of messages to one destination with one
//! payload length (the run's last may be shorter) into a single `mmsghdr` whose iovecs are
//! the messages and whose `UDP_SEGMENT` control message is that length: the kernel builds
//! one super-packet and cuts it into exactly the same datagrams (UDP segmentation offload),
//! so a receiver sees what separate sends would have produced, for a fraction of the
//! per-datagram cost. If the kernel refuses segmentation for a chunk (no checksum offload
//! on the route's device, a segment above the path MTU: `EIO`/`EINVAL`), that chunk is sent
//! again without it.

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

/// Most datagrams in one `UDP_SEGMENT` send (`UDP_MAX_SEGMENTS` was 64 when the option
/// appeared in Linux 4.18; later kernels allow 128).
const GSO_MAX_SEGMENTS: usize = 64;
/// Most payload bytes in one `UDP_SEGMENT` send (an IPv4 datagram's 65535 bytes less the IP
/// and UDP headers).
const GSO_MAX_BYTES: usize = 65507;

/// Room for one `UDP_SEGMENT` control message (`CMSG_SPACE(2)` is 24 on 64-bit Linux),
/// aligned for `cmsghdr`.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct SegmentControl([u8; 32]);

/// How many messages from the front of `msgs` one segmented send can carry: one destination,
/// one non-zero length (the last may be shorter), within the kernel's limits. At least 1 for
/// a non-empty slice.
pub(crate) fn gso_run<F: Family>(msgs: &[SendMsg<'_, F>]) -> usize {
    let Some(first) = msgs.first() else {
        return 0;
    };
    let segment = first.data.len();
    if segment == 0 {
        return 1;
    }
    let (mut n, mut total) = (1, segment);
    for m in &msgs[1..] {
        let len = m.data.len();
        if n == GSO_MAX_SEGMENTS
            || m.to != first.to
            || len == 0
            || len > segment
            || total + len > GSO_MAX_BYTES
        {
            break;
        }
        n += 1;
        total += len;
        if len < segment {
            break;
        }
    }
    n
}

/// Send `msgs` (a `to` of `None` goes to the connected peer). Blocks for the first chunk only;
/// later chunks are sent with `MSG_DONTWAIT` and stop at the first that would block. With
/// `gso`, runs of equal-size datagrams to one destination go as one segmented send each (see
/// the module docs).
pub(crate) fn send_batch<F: Family>(
    sock: &Socket,
    msgs: &[SendMsg<'_, F>],
    gso: bool,
) -> Result<usize, Error> {
    let mut sent = 0;
    for chunk in msgs.chunks(CHUNK) {
        let flags = libc::MSG_NOSIGNAL | if sent == 0 { 0 } else { libc::MSG_DONTWAIT };
        let mut r = send_chunk(sock, chunk, flags, gso);
        if gso && matches!(r, Err((libc::EIO | libc::EINVAL, true))) {
            r = send_chunk(sock, chunk, flags, false);
        }
        match r {
            Ok(n) => {
                sent += n;
                if n < chunk.len() {
                    break;
                }
            }
            Err((e, _)) if sent == 0 => {
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

/// One `sendmmsg` for at most [`CHUNK`] messages; returns how many messages went out, or the
/// error and whether any header of the call was segmented.
fn send_chunk<F: Family>(
    sock: &Socket,
    chunk: &[SendMsg<'_, F>],
    flags: libc::c_int,
    gso: bool,
) -> Result<usize, (super::Errno, bool)> {
    let mut addrs: [MaybeUninit<SockAddr>; CHUNK] = [const { MaybeUninit::uninit() }; CHUNK];
    let mut iovs: [libc::iovec; CHUNK] = zeroed();
    let mut hdrs: [libc::mmsghdr; CHUNK] = zeroed();
    let mut controls = [SegmentControl([0; 32]); CHUNK];
    // Messages carried by each header.
    let mut counts = [0usize; CHUNK];
    for (i, msg) in chunk.iter().enumerate() {
        iovs[i] = libc::iovec {
            iov_base: msg.data.as_ptr().cast_mut().cast(),
            iov_len: msg.data.len(),
        };
    }
    let (mut next, mut nhdrs, mut segmented) = (0, 0, false);
    while next < chunk.len() {
        let run = if gso { gso_run(&chunk[next..]) } else { 1 };
        let msg = &chunk[next];
        let hdr = &mut hdrs[nhdrs].msg_hdr;
        if let Some(to) = msg.to {
            let a = addrs[nhdrs].write(to.to_sockaddr());
            hdr.msg_name = a.as_mut_ptr().cast();
            hdr.msg_namelen = a.len();
        }
        hdr.msg_iov = &raw mut iovs[next];
        hdr.msg_iovlen = run;
        if run > 1 {
            segmented = true;
            let control = &mut controls[nhdrs];
            hdr.msg_control = control.0.as_mut_ptr().cast();
            // SAFETY: CMSG_SPACE only computes a size.
            hdr.msg_controllen =
                unsafe { libc::CMSG_SPACE(mem::size_of::<u16>() as libc::c_uint) } as _;
            // The run's first length is its segment size; `gso_run` keeps it at most
            // GSO_MAX_BYTES, so it fits a u16.
            let segment = u16::try_from(msg.data.len()).unwrap_or(u16::MAX);
            // SAFETY: `msg_control` points to `control` (aligned for `cmsghdr`, 32 bytes, at
            // least `msg_controllen`), so CMSG_FIRSTHDR returns a writable header inside it
            // and CMSG_DATA a pointer to 2 writable bytes after that header.
            unsafe {
                let cmsg = libc::CMSG_FIRSTHDR(hdr);
                (*cmsg).cmsg_level = libc::SOL_UDP;
                (*cmsg).cmsg_type = libc::UDP_SEGMENT;
                (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<u16>() as libc::c_uint) as _;
                ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<u16>(), segment);
            }
        }
        counts[nhdrs] = run;
        nhdrs += 1;
        next += run;
    }
    // SAFETY: the first `nhdrs` headers point to live iovecs (over borrowed, readable
    // buffers), addresses and control buffers in this stack frame; the kernel only reads them.
    let r = super::syscall!(unsafe {
        libc::sendmmsg(sock.raw(), hdrs.as_mut_ptr(), nhdrs as libc::c_uint, flags)
    });
    match r {
        Ok(n) => {
            let n = usize::try_from(n).unwrap_or(0).min(nhdrs);
            Ok(counts[..n].iter().sum())
        }
        Err(e) => Err((e, segmented)),
    }
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
