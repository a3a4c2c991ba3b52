//! Shared by the MQTT tests: finding mosquitto, starting it on an address with a private
//! configuration, child processes killed by PID on drop, free ports.
#![allow(dead_code)] // Each test file uses a different subset.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use unisock_conformance::util::skip;

/// The bound on every wait.
pub const LIMIT: Duration = Duration::from_secs(20);

/// The path of `tool` on PATH or in the sbin directories (mosquitto lives in /usr/sbin).
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// The three programs, or a skip notice (a failure under `CI=true`).
pub fn tools() -> Option<[PathBuf; 3]> {
    let found = ["mosquitto", "mosquitto_sub", "mosquitto_pub"].map(find_tool);
    match found {
        [Some(a), Some(b), Some(c)] => Some([a, b, c]),
        _ => {
            skip(
                "mosquitto and mosquitto-clients are not installed \
                 (apt-get install mosquitto mosquitto-clients)",
            );
            None
        }
    }
}

/// A child process killed by PID and reaped when dropped; its stdout lines arrive on a
/// channel.
pub struct Proc {
    name: &'static str,
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    #[track_caller]
    pub fn spawn(name: &'static str, cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc { name, child, lines }
    }

    /// Wait (bounded) for a stdout line containing `needle`.
    #[track_caller]
    pub fn wait_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + LIMIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => seen.push(line),
                Err(e) => panic!(
                    "{}: no line with {needle:?} within {LIMIT:?} ({e}); saw {seen:?}; exit: {:?}",
                    self.name,
                    self.child.try_wait()
                ),
            }
        }
    }

    /// Wait (bounded) for the process to exit successfully.
    #[track_caller]
    pub fn wait_success(&mut self) {
        let deadline = Instant::now() + LIMIT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    assert!(status.success(), "{} failed: {status}", self.name);
                    return;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(None) => panic!("{} still running after {LIMIT:?}", self.name),
                Err(e) => panic!("{}: wait failed: {e}", self.name),
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Our own child, by PID; then reap it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// mosquitto on `at`, with its configuration in a private temporary directory (removed on
/// drop, after the broker is killed).
pub struct Mosquitto {
    proc: Option<Proc>,
    dir: PathBuf,
}

impl Mosquitto {
    #[track_caller]
    pub fn start(binary: &Path, at: SocketAddr) -> Mosquitto {
        let dir = std::env::temp_dir().join(format!(
            "unisock-nal-mqtt-{}-{}-{}",
            std::process::id(),
            at.ip(),
            at.port()
        ));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {} {}\nallow_anonymous true\npersistence false\nlog_dest stdout\n\
                 log_type error\nlog_type warning\nlog_type notice\n",
                at.port(),
                at.ip()
            ),
        )
        .expect("write mosquitto.conf");
        let proc = Proc::spawn("mosquitto", Command::new(binary).arg("-c").arg(&conf));
        let broker = Mosquitto {
            proc: Some(proc),
            dir,
        };
        // Ready once it accepts connections (bounded).
        let deadline = Instant::now() + LIMIT;
        while TcpStream::connect_timeout(&at, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto does not accept connections on {at} after {LIMIT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        broker
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        drop(self.proc.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free TCP port on `ip` (bound with port 0, then released).
pub fn free_port(ip: IpAddr) -> u16 {
    let l = TcpListener::bind(SocketAddr::new(ip, 0)).expect("bind port 0");
    l.local_addr().expect("local_addr").port()
}
