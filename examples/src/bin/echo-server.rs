//! `echo-server`: a TCP echo server, one thread per connection, on either backend.
//!
//! ```text
//! echo-server --listen 127.0.0.1:7000 [--backlog N] [--max-conns N] [--backend smoltcp --tap ...]
//! ```
//! Prints `listening on ADDR` first, then one line per connection (its association and the
//! bytes echoed). With `--max-conns N` it exits after N connections have finished; it exits
//! non-zero if any connection failed.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use unisock::{SockOpt, Socket, StreamListener, StreamSocket};
use unisock_examples::cli::{self, AppStack, Backend, StackArgs, WithStack, describe};
use unisock_examples::echo_connection;

/// TCP echo server: echoes every byte back until the client half-closes.
#[derive(Debug, clap::Parser)]
#[command(name = "echo-server", version)]
struct Args {
    /// Local endpoint to listen on (port 0: an ephemeral port, printed at start).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// Established connections queued before accept.
    #[arg(long, default_value_t = 16, value_name = "N")]
    backlog: usize,
    /// Exit after this many connections have been served (default: serve forever).
    #[arg(long, value_name = "N")]
    max_conns: Option<usize>,
    #[command(flatten)]
    stack: StackArgs,
}

struct Server {
    listen: SocketAddr,
    backlog: usize,
    max_conns: Option<usize>,
}

impl WithStack for Server {
    type Output = Result<(), String>;

    fn run<S: AppStack>(self, backend: Backend, stack: &S) -> Result<(), String> {
        let mut listener = stack
            .listen(self.listen, self.backlog)
            .map_err(|e| format!("listen on {}: {}", self.listen, describe(&e)))?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("local_addr: {}", describe(&e)))?;
        println!(
            "[{backend}] listening on {local} (backlog {})",
            self.backlog
        );
        let failed = AtomicUsize::new(0);
        let failed = &failed;
        std::thread::scope(|scope| {
            let mut accepted = 0usize;
            while self.max_conns.is_none_or(|max| accepted < max) {
                let (mut conn, peer) = match listener.accept() {
                    Ok(accepted) => accepted,
                    Err(e) if cli::is_transient_accept_error(&e) => {
                        eprintln!("echo-server: accept: {} (continuing)", describe(&e));
                        continue;
                    }
                    Err(e) => return Err(format!("accept: {}", describe(&e))),
                };
                accepted += 1;
                let assoc = match conn.association() {
                    Ok(a) => a.to_string(),
                    Err(_) => format!("tcp {local} -> {peer}"),
                };
                println!("[{backend}] accepted {assoc}");
                scope.spawn(move || {
                    // Echoes are written as they are read, often in small pieces: do not
                    // let Nagle hold them back waiting for the client's delayed ACK.
                    if let Err(e) = conn.set_option(SockOpt::NoDelay(true)) {
                        eprintln!("echo-server: {assoc}: NoDelay: {}", describe(&e));
                    }
                    let mut buf = vec![0u8; 16 * 1024];
                    match echo_connection(&mut conn, &mut buf) {
                        Ok(n) => println!("[{backend}] {assoc}: echoed {n} bytes, closed"),
                        Err(e) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            eprintln!("echo-server: {assoc}: {}", describe(&e));
                        }
                    }
                });
            }
            Ok::<(), String>(())
        })?;
        match failed.load(Ordering::Relaxed) {
            0 => Ok(()),
            n => Err(format!("{n} connection(s) failed")),
        }
    }
}

fn main() -> ExitCode {
    let args = match cli::parse::<Args>("echo-server") {
        Ok(args) => args,
        Err(code) => return code,
    };
    let server = Server {
        listen: args.listen,
        backlog: args.backlog,
        max_conns: args.max_conns,
    };
    let result = cli::open(args.stack.backend, &args.stack.smoltcp, server)
        .map_err(|e| e.to_string())
        .and_then(|r| r);
    cli::finish("echo-server", result)
}
