//! `std` conveniences: a stack driven by a background thread, the in-process loopback and TAP
//! constructors, pcap capture to a file, and the [`Notify`] waiter.
//!
//! [`StdStack`] owns a heap-allocated [`Stack`] in an `Arc` and a driver thread that polls it
//! whenever the device may have a frame or a timer is due (exactly at
//! [`Stack::poll_delay`], at most every 100 ms); while it polls, smoltcp wakes only the
//! blocked calls and async tasks whose sockets changed. Socket operations poll too, and wake
//! the driver when they make its next deadline earlier.
//! Use it through `Deref` (`&*net` is a `&Stack`, which implements [`unisock::Stack`]); the
//! sockets borrow it, so they can be moved to other threads with `std::thread::scope`.
//! Dropping the `StdStack` stops and joins the driver.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use smoltcp::phy::{Device, Medium, PcapMode, PcapSink, PcapWriter};

use crate::clock::StdClock;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::loopback::Loopback;
use crate::stack::Stack;
use crate::wait::Wait;

/// A condition-variable waiter: `wait` sleeps until `wake` or the timeout.
#[derive(Debug, Default)]
pub struct Notify {
    flag: Mutex<bool>,
    cond: Condvar,
}

impl Notify {
    /// A waiter with no pending wake-up.
    pub fn new() -> Notify {
        Notify::default()
    }
}

impl Wait for Notify {
    fn wait(&self, timeout: Option<Duration>) {
        let mut woken = self.flag.lock().unwrap_or_else(|e| e.into_inner());
        if !*woken {
            woken = match timeout {
                Some(t) => {
                    self.cond
                        .wait_timeout(woken, t)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.cond.wait(woken).unwrap_or_else(|e| e.into_inner()),
            };
        }
        *woken = false;
    }

    fn wake(&self) {
        *self.flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cond.notify_all();
    }
}

/// A pcap sink writing to a file, or nowhere. A write error stops the capture (it never
/// panics).
#[derive(Debug)]
pub struct PcapFile {
    out: Option<BufWriter<File>>,
}

impl PcapFile {
    /// No capture.
    pub fn none() -> PcapFile {
        PcapFile { out: None }
    }

    /// Capture to a new file at `path`.
    pub fn create(path: &std::path::Path) -> Result<PcapFile> {
        let f = File::create(path)
            .map_err(|e| Error::new(e.kind().into(), "pcap: cannot create the capture file"))?;
        Ok(PcapFile {
            out: Some(BufWriter::new(f)),
        })
    }
}

impl PcapSink for PcapFile {
    fn write(&mut self, data: &[u8]) {
        if let Some(w) = &mut self.out
            && w.write_all(data).is_err()
        {
            self.out = None;
        }
    }

    fn flush(&mut self) {
        if let Some(w) = &mut self.out
            && std::io::Write::flush(w).is_err()
        {
            self.out = None;
        }
    }
}

/// A device with optional pcap capture (smoltcp's `PcapWriter` over a [`PcapFile`]).
pub type Capture<D> = PcapWriter<D, PcapFile>;

/// The device of [`StdStack::loopback`].
pub type StdLoopback = Capture<Loopback<'static>>;

/// A loopback stack with a driver thread.
pub type LoopbackStack = StdStack<StdLoopback, Notify>;

/// Options for [`StdStack::loopback_with`].
#[derive(Debug, Clone)]
pub struct LoopbackOptions {
    /// Interface configuration; 127.0.0.1/8 and ::1/128 are added if missing.
    pub config: Config,
    /// MTU (1280..=65535).
    pub mtu: usize,
    /// `Medium::Ip` (default) or `Medium::Ethernet`.
    pub medium: Medium,
    /// Frames the device queues.
    pub frames: usize,
    /// Write every frame to this pcap file.
    pub pcap: Option<PathBuf>,
}

impl Default for LoopbackOptions {
    fn default() -> Self {
        LoopbackOptions {
            config: Config::loopback(),
            mtu: 65535,
            medium: Medium::Ip,
            frames: 32,
            pcap: None,
        }
    }
}

/// A heap-allocated [`Stack`] with a background driver thread.
pub struct StdStack<D, W = Notify>
where
    D: Device + Send + 'static,
    W: Wait + Send + Sync + 'static,
{
    stack: Arc<Stack<'static, D, StdClock, W>>,
    stop: Arc<AtomicBool>,
    driver: Option<JoinHandle<()>>,
}

impl<D, W> core::fmt::Debug for StdStack<D, W>
where
    D: Device + Send + 'static,
    W: Wait + Send + Sync + 'static,
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StdStack")
            .field("stack", &*self.stack)
            .finish()
    }
}

fn ensure_loopback_addresses(config: &mut Config) -> Result<()> {
    for c in Config::loopback().addresses {
        if !config.addresses.iter().any(|a| a.addr == c.addr) {
            config.addresses.push(c).map_err(|_| {
                Error::new(
                    unisock::ErrorKind::OutOfMemory,
                    "no room for the loopback addresses in Config::addresses",
                )
            })?;
        }
    }
    Ok(())
}

impl StdStack<StdLoopback, Notify> {
    /// The in-process loopback stack (MTU 65535, `Medium::Ip`) with `config`; 127.0.0.1/8
    /// and ::1/128 are added to its addresses if missing, so scenario code using `127.0.0.1`
    /// and `[::1]` runs as on the kernel.
    pub fn loopback(config: Config) -> Result<LoopbackStack> {
        StdStack::loopback_with(LoopbackOptions {
            config,
            ..LoopbackOptions::default()
        })
    }

    /// The in-process loopback stack with explicit options.
    pub fn loopback_with(opts: LoopbackOptions) -> Result<LoopbackStack> {
        let mut config = opts.config;
        ensure_loopback_addresses(&mut config)?;
        // The device returns every frame: it is the local delivery.
        config.device_loops_back = true;
        let dev = Loopback::with_capacity(opts.frames, opts.mtu, opts.medium)?;
        let sink = match &opts.pcap {
            Some(p) => PcapFile::create(p)?,
            None => PcapFile::none(),
        };
        // Every loopback frame is both sent and received: capture it once.
        let dev = PcapWriter::new(dev, sink, PcapMode::TxOnly);
        StdStack::new(dev, Notify::new(), &config)
    }
}

impl<D, W> StdStack<D, W>
where
    D: Device + Send + 'static,
    W: Wait + Send + Sync + 'static,
{
    /// A heap-allocated stack over `device` with a driver thread that waits with `waiter`.
    pub fn new(device: D, waiter: W, config: &Config) -> Result<StdStack<D, W>> {
        let stack = Arc::new(Stack::new_alloc(device, StdClock::new(), waiter, config)?);
        stack.set_driven(true);
        let stop = Arc::new(AtomicBool::new(false));
        let driver = {
            let stack = Arc::clone(&stack);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("unisock-smoltcp-driver".into())
                .spawn(move || drive(&stack, &stop))
                .map_err(|e| Error::new(e.kind().into(), "cannot spawn the driver thread"))?
        };
        Ok(StdStack {
            stack,
            stop,
            driver: Some(driver),
        })
    }

    /// The stack (`&Stack` implements [`unisock::Stack`]).
    pub fn stack(&self) -> &Stack<'static, D, StdClock, W> {
        &self.stack
    }
}

/// The longest the driver sleeps without checking for work.
const DRIVER_IDLE: Duration = Duration::from_millis(100);

fn drive<D: Device, W: Wait>(stack: &Stack<'static, D, StdClock, W>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let t = stack.drive_once(DRIVER_IDLE);
        if !t.is_zero() {
            stack.waiter().wait(Some(t));
        }
    }
}

impl<D, W> core::ops::Deref for StdStack<D, W>
where
    D: Device + Send + 'static,
    W: Wait + Send + Sync + 'static,
{
    type Target = Stack<'static, D, StdClock, W>;

    fn deref(&self) -> &Self::Target {
        &self.stack
    }
}

impl<D, W> Drop for StdStack<D, W>
where
    D: Device + Send + 'static,
    W: Wait + Send + Sync + 'static,
{
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.stack.waiter().wake();
        if let Some(d) = self.driver.take() {
            let _ = d.join();
        }
        self.stack.set_driven(false);
    }
}
