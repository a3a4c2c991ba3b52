//! `async-echo-client`: many concurrent connections to an echo server from ONE thread, each
//! sending a known byte pattern and verifying the echo.
//!
//! ```text
//! async-echo-client HOST:PORT [--bytes N] [--connections N] [--reactor tokio|async-io] [--backend posix]
//! ```
//! All connections run at once (one task each): each sends N bytes of its pattern in 16 KiB
//! blocks, reads each block back and checks it, half-closes and expects end of stream. Prints
//! the total bytes, seconds and throughput; exits non-zero on any mismatch or error. The
//! client is generic over `unisock::asynch::Stack`.

use std::fmt;
use std::process::ExitCode;
use std::time::Instant;

use unisock::Shutdown;
use unisock::asynch::embedded_io_async::{Read, ReadExactError, Write};
use unisock::asynch::{Stack, StreamSocket, make_connection};
use unisock_examples::asynch::{self, AsyncWork, Reactor};
use unisock_examples::cli::{self, StackArgs};

/// Async TCP echo client: concurrent connections, every byte verified.
#[derive(Debug, clap::Parser)]
#[command(name = "async-echo-client", version)]
struct Args {
    /// The echo server (`host:port`; a host name is resolved through the chosen stack).
    #[arg(value_name = "HOST:PORT")]
    target: String,
    /// Bytes to send (and expect back) per connection.
    #[arg(long, default_value_t = 1 << 20, value_name = "N")]
    bytes: u64,
    /// Connections to run at once.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    connections: u32,
    /// The reactor of the posix backend's async sockets.
    #[arg(long, value_enum, default_value_t = Reactor::Tokio)]
    reactor: Reactor,
    #[command(flatten)]
    stack: StackArgs,
}

struct Client {
    target: String,
    bytes: u64,
    connections: u32,
}

/// The pattern byte at `offset` of connection `id`.
fn pattern(id: u32, offset: u64) -> u8 {
    (offset.wrapping_mul(31) as u8) ^ (id as u8)
}

/// One connection: send the pattern in blocks, check each echoed block, close.
async fn one<S: Stack<Error: fmt::Display>>(
    stack: &S,
    target: &str,
    id: u32,
    bytes: u64,
) -> Result<(), String> {
    let mut conn = make_connection(stack, target, 7)
        .await
        .map_err(|e| format!("connect to {target}: {e}"))?;
    let mut out = vec![0u8; 16 * 1024];
    let mut back = vec![0u8; 16 * 1024];
    let mut off = 0u64;
    while off < bytes {
        let len = (bytes - off).min(out.len() as u64) as usize;
        for (i, b) in out[..len].iter_mut().enumerate() {
            *b = pattern(id, off + i as u64);
        }
        conn.write_all(&out[..len])
            .await
            .map_err(|e| format!("write: {e}"))?;
        conn.read_exact(&mut back[..len])
            .await
            .map_err(|e| match e {
                ReadExactError::UnexpectedEof => format!("end of stream after {off} bytes"),
                ReadExactError::Other(e) => format!("read: {e}"),
            })?;
        if let Some(i) = (0..len).find(|&i| back[i] != out[i]) {
            return Err(format!("connection {id}: byte {} differs", off + i as u64));
        }
        off += len as u64;
    }
    conn.shutdown(Shutdown::Write)
        .map_err(|e| format!("shutdown: {e}"))?;
    let mut rest = [0u8; 64];
    match conn.read(&mut rest).await {
        Ok(0) => Ok(()),
        Ok(n) => Err(format!(
            "connection {id}: {n} unexpected bytes after the echo"
        )),
        Err(e) => Err(format!("connection {id}: waiting for end of stream: {e}")),
    }
}

impl AsyncWork for Client {
    async fn run<S>(self, label: String, stack: &'static S) -> Result<(), String>
    where
        S: Stack<Error: fmt::Display> + 'static,
    {
        let started = Instant::now();
        let target: &'static str = Box::leak(self.target.into_boxed_str());
        let tasks: Vec<_> = (0..self.connections)
            .map(|id| tokio::task::spawn_local(one(stack, target, id, self.bytes)))
            .collect();
        let mut failed = 0;
        for t in tasks {
            if let Err(e) = t.await.map_err(|e| format!("task: {e}"))? {
                eprintln!("async-echo-client: {e}");
                failed += 1;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let total = self.bytes * u64::from(self.connections);
        println!(
            "[{label}] {} connection(s), {total} bytes echoed and verified in {secs:.3} s ({:.1} Mbit/s)",
            self.connections,
            total as f64 * 8.0 / secs / 1e6
        );
        match failed {
            0 => Ok(()),
            n => Err(format!("{n} connection(s) failed")),
        }
    }
}

fn main() -> ExitCode {
    let args = match cli::parse::<Args>("async-echo-client") {
        Ok(args) => args,
        Err(code) => return code,
    };
    let client = Client {
        target: args.target,
        bytes: args.bytes,
        connections: args.connections,
    };
    cli::finish(
        "async-echo-client",
        asynch::run(&args.stack, args.reactor, client),
    )
}
