//! An arbitrary sequence of socket API operations against the smoltcp backend: two stacks
//! joined by a faulty wire (drop, duplication, reordering rates from the input; no corruption,
//! see below) on a virtual clock. Operations: open, bind, listen, connect, accept, send, receive, shutdown,
//! close, abort, advance the clock, and queries on valid and stale handles.
//!
//! Asserted: nothing panics; every byte a stream receives is the next byte its peer sent
//! (received data is a prefix of sent data); a stale handle is never valid; once everything is
//! closed, both socket tables drain to empty within bounded virtual time.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use smoltcp::phy::Medium;
use unisock::prelude::*;
use unisock::{DatagramSocket, StreamListener, StreamSocket};
use unisock_fuzz::faults::sim::{SimStack, World};
use unisock_fuzz::faults::{FaultConfig, Faulty, Source, Wire};
use unisock_fuzz::input::Input;
use unisock_smoltcp::{Cidr, Config, Handle, PoolConfig, Stack};

type Net<'s> = &'s SimStack;
type Listener<'s> = <Net<'s> as unisock::Stack>::TcpListener;
type Stream<'s> = <Net<'s> as unisock::Stack>::TcpStream;
type Unbound<'s> = <Net<'s> as unisock::Stack>::TcpSocket;
type Udp<'s> = <Net<'s> as unisock::Stack>::UdpSocket;

const IPS: [Ipv4Addr; 2] = [Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(127, 0, 0, 2)];
const STREAM_BYTES: u64 = 1 << 20;

/// One end of a connection: the stream, what it sends, and what it expects from its peer.
struct End<'s> {
    stream: Stream<'s>,
    /// The local endpoint (tells the stack it belongs to).
    local: SocketAddr,
    out: Source,
    /// Bytes received so far from the peer, checked against the peer's source.
    expect: Source,
    eof: bool,
}

fn stream_seed(from: SocketAddr, to: SocketAddr) -> u64 {
    let h = |a: SocketAddr| match a.ip() {
        IpAddr::V4(ip) => u64::from(u32::from(ip)) << 16 | u64::from(a.port()),
        IpAddr::V6(_) => u64::from(a.port()),
    };
    h(from).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ h(to)
}

fn end<'s>(stream: Stream<'s>) -> Option<End<'s>> {
    let a = stream.association().ok()?;
    Some(End {
        stream,
        local: a.local,
        out: Source::new(stream_seed(a.local, a.remote), STREAM_BYTES),
        expect: Source::new(stream_seed(a.remote, a.local), STREAM_BYTES),
        eof: false,
    })
}

fn stack(
    world: &World,
    end: unisock_fuzz::faults::WireEnd,
    faults: FaultConfig,
    ip: Ipv4Addr,
    mac: u8,
) -> Rc<SimStack> {
    let config = Config::new()
        .with_address(Cidr::new(IpAddr::V4(ip), 8).expect("cidr"))
        .expect("address")
        .with_mac([2, 0, 0, 0, 0, mac])
        .with_pool(PoolConfig {
            tcp: 6,
            tcp_rx: 2048,
            tcp_tx: 2048,
            udp: 2,
            ..PoolConfig::SMALL
        })
        .with_random_seed(u64::from(mac));
    let s = Rc::new(
        Stack::new_alloc(
            Faulty::new(end, faults),
            world.clock(),
            world.waiter(),
            &config,
        )
        .expect("stack"),
    );
    world.add(&s);
    s
}

fn pick<T>(v: &mut [T], i: u8) -> Option<&mut T> {
    if v.is_empty() {
        None
    } else {
        let n = usize::from(i) % v.len();
        v.get_mut(n)
    }
}

fn remove<T>(v: &mut Vec<T>, i: u8) -> Option<T> {
    if v.is_empty() {
        None
    } else {
        let n = usize::from(i) % v.len();
        Some(v.swap_remove(n))
    }
}

fn receive(e: &mut End<'_>, peek: bool) {
    let mut buf = [0u8; 1500];
    let flags = if peek {
        RecvFlags::PEEK
    } else {
        RecvFlags::NONE
    };
    match e.stream.try_recv(&mut buf, flags) {
        Ok(0) => e.eof = true,
        Ok(n) => {
            if e.eof {
                panic!("data after end of stream");
            }
            let want = e.expect.pending();
            let k = n.min(want.len());
            assert_eq!(
                &buf[..k],
                &want[..k],
                "received bytes differ from what the peer sent"
            );
            if !peek {
                // Consume across block boundaries.
                let mut left = n;
                while left > 0 {
                    let p = e.expect.pending();
                    assert!(!p.is_empty(), "received more than the peer could have sent");
                    let step = left.min(p.len());
                    assert_eq!(
                        &buf[n - left..n - left + step],
                        &p[..step],
                        "stream corrupted"
                    );
                    e.expect.consume(step);
                    left -= step;
                }
            }
        }
        Err(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let rate = |b: u8| b % 20;
    let faults = FaultConfig {
        seed: u64::from(input.u16()),
        drop_pct: rate(input.u8()),
        // No corruption: smoltcp skips checksum verification when built for fuzzing
        // (`cfg(fuzzing)` in `wire::tcp`), so a flipped bit would reach the stream by design.
        // Corruption is covered by the integrity matrix instead. The byte is still read so
        // inputs keep their layout.
        corrupt_pct: {
            let _ = input.u8();
            0
        },
        duplicate_pct: rate(input.u8()),
        reorder_pct: rate(input.u8()),
        ..FaultConfig::default()
    };
    let world = World::new();
    let (a, b) = Wire::pair(Medium::Ethernet, 1514);
    let stacks = [
        stack(&world, a, faults, IPS[0], 1),
        stack(&world, b, faults, IPS[1], 2),
    ];
    let nets: [Net<'_>; 2] = [&stacks[0], &stacks[1]];

    let mut unbound: Vec<(usize, Unbound<'_>)> = Vec::new();
    let mut listeners: Vec<(usize, Listener<'_>)> = Vec::new();
    let mut ends: Vec<End<'_>> = Vec::new();
    let mut udps: Vec<(usize, Udp<'_>)> = Vec::new();
    let mut stale: Vec<(usize, Handle)> = Vec::new();

    let mut ops = 0;
    while !input.is_empty() && ops < 200 {
        ops += 1;
        let op = input.u8();
        let side = usize::from(op >> 7);
        let net = nets[side];
        let arg = input.u8();
        match op % 16 {
            0 => {
                let dom = if arg & 1 == 0 {
                    Domain::Ipv4
                } else {
                    Domain::Ipv6
                };
                if let Ok(s) = net.tcp_socket(dom) {
                    unbound.push((side, s));
                }
            }
            1 => {
                let port = input.u16() % 8;
                if let Some((s, sock)) = pick(&mut unbound, arg) {
                    let ip = if arg & 0x80 == 0 {
                        IPS[*s]
                    } else {
                        Ipv4Addr::UNSPECIFIED
                    };
                    let _ = sock.bind(SocketAddr::new(ip.into(), 5000 + port));
                }
            }
            2 => {
                if let Some((s, sock)) = remove(&mut unbound, arg)
                    && let Ok(l) = sock.listen(usize::from(input.u8() % 4))
                {
                    listeners.push((s, l));
                }
            }
            3 => {
                if let Some((s, sock)) = remove(&mut unbound, arg) {
                    let port = 5000 + input.u16() % 8;
                    let to = SocketAddr::new(IPS[1 - s].into(), port);
                    if let Ok(st) = sock.connect_timeout(to, Duration::from_secs(3)) {
                        ends.extend(end(st));
                    }
                }
            }
            4 => {
                if let Some((_, l)) = pick(&mut listeners, arg)
                    && let Ok((st, _)) = l.try_accept()
                {
                    ends.extend(end(st));
                }
            }
            5 => {
                if let Some(e) = pick(&mut ends, arg) {
                    let n = usize::from(input.u16() % 3000).min(e.out.pending().len());
                    if let Ok(k) = e.stream.try_write(&e.out.pending()[..n]) {
                        assert!(k <= n);
                        e.out.consume(k);
                    }
                }
            }
            6 => {
                if let Some(e) = pick(&mut ends, arg) {
                    receive(e, arg & 0x80 != 0);
                }
            }
            7 => {
                if let Some(e) = pick(&mut ends, arg) {
                    let how = match input.u8() % 3 {
                        0 => Shutdown::Read,
                        1 => Shutdown::Write,
                        _ => Shutdown::Both,
                    };
                    let _ = e.stream.shutdown(how);
                }
            }
            8 => {
                if let Some(e) = remove(&mut ends, arg) {
                    let h = e.stream.handle();
                    let side = usize::from(IPS[1] == ip4(e.local));
                    drop(e);
                    stale.push((side, h));
                }
            }
            9 => {
                if let Some(e) = remove(&mut ends, arg) {
                    let h = e.stream.handle();
                    let side = usize::from(IPS[1] == ip4(e.local));
                    let _ = e.stream.abort();
                    stale.push((side, h));
                }
            }
            10 => {
                if let Some((_, l)) = remove(&mut listeners, arg) {
                    drop(l);
                }
                if let Some((s, u)) = remove(&mut unbound, input.u8()) {
                    stale.push((s, u.handle()));
                    drop(u);
                }
            }
            11 => {
                let d = Duration::from_millis(u64::from(input.u16()));
                world.step(Some(d));
            }
            12 => {
                // A closed socket's handle names nothing new on its stack (stale, or the same
                // socket still closing), and nothing on the other stack.
                if let Some(&mut (s, h)) = pick(&mut stale, arg) {
                    check_closed_handle(nets[s], h);
                    let other = nets[1 - s].socket_info(h).map(|_| ());
                    assert_eq!(
                        other.map_err(|e| e.kind()),
                        Err(ErrorKind::StaleHandle),
                        "a handle is valid on another stack"
                    );
                }
            }
            13 => {
                if let Ok(u) =
                    net.bind_udp(SocketAddr::new(IPS[side].into(), 6000 + u16::from(arg % 4)))
                {
                    udps.push((side, u));
                }
            }
            14 => {
                if let Some((s, u)) = pick(&mut udps, arg) {
                    let len = usize::from(input.u16() % 2000);
                    let to = SocketAddr::new(IPS[1 - *s].into(), 6000 + u16::from(input.u8() % 4));
                    let payload = vec![arg; len];
                    let _ = u.try_send_to(&payload, to, SendFlags::NONE);
                }
            }
            _ => {
                if let Some((_, u)) = pick(&mut udps, arg) {
                    let mut buf = [0u8; 512];
                    if let Ok(m) = u.try_recv_from(&mut buf, RecvFlags::NONE) {
                        assert!(m.len <= buf.len() && m.len <= m.full_len);
                        // Every datagram sent here is one repeated byte.
                        if let Some(&first) = buf[..m.len].first() {
                            assert!(buf[..m.len].iter().all(|&b| b == first), "datagram mixed");
                        }
                    }
                }
            }
        }
        // Let the world move a little after each operation.
        world.step(Some(Duration::from_millis(1)));
    }

    // Close everything and let both socket tables drain.
    drop(unbound);
    drop(listeners);
    drop(ends);
    drop(udps);
    for _ in 0..20_000 {
        if nets.iter().all(|n| n.open_sockets() == 0) {
            break;
        }
        world.step(Some(Duration::from_millis(100)));
    }
    for (i, n) in nets.iter().enumerate() {
        assert_eq!(n.open_sockets(), 0, "stack {i}: sockets left after close");
    }
    for (s, h) in stale {
        assert!(
            nets[s].socket_info(h).is_err(),
            "stale handle valid after drain"
        );
    }
});

/// A handle of a socket the user closed: `StaleHandle`, or the same socket still closing
/// (never an alias of a socket opened since).
fn check_closed_handle(net: Net<'_>, h: Handle) {
    match net.socket_info(h) {
        Err(e) => assert_eq!(e.kind(), ErrorKind::StaleHandle, "closed handle: {e}"),
        Ok(info) => assert!(
            info.closing,
            "a closed handle names a live socket: {info:?}"
        ),
    }
}

fn ip4(a: SocketAddr) -> Ipv4Addr {
    match a.ip() {
        IpAddr::V4(ip) => ip,
        IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    }
}
