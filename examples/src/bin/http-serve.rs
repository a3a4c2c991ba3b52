//! `http-serve`: a tiny HTTP/1.1 server (one request per connection, one thread each).
//!
//! ```text
//! http-serve --listen ADDR:PORT [--max-conns N] [--root DIR | --page TEXT] [--backend ...]
//! ```
//! Serves the files under `--root DIR` (directories show their `index.html` or a listing), or
//! one fixed page at `/` (`--page TEXT`, or a built-in greeting). Prints `listening on ADDR`,
//! then one line per request. With `--max-conns N` it exits after N connections.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use unisock::{SockOpt, Socket, StreamListener, StreamSocket};
use unisock_examples::cli::{self, AppStack, Backend, StackArgs, WithStack, describe};
use unisock_examples::http::{HttpError, Site, serve_connection};

/// Tiny HTTP/1.1 server for files or one fixed page.
#[derive(Debug, clap::Parser)]
#[command(name = "http-serve", version)]
struct Args {
    /// Local endpoint to listen on (port 0: an ephemeral port, printed at start).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// Exit after this many connections (default: serve forever).
    #[arg(long, value_name = "N")]
    max_conns: Option<usize>,
    /// Serve the files under this directory.
    #[arg(long, value_name = "DIR", conflicts_with = "page")]
    root: Option<PathBuf>,
    /// Serve this text as the only page, at `/`.
    #[arg(long, value_name = "TEXT")]
    page: Option<String>,
    /// Seconds a client may take to send its request.
    #[arg(long, default_value_t = 10, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    timeout: u64,
    #[command(flatten)]
    stack: StackArgs,
}

struct Serve {
    listen: SocketAddr,
    max_conns: Option<usize>,
    site: Site,
    timeout: Duration,
}

impl WithStack for Serve {
    type Output = Result<(), String>;

    fn run<S: AppStack>(self, backend: Backend, stack: &S) -> Result<(), String> {
        let mut listener = stack
            .listen(self.listen, 16)
            .map_err(|e| format!("listen on {}: {}", self.listen, describe(&e)))?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("local_addr: {}", describe(&e)))?;
        println!("[{backend}] listening on http://{local}/");
        let site = &self.site;
        let timeout = self.timeout;
        std::thread::scope(|scope| {
            let mut accepted = 0usize;
            while self.max_conns.is_none_or(|max| accepted < max) {
                let (mut conn, peer) = match listener.accept() {
                    Ok(accepted) => accepted,
                    Err(e) if cli::is_transient_accept_error(&e) => {
                        eprintln!("http-serve: accept: {} (continuing)", describe(&e));
                        continue;
                    }
                    Err(e) => return Err(format!("accept: {}", describe(&e))),
                };
                accepted += 1;
                scope.spawn(move || {
                    let assoc = match conn.association() {
                        Ok(a) => a.to_string(),
                        Err(_) => format!("tcp {local} -> {peer}"),
                    };
                    let result = conn
                        .set_option(SockOpt::ReadTimeout(Some(timeout)))
                        .map_err(HttpError::Io)
                        .and_then(|()| serve_connection(&mut conn, site));
                    match result {
                        Ok(s) => println!(
                            "[{backend}] {assoc}: {} {} -> {} ({} body bytes)",
                            s.method, s.path, s.status, s.body_bytes
                        ),
                        Err(HttpError::Io(e)) => {
                            eprintln!("http-serve: {assoc}: {}", describe(&e))
                        }
                        Err(e) => eprintln!("http-serve: {assoc}: {e}"),
                    }
                });
            }
            Ok::<(), String>(())
        })
    }
}

const DEFAULT_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>unisock</title></head>\n<body><h1>Hello from unisock http-serve</h1></body></html>\n";

fn main() -> ExitCode {
    let args = match cli::parse::<Args>("http-serve") {
        Ok(args) => args,
        Err(code) => return code,
    };
    let site = match (args.root, args.page) {
        (Some(root), _) => Site::Root(root),
        (None, Some(page)) => Site::Page {
            content_type: "text/plain; charset=utf-8".to_string(),
            body: page.into_bytes(),
        },
        (None, None) => Site::Page {
            content_type: "text/html; charset=utf-8".to_string(),
            body: DEFAULT_PAGE.as_bytes().to_vec(),
        },
    };
    if let Site::Root(root) = &site
        && !root.is_dir()
    {
        return cli::finish(
            "http-serve",
            Err(format!("--root {}: not a directory", root.display())),
        );
    }
    let serve = Serve {
        listen: args.listen,
        max_conns: args.max_conns,
        site,
        timeout: Duration::from_secs(args.timeout),
    };
    let result = cli::open(args.stack.backend, &args.stack.smoltcp, serve)
        .map_err(|e| e.to_string())
        .and_then(|r| r);
    cli::finish("http-serve", result)
}
