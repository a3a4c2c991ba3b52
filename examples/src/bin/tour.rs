//! `tour`: the classic socket tutorial, step by step, on both backends in one run.
//!
//! ```text
//! tour [--backend posix|smoltcp] [--tap NAME --ip ADDR/PREFIX ...]
//! ```
//! Runs [`unisock_examples::tour::run`] — one generic function — first on the kernel (posix,
//! over loopback), then on smoltcp (its in-process loopback device, or the TAP interface given
//! with `--tap`, using the first `--ip` address). Each step prints one line; the program exits
//! 0 only if every step behaved as documented. Needs no privileges without `--tap`.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;

use unisock_examples::cli::{self, AppStack, Backend, SmoltcpArgs, WithStack};
use unisock_examples::tour::{self, StepFailure, TourConfig};

/// Walk through the socket tutorial on each backend, checking every step.
#[derive(Debug, clap::Parser)]
#[command(name = "tour", version)]
struct Args {
    /// Run only on this backend (default: posix, then smoltcp).
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    #[command(flatten)]
    smoltcp: SmoltcpArgs,
}

#[derive(Debug, Clone)]
struct Tour {
    ip: IpAddr,
    http_host: String,
}

impl WithStack for Tour {
    type Output = Result<usize, StepFailure>;

    fn run<S: AppStack>(self, backend: Backend, stack: &S) -> Self::Output {
        let config = TourConfig {
            backend: backend.to_string(),
            ip: self.ip,
            http_host: self.http_host,
            // Urgent data is part of the kernel's TCP; smoltcp documents it as Unsupported.
            expect_urgent: backend == Backend::Posix,
        };
        tour::run(stack, &config)
    }
}

fn main() -> ExitCode {
    let args = match cli::parse::<Args>("tour") {
        Ok(args) => args,
        Err(code) => return code,
    };
    let backends = match args.backend {
        Some(b) => vec![b],
        None => vec![Backend::Posix, Backend::Smoltcp],
    };
    if args.backend == Some(Backend::Posix) && args.smoltcp != SmoltcpArgs::default() {
        return cli::finish(
            "tour",
            Err("smoltcp options (--tap, --ip, ...) given with --backend posix".to_string()),
        );
    }
    let loopback = Tour {
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        http_host: "localhost".to_string(),
    };
    let mut failures = Vec::new();
    for backend in backends {
        let (work, options) = match backend {
            Backend::Posix => (loopback.clone(), SmoltcpArgs::default()),
            Backend::Smoltcp => match args.smoltcp.ips.first() {
                // Over TAP the interface has no loopback address and `localhost` does not
                // name it, so the tour talks to the interface's own address.
                Some(p) if args.smoltcp.tap.is_some() => (
                    Tour {
                        ip: p.addr,
                        http_host: p.addr.to_string(),
                    },
                    args.smoltcp.clone(),
                ),
                _ if args.smoltcp.tap.is_some() => {
                    return cli::finish("tour", Err("--tap needs --ip ADDR/PREFIX".to_string()));
                }
                _ => (loopback.clone(), args.smoltcp.clone()),
            },
        };
        println!("== {backend} ==");
        match cli::open(backend, &options, work) {
            Ok(Ok(steps)) => println!("== {backend}: all {steps} steps behaved as documented =="),
            Ok(Err(failure)) => {
                println!("== {backend}: {failure} ==");
                failures.push(format!("{backend}: {failure}"));
            }
            Err(e) => {
                println!("== {backend}: cannot start: {e} ==");
                failures.push(format!("{backend}: {e}"));
            }
        }
    }
    let result = if failures.is_empty() {
        println!("tour: every step behaved as documented");
        Ok(())
    } else {
        Err(failures.join("; "))
    };
    cli::finish("tour", result)
}
