//! `echo-client`: sends a known byte pattern to an echo server and verifies the echo.
//!
//! ```text
//! echo-client HOST:PORT [--bytes N] [--connections N] [--backend smoltcp --tap ...]
//! ```
//! For each connection: prints the association, sends N bytes of the pattern (in lock-step
//! blocks), checks every byte echoed, half-closes and expects the server's end of stream;
//! then prints bytes, seconds and throughput. Exits non-zero on any mismatch or error.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use unisock::{ConnectOptions, SockOpt, Socket, StreamSocket};
use unisock_examples::cli::{self, AppStack, Backend, StackArgs, WithStack, describe};
use unisock_examples::echo_client;

/// TCP echo client: sends a byte pattern, verifies the echo byte for byte.
#[derive(Debug, clap::Parser)]
#[command(name = "echo-client", version)]
struct Args {
    /// The echo server (`host:port`; a host name is resolved through the chosen stack).
    #[arg(value_name = "HOST:PORT")]
    target: String,
    /// Bytes to send (and expect back) per connection.
    #[arg(long, default_value_t = 1 << 20, value_name = "N")]
    bytes: u64,
    /// Connections to make, one after another.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// Seconds to wait for the connection and for each read.
    #[arg(long, default_value_t = 30, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    timeout: u64,
    #[command(flatten)]
    stack: StackArgs,
}

struct Client {
    target: String,
    bytes: u64,
    connections: u32,
    timeout: Duration,
}

impl WithStack for Client {
    type Output = Result<(), String>;

    fn run<S: AppStack>(self, backend: Backend, stack: &S) -> Result<(), String> {
        let options = ConnectOptions {
            default_port: 7,
            timeout_per_address: Some(self.timeout),
        };
        let mut tx = vec![0u8; 16 * 1024];
        let mut rx = vec![0u8; 16 * 1024];
        let mut total = 0u64;
        let start = Instant::now();
        for i in 1..=self.connections {
            let t0 = Instant::now();
            let mut conn = unisock::make_connection_with(stack, &self.target, options)
                .map_err(|e| format!("connect to {}: {e} [{:?}]", self.target, e.kind()))?;
            conn.set_option(SockOpt::ReadTimeout(Some(self.timeout)))
                .map_err(|e| format!("set read timeout: {}", describe(&e)))?;
            // Lock-step blocks: without NoDelay, Nagle holds each block's last segment until
            // the peer's (possibly delayed) ACK arrives.
            conn.set_option(SockOpt::NoDelay(true))
                .map_err(|e| format!("set NoDelay: {}", describe(&e)))?;
            let assoc = conn
                .association()
                .map_err(|e| format!("association: {}", describe(&e)))?;
            println!("[{backend}] connection {i}: {assoc}");
            let n = echo_client(&mut conn, self.bytes, &mut tx, &mut rx)
                .map_err(|e| format!("{assoc}: {e}"))?;
            let secs = t0.elapsed().as_secs_f64();
            println!(
                "[{backend}] connection {i}: {n} bytes echoed and verified in {secs:.3} s ({:.2} MB/s)",
                n as f64 / secs.max(1e-9) / 1e6
            );
            total += n;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "[{backend}] total: {total} bytes over {} connection(s) in {secs:.3} s ({:.2} MB/s)",
            self.connections,
            total as f64 / secs.max(1e-9) / 1e6
        );
        Ok(())
    }
}

fn main() -> ExitCode {
    let args = match cli::parse::<Args>("echo-client") {
        Ok(args) => args,
        Err(code) => return code,
    };
    let client = Client {
        target: args.target,
        bytes: args.bytes,
        connections: args.connections,
        timeout: Duration::from_secs(args.timeout),
    };
    let result = cli::open(args.stack.backend, &args.stack.smoltcp, client)
        .map_err(|e| e.to_string())
        .and_then(|r| r);
    cli::finish("echo-client", result)
}
