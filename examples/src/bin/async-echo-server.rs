//! `async-echo-server`: a TCP echo server on ONE thread, one async task per connection.
//!
//! ```text
//! async-echo-server --listen 127.0.0.1:7000 [--backlog N] [--max-conns N] [--reactor tokio|async-io] [--backend posix]
//! ```
//! Prints `listening on ADDR` first, then one line per connection (its association and the
//! bytes echoed). With `--max-conns N` it exits once N connections have finished; it exits
//! non-zero if any failed. The server is generic over `unisock::asynch::Stack`.

use std::cell::Cell;
use std::fmt;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;

use unisock::asynch::{Stack, StreamListener, StreamSocket};
use unisock::{Shutdown, SockOpt, Socket};
use unisock_examples::asynch::{self, AsyncWork, Reactor};
use unisock_examples::cli::{self, StackArgs};

/// Async TCP echo server: echoes every byte back until the client half-closes.
#[derive(Debug, clap::Parser)]
#[command(name = "async-echo-server", version)]
struct Args {
    /// Local endpoint to listen on (port 0: an ephemeral port, printed at start).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// Established connections queued before accept.
    #[arg(long, default_value_t = 128, value_name = "N")]
    backlog: usize,
    /// Exit after this many connections have been served (default: serve forever).
    #[arg(long, value_name = "N")]
    max_conns: Option<usize>,
    /// The reactor of the posix backend's async sockets.
    #[arg(long, value_enum, default_value_t = Reactor::Tokio)]
    reactor: Reactor,
    #[command(flatten)]
    stack: StackArgs,
}

struct Server {
    listen: SocketAddr,
    backlog: usize,
    max_conns: Option<usize>,
}

/// Echo until end of stream, then half-close; returns the bytes echoed.
async fn echo<T: StreamSocket>(conn: &mut T) -> Result<u64, T::Error> {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0u64;
    loop {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            conn.shutdown(Shutdown::Write)?;
            return Ok(total);
        }
        conn.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

impl AsyncWork for Server {
    async fn run<S>(self, label: String, stack: &'static S) -> Result<(), String>
    where
        S: Stack<Error: fmt::Display> + 'static,
    {
        let mut listener = stack
            .listen(self.listen, self.backlog)
            .map_err(|e| format!("listen on {}: {e}", self.listen))?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("local_addr: {e}"))?;
        println!("[{label}] listening on {local} (backlog {})", self.backlog);
        let failed = Rc::new(Cell::new(0usize));
        let mut tasks = Vec::new();
        let mut accepted = 0usize;
        while self.max_conns.is_none_or(|max| accepted < max) {
            let (mut conn, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) if cli::is_transient_accept_error(&e) => {
                    eprintln!("async-echo-server: accept: {e} (continuing)");
                    continue;
                }
                Err(e) => return Err(format!("accept: {e}")),
            };
            accepted += 1;
            let assoc = conn
                .association()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| format!("tcp {local} -> {peer}"));
            println!("[{label}] accepted {assoc}");
            let (failed, label) = (failed.clone(), label.clone());
            tasks.push(tokio::task::spawn_local(async move {
                if let Err(e) = conn.set_option(SockOpt::NoDelay(true)) {
                    eprintln!("async-echo-server: {assoc}: NoDelay: {e}");
                }
                match echo(&mut conn).await {
                    Ok(n) => println!("[{label}] {assoc}: echoed {n} bytes, closed"),
                    Err(e) => {
                        failed.set(failed.get() + 1);
                        eprintln!("async-echo-server: {assoc}: {e}");
                    }
                }
            }));
            // Forget finished tasks so a long-running server does not grow.
            tasks.retain(|t| !t.is_finished());
        }
        for t in tasks {
            t.await.map_err(|e| format!("connection task: {e}"))?;
        }
        match failed.get() {
            0 => Ok(()),
            n => Err(format!("{n} connection(s) failed")),
        }
    }
}

fn main() -> ExitCode {
    let args = match cli::parse::<Args>("async-echo-server") {
        Ok(args) => args,
        Err(code) => return code,
    };
    let server = Server {
        listen: args.listen,
        backlog: args.backlog,
        max_conns: args.max_conns,
    };
    cli::finish(
        "async-echo-server",
        asynch::run(&args.stack, args.reactor, server),
    )
}
