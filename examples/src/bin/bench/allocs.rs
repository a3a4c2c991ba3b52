//! Workload 7: heap allocations per operation in steady state, and peak RSS.
//!
//! Allocations are counted by the process-wide counting allocator ([`crate::alloc`]) in a
//! window around each call, after a warm-up; with the smoltcp driver thread running, anything
//! it allocates meanwhile is charged to the call too (an upper bound).
//!
//! Peak RSS (`VmHWM`) is measured in a child process (this binary re-run with
//! `--child-rss`), which runs only the smoltcp side of one TAP transfer each way; the kernel
//! peer stays in the parent, so the child holds nothing but the smoltcp program.

use std::net::SocketAddr;
use std::process::Command;

use unisock::embedded_io::{Read, Write};
use unisock::{DatagramSocket, RecvFlags, SendFlags, Socket as _, Stack, StreamListener};

use crate::alloc::allocations;
use crate::harness::{BenchResult, Ctx};
use crate::plain::{self, Dir};

/// Allocations per call of each kind, over `n` calls after `n / 4` warm-up calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct PerOp {
    /// TCP `write` of 1 KiB.
    pub write: f64,
    /// TCP `read` of 1 KiB.
    pub read: f64,
    /// UDP `send_to` of 64 bytes.
    pub send: f64,
    /// UDP `recv_from`.
    pub recv: f64,
    /// UDP `send_batch` of 8 datagrams.
    pub send_batch: f64,
    /// UDP `recv_batch` of those 8.
    pub recv_batch: f64,
}

/// Count allocations per operation on `stack` (one thread, both ends of each connection).
pub fn per_op<S: Stack>(stack: &S, n: u32) -> BenchResult<PerOp> {
    let mut listener = stack
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)), 4)
        .ctx("listen")?;
    let at = listener.local_addr().ctx("local_addr")?;
    let mut client = stack.connect(at).ctx("connect")?;
    let (mut server, _) = listener.accept().ctx("accept")?;
    let out = [0x11u8; 1024];
    let mut inb = [0u8; 1024];
    let mut udp_a = stack
        .bind_udp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .ctx("bind_udp")?;
    let mut udp_b = stack
        .bind_udp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .ctx("bind_udp")?;
    let to = udp_b.local_addr().ctx("udp addr")?;
    let msgs = [unisock::SendMsg {
        data: &out[..64],
        to: Some(to),
    }; 8];
    let mut bufs = [[0u8; 128]; 8];
    let mut slots: Vec<unisock::RecvSlot<'_, SocketAddr>> =
        bufs.iter_mut().map(|b| unisock::RecvSlot::new(b)).collect();
    let (mut w, mut r, mut s, mut v) = (0u64, 0u64, 0u64, 0u64);
    let (mut sb, mut rb) = (0u64, 0u64);
    let warm = n / 4;
    for i in 0..warm + n {
        let a0 = allocations();
        client.write_all(&out).ctx("write")?;
        let a1 = allocations();
        server
            .read_exact(&mut inb)
            .map_err(|e| format!("read: {e:?}"))?;
        let a2 = allocations();
        udp_a
            .send_to(&out[..64], to, SendFlags::NONE)
            .ctx("send_to")?;
        let a3 = allocations();
        let m = udp_b
            .recv_from(&mut inb, RecvFlags::NONE)
            .ctx("recv_from")?;
        let a4 = allocations();
        if m.len != 64 {
            return Err(format!("recv_from: {} bytes", m.len));
        }
        let sent = udp_a.send_batch(&msgs).ctx("send_batch")?;
        let a5 = allocations();
        let mut got = 0;
        while got < sent {
            got += udp_b.recv_batch(&mut slots).ctx("recv_batch")?;
        }
        let a6 = allocations();
        if i >= warm {
            w += a1 - a0;
            r += a2 - a1;
            s += a3 - a2;
            v += a4 - a3;
            sb += a5 - a4;
            rb += a6 - a5;
        }
    }
    let n = f64::from(n);
    Ok(PerOp {
        write: w as f64 / n,
        read: r as f64 / n,
        send: s as f64 / n,
        recv: v as f64 / n,
        send_batch: sb as f64 / n,
        recv_batch: rb as f64 / n,
    })
}

/// The same counts for `std::net` (the baseline of the kernel backend).
pub fn per_op_std(n: u32) -> BenchResult<PerOp> {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").ctx("listen")?;
    let mut client =
        std::net::TcpStream::connect(listener.local_addr().ctx("addr")?).ctx("connect")?;
    let (mut server, _) = listener.accept().ctx("accept")?;
    let out = [0x11u8; 1024];
    let mut inb = [0u8; 1024];
    let udp_a = std::net::UdpSocket::bind("127.0.0.1:0").ctx("bind")?;
    let udp_b = std::net::UdpSocket::bind("127.0.0.1:0").ctx("bind")?;
    let to = udp_b.local_addr().ctx("addr")?;
    let (mut w, mut r, mut s, mut v) = (0u64, 0u64, 0u64, 0u64);
    let warm = n / 4;
    for i in 0..warm + n {
        let a0 = allocations();
        client.write_all(&out).ctx("write")?;
        let a1 = allocations();
        server.read_exact(&mut inb).ctx("read")?;
        let a2 = allocations();
        udp_a.send_to(&out[..64], to).ctx("send_to")?;
        let a3 = allocations();
        udp_b.recv_from(&mut inb).ctx("recv_from")?;
        let a4 = allocations();
        if i >= warm {
            w += a1 - a0;
            r += a2 - a1;
            s += a3 - a2;
            v += a4 - a3;
        }
    }
    let n = f64::from(n);
    Ok(PerOp {
        write: w as f64 / n,
        read: r as f64 / n,
        send: s as f64 / n,
        recv: v as f64 / n,
        send_batch: 0.0,
        recv_batch: 0.0,
    })
}

/// Which smoltcp program a peak-RSS child runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RssKind {
    /// unisock-smoltcp's `StdStack::tap`.
    Unisock,
    /// The plain smoltcp program on `TunTapInterface`.
    Plain,
}

/// Socket buffer bytes per direction in the RSS children.
pub const RSS_BUF: usize = 1 << 20;

/// In the child: one transfer of `total` bytes each way over TAP `name` to the kernel peer on
/// `port_out` then `port_in` (run by the parent); prints `VmHWM <KiB>` on stdout.
pub fn child(kind: RssKind, name: &str, ports: (u16, u16), total: u64) -> BenchResult<()> {
    // What the process holds before the smoltcp program starts (this benchmark binary, its
    // libraries, argument parsing): reported so the program's own share can be told apart.
    let start = crate::sys::status_kib("VmRSS").ok_or("no VmRSS in /proc/self/status")?;
    for (dir, port) in [(Dir::Out, ports.0), (Dir::In, ports.1)] {
        match kind {
            RssKind::Unisock => {
                let pool = unisock_smoltcp::PoolConfig {
                    tcp: 1,
                    tcp_rx: RSS_BUF,
                    tcp_tx: RSS_BUF,
                    udp: 0,
                    raw: 0,
                    local_bytes: 0,
                    ..unisock_smoltcp::PoolConfig::SMALL
                };
                crate::usmol::tap_transfer(name, dir, port, total, pool, false)?;
            }
            RssKind::Plain => {
                plain::tap_transfer(name, dir, port, total, RSS_BUF)?;
            }
        }
    }
    let kib = crate::sys::status_kib("VmHWM").ok_or("no VmHWM in /proc/self/status")?;
    println!("VmHWM {kib}");
    println!("VmStart {start}");
    Ok(())
}

/// In the parent: run a child of `kind` against kernel peers here; its peak RSS in MiB, or
/// with `growth` its peak RSS less its RSS before the smoltcp program started.
pub fn rss_of_child(
    kind: RssKind,
    name: &str,
    total: u64,
    cc: &str,
    growth: bool,
) -> BenchResult<f64> {
    let exe = std::env::current_exe().ctx("current_exe")?;
    let l_out = plain::kernel_listener(cc)?;
    let l_in = plain::kernel_listener(cc)?;
    let p_out = l_out.local_addr().ctx("addr")?.port();
    let p_in = l_in.local_addr().ctx("addr")?.port();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let peer = s.spawn(|| -> BenchResult<()> {
            plain::kernel_peer(l_out, Dir::Out, total, cc.to_string(), &done)?;
            plain::kernel_peer(l_in, Dir::In, total, cc.to_string(), &done)?;
            Ok(())
        });
        let kind_arg = match kind {
            RssKind::Unisock => "unisock",
            RssKind::Plain => "plain",
        };
        let out = Command::new(exe)
            .args([
                "--no-netns",
                "--child-rss",
                kind_arg,
                "--child-tap",
                name,
                "--child-ports",
                &format!("{p_out},{p_in}"),
                "--child-bytes",
                &total.to_string(),
            ])
            .output()
            .ctx("running the RSS child")?;
        let peer = peer
            .join()
            .map_err(|_| "kernel peer panicked".to_string())?;
        if !out.status.success() {
            return Err(format!(
                "RSS child failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        peer?;
        let text = String::from_utf8_lossy(&out.stdout);
        let value = |key: &str| -> BenchResult<f64> {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| format!("RSS child printed no {key}: {text:?}"))
        };
        let hwm = value("VmHWM ")?;
        let kib = if growth {
            hwm - value("VmStart ")?
        } else {
            hwm
        };
        Ok(kib / 1024.0)
    })
}
