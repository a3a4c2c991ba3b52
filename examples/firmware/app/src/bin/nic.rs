//! The NIC firmware: the shared echo server and client of `unisock-examples`, unchanged, over
//! `unisock-smoltcp` and the LAN9118.
//!
//! Answers ICMP echo (smoltcp does, while any call polls), serves one TCP echo connection on
//! port 7 with `echo_server` until the peer closes, then connects to the host's port 4242 with
//! `send_message`. Exit status 0 on success, 1 on an error, 3 if the core peripherals are gone.
#![no_std]
#![no_main]

use core::mem::MaybeUninit;
use core::net::{Ipv4Addr, SocketAddr};

use cortex_m_rt::entry;
use lan9118::{Buffers, Lan9118, Mmio};
use mps2_board::net::{DEVICE_IP, ECHO_PORT, HOST_IP, REPORT_PORT};
use mps2_board::semihosting::println;
use mps2_board::{exit, stack_used};
use unisock::Stack as _;
use unisock_examples::{echo_server, send_message};
use unisock_firmware::{BYTES, NicResources, SysTickClock, Wfi, configure, wait_all_closed};
use unisock_smoltcp::{Config, Stack};

/// The message sent to the host.
const MESSAGE: &[u8] = b"hello from the unisock firmware";

type NicStack = Stack<'static, Lan9118<'static, Mmio>, SysTickClock, Wfi>;

fn fail(what: &str, e: impl core::fmt::Display) -> ! {
    println!("nic: {what}: {e}");
    exit(1)
}

/// Start the driver and the stack. Not inlined: the initialisation temporaries live in this
/// frame, which is gone before the echo starts, instead of in `main`'s, which lasts the whole
/// run. The stack is built straight into `slot` (`Stack::new_in`), its socket buffers carved
/// from the zero-initialised `buffers`.
#[inline(never)]
fn bring_up(
    frames: &'static mut Buffers,
    resources: &'static mut MaybeUninit<NicResources>,
    buffers: &'static mut [u8],
    slot: &'static mut Option<NicStack>,
) -> (&'static NicStack, [u8; 6]) {
    // SAFETY: the LAN9118 window of this board; this is its only user.
    let bus = unsafe { Mmio::new(mps2_board::LAN9118_BASE) };
    let nic = Lan9118::new(bus, frames).unwrap_or_else(|e| fail("lan9118", e));
    let mac = nic.mac_address();
    let mut config = Config::new();
    configure(&mut config, mac).unwrap_or_else(|e| fail("config", e));
    let resources = resources.write(NicResources::new());
    match Stack::new_in(slot, nic, SysTickClock, Wfi, &config, resources, buffers) {
        Ok(stack) => (stack, mac),
        Err(e) => fail("stack", e),
    }
}

#[entry]
fn main() -> ! {
    // The socket tables are not all zero bytes (a `static` initialised with them would sit in
    // .data, in flash too): uninitialised in the image and filled at start-up. The socket
    // buffers are zeros (.bss).
    static mut RESOURCES: MaybeUninit<NicResources> = MaybeUninit::uninit();
    static mut SOCKET_BUFFERS: [u8; BYTES] = [0; BYTES];
    static mut STACK: Option<NicStack> = None;
    static mut BUF: [u8; 1024] = [0; 1024];
    static mut FRAMES: Buffers = Buffers::new();

    let Some(cp) = cortex_m::Peripherals::take() else {
        exit(3)
    };
    mps2_board::start_clock(cp.SYST);
    let (net, mac) = bring_up(FRAMES, RESOURCES, SOCKET_BUFFERS, STACK);

    let [a, b, c, d] = DEVICE_IP;
    let at = SocketAddr::from((Ipv4Addr::new(a, b, c, d), ECHO_PORT));
    let mut listener = net.listen(at, 1).unwrap_or_else(|e| fail("listen", e));
    println!(
        "READY nic: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, echo on {a}.{b}.{c}.{d}:{ECHO_PORT}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    );

    // Addresses are printed as numbers, as the direct-smoltcp baseline does: formatting
    // `SocketAddr` would pull `core`'s IPv6 formatter into the size comparison.
    let echoed = echo_server(&mut listener, 1, BUF, |_, peer, n| {
        println!("nic: echoed {n} bytes to port {}", peer.port());
    })
    .unwrap_or_else(|e| fail("echo server", e));
    drop(listener);

    let host = SocketAddr::from((Ipv4Addr::from(HOST_IP), REPORT_PORT));
    let local = send_message(&net, host, MESSAGE).unwrap_or_else(|e| fail("send_message", e));
    let open = wait_all_closed(net, 10_000);
    if open != 0 {
        println!("nic: {open} sockets still open at the end");
        exit(1)
    }
    let stats = net.with_device(|nic| nic.stats());
    println!(
        "nic: done, echoed {echoed} bytes, reported from port {}, rx {} tx {} dropped {}",
        local.port(),
        stats.rx_frames,
        stats.tx_frames,
        stats.rx_dropped
    );
    println!("nic: stack high-water mark {} bytes", stack_used());
    exit(0)
}
