//! The embedded way: no driver thread, no heap for the stack (caller-provided `Resources`),
//! a manual clock, `poll_at` and `try_*` calls only. Also pool exhaustion and handles.
// Written for the default protocol set (IP-medium devices, UDP, raw sockets, IPv6).
#![cfg(all(
    feature = "medium-ip",
    feature = "udp",
    feature = "raw",
    feature = "proto-ipv6"
))]

use std::net::SocketAddr;
use std::time::Duration;

use smoltcp::phy::Medium;
use smoltcp::time::Instant;
use unisock::prelude::*;
use unisock::{DatagramSocket, Domain, ErrorKind, RecvFlags, SendFlags};
use unisock_smoltcp::{
    Clock, Config, Loopback, ManualClock, ManualWait, PoolConfig, Resources, Spin, Stack, Wait,
};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Listen on `at` (backlog 2), connect to it without blocking and accept, calling `step(1)`
/// (advance the simulated clock 1 ms and poll) until the connection is accepted.
fn connect_and_accept<S: unisock::Stack>(
    net: &S,
    at: SocketAddr,
    step: &mut impl FnMut(u64),
) -> (S::TcpListener, S::TcpStream, S::TcpStream) {
    let mut listener = net.listen(at, 2).unwrap();
    let client = net
        .tcp_socket(Domain::of(&at))
        .unwrap()
        .connect_nonblocking(at)
        .unwrap();
    for _ in 0..1_000 {
        step(1);
        if let Ok((server, _)) = listener.try_accept() {
            return (listener, client, server);
        }
    }
    panic!("not accepted within 1,000 simulated milliseconds");
}

const SOCKETS: usize = 12;
const BYTES: usize = 40 * 1024;
const PACKETS: usize = 16;

/// The set-up several tests share: an in-process stack at MTU 1500 with the small pool, the
/// caller's resources and a manual clock, polled by `step(ms)` (advance the clock, poll), and
/// one connection to `127.0.0.1:port` accepted. Binds the stack, `step`, the simulated time,
/// the listener, the client and the server to the given names.
macro_rules! simulated_connection {
    ($port:literal => $stack:ident, $step:ident, $now:ident, $listener:ident, $client:ident, $server:ident) => {
        let clock = ManualClock::new();
        let mut frames = vec![0u8; 8 * 1500];
        let device = Loopback::new(&mut frames, 1500, Medium::Ip).unwrap();
        let config = Config::loopback().with_pool(PoolConfig::SMALL);
        let mut resources = Box::new(Resources::<SOCKETS, BYTES, PACKETS>::new());
        let $stack = Stack::new(device, &clock, Spin, &config, &mut resources).unwrap();
        let mut $now = Instant::from_millis(0);
        let mut $step = |ms: u64| {
            $now += smoltcp::time::Duration::from_millis(ms);
            clock.set($now);
            $stack.poll_at($now);
        };
        #[allow(unused_mut)]
        let ($listener, mut $client, mut $server) =
            connect_and_accept(&&$stack, addr(concat!("127.0.0.1:", $port)), &mut $step);
    };
}

#[test]
fn superloop_tcp_and_udp_with_manual_clock() {
    let clock = ManualClock::new();
    let mut frames = vec![0u8; 8 * 1500];
    let device = Loopback::new(&mut frames, 1500, Medium::Ip).unwrap();
    let config = Config::loopback().with_pool(PoolConfig::SMALL);
    assert!(config.pool.sockets_needed() <= SOCKETS);
    assert!(config.pool.bytes_needed() <= BYTES);
    assert!(config.pool.packets_needed() <= PACKETS);
    let mut resources = Box::new(Resources::<SOCKETS, BYTES, PACKETS>::new());
    let stack = Stack::new(device, &clock, Spin, &config, &mut resources).unwrap();
    let net = &stack;
    let at = addr("127.0.0.1:80");
    let mut listener = net.listen(at, 2).unwrap();
    let client = net
        .tcp_socket(Domain::Ipv4)
        .unwrap()
        .connect_nonblocking(at)
        .unwrap();
    let mut client = client;
    let mut server = None;
    let payload: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
    let (mut sent, mut got) = (0usize, Vec::new());
    let mut now = Instant::from_millis(0);
    for _ in 0..10_000 {
        stack.poll_at(now);
        if server.is_none() {
            match listener.try_accept() {
                Ok((s, _)) => server = Some(s),
                Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
            }
        }
        if client.is_connected().unwrap() && sent < payload.len() {
            match client.try_send(&payload[sent..], SendFlags::NONE) {
                Ok(n) => sent += n,
                Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
            }
        }
        if let Some(s) = server.as_mut() {
            let mut buf = [0u8; 700];
            match s.try_recv(&mut buf, RecvFlags::NONE) {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
            }
        }
        if got.len() == payload.len() {
            break;
        }
        now += smoltcp::time::Duration::from_millis(1);
        clock.set(now);
    }
    assert_eq!(got, payload);

    // UDP in the same loop style.
    let mut u1 = net.bind_udp(addr("127.0.0.1:5000")).unwrap();
    let mut u2 = net.bind_udp(addr("127.0.0.1:0")).unwrap();
    u2.try_send_to(b"dgram", addr("127.0.0.1:5000"), SendFlags::NONE)
        .unwrap();
    stack.poll_at(now);
    let mut buf = [0u8; 16];
    let m = u1.try_recv_from(&mut buf, RecvFlags::NONE).unwrap();
    assert_eq!(&buf[..m.len], b"dgram");

    drop((client, server, listener, u1, u2));
    // Bounded: closing finishes within simulated seconds.
    for _ in 0..10_000 {
        if stack.open_sockets() == 0 {
            break;
        }
        now += smoltcp::time::Duration::from_millis(10);
        clock.set(now);
        stack.poll_at(now);
    }
    assert_eq!(stack.open_sockets(), 0);
}

/// A connection that ended cleanly both ways stays readable after smoltcp's TIME-WAIT timer
/// (10 s) has closed it: the data the application had not read yet, then end of stream. It was
/// lost, and `recv` failed with a made-up cause ("the retransmission or keep-alive timer gave
/// up", or "the peer sent RST" when the close was noticed after a received frame): smoltcp
/// patch 10 and the backend's note of TIME-WAIT.
#[test]
fn unread_data_and_end_of_stream_survive_the_time_wait_timer() {
    simulated_connection!(81 => stack, step, now, listener, client, server);
    // The client finishes first (FIN-WAIT-2), the server answers and finishes: the client
    // reaches TIME-WAIT holding unread data.
    client.shutdown(Shutdown::Write).unwrap();
    step(1);
    let mut buf = [0u8; 64];
    assert_eq!(server.try_recv(&mut buf, RecvFlags::NONE).unwrap(), 0);
    assert_eq!(server.try_send(b"tail", SendFlags::NONE).unwrap(), 4);
    server.shutdown(Shutdown::Write).unwrap();
    for _ in 0..100 {
        step(1);
    }
    assert_eq!(
        client.state().unwrap(),
        smoltcp::socket::tcp::State::TimeWait
    );
    // Past smoltcp's TIME-WAIT timer.
    for _ in 0..30 {
        step(1_000);
    }
    assert_eq!(client.state().unwrap(), smoltcp::socket::tcp::State::Closed);
    assert_eq!(client.try_recv(&mut buf, RecvFlags::NONE).unwrap(), 4);
    assert_eq!(&buf[..4], b"tail");
    assert_eq!(client.try_recv(&mut buf, RecvFlags::NONE).unwrap(), 0);
    assert_eq!(client.try_recv(&mut buf, RecvFlags::NONE).unwrap(), 0);
    assert_eq!(
        client.try_send(b"x", SendFlags::NONE).unwrap_err().kind(),
        ErrorKind::BrokenPipe
    );
    drop((client, server, listener));
    for _ in 0..100 {
        if stack.open_sockets() == 0 {
            break;
        }
        step(100);
    }
    assert_eq!(stack.open_sockets(), 0);
}

/// A dropped connection whose peer is still reading what was queued before the close is not
/// aborted at `ORPHAN_LIMIT` while it makes progress: the limit counts from the last
/// acknowledgement. It was counted from the close, and a slow reader got an RST mid-stream.
#[test]
fn an_orphan_that_makes_progress_outlives_the_orphan_limit() {
    simulated_connection!(82 => stack, step, now, listener, client, server);
    // Fill the client's receive buffer and the server's send buffer, then drop the server.
    let payload: Vec<u8> = (0..4096u32).map(|i| (i * 7) as u8).collect();
    let mut sent = 0;
    for _ in 0..100 {
        if let Ok(n) = server.try_send(&payload[sent..], SendFlags::NONE) {
            sent += n;
        }
        step(1);
    }
    assert!(
        sent > 2048,
        "the server queued beyond the client's window ({sent})"
    );
    drop(server);
    // Read 64 bytes every fifteenth of the limit: several limits long for what was sent.
    let pace = unisock_smoltcp::ORPHAN_LIMIT.as_millis() as u64 / 15;
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    for _ in 0..200 {
        match client.try_recv(&mut buf, RecvFlags::NONE) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock, "after {} bytes", got.len()),
        }
        step(pace);
    }
    assert!(now > Instant::from_millis(2 * 15 * pace as i64));
    assert_eq!(got, &payload[..sent]);
    drop((client, listener));
}

#[test]
fn blocking_calls_in_simulation_time_out_by_the_manual_clock() {
    let clock = ManualClock::new();
    let mut frames = vec![0u8; 4 * 1500];
    let device = Loopback::new(&mut frames, 1500, Medium::Ip).unwrap();
    let config = Config::loopback().with_pool(PoolConfig::SMALL);
    let mut resources = Box::new(Resources::<SOCKETS, BYTES, PACKETS>::new());
    let waiter = ManualWait::new(&clock, Duration::from_millis(100));
    let waited = std::cell::Cell::new(0u32);
    // A closure waiter (as a bare-metal WFI would be) wrapping the simulation one.
    let waiter = unisock_smoltcp::WaitFn(|t| {
        waited.set(waited.get() + 1);
        waiter.wait(t)
    });
    let stack = Stack::new(device, &clock, waiter, &config, &mut resources).unwrap();
    let net = &stack;
    let mut u = net.bind_udp(addr("127.0.0.1:0")).unwrap();
    u.set_option(unisock::SockOpt::ReadTimeout(Some(Duration::from_secs(30))))
        .unwrap();
    let mut buf = [0u8; 4];
    let e = u.recv_from(&mut buf, RecvFlags::NONE).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert!(
        clock.now() >= Instant::from_secs(30),
        "simulated time advanced"
    );
    drop(u);
    assert_eq!(stack.open_sockets(), 0);
}

#[test]
fn pool_exhaustion_is_out_of_memory_and_handles_never_alias() {
    let clock = ManualClock::new();
    let mut frames = vec![0u8; 4 * 1500];
    let device = Loopback::new(&mut frames, 1500, Medium::Ip).unwrap();
    let config = Config::loopback().with_pool(PoolConfig::SMALL);
    let mut resources = Box::new(Resources::<SOCKETS, BYTES, PACKETS>::new());
    let stack = Stack::new(device, &clock, Spin, &config, &mut resources).unwrap();
    let net = &stack;
    let tcp: Vec<_> = (0..PoolConfig::SMALL.tcp)
        .map(|_| net.tcp_socket(Domain::Ipv4).unwrap())
        .collect();
    let e = net.tcp_socket(Domain::Ipv4).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutOfMemory);
    let udp: Vec<_> = (0..PoolConfig::SMALL.udp)
        .map(|_| net.udp_socket(Domain::Ipv6).unwrap())
        .collect();
    assert_eq!(
        net.udp_socket(Domain::Ipv4).unwrap_err().kind(),
        ErrorKind::OutOfMemory
    );
    let raw = net
        .raw_socket(Domain::Ipv4, unisock::Protocol::ICMP)
        .unwrap();
    assert_eq!(
        net.raw_socket(Domain::Ipv4, unisock::Protocol::ICMP)
            .unwrap_err()
            .kind(),
        ErrorKind::OutOfMemory
    );
    assert_eq!(
        net.raw_socket(Domain::Ipv4, unisock::Protocol::UDP)
            .unwrap_err()
            .kind(),
        ErrorKind::Unsupported
    );
    let total = PoolConfig::SMALL.tcp + PoolConfig::SMALL.udp + 1;
    assert_eq!(stack.open_sockets(), total);

    // A freed slot's old handle is stale, and the reused slot gets a new generation.
    let old = udp[0].handle();
    assert!(stack.socket_info(old).is_ok());
    drop(udp);
    assert_eq!(
        stack.socket_info(old).unwrap_err().kind(),
        ErrorKind::StaleHandle
    );
    let mut seen = vec![old];
    for _ in 0..50 {
        let s = net.udp_socket(Domain::Ipv4).unwrap();
        let h = s.handle();
        assert!(!seen.contains(&h), "handle {h:?} reused");
        seen.push(h);
        drop(s);
        assert_eq!(
            stack.socket_info(h).unwrap_err().kind(),
            ErrorKind::StaleHandle
        );
    }
    drop((tcp, raw));
    stack.poll();
    assert_eq!(stack.open_sockets(), 0);

    // A handle of another stack never names one of this stack's sockets, even when the
    // index and generation match (two fresh stacks: same slot, same generation).
    let mut frames2 = vec![0u8; 4 * 1500];
    let mut frames3 = vec![0u8; 4 * 1500];
    let dev2 = Loopback::new(&mut frames2, 1500, Medium::Ip).unwrap();
    let dev3 = Loopback::new(&mut frames3, 1500, Medium::Ip).unwrap();
    let mut res2 = Box::new(Resources::<SOCKETS, BYTES, PACKETS>::new());
    let mut res3 = Box::new(Resources::<SOCKETS, BYTES, PACKETS>::new());
    let two = Stack::new(dev2, &clock, Spin, &config, &mut res2).unwrap();
    let three = Stack::new(dev3, &clock, Spin, &config, &mut res3).unwrap();
    let mine = (&two).udp_socket(Domain::Ipv4).unwrap();
    let theirs = (&three).udp_socket(Domain::Ipv4).unwrap();
    assert_ne!(mine.handle(), theirs.handle());
    assert!(two.socket_info(mine.handle()).is_ok());
    assert_eq!(
        two.socket_info(theirs.handle()).unwrap_err().kind(),
        ErrorKind::StaleHandle
    );
    assert_eq!(
        three.socket_info(mine.handle()).unwrap_err().kind(),
        ErrorKind::StaleHandle
    );
    drop((mine, theirs));
}

#[test]
fn resources_too_small_is_out_of_memory_not_a_panic() {
    let clock = ManualClock::new();
    let mut frames = vec![0u8; 4 * 1500];
    let device = Loopback::new(&mut frames, 1500, Medium::Ip).unwrap();
    let config = Config::loopback().with_pool(PoolConfig::SMALL);
    let mut resources = Box::new(Resources::<SOCKETS, 1024, PACKETS>::new());
    let e = Stack::new(device, &clock, Spin, &config, &mut resources).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutOfMemory);
    let mut small = [0u8; 100];
    assert_eq!(
        Loopback::new(&mut small, 1500, Medium::Ip)
            .unwrap_err()
            .kind(),
        ErrorKind::OutOfMemory
    );
}

#[cfg(feature = "std")]
#[test]
fn absurd_pool_sizes_are_errors_not_aborts() {
    let device = Loopback::with_capacity(4, 1500, Medium::Ip).unwrap();
    let config = Config::loopback().with_pool(PoolConfig {
        udp_rx: usize::MAX / 2,
        ..PoolConfig::SMALL
    });
    let e = Stack::new_alloc(device, unisock_smoltcp::StdClock::new(), Spin, &config).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutOfMemory, "{e}");
    let device = Loopback::with_capacity(4, 1500, Medium::Ip).unwrap();
    let config = Config::loopback().with_pool(PoolConfig {
        tcp_rx: 2 << 30,
        ..PoolConfig::SMALL
    });
    let e = Stack::new_alloc(device, unisock_smoltcp::StdClock::new(), Spin, &config).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(
        PoolConfig {
            tcp: usize::MAX,
            ..PoolConfig::SMALL
        }
        .bytes_needed(),
        usize::MAX
    );
}

/// One poll processes a bounded amount of received data (about 128 KiB, here two 64 KiB
/// frames) and then says "poll again" (`poll_delay` 0), so that a reader copies the data
/// out while it is in cache; before, one poll at MTU 65535 moved the whole 1 MiB window.
/// Repeated polls still move every byte, intact.
#[cfg(feature = "std")]
#[test]
fn one_poll_moves_a_bounded_amount_and_asks_for_another() {
    const BUF: usize = 1 << 20;
    let mut config = Config::loopback().with_pool(PoolConfig {
        tcp: 4,
        tcp_rx: BUF,
        tcp_tx: BUF,
        ..PoolConfig::SMALL
    });
    config.device_loops_back = true;
    let device = Loopback::with_capacity(32, 65535, Medium::Ip).unwrap();
    let stack = Stack::new_alloc(device, unisock_smoltcp::StdClock::new(), Spin, &config).unwrap();
    let net = &stack;
    let at = addr("127.0.0.1:81");
    let mut listener = net.listen(at, 1).unwrap();
    let mut client = net
        .tcp_socket(Domain::Ipv4)
        .unwrap()
        .connect_nonblocking(at)
        .unwrap();
    let mut server = None;
    for _ in 0..1000 {
        stack.poll();
        if let Ok((s, _)) = listener.try_accept() {
            server = Some(s);
            break;
        }
    }
    let mut server = server.expect("accepted");
    let payload: Vec<u8> = (0..BUF as u32).map(|i| (i % 251) as u8).collect();
    // The send's own poll moves part of it; the receiver holds at most the bound.
    let sent = client.try_send(&payload, SendFlags::NONE).unwrap();
    assert_eq!(sent, BUF, "the whole send buffer was free");
    let mut got = vec![0u8; 2 * BUF];
    let first = server.try_recv(&mut got, RecvFlags::NONE).unwrap();
    assert!(
        first <= 2 * 65535,
        "one poll moved {first} bytes, more than two 64 KiB frames"
    );
    assert_eq!(stack.poll_delay(), Some(Duration::ZERO), "work is left");
    let mut n = first;
    for _ in 0..1000 {
        if n == BUF {
            break;
        }
        stack.poll();
        match server.try_recv(&mut got[n..], RecvFlags::NONE) {
            Ok(k) => n += k,
            Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
        }
    }
    assert_eq!(n, BUF);
    assert!(got[..BUF] == payload[..], "the bytes arrived intact");
}

/// One read takes received data in both parts when it wraps around the end of the receive
/// ring, and data followed by the peer's FIN is returned whole before end of stream (the
/// backend copies out of smoltcp's ring itself: `copy.rs`).
#[test]
fn a_read_spans_the_receive_ring_end_and_data_before_the_fin_is_kept() {
    simulated_connection!(83 => stack, step, now, listener, client, server);
    let data: Vec<u8> = (0..3800u32).map(|i| (i % 251) as u8).collect();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // 1,500 bytes in, 1,000 read: the next 1,500 fill the 2 KiB ring's end and wrap.
    assert_eq!(
        client.try_send(&data[..1500], SendFlags::NONE).unwrap(),
        1500
    );
    step(1);
    assert_eq!(
        server.try_recv(&mut buf[..1000], RecvFlags::NONE).unwrap(),
        1000
    );
    got.extend_from_slice(&buf[..1000]);
    assert_eq!(
        client.try_send(&data[1500..3000], SendFlags::NONE).unwrap(),
        1500
    );
    for _ in 0..5 {
        step(1);
    }
    assert_eq!(
        server.try_recv(&mut buf, RecvFlags::NONE).unwrap(),
        2000,
        "both parts in one read"
    );
    got.extend_from_slice(&buf[..2000]);
    // The last bytes and the FIN arrive together: the read returns the bytes, the next one
    // end of stream.
    assert_eq!(
        client.try_send(&data[3000..], SendFlags::NONE).unwrap(),
        800
    );
    client.shutdown(Shutdown::Write).unwrap();
    for _ in 0..5 {
        step(1);
    }
    assert_eq!(server.try_recv(&mut buf, RecvFlags::NONE).unwrap(), 800);
    got.extend_from_slice(&buf[..800]);
    assert_eq!(server.try_recv(&mut buf, RecvFlags::NONE).unwrap(), 0);
    assert_eq!(got, data);
    drop((client, server, listener));
}
