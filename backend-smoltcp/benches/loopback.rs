//! Throughput and connection-rate figures over the in-process loopback (prints, never
//! asserts). Run: `cargo bench -p unisock-smoltcp --bench loopback`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use unisock::prelude::*;
use unisock::{DatagramSocket, RecvFlags, SendFlags};
use unisock_smoltcp::{Config, StdStack};

const BULK_BYTES: usize = 64 * 1024 * 1024;
const CONNECTIONS: usize = 500;
const DATAGRAMS: usize = 50_000;
const TIME_LIMIT: Duration = Duration::from_secs(60);

fn main() {
    let net = StdStack::loopback(Config::default()).expect("loopback stack");
    let stack = &*net;

    // Bulk TCP, one direction.
    let at: SocketAddr = "127.0.0.1:9100".parse().unwrap();
    let mut listener = stack.listen(at, 1).unwrap();
    let start = Instant::now();
    let received = std::thread::scope(|s| {
        let rx = s.spawn(|| {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = vec![0u8; 65536];
            let mut total = 0usize;
            loop {
                let n = conn.read(&mut buf).unwrap();
                if n == 0 {
                    break total;
                }
                total += n;
            }
        });
        let mut c = stack.connect(at).unwrap();
        let chunk = vec![0x5au8; 65536];
        let mut sent = 0;
        while sent < BULK_BYTES && start.elapsed() < TIME_LIMIT {
            c.write_all(&chunk).unwrap();
            sent += chunk.len();
        }
        drop(c);
        rx.join().unwrap()
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "tcp bulk: {} MiB in {secs:.2} s = {:.1} MiB/s",
        received / (1024 * 1024),
        received as f64 / secs / (1024.0 * 1024.0)
    );

    // Connection rate: connect, accept, one byte each way, close.
    let start = Instant::now();
    let mut done = 0;
    while done < CONNECTIONS && start.elapsed() < TIME_LIMIT {
        let mut c = stack.connect(at).unwrap();
        let (mut s, _) = listener.accept().unwrap();
        c.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        s.read_exact(&mut b).unwrap();
        s.write_all(b"y").unwrap();
        c.read_exact(&mut b).unwrap();
        done += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "tcp connections: {done} in {secs:.2} s = {:.0} per second",
        done as f64 / secs
    );

    // UDP request/response.
    let mut a = stack.bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut b = stack.bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
    let b_addr = b.local_addr().unwrap();
    let a_addr = a.local_addr().unwrap();
    let start = Instant::now();
    let mut done = 0;
    let mut buf = [0u8; 1500];
    while done < DATAGRAMS && start.elapsed() < TIME_LIMIT {
        a.send_to(&buf[..1024], b_addr, SendFlags::NONE).unwrap();
        let m = b.recv_from(&mut buf, RecvFlags::NONE).unwrap();
        b.send_to(&buf[..m.len], a_addr, SendFlags::NONE).unwrap();
        a.recv_from(&mut buf, RecvFlags::NONE).unwrap();
        done += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "udp round trips (1 KiB): {done} in {secs:.2} s = {:.0} per second",
        done as f64 / secs
    );
    drop((a, b, listener));
    let start = Instant::now();
    while stack.open_sockets() != 0 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    println!("open sockets at the end: {}", stack.open_sockets());
}
