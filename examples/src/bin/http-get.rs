//! `http-get`: the tutorial's MakeConnection, put to work fetching a web page.
//!
//! ```text
//! http-get TARGET [PATH] [--timeout SECONDS] [--backend smoltcp --tap ... --dns ...]
//! ```
//! TARGET is `host[:port]` (port 80 by default) or an `http://host[:port]/path` URL; PATH, if
//! given, replaces the URL's path. Resolves the host through the chosen stack, connects
//! (`unisock::make_connection_with`, trying every address), sends an HTTP/1.1 GET with
//! `Connection: close`, and prints the response (status line, headers, blank line, body) to
//! stdout. The association of the connection goes to stderr (as `curl -v` does), so stdout is
//! exactly the response. Exits 0 on a 2xx response.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use unisock_examples::cli::{self, AppStack, Backend, StackArgs, WithStack};
use unisock_examples::http::{Url, http_get};

/// Fetch a page over HTTP/1.1 and print the response.
#[derive(Debug, clap::Parser)]
#[command(name = "http-get", version)]
struct Args {
    /// `host[:port]` or `http://host[:port]/path`.
    #[arg(value_name = "TARGET")]
    target: String,
    /// The path to request (default: the URL's, or `/`).
    #[arg(value_name = "PATH")]
    path: Option<String>,
    /// Seconds to wait for each connection attempt and for each read.
    #[arg(long, default_value_t = 30, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    timeout: u64,
    #[command(flatten)]
    stack: StackArgs,
}

struct Get {
    url: Url,
    timeout: Duration,
}

impl WithStack for Get {
    type Output = Result<(), String>;

    fn run<S: AppStack>(self, backend: Backend, stack: &S) -> Result<(), String> {
        let response = http_get(stack, &self.url, self.timeout, |assoc| {
            eprintln!("* [{backend}] connected: {assoc}");
        })
        .map_err(|e| e.to_string())?;
        let mut out = std::io::stdout().lock();
        let mut head = format!(
            "{} {} {}\r\n",
            response.version, response.status, response.reason
        );
        for (name, value) in &response.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        out.write_all(head.as_bytes())
            .and_then(|()| out.write_all(&response.body))
            .and_then(|()| out.flush())
            .map_err(|e| format!("writing the response to stdout: {e}"))?;
        if response.is_success() {
            Ok(())
        } else {
            Err(format!(
                "server answered {} {}",
                response.status, response.reason
            ))
        }
    }
}

fn main() -> ExitCode {
    let args = match cli::parse::<Args>("http-get") {
        Ok(args) => args,
        Err(code) => return code,
    };
    let result = Url::parse(&args.target, args.path.as_deref())
        .map_err(|e| format!("{:?}: {e}", args.target))
        .and_then(|url| {
            let get = Get {
                url,
                timeout: Duration::from_secs(args.timeout),
            };
            cli::open(args.stack.backend, &args.stack.smoltcp, get)
                .map_err(|e| e.to_string())
                .and_then(|r| r)
        });
    cli::finish("http-get", result)
}
