//! Copying payload between the application's buffers and smoltcp's socket rings.
//!
//! [`copy`] is `copy_from_slice` except for one case: on x86-64, a copy longer than
//! [`CHUNK`] whose destination lies 1 to [`ALIAS`] − 1 bytes past its source modulo 4 KiB
//! is done in [`CHUNK`]-byte pieces. glibc before 2.40 copies blocks above about 2 KiB with
//! `rep movsb`, which AMD Zen 3/4 cores run at a twentieth of their speed with that
//! relative alignment (glibc bug 30994; 2.40 stopped using `rep movsb` on those cores).
//! Measured on this project's Zen 4 machine with glibc 2.36, 64 KiB copies from a 2 MiB
//! ring: 2-3 GB/s with the destination 1 to 15 bytes ahead, 29-47 GB/s otherwise; in
//! 2 KiB pieces (glibc's vector loop) 40 GB/s for the bad case too.
//!
//! A reader's buffer keeps its alignment relative to the receive ring for a whole transfer
//! (full reads advance the ring by multiples of 4 KiB), so an unlucky buffer made every read
//! of a stream slow: `bench inproc`, MTU 65535, async on one thread, 16 Gbit/s against 40+
//! with the buffer moved by 16 bytes.

use smoltcp::socket::tcp;

/// Pieces of this size stay below glibc's `rep movsb` threshold (2,112 bytes by default
/// on x86-64).
pub(crate) const CHUNK: usize = 2048;

/// Destinations this close past their source (modulo 4 KiB) are copied in pieces; the slow
/// range measured is 1..=15, the margin covers a cache line.
pub(crate) const ALIAS: usize = 64;

/// Whether copying `len` bytes from `src` to `dst` is copied in pieces (see the module doc).
#[inline]
pub(crate) fn in_pieces(dst: *const u8, src: *const u8, len: usize) -> bool {
    cfg!(target_arch = "x86_64")
        && len > CHUNK
        && ((dst as usize).wrapping_sub(src as usize) % 4096).wrapping_sub(1) < ALIAS - 1
}

/// `dst.copy_from_slice(src)`, avoiding the slow relative alignment of the module doc.
/// `dst` and `src` must have the same length (as `copy_from_slice` requires; it panics
/// otherwise, so callers pass equal lengths).
#[inline]
pub(crate) fn copy(dst: &mut [u8], src: &[u8]) {
    if in_pieces(dst.as_ptr(), src.as_ptr(), src.len()) {
        for (d, s) in dst.chunks_mut(CHUNK).zip(src.chunks(CHUNK)) {
            d.copy_from_slice(s);
        }
    } else {
        dst.copy_from_slice(src);
    }
}

/// `recv_slice` with [`copy`]: dequeue up to `buf.len()` bytes of `s`'s receive ring, both
/// parts when the data wraps around its end. Errors as `recv_slice` (checked by the first
/// dequeue; an error of the second is the state after the data, reported by the next call).
pub(crate) fn recv_into(s: &mut tcp::Socket<'_>, buf: &mut [u8]) -> Result<usize, tcp::RecvError> {
    in_two_parts(|done| {
        let rest = &mut buf[done..];
        s.recv(|ring| {
            let n = ring.len().min(rest.len());
            copy(&mut rest[..n], &ring[..n]);
            (n, n)
        })
    })
}

/// `send_slice` with [`copy`]: enqueue as much of `buf` as `s`'s send ring takes, both
/// parts when its free space wraps around its end. Errors as `send_slice`.
pub(crate) fn send_from(s: &mut tcp::Socket<'_>, buf: &[u8]) -> Result<usize, tcp::SendError> {
    in_two_parts(|done| {
        let rest = &buf[done..];
        s.send(|ring| {
            let n = ring.len().min(rest.len());
            copy(&mut ring[..n], &rest[..n]);
            (n, n)
        })
    })
}

/// Run `part(done)` (move bytes through the ring's contiguous part, return how many) at most
/// twice, since a ring's data or free space is in at most two parts: until it moves nothing.
/// An error of the first call is the result; one of the second ends the loop with what was
/// moved.
fn in_two_parts<E>(mut part: impl FnMut(usize) -> Result<usize, E>) -> Result<usize, E> {
    let mut done = 0;
    for i in 0..2 {
        match part(done) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if i == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    #[test]
    fn pieces_only_for_long_copies_just_past_the_source() {
        let base = 0x10_000usize as *const u8;
        let at = |off: usize| (0x20_000usize + off) as *const u8;
        assert!(!in_pieces(at(0), base, 65536), "same alignment");
        assert!(in_pieces(at(1), base, 65536));
        assert!(in_pieces(at(15), base, 65536));
        assert!(in_pieces(at(63), base, 65536));
        assert!(!in_pieces(at(64), base, 65536));
        assert!(
            !in_pieces(at(4095), base, 65536),
            "destination before the source"
        );
        assert!(
            !in_pieces(at(7), base, CHUNK),
            "short copies go to memcpy whole"
        );
    }

    #[test]
    fn copies_every_byte_in_either_path() {
        let src: std::vec::Vec<u8> = (0..70_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut big = std::vec![0u8; 80_000];
        for rel in [0usize, 1, 7, 15, 63, 64, 2000] {
            // Place the destination `rel` bytes past the source, modulo 4 KiB.
            let want = (src.as_ptr() as usize + rel) % 4096;
            let off = (want + 4096 - big.as_ptr() as usize % 4096) % 4096;
            for len in [0usize, 1, CHUNK, CHUNK + 1, 65536] {
                let dst = &mut big[off..off + len];
                dst.fill(0);
                let pieces = in_pieces(dst.as_ptr(), src.as_ptr(), len);
                assert_eq!(
                    pieces,
                    len > CHUNK && (1..64).contains(&rel),
                    "{rel}, {len}"
                );
                copy(dst, &src[..len]);
                assert_eq!(&dst[..], &src[..len], "{rel} bytes past, length {len}");
            }
        }
    }
}
