//! The plain smoltcp baselines: what a user would write with smoltcp alone, no unisock.
//!
//! - [`inproc_bulk`]: one `Interface` over an in-process ring device (every frame sent is
//!   received back, fixed capacity, no allocation per frame), a client and a server TCP socket
//!   on 127.0.0.1, one thread polling. This is the same shape as unisock-smoltcp's in-process
//!   `Loopback` device, with a buffer swap instead of a copy on receive.
//! - [`tap_bulk`]: smoltcp's own `TunTapInterface` on a TAP device, against a kernel TCP socket
//!   in the same network namespace, in the usual smoltcp example loop (`poll`, socket I/O,
//!   `phy_wait` for `poll_delay`).

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium, TunTapInterface};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr};

use crate::harness::{BenchResult, Ctx};
use crate::sys;
use crate::tcp::IO_TIMEOUT;

/// Upper bound on the duration of any one transfer.
pub const TRANSFER_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// An in-process loopback device: a ring of `capacity` frame buffers of `mtu` bytes.
pub struct RingDevice {
    frames: Vec<Vec<u8>>,
    lens: Vec<usize>,
    head: usize,
    len: usize,
    scratch: Vec<u8>,
    scratch_len: usize,
    mtu: usize,
    medium: Medium,
}

impl RingDevice {
    /// A ring of `capacity` frames of `mtu` bytes.
    pub fn new(capacity: usize, mtu: usize, medium: Medium) -> RingDevice {
        RingDevice {
            frames: (0..capacity).map(|_| vec![0u8; mtu]).collect(),
            lens: vec![0; capacity],
            head: 0,
            len: 0,
            scratch: vec![0u8; mtu],
            scratch_len: 0,
            mtu,
            medium,
        }
    }
}

/// Receive token: the frame just taken from the ring.
pub struct RingRx<'a> {
    buf: &'a [u8],
}

/// Transmit token: a free slot at the ring's tail.
pub struct RingTx<'a> {
    frames: &'a mut [Vec<u8>],
    lens: &'a mut [usize],
    head: usize,
    len: &'a mut usize,
}

impl phy::RxToken for RingRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.buf)
    }
}

impl phy::TxToken for RingTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let cap = self.frames.len();
        let slot = (self.head + *self.len) % cap;
        let frame = &mut self.frames[slot];
        let n = len.min(frame.len());
        let r = f(&mut frame[..n]);
        self.lens[slot] = n;
        *self.len += 1;
        r
    }
}

impl Device for RingDevice {
    type RxToken<'a> = RingRx<'a>;
    type TxToken<'a> = RingTx<'a>;

    fn receive(&mut self, _t: Instant) -> Option<(RingRx<'_>, RingTx<'_>)> {
        if self.len == 0 {
            return None;
        }
        // Swap the head frame with the scratch buffer: no copy.
        std::mem::swap(&mut self.frames[self.head], &mut self.scratch);
        self.scratch_len = self.lens[self.head];
        self.head = (self.head + 1) % self.frames.len();
        self.len -= 1;
        Some((
            RingRx {
                buf: &self.scratch[..self.scratch_len],
            },
            RingTx {
                frames: &mut self.frames,
                lens: &mut self.lens,
                head: self.head,
                len: &mut self.len,
            },
        ))
    }

    fn transmit(&mut self, _t: Instant) -> Option<RingTx<'_>> {
        if self.len == self.frames.len() {
            return None;
        }
        Some(RingTx {
            frames: &mut self.frames,
            lens: &mut self.lens,
            head: self.head,
            len: &mut self.len,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = self.mtu;
        caps.medium = self.medium;
        caps
    }
}

fn tcp_socket(rx: usize, tx: usize) -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0u8; rx]),
        tcp::SocketBuffer::new(vec![0u8; tx]),
    )
}

fn gbits(bytes: u64, secs: f64) -> f64 {
    bytes as f64 * 8.0 / secs / 1e9
}

/// The in-process set-up both plain baselines share: a ring device of MTU `mtu`, an interface
/// on 127.0.0.1, a listening server socket and a client connecting to it (buffers `buf`).
struct Pair {
    dev: RingDevice,
    iface: Interface,
    sockets: SocketSet<'static>,
    server: SocketHandle,
    client: SocketHandle,
}

impl Pair {
    fn new(mtu: usize, buf: usize) -> BenchResult<Pair> {
        let mut dev = RingDevice::new(crate::usmol::FRAMES, mtu, Medium::Ip);
        let mut iface = Interface::new(Config::new(HardwareAddress::Ip), &mut dev, Instant::now());
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
        });
        let mut sockets = SocketSet::new(Vec::with_capacity(2));
        let mut server = tcp_socket(buf, buf);
        server.listen(5000).ctx("plain listen")?;
        let server = sockets.add(server);
        let client = sockets.add(tcp_socket(buf, buf));
        sockets
            .get_mut::<tcp::Socket>(client)
            .connect(iface.context(), (IpAddress::v4(127, 0, 0, 1), 5000), 49152)
            .ctx("plain connect")?;
        Ok(Pair {
            dev,
            iface,
            sockets,
            server,
            client,
        })
    }

    fn poll(&mut self) {
        self.iface
            .poll(Instant::now(), &mut self.dev, &mut self.sockets);
    }

    /// How long a thread that cannot progress waits at most before polling again: not at all
    /// while frames wait in the device (`poll` processes what was queued before its egress
    /// pass; the frames that pass sent are for the next one), else until the interface's next
    /// deadline.
    fn delay(&mut self) -> std::time::Duration {
        if self.dev.len > 0 {
            return std::time::Duration::ZERO;
        }
        self.iface
            .poll_delay(Instant::now(), &self.sockets)
            .map_or(std::time::Duration::from_millis(100), |d| {
                std::time::Duration::from_micros(d.total_micros())
            })
    }
}

/// Plain smoltcp, in process: move `total` bytes from one socket to another over a ring
/// device of MTU `mtu`, socket buffers of `buf` bytes; Gbit/s.
pub fn inproc_bulk(total: u64, mtu: usize, buf: usize) -> BenchResult<f64> {
    let Pair {
        mut dev,
        mut iface,
        mut sockets,
        server,
        client,
    } = Pair::new(mtu, buf)?;
    let src = vec![0xa5u8; 64 * 1024];
    let mut dst = vec![0u8; 64 * 1024];
    let (mut sent, mut got) = (0u64, 0u64);
    let start_wall = std::time::Instant::now();
    while got < total {
        iface.poll(Instant::now(), &mut dev, &mut sockets);
        let c = sockets.get_mut::<tcp::Socket>(client);
        while sent < total && c.can_send() {
            let n = (total - sent).min(src.len() as u64) as usize;
            match c.send_slice(&src[..n]) {
                Ok(0) => break,
                Ok(k) => sent += k as u64,
                Err(e) => return Err(format!("plain send: {e}")),
            }
        }
        let s = sockets.get_mut::<tcp::Socket>(server);
        while s.can_recv() {
            match s.recv_slice(&mut dst) {
                Ok(0) => break,
                Ok(k) => got += k as u64,
                Err(e) => return Err(format!("plain recv: {e}")),
            }
        }
        if start_wall.elapsed() > TRANSFER_LIMIT {
            return Err(format!(
                "plain in-process: only {got} of {total} bytes in time"
            ));
        }
    }
    Ok(gbits(total, start_wall.elapsed().as_secs_f64()))
}

/// Plain smoltcp from two threads, the way a smoltcp user shares one interface between a
/// writing and a reading thread: interface, device and sockets in one `Mutex`, a `Condvar`
/// notified after every poll, each thread polling after its own operation and waiting on the
/// condition variable (bounded by the interface's `poll_delay`) when it cannot progress. The
/// same transfer as [`inproc_bulk`]; Gbit/s.
pub fn inproc_threads(total: u64, mtu: usize, buf: usize) -> BenchResult<f64> {
    use std::sync::{Condvar, Mutex};

    /// One thread's operation: bytes moved so far in, bytes moved now out.
    type Op<'a> = Box<dyn FnMut(&mut Pair, u64) -> BenchResult<usize> + Send + 'a>;

    let shared = Mutex::new(Pair::new(mtu, buf)?);
    let (server, client) = {
        let g = shared.lock().map_err(|_| "poisoned".to_string())?;
        (g.server, g.client)
    };
    let cond = Condvar::new();
    let start = std::time::Instant::now();
    // One thread's loop: poll, `op` (bytes moved so far; returns bytes moved now, 0 when it
    // cannot progress), poll, notify; wait when stuck, else let the other thread in.
    let side = |what: &str, mut op: Op<'_>| {
        fn poisoned<E>(_: E) -> String {
            "poisoned".to_string()
        }
        let mut done = 0u64;
        let mut g = shared.lock().map_err(poisoned)?;
        while done < total {
            g.poll();
            let n = op(&mut g, done)?;
            done += n as u64;
            g.poll();
            cond.notify_all();
            if n == 0 {
                if start.elapsed() > TRANSFER_LIMIT {
                    return Err(format!(
                        "plain threads: {what} only {done} of {total} bytes"
                    ));
                }
                let d = g.delay();
                g = cond.wait_timeout(g, d).map_err(poisoned)?.0;
            } else {
                drop(g);
                g = shared.lock().map_err(poisoned)?;
            }
        }
        Ok(())
    };
    // Not yet connected, no data or no room: the operation moves nothing and the thread waits.
    let mut dst = vec![0u8; 64 * 1024];
    let read = Box::new(move |g: &mut Pair, _| {
        let sock = g.sockets.get_mut::<tcp::Socket>(server);
        match sock.can_recv() {
            true => sock
                .recv_slice(&mut dst)
                .map_err(|e| format!("plain recv: {e}")),
            false => Ok(0),
        }
    });
    let src = vec![0xa5u8; 64 * 1024];
    let write = Box::new(move |g: &mut Pair, sent: u64| {
        let want = (total - sent).min(src.len() as u64) as usize;
        let sock = g.sockets.get_mut::<tcp::Socket>(client);
        match sock.can_send() {
            true => sock
                .send_slice(&src[..want])
                .map_err(|e| format!("plain send: {e}")),
            false => Ok(0),
        }
    });
    thread::scope(|s| {
        let reader = s.spawn(|| side("read", read));
        side("sent", write)?;
        reader.join().map_err(|_| "reader panicked".to_string())??;
        Ok(gbits(total, start.elapsed().as_secs_f64()))
    })
}

/// Direction of a TAP transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// smoltcp sends, the kernel receives.
    Out,
    /// The kernel sends, smoltcp receives.
    In,
}

impl Dir {
    /// "smoltcp→kernel" or "kernel→smoltcp".
    pub fn label(self) -> &'static str {
        match self {
            Dir::Out => "smoltcp→kernel",
            Dir::In => "kernel→smoltcp",
        }
    }
}

/// The TAP network used by workload 6: the kernel's address, smoltcp's address, the prefix.
pub const TAP_KERNEL: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// smoltcp's side of the TAP network.
pub const TAP_SMOLTCP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
/// smoltcp's MAC address on the TAP network.
pub const TAP_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x77, 0x02];

/// Create (or recreate) TAP device `name` with MTU `mtu`, the kernel's address on it, up. Must
/// be called in the benchmark's private network namespace.
pub fn setup_tap(name: &str, mtu: usize) -> BenchResult<()> {
    remove_tap(name);
    sys::ip(&["tuntap", "add", "dev", name, "mode", "tap"])?;
    sys::ip(&["link", "set", name, "mtu", &mtu.to_string(), "up"])?;
    sys::ip(&["addr", "add", &format!("{TAP_KERNEL}/24"), "dev", name])?;
    Ok(())
}

/// Delete TAP device `name` if it exists (inside the benchmark's own namespace).
pub fn remove_tap(name: &str) {
    let _ = std::process::Command::new("ip")
        .args(["link", "del", name])
        .output();
}

/// The kernel side of a TAP transfer: a listener on the TAP network. Accepts one connection;
/// `Out`: reads until end of stream and returns the byte count; `In`: writes `total` bytes and
/// closes.
pub fn kernel_peer(
    listener: TcpListener,
    dir: Dir,
    total: u64,
    cc: String,
    done: &AtomicBool,
) -> BenchResult<(u64, std::time::Instant)> {
    let r = (|| {
        let (mut c, _) = listener.accept().ctx("kernel accept")?;
        sys::set_congestion(c.as_raw_fd(), &cc)?;
        c.set_read_timeout(Some(IO_TIMEOUT)).ctx("kernel timeout")?;
        c.set_write_timeout(Some(IO_TIMEOUT))
            .ctx("kernel timeout")?;
        match dir {
            Dir::Out => {
                let mut buf = vec![0u8; 256 * 1024];
                let mut got = 0u64;
                loop {
                    let n = c.read(&mut buf).ctx("kernel read")?;
                    if n == 0 {
                        return Ok((got, std::time::Instant::now()));
                    }
                    got += n as u64;
                    if got >= total {
                        return Ok((got, std::time::Instant::now()));
                    }
                }
            }
            Dir::In => {
                let buf = vec![0x5au8; 256 * 1024];
                let mut left = total;
                while left > 0 {
                    let n = left.min(buf.len() as u64) as usize;
                    c.write_all(&buf[..n]).ctx("kernel write")?;
                    left -= n as u64;
                }
                Ok((total, std::time::Instant::now()))
            }
        }
    })();
    done.store(true, Ordering::Release);
    r
}

/// A kernel listener on the TAP network, with the congestion control set.
pub fn kernel_listener(cc: &str) -> BenchResult<TcpListener> {
    let l = TcpListener::bind(SocketAddr::from((TAP_KERNEL, 0))).ctx("kernel bind")?;
    sys::set_congestion(l.as_raw_fd(), cc)?;
    sys::set_recv_timeout(l.as_raw_fd(), IO_TIMEOUT)?;
    Ok(l)
}

/// Run `client` (the smoltcp side of one TAP transfer, given the kernel's port; returns when
/// its transfer started and ended) against a kernel peer in this process; Gbit/s. The
/// transfer ends when the receiver has every byte.
pub fn with_kernel_peer(
    dir: Dir,
    total: u64,
    cc: &str,
    client: impl FnOnce(u16) -> BenchResult<(std::time::Instant, std::time::Instant)>,
) -> BenchResult<f64> {
    let listener = kernel_listener(cc)?;
    let port = listener.local_addr().ctx("kernel addr")?.port();
    let done = AtomicBool::new(false);
    let cc_owned = cc.to_string();
    thread::scope(|s| {
        let peer = s.spawn(|| kernel_peer(listener, dir, total, cc_owned, &done));
        let r = client(port);
        let peer = peer
            .join()
            .map_err(|_| "kernel peer panicked".to_string())?;
        let (start, smoltcp_end) = r?;
        let (moved, kernel_end) = peer?;
        if moved < total {
            return Err(format!("kernel moved {moved} of {total} bytes"));
        }
        let end = match dir {
            Dir::Out => kernel_end,
            Dir::In => smoltcp_end,
        };
        Ok(gbits(total, (end - start).as_secs_f64()))
    })
}

/// Plain smoltcp over smoltcp's `TunTapInterface` on TAP device `name` (set up with
/// [`setup_tap`]): one transfer of `total` bytes in direction `dir` with the kernel, socket
/// buffers of `buf` bytes; Gbit/s.
pub fn tap_bulk(name: &str, dir: Dir, total: u64, buf: usize, cc: &str) -> BenchResult<f64> {
    with_kernel_peer(dir, total, cc, |port| {
        tap_transfer(name, dir, port, total, buf)
    })
}

/// The smoltcp side of [`tap_bulk`]: connect to the kernel's `port` on the TAP network and
/// move `total` bytes in direction `dir`; returns when the transfer started and when this side
/// finished (sent everything and saw the close, or received everything).
pub fn tap_transfer(
    name: &str,
    dir: Dir,
    port: u16,
    total: u64,
    buf: usize,
) -> BenchResult<(std::time::Instant, std::time::Instant)> {
    let mut dev = TunTapInterface::new(name, Medium::Ethernet).ctx("TunTapInterface::new")?;
    let fd = dev.as_raw_fd();
    let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(TAP_MAC)));
    cfg.random_seed = 0x5eed;
    let mut iface = Interface::new(cfg, &mut dev, Instant::now());
    iface.update_ip_addrs(|a| {
        let _ = a.push(IpCidr::new(IpAddress::Ipv4(TAP_SMOLTCP), 24));
    });
    let mut sockets = SocketSet::new(Vec::with_capacity(1));
    let handle = sockets.add(tcp_socket(buf, buf));
    let src = vec![0xa5u8; 64 * 1024];
    let mut dst = vec![0u8; 64 * 1024];
    let start = std::time::Instant::now();
    let local_port =
        49152 + (std::process::id() % 8192) as u16 + (start.elapsed().subsec_nanos() % 4096) as u16;
    sockets
        .get_mut::<tcp::Socket>(handle)
        .connect(
            iface.context(),
            (IpAddress::Ipv4(TAP_KERNEL), port),
            local_port,
        )
        .ctx("plain tap connect")?;
    let (mut sent, mut got, mut closed) = (0u64, 0u64, false);
    loop {
        let now = Instant::now();
        iface.poll(now, &mut dev, &mut sockets);
        let sock = sockets.get_mut::<tcp::Socket>(handle);
        match dir {
            Dir::Out => {
                while sent < total && sock.can_send() {
                    let n = (total - sent).min(src.len() as u64) as usize;
                    match sock.send_slice(&src[..n]) {
                        Ok(k) if k > 0 => sent += k as u64,
                        _ => break,
                    }
                }
                if sent >= total && !closed {
                    sock.close();
                    closed = true;
                }
                // Done when the kernel has read everything and closed its side too.
                if closed && matches!(sock.state(), tcp::State::TimeWait | tcp::State::Closed) {
                    return Ok((start, std::time::Instant::now()));
                }
            }
            Dir::In => {
                while sock.can_recv() {
                    match sock.recv_slice(&mut dst) {
                        Ok(k) if k > 0 => got += k as u64,
                        _ => break,
                    }
                }
                if got >= total {
                    let end = std::time::Instant::now();
                    sock.close();
                    // Let the FIN go out, so the kernel peer finishes cleanly.
                    for _ in 0..100 {
                        iface.poll(Instant::now(), &mut dev, &mut sockets);
                        let s = sockets.get_mut::<tcp::Socket>(handle);
                        if matches!(s.state(), tcp::State::TimeWait | tcp::State::Closed) {
                            break;
                        }
                        let _ = phy::wait(fd, Some(smoltcp::time::Duration::from_millis(1)));
                    }
                    return Ok((start, end));
                }
                if !sock.is_open() {
                    return Err(format!("plain tap: closed after {got} of {total} bytes"));
                }
            }
        }
        if start.elapsed() > TRANSFER_LIMIT {
            return Err(format!("plain tap {}: stalled", dir.label()));
        }
        let delay = iface
            .poll_delay(now, &sockets)
            .map(|d| d.min(smoltcp::time::Duration::from_millis(5)))
            .unwrap_or(smoltcp::time::Duration::from_millis(5));
        let _ = phy::wait(fd, Some(delay));
    }
}

/// Kernel-to-kernel reference over a veth pair: the peer end lives in namespace `ns`
/// (address 10.78.0.2), this thread's end is 10.78.0.1. Both ends are set up by
/// [`setup_veth`]. One transfer of `total` bytes from this namespace to the peer; Gbit/s.
pub fn veth_bulk(ns: &sys::NamedNetns, total: u64, cc: &str) -> BenchResult<f64> {
    let (tx, rx) = std::sync::mpsc::channel::<BenchResult<u16>>();
    thread::scope(|s| {
        let peer = s.spawn(move || -> BenchResult<(u64, std::time::Instant)> {
            let setup = (|| -> BenchResult<(TcpListener, u16)> {
                ns.enter()?;
                let l = TcpListener::bind(SocketAddr::from((VETH_PEER, 0))).ctx("veth bind")?;
                sys::set_congestion(l.as_raw_fd(), cc)?;
                sys::set_recv_timeout(l.as_raw_fd(), IO_TIMEOUT)?;
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
            sys::set_congestion(c.as_raw_fd(), cc)?;
            c.set_read_timeout(Some(IO_TIMEOUT)).ctx("veth timeout")?;
            let mut buf = vec![0u8; 256 * 1024];
            let mut got = 0u64;
            loop {
                let n = c.read(&mut buf).ctx("veth read")?;
                if n == 0 {
                    return Ok((got, std::time::Instant::now()));
                }
                got += n as u64;
            }
        });
        let port = rx
            .recv()
            .map_err(|_| "veth peer thread ended".to_string())??;
        let start = std::time::Instant::now();
        let mut c = std::net::TcpStream::connect(SocketAddr::from((VETH_PEER, port)))
            .ctx("veth connect")?;
        sys::set_congestion(c.as_raw_fd(), cc)?;
        c.set_write_timeout(Some(IO_TIMEOUT)).ctx("veth timeout")?;
        let buf = vec![0xa5u8; 256 * 1024];
        let mut left = total;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            c.write_all(&buf[..n]).ctx("veth write")?;
            left -= n as u64;
        }
        drop(c);
        let (got, end) = peer
            .join()
            .map_err(|_| "veth peer panicked".to_string())??;
        if got != total {
            return Err(format!("veth: received {got} of {total} bytes"));
        }
        Ok(gbits(total, (end - start).as_secs_f64()))
    })
}

/// The veth pair's peer address (inside the named namespace).
pub const VETH_PEER: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 2);
/// The veth pair's local address (in the benchmark's namespace).
pub const VETH_LOCAL: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 1);

/// Create a veth pair between this namespace (`ubveth0`) and `ns` (`ubveth1`), MTU `mtu`.
pub fn setup_veth(ns: &sys::NamedNetns, mtu: usize) -> BenchResult<()> {
    let _ = std::process::Command::new("ip")
        .args(["link", "del", "ubveth0"])
        .output();
    let m = mtu.to_string();
    sys::ip(&[
        "link",
        "add",
        "ubveth0",
        "mtu",
        &m,
        "type",
        "veth",
        "peer",
        "name",
        "ubveth1",
        "mtu",
        &m,
        "netns",
        ns.name(),
    ])?;
    sys::ip(&["addr", "add", &format!("{VETH_LOCAL}/24"), "dev", "ubveth0"])?;
    sys::ip(&["link", "set", "ubveth0", "up"])?;
    sys::ip(&[
        "-n",
        ns.name(),
        "addr",
        "add",
        &format!("{VETH_PEER}/24"),
        "dev",
        "ubveth1",
    ])?;
    sys::ip(&["-n", ns.name(), "link", "set", "ubveth1", "up"])?;
    Ok(())
}
