//! Helpers shared by the subprocess tests: child guards that kill and reap on drop, bounded
//! waits, free ports, and tool checks that skip (or, with `CI=true`, fail).
#![allow(dead_code)] // Each test file uses a different subset.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// The generous bound on every wait in these tests.
pub const WAIT: Duration = Duration::from_secs(30);

/// Whether a skip must fail the test (`CI=true`).
pub fn strict() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// If `tool` is not on PATH: print a notice and return false (panic under `CI=true`).
#[track_caller]
pub fn have_tool(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()));
    if !found {
        skip(&format!("`{tool}` is not installed"));
    }
    found
}

/// Whether this process is root (needed for TAP, namespaces and raw sockets).
#[track_caller]
pub fn have_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .is_some_and(|euid| euid == "0");
    if !root {
        skip("not running as root");
    }
    root
}

/// Print a skip notice; under `CI=true` a skip is a failure.
#[track_caller]
pub fn skip(why: &str) {
    if strict() {
        panic!("CI=true and this test cannot run: {why}");
    }
    eprintln!("NOTICE: skipping: {why}");
}

/// A free TCP port on 127.0.0.1 (bound with port 0, then released).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

/// A running child process: killed and reaped when dropped. Its stdout lines are collected
/// by a thread and can be waited for.
pub struct Proc {
    pub name: String,
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Option<thread::JoinHandle<String>>,
}

impl Proc {
    /// Start `cmd` with piped stdout and stderr.
    #[track_caller]
    pub fn spawn(name: &str, cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = Some(thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        }));
        Proc {
            name: name.to_string(),
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Wait (at most [`WAIT`]) for a stdout line containing `needle`; return it.
    #[track_caller]
    pub fn wait_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "{}: no line with {needle:?} within {WAIT:?}; saw {:?}",
                        self.name, self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.try_wait().ok().flatten();
                    let err = self.take_stderr();
                    panic!(
                        "{}: ended ({status:?}) without a line with {needle:?}; saw {:?}; stderr: {err}",
                        self.name, self.seen
                    )
                }
            }
        }
    }

    /// The `ADDR:PORT` after `listening on` (optionally `http://`, `udp `) in a line.
    #[track_caller]
    pub fn wait_listening(&mut self) -> SocketAddr {
        let line = self.wait_line("listening on ");
        let rest = line.split("listening on ").nth(1).unwrap_or("");
        let rest = rest
            .trim_start_matches("udp ")
            .trim_start_matches("http://");
        let addr = rest.split(['/', ' ']).next().unwrap_or("");
        addr.parse()
            .unwrap_or_else(|_| panic!("{}: cannot parse an address in {line:?}", self.name))
    }

    fn take_stderr(&mut self) -> String {
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }

    /// Wait (at most [`WAIT`]) for the process to exit; return its status, all stdout lines
    /// (including those already seen) and its stderr.
    #[track_caller]
    pub fn wait_exit(mut self) -> (ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                Ok(None) => panic!(
                    "{}: still running after {WAIT:?}; saw {:?}",
                    self.name, self.seen
                ),
                Err(e) => panic!("{}: wait failed: {e}", self.name),
            }
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        let stderr = self.take_stderr();
        (status, std::mem::take(&mut self.seen), stderr)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Kill by PID (our own child) and reap it, so no process outlives its test.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `cmd` to completion (killed after [`WAIT`]) and return its output.
#[track_caller]
pub fn run(name: &str, cmd: &mut Command) -> Output {
    let proc = Proc::spawn(name, cmd);
    let (status, lines, stderr) = proc.wait_exit();
    let mut stdout = lines.join("\n").into_bytes();
    if !stdout.is_empty() {
        stdout.push(b'\n');
    }
    Output {
        status,
        stdout,
        stderr: stderr.into_bytes(),
    }
}

/// Run `cmd` with its stdout as raw bytes (not split into lines), killed after [`WAIT`].
#[track_caller]
pub fn run_raw(name: &str, cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let guard = Reaper(Some(child));
    let status = guard.wait(name);
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

struct Reaper(Option<Child>);

impl Reaper {
    #[track_caller]
    fn wait(mut self, name: &str) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        let child = self.0.as_mut().expect("child");
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                Ok(None) => panic!("{name}: still running after {WAIT:?}"),
                Err(e) => panic!("{name}: wait failed: {e}"),
            }
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Wait (at most [`WAIT`]) until something accepts TCP connections at `addr`.
#[track_caller]
pub fn wait_port(addr: SocketAddr) {
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on {addr} after {WAIT:?}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(
            format!(
                "unisock-examples-{tag}-{}-{:?}",
                std::process::id(),
                thread::current().id()
            )
            .replace(['(', ')'], ""),
        );
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A program's stderr must be one line starting with `PROGRAM: error:`.
#[track_caller]
pub fn assert_one_error_line(program: &str, stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr).into_owned();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("* ")).collect();
    assert_eq!(
        lines.len(),
        1,
        "{program}: stderr should be one line: {text:?}"
    );
    assert!(
        lines[0].starts_with(&format!("{program}: error: ")),
        "{program}: stderr {text:?}"
    );
    lines[0].to_string()
}

/// Run `cmd` for clean-up: bounded by [`WAIT`], killed if it overruns, never panics. Returns
/// whether it exited successfully.
pub fn run_cleanup(cmd: &mut Command) -> bool {
    let Ok(child) = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let mut guard = Reaper(Some(child));
    let deadline = Instant::now() + WAIT;
    while let Some(child) = guard.0.as_mut() {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            // Overran or cannot be waited for: the guard kills and reaps it.
            _ => return false,
        }
    }
    false
}
