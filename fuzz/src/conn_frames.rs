//! The `frames` and `frames_scaled` fuzz targets: arbitrary Ethernet frames into a smoltcp
//! stack (through unisock) that has a listening socket and an established connection, on a
//! virtual clock: nothing panics, the established stream only ever delivers bytes the peer
//! really sent in order (or reports an error), and after everything is closed the socket pool
//! drains within bounded virtual time.
//!
//! Input: a sequence of records `[flags: u8][advance: u8][len: u16][frame: len bytes]`.
//! Flag bit 0: rewrite the IPv4 header and TCP checksums of the frame (so mutations get past
//! checksum verification); bit 1: address the frame to the established connection (the
//! frame's TCP ports and the stack's address are patched in); bit 2 (with bit 1): place it in
//! the connection's sequence space (sequence number = the first one after "hello" plus the
//! frame's own modulo 2^17, acknowledgment = the stack's next); bit 3: the application reads
//! up to `advance * 64` bytes after the frame (the receive window reopens); `advance` is
//! virtual milliseconds to let pass after the frame.
//!
//! `frames_scaled` runs the same with 96 KiB socket buffers, a 10 ms delayed ACK and a handshake
//! that offers window scaling (shift 7), so the stack advertises a scaled window: the paths of smoltcp patches 8,
//! 12 and 13 (window edges under scaling, zero windows and their updates).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use unisock::prelude::*;
use unisock::{StreamListener, StreamSocket};

use crate::faults::frames::{Tcp, checksum, flags, tcp_checksum};
use crate::faults::peer::{PEER_IP, Peer, STACK_IP};
use crate::input::Input;

const PORT: u16 = 80;
const CLIENT_PORT: u16 = 41000;

/// Patch the frame to the connection's ports and fix checksums as asked.
fn patch(frame: &mut [u8], fix: bool, to_conn: bool) {
    if frame.len() < 34 || frame[12..14] != [8, 0] {
        return;
    }
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    if to_conn && frame[23] == 6 && frame.len() >= 14 + ihl.max(20) + 4 {
        let t = 14 + ihl.max(20);
        frame[26..30].copy_from_slice(&PEER_IP);
        frame[30..34].copy_from_slice(&STACK_IP);
        frame[t..t + 2].copy_from_slice(&CLIENT_PORT.to_be_bytes());
        frame[t + 2..t + 4].copy_from_slice(&PORT.to_be_bytes());
    }
    if !fix || ihl < 20 || frame.len() < 14 + ihl {
        return;
    }
    frame[24] = 0;
    frame[25] = 0;
    let sum = checksum(0, &frame[14..14 + ihl]);
    frame[24..26].copy_from_slice(&sum.to_be_bytes());
    let total = usize::from(u16::from_be_bytes([frame[16], frame[17]]));
    if frame[23] == 6 && total >= ihl + 20 && 14 + total <= frame.len() {
        let (src, dst) = (
            [frame[26], frame[27], frame[28], frame[29]],
            [frame[30], frame[31], frame[32], frame[33]],
        );
        let seg = &mut frame[14 + ihl..14 + total];
        seg[16] = 0;
        seg[17] = 0;
        let sum = tcp_checksum(src, dst, seg);
        seg[16..18].copy_from_slice(&sum.to_be_bytes());
    }
}

/// Where the connection's sequence spaces start (for flag bit 2).
#[derive(Clone, Copy)]
struct Seqs {
    /// The peer's next sequence number after "hello".
    peer: u32,
    /// The stack's next sequence number.
    stack: u32,
}

/// Rewrite the sequence and acknowledgment numbers of a TCP frame (IPv4 in Ethernet) to lie
/// in the connection's spaces (before the checksums are fixed).
fn place(frame: &mut [u8], seqs: Seqs) {
    if frame.len() < 34 || frame[12..14] != [8, 0] || frame[23] != 6 {
        return;
    }
    let t = 14 + (usize::from(frame[14] & 0x0f) * 4).max(20);
    if frame.len() < t + 12 {
        return;
    }
    let off = u32::from_be_bytes([frame[t + 4], frame[t + 5], frame[t + 6], frame[t + 7]]);
    let seq = seqs.peer.wrapping_add(off % (1 << 17));
    frame[t + 4..t + 8].copy_from_slice(&seq.to_be_bytes());
    frame[t + 8..t + 12].copy_from_slice(&seqs.stack.to_be_bytes());
}

/// Read up to `max` bytes from `conn` into `got`, stopping at the first call that returns
/// no data, end of stream or an error.
fn read<T: StreamSocket>(conn: &mut T, max: usize, got: &mut Vec<u8>) {
    let mut buf = [0u8; 4096];
    let mut left = max;
    while left > 0 {
        let n = left.min(buf.len());
        match conn.try_read(&mut buf[..n]) {
            Ok(0) | Err(_) => return,
            Ok(k) => {
                got.extend_from_slice(&buf[..k]);
                left -= k;
            }
        }
    }
}

/// One fuzz input (see the module doc); `scaled`: 96 KiB buffers, delayed ACKs, window
/// scaling.
pub fn run(data: &[u8], scaled: bool) {
    let peer = if scaled {
        Peer::with_buffers(96 * 1024, Some(Duration::from_millis(10)))
    } else {
        Peer::new()
    };
    let options: &[u8] = if scaled { &[1, 3, 3, 7] } else { &[] };

    let net = peer.net();
    let at = SocketAddr::new(Ipv4Addr::from(STACK_IP).into(), PORT);
    let Ok(mut listener) = net.listen(at, 2) else {
        panic!("listen on a fresh stack failed");
    };
    let (mine, theirs) = peer
        .handshake_with(CLIENT_PORT, PORT, 1_000_000, options)
        .expect("handshake");
    let (mut conn, _) = listener.try_accept().expect("accept the handshake");
    // Known good data first, so the stream has something to protect.
    let hello = Tcp {
        payload: b"hello".to_vec(),
        ..peer.seg(CLIENT_PORT, PORT, mine, theirs, flags::ACK | flags::PSH)
    };
    peer.exchange(&hello, Duration::from_millis(5));

    let seqs = Seqs {
        peer: mine.wrapping_add(5),
        stack: theirs,
    };
    let mut got = Vec::new();
    let mut input = Input::new(data);
    let mut records = 0;
    while !input.is_empty() && records < 64 {
        records += 1;
        let f = input.u8();
        let advance = u64::from(input.u8());
        let len = usize::from(input.u16() % 2048);
        let mut frame = input.bytes(len).to_vec();
        if f & 6 == 6 {
            place(&mut frame, seqs);
        }
        patch(&mut frame, f & 1 != 0, f & 2 != 0);
        peer.send(&frame);
        peer.run(Duration::from_millis(advance.max(1)));
        if f & 8 != 0 {
            read(&mut conn, advance as usize * 64, &mut got);
        }
        let _ = listener.try_accept();
    }

    // What the connection delivers starts with the bytes really sent ("hello"), and any
    // further byte came from a (fuzzed) segment: the check is that nothing panics and the
    // stream reports either data, end of stream or a typed error.
    read(&mut conn, 1 << 20, &mut got);
    assert!(
        got.len() < 5 || got.starts_with(b"hello"),
        "the stream lost or changed the first bytes"
    );
    let _ = conn.try_write(b"reply");
    drop(conn);
    drop(listener);
    // Everything closed: the pool drains within bounded virtual time.
    for _ in 0..400 {
        if net.open_sockets() == 0 {
            break;
        }
        peer.run(Duration::from_millis(500));
    }
    assert_eq!(
        net.open_sockets(),
        0,
        "sockets left after close and 200 s of virtual time"
    );
}
