//! The command-line options every program shares, and building the chosen stack from them.
//!
//! Every program takes `--backend posix|smoltcp`. The smoltcp backend also takes
//! `--tap NAME` (open, or create, the TAP interface NAME), `--ip ADDR/PREFIX` (repeatable, IPv4
//! and/or IPv6), `--gateway ADDR` (repeatable, one per family), `--dns ADDR` (repeatable),
//! `--mtu N` and `--pcap FILE` (capture every frame). Without `--tap` the smoltcp backend runs
//! on its in-process loopback device, which only reaches itself. These options are refused
//! with `--backend posix`, which uses the kernel's own interfaces.
//!
//! A program's work is written once as a [`WithStack`] implementation, generic over
//! [`AppStack`]; [`open`] builds the stack the options name and runs it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use unisock::resolve::{Host, parse_target};
use unisock::{ErrorKind, Stack, TargetError};

/// The stack a program runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Backend {
    /// The Linux kernel's TCP/IP stack (`unisock-posix`).
    Posix,
    /// The smoltcp userspace stack (`unisock-smoltcp`), on TAP or on its in-process loopback.
    Smoltcp,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Posix => "posix",
            Backend::Smoltcp => "smoltcp",
        })
    }
}

/// An address with a prefix length, as `--ip` takes it (`10.7.0.2/24`, `fd00::2/64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix_len: u8,
}

impl FromStr for IpPrefix {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, len) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not ADDR/PREFIX (e.g. 10.7.0.2/24)"))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{addr:?} is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = len
            .parse::<u8>()
            .ok()
            .filter(|&l| l <= max)
            .ok_or_else(|| format!("prefix length {len:?} is not a number from 0 to {max}"))?;
        Ok(IpPrefix { addr, prefix_len })
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// Options of the smoltcp backend.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "smoltcp backend options")]
pub struct SmoltcpArgs {
    /// Run over the TAP interface NAME (created if it does not exist; needs CAP_NET_ADMIN).
    /// Without it, smoltcp uses its in-process loopback device.
    #[arg(long, value_name = "NAME")]
    pub tap: Option<String>,
    /// An address of the smoltcp interface, with its prefix (repeatable; IPv4 and/or IPv6).
    #[arg(long = "ip", value_name = "ADDR/PREFIX")]
    pub ips: Vec<IpPrefix>,
    /// Default gateway (repeatable: one IPv4 and one IPv6).
    #[arg(long = "gateway", value_name = "ADDR")]
    pub gateways: Vec<IpAddr>,
    /// DNS server for host names (repeatable).
    #[arg(long = "dns", value_name = "ADDR")]
    pub dns: Vec<IpAddr>,
    /// MTU in bytes (IP packet size) of the TAP interface, or of the in-process loopback
    /// device (1280 to 65535).
    #[arg(long, value_name = "N")]
    pub mtu: Option<usize>,
    /// Write every frame sent and received to FILE (pcap format, readable by tshark).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
}

impl SmoltcpArgs {
    /// The first option given, for the error when they are used with another backend.
    pub(crate) fn first_given(&self) -> Option<&'static str> {
        if self.tap.is_some() {
            Some("--tap")
        } else if !self.ips.is_empty() {
            Some("--ip")
        } else if !self.gateways.is_empty() {
            Some("--gateway")
        } else if !self.dns.is_empty() {
            Some("--dns")
        } else if self.mtu.is_some() {
            Some("--mtu")
        } else if self.pcap.is_some() {
            Some("--pcap")
        } else {
            None
        }
    }
}

/// `--backend` and the smoltcp options, for programs that run on one backend.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct StackArgs {
    /// The network stack to use.
    #[arg(long, value_enum, default_value_t = Backend::Posix)]
    pub backend: Backend,
    /// Options of the smoltcp backend.
    #[command(flatten)]
    pub smoltcp: SmoltcpArgs,
}

/// What the programs need of a stack beyond [`Stack`]: errors that print, and sockets that
/// can move to a worker thread (one thread per connection). Both backends qualify.
pub trait AppStack:
    Stack<
        Error: fmt::Display + Send + 'static,
        TcpStream: Send,
        TcpListener: Send,
        UdpSocket: Send,
        RawSocket: Send,
    > + Sync
{
}

impl<T> AppStack for T where
    T: Stack<
            Error: fmt::Display + Send + 'static,
            TcpStream: Send,
            TcpListener: Send,
            UdpSocket: Send,
            RawSocket: Send,
        > + Sync
{
}

/// A program's work, written once for every stack.
pub trait WithStack {
    /// What the work returns.
    type Output;

    /// Do the work on `stack` (of backend `backend`).
    fn run<S: AppStack>(self, backend: Backend, stack: &S) -> Self::Output;
}

/// Why a stack could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError(pub String);

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

/// Build the stack `backend` names (with `smoltcp`'s options) and run `work` on it.
pub fn open<W: WithStack>(
    backend: Backend,
    smoltcp: &SmoltcpArgs,
    work: W,
) -> Result<W::Output, SetupError> {
    match backend {
        Backend::Posix => {
            if let Some(option) = smoltcp.first_given() {
                return Err(SetupError(format!(
                    "{option} only applies to --backend smoltcp (the posix backend uses the kernel's interfaces)"
                )));
            }
            let stack = unisock_posix::PosixStack;
            Ok(work.run(Backend::Posix, &stack))
        }
        Backend::Smoltcp => smoltcp_stack::open(smoltcp, work),
    }
}

pub(crate) use smoltcp_stack::{Built as SmoltcpBuilt, build as build_smoltcp};

mod smoltcp_stack {
    use unisock_smoltcp::{
        Cidr, Config, LoopbackOptions, LoopbackStack, StdStack, TapOptions, TapStack,
    };

    use super::{Backend, SetupError, SmoltcpArgs, WithStack};

    fn setup(what: &str) -> impl Fn(unisock_smoltcp::Error) -> SetupError + '_ {
        move |e| SetupError(format!("{what}: {e} [{:?}]", e.kind()))
    }

    fn cidrs(args: &SmoltcpArgs) -> Result<Vec<Cidr>, SetupError> {
        args.ips
            .iter()
            .map(|p| Cidr::new(p.addr, p.prefix_len).map_err(setup("--ip")))
            .collect()
    }

    fn check_gateways(args: &SmoltcpArgs) -> Result<(), SetupError> {
        let v4 = args.gateways.iter().filter(|g| g.is_ipv4()).count();
        let v6 = args.gateways.iter().filter(|g| g.is_ipv6()).count();
        if v4 > 1 || v6 > 1 {
            return Err(SetupError(
                "--gateway: at most one IPv4 and one IPv6 gateway".to_string(),
            ));
        }
        Ok(())
    }

    /// A smoltcp stack as the options name it: over TAP, or on the in-process loopback.
    pub(crate) enum Built {
        /// `--tap NAME`.
        Tap(TapStack),
        /// The in-process loopback device.
        Loopback(LoopbackStack),
    }

    /// Build the smoltcp stack the options name (it starts its driver thread).
    pub(crate) fn build(args: &SmoltcpArgs) -> Result<Built, SetupError> {
        check_gateways(args)?;
        let ips = cidrs(args)?;
        match &args.tap {
            Some(name) => {
                if ips.is_empty() {
                    return Err(SetupError(format!(
                        "--tap {name} needs the stack's address: --ip ADDR/PREFIX"
                    )));
                }
                let options = TapOptions {
                    name: name.clone(),
                    ips,
                    gateway: args.gateways.clone(),
                    dns: args.dns.clone(),
                    mtu: args.mtu,
                    pcap: args.pcap.clone(),
                    ..TapOptions::default()
                };
                StdStack::tap(options)
                    .map(Built::Tap)
                    .map_err(setup(&format!("opening TAP interface {name}")))
            }
            None => {
                let mut config = Config::loopback();
                for ip in ips {
                    config = config.with_address(ip).map_err(setup("--ip"))?;
                }
                for gateway in &args.gateways {
                    config = config.with_gateway(*gateway);
                }
                for dns in &args.dns {
                    config = config.with_dns_server(*dns).map_err(setup("--dns"))?;
                }
                let mut options = LoopbackOptions {
                    config,
                    pcap: args.pcap.clone(),
                    ..LoopbackOptions::default()
                };
                if let Some(mtu) = args.mtu {
                    options.mtu = mtu;
                }
                StdStack::loopback_with(options)
                    .map(Built::Loopback)
                    .map_err(setup("starting the in-process loopback stack"))
            }
        }
    }

    pub(super) fn open<W: WithStack>(args: &SmoltcpArgs, work: W) -> Result<W::Output, SetupError> {
        Ok(match build(args)? {
            Built::Tap(net) => work.run(Backend::Smoltcp, &net.stack()),
            Built::Loopback(net) => work.run(Backend::Smoltcp, &net.stack()),
        })
    }
}

/// Resolve `host[:port]` (port required unless `default_port` is given) through `stack`:
/// every address the host has, each with the port.
pub fn resolve_all<S: Stack>(
    stack: &S,
    target: &str,
    default_port: Option<u16>,
) -> Result<Vec<SocketAddr>, String>
where
    S::Error: fmt::Display,
{
    // With no default, port 0 stands in for "none given", which parse_target rejects.
    let parsed = parse_target(target, default_port.unwrap_or(0)).map_err(|e| match e {
        TargetError::ZeroPort => format!("{target:?} needs a nonzero port (HOST:PORT)"),
        e => format!("bad address {target:?}: {e}"),
    })?;
    let ips: Vec<IpAddr> = match parsed.host {
        Host::Ip(ip) => vec![ip],
        Host::Name(name) => stack
            .resolve(name)
            .map_err(|e| format!("cannot resolve {name:?}: {}", describe(&e)))?
            .into_iter()
            .collect(),
    };
    if ips.is_empty() {
        return Err(format!("{target:?} has no address"));
    }
    Ok(ips
        .into_iter()
        .map(|ip| SocketAddr::new(ip, parsed.port))
        .collect())
}

/// One-line description of a backend error: its message and, in brackets, its
/// [`ErrorKind`].
pub fn describe<E: unisock::Error + fmt::Display>(e: &E) -> String {
    format!("{} [{:?}]", e, e.socket_kind())
}

/// Whether an `accept` failure concerns only the one connection being accepted (the client
/// reset or gave up before it was accepted), so a server should report it and go on.
pub fn is_transient_accept_error<E: unisock::Error>(e: &E) -> bool {
    matches!(
        e.socket_kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
    )
}

/// Parse the command line of `program`. `--help` and `--version` print and exit 0; any other
/// problem is one line on stderr (`PROGRAM: error: ...`) and exit status 2, as for usage
/// errors.
pub fn parse<T: clap::Parser>(program: &str) -> Result<T, ExitCode> {
    use clap::error::ErrorKind as Clap;
    match T::try_parse() {
        Ok(args) => Ok(args),
        Err(e) if matches!(e.kind(), Clap::DisplayHelp | Clap::DisplayVersion) => {
            // Printing can only fail if stdout is gone; there is nothing left to tell then.
            let _ = e.print();
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!(
                "{program}: error: {} (see --help)",
                one_line(&e.to_string())
            );
            Err(ExitCode::from(2))
        }
    }
}

/// clap's message up to its usage section, on one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .to_string()
}

/// Report a program's outcome: `Ok` exits 0; `Err` prints `PROGRAM: MESSAGE` as one line on
/// stderr and exits 1.
pub fn finish(program: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{program}: error: {}", message.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_prefixes_parse_and_reject() {
        let p: IpPrefix = "10.7.0.2/24".parse().unwrap();
        assert_eq!((p.addr, p.prefix_len), ("10.7.0.2".parse().unwrap(), 24));
        assert_eq!(p.to_string(), "10.7.0.2/24");
        assert!("fd00::2/64".parse::<IpPrefix>().is_ok());
        assert!("10.7.0.2".parse::<IpPrefix>().is_err());
        assert!("10.7.0.2/33".parse::<IpPrefix>().is_err());
        assert!("fd00::2/129".parse::<IpPrefix>().is_err());
        assert!("nope/8".parse::<IpPrefix>().is_err());
    }

    #[test]
    fn clap_errors_become_one_line() {
        let message = "error: the following required arguments were not provided:\n  --listen <ADDR:PORT>\n\nUsage: echo-server --listen <ADDR:PORT>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(message),
            "the following required arguments were not provided: --listen <ADDR:PORT>"
        );
    }
}
