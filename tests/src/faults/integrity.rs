//! Stream integrity under injected faults: two smoltcp stacks joined by a [`Wire`] whose ends
//! are wrapped in [`Faulty`], in one [`World`] (virtual clock). A client connects to a server
//! through the unisock traits and sends a deterministic stream ([`Source`]); the server
//! checks it ([`Verifier`]). [`run`] returns what happened; [`Outcome::promise_kept`] is the
//! promise the tests assert: the stream arrived whole (digest equal), or an error
//! (`TimedOut`, `ConnectionReset`) was reported while what had arrived was a correct prefix,
//! all within a bounded virtual time. Never a silent mismatch, a panic or a hang.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant as WallInstant};

use smoltcp::phy::Medium;
use unisock::prelude::*;
use unisock::{StreamListener, StreamSocket};
use unisock_smoltcp::{Cidr, Config, PoolConfig, Stack};

use super::sim::World;
use super::{
    FaultConfig, FaultControl, FaultStats, Faulty, Report, Source, Verifier, Wire, WireEnd,
};

pub use super::sim::SimStack;

/// The client's address on the simulated wire. Loopback-range addresses are used although
/// nothing here reaches the operating system: the wire is two in-memory queues.
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// The server's address on the simulated wire.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
/// The server's port.
pub const SERVER_PORT: u16 = 5001;

/// One integrity run.
#[derive(Debug, Clone, Copy)]
pub struct RunConfig {
    /// Stream length in bytes.
    pub bytes: u64,
    /// Seed of the payload.
    pub payload_seed: u64,
    /// Faults of the client's end (what the client receives: ACKs).
    pub client_faults: FaultConfig,
    /// Faults of the server's end (what the server receives: data).
    pub server_faults: FaultConfig,
    /// Give up (and report a hang) after this much virtual time.
    pub virtual_limit: Duration,
    /// Give up (and report a hang) after this much wall time.
    pub wall_limit: Duration,
    /// Wire MTU (Ethernet frame size as smoltcp counts it).
    pub mtu: usize,
    /// Read and write timeout of both streams (virtual time): the application's patience.
    pub app_timeout: Duration,
}

impl RunConfig {
    /// A run of `bytes` with the same `faults` on both ends (the client's end gets a derived
    /// seed so the two schedules differ).
    pub fn symmetric(bytes: u64, faults: FaultConfig) -> RunConfig {
        let mut client = faults;
        client.seed = faults.seed.wrapping_mul(31).wrapping_add(7);
        RunConfig {
            bytes,
            payload_seed: faults.seed ^ 0x5eed,
            client_faults: client,
            server_faults: faults,
            virtual_limit: Duration::from_secs(6 * 3600),
            wall_limit: Duration::from_secs(120),
            mtu: 1514,
            app_timeout: Duration::from_secs(300),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The whole stream and the end of stream arrived.
    Complete,
    /// A socket call failed with this kind (on the side named).
    Error(&'static str, ErrorKind),
    /// The virtual-time limit passed.
    VirtualTimeout,
    /// The wall-time limit passed.
    WallTimeout,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The run's configuration.
    pub config: RunConfig,
    /// How it ended.
    pub end: End,
    /// The receiver's check.
    pub report: Report,
    /// Virtual time from the start (before the connect) to the end of the transfer: the
    /// server's end of stream, or the error or limit that ended it.
    pub transfer_time: Duration,
    /// Virtual time taken, including letting the closing connections drain afterwards.
    pub virtual_time: Duration,
    /// Wall time taken.
    pub wall_time: Duration,
    /// The client end's counters.
    pub client: FaultStats,
    /// The server end's counters.
    pub server: FaultStats,
    /// Sockets still open on both stacks after everything was dropped and the closing
    /// connections were given bounded virtual time (must be 0).
    pub open_after: usize,
}

impl Outcome {
    /// The promise: intact, or a reported `TimedOut`/`ConnectionReset` with a correct prefix;
    /// and no socket left behind.
    pub fn promise_kept(&self) -> bool {
        if self.open_after != 0 {
            return false;
        }
        match &self.end {
            End::Complete => self.report.intact(),
            End::Error(_, ErrorKind::TimedOut | ErrorKind::ConnectionReset) => {
                self.report.clean_prefix()
            }
            _ => false,
        }
    }

    /// Retransmitted segments seen on the wire (both directions).
    pub fn retransmissions(&self) -> u64 {
        self.client.tx_retransmissions + self.server.tx_retransmissions
    }

    /// The table header matching [`Display`](fmt::Display).
    pub fn header() -> &'static str {
        "bytes     seed  drop corr dup reord delay  mtu  | digest   end                 \
         virtual     wall    | faults  retx   frames"
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config.server_faults;
        let end = match &self.end {
            End::Complete => "complete".to_string(),
            End::Error(side, k) => format!("{side}: {k:?}"),
            End::VirtualTimeout => "VIRTUAL TIMEOUT".to_string(),
            End::WallTimeout => "WALL TIMEOUT".to_string(),
        };
        let digest = if self.report.intact() {
            "match"
        } else if self.report.clean_prefix() {
            "prefix"
        } else {
            "MISMATCH"
        };
        write!(
            f,
            "{:<9} {:<5} {:>3}% {:>3}% {:>2}% {:>3}% {:>4}ms {:>5} | {:<8} {:<19} {:>9.1}s {:>7.2}s | {:>6} {:>6} {:>7}",
            self.config.bytes,
            c.seed,
            c.drop_pct,
            c.corrupt_pct,
            c.duplicate_pct,
            c.reorder_pct,
            c.delay.as_millis(),
            c.mtu.unwrap_or(self.config.mtu),
            digest,
            end,
            self.virtual_time.as_secs_f64(),
            self.wall_time.as_secs_f64(),
            self.client.faults() + self.server.faults(),
            self.retransmissions(),
            self.client.received + self.server.received,
        )?;
        if !c.verify_checksums {
            f.write_str("  (checksums off)")?;
        }
        if self.open_after != 0 {
            write!(f, "  ({} SOCKETS LEFT)", self.open_after)?;
        }
        Ok(())
    }
}

fn stack(
    world: &World,
    end: WireEnd,
    faults: FaultConfig,
    ip: Ipv4Addr,
    mac: [u8; 6],
) -> (Rc<SimStack>, FaultControl) {
    let dev = Faulty::new(end, faults);
    let control = dev.control();
    let config = Config::new()
        .with_address(Cidr::new(IpAddr::V4(ip), 8).expect("cidr"))
        .expect("address")
        .with_mac(mac)
        .with_pool(PoolConfig {
            tcp: 4,
            ..PoolConfig::DEFAULT
        })
        .with_random_seed(faults.seed);
    let s = Rc::new(
        Stack::new_alloc(dev, world.clock(), world.waiter(), &config).expect("smoltcp stack"),
    );
    world.add(&s);
    world.add_wire(control.clone());
    (s, control)
}

/// Run one transfer (see the [module docs](self)). Panics only on harness set-up failures.
pub fn run(config: &RunConfig) -> Outcome {
    let wall = WallInstant::now();
    let world = World::new();
    let (a, b) = Wire::pair(Medium::Ethernet, config.mtu);
    let (server, server_ctl) = stack(
        &world,
        a,
        config.server_faults,
        SERVER_IP,
        [2, 0, 0, 0, 0, 1],
    );
    let (client, client_ctl) = stack(
        &world,
        b,
        config.client_faults,
        CLIENT_IP,
        [2, 0, 0, 0, 0, 2],
    );
    let mut verifier = Verifier::new(config.payload_seed, config.bytes);
    let mut source = Source::new(config.payload_seed, config.bytes);
    let end = transfer(
        &world,
        &server,
        &client,
        config,
        &mut source,
        &mut verifier,
        wall,
    );
    let transfer_time = world.elapsed();
    // Let closing connections finish so the pools drain (bounded: orphans are aborted after
    // `unisock_smoltcp::ORPHAN_LIMIT`).
    let drain_until = world.elapsed() + Duration::from_secs(300);
    for _ in 0..1_000_000 {
        if server.open_sockets() + client.open_sockets() == 0 || world.elapsed() > drain_until {
            break;
        }
        world.step(Some(Duration::from_secs(1)));
    }
    Outcome {
        config: *config,
        end,
        report: verifier.finish(source.digest()),
        transfer_time,
        virtual_time: world.elapsed(),
        wall_time: wall.elapsed(),
        client: client_ctl.stats(),
        server: server_ctl.stats(),
        open_after: server.open_sockets() + client.open_sockets(),
    }
}

fn transfer(
    world: &World,
    server: &SimStack,
    client: &SimStack,
    config: &RunConfig,
    source: &mut Source,
    verifier: &mut Verifier,
    wall: WallInstant,
) -> End {
    let (s, c) = (server, client);
    let at = SocketAddr::new(SERVER_IP.into(), SERVER_PORT);
    let mut listener = match s.listen(at, 1) {
        Ok(l) => l,
        Err(e) => return End::Error("server listen", e.kind()),
    };
    // The blocking connect drives the whole world through SimWait; the connect timeout bounds
    // it in virtual time.
    let mut tx = match c.connect_timeout(at, Duration::from_secs(600)) {
        Ok(t) => t,
        Err(e) => return End::Error("client connect", e.kind()),
    };
    let mut rx = loop {
        match listener.try_accept() {
            Ok((conn, _)) => break conn,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return End::Error("server accept", e.kind()),
        }
        if let Some(end) = limits(world, config, wall) {
            return end;
        }
        world.step(None);
    };
    drop(listener);
    // An application's timeouts (virtual time): a blocking call that cannot progress for this
    // long fails with TimedOut, which is how a stalled transfer is reported.
    for (side, stream) in [("client", &mut tx), ("server", &mut rx)] {
        for opt in [
            SockOpt::ReadTimeout(Some(config.app_timeout)),
            SockOpt::WriteTimeout(Some(config.app_timeout)),
        ] {
            if let Err(e) = stream.set_option(opt) {
                return End::Error(
                    if side == "client" {
                        "client option"
                    } else {
                        "server option"
                    },
                    e.kind(),
                );
            }
        }
    }
    let mut buf = vec![0u8; 16 * 1024];
    let mut shut = false;
    loop {
        // Drain what the server can read now, so its window is open for everything the
        // client's send buffer holds (the buffers are the same size): the client's blocking
        // write can then always progress without the server application reading.
        loop {
            match rx.try_read(&mut buf) {
                Ok(0) => return End::Complete,
                Ok(n) => verifier.feed(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return End::Error("server read", e.kind()),
            }
        }
        if !source.done() {
            match tx.write(source.pending()) {
                Ok(n) => source.consume(n),
                Err(e) => return End::Error("client write", e.kind()),
            }
        } else {
            if !shut {
                if let Err(e) = tx.shutdown(Shutdown::Write) {
                    return End::Error("client shutdown", e.kind());
                }
                shut = true;
            }
            match rx.read(&mut buf) {
                Ok(0) => return End::Complete,
                Ok(n) => verifier.feed(&buf[..n]),
                Err(e) => return End::Error("server read", e.kind()),
            }
        }
        if let Some(end) = limits(world, config, wall) {
            if std::env::var("INTEGRITY_DEBUG").is_ok() {
                eprintln!(
                    "at the limit: client {:?} server {:?}, sent {} received {}, delays {:?}/{:?}",
                    tx.state(),
                    rx.state(),
                    source.sent(),
                    verifier.received(),
                    c.poll_delay(),
                    s.poll_delay(),
                );
            }
            return end;
        }
    }
}

fn limits(world: &World, config: &RunConfig, wall: WallInstant) -> Option<End> {
    if world.elapsed() > config.virtual_limit {
        Some(End::VirtualTimeout)
    } else if wall.elapsed() > config.wall_limit {
        Some(End::WallTimeout)
    } else {
        None
    }
}
