//! UDP over loopback: truncation, oversize sends, auto-bind, sendmmsg/recvmmsg batches.

use std::net::SocketAddr;
use std::time::Duration;

use unisock::prelude::*;
use unisock::{DatagramSocket, RecvSlot, SendMsg, Stack};
use unisock_posix::{PosixStack, UdpSocket};

fn bound(addr: &str) -> UdpSocket {
    PosixStack.bind_udp(addr.parse().unwrap()).unwrap()
}

#[test]
fn truncation_peek_and_auto_bind() {
    let mut rx = bound("127.0.0.1:0");
    let to = rx.local_addr().unwrap();
    let mut tx = PosixStack.udp_socket(unisock::Domain::Ipv4).unwrap();
    assert_eq!(
        tx.local_addr().unwrap(),
        "0.0.0.0:0".parse::<SocketAddr>().unwrap()
    );
    tx.send_to(&[9u8; 100], to, SendFlags::NONE).unwrap();
    // Sending bound it to an ephemeral port.
    let from = tx.local_addr().unwrap();
    assert_ne!(from.port(), 0);
    let mut buf = [0u8; 10];
    let m = rx.recv_from(&mut buf, RecvFlags::PEEK).unwrap();
    assert_eq!((m.len, m.full_len), (10, 100));
    let m = rx.recv_from(&mut buf, RecvFlags::NONE).unwrap();
    assert_eq!((m.len, m.full_len, m.from.port()), (10, 100, from.port()));
    assert!(m.truncated());
    assert_eq!(
        rx.try_recv_from(&mut buf, RecvFlags::NONE)
            .unwrap_err()
            .kind(),
        ErrorKind::WouldBlock
    );
    rx.set_option(SockOpt::ReadTimeout(Some(Duration::from_millis(30))))
        .unwrap();
    assert_eq!(
        rx.recv_from(&mut buf, RecvFlags::NONE).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
}

#[test]
fn oversize_send_is_invalid_input() {
    let mut tx = bound("127.0.0.1:0");
    let big = vec![0u8; 70_000];
    let to = tx.local_addr().unwrap();
    let e = tx.send_to(&big, to, SendFlags::NONE).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(e.raw_os_error(), Some(90)); // EMSGSIZE
}

#[test]
fn connected_send_and_peer_addr() {
    let mut a = bound("[::1]:0");
    let mut b = bound("[::1]:0");
    assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
    a.connect(b.local_addr().unwrap()).unwrap();
    assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    a.send(b"ping", SendFlags::NONE).unwrap();
    let mut buf = [0u8; 8];
    let m = b.recv_from(&mut buf, RecvFlags::NONE).unwrap();
    assert_eq!(&buf[..m.len], b"ping");
    assert_eq!(m.from, a.local_addr().unwrap());
    assert_eq!(
        a.send(b"x", SendFlags::OOB).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

#[test]
fn batch_of_40_arrives_complete_and_in_order() {
    let mut rx = bound("127.0.0.1:0");
    let mut tx = bound("127.0.0.1:0");
    rx.set_option(SockOpt::RecvBufferSize(1 << 20)).unwrap();
    rx.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(5))))
        .unwrap();
    let to = rx.local_addr().unwrap();
    let payloads: Vec<[u8; 3]> = (0..40u8).map(|i| [i, i.wrapping_mul(3), 0xAA]).collect();
    let msgs: Vec<SendMsg<'_, SocketAddr>> = payloads
        .iter()
        .map(|p| SendMsg {
            data: &p[..],
            to: Some(to),
        })
        .collect();
    assert_eq!(tx.send_batch(&msgs).unwrap(), 40);

    let mut bufs = vec![[0u8; 8]; 70];
    let mut got = Vec::new();
    while got.len() < 40 {
        let mut slots: Vec<RecvSlot<'_, SocketAddr>> =
            bufs.iter_mut().map(|b| RecvSlot::new(&mut b[..])).collect();
        let n = rx.recv_batch(&mut slots).unwrap();
        assert!(n >= 1);
        for slot in &slots[..n] {
            let meta = slot.meta.unwrap();
            assert_eq!(meta.from, tx.local_addr().unwrap());
            assert_eq!(meta.full_len, 3);
            got.push(slot.data().unwrap().to_vec());
        }
        assert!(slots[n..].iter().all(|s| s.meta.is_none()));
    }
    let want: Vec<Vec<u8>> = payloads.iter().map(|p| p.to_vec()).collect();
    assert_eq!(got, want);
}

#[test]
fn batch_truncation_and_timeout() {
    let mut rx = bound("127.0.0.1:0");
    let mut tx = bound("127.0.0.1:0");
    rx.set_option(SockOpt::ReadTimeout(Some(Duration::from_millis(30))))
        .unwrap();
    let mut b1 = [0u8; 2];
    let mut slots = [RecvSlot::new(&mut b1[..])];
    assert_eq!(
        rx.recv_batch(&mut slots).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    // A connected sender with `to: None`.
    tx.connect(rx.local_addr().unwrap()).unwrap();
    let sent = tx
        .send_batch(&[SendMsg {
            data: b"hello",
            to: None,
        }])
        .unwrap();
    assert_eq!(sent, 1);
    let n = rx.recv_batch(&mut slots).unwrap();
    assert_eq!(n, 1);
    let meta = slots[0].meta.unwrap();
    assert_eq!((meta.len, meta.full_len), (2, 5));
    assert_eq!(slots[0].data(), Some(&b"he"[..]));
    // Unconnected socket, no destination: NotConnected, nothing sent.
    let mut lone = bound("127.0.0.1:0");
    let e = lone
        .send_batch(&[SendMsg {
            data: b"x",
            to: None,
        }])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotConnected);
}

#[test]
fn gso_sends_equal_datagrams() {
    let mut rx = bound("127.0.0.1:0");
    let mut tx = bound("127.0.0.1:0");
    rx.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(5))))
        .unwrap();
    let to = rx.local_addr().unwrap();
    let data: Vec<u8> = (0..1050u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(tx.send_segments(&data, 100, Some(to)).unwrap(), 1050);
    // Without GRO the receiver sees 11 datagrams: ten of 100 bytes and one of 50.
    assert!(!rx.gro().unwrap());
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    for i in 0..11 {
        let m = rx.recv_from(&mut buf, RecvFlags::NONE).unwrap();
        assert_eq!(m.len, if i < 10 { 100 } else { 50 });
        got.extend_from_slice(&buf[..m.len]);
    }
    assert_eq!(got, data);
    assert_eq!(
        tx.send_segments(&data, 0, Some(to)).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn gro_reports_segment_sizes() {
    let mut rx = bound("127.0.0.1:0");
    let mut tx = bound("127.0.0.1:0");
    rx.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(5))))
        .unwrap();
    rx.set_gro(true).unwrap();
    assert!(rx.gro().unwrap());
    tx.connect(rx.local_addr().unwrap()).unwrap();
    let data: Vec<u8> = (0..800u32).map(|i| (i % 253) as u8).collect();
    assert_eq!(tx.send_segments(&data, 200, None).unwrap(), 800);
    // Coalesced or not, the bytes arrive complete and in order, in units of whole segments.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < data.len() {
        let (m, segment) = rx.recv_segments(&mut buf, RecvFlags::NONE).unwrap();
        assert_eq!(m.from, tx.local_addr().unwrap());
        assert!(!m.truncated());
        match segment {
            Some(size) => {
                assert_eq!(size, 200);
                assert_eq!(m.len % 200, 0);
            }
            None => assert_eq!(m.len, 200),
        }
        got.extend_from_slice(&buf[..m.len]);
    }
    assert_eq!(got, data);
}

/// The payload of datagram `i` of `len` bytes in the segmentation tests (each distinct).
fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| ((i * 31 + j) % 251) as u8).collect()
}

#[test]
fn send_batch_segments_runs_into_the_same_datagrams() {
    // Runs of equal sizes to one destination go out as one UDP_SEGMENT send each; what
    // arrives must be exactly the datagrams separate sends would have produced.
    let mut a = bound("127.0.0.1:0");
    let mut b = bound("127.0.0.1:0");
    for rx in [&mut a, &mut b] {
        rx.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(5))))
            .unwrap();
        rx.set_option(SockOpt::RecvBufferSize(1 << 20)).unwrap();
    }
    let (to_a, to_b) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    // (destination, length): a run of 10 x 100 ending in a 50, a run to b, a lone 0-byte
    // datagram, a run broken by a longer datagram, and a run longer than one segmented send.
    let mut plan: Vec<(SocketAddr, usize)> = Vec::new();
    plan.extend(std::iter::repeat_n((to_a, 100), 10));
    plan.push((to_a, 50));
    plan.extend(std::iter::repeat_n((to_b, 200), 3));
    plan.push((to_a, 0));
    plan.extend([(to_a, 30), (to_a, 30), (to_a, 40), (to_a, 40)]);
    plan.extend(std::iter::repeat_n((to_b, 1400), 60));
    let datas: Vec<Vec<u8>> = plan
        .iter()
        .enumerate()
        .map(|(i, (_, len))| payload(i, *len))
        .collect();
    let msgs: Vec<SendMsg<'_, SocketAddr>> = plan
        .iter()
        .zip(&datas)
        .map(|((to, _), data)| SendMsg {
            data,
            to: Some(*to),
        })
        .collect();
    let mut tx = bound("127.0.0.1:0");
    let mut sent = 0;
    while sent < msgs.len() {
        sent += tx.send_batch(&msgs[sent..]).unwrap();
    }
    let mut buf = [0u8; 2048];
    for (i, (to, len)) in plan.iter().enumerate() {
        let rx = if *to == to_a { &mut a } else { &mut b };
        let m = rx.recv_from(&mut buf, RecvFlags::NONE).unwrap();
        assert_eq!(m.len, *len, "datagram {i}");
        assert_eq!(&buf[..m.len], &datas[i][..], "datagram {i}");
        assert_eq!(m.from, tx.local_addr().unwrap());
    }
    for rx in [&mut a, &mut b] {
        assert_eq!(
            rx.try_recv_from(&mut buf, RecvFlags::NONE)
                .unwrap_err()
                .kind(),
            ErrorKind::WouldBlock
        );
    }
}

#[test]
fn gro_receive_calls_hand_out_one_datagram_each() {
    let mut rx = bound("127.0.0.1:0");
    rx.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(5))))
        .unwrap();
    rx.set_option(SockOpt::RecvBufferSize(1 << 20)).unwrap();
    rx.set_gro(true).unwrap();
    let mut tx = bound("127.0.0.1:0");
    tx.connect(rx.local_addr().unwrap()).unwrap();
    let from = tx.local_addr().unwrap();
    let datas: Vec<Vec<u8>> = (0..100).map(|i| payload(i, 1000)).collect();
    let msgs: Vec<SendMsg<'_, SocketAddr>> = datas
        .iter()
        .map(|data| SendMsg { data, to: None })
        .collect();
    let mut sent = 0;
    while sent < msgs.len() {
        sent += tx.send_batch(&msgs[sent..]).unwrap();
    }
    let mut next = 0;
    // recv_batch: one datagram per slot, in order, whatever the kernel coalesced.
    let mut bufs = vec![[0u8; 1500]; 7];
    while next < 40 {
        let mut slots: Vec<RecvSlot<'_, SocketAddr>> =
            bufs.iter_mut().map(|b| RecvSlot::new(b)).collect();
        let n = rx.recv_batch(&mut slots).unwrap();
        assert!(n >= 1);
        for slot in &slots[..n] {
            let meta = slot.meta.unwrap();
            assert_eq!((meta.len, meta.full_len, meta.from), (1000, 1000, from));
            assert_eq!(slot.data().unwrap(), &datas[next][..], "datagram {next}");
            next += 1;
        }
    }
    // recv_from, with a peek and a truncation, continues where the batch stopped.
    let mut buf = [0u8; 1500];
    let m = rx.recv_from(&mut buf, RecvFlags::PEEK).unwrap();
    assert_eq!((m.len, &buf[..m.len]), (1000, &datas[next][..]));
    let m = rx.recv_from(&mut buf, RecvFlags::NONE).unwrap();
    assert_eq!((m.len, &buf[..m.len]), (1000, &datas[next][..]));
    next += 1;
    let m = rx.recv_from(&mut buf[..10], RecvFlags::NONE).unwrap();
    assert_eq!((m.len, m.full_len), (10, 1000));
    assert_eq!(&buf[..10], &datas[next][..10]);
    next += 1;
    // recv_segments returns whole segments: what is left of a coalesced buffer first.
    let mut big = vec![0u8; 65536];
    while next < 100 {
        let (m, segment) = rx.recv_segments(&mut big, RecvFlags::NONE).unwrap();
        assert_eq!(m.len % 1000, 0);
        assert_eq!(segment.is_some(), m.len > 1000);
        for chunk in big[..m.len].chunks(1000) {
            assert_eq!(chunk, &datas[next][..], "datagram {next}");
            next += 1;
        }
    }
    assert_eq!(
        rx.try_recv_from(&mut buf, RecvFlags::NONE)
            .unwrap_err()
            .kind(),
        ErrorKind::WouldBlock
    );
    // Turned off, the socket is an ordinary one again.
    rx.set_gro(false).unwrap();
    tx.send(&datas[0], SendFlags::NONE).unwrap();
    let m = rx.recv_from(&mut buf, RecvFlags::NONE).unwrap();
    assert_eq!(&buf[..m.len], &datas[0][..]);
}

#[test]
fn send_batch_uses_segmentation_offload() {
    // Over loopback a segmented send reaches a GRO socket as one buffer, so a run of ten
    // equal datagrams comes back from one recv_segments call: proof that send_batch used
    // UDP_SEGMENT rather than ten separate datagrams (which loopback never coalesces).
    let mut rx = bound("127.0.0.1:0");
    rx.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(5))))
        .unwrap();
    rx.set_gro(true).unwrap();
    let mut tx = bound("127.0.0.1:0");
    let to = rx.local_addr().unwrap();
    let datas: Vec<Vec<u8>> = (0..10).map(|i| payload(i, 500)).collect();
    let msgs: Vec<SendMsg<'_, SocketAddr>> = datas
        .iter()
        .map(|data| SendMsg { data, to: Some(to) })
        .collect();
    assert_eq!(tx.send_batch(&msgs).unwrap(), 10);
    let mut big = vec![0u8; 65536];
    let (m, segment) = rx.recv_segments(&mut big, RecvFlags::NONE).unwrap();
    assert_eq!((m.len, segment), (5000, Some(500)));
    assert_eq!(big[..5000].to_vec(), datas.concat());
}
