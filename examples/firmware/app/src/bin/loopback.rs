//! The no-NIC firmware: client and server over unisock-smoltcp's fixed-capacity loopback
//! device, inside the firmware, in one thread.
//!
//! A blocking echo client and server cannot share one thread, so this binary drives the stack
//! as unisock-smoltcp documents for a superloop: `Stack::poll` plus the non-blocking `try_*`
//! calls. (The in-process loopback completes a connection without the server's help, so the
//! blocking `connect` and `accept` return at once.) It sends 64 KiB of the shared test pattern
//! of `unisock-examples`, echoes it on the server side, and verifies every byte the client gets
//! back. Exit status 0 on success, 1 on an error or a wrong byte, 2 on the time limit.
#![no_std]
#![no_main]

use core::mem::MaybeUninit;
use core::net::{Ipv4Addr, SocketAddr};

use cortex_m_rt::entry;
use mps2_board::net::RUN_LIMIT_MS;
use mps2_board::semihosting::println;
use mps2_board::{exit, now_ms, stack_used};
use smoltcp::phy::Medium;
use unisock::{ErrorKind, Shutdown, Stack as _, StreamListener as _, StreamSocket as _};
use unisock_examples::{check_pattern, fill_pattern, pattern_byte};
use unisock_firmware::{BYTES, LoopbackResources, POOL, SysTickClock, wait_all_closed};
use unisock_smoltcp::{Config, Loopback, Spin, Stack};

/// Bytes sent through the echo.
const TOTAL: u64 = 64 * 1024;
/// MTU of the loopback device.
const MTU: usize = 1500;
/// Loopback frame storage: one scratch frame and up to seven queued ones.
const FRAMES: usize = 8 * MTU;

type LoopStack = Stack<'static, Loopback<'static>, SysTickClock, Spin>;

fn fail(what: &str, e: impl core::fmt::Display) -> ! {
    println!("loopback: {what}: {e}");
    exit(1)
}

/// `Some(n)` for progress, `None` for `WouldBlock`; any other error ends the program.
fn progress(what: &str, r: Result<usize, unisock_smoltcp::Error>) -> Option<usize> {
    match r {
        Ok(n) => Some(n),
        Err(e) if e.kind() == ErrorKind::WouldBlock => None,
        Err(e) => fail(what, e),
    }
}

#[entry]
fn main() -> ! {
    // The socket tables are not all zero bytes: uninitialised in the image (.bss) and filled
    // at start-up. The socket buffers are zeros (.bss).
    static mut RESOURCES: MaybeUninit<LoopbackResources> = MaybeUninit::uninit();
    static mut SOCKET_BUFFERS: [u8; BYTES] = [0; BYTES];
    static mut STORAGE: [u8; FRAMES] = [0; FRAMES];
    static mut STACK: Option<LoopStack> = None;

    let Some(cp) = cortex_m::Peripherals::take() else {
        exit(3)
    };
    mps2_board::start_clock(cp.SYST);

    let device = Loopback::new(STORAGE, MTU, Medium::Ethernet)
        .unwrap_or_else(|e| fail("loopback device", e));
    let config = Config::loopback().with_pool(POOL);
    let net: &LoopStack = Stack::new_in(
        STACK,
        device,
        SysTickClock,
        Spin,
        &config,
        RESOURCES.write(LoopbackResources::new()),
        SOCKET_BUFFERS,
    )
    .unwrap_or_else(|e| fail("stack", e));

    let at = SocketAddr::from((Ipv4Addr::LOCALHOST, 7));
    let mut listener = net.listen(at, 1).unwrap_or_else(|e| fail("listen", e));
    let mut client = net.connect(at).unwrap_or_else(|e| fail("connect", e));
    let (mut server, peer) = listener.accept().unwrap_or_else(|e| fail("accept", e));
    drop(listener);
    println!("loopback: connected {peer} -> {at}");

    let mut tx = [0u8; 1024];
    let mut rx = [0u8; 1024];
    let mut echo = [0u8; 1024];
    let (mut sent, mut received) = (0u64, 0u64);
    // Bytes the server has read but not yet written back: echo[echo_at..echo_len].
    let (mut echo_at, mut echo_len) = (0usize, 0usize);
    let (mut client_closed, mut server_closed) = (false, false);
    let deadline = now_ms() + RUN_LIMIT_MS;

    loop {
        if now_ms() > deadline {
            println!("loopback: time limit: sent {sent}, verified {received}");
            exit(2)
        }
        net.poll();

        // Client: send the next block of the pattern.
        if sent < TOTAL {
            let n = (TOTAL - sent).min(tx.len() as u64) as usize;
            fill_pattern(sent, &mut tx[..n]);
            if let Some(k) = progress("client send", client.try_write(&tx[..n])) {
                sent += k as u64;
            }
        } else if !client_closed {
            client
                .shutdown(Shutdown::Write)
                .unwrap_or_else(|e| fail("client shutdown", e));
            client_closed = true;
        }

        // Server: read, then write back what was read.
        if echo_at == echo_len && !server_closed {
            match progress("server recv", server.try_read(&mut echo)) {
                Some(0) => {
                    server
                        .shutdown(Shutdown::Write)
                        .unwrap_or_else(|e| fail("server shutdown", e));
                    server_closed = true;
                }
                Some(n) => (echo_at, echo_len) = (0, n),
                None => {}
            }
        }
        if echo_at < echo_len
            && let Some(k) = progress("server send", server.try_write(&echo[echo_at..echo_len]))
        {
            echo_at += k;
        }

        // Client: verify the echo.
        match progress("client recv", client.try_read(&mut rx)) {
            Some(0) => break,
            Some(n) => {
                let got = &rx[..n];
                if let Some(i) = check_pattern(received, got) {
                    let at = received + i as u64;
                    println!(
                        "loopback: byte {at} is {:#04x}, expected {:#04x}",
                        got[i],
                        pattern_byte(at)
                    );
                    exit(1)
                }
                received += n as u64;
            }
            None => {}
        }
    }

    if received != TOTAL {
        println!("loopback: end of stream after {received} of {TOTAL} bytes");
        exit(1)
    }
    drop(client);
    drop(server);
    let open = wait_all_closed(net, 10_000);
    if open != 0 {
        println!("loopback: {open} sockets still open at the end");
        exit(1)
    }
    println!("loopback: verified {received} bytes echoed over unisock-smoltcp's loopback");
    println!("loopback: stack high-water mark {} bytes", stack_used());
    exit(0)
}
