//! Two stacks joined by an in-memory wire that the test can cut, on one manual clock: what a
//! dead peer looks like (keep-alive and retransmission give-ups are `TimedOut`, not
//! `ConnectionReset`).
// Written for the default protocol set (IP-medium devices, UDP, raw sockets, IPv6).
#![cfg(all(
    feature = "medium-ip",
    feature = "udp",
    feature = "raw",
    feature = "proto-ipv6"
))]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use unisock::prelude::*;
use unisock::{Domain, ErrorKind, RecvFlags, SendFlags, SockOpt};
use unisock_smoltcp::{Cidr, Config, ManualClock, PoolConfig, Resources, Spin, Stack};

type Queue = Rc<RefCell<VecDeque<Vec<u8>>>>;

struct End {
    rx: Queue,
    tx: Queue,
    cut: Rc<Cell<bool>>,
}

struct Rx(Vec<u8>);
struct Tx {
    q: Queue,
    cut: Rc<Cell<bool>>,
}

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0u8; len];
        let r = f(&mut buf);
        if !self.cut.get() {
            self.q.borrow_mut().push_back(buf);
        }
        r
    }
}

impl Device for End {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = 1500;
        caps
    }

    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx)> {
        let frame = self.rx.borrow_mut().pop_front()?;
        Some((
            Rx(frame),
            Tx {
                q: self.tx.clone(),
                cut: self.cut.clone(),
            },
        ))
    }

    fn transmit(&mut self, _: Instant) -> Option<Tx> {
        Some(Tx {
            q: self.tx.clone(),
            cut: self.cut.clone(),
        })
    }
}

fn config(ip: &str) -> Config {
    Config::new()
        .with_address(Cidr::parse(ip).unwrap())
        .unwrap()
        .with_pool(PoolConfig::SMALL)
}

#[test]
fn dead_peer_with_keepalive_times_out() {
    let clock = ManualClock::new();
    let (ab, ba): (Queue, Queue) = Default::default();
    let cut = Rc::new(Cell::new(false));
    let a_dev = End {
        rx: ba.clone(),
        tx: ab.clone(),
        cut: cut.clone(),
    };
    let b_dev = End {
        rx: ab,
        tx: ba,
        cut: cut.clone(),
    };
    let mut ra = Box::new(Resources::<12, { 40 * 1024 }, 16>::new());
    let mut rb = Box::new(Resources::<12, { 40 * 1024 }, 16>::new());
    let a = Stack::new(a_dev, &clock, Spin, &config("10.0.0.1/24"), &mut ra).unwrap();
    let b = Stack::new(b_dev, &clock, Spin, &config("10.0.0.2/24"), &mut rb).unwrap();
    let at: SocketAddr = "10.0.0.2:80".parse().unwrap();
    let mut listener = (&b).listen(at, 1).unwrap();
    let mut client = (&a)
        .tcp_socket(Domain::Ipv4)
        .unwrap()
        .connect_nonblocking(at)
        .unwrap();
    let step = || {
        clock.advance(Duration::from_millis(50));
        a.poll();
        b.poll();
    };
    let mut server = None;
    for _ in 0..200 {
        step();
        if let Ok((s, _)) = listener.try_accept() {
            server = Some(s);
            break;
        }
    }
    let mut server = server.expect("accepted over the wire");
    assert!(client.is_connected().unwrap());
    client.try_send(b"hi", SendFlags::NONE).unwrap();
    step();
    let mut buf = [0u8; 4];
    assert_eq!(server.try_recv(&mut buf, RecvFlags::NONE).unwrap(), 2);

    client
        .set_option(SockOpt::KeepAlive(Some(Duration::from_secs(1))))
        .unwrap();
    // Idle but alive: keep-alive probes are answered, nothing times out.
    for _ in 0..200 {
        step();
    }
    assert_eq!(
        client
            .try_recv(&mut buf, RecvFlags::NONE)
            .unwrap_err()
            .kind(),
        ErrorKind::WouldBlock
    );
    // The peer vanishes silently.
    cut.set(true);
    let mut err = None;
    for _ in 0..400 {
        step();
        match client.try_recv(&mut buf, RecvFlags::NONE) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => {
                err = Some(e);
                break;
            }
            Ok(n) => panic!("read {n} bytes from a dead peer"),
        }
    }
    let err = err.expect("no error within 20 simulated seconds");
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert_eq!(
        client.try_send(b"x", SendFlags::NONE).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    drop((client, server, listener));
    // The server's side is an orphan whose peer is gone: aborted after ORPHAN_LIMIT (+ 20 s).
    let steps = (unisock_smoltcp::ORPHAN_LIMIT.as_millis() as usize + 20_000) / 50;
    for _ in 0..steps {
        if a.open_sockets() == 0 && b.open_sockets() == 0 {
            break;
        }
        step();
    }
    assert_eq!((a.open_sockets(), b.open_sockets()), (0, 0));
}

#[test]
fn rst_over_the_wire_is_connection_reset() {
    let clock = ManualClock::new();
    let (ab, ba): (Queue, Queue) = Default::default();
    let cut = Rc::new(Cell::new(false));
    let a_dev = End {
        rx: ba.clone(),
        tx: ab.clone(),
        cut: cut.clone(),
    };
    let b_dev = End {
        rx: ab,
        tx: ba,
        cut,
    };
    let mut ra = Box::new(Resources::<12, { 40 * 1024 }, 16>::new());
    let mut rb = Box::new(Resources::<12, { 40 * 1024 }, 16>::new());
    let a = Stack::new(a_dev, &clock, Spin, &config("10.0.0.1/24"), &mut ra).unwrap();
    let b = Stack::new(b_dev, &clock, Spin, &config("10.0.0.2/24"), &mut rb).unwrap();
    let at: SocketAddr = "10.0.0.2:81".parse().unwrap();
    let mut listener = (&b).listen(at, 1).unwrap();
    let mut client = (&a)
        .tcp_socket(Domain::Ipv4)
        .unwrap()
        .connect_nonblocking(at)
        .unwrap();
    let step = || {
        clock.advance(Duration::from_millis(10));
        a.poll();
        b.poll();
    };
    let mut server = None;
    for _ in 0..200 {
        step();
        if let Ok((s, _)) = listener.try_accept() {
            server = Some(s);
            break;
        }
    }
    server.expect("accepted").abort().unwrap();
    for _ in 0..10 {
        step();
    }
    let mut buf = [0u8; 4];
    assert_eq!(
        client
            .try_recv(&mut buf, RecvFlags::NONE)
            .unwrap_err()
            .kind(),
        ErrorKind::ConnectionReset
    );
    drop((client, listener));
    for _ in 0..100 {
        step();
    }
    assert_eq!((a.open_sockets(), b.open_sockets()), (0, 0));
}
