//! `udp-send`: sends one datagram and waits for its echo.
//!
//! ```text
//! udp-send HOST:PORT MESSAGE... [--timeout SECONDS] [--backend smoltcp --tap ...]
//! ```
//! Sends the MESSAGE words joined by spaces as one datagram, prints the association, waits
//! (at most `--timeout` seconds) for a datagram from the destination and prints it. Exits
//! non-zero if none arrives or if it differs from what was sent.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use unisock::{
    Association, DatagramSocket, Error as _, ErrorKind, Protocol, RecvFlags, SendFlags, SockOpt,
    Socket,
};
use unisock_examples::cli::{self, AppStack, Backend, StackArgs, WithStack, describe};

/// Send a UDP datagram and print the echo.
#[derive(Debug, clap::Parser)]
#[command(name = "udp-send", version)]
struct Args {
    /// Destination (`host:port`; a host name is resolved through the chosen stack).
    #[arg(value_name = "HOST:PORT")]
    target: String,
    /// The message (several words are joined with spaces).
    #[arg(value_name = "MESSAGE", required = true)]
    message: Vec<String>,
    /// Seconds to wait for the echo.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    timeout: f64,
    #[command(flatten)]
    stack: StackArgs,
}

struct Send {
    target: String,
    message: String,
    timeout: Duration,
}

impl WithStack for Send {
    type Output = Result<(), String>;

    fn run<S: AppStack>(self, backend: Backend, stack: &S) -> Result<(), String> {
        let to = cli::resolve_all(stack, &self.target, None)?
            .into_iter()
            .next()
            .ok_or_else(|| format!("{} has no address", self.target))?;
        let any: IpAddr = match to {
            SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        let mut socket = stack
            .bind_udp(SocketAddr::new(any, 0))
            .map_err(|e| format!("bind: {}", describe(&e)))?;
        let sent = socket
            .send_to(self.message.as_bytes(), to, SendFlags::NONE)
            .map_err(|e| format!("send_to {to}: {}", describe(&e)))?;
        let local = socket
            .local_addr()
            .map_err(|e| format!("local_addr: {}", describe(&e)))?;
        let assoc = Association::new(Protocol::UDP, local, to);
        println!("[{backend}] {assoc}: sent {sent} bytes");
        let deadline = Instant::now() + self.timeout;
        let mut buf = vec![0u8; 65536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < Duration::from_millis(1) {
                return Err(format!("no echo from {to} within {:?}", self.timeout));
            }
            socket
                .set_option(SockOpt::ReadTimeout(Some(left)))
                .map_err(|e| format!("set read timeout: {}", describe(&e)))?;
            let meta = match socket.recv_from(&mut buf, RecvFlags::NONE) {
                Ok(meta) => meta,
                Err(e)
                    if matches!(e.socket_kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) =>
                {
                    return Err(format!("no echo from {to} within {:?}", self.timeout));
                }
                Err(e) => return Err(format!("recv_from: {}", describe(&e))),
            };
            if meta.from != to {
                println!("[{backend}] ignoring {} bytes from {}", meta.len, meta.from);
                continue;
            }
            let echo = buf.get(..meta.len).unwrap_or_default();
            println!(
                "[{backend}] echo from {}: {}",
                meta.from,
                String::from_utf8_lossy(echo)
            );
            if echo != self.message.as_bytes() || meta.truncated() {
                return Err(format!(
                    "echo differs from the message ({} bytes back, {sent} sent)",
                    meta.full_len
                ));
            }
            return Ok(());
        }
    }
}

fn main() -> ExitCode {
    let args = match cli::parse::<Args>("udp-send") {
        Ok(args) => args,
        Err(code) => return code,
    };
    let result = if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout < 1e6) {
        Err(format!(
            "--timeout must be a positive number of seconds, not {}",
            args.timeout
        ))
    } else {
        let send = Send {
            target: args.target,
            message: args.message.join(" "),
            timeout: Duration::from_secs_f64(args.timeout),
        };
        cli::open(args.stack.backend, &args.stack.smoltcp, send)
            .map_err(|e| e.to_string())
            .and_then(|r| r)
    };
    cli::finish("udp-send", result)
}
