//! Backend-specific behaviour over the in-process loopback: TIME-WAIT and ephemeral ports,
//! DONTROUTE, raw ICMP echo, a thread-per-connection server, name resolution, pcap.
#![cfg(all(
    feature = "std",
    feature = "udp",
    feature = "raw",
    feature = "proto-ipv6"
))]

mod util;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use unisock::prelude::*;
use unisock::{
    DatagramSocket, Domain, ErrorKind, Protocol, RawSocket, RecvFlags, SendFlags, Shutdown, SockOpt,
};
use unisock_smoltcp::{Cidr, Config, LoopbackOptions, StdStack};
use util::{assert_no_leak, loopback};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn ephemeral_ports_avoid_time_wait_and_bind_respects_it() {
    let net = loopback();
    let stack = &*net;
    let at = addr("127.0.0.1:7100");
    let mut listener = stack.listen(at, 2).unwrap();
    let port = 60000;
    stack.set_next_ephemeral_port(port).unwrap();
    let mut c = stack.connect(at).unwrap();
    assert_eq!(c.local_addr().unwrap().port(), port);
    let (mut s, _) = listener.accept().unwrap();
    // Active close by the client: the client side ends in TIME-WAIT.
    c.shutdown(Shutdown::Write).unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(s.read(&mut buf).unwrap(), 0);
    drop(s);
    assert_eq!(c.read(&mut buf).unwrap(), 0);
    drop((c, listener));
    assert_no_leak(|| stack.open_sockets());
    let tw = stack.time_wait();
    assert!(
        tw.iter().any(|a| a.local.port() == port && a.remote == at),
        "TIME-WAIT table: {tw:?}"
    );
    // The cursor points at the TIME-WAIT port again: it is skipped.
    let listener = stack.listen(at, 2).unwrap();
    stack.set_next_ephemeral_port(port).unwrap();
    let c2 = stack.connect(at).unwrap();
    assert_ne!(c2.local_addr().unwrap().port(), port);
    // Binding it without ReuseAddr is refused; with ReuseAddr allowed.
    let mut b = stack.tcp_socket(Domain::Ipv4).unwrap();
    let e = b.bind(addr(&format!("127.0.0.1:{port}"))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrInUse);
    b.set_option(SockOpt::ReuseAddr(true)).unwrap();
    b.bind(addr(&format!("127.0.0.1:{port}"))).unwrap();
    drop((b, c2, listener));
    assert_no_leak(|| stack.open_sockets());
}

fn routed_stack() -> unisock_smoltcp::LoopbackStack {
    let config = Config::loopback()
        .with_address(Cidr::parse("10.9.0.1/24").unwrap())
        .unwrap();
    StdStack::loopback(config).unwrap()
}

#[test]
fn dontroute_to_off_link_is_network_unreachable() {
    let net = routed_stack();
    let stack = &*net;
    let mut u = stack.bind_udp(addr("0.0.0.0:0")).unwrap();
    // Off-link, no gateway: unreachable with or without the flag (nothing is sent).
    let e = u
        .send_to(b"x", addr("192.0.2.1:9"), SendFlags::DONTROUTE)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NetworkUnreachable);
    let e = u
        .send_to(b"x", addr("192.0.2.1:9"), SendFlags::NONE)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NetworkUnreachable);
    // On-link (our own prefix) with DONTROUTE is fine.
    let mut r = stack.bind_udp(addr("10.9.0.1:7200")).unwrap();
    u.send_to(b"on-link", addr("10.9.0.1:7200"), SendFlags::DONTROUTE)
        .unwrap();
    let mut buf = [0u8; 16];
    let m = r.recv_from(&mut buf, RecvFlags::NONE).unwrap();
    assert_eq!(&buf[..m.len], b"on-link");
    drop((u, r));
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn dontroute_with_a_gateway_still_refuses_off_link() {
    let config = Config::loopback()
        .with_address(Cidr::parse("10.9.0.1/24").unwrap())
        .unwrap()
        .with_gateway("10.9.0.254".parse().unwrap());
    let net = StdStack::loopback(config).unwrap();
    let stack = &*net;
    let mut u = stack.bind_udp(addr("0.0.0.0:0")).unwrap();
    let e = u
        .send_to(b"x", addr("192.0.2.1:9"), SendFlags::DONTROUTE)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NetworkUnreachable);
    // TCP streams check DONTROUTE against their peer: loopback is on-link.
    let at = addr("127.0.0.1:7201");
    let mut l = stack.listen(at, 1).unwrap();
    let mut c = stack.connect(at).unwrap();
    assert_eq!(c.send(b"ok", SendFlags::DONTROUTE).unwrap(), 2);
    let (mut s, _) = l.accept().unwrap();
    let mut buf = [0u8; 2];
    s.read_exact(&mut buf).unwrap();
    drop((u, c, s, l));
    assert_no_leak(|| stack.open_sockets());
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[test]
fn raw_icmp_echo_to_own_address_v4_and_v6() {
    let net = loopback();
    let stack = &*net;
    // IPv4: the payload carries its own checksum; recv returns the whole packet.
    let mut raw = stack.raw_socket(Domain::Ipv4, Protocol::ICMP).unwrap();
    raw.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(5))))
        .unwrap();
    let mut echo = vec![8u8, 0, 0, 0, 0x12, 0x34, 0, 1];
    echo.extend_from_slice(b"unisock");
    let c = checksum(&echo);
    echo[2..4].copy_from_slice(&c.to_be_bytes());
    let lo: IpAddr = "127.0.0.1".parse().unwrap();
    assert_eq!(raw.send_to(&echo, lo).unwrap(), echo.len());
    let mut buf = [0u8; 256];
    let mut got_reply = false;
    for _ in 0..4 {
        let m = raw.recv_from(&mut buf, RecvFlags::NONE).unwrap();
        assert_eq!(m.from, lo);
        assert_eq!(buf[0] >> 4, 4, "IPv4 header included");
        let ihl = usize::from(buf[0] & 0xf) * 4;
        assert_eq!(buf[9], 1, "protocol ICMP");
        let icmp = &buf[ihl..m.len];
        if icmp[0] == 0 {
            assert_eq!(checksum(&buf[..ihl]), 0, "IPv4 header checksum");
            assert_eq!(checksum(icmp), 0, "ICMP checksum");
            assert_eq!(&icmp[4..6], &[0x12, 0x34]);
            assert_eq!(&icmp[8..], b"unisock");
            got_reply = true;
            break;
        }
    }
    assert!(got_reply, "no echo reply");

    // IPv6: the stack computes the checksum; recv returns the payload only.
    let mut raw6 = stack.raw_socket(Domain::Ipv6, Protocol::ICMPV6).unwrap();
    raw6.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(5))))
        .unwrap();
    let mut echo6 = vec![128u8, 0, 0, 0, 0x56, 0x78, 0, 1];
    echo6.extend_from_slice(b"six");
    let lo6: IpAddr = "::1".parse().unwrap();
    raw6.send_to(&echo6, lo6).unwrap();
    let mut got_reply = false;
    for _ in 0..4 {
        let m = raw6.recv_from(&mut buf, RecvFlags::NONE).unwrap();
        assert_eq!(m.from, lo6);
        if buf[0] == 129 {
            assert_eq!(&buf[4..6], &[0x56, 0x78]);
            assert_eq!(&buf[8..m.len], b"six");
            got_reply = true;
            break;
        }
    }
    assert!(got_reply, "no ICMPv6 echo reply");
    // Truncation is reported.
    raw6.send_to(&echo6, lo6).unwrap();
    let mut tiny = [0u8; 2];
    let m = raw6.recv_from(&mut tiny, RecvFlags::NONE).unwrap();
    assert!(m.truncated());
    drop((raw, raw6));
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn thread_per_connection_server_with_concurrent_clients() {
    const CLIENTS: usize = 8;
    let net = loopback();
    let stack = &*net;
    let at = addr("127.0.0.1:7300");
    let mut listener = stack.listen(at, CLIENTS).unwrap();
    std::thread::scope(|s| {
        s.spawn(move || {
            std::thread::scope(|conns| {
                for _ in 0..CLIENTS {
                    let (mut conn, _) = listener.accept().unwrap();
                    conns.spawn(move || {
                        let mut buf = [0u8; 4096];
                        loop {
                            let n = conn.read(&mut buf).unwrap();
                            if n == 0 {
                                break;
                            }
                            conn.write_all(&buf[..n]).unwrap();
                        }
                    });
                }
            });
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                s.spawn(move || {
                    let mut c = stack.connect(at).unwrap();
                    c.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(20))))
                        .unwrap();
                    let data: Vec<u8> = (0..100_000usize).map(|j| (i * 7 + j) as u8).collect();
                    let mut got = vec![0u8; data.len()];
                    // Write and read interleaved in one thread, in chunks small enough that
                    // the echo never fills both windows.
                    let (mut written, mut read) = (0, 0);
                    while written < data.len() {
                        let end = (written + 8192).min(data.len());
                        c.write_all(&data[written..end]).unwrap();
                        written = end;
                        while read < written {
                            let n = c.read(&mut got[read..written]).unwrap();
                            assert_ne!(n, 0);
                            read += n;
                        }
                    }
                    assert_eq!(got, data);
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
    });
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn resolve_literals_hosts_and_localhost() {
    let config = Config::default()
        .with_host("db.example", "10.0.0.5".parse().unwrap())
        .unwrap();
    let net = StdStack::loopback(config).unwrap();
    let stack = &*net;
    let a = stack.resolve("localhost").unwrap();
    assert_eq!(
        a.as_slice(),
        &[
            "127.0.0.1".parse::<IpAddr>().unwrap(),
            "::1".parse().unwrap()
        ]
    );
    assert_eq!(
        stack.resolve("DB.example.").unwrap().as_slice(),
        &["10.0.0.5".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(
        stack.resolve("::1").unwrap().as_slice(),
        &["::1".parse::<IpAddr>().unwrap()]
    );
    let e = stack.resolve("nowhere.invalid").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HostNotFound);
}

/// A one-shot DNS responder on the smoltcp stack itself answers the smoltcp DNS socket.
#[test]
fn resolve_through_dns_socket_to_a_server_on_the_loopback() {
    let config = Config::default()
        .with_dns_server("127.0.0.1".parse().unwrap())
        .unwrap();
    let net = StdStack::loopback(config).unwrap();
    let stack = &*net;
    let mut server = stack.bind_udp(addr("127.0.0.1:53")).unwrap();
    server
        .set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(10))))
        .unwrap();
    std::thread::scope(|s| {
        s.spawn(move || {
            // svc.test: answer A with 10.1.2.3 and AAAA with no records; missing.test:
            // NXDOMAIN for both.
            for _ in 0..4 {
                let mut q = [0u8; 512];
                let m = server.recv_from(&mut q, RecvFlags::NONE).unwrap();
                let q = &q[..m.len];
                let qtype = u16::from_be_bytes([q[m.len - 4], q[m.len - 3]]);
                let missing = q.windows(7).any(|w| w == b"missing");
                let mut r = q.to_vec();
                r[2] = 0x81; // response, recursion desired
                r[3] = if missing { 0x83 } else { 0x80 }; // NXDOMAIN or no error
                if qtype == 1 && !missing {
                    r[7] = 1; // one answer
                    r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3]);
                }
                server.send_to(&r, m.from, SendFlags::NONE).unwrap();
            }
        });
        let a = stack.resolve("svc.test").unwrap();
        assert_eq!(a.as_slice(), &["10.1.2.3".parse::<IpAddr>().unwrap()]);
        let e = stack.resolve("missing.test").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::HostNotFound, "{e}");
    });
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn pcap_capture_is_readable_by_tshark() {
    let dir = std::env::temp_dir().join(format!("unisock-smoltcp-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lo.pcap");
    {
        let net = StdStack::loopback_with(LoopbackOptions {
            pcap: Some(path.clone()),
            ..LoopbackOptions::default()
        })
        .unwrap();
        let stack = &*net;
        let at = addr("127.0.0.1:7400");
        let mut l = stack.listen(at, 1).unwrap();
        let mut c = stack.connect(at).unwrap();
        let (mut s, _) = l.accept().unwrap();
        c.write_all(b"captured").unwrap();
        let mut buf = [0u8; 8];
        s.read_exact(&mut buf).unwrap();
        drop((c, s, l));
        assert_no_leak(|| stack.open_sockets());
    }
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "pcap magic");
    match std::process::Command::new("tshark")
        .args(["-r", path.to_str().unwrap(), "-Y", "tcp.port == 7400"])
        .output()
    {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "tshark failed: {out:?}");
            assert!(text.lines().count() >= 6, "few packets:\n{text}");
            assert!(text.contains("SYN"), "no SYN in:\n{text}");
        }
        Err(e) => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "tshark missing under CI=true: {e}"
            );
            eprintln!("notice: tshark not available ({e}); checked the pcap header only");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn options_round_trip_and_buffer_sizes_are_read_only() {
    let net = loopback();
    let stack = &*net;
    let at = addr("127.0.0.1:7500");
    let mut l = stack.listen(at, 1).unwrap();
    let mut c = stack.connect(at).unwrap();
    let (_s, _) = l.accept().unwrap();
    c.set_option(SockOpt::NoDelay(true)).unwrap();
    assert_eq!(
        c.option(unisock::SockOptName::NoDelay).unwrap(),
        SockOpt::NoDelay(true)
    );
    c.set_option(SockOpt::KeepAlive(Some(Duration::from_secs(5))))
        .unwrap();
    assert_eq!(
        c.option(unisock::SockOptName::KeepAlive).unwrap(),
        SockOpt::KeepAlive(Some(Duration::from_secs(5)))
    );
    c.set_option(SockOpt::Ttl(9)).unwrap();
    assert_eq!(
        c.option(unisock::SockOptName::Ttl).unwrap(),
        SockOpt::Ttl(9)
    );
    assert!(matches!(
        c.option(unisock::SockOptName::RecvBufferSize).unwrap(),
        SockOpt::RecvBufferSize(n) if n > 0
    ));
    assert_eq!(
        c.set_option(SockOpt::RecvBufferSize(1)).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    // Huge timeouts do not overflow the deadline arithmetic.
    c.set_option(SockOpt::ReadTimeout(Some(Duration::MAX)))
        .unwrap();
    c.set_option(SockOpt::WriteTimeout(Some(Duration::MAX)))
        .unwrap();
    c.write_all(b"z").unwrap();
    let mut one = [0u8; 1];
    let mut s0 = _s;
    s0.set_option(SockOpt::ReadTimeout(Some(Duration::MAX)))
        .unwrap();
    s0.read_exact(&mut one).unwrap();
    let _s = s0;
    c.set_option(SockOpt::Linger(Some(Duration::ZERO))).unwrap();
    drop(c); // Linger 0: RST
    let (mut s, _) = (_s, ());
    let mut buf = [0u8; 1];
    assert_eq!(
        s.read(&mut buf).unwrap_err().kind(),
        ErrorKind::ConnectionReset
    );
    drop((s, l));
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn ethernet_medium_loopback_and_small_mtu() {
    let net = StdStack::loopback_with(LoopbackOptions {
        medium: smoltcp::phy::Medium::Ethernet,
        mtu: 1514,
        ..LoopbackOptions::default()
    })
    .unwrap();
    let stack = &*net;
    let at = addr("127.0.0.1:7600");
    let mut l = stack.listen(at, 1).unwrap();
    let mut c = stack.connect(at).unwrap();
    let (mut s, _) = l.accept().unwrap();
    let data = vec![7u8; 100_000];
    std::thread::scope(|t| {
        t.spawn(|| c.write_all(&data).unwrap());
        let mut got = vec![0u8; data.len()];
        s.read_exact(&mut got).unwrap();
        assert_eq!(got, data);
    });
    let mut u = stack.bind_udp(addr("127.0.0.1:0")).unwrap();
    let to = u.local_addr().unwrap();
    // 1514 - 14 (Ethernet) - 20 (IPv4) - 8 (UDP) = 1472 bytes fit, 1473 do not.
    u.send_to(&[1u8; 1472], to, SendFlags::NONE).unwrap();
    assert_eq!(
        u.send_to(&[1u8; 1473], to, SendFlags::NONE)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    drop((c, s, l, u));
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn sockets_are_send_and_the_stack_is_sync() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    type S = unisock_smoltcp::Stack<
        'static,
        unisock_smoltcp::StdLoopback,
        unisock_smoltcp::StdClock,
        unisock_smoltcp::Notify,
    >;
    sync::<S>();
    send::<<&'static S as unisock::Stack>::TcpSocket>();
    send::<<&'static S as unisock::Stack>::TcpStream>();
    send::<<&'static S as unisock::Stack>::TcpListener>();
    send::<<&'static S as unisock::Stack>::UdpSocket>();
    send::<<&'static S as unisock::Stack>::RawSocket>();
}

#[test]
fn linger_with_timeout_delivers_queued_data_before_close() {
    let net = loopback();
    let stack = &*net;
    let at = addr("127.0.0.1:7700");
    let mut l = stack.listen(at, 1).unwrap();
    let mut c = stack.connect(at).unwrap();
    let (mut s, _) = l.accept().unwrap();
    c.set_option(SockOpt::Linger(Some(Duration::from_secs(5))))
        .unwrap();
    assert_eq!(
        c.option(unisock::SockOptName::Linger).unwrap(),
        SockOpt::Linger(Some(Duration::from_secs(5)))
    );
    let data = vec![3u8; 50_000];
    std::thread::scope(|t| {
        t.spawn(move || {
            c.write_all(&data).unwrap();
            drop(c); // waits (bounded) until the data is acknowledged, then FIN
        });
        let mut got = Vec::new();
        s.set_option(SockOpt::ReadTimeout(Some(Duration::from_secs(10))))
            .unwrap();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got.len(), 50_000);
    });
    drop((s, l));
    assert_no_leak(|| stack.open_sockets());
}

#[test]
fn connect_to_unresolvable_neighbor_times_out_and_frees_the_slot() {
    // Ethernet loopback: 127.0.0.77 is on-link (127.0.0.0/8) but nobody answers its ARP, so
    // neither the SYN nor the final RST can ever be sent.
    let net = StdStack::loopback_with(LoopbackOptions {
        medium: smoltcp::phy::Medium::Ethernet,
        mtu: 1514,
        ..LoopbackOptions::default()
    })
    .unwrap();
    let stack = &*net;
    let e = stack
        .connect_timeout(addr("127.0.0.77:80"), Duration::from_millis(300))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert_no_leak(|| stack.open_sockets());
}
