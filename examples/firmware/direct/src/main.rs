//! The size baseline: the NIC firmware's job done with smoltcp directly, no unisock.
//!
//! Same board, driver, addresses, buffer sizes and sequence as `unisock-firmware`'s `nic`
//! binary: answer ICMP echo, serve one TCP echo connection on port 7 until the peer closes,
//! then connect to the host's port 4242, send a message, close, and wait for the host to close.
//! Exit status 0 on success, 1 on a network error, 2 on the overall time limit.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use lan9118::{Buffers, Lan9118, Mmio};
use mps2_board::net::{DEVICE_IP, ECHO_PORT, HOST_IP, PREFIX_LEN, REPORT_PORT, RUN_LIMIT_MS};
use mps2_board::semihosting::println;
use mps2_board::{exit, now_ms, stack_used, wait_for_tick};
use smoltcp::iface::{Config, Interface, PollResult, SocketSet, SocketStorage};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};

/// Receive and transmit buffer of each TCP socket (as in the unisock firmware).
const TCP_BUFFER: usize = 4096;
/// The message sent to the host.
const MESSAGE: &[u8] = b"hello from the direct smoltcp firmware";
/// Local port of the outbound connection.
const LOCAL_PORT: u16 = 49152;

fn now() -> Instant {
    Instant::from_millis(now_ms() as i64)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Serving the echo connection.
    Echo { connected: bool },
    /// Connecting out and sending the message.
    Report { sent: bool },
}

#[entry]
fn main() -> ! {
    static mut SOCKETS: [SocketStorage<'static>; 2] = [SocketStorage::EMPTY; 2];
    static mut ECHO_RX: [u8; TCP_BUFFER] = [0; TCP_BUFFER];
    static mut ECHO_TX: [u8; TCP_BUFFER] = [0; TCP_BUFFER];
    static mut REPORT_RX: [u8; TCP_BUFFER] = [0; TCP_BUFFER];
    static mut REPORT_TX: [u8; TCP_BUFFER] = [0; TCP_BUFFER];
    static mut FRAMES: Buffers = Buffers::new();

    let Some(cp) = cortex_m::Peripherals::take() else {
        exit(3)
    };
    mps2_board::start_clock(cp.SYST);

    // SAFETY: the LAN9118 window of this board; this is its only user.
    let bus = unsafe { Mmio::new(mps2_board::LAN9118_BASE) };
    let mut nic = match Lan9118::new(bus, FRAMES) {
        Ok(nic) => nic,
        Err(e) => {
            println!("lan9118: {e}");
            exit(1)
        }
    };
    let mac = nic.mac_address();
    let mut iface = Interface::new(
        Config::new(HardwareAddress::Ethernet(EthernetAddress(mac))),
        &mut nic,
        now(),
    );
    let [a, b, c, d] = DEVICE_IP;
    iface.update_ip_addrs(|addrs| {
        // Capacity is at least one address.
        let _ = addrs.push(IpCidr::new(IpAddress::v4(a, b, c, d), PREFIX_LEN));
    });

    let mut sockets = SocketSet::new(&mut SOCKETS[..]);
    let echo = sockets.add(tcp::Socket::new(
        tcp::SocketBuffer::new(&mut ECHO_RX[..]),
        tcp::SocketBuffer::new(&mut ECHO_TX[..]),
    ));
    let report = sockets.add(tcp::Socket::new(
        tcp::SocketBuffer::new(&mut REPORT_RX[..]),
        tcp::SocketBuffer::new(&mut REPORT_TX[..]),
    ));
    if let Err(e) = sockets.get_mut::<tcp::Socket>(echo).listen(ECHO_PORT) {
        println!("listen: {e}");
        exit(1)
    }
    println!(
        "READY direct: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, echo on {a}.{b}.{c}.{d}:{ECHO_PORT}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    );

    let mut phase = Phase::Echo { connected: false };
    let mut echoed: u64 = 0;
    let mut chunk = [0u8; 1024];
    let [h0, h1, h2, h3] = HOST_IP;
    let host = (
        IpAddress::Ipv4(Ipv4Address::new(h0, h1, h2, h3)),
        REPORT_PORT,
    );
    let deadline = now_ms() + RUN_LIMIT_MS;

    loop {
        if now_ms() > deadline {
            println!("direct: time limit reached");
            exit(2)
        }
        let progress = iface.poll(now(), &mut nic, &mut sockets) != PollResult::None;
        match phase {
            Phase::Echo { connected } => {
                let sock = sockets.get_mut::<tcp::Socket>(echo);
                if sock.is_active() {
                    phase = Phase::Echo { connected: true };
                }
                // Echo what fits in the send buffer.
                let room = (sock.send_capacity() - sock.send_queue()).min(chunk.len());
                if sock.can_recv() && room > 0 {
                    match sock.recv_slice(&mut chunk[..room]) {
                        Ok(n) => {
                            // Fits: at most `room` bytes were taken.
                            let _ = sock.send_slice(&chunk[..n]);
                            echoed += n as u64;
                        }
                        Err(e) => {
                            println!("echo recv: {e}");
                            exit(1)
                        }
                    }
                    continue;
                }
                // The peer finished and everything was echoed: half-close our side.
                if connected && !sock.may_recv() && sock.send_queue() == 0 && sock.may_send() {
                    sock.close();
                }
                if connected && !sock.is_active() {
                    println!("direct: echoed {echoed} bytes");
                    let sock = sockets.get_mut::<tcp::Socket>(report);
                    if let Err(e) = sock.connect(iface.context(), host, LOCAL_PORT) {
                        println!("connect: {e}");
                        exit(1)
                    }
                    phase = Phase::Report { sent: false };
                    continue;
                }
            }
            Phase::Report { sent } => {
                let sock = sockets.get_mut::<tcp::Socket>(report);
                if !sent && sock.may_send() {
                    match sock.send_slice(MESSAGE) {
                        Ok(n) if n == MESSAGE.len() => {}
                        Ok(n) => {
                            println!("report: only {n} bytes queued");
                            exit(1)
                        }
                        Err(e) => {
                            println!("report send: {e}");
                            exit(1)
                        }
                    }
                    sock.close();
                    phase = Phase::Report { sent: true };
                    continue;
                }
                if !sock.is_active() {
                    if !sent {
                        println!("report: connection failed");
                        exit(1)
                    }
                    let stats = nic.stats();
                    println!(
                        "direct: done, echoed {echoed} bytes, rx {} tx {} dropped {}",
                        stats.rx_frames, stats.tx_frames, stats.rx_dropped
                    );
                    println!("direct: stack high-water mark {} bytes", stack_used());
                    exit(0)
                }
            }
        }
        if !progress {
            wait_for_tick();
        }
    }
}
