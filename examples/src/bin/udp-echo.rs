//! `udp-echo`: a UDP echo server on either backend.
//!
//! ```text
//! udp-echo --listen 127.0.0.1:7000 [--max-datagrams N] [--backend smoltcp --tap ...]
//! ```
//! Prints `listening on ADDR`, then one line per datagram (sender and size), sending each
//! back to its sender. With `--max-datagrams N` it exits after echoing N datagrams.

use std::net::SocketAddr;
use std::process::ExitCode;

use unisock::{Association, DatagramSocket, Protocol, RecvFlags, SendFlags, Socket};
use unisock_examples::cli::{self, AppStack, Backend, StackArgs, WithStack, describe};

/// UDP echo server: sends every datagram back to its sender.
#[derive(Debug, clap::Parser)]
#[command(name = "udp-echo", version)]
struct Args {
    /// Local endpoint to receive on (port 0: an ephemeral port, printed at start).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// Exit after echoing this many datagrams (default: forever).
    #[arg(long, value_name = "N")]
    max_datagrams: Option<u64>,
    #[command(flatten)]
    stack: StackArgs,
}

struct Echo {
    listen: SocketAddr,
    max: Option<u64>,
}

impl WithStack for Echo {
    type Output = Result<(), String>;

    fn run<S: AppStack>(self, backend: Backend, stack: &S) -> Result<(), String> {
        let mut socket = stack
            .bind_udp(self.listen)
            .map_err(|e| format!("bind {}: {}", self.listen, describe(&e)))?;
        let local = socket
            .local_addr()
            .map_err(|e| format!("local_addr: {}", describe(&e)))?;
        println!("[{backend}] listening on udp {local}");
        let mut buf = vec![0u8; 65536];
        let mut echoed = 0u64;
        while self.max.is_none_or(|max| echoed < max) {
            let meta = socket
                .recv_from(&mut buf, RecvFlags::NONE)
                .map_err(|e| format!("recv_from: {}", describe(&e)))?;
            let data = buf.get(..meta.len).unwrap_or_default();
            socket
                .send_to(data, meta.from, SendFlags::NONE)
                .map_err(|e| format!("send_to {}: {}", meta.from, describe(&e)))?;
            echoed += 1;
            let assoc = Association::new(Protocol::UDP, local, meta.from);
            let note = if meta.truncated() {
                format!(" (truncated from {} bytes)", meta.full_len)
            } else {
                String::new()
            };
            println!("[{backend}] {assoc}: echoed {} bytes{note}", meta.len);
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    let args = match cli::parse::<Args>("udp-echo") {
        Ok(args) => args,
        Err(code) => return code,
    };
    let echo = Echo {
        listen: args.listen,
        max: args.max_datagrams,
    };
    let result = cli::open(args.stack.backend, &args.stack.smoltcp, echo)
        .map_err(|e| e.to_string())
        .and_then(|r| r);
    cli::finish("udp-echo", result)
}
