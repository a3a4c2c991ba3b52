//! The bad-input catalogue (`unisock_conformance::faults::bad_input`) on both backends, plus
//! the backend-specific cases: stale descriptors on the kernel backend; stale and foreign
//! handles on smoltcp. The wire-level cases for smoltcp (malformed frames fed to listening and
//! established sockets) are in the `wire` module at the end.
//!
//! The kernel backend runs inside a private network namespace (root; without root it runs on
//! the host's loopback and skips the cases that would address anything else), where a TAP
//! device that nobody reads gives a silent host (`unisock_conformance::faults::setup`).

use std::net::{Ipv4Addr, SocketAddr};

use unisock::ErrorKind;
use unisock_conformance::faults::bad_input::{Expect, Net};
use unisock_conformance::faults::setup;

mod posix {
    use super::*;
    use std::os::fd::OwnedFd;

    use unisock::prelude::*;
    use unisock_conformance::util::{assert_kind, serial};
    use unisock_posix::{PosixStack, TcpStream, UdpSocket};

    const EXPECT: Expect = Expect {
        name: "posix",
        stream_to_group: ErrorKind::NetworkUnreachable,
    };

    fn with_net(f: impl FnOnce(&Net<PosixStack>) + Send) {
        setup::posix(EXPECT, &[], f)
    }

    unisock_conformance::bad_input_tests!(with_net;
        connect_unspecified_remote,
        connect_port_zero,
        connect_broadcast_or_multicast,
        family_mismatch,
        bind_non_local,
        double_bind,
        datagram_before_connect,
        after_shutdown,
        zero_length_buffers,
        datagram_truncation,
        oversize_datagram,
        malformed_targets,
        errors_keep_the_stream,
        connect_silent_host_times_out,
    );

    /// A descriptor that is not a socket, adopted as one: every call fails with
    /// `StaleHandle` (`ENOTSOCK`), nothing panics.
    #[test]
    fn descriptor_that_is_not_a_socket_is_stale() {
        let _serial = serial();
        let file = std::fs::File::open("/dev/null").expect("open /dev/null");
        let mut s = TcpStream::from(OwnedFd::from(file));
        let mut buf = [0u8; 4];
        assert_kind(s.try_read(&mut buf), ErrorKind::StaleHandle);
        assert_kind(s.send(b"x", SendFlags::NONE), ErrorKind::StaleHandle);
        assert_kind(s.peer_addr(), ErrorKind::StaleHandle);
        assert_kind(s.local_addr(), ErrorKind::StaleHandle);
        assert_kind(s.shutdown(Shutdown::Both), ErrorKind::StaleHandle);
        let file = std::fs::File::open("/dev/null").expect("open /dev/null");
        let mut u = UdpSocket::from(OwnedFd::from(file));
        assert_kind(
            u.try_recv_from(&mut buf, RecvFlags::NONE),
            ErrorKind::StaleHandle,
        );
        assert_kind(
            u.send_to(
                b"x",
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 9),
                SendFlags::NONE,
            ),
            ErrorKind::StaleHandle,
        );
    }
}

mod smoltcp_loopback {
    use super::*;

    use unisock::prelude::*;
    use unisock_conformance::util::assert_kind;
    use unisock_smoltcp::{Config, StdStack};

    const EXPECT: Expect = Expect {
        name: "smoltcp-loopback",
        stream_to_group: ErrorKind::NetworkUnreachable,
    };

    fn with_net(f: impl FnOnce(&Net<&setup::Loop>)) {
        setup::smoltcp(EXPECT, Config::loopback(), f)
    }

    unisock_conformance::bad_input_tests!(with_net;
        connect_unspecified_remote,
        connect_port_zero,
        connect_broadcast_or_multicast,
        family_mismatch,
        bind_non_local,
        double_bind,
        datagram_before_connect,
        after_shutdown,
        zero_length_buffers,
        datagram_truncation,
        oversize_datagram,
        malformed_targets,
        errors_keep_the_stream,
        connect_silent_host_times_out,
    );

    /// A handle of a closed socket is stale, also after its slot was reused (generation
    /// check); a handle from another stack is stale on this one.
    #[test]
    fn stale_and_foreign_handles() {
        let a = StdStack::loopback(Config::loopback()).expect("stack a");
        let b = StdStack::loopback(Config::loopback()).expect("stack b");
        let (sa, sb) = (a.stack(), b.stack());
        let s = sa.tcp_socket(Domain::Ipv4).expect("tcp_socket");
        let h = s.handle();
        assert!(sa.socket_info(h).is_ok(), "a live handle is valid");
        assert_kind(sb.socket_info(h), ErrorKind::StaleHandle);
        drop(s);
        assert_kind(sa.socket_info(h), ErrorKind::StaleHandle);
        // Reuse the slots: the old handle must not alias a new socket.
        let again: Vec<_> = (0..4)
            .map(|_| sa.tcp_socket(Domain::Ipv4).expect("tcp"))
            .collect();
        assert!(
            again.iter().all(|s| s.handle() != h),
            "a new socket got the old handle"
        );
        assert_kind(sa.socket_info(h), ErrorKind::StaleHandle);
        drop(again);
        assert_eq!(sa.open_sockets(), 0);
        assert_eq!(sb.open_sockets(), 0);
    }
}

/// Wire-level cases on the smoltcp backend: fixed frames fed to a listening and an established
/// socket (`unisock_conformance::faults::peer`). Malformed frames get no reply and change
/// nothing; the sockets keep working afterwards.
mod wire {
    use std::net::SocketAddr;

    use unisock::prelude::*;
    use unisock::{StreamListener, StreamSocket};
    use unisock_conformance::faults::frames::flags::{ACK, PSH, RST, SYN};
    use unisock_conformance::faults::frames::{Tcp, checksum, ethernet, ipv4, tcp_checksum};
    use unisock_conformance::faults::peer::{PEER_IP, PEER_MAC, Peer, STACK_IP, STACK_MAC, ms};
    use unisock_conformance::util::{assert_kind, ok};

    const PORT: u16 = 80;

    /// Run a case on a fresh stack; afterwards (its sockets dropped) the stack's pool must
    /// drain within a minute of virtual time past `unisock_smoltcp::ORPHAN_LIMIT` (after which
    /// orphaned connections that make no progress are aborted).
    fn with_peer(f: impl FnOnce(&Peer)) {
        with_peer_of(Peer::new(), f)
    }

    /// [`with_peer`] on a given peer (and its stack).
    fn with_peer_of(peer: Peer, f: impl FnOnce(&Peer)) {
        f(&peer);
        for _ in 0..(unisock_smoltcp::ORPHAN_LIMIT.as_secs() + 60) * 2 {
            if peer.net().open_sockets() == 0 {
                return;
            }
            peer.run(ms(500));
        }
        panic!("{} sockets left after the case", peer.net().open_sockets());
    }

    fn at() -> SocketAddr {
        SocketAddr::new(std::net::Ipv4Addr::from(STACK_IP).into(), PORT)
    }

    /// Rewrite the IPv4 header checksum of an Ethernet frame after editing the header.
    fn fix_ip_checksum(f: &mut [u8]) {
        let ihl = usize::from(f[14] & 0x0f).max(5) * 4;
        f[24] = 0;
        f[25] = 0;
        let end = (14 + ihl).min(f.len());
        let sum = checksum(0, &f[14..end]);
        f[24..26].copy_from_slice(&sum.to_be_bytes());
    }

    fn syn(peer: &Peer, sport: u16) -> Tcp {
        peer.seg(sport, PORT, 1000, 0, SYN)
    }

    #[test]
    fn malformed_frames_to_a_listener_are_dropped_silently() {
        with_peer(|peer| {
            let mut l = ok(peer.net().listen(at(), 2), "listen");
            let good = syn(peer, 40000).frame(STACK_MAC, PEER_MAC);
            let tcp_bytes = syn(peer, 40000).bytes();
            let mut cases: Vec<(&str, Vec<u8>)> = vec![
                ("truncated Ethernet header", good[..10].to_vec()),
                ("Ethernet header only", good[..14].to_vec()),
                ("truncated IPv4 header", good[..14 + 12].to_vec()),
                (
                    "truncated TCP header",
                    ethernet(
                        STACK_MAC,
                        PEER_MAC,
                        0x0800,
                        &ipv4(PEER_IP, STACK_IP, 6, &tcp_bytes[..10]),
                    ),
                ),
            ];
            let mut ihl4 = good.clone();
            ihl4[14] = 0x44;
            fix_ip_checksum(&mut ihl4);
            cases.push(("IHL < 5", ihl4));
            let mut short_total = good.clone();
            short_total[16..18].copy_from_slice(&16u16.to_be_bytes());
            fix_ip_checksum(&mut short_total);
            cases.push(("total length < header length", short_total));
            let mut long_total = good.clone();
            long_total[16..18].copy_from_slice(&1400u16.to_be_bytes());
            fix_ip_checksum(&mut long_total);
            cases.push(("total length beyond the frame", long_total));
            let mut offset = tcp_bytes.clone();
            offset[12] = 15 << 4; // 60-byte header in a 20-byte segment
            offset[16] = 0;
            offset[17] = 0;
            let sum = tcp_checksum(PEER_IP, STACK_IP, &offset);
            offset[16..18].copy_from_slice(&sum.to_be_bytes());
            cases.push((
                "TCP data offset beyond the segment",
                ethernet(
                    STACK_MAC,
                    PEER_MAC,
                    0x0800,
                    &ipv4(PEER_IP, STACK_IP, 6, &offset),
                ),
            ));
            let mut bad_sum = good.clone();
            let last = bad_sum.len() - 1;
            bad_sum[last - 2] ^= 0x40; // inside the TCP header: checksum no longer matches
            cases.push(("bad TCP checksum", bad_sum));
            for (what, frame) in &cases {
                peer.send(frame);
                let (segs, _) = peer.run(ms(20));
                assert!(segs.is_empty(), "{what}: the stack replied {segs:?}");
                assert_kind(l.try_accept(), ErrorKind::WouldBlock);
            }
            // The listener still works.
            assert!(
                peer.handshake(40001, PORT, 7000).is_some(),
                "no SYN-ACK after the garbage"
            );
            ok(l.try_accept(), "accept after the garbage");
        });
    }

    #[test]
    fn syn_to_a_closed_port_gets_rst() {
        with_peer(|peer| {
            let replies = peer.exchange(&peer.seg(40000, 81, 5000, 0, SYN), ms(50));
            let rst: Vec<&Tcp> = replies.iter().filter(|t| t.flags & RST != 0).collect();
            assert_eq!(rst.len(), 1, "expected one RST, got {replies:?}");
            assert_eq!(rst[0].ack, 5001, "RST acknowledges the SYN");
            assert!(
                rst[0].flags & ACK != 0 && rst[0].flags & SYN == 0,
                "{:?}",
                rst[0]
            );
            assert_eq!((rst[0].sport, rst[0].dport), (81, 40000));
        });
    }

    #[test]
    fn syn_from_the_unspecified_address_is_ignored() {
        with_peer(|peer| {
            let mut l = ok(peer.net().listen(at(), 2), "listen");
            let mut s = syn(peer, 40000);
            s.src = [0, 0, 0, 0];
            let replies = peer.exchange(&s, ms(50));
            assert!(replies.is_empty(), "replied to 0.0.0.0: {replies:?}");
            assert_kind(l.try_accept(), ErrorKind::WouldBlock);
            assert!(
                peer.handshake(40002, PORT, 9000).is_some(),
                "listener broken afterwards"
            );
            ok(l.try_accept(), "accept");
        });
    }

    /// An established connection made by hand: (peer, stream, peer's next seq, stack's next seq).
    fn established(
        peer: &Peer,
    ) -> (
        unisock_smoltcp::TcpStream<
            '_,
            'static,
            impl smoltcp::phy::Device,
            impl unisock_smoltcp::Clock,
            impl unisock_smoltcp::Wait,
        >,
        u32,
        u32,
    ) {
        let mut l = ok(peer.net().listen(at(), 1), "listen");
        let (mine, theirs) = peer.handshake(41000, PORT, 100_000).expect("handshake");
        let (s, _) = ok(l.try_accept(), "accept");
        (s, mine, theirs)
    }

    fn data(peer: &Peer, seq: u32, ack: u32, payload: &[u8]) -> Tcp {
        Tcp {
            payload: payload.to_vec(),
            ..peer.seg(41000, PORT, seq, ack, ACK | PSH)
        }
    }

    fn read_now<T: StreamSocket>(s: &mut T) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match s.try_read(&mut buf) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.socket_kind() == ErrorKind::WouldBlock => return out,
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    #[test]
    fn out_of_window_rst_is_ignored() {
        with_peer(|peer| {
            let (mut s, mine, theirs) = established(peer);
            let mut rst = peer.seg(41000, PORT, mine.wrapping_add(1_000_000), 0, RST);
            rst.window = 0;
            peer.exchange(&rst, ms(20));
            // Still established: data flows both ways.
            peer.exchange(&data(peer, mine, theirs, b"still here"), ms(20));
            assert_eq!(read_now(&mut s), b"still here");
            ok(s.try_write(b"pong"), "write after the bogus RST");
            let (segs, _) = peer.run(ms(20));
            assert!(
                segs.iter().any(|t| t.payload == b"pong"),
                "no data after the bogus RST: {segs:?}"
            );
        });
    }

    #[test]
    fn data_beyond_the_receive_window_is_not_delivered() {
        with_peer(|peer| {
            let (mut s, mine, theirs) = established(peer);
            // The stack's receive buffer (its window) is 4096 bytes; this lies past it.
            let replies = peer.exchange(
                &data(peer, mine.wrapping_add(10_000), theirs, &[b'Z'; 100]),
                ms(20),
            );
            assert!(
                replies.iter().all(|t| t.ack == mine),
                "out-of-window data was acknowledged: {replies:?}"
            );
            assert!(
                read_now(&mut s).is_empty(),
                "out-of-window data was delivered"
            );
            // A segment that overruns the window: at most the window is taken, as a clean prefix.
            let big: Vec<u8> = (0..6000u32).map(|i| (i % 249) as u8).collect();
            let replies = peer.exchange(&data(peer, mine, theirs, &big), ms(20));
            let got = read_now(&mut s);
            assert!(
                got.len() <= 4096 && !got.is_empty(),
                "took {} bytes",
                got.len()
            );
            assert_eq!(
                &got[..],
                &big[..got.len()],
                "delivered bytes are not a prefix"
            );
            let acked = replies
                .iter()
                .map(|t| t.ack.wrapping_sub(mine))
                .max()
                .unwrap_or(0);
            assert!(
                acked as usize <= got.len() + 4096,
                "acknowledged beyond the window: {acked}"
            );
        });
    }

    #[test]
    fn data_past_the_buffer_right_after_a_scaled_handshake_is_cut() {
        // 96 KiB buffers: the stack scales its window (shift 1) when the peer offers window
        // scaling, and its SYN-ACK advertises 65535, a field that is never scaled. A peer that
        // sends past the end of the buffer before the stack's first ACK gets only what fits.
        // Before smoltcp patch 14 the whole segment was taken, the reassembly recorded octets
        // the ring never stored, and filling the gap in front of it panicked.
        const CAP: usize = 96 * 1024;
        with_peer_of(Peer::with_buffers(CAP, None), |peer| {
            let mut l = ok(peer.net().listen(at(), 1), "listen");
            let (mine, theirs) = peer
                .handshake_with(41000, PORT, 100_000, &[1, 3, 3, 7])
                .expect("handshake");
            let (mut s, _) = ok(l.try_accept(), "accept");
            let far: Vec<u8> = (0..1000u32).map(|i| (i % 7) as u8 + 1).collect();
            let at_end = mine.wrapping_add((CAP - 100) as u32);
            peer.exchange(&data(peer, at_end, theirs, &far), ms(5));
            let fill: Vec<u8> = (0..CAP - 100).map(|i| (i % 251) as u8).collect();
            for (i, chunk) in fill.chunks(1400).enumerate() {
                let seq = mine.wrapping_add((i * 1400) as u32);
                peer.exchange(&data(peer, seq, theirs, chunk), ms(1));
            }
            let got = read_now(&mut s);
            assert_eq!(got.len(), CAP, "bytes delivered");
            assert!(got[..CAP - 100] == fill[..], "the in-order data differs");
            assert_eq!(
                &got[CAP - 100..],
                &far[..100],
                "the part of the far segment that fit"
            );
        });
    }

    #[test]
    fn shrinking_remote_window_loses_nothing() {
        with_peer(|peer| {
            let (mut s, mine, theirs) = established(peer);
            let msg: Vec<u8> = (0..3000u32).map(|i| (i % 241) as u8).collect();
            let mut written = 0;
            while written < msg.len() {
                match s.try_write(&msg[written..]) {
                    Ok(n) => written += n,
                    Err(e) if e.socket_kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("write: {e}"),
                }
            }
            let mut got = vec![None::<u8>; msg.len()];
            fn take(got: &mut [Option<u8>], theirs: u32, segs: &[Tcp]) {
                for t in segs {
                    let off = t.seq.wrapping_sub(theirs) as usize;
                    for (i, b) in t.payload.iter().enumerate() {
                        if let Some(slot) = got.get_mut(off + i) {
                            assert!(
                                slot.is_none_or(|x| x == *b),
                                "retransmission differs at {}",
                                off + i
                            );
                            *slot = Some(*b);
                        }
                    }
                }
            }
            let (segs, _) = peer.run(ms(50));
            take(&mut got, theirs, &segs);
            // Acknowledge 1000 bytes and shrink the window to 100: the right edge moves left.
            let mut shrink = peer.seg(41000, PORT, mine, theirs.wrapping_add(1000), ACK);
            shrink.window = 100;
            let segs = peer.exchange(&shrink, ms(3000));
            take(&mut got, theirs, &segs);
            // Close the window, then open it again.
            let mut zero = shrink.clone();
            zero.window = 0;
            take(&mut got, theirs, &peer.exchange(&zero, ms(3000)));
            // Reopen and acknowledge whatever arrived, until everything has.
            for _ in 0..50 {
                let have = got.iter().take_while(|b| b.is_some()).count() as u32;
                let mut open = peer.seg(41000, PORT, mine, theirs.wrapping_add(have), ACK);
                open.window = 4096;
                take(&mut got, theirs, &peer.exchange(&open, ms(1500)));
                if got.iter().all(Option::is_some) {
                    break;
                }
                if written < msg.len()
                    && let Ok(n) = s.try_write(&msg[written..])
                {
                    written += n;
                }
            }
            assert_eq!(written, msg.len(), "the writer never got all bytes queued");
            let bytes: Vec<u8> = got.iter().map(|b| b.unwrap_or(0)).collect();
            assert!(
                got.iter().all(Option::is_some),
                "bytes missing after the window reopened"
            );
            assert_eq!(bytes, msg, "stream damaged by the shrinking window");
        });
    }
}
