//! Workload 9, `lossy`: TCP over TAP with packets dropped on the kernel side (issue 11).
//!
//! One transfer of `--quick` 2 MiB / full 8 MiB in each direction between a kernel TCP socket
//! and smoltcp on a TAP device at MTU 1500, with nftables dropping `P` % of the frames that
//! enter and leave the kernel on the TAP (`numgen random mod 100 < P`), for P in 0, 1, 2, 5,
//! 10 (quick: 0 and 2). Three programs, interleaved round by round (the order rotates):
//! - unisock-smoltcp: `StdStack::tap`, blocking calls;
//! - plain smoltcp: `TunTapInterface` in the usual `poll` / `poll_delay` / `phy_wait` loop
//!   (the same smoltcp build, so the same loss recovery);
//! - the kernel to the kernel over a veth pair (offloads off so that the rules drop
//!   MTU-sized segments, not 64 KiB super-segments), with the same rules on the veth.
//!
//! Every transfer sends a pseudo-random buffer and the receiver checks its SHA-256; every
//! transfer is bounded by [`LIMIT`] (a stalled one is a failure, counted in the note, and the
//! round goes on). Samples are seconds to move everything (lower is better), so the ratio
//! column is unisock's time over plain smoltcp's: below 1 means unisock is faster.
//!
//! Traffic stays inside the benchmark's private namespace and the named namespace of the veth
//! peer; the nftables table lives in the private namespace and is removed at the end.
//!
//! For investigation (issue 11's captures), environment variables narrow a run:
//! `UNISOCK_LOSSY_LOSS=2,5` (loss rates), `UNISOCK_LOSSY_ONLY=plain,unisock,kernel,out,in`
//! (programs and directions), `UNISOCK_LOSSY_BUF` (socket buffer bytes, both programs) and
//! `UNISOCK_LOSSY_PCAP=DIR` (a `tcpdump` of every transfer on the kernel side of the TAP or
//! veth, `DIR/<program>-<loss>pct-<dir>-r<round>.pcap`).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{self, Medium, TunTapInterface};
use smoltcp::socket::tcp;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr};
use unisock::embedded_io::{Read, Write};
use unisock::{SockOpt, Socket as _, Stack as _, StreamSocket};
use unisock_smoltcp::{Cidr, PoolConfig, StdStack, TapOptions};

use crate::harness::{BenchResult, Ctx as _, Row};
use crate::plain::{self, Dir, TAP_KERNEL, TAP_MAC, TAP_SMOLTCP, VETH_PEER};
use crate::sys;

/// The longest one transfer may take; past it the transfer is a failure.
pub const LIMIT: Duration = Duration::from_secs(120);

/// The TAP device of this workload.
const TAP: &str = "ublossy0";
/// The veth end in the benchmark's namespace (set up by [`plain::setup_veth`]).
const VETH: &str = "ubveth0";
/// Socket buffers of both smoltcp programs (each way); `UNISOCK_LOSSY_BUF` (bytes)
/// overrides it, for investigation.
fn buf() -> usize {
    std::env::var("UNISOCK_LOSSY_BUF")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256 * 1024)
}

/// The nftables table of this workload.
const TABLE: &str = "unisock_lossy";

/// Drop `percent` % of the frames in and out of `devs` (kernel side), replacing earlier
/// rules; 0 removes them.
fn set_loss(devs: &[&str], percent: u32) -> BenchResult<()> {
    let _ = Command::new("nft")
        .args(["delete", "table", "inet", TABLE])
        .stderr(Stdio::null())
        .status();
    if percent == 0 {
        return Ok(());
    }
    let mut script = format!(
        "add table inet {TABLE}\n\
         add chain inet {TABLE} in {{ type filter hook input priority 0; }}\n\
         add chain inet {TABLE} out {{ type filter hook output priority 0; }}\n"
    );
    for d in devs {
        script += &format!(
            "add rule inet {TABLE} in iifname \"{d}\" numgen random mod 100 < {percent} counter drop\n\
             add rule inet {TABLE} out oifname \"{d}\" numgen random mod 100 < {percent} counter drop\n"
        );
    }
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running nft: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("nft stdin")?
        .write_all(script.as_bytes())
        .ctx("nft stdin")?;
    let out = child.wait_with_output().ctx("nft")?;
    if !out.status.success() {
        return Err(format!(
            "nft: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// A `tcpdump` of one transfer, when `UNISOCK_LOSSY_PCAP` names a folder (investigation
/// only); stopped on drop.
struct Capture(Option<std::process::Child>);

impl Capture {
    fn start(dev: &str, name: &str) -> Capture {
        let Ok(dir) = std::env::var("UNISOCK_LOSSY_PCAP") else {
            return Capture(None);
        };
        let path = format!("{dir}/{name}.pcap");
        let child = Command::new("tcpdump")
            .args(["-i", dev, "-s", "128", "-U", "-w", &path])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| eprintln!("  tcpdump: {e}"))
            .ok();
        // Let it open the device before the transfer starts.
        thread::sleep(Duration::from_millis(300));
        Capture(child)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            thread::sleep(Duration::from_millis(100));
            // SAFETY: signalling our own child by its process id.
            unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGINT) };
            let _ = c.wait();
        }
    }
}

/// Whether `who` (`unisock`, `plain`, `kernel`, `out`, `in`) is selected by
/// `UNISOCK_LOSSY_ONLY` (a comma-separated list; unset: all).
fn selected(who: &str) -> bool {
    std::env::var("UNISOCK_LOSSY_ONLY")
        .map(|v| v.split(',').any(|w| w.trim() == who))
        .unwrap_or(true)
}

/// Turn segmentation and receive offloads off on `dev` (in namespace `ns`, if given).
fn offloads_off(ns: Option<&str>, dev: &str) -> BenchResult<()> {
    let mut cmd = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "ethtool"]);
            c
        }
        None => Command::new("ethtool"),
    };
    let out = cmd
        .args(["-K", dev, "tso", "off", "gso", "off", "gro", "off"])
        .output()
        .map_err(|e| format!("running ethtool: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ethtool -K {dev}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// `n` pseudo-random bytes (xorshift64*, fixed seed) and their SHA-256.
fn payload(n: usize) -> (Vec<u8>, [u8; 32]) {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    v.truncate(n);
    let digest = Sha256::digest(&v).into();
    (v, digest)
}

/// What the receiving end saw: byte count and digest.
struct Received {
    bytes: u64,
    digest: [u8; 32],
}

/// Read `r` to end of stream (or `limit`), hashing; `read` returns `Ok(0)` at the end.
fn drain(
    mut read: impl FnMut(&mut [u8]) -> BenchResult<usize>,
    total: u64,
    deadline: Instant,
) -> BenchResult<Received> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut h = Sha256::new();
    let mut bytes = 0u64;
    while bytes < total {
        if Instant::now() > deadline {
            return Err(format!("timed out after {bytes} of {total} bytes"));
        }
        let n = read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(Received {
        bytes,
        digest: h.finalize().into(),
    })
}

fn check(r: &Received, total: u64, digest: &[u8; 32]) -> BenchResult<()> {
    if r.bytes != total {
        return Err(format!("received {} of {total} bytes", r.bytes));
    }
    if &r.digest != digest {
        return Err("SHA-256 of the received bytes differs".into());
    }
    Ok(())
}

/// Remaining time to `deadline`, at least 1 ms (for socket timeouts).
fn left(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

/// One transfer against a kernel socket on the TAP network: `smoltcp(port, deadline)` is the
/// smoltcp side (returns when it started and when it finished); the kernel side reads (Out)
/// or writes (In) `data`. Seconds from the start to the receiver having everything.
fn with_kernel(
    dir: Dir,
    data: &[u8],
    digest: &[u8; 32],
    cc: &str,
    smoltcp: impl FnOnce(u16, Instant) -> BenchResult<(Instant, Instant, Option<Received>)>,
) -> BenchResult<f64> {
    let total = data.len() as u64;
    let l = TcpListener::bind(SocketAddr::from((TAP_KERNEL, 0))).ctx("kernel bind")?;
    sys::set_congestion(l.as_raw_fd(), cc)?;
    sys::set_recv_timeout(l.as_raw_fd(), LIMIT)?;
    let port = l.local_addr().ctx("kernel addr")?.port();
    let deadline = Instant::now() + LIMIT;
    thread::scope(|s| {
        let peer = s.spawn(move || -> BenchResult<(Option<Received>, Instant)> {
            let (mut c, _) = l.accept().ctx("kernel accept")?;
            sys::set_congestion(c.as_raw_fd(), cc)?;
            c.set_read_timeout(Some(left(deadline)))
                .ctx("kernel timeout")?;
            c.set_write_timeout(Some(left(deadline)))
                .ctx("kernel timeout")?;
            match dir {
                Dir::Out => {
                    let r = drain(|b| c.read(b).ctx("kernel read"), total, deadline)?;
                    Ok((Some(r), Instant::now()))
                }
                Dir::In => {
                    for chunk in data.chunks(256 * 1024) {
                        c.write_all(chunk).ctx("kernel write")?;
                    }
                    // Half-close, then wait for smoltcp's close so that the socket is gone
                    // before the next transfer.
                    c.shutdown(std::net::Shutdown::Write)
                        .ctx("kernel shutdown")?;
                    let mut b = [0u8; 64];
                    c.set_read_timeout(Some(Duration::from_secs(2)))
                        .ctx("kernel timeout")?;
                    let _ = c.read(&mut b);
                    Ok((None, Instant::now()))
                }
            }
        });
        let r = smoltcp(port, deadline);
        let p = peer
            .join()
            .map_err(|_| "kernel peer panicked".to_string())?;
        let (start, smol_end, smol_rx) = r?;
        let (kern_rx, kern_end) = p?;
        let (rx, end) = match dir {
            Dir::Out => (kern_rx, kern_end),
            Dir::In => (smol_rx, smol_end),
        };
        check(&rx.ok_or("no receiver result")?, total, digest)?;
        Ok((end - start).as_secs_f64())
    })
}

/// A local port that differs from run to run (the kernel may still hold the last one).
fn local_port(n: u32) -> u16 {
    49152 + ((std::process::id().wrapping_mul(7919).wrapping_add(n * 131)) % 16000) as u16
}

/// Plain smoltcp over `TunTapInterface`, the usual example loop.
fn plain_once(dir: Dir, data: &[u8], digest: &[u8; 32], cc: &str, n: u32) -> BenchResult<f64> {
    with_kernel(dir, data, digest, cc, |port, deadline| {
        let total = data.len() as u64;
        let mut dev = TunTapInterface::new(TAP, Medium::Ethernet).ctx("TunTapInterface::new")?;
        let fd = dev.as_raw_fd();
        let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(TAP_MAC)));
        cfg.random_seed = 0x5eed ^ u64::from(n);
        let mut iface = Interface::new(cfg, &mut dev, smoltcp::time::Instant::now());
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(IpAddress::Ipv4(TAP_SMOLTCP), 24));
        });
        let mut sockets = SocketSet::new(Vec::with_capacity(1));
        let handle = sockets.add(tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0u8; buf()]),
            tcp::SocketBuffer::new(vec![0u8; buf()]),
        ));
        let start = Instant::now();
        sockets
            .get_mut::<tcp::Socket>(handle)
            .connect(
                iface.context(),
                (IpAddress::Ipv4(TAP_KERNEL), port),
                local_port(n),
            )
            .ctx("plain connect")?;
        let mut sent = 0usize;
        let mut closed = false;
        let mut h = Sha256::new();
        let mut got = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let now = smoltcp::time::Instant::now();
            iface.poll(now, &mut dev, &mut sockets);
            let sock = sockets.get_mut::<tcp::Socket>(handle);
            match dir {
                Dir::Out => {
                    while sent < data.len() && sock.can_send() {
                        match sock.send_slice(&data[sent..]) {
                            Ok(k) if k > 0 => sent += k,
                            _ => break,
                        }
                    }
                    if sent == data.len() && !closed {
                        sock.close();
                        closed = true;
                    }
                    if closed && matches!(sock.state(), tcp::State::TimeWait | tcp::State::Closed) {
                        return Ok((start, Instant::now(), None));
                    }
                }
                Dir::In => {
                    while sock.can_recv() {
                        match sock.recv_slice(&mut buf) {
                            Ok(k) if k > 0 => {
                                h.update(&buf[..k]);
                                got += k as u64;
                            }
                            _ => break,
                        }
                    }
                    let ended = matches!(
                        sock.state(),
                        tcp::State::CloseWait | tcp::State::Closed | tcp::State::TimeWait
                    ) && !sock.can_recv();
                    if got >= total || ended {
                        let end = Instant::now();
                        sock.close();
                        // Let the FIN go out (bounded), so the kernel peer finishes.
                        for _ in 0..200 {
                            iface.poll(smoltcp::time::Instant::now(), &mut dev, &mut sockets);
                            let s = sockets.get_mut::<tcp::Socket>(handle);
                            if matches!(s.state(), tcp::State::TimeWait | tcp::State::Closed) {
                                break;
                            }
                            let _ = phy::wait(fd, Some(smoltcp::time::Duration::from_millis(5)));
                        }
                        let rx = Received {
                            bytes: got,
                            digest: std::mem::take(&mut h).finalize().into(),
                        };
                        return Ok((start, end, Some(rx)));
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "plain smoltcp {}: timed out ({sent} sent, {got} received)",
                    dir.label()
                ));
            }
            let delay = iface
                .poll_delay(now, &sockets)
                .map(|d| d.min(smoltcp::time::Duration::from_millis(5)))
                .unwrap_or(smoltcp::time::Duration::from_millis(5));
            let _ = phy::wait(fd, Some(delay));
        }
    })
}

/// unisock-smoltcp: `StdStack::tap`, blocking calls from this thread.
fn unisock_once(dir: Dir, data: &[u8], digest: &[u8; 32], cc: &str) -> BenchResult<f64> {
    with_kernel(dir, data, digest, cc, |port, deadline| {
        let total = data.len() as u64;
        let opts = TapOptions {
            name: TAP.into(),
            ips: vec![Cidr::new(TAP_SMOLTCP.into(), 24).ctx("cidr")?],
            mac: Some(TAP_MAC),
            pool: Some(PoolConfig {
                tcp: 2,
                tcp_rx: buf(),
                tcp_tx: buf(),
                local_bytes: 0,
                ..PoolConfig::SMALL
            }),
            ..TapOptions::default()
        };
        let net = StdStack::tap(opts).ctx("StdStack::tap")?;
        let stack = &*net;
        let start = Instant::now();
        let mut c = stack
            .connect_timeout(SocketAddr::from((TAP_KERNEL, port)), left(deadline))
            .ctx("connect")?;
        let mut b = vec![0u8; 64 * 1024];
        match dir {
            Dir::Out => {
                for chunk in data.chunks(64 * 1024) {
                    c.set_option(SockOpt::WriteTimeout(Some(left(deadline))))
                        .ctx("timeout")?;
                    c.write_all(chunk).ctx("write")?;
                }
                c.shutdown(unisock::Shutdown::Write).ctx("shutdown")?;
                // The kernel's end of stream: it has read everything.
                c.set_option(SockOpt::ReadTimeout(Some(left(deadline))))
                    .ctx("timeout")?;
                let n = c.read(&mut b).ctx("read end of stream")?;
                if n != 0 {
                    return Err(format!("unexpected {n} bytes from the kernel"));
                }
                Ok((start, Instant::now(), None))
            }
            Dir::In => {
                let rx = drain(
                    |b| {
                        c.set_option(SockOpt::ReadTimeout(Some(left(deadline))))
                            .ctx("timeout")?;
                        c.read(b).ctx("read")
                    },
                    total,
                    deadline,
                )?;
                let end = Instant::now();
                Ok((start, end, Some(rx)))
            }
        }
    })
}

/// The kernel to the kernel over the veth pair: this namespace sends `data` to the peer in
/// `ns`, which checks it.
fn veth_once(ns: &sys::NamedNetns, data: &[u8], digest: &[u8; 32], cc: &str) -> BenchResult<f64> {
    let total = data.len() as u64;
    let (tx, rx) = std::sync::mpsc::channel::<BenchResult<u16>>();
    let deadline = Instant::now() + LIMIT;
    thread::scope(|s| {
        let peer = s.spawn(move || -> BenchResult<(Received, Instant)> {
            let setup = (|| -> BenchResult<(TcpListener, u16)> {
                ns.enter()?;
                let l = TcpListener::bind(SocketAddr::from((VETH_PEER, 0))).ctx("veth bind")?;
                sys::set_congestion(l.as_raw_fd(), cc)?;
                sys::set_recv_timeout(l.as_raw_fd(), LIMIT)?;
                let port = l.local_addr().ctx("veth addr")?.port();
                Ok((l, port))
            })();
            let l = match setup {
                Ok((l, port)) => {
                    let _ = tx.send(Ok(port));
                    l
                }
                Err(e) => {
                    let _ = tx.send(Err(e.clone()));
                    return Err(e);
                }
            };
            let (mut c, _) = l.accept().ctx("veth accept")?;
            c.set_read_timeout(Some(left(deadline)))
                .ctx("veth timeout")?;
            let r = drain(|b| c.read(b).ctx("veth read"), total, deadline)?;
            Ok((r, Instant::now()))
        });
        let port = rx
            .recv()
            .map_err(|_| "veth peer thread ended".to_string())??;
        let start = Instant::now();
        let sent = (|| -> BenchResult<()> {
            let mut c = TcpStream::connect_timeout(&SocketAddr::from((VETH_PEER, port)), LIMIT)
                .ctx("veth connect")?;
            sys::set_congestion(c.as_raw_fd(), cc)?;
            c.set_write_timeout(Some(left(deadline)))
                .ctx("veth timeout")?;
            c.write_all(data).ctx("veth write")?;
            Ok(())
        })();
        let (r, end) = peer
            .join()
            .map_err(|_| "veth peer panicked".to_string())??;
        sent?;
        check(&r, total, digest)?;
        Ok((end - start).as_secs_f64())
    })
}

/// Workload 8.
pub fn run(cx: &mut crate::Ctx) {
    if !cx.netns {
        eprintln!("  skipped: the lossy workload needs root and a private network namespace");
        return;
    }
    let quick = cx.sizes.quick;
    let total: usize = if quick { 2 << 20 } else { 8 << 20 };
    let default_losses: &[u32] = if quick { &[0, 2] } else { &[0, 1, 2, 5, 10] };
    let losses: Vec<u32> = match std::env::var("UNISOCK_LOSSY_LOSS") {
        Ok(v) => v.split(',').filter_map(|p| p.trim().parse().ok()).collect(),
        Err(_) => default_losses.to_vec(),
    };
    let rounds = cx.rounds;
    let cc = cx.cc.clone();
    let (data, digest) = payload(total);
    if let Err(e) = plain::setup_tap(TAP, 1500) {
        eprintln!("  tap setup failed: {e}");
        return;
    }
    let ns = sys::NamedNetns::create(&format!("ulossy-{}", std::process::id()))
        .and_then(|ns| {
            plain::setup_veth(&ns, 1500)?;
            offloads_off(None, VETH)?;
            offloads_off(Some(ns.name()), "ubveth1")?;
            Ok(ns)
        })
        .map_err(|e| eprintln!("  no veth reference: {e}"))
        .ok();
    let mut devs = vec![TAP];
    if ns.is_some() {
        devs.push(VETH);
    }
    let mut n = 0u32;
    for &loss in &losses {
        if let Err(e) = set_loss(&devs, loss) {
            eprintln!("  nft failed: {e}");
            return;
        }
        let note = format!(
            "{} MiB, MTU 1500, {loss} % dropped each way; seconds (lower is better), ratio = \
             unisock time / plain time; {} KiB buffers; cc {cc}",
            total >> 20,
            buf() >> 10
        );
        let mut kernel = Vec::new();
        let mut kernel_fail = Vec::new();
        for dir in [Dir::Out, Dir::In] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let (mut fa, mut fb) = (Vec::new(), Vec::new());
            for round in 0..rounds {
                for k in 0..3 {
                    let tag = format!(
                        "{loss}pct-{}-r{round}",
                        if dir == Dir::Out { "out" } else { "in" }
                    );
                    let which = ["unisock", "plain", "kernel"][(round + k) % 3];
                    let dir_name = if dir == Dir::Out { "out" } else { "in" };
                    if !selected(which)
                        || (selected("out") != selected("in") && !selected(dir_name))
                    {
                        continue;
                    }
                    let _cap = Capture::start(
                        if which == "kernel" { VETH } else { TAP },
                        &format!("{which}-{tag}"),
                    );
                    match (round + k) % 3 {
                        0 => match unisock_once(dir, &data, &digest, &cc) {
                            Ok(t) => a.push(t),
                            Err(e) => fa.push(e),
                        },
                        1 => {
                            n += 1;
                            match plain_once(dir, &data, &digest, &cc, n) {
                                Ok(t) => b.push(t),
                                Err(e) => fb.push(e),
                            }
                        }
                        _ => {
                            if let (Dir::Out, Some(ns)) = (dir, &ns) {
                                match veth_once(ns, &data, &digest, &cc) {
                                    Ok(t) => kernel.push(t),
                                    Err(e) => kernel_fail.push(e),
                                }
                            }
                        }
                    }
                }
                eprintln!(
                    "  lossy {loss} % {} round {}: unisock {:?} plain {:?} kernel {:?}",
                    dir.label(),
                    round + 1,
                    a.last(),
                    b.last(),
                    kernel.last()
                );
            }
            let mut note = note.clone();
            for (who, f) in [("unisock", &fa), ("plain", &fb)] {
                if !f.is_empty() {
                    note += &format!("; {who} FAILED {} of {rounds}: {}", f.len(), f[0]);
                }
            }
            cx.push(Row {
                workload: "9 lossy TAP".into(),
                case: format!("{}, {loss} % loss", dir.label()),
                unit: "s",
                subject: "unisock-smoltcp".into(),
                baseline: "plain smoltcp".into(),
                a,
                b,
                note,
            });
        }
        if ns.is_some() {
            let mut note = format!(
                "{} MiB, MTU 1500, offloads off, {loss} % dropped each way; seconds",
                total >> 20
            );
            if !kernel_fail.is_empty() {
                note += &format!(
                    "; FAILED {} of {rounds}: {}",
                    kernel_fail.len(),
                    kernel_fail[0]
                );
            }
            cx.push(Row {
                workload: "9 reference: kernel over veth".into(),
                case: format!("kernel→kernel, {loss} % loss"),
                unit: "s",
                subject: "std::net".into(),
                baseline: String::new(),
                a: kernel,
                b: vec![],
                note,
            });
        }
    }
    let _ = set_loss(&devs, 0);
    let _ = Command::new("ip").args(["link", "del", TAP]).output();
}
