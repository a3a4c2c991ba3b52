//! `bench`: what unisock costs, against what users would pick instead.
//!
//! ```text
//! cargo run --release --bin bench -- [WORKLOADS] [--rounds N] [--quick] [--json FILE]
//! ```
//!
//! Every workload runs the unisock case and its baseline interleaved (A B A B ..., after one
//! warm-up of each), and reports min / median / max of each side and the median of the
//! per-round ratios (unisock / baseline; above 1 means unisock is faster). The result is a
//! markdown table on stdout (progress on stderr) and optionally a JSON file with every sample.
//!
//! Workloads (see BENCHMARKS.md for the figures and what they mean):
//! 1. `bulk`: TCP bulk over loopback, 64 KiB and 4 KiB writes: unisock-posix vs std::net.
//! 2. `pingpong`: TCP 1-byte round trips, unpinned and both threads pinned to one CPU.
//! 3. `connect`: connect + accept + close rate.
//! 4. `udp`: UDP 64 B and 1472 B datagrams, per-datagram and batched sends, queue drains.
//! 5. `inproc`: unisock-smoltcp over its in-process device vs plain smoltcp.
//! 6. `tap`: unisock-smoltcp over TAP vs plain smoltcp's TunTapInterface, both directions,
//!    MTU 1500 / 9000 / 65000, plus kernel-to-kernel over veth as a reference.
//! 7. `alloc`: heap allocations per operation in steady state, and peak RSS.
//! 8. `embassy`: embassy-net 0.9.1 with embassy-net-tuntap over TAP against the kernel, both
//!    directions, MTU 1500 (issue 10's baseline for unisock-smoltcp async over TAP).
//! 9. `lossy`: smoltcp over TAP with nftables dropping packets (see `lossy.rs`).
//! 10. `asyncposix`: posix async sockets (tokio and async-io reactors) vs `tokio::net`: bulk,
//!     ping-pong, connect+accept+close, one thread.
//!
//! The benchmark sends traffic only over loopback and TAP/veth devices inside network
//! namespaces it creates: as root it first moves itself into a private network namespace
//! (`unshare(CLONE_NEWNET)`), so nothing it does is visible outside the process. The
//! congestion-control algorithm is set on every kernel TCP socket (`--cc`, default cubic).
//! `--quick` runs tiny sizes and 3 rounds (a CI smoke run: figures, no thresholds).

mod alloc;
mod allocs;
mod asyncposix;
mod embassy;
mod harness;
mod lossy;
mod plain;
mod sys;
mod tcp;
mod udp;
mod usmol;

use std::time::Duration;

use clap::{Parser, ValueEnum};
use unisock_posix::PosixStack;

use harness::{BenchResult, Row, interleave};

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// A workload of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    /// 1: TCP bulk over loopback.
    Bulk,
    /// 2: TCP 1-byte ping-pong.
    Pingpong,
    /// 3: connect + accept + close rate.
    Connect,
    /// 4: UDP datagrams.
    Udp,
    /// 5: smoltcp in process.
    Inproc,
    /// 6: smoltcp over TAP against the kernel.
    Tap,
    /// 7: allocations per operation and peak RSS.
    Alloc,
    /// 8: embassy-net over TAP against the kernel.
    Embassy,
    /// 9: smoltcp over TAP with packet loss (issue 11).
    Lossy,
    /// 10: posix async sockets vs tokio::net.
    Asyncposix,
}

const ALL: [Workload; 10] = [
    Workload::Bulk,
    Workload::Pingpong,
    Workload::Connect,
    Workload::Udp,
    Workload::Inproc,
    Workload::Tap,
    Workload::Alloc,
    Workload::Embassy,
    Workload::Lossy,
    Workload::Asyncposix,
];

/// unisock's benchmark: unisock against std::net and plain smoltcp.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Args {
    /// Workloads to run (default: all).
    #[arg(value_enum)]
    workloads: Vec<Workload>,
    /// Measured rounds per comparison (each round runs both sides once).
    #[arg(long)]
    rounds: Option<usize>,
    /// Tiny sizes and 3 rounds: a smoke run for CI.
    #[arg(long)]
    quick: bool,
    /// Also write every sample as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// TCP congestion control set on every kernel socket.
    #[arg(long, default_value = "cubic")]
    cc: String,
    /// Stay in the caller's network namespace (loopback workloads only; TAP needs root).
    #[arg(long)]
    no_netns: bool,
    /// Run only one side of every comparison (`subject` or `baseline`), for profiling.
    #[arg(long, hide = true)]
    only: Option<String>,
    /// Run only the comparisons whose case contains this text, for profiling.
    #[arg(long, hide = true)]
    case: Option<String>,
    /// Internal: run as the peak-RSS child of workload 7.
    #[arg(long, hide = true, value_enum)]
    child_rss: Option<allocs::RssKind>,
    /// Internal: the RSS child's TAP device.
    #[arg(long, hide = true, default_value = "ubtap0")]
    child_tap: String,
    /// Internal: the RSS child's kernel ports (out,in).
    #[arg(long, hide = true, default_value = "0,0")]
    child_ports: String,
    /// Internal: the RSS child's bytes per direction.
    #[arg(long, hide = true, default_value_t = 0)]
    child_bytes: u64,
}

/// Sizes of one run.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    bulk: u64,
    trips: u64,
    trip_time: Duration,
    connects: u32,
    udp: udp::UdpCfg,
    inproc: u64,
    tap: u64,
    budget: Duration,
    quick: bool,
}

impl Sizes {
    fn full() -> Sizes {
        Sizes {
            bulk: 1 << 30,
            trips: 200_000,
            trip_time: Duration::from_secs(2),
            connects: 2000,
            udp: udp::UdpCfg {
                size: 0,
                count: 200_000,
                fill: 2000,
                cycles: 20,
            },
            inproc: 256 << 20,
            tap: 256 << 20,
            budget: Duration::from_secs(60),
            quick: false,
        }
    }

    fn quick() -> Sizes {
        Sizes {
            bulk: 16 << 20,
            trips: 5_000,
            trip_time: Duration::from_millis(300),
            connects: 100,
            udp: udp::UdpCfg {
                size: 0,
                count: 5_000,
                fill: 500,
                cycles: 2,
            },
            inproc: 8 << 20,
            tap: 4 << 20,
            budget: Duration::from_secs(5),
            quick: true,
        }
    }
}

struct Ctx {
    only: Option<String>,
    case: Option<String>,
    rounds: usize,
    sizes: Sizes,
    cc: String,
    rows: Vec<Row>,
    netns: bool,
}

impl Ctx {
    fn push(&mut self, row: Row) {
        harness::progress(&row);
        self.rows.push(row);
    }

    #[allow(clippy::too_many_arguments)]
    fn compare(
        &mut self,
        workload: &str,
        case: &str,
        unit: &'static str,
        subject: &str,
        baseline: &str,
        note: &str,
        mut a: impl FnMut() -> BenchResult<f64>,
        mut b: impl FnMut() -> BenchResult<f64>,
    ) {
        if let Some(filter) = &self.case
            && !case.contains(filter.as_str())
        {
            return;
        }
        let result = match self.only.as_deref() {
            Some("subject") => {
                harness::repeat(self.rounds, self.sizes.budget, &mut a).map(|a| (a, Vec::new()))
            }
            Some("baseline") => {
                harness::repeat(self.rounds, self.sizes.budget, &mut b).map(|b| (Vec::new(), b))
            }
            _ => interleave(self.rounds, self.sizes.budget, a, b),
        };
        match result {
            Ok((a, b)) => self.push(Row {
                workload: workload.into(),
                case: case.into(),
                unit,
                subject: subject.into(),
                baseline: baseline.into(),
                a,
                b,
                note: note.into(),
            }),
            Err(e) => {
                eprintln!("  {workload} | {case}: FAILED: {e}");
                self.rows.push(Row {
                    workload: workload.into(),
                    case: case.into(),
                    unit,
                    subject: subject.into(),
                    baseline: baseline.into(),
                    a: vec![],
                    b: vec![],
                    note: format!("FAILED: {e}"),
                });
            }
        }
    }
}

fn main() {
    let args = Args::parse();
    if let Some(kind) = args.child_rss {
        let ports = args
            .child_ports
            .split_once(',')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
        let r = match ports {
            Some(ports) => allocs::child(kind, &args.child_tap, ports, args.child_bytes),
            None => Err(format!("bad --child-ports {:?}", args.child_ports)),
        };
        if let Err(e) = r {
            eprintln!("{e}");
            std::process::exit(1);
        }
        return;
    }
    let workloads: Vec<Workload> = if args.workloads.is_empty() {
        ALL.to_vec()
    } else {
        args.workloads.clone()
    };
    let sizes = if args.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    let rounds = args.rounds.unwrap_or(if args.quick { 3 } else { 7 }).max(1);
    let mut netns = false;
    if !args.no_netns {
        if sys::is_root() {
            match sys::enter_private_netns() {
                Ok(()) => netns = true,
                Err(e) => eprintln!("warning: no private network namespace ({e})"),
            }
        } else {
            eprintln!("warning: not root: running in the caller's network namespace");
        }
    }
    let settings = format!(
        "machine: {}; rounds: {rounds}; quick: {}; congestion control: {} (set per socket); \
         private netns: {netns}",
        sys::machine(),
        args.quick,
        args.cc
    );
    eprintln!("{settings}");
    let mut cx = Ctx {
        only: args.only.clone(),
        case: args.case.clone(),
        rounds,
        sizes,
        cc: args.cc.clone(),
        rows: Vec::new(),
        netns,
    };
    for w in workloads {
        eprintln!("== {w:?}");
        match w {
            Workload::Bulk => bulk(&mut cx),
            Workload::Pingpong => pingpong(&mut cx),
            Workload::Connect => connect(&mut cx),
            Workload::Udp => datagrams(&mut cx),
            Workload::Inproc => inproc(&mut cx),
            Workload::Tap => tap(&mut cx),
            Workload::Alloc => allocs(&mut cx),
            Workload::Embassy => embassy_tap(&mut cx),
            Workload::Lossy => lossy::run(&mut cx),
            Workload::Asyncposix => asyncposix::run_all(&mut cx),
        }
        // Workloads 6 to 8 leave their TAP device up with the kernel's address on it; a later
        // workload on another device with the same network (lossy) would be routed to it.
        if cx.netns {
            plain::remove_tap("ubtap0");
        }
    }
    println!("{settings}\n");
    print!("{}", harness::markdown(&cx.rows));
    if let Some(path) = args.json
        && let Err(e) = std::fs::write(&path, harness::json(&cx.rows, &settings))
    {
        eprintln!("writing {}: {e}", path.display());
        std::process::exit(1);
    }
    if cx.rows.iter().any(|r| r.note.starts_with("FAILED")) {
        std::process::exit(2);
    }
}

fn bulk(cx: &mut Ctx) {
    let total = cx.sizes.bulk;
    let cc = cx.cc.clone();
    for wsize in [64 * 1024, 4 * 1024] {
        let case = format!("{} MiB, {} KiB writes", total >> 20, wsize / 1024);
        cx.compare(
            "1 TCP bulk (loopback)",
            &case,
            "Gbit/s",
            "unisock-posix",
            "std::net",
            &format!("cc {cc}"),
            || tcp::unisock_bulk(&PosixStack, total, wsize, &cc),
            || tcp::std_bulk(total, wsize, &cc),
        );
    }
}

fn pingpong(cx: &mut Ctx) {
    let cc = cx.cc.clone();
    for pinned in [false, true] {
        let p = tcp::PingPong {
            max_trips: cx.sizes.trips,
            max_time: cx.sizes.trip_time,
            pinned,
        };
        let case = if pinned {
            "1 B, both threads on CPU 0"
        } else {
            "1 B, threads unpinned"
        };
        cx.compare(
            "2 TCP ping-pong",
            case,
            "trips/s",
            "unisock-posix",
            "std::net",
            "TCP_NODELAY",
            || tcp::unisock_pingpong(&PosixStack, p, &cc),
            || tcp::std_pingpong(p, &cc),
        );
    }
}

fn connect(cx: &mut Ctx) {
    let n = cx.sizes.connects;
    let cc = cx.cc.clone();
    cx.compare(
        "3 connect+accept+close",
        &format!("{n} connections"),
        "conn/s",
        "unisock-posix",
        "std::net",
        "",
        || tcp::unisock_connect_rate(&PosixStack, n, &cc),
        || tcp::std_connect_rate(n, &cc),
    );
}

fn datagrams(cx: &mut Ctx) {
    for size in [64usize, 1472] {
        let c = udp::UdpCfg {
            size,
            ..cx.sizes.udp
        };
        cx.compare(
            "4 UDP send",
            &format!("{size} B, one call per datagram"),
            "dgram/s",
            "unisock-posix",
            "std::net",
            "",
            || udp::unisock_send(&PosixStack, c, false),
            || udp::std_send(c),
        );
        cx.compare(
            "4 UDP send",
            &format!("{size} B, send_batch of {}", udp::BATCH),
            "dgram/s",
            "unisock-posix",
            "std::net",
            "baseline: one send_to per datagram",
            || udp::unisock_send(&PosixStack, c, true),
            || udp::std_send(c),
        );
        cx.compare(
            "4 UDP drain",
            &format!("{size} B, one call per datagram"),
            "dgram/s",
            "unisock-posix",
            "std::net",
            &format!("prefilled queue of {}", c.fill),
            || udp::unisock_drain(&PosixStack, c, false),
            || udp::std_drain(c),
        );
        cx.compare(
            "4 UDP drain",
            &format!("{size} B, recv_batch of {}", udp::BATCH),
            "dgram/s",
            "unisock-posix",
            "std::net",
            &format!(
                "prefilled queue of {}; baseline: one recv_from per datagram",
                c.fill
            ),
            || udp::unisock_drain(&PosixStack, c, true),
            || udp::std_drain(c),
        );
        cx.compare(
            "4 UDP drain",
            &format!("{size} B, recv_batch of {} with UDP_GRO", udp::BATCH),
            "dgram/s",
            "unisock-posix",
            "std::net",
            &format!(
                "queue prefilled by send_batch (segmented) vs by std send_to; {}",
                c.fill
            ),
            || udp::unisock_drain_gro(c),
            || udp::std_drain(c),
        );
        cx.compare(
            "4 UDP end to end",
            &format!("{size} B, send_batch + recv_batch (UDP_GRO) vs send_to + recv_from"),
            "dgram/s",
            "unisock-posix",
            "std::net",
            &format!("{} datagrams, delivered per second", c.count),
            || udp::unisock_stream(c),
            || udp::std_stream(c),
        );
    }
}

fn inproc(cx: &mut Ctx) {
    let total = cx.sizes.inproc;
    let buf = 1 << 20;
    for mtu in [1500usize, 65535] {
        let case = format!("{} MiB, MTU {mtu}", total >> 20);
        cx.compare(
            "5 smoltcp in process",
            &format!("{case}, one thread (superloop)"),
            "Gbit/s",
            "unisock-smoltcp",
            "plain smoltcp",
            "1 MiB socket buffers, 64-frame device",
            || usmol::inproc_superloop(total, mtu, buf),
            || plain::inproc_bulk(total, mtu, buf),
        );
        cx.compare(
            "5 smoltcp in process",
            &format!("{case}, driver thread + blocking calls"),
            "Gbit/s",
            "unisock-smoltcp",
            "plain smoltcp",
            "baseline: the one-thread plain program",
            || usmol::inproc_threads(total, mtu, buf),
            || plain::inproc_bulk(total, mtu, buf),
        );
        // The same two threads on plain smoltcp: what a smoltcp user writes to share one
        // interface between threads (one Mutex, one Condvar), for scale.
        cx.compare(
            "5 smoltcp in process",
            &format!("{case}, two threads: blocking calls vs plain smoltcp in a Mutex"),
            "Gbit/s",
            "unisock-smoltcp",
            "plain smoltcp, 2 threads",
            "baseline: plain smoltcp shared by the writing and the reading thread through one Mutex + Condvar",
            || usmol::inproc_threads(total, mtu, buf),
            || plain::inproc_threads(total, mtu, buf),
        );
        cx.compare(
            "5 smoltcp in process",
            &format!("{case}, async on one thread (runner + 2 tasks)"),
            "Gbit/s",
            "unisock-smoltcp",
            "plain smoltcp",
            "baseline: the one-thread plain program",
            || usmol::inproc_async(total, mtu, buf, None).map(|(g, _)| g),
            || plain::inproc_bulk(total, mtu, buf),
        );
        if mtu == 1500 {
            // The same with plain smoltcp's own ACK policy: unisock acknowledges at once by
            // default (`Config::tcp_ack_delay`), smoltcp's sockets after up to 10 ms, and at
            // this MTU the extra ACK segments are a few percent of the work.
            cx.compare(
                "5 smoltcp in process",
                &format!("{case}, async on one thread, 10 ms delayed ACK as plain smoltcp"),
                "Gbit/s",
                "unisock-smoltcp",
                "plain smoltcp",
                "Config::with_tcp_ack_delay(Some(10 ms)): the same TCP policy on both sides",
                || {
                    let delay = Some(std::time::Duration::from_millis(10));
                    usmol::inproc_async(total, mtu, buf, delay).map(|(g, _)| g)
                },
                || plain::inproc_bulk(total, mtu, buf),
            );
        }
        if let Ok((_, n)) = usmol::inproc_async(total, mtu, buf, None) {
            eprintln!("  async, MTU {mtu}: {n} heap allocations in one {case} transfer");
        }
    }
}

fn tap(cx: &mut Ctx) {
    if !cx.netns {
        eprintln!("  skipped: TAP needs root and a private network namespace");
        return;
    }
    let total = cx.sizes.tap;
    let cc = cx.cc.clone();
    let ns = match sys::NamedNetns::create(&format!("ubench-{}", std::process::id())) {
        Ok(ns) => Some(ns),
        Err(e) => {
            eprintln!("  no veth reference: {e}");
            None
        }
    };
    for mtu in [1500usize, 9000, 65000] {
        if let Some(ns) = &ns {
            let r = plain::setup_veth(ns, mtu).and_then(|()| {
                harness::repeat(cx.rounds, cx.sizes.budget, || {
                    plain::veth_bulk(ns, total, &cc)
                })
            });
            match r {
                Ok(a) => cx.push(Row {
                    workload: "6 reference: kernel over veth".into(),
                    case: format!("kernel→kernel, MTU {mtu}"),
                    unit: "Gbit/s",
                    subject: "std::net".into(),
                    baseline: String::new(),
                    a,
                    b: vec![],
                    note: format!("{} MiB, cc {cc}", total >> 20),
                }),
                Err(e) => eprintln!("  veth {mtu} failed: {e}"),
            }
        }
        if let Err(e) = plain::setup_tap("ubtap0", mtu) {
            eprintln!("  tap setup failed: {e}");
            return;
        }
        for dir in [plain::Dir::Out, plain::Dir::In] {
            cx.compare(
                "6 smoltcp over TAP",
                &format!("{}, MTU {mtu}", dir.label()),
                "Gbit/s",
                "unisock-smoltcp",
                "plain smoltcp (TunTapInterface)",
                &format!("{} MiB, 1 MiB buffers, cc {cc}", total >> 20),
                || usmol::tap_bulk("ubtap0", dir, total, 1 << 20, &cc, false),
                || plain::tap_bulk("ubtap0", dir, total, 1 << 20, &cc),
            );
        }
        if mtu == 1500 {
            for dir in [plain::Dir::Out, plain::Dir::In] {
                cx.compare(
                    "6 smoltcp over TAP",
                    &format!("{}, MTU 1500, TAP offloads on", dir.label()),
                    "Gbit/s",
                    "unisock-smoltcp (offload)",
                    "plain smoltcp (TunTapInterface)",
                    &format!(
                        "{} MiB, 1 MiB buffers, cc {cc}; IFF_VNET_HDR + TUNSETOFFLOAD (TSO both ways)",
                        total >> 20
                    ),
                    || usmol::tap_bulk("ubtap0", dir, total, 1 << 20, &cc, true),
                    || plain::tap_bulk("ubtap0", dir, total, 1 << 20, &cc),
                );
            }
        }
    }
}

fn allocs(cx: &mut Ctx) {
    let n = if cx.sizes.quick { 1000 } else { 20_000 };
    let posix = allocs::per_op(&PosixStack, n);
    let std = allocs::per_op_std(n);
    let smol = unisock_smoltcp::StdStack::loopback(unisock_smoltcp::Config::default())
        .map_err(|e| format!("{e:?}"))
        .and_then(|net| allocs::per_op(&&*net, n));
    type Getter = fn(&allocs::PerOp) -> f64;
    let ops: [(&str, Getter); 6] = [
        ("TCP write 1 KiB", |p| p.write),
        ("TCP read 1 KiB", |p| p.read),
        ("UDP send_to 64 B", |p| p.send),
        ("UDP recv_from 64 B", |p| p.recv),
        ("UDP send_batch of 8 (std: n/a)", |p| p.send_batch),
        ("UDP recv_batch of 8 (std: n/a)", |p| p.recv_batch),
    ];
    for (name, get) in ops {
        match (&posix, &std) {
            (Ok(p), Ok(s)) => cx.push(Row {
                workload: "7 heap allocations".into(),
                case: format!("{name}, steady state"),
                unit: "allocs/op",
                subject: "unisock-posix".into(),
                baseline: "std::net".into(),
                a: vec![get(p)],
                b: vec![get(s)],
                note: format!("{n} calls"),
            }),
            (Err(e), _) | (_, Err(e)) => eprintln!("  allocations (posix/std): {e}"),
        }
        match &smol {
            Ok(p) => cx.push(Row {
                workload: "7 heap allocations".into(),
                case: format!("{name}, steady state"),
                unit: "allocs/op",
                subject: "unisock-smoltcp (loopback)".into(),
                baseline: String::new(),
                a: vec![get(p)],
                b: vec![],
                note: format!("{n} calls; driver thread included"),
            }),
            Err(e) => eprintln!("  allocations (smoltcp): {e}"),
        }
    }
    if !cx.netns {
        eprintln!("  peak RSS skipped: needs root and a private network namespace");
        return;
    }
    if let Err(e) = plain::setup_tap("ubtap0", 1500) {
        eprintln!("  tap setup failed: {e}");
        return;
    }
    let total = cx.sizes.tap.min(64 << 20);
    let cc = cx.cc.clone();
    let rounds = cx.rounds.min(3);
    let saved = cx.rounds;
    cx.rounds = rounds;
    cx.compare(
        "7 peak RSS",
        &format!("TAP program, {} MiB each way, MTU 1500", total >> 20),
        "MiB",
        "unisock-smoltcp",
        "plain smoltcp",
        "VmHWM of a child running only the smoltcp side; 1 MiB socket buffers each way; lower is better",
        || allocs::rss_of_child(allocs::RssKind::Unisock, "ubtap0", total, &cc, false),
        || allocs::rss_of_child(allocs::RssKind::Plain, "ubtap0", total, &cc, false),
    );
    cx.compare(
        "7 peak RSS",
        &format!(
            "TAP program, {} MiB each way, MTU 1500: growth over the process at start",
            total >> 20
        ),
        "MiB",
        "unisock-smoltcp",
        "plain smoltcp",
        "VmHWM less VmRSS before the smoltcp side started (the benchmark binary itself holds about 3 MiB); lower is better",
        || allocs::rss_of_child(allocs::RssKind::Unisock, "ubtap0", total, &cc, true),
        || allocs::rss_of_child(allocs::RssKind::Plain, "ubtap0", total, &cc, true),
    );
    cx.rounds = saved;
}

/// unisock-smoltcp's async TAP transfer (workload 8's subject against embassy-net).
const UNISOCK_ASYNC_TAP: Option<embassy::TapTransfer> = Some(embassy::unisock_tap_bulk);

fn embassy_tap(cx: &mut Ctx) {
    if !cx.netns {
        eprintln!("  skipped: TAP needs root and a private network namespace");
        return;
    }
    let total = cx.sizes.tap;
    let mtu = 1500;
    let buf = 1 << 20;
    let cc = cx.cc.clone();
    if let Err(e) = plain::setup_tap("ubtap0", mtu) {
        eprintln!("  tap setup failed: {e}");
        return;
    }
    let gbits = |d: std::time::Duration| total as f64 * 8.0 / d.as_secs_f64().max(1e-9) / 1e9;
    let note = format!(
        "{} MiB, 1 MiB buffers, cc {cc}, SHA-256 checked",
        total >> 20
    );
    for dir in [plain::Dir::Out, plain::Dir::In] {
        let case = format!("{}, MTU {mtu}", dir.label());
        let embassy_net: embassy::TapTransfer = embassy::tap_bulk;
        let embassy_net = || embassy_net("ubtap0", dir, total, buf, &cc).map(gbits);
        match UNISOCK_ASYNC_TAP {
            Some(unisock) => cx.compare(
                "8 async over TAP",
                &case,
                "Gbit/s",
                "unisock-smoltcp async",
                "embassy-net 0.9.1 (embassy-net-tuntap)",
                &note,
                || unisock("ubtap0", dir, total, buf, &cc).map(gbits),
                embassy_net,
            ),
            None => match harness::repeat(cx.rounds, cx.sizes.budget, embassy_net) {
                Ok(a) => cx.push(Row {
                    workload: "8 async over TAP".into(),
                    case,
                    unit: "Gbit/s",
                    subject: "embassy-net 0.9.1 (embassy-net-tuntap)".into(),
                    baseline: String::new(),
                    a,
                    b: vec![],
                    note: format!("{note}; unisock async side not yet measured"),
                }),
                Err(e) => {
                    eprintln!("  embassy-net {}: FAILED: {e}", dir.label());
                    cx.rows.push(Row {
                        workload: "8 async over TAP".into(),
                        case,
                        unit: "Gbit/s",
                        subject: "embassy-net 0.9.1 (embassy-net-tuntap)".into(),
                        baseline: String::new(),
                        a: vec![],
                        b: vec![],
                        note: format!("FAILED: {e}"),
                    });
                }
            },
        }
    }
}
