//! `ping`: ICMP echo over a raw socket, on either backend, printing like ping(8).
//!
//! ```text
//! ping HOST [-c COUNT] [-i INTERVAL] [-W TIMEOUT] [-s SIZE] [--backend smoltcp --tap ...]
//! ```
//! Needs CAP_NET_RAW on the posix backend (a raw socket). Exits non-zero if no reply came.

use std::process::ExitCode;
use std::time::Duration;

use unisock_examples::cli::{self, AppStack, Backend, StackArgs, WithStack, describe};
use unisock_examples::ping::{PingConfig, open_raw, ping_with};

/// Send ICMP echo requests and report the replies.
#[derive(Debug, clap::Parser)]
#[command(name = "ping", version)]
struct Args {
    /// Host name or IP address to ping (a name is resolved through the chosen stack).
    #[arg(value_name = "HOST")]
    host: String,
    /// Echo requests to send.
    #[arg(short = 'c', default_value_t = 4, value_name = "COUNT",
          value_parser = clap::value_parser!(u32).range(1..=65535))]
    count: u32,
    /// Seconds between requests.
    #[arg(short = 'i', default_value_t = 1.0, value_name = "INTERVAL")]
    interval: f64,
    /// Seconds to wait for replies after the last request.
    #[arg(short = 'W', default_value_t = 2.0, value_name = "TIMEOUT")]
    timeout: f64,
    /// Data bytes per request (after the 8-byte ICMP header).
    #[arg(short = 's', default_value_t = 56, value_name = "SIZE",
          value_parser = clap::value_parser!(u16).range(0..=65000))]
    size: u16,
    #[command(flatten)]
    stack: StackArgs,
}

struct Ping {
    host: String,
    config: PingConfig,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl WithStack for Ping {
    type Output = Result<(), String>;

    fn run<S: AppStack>(self, backend: Backend, stack: &S) -> Result<(), String> {
        let ip = match self.host.parse() {
            Ok(ip) => ip,
            Err(_) => *stack
                .resolve(&self.host)
                .map_err(|e| format!("cannot resolve {:?}: {}", self.host, describe(&e)))?
                .first()
                .ok_or_else(|| format!("{:?} has no address", self.host))?,
        };
        let mut raw =
            open_raw(stack, ip).map_err(|e| format!("raw ICMP socket: {}", describe(&e)))?;
        let ip_header = if ip.is_ipv4() { 20 } else { 40 };
        println!(
            "[{backend}] PING {} ({ip}) {}({}) bytes of data.",
            self.host,
            self.config.payload_len,
            self.config.payload_len + 8 + ip_header
        );
        let stats = ping_with(&mut raw, ip, &self.config, |reply, duplicate| {
            let ttl = reply.ttl.map(|t| format!(" ttl={t}")).unwrap_or_default();
            let dup = if duplicate { " (DUP!)" } else { "" };
            println!(
                "{} bytes from {}: icmp_seq={}{ttl} time={:.3} ms{dup}",
                reply.icmp_len,
                reply.from,
                reply.seq,
                ms(reply.rtt)
            );
        })
        .map_err(|e| format!("ICMP: {}", describe(&e)))?;
        println!();
        println!("--- {} ping statistics ---", self.host);
        println!(
            "{} packets transmitted, {} received, {:.0}% packet loss",
            stats.transmitted,
            stats.received,
            stats.loss_percent()
        );
        if let (Some(min), Some(avg), Some(max)) = (stats.min, stats.avg(), stats.max) {
            println!(
                "rtt min/avg/max = {:.3}/{:.3}/{:.3} ms",
                ms(min),
                ms(avg),
                ms(max)
            );
        }
        if stats.received == 0 {
            return Err(format!("no reply from {ip}"));
        }
        Ok(())
    }
}

fn seconds(name: &str, value: f64) -> Result<Duration, String> {
    if value.is_finite() && value > 0.0 && value < 1e6 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(format!(
            "{name} must be a positive number of seconds, not {value}"
        ))
    }
}

fn main() -> ExitCode {
    let args = match cli::parse::<Args>("ping") {
        Ok(args) => args,
        Err(code) => return code,
    };
    let result = seconds("-i", args.interval)
        .and_then(|interval| Ok((interval, seconds("-W", args.timeout)?)))
        .and_then(|(interval, timeout)| {
            let work = Ping {
                host: args.host,
                config: PingConfig {
                    count: args.count,
                    interval,
                    timeout,
                    payload_len: usize::from(args.size),
                    ident: (std::process::id() & 0xffff) as u16,
                },
            };
            cli::open(args.stack.backend, &args.stack.smoltcp, work)
                .map_err(|e| e.to_string())
                .and_then(|r| r)
        });
    cli::finish("ping", result)
}
