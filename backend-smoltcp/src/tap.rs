//! Linux TAP device (`std`, Linux only): the one module of this crate that uses `unsafe`.
//!
//! Contract: [`TapDevice::open`] opens `/dev/net/tun`, attaches to (or creates) TAP interface
//! NAME with `TUNSETIFF` (`IFF_TAP | IFF_NO_PI`: plain Ethernet frames, no packet
//! information header), makes the descriptor non-blocking and optionally sets the interface
//! MTU (`SIOCSIFMTU`). Every system call goes through [`cvt`], which turns -1 into the OS
//! error, kept in the returned [`Error`] with its number ([`Error::os_error`]) so the message
//! names the OS cause (`TAP: TUNSETIFF failed: EBUSY: Device or resource busy` when another
//! process holds the interface) and guesses none; descriptors are held as `OwnedFd`. Creating
//! a TAP interface needs `CAP_NET_ADMIN` (the OS then answers `EPERM`: `PermissionDenied`).
//! Frames that cannot be read or written once the device runs are dropped, as a NIC drops
//! them; the OS error is logged (`debug`) unless it only means "nothing to read" or "queue
//! full". The device never brings the interface up or configures
//! the kernel side: that is the administrator's (or the test's) job.
//!
//! [`TapWait`] waits with `poll(2)` on the TAP descriptor and an `eventfd` used by
//! [`Wait::wake`].
//!
//! Offloads (off by default; [`TapDevice::open_with_offload`], [`StdStack::tap_with_offload`]):
//! `IFF_VNET_HDR` framing with `TUNSETOFFLOAD` (`TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6`). The
//! kernel then hands over TCP super-frames of up to 64 KiB, and consecutive TCP segments that
//! smoltcp sends are merged into such frames (see the `offload` module): at a 1500-byte MTU
//! the per-frame cost, which dominates over TAP, is paid once per 64 KiB instead of once per
//! 1.5 KiB. The offloads are switched off again when the device is dropped.
//!
//! Not supported yet: multi-queue TAP, UDP segmentation offload.
#![allow(unsafe_code)]

use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium, PcapMode, PcapWriter};
use smoltcp::time::Instant;
use unisock::ErrorKind;

use crate::config::{Cidr, Config, PoolConfig};
use crate::error::{Error, Result};
use crate::offload::{self, Coalescer, VNET_HDR};
use crate::std_stack::{Capture, PcapFile, StdStack};
use crate::wait::Wait;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
/// `_IOW('T', 208, unsigned int)`.
const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
const TUN_F_CSUM: libc::c_uint = 0x01;
const TUN_F_TSO4: libc::c_uint = 0x02;
const TUN_F_TSO6: libc::c_uint = 0x04;
const ETHERNET_HEADER: usize = 14;

/// The calling thread's last OS error (`errno`), with its number kept.
fn os_error(context: &'static str) -> Error {
    Error::from_io(&std::io::Error::last_os_error(), context)
}

/// -1 from a system call becomes the OS error.
fn cvt(r: libc::c_int, context: &'static str) -> Result<libc::c_int> {
    if r == -1 {
        Err(os_error(context))
    } else {
        Ok(r)
    }
}

fn ifreq_for(name: &str) -> Result<libc::ifreq> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(Error::invalid(
            "TAP interface name must be 1 to 15 bytes without NUL",
        ));
    }
    // SAFETY: ifreq is a plain C struct (arrays and a union of integers); all-zero is a valid
    // value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    Ok(ifr)
}

/// A Linux TAP interface as a smoltcp device (Ethernet frames).
#[derive(Debug)]
pub struct TapDevice {
    fd: OwnedFd,
    mtu: usize,
    rx: Vec<u8>,
    tx: Vec<u8>,
    /// With offloads on: the segment coalescer, and the guard that switches them off.
    offload: Option<(Box<Coalescer>, OffloadGuard)>,
}

/// Switches a TAP interface's offloads off when dropped (so a later reader without
/// `IFF_VNET_HDR` does not get 64 KiB frames it cannot parse).
#[derive(Debug)]
struct OffloadGuard {
    fd: OwnedFd,
}

impl OffloadGuard {
    fn set(fd: &OwnedFd, flags: libc::c_uint) -> Result<()> {
        // SAFETY: TUNSETOFFLOAD takes its argument by value (an unsigned int of flags).
        cvt(
            unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETOFFLOAD as _, flags as libc::c_ulong) },
            "TAP: TUNSETOFFLOAD failed",
        )
        .map(|_| ())
    }
}

impl Drop for OffloadGuard {
    fn drop(&mut self) {
        let _ = OffloadGuard::set(&self.fd, 0);
    }
}

impl TapDevice {
    /// Attach to (or create) TAP interface `name`; set its MTU (IP MTU, without the Ethernet
    /// header) when `mtu` is given, otherwise read it.
    pub fn open(name: &str, mtu: Option<usize>) -> Result<TapDevice> {
        TapDevice::open_with_offload(name, mtu, false)
    }

    /// As [`TapDevice::open`], with TAP offloads when `offload` is true (`IFF_VNET_HDR`,
    /// TCP segmentation and checksum offload; see the module docs). `Unsupported` if the
    /// kernel refuses them.
    pub fn open_with_offload(name: &str, mtu: Option<usize>, offload: bool) -> Result<TapDevice> {
        let path = c"/dev/net/tun";
        // SAFETY: `path` is a valid NUL-terminated string; open has no other preconditions.
        let raw = cvt(
            unsafe {
                libc::open(
                    path.as_ptr(),
                    libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
                )
            },
            "TAP: cannot open /dev/net/tun",
        )?;
        // SAFETY: `raw` was just returned by open and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut ifr = ifreq_for(name)?;
        let vnet = if offload { libc::IFF_VNET_HDR } else { 0 };
        ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI | vnet) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes one `ifreq`, which `ifr` is and outlives the call.
        cvt(
            unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF as _, &mut ifr) },
            "TAP: TUNSETIFF failed",
        )?;
        let mtu = match mtu {
            Some(m) => {
                set_mtu(name, m)?;
                m
            }
            None => get_mtu(name)?,
        };
        let mut dev = TapDevice::new(fd, mtu);
        if offload {
            let guard_fd = dev
                .fd
                .try_clone()
                .map_err(|e| Error::from_io(&e, "TAP: cannot duplicate the descriptor"))?;
            // `Unsupported` as documented, with the OS error that said no.
            OffloadGuard::set(&dev.fd, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6).map_err(|e| {
                let refused = "TAP: TUNSETOFFLOAD failed (the kernel refused TCP segmentation \
                               offload)";
                match e.os_error() {
                    Some(errno) => Error::from_os(ErrorKind::Unsupported, refused, errno),
                    None => Error::unsupported(refused),
                }
            })?;
            dev.rx = vec![0; VNET_HDR + offload::MAX_FRAME];
            dev.offload = Some((Box::new(Coalescer::new()), OffloadGuard { fd: guard_fd }));
        }
        Ok(dev)
    }

    /// Whether TAP offloads are on.
    pub fn offload(&self) -> bool {
        self.offload.is_some()
    }

    /// Wrap an already attached TAP descriptor carrying frames of IP MTU `mtu`. The
    /// descriptor should be non-blocking.
    pub fn new(fd: OwnedFd, mtu: usize) -> TapDevice {
        TapDevice {
            fd,
            mtu,
            rx: vec![0; mtu + ETHERNET_HEADER],
            tx: vec![0; mtu + ETHERNET_HEADER],
            offload: None,
        }
    }

    /// The descriptor back (with offloads on, they are switched off again and the
    /// descriptor keeps its `IFF_VNET_HDR` framing).
    pub fn into_inner(self) -> OwnedFd {
        self.fd
    }

    /// A waiter polling this device's descriptor.
    pub fn waiter(&self) -> Result<TapWait> {
        TapWait::new(&self.fd)
    }

    /// The descriptor (for a reactor to watch; reading or writing it steals frames).
    #[cfg(feature = "async-io")]
    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.fd
    }
}

fn ctl_socket() -> Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the result is checked.
    let raw = cvt(
        unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) },
        "TAP: cannot open a control socket",
    )?;
    // SAFETY: `raw` is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

fn set_mtu(name: &str, mtu: usize) -> Result<()> {
    let mtu_c = libc::c_int::try_from(mtu).map_err(|_| Error::invalid("TAP MTU too large"))?;
    if !(576..=65521).contains(&mtu) {
        return Err(Error::invalid("TAP MTU must be within 576..=65521"));
    }
    let sock = ctl_socket()?;
    let mut ifr = ifreq_for(name)?;
    ifr.ifr_ifru.ifru_mtu = mtu_c;
    // SAFETY: SIOCSIFMTU reads one `ifreq`, which `ifr` is and outlives the call.
    cvt(
        unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFMTU as _, &mut ifr) },
        "TAP: SIOCSIFMTU failed",
    )?;
    Ok(())
}

fn get_mtu(name: &str) -> Result<usize> {
    let sock = ctl_socket()?;
    let mut ifr = ifreq_for(name)?;
    // SAFETY: SIOCGIFMTU writes one `ifreq`, which `ifr` is and outlives the call.
    cvt(
        unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFMTU as _, &mut ifr) },
        "TAP: SIOCGIFMTU failed",
    )?;
    // SAFETY: SIOCGIFMTU filled in the `ifru_mtu` member of the union.
    let mtu = unsafe { ifr.ifr_ifru.ifru_mtu };
    usize::try_from(mtu).map_err(|_| Error::new(ErrorKind::InvalidData, "TAP: negative MTU"))
}

impl Device for TapDevice {
    type RxToken<'t> = RxToken<'t>;
    type TxToken<'t> = TxToken<'t>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.mtu + ETHERNET_HEADER;
        if self.offload.is_some() {
            // Frames the kernel built carry partial TCP/UDP checksums: the device checks
            // the others itself (`offload::rx_accept`).
            caps.checksum.tcp = phy::Checksum::Tx;
            caps.checksum.udp = phy::Checksum::Tx;
        }
        caps
    }

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let skip = if self.offload.is_some() { VNET_HDR } else { 0 };
        let n = loop {
            // SAFETY: reads at most `rx.len()` bytes into `rx`, a live buffer of that length.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    self.rx.as_mut_ptr().cast(),
                    self.rx.len(),
                )
            };
            let Ok(n) = usize::try_from(n) else {
                log_unexpected("TAP: read failed, no frame received", &[libc::EAGAIN]);
                // Nothing to read: the interface's poll has drained the queue, so what the
                // coalescer holds goes out now (smoltcp polls receive before transmit, and
                // the stack polls again after any transmission).
                if let Some((c, _)) = self.offload.as_mut() {
                    let fd = self.fd.as_fd();
                    c.flush(|w| write_frame(fd, w));
                }
                return None;
            };
            // With offloads, frames failing their checksum are dropped here (see `offload`).
            if let Some(buf) = self.rx.get(..n)
                && n >= skip
                && (skip == 0 || offload::rx_accept(&buf[..skip], &buf[skip..]))
            {
                break n;
            }
        };
        let frame = self.rx.get(skip..n)?;
        Some((
            RxToken { frame },
            TxToken {
                fd: self.fd.as_fd(),
                buf: &mut self.tx,
                coalescer: self.offload.as_mut().map(|(c, _)| &mut **c),
            },
        ))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            fd: self.fd.as_fd(),
            buf: &mut self.tx,
            coalescer: self.offload.as_mut().map(|(c, _)| &mut **c),
        })
    }
}

/// Write one frame (a failed write, full queue or interface down, drops it as a NIC would;
/// the OS error is logged).
fn write_frame(fd: std::os::fd::BorrowedFd<'_>, frame: &[u8]) {
    // SAFETY: writes `frame.len()` bytes from `frame`, a live buffer of that length.
    let r = unsafe { libc::write(fd.as_raw_fd(), frame.as_ptr().cast(), frame.len()) };
    if r < 0 {
        log_unexpected(
            "TAP: write failed, frame dropped",
            &[libc::EAGAIN, libc::ENOBUFS],
        );
    }
}

/// Log (`debug`) the calling thread's last OS error, unless it is one of `expected` (or
/// `EINTR`).
fn log_unexpected(what: &'static str, expected: &[libc::c_int]) {
    let e = std::io::Error::last_os_error();
    let errno = e.raw_os_error().unwrap_or(0);
    if errno != libc::EINTR && !expected.contains(&errno) {
        crate::log::debug!("{}", Error::from_io(&e, what));
    }
}

/// A frame read from a [`TapDevice`].
pub struct RxToken<'t> {
    frame: &'t [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Room for one frame to write to a [`TapDevice`].
pub struct TxToken<'t> {
    fd: std::os::fd::BorrowedFd<'t>,
    buf: &'t mut Vec<u8>,
    coalescer: Option<&'t mut Coalescer>,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        // smoltcp never asks for more than the MTU; grow rather than fail if it ever did.
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        let buf = &mut self.buf[..len];
        let r = f(buf);
        let fd = self.fd;
        match self.coalescer {
            Some(c) => c.push(buf, |w| write_frame(fd, w)),
            None => write_frame(fd, buf),
        }
        r
    }
}

/// Waits with `poll(2)` on a TAP descriptor and an `eventfd` for [`Wait::wake`].
#[derive(Debug)]
pub struct TapWait {
    tap: OwnedFd,
    event: OwnedFd,
}

impl TapWait {
    /// A waiter for `tap` (the descriptor is duplicated).
    pub fn new(tap: &OwnedFd) -> Result<TapWait> {
        let tap = tap
            .try_clone()
            .map_err(|e| Error::from_io(&e, "TAP: cannot duplicate the descriptor"))?;
        // SAFETY: plain eventfd(2) call; the result is checked.
        let raw = cvt(
            unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) },
            "TAP: cannot create an eventfd",
        )?;
        // SAFETY: `raw` is a fresh descriptor owned by nobody else.
        let event = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(TapWait { tap, event })
    }
}

impl Wait for TapWait {
    fn wait(&self, timeout: Option<Duration>) {
        let mut fds = [
            libc::pollfd {
                fd: self.tap.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.event.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let ms = timeout.map_or(-1, |t| {
            libc::c_int::try_from(t.as_millis().max(u128::from(!t.is_zero())))
                .unwrap_or(libc::c_int::MAX)
        });
        // SAFETY: `fds` is a live array of two pollfd structs, its length is passed.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) } < 0 {
            // The caller re-checks its condition and waits again: nothing is lost.
            log_unexpected("TAP: poll failed", &[]);
        }
        if fds[1].revents & libc::POLLIN != 0 {
            let mut v = 0u64;
            // SAFETY: reads 8 bytes into `v`, a live u64.
            if unsafe { libc::read(self.event.as_raw_fd(), (&raw mut v).cast(), 8) } < 0 {
                // EAGAIN: another waiter took the wake-up first.
                log_unexpected("TAP: reading the wake-up eventfd failed", &[libc::EAGAIN]);
            }
        }
    }

    fn wake(&self) {
        let v = 1u64;
        // SAFETY: writes 8 bytes from `v`, a live u64.
        if unsafe { libc::write(self.event.as_raw_fd(), (&raw const v).cast(), 8) } < 0 {
            // EAGAIN: the counter is saturated, so a wake-up is pending anyway.
            log_unexpected("TAP: writing the wake-up eventfd failed", &[libc::EAGAIN]);
        }
    }
}

/// Options for [`StdStack::tap`].
#[derive(Debug, Clone, Default)]
pub struct TapOptions {
    /// The TAP interface name (created if missing, which needs `CAP_NET_ADMIN`).
    pub name: String,
    /// The stack's own addresses (for example `10.7.0.2/24`).
    pub ips: Vec<Cidr>,
    /// Default gateways (at most one per family).
    pub gateway: Vec<IpAddr>,
    /// DNS servers.
    pub dns: Vec<IpAddr>,
    /// Interface MTU to set (IP MTU); `None` keeps the interface's.
    pub mtu: Option<usize>,
    /// Capture every frame to this pcap file.
    pub pcap: Option<PathBuf>,
    /// MAC address (`None`: [`DEFAULT_MAC`](crate::DEFAULT_MAC)).
    pub mac: Option<[u8; 6]>,
    /// Use DHCPv4.
    pub dhcpv4: bool,
    /// Socket pool (`None`: [`PoolConfig::DEFAULT`]).
    pub pool: Option<PoolConfig>,
}

/// A TAP stack with a driver thread.
pub type TapStack = StdStack<Capture<TapDevice>, TapWait>;

impl StdStack<Capture<TapDevice>, TapWait> {
    /// A stack on TAP interface `opts.name`, driven by a background thread waiting with
    /// `poll(2)` on the descriptor.
    pub fn tap(opts: TapOptions) -> Result<TapStack> {
        Self::tap_inner(opts, false)
    }

    /// As [`StdStack::tap`], with TAP offloads on (`IFF_VNET_HDR`, TCP segmentation both ways
    /// and checksum offload; see [`TapDevice::open_with_offload`]). Off in [`StdStack::tap`]
    /// until proven more widely: `Unsupported` if the kernel refuses them.
    pub fn tap_with_offload(opts: TapOptions) -> Result<TapStack> {
        Self::tap_inner(opts, true)
    }

    fn tap_inner(opts: TapOptions, offload: bool) -> Result<TapStack> {
        let (config, dev) = open_configured(&opts, offload)?;
        let waiter = dev.waiter()?;
        StdStack::new(capture(dev, &opts)?, waiter, &config)
    }
}

/// What every TAP stack constructor shares: the interface configuration from `opts` and the
/// opened device (offloads on when `offload`).
pub(crate) fn open_configured(opts: &TapOptions, offload: bool) -> Result<(Config, TapDevice)> {
    let mut config = Config::new();
    for ip in &opts.ips {
        config = config.with_address(*ip)?;
    }
    for gw in &opts.gateway {
        config = config.with_gateway(*gw);
    }
    for d in &opts.dns {
        config = config.with_dns_server(*d)?;
    }
    config.mac = opts.mac;
    config.dhcpv4 = opts.dhcpv4;
    config.pool = opts.pool.unwrap_or(PoolConfig::DEFAULT);
    config.random_seed = seed();
    let dev = TapDevice::open_with_offload(&opts.name, opts.mtu, offload)?;
    Ok((config, dev))
}

/// `dev` with the capture `opts.pcap` asks for (none: frames pass through uncaptured).
pub(crate) fn capture(dev: TapDevice, opts: &TapOptions) -> Result<Capture<TapDevice>> {
    let sink = match &opts.pcap {
        Some(p) => PcapFile::create(p)?,
        None => PcapFile::none(),
    };
    Ok(PcapWriter::new(dev, sink, PcapMode::Both))
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (t as u64) ^ u64::from(std::process::id()).rotate_left(32)
}
