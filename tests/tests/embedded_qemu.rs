//! The embedded proof: unisock's firmware for a Cortex-M4F, run on QEMU's `mps2-an386`.
//!
//! The test builds the firmware workspace (`examples/firmware`, target `thumbv7em-none-eabihf`),
//! then:
//! - boots the no-NIC `loopback` firmware (client and server over the in-firmware loopback
//!   device, 64 KiB verified) and requires exit status 0;
//! - for the `nic` firmware (the shared `unisock-examples` echo server and client over
//!   `unisock-smoltcp` and the LAN9118 driver) and the `direct` firmware (the same job written
//!   straight against smoltcp, the size baseline): in a network namespace made for the test
//!   (`unshare(CLONE_NEWNET)` in a fresh thread), creates a TAP device `10.42.0.1/24`, boots
//!   QEMU on it, and from the host side requires that `ping 10.42.0.2` gets replies, that a 64 KiB
//!   echo over TCP port 7 comes back identical, that the firmware's own connection reaches a
//!   listener on `10.42.0.1:4242` with the expected message, and that QEMU exits with status 0.
//!
//! - for the `clients` firmware (issue 12: minimq 0.10 and an HTTP GET through `unisock-nal`'s
//!   embedded-nal adapter over `unisock-smoltcp`): in a new namespace with the TAP, starts
//!   mosquitto on `10.42.0.1:1883`, a `mosquitto_sub` on the firmware's topic and Python's
//!   `http.server` on `10.42.0.1:8080` serving a 64 KiB page, boots the firmware, and requires
//!   that `mosquitto_sub` receives the firmware's message, that the firmware reports the page's
//!   length and FNV-1a hash as computed here, and that QEMU exits 0; the same for `aclients`
//!   (package `embassy-firmware`: rust-mqtt 0.6 and reqwless 0.14 over unisock-smoltcp's async
//!   API, through `unisock-nal`'s embedded-nal-async adapter for reqwless);
//! - for the `ahttpd` firmware (issue 12's server side: edge-http 0.8's server over
//!   `unisock-nal`'s edge-nal adapter, package `embassy-firmware`): in a new namespace with the
//!   TAP, `curl` fetches a greeting, a 256 KiB page (SHA-256 checked) and a missing page on two
//!   connections at once, then `/quit`, after which the firmware must have no socket open and
//!   exit 0;
//! - for the `ascen` firmware (issue 10, package `async-scenarios-firmware`): every scenario of
//!   the async conformance suite (`tests/src/async_scenarios.rs`, included by path) on
//!   unisock-smoltcp's async API over the LAN9118 under embassy-executor, each reported `ok`
//!   after its timeout bound and leak check, then exit 0.
//!
//! Needs root (namespaces, TAP) and `qemu-system-arm` (the `clients` test also mosquitto,
//! mosquitto-clients and python3). Without either the tests skip with a
//! notice (`util::skip`), unless `CI=true`, where a skip is a failure. Every wait is bounded; QEMU is killed
//! by its PID when a bound passes. No packet leaves the namespace.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use unisock_conformance::netns::{enter_private_netns, ip};
use unisock_conformance::util::{is_root, skip};

/// mosquitto and its clients, started and killed by PID (shared with unisock-nal's MQTT tests).
#[path = "../../nal/tests/mosquitto/mod.rs"]
mod mosquitto;

/// The firmware's address and the host's TAP address (see `mps2_board::net`).
const DEVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 42, 0, 2);
const HOST_CIDR: &str = "10.42.0.1/24";
const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 42, 0, 1);
const ECHO_PORT: u16 = 7;
const REPORT_PORT: u16 = 4242;
/// Bytes sent through the firmware's echo server.
const ECHO_BYTES: usize = 64 * 1024;
/// The line the firmware prints once its interface is up.
const READY: &str = "READY";

/// Generous bounds: none of them is a speed assertion.
const BUILD_LIMIT: Duration = Duration::from_secs(900);
const BOOT_LIMIT: Duration = Duration::from_secs(60);
const IO_LIMIT: Duration = Duration::from_secs(60);
const RUN_LIMIT: Duration = Duration::from_secs(180);

fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/firmware")
}

fn binary(name: &str) -> PathBuf {
    firmware_dir()
        .join("target/thumbv7em-none-eabihf/release")
        .join(name)
}

/// Why the test cannot run here, if it cannot.
fn missing_prerequisite(needs_root: bool) -> Option<String> {
    let qemu = Command::new("qemu-system-arm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !qemu.is_ok_and(|s| s.success()) {
        return Some("qemu-system-arm is not installed (apt-get install qemu-system-arm)".into());
    }
    if needs_root && !is_root() {
        return Some("needs root for a network namespace and a TAP device".into());
    }
    None
}

/// Wait for `child` at most `limit`; kill it (by its PID) when the limit passes.
fn wait_bounded(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{what} (pid {}) still running after {limit:?}; killed",
                    child.id()
                );
            }
            Err(e) => panic!("waiting for {what}: {e}"),
        }
    }
}

/// Build the firmware once per test process: each package on its own, so the direct-smoltcp
/// baseline gets only the smoltcp features it asks for.
fn build_firmware() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let result = BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        for package in ["unisock-firmware", "smoltcp-direct-firmware"] {
            let mut child = Command::new(&cargo)
                .args(["build", "--release", "-p", package])
                .current_dir(firmware_dir())
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("CARGO_BUILD_TARGET")
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .stdin(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot run {cargo}: {e}"))?;
            let status = wait_bounded(&mut child, BUILD_LIMIT, "firmware build");
            if !status.success() {
                return Err(format!("cargo build --release -p {package}: {status}"));
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("building the firmware failed: {e}");
    }
}

/// A running QEMU whose semihosting output is collected line by line.
struct Qemu {
    child: Child,
    lines: mpsc::Receiver<String>,
    transcript: Vec<String>,
}

impl Qemu {
    fn start(firmware: &Path, nic: &[&str]) -> Qemu {
        let mut child = Command::new("qemu-system-arm")
            .args(["-M", "mps2-an386", "-nographic"])
            .args(["-semihosting-config", "enable=on,target=native"])
            .args(nic)
            .arg("-kernel")
            .arg(firmware)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start qemu-system-arm");
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
        Qemu {
            child,
            lines,
            transcript: Vec::new(),
        }
    }

    /// Wait for a line containing `marker`.
    fn expect_line(&mut self, marker: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    eprintln!("firmware: {line}");
                    let found = line.contains(marker);
                    self.transcript.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        self.fail(&format!("no line containing {marker:?} within {limit:?}"));
    }

    /// Wait for QEMU to exit (killing it after `limit`) and return its status.
    fn finish(&mut self, limit: Duration) -> ExitStatus {
        let status = wait_bounded(&mut self.child, limit, "qemu-system-arm");
        // The reader thread ends at end of file; take what it has.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            eprintln!("firmware: {line}");
            self.transcript.push(line);
        }
        status
    }

    #[track_caller]
    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!(
            "{why}\nfirmware output so far:\n{}",
            self.transcript.join("\n")
        );
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        // Never leave QEMU running: kill our own child by PID if it has not exited.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Run `f` in a new thread inside a new network namespace; the namespace (and its TAP
/// device) disappears when the thread ends.
fn in_private_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let handle = std::thread::spawn(move || {
        if let Err(e) = enter_private_netns() {
            panic!("cannot make a private network namespace: {e}");
        }
        f()
    });
    match handle.join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// `ip ARGS` in the calling thread's namespace; the test fails if it fails.
#[track_caller]
fn ip_ok(args: &[&str]) {
    if let Err(e) = ip(args) {
        panic!("{e}");
    }
}

/// In the calling thread's (new) namespace: loopback up and the TAP device `fwtap0` with
/// the host's address, up. Returns QEMU's `-nic` value for it.
fn host_side_tap() -> String {
    let tap = "fwtap0";
    ip_ok(&["link", "set", "lo", "up"]);
    ip_ok(&["tuntap", "add", "dev", tap, "mode", "tap"]);
    ip_ok(&["addr", "add", HOST_CIDR, "dev", tap]);
    ip_ok(&["link", "set", tap, "up"]);
    format!("tap,ifname={tap},script=no,downscript=no")
}

/// The bytes sent through the echo server: a xorshift stream (no short period).
fn echo_payload() -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..ECHO_BYTES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Send the payload to the firmware's echo server from one thread while reading the echo in
/// this one, until the firmware closes.
fn echo_64k() -> Result<(), String> {
    let addr = SocketAddr::from((DEVICE_IP, ECHO_PORT));
    let stream = TcpStream::connect_timeout(&addr, IO_LIMIT)
        .map_err(|e| format!("connect to the firmware's echo server {addr}: {e}"))?;
    stream.set_read_timeout(Some(IO_LIMIT)).ok();
    stream.set_write_timeout(Some(IO_LIMIT)).ok();
    let payload = echo_payload();
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let sent = payload.clone();
    let send = std::thread::spawn(move || -> std::io::Result<()> {
        writer.write_all(&sent)?;
        writer.shutdown(std::net::Shutdown::Write)
    });
    let mut echoed = Vec::with_capacity(ECHO_BYTES);
    let read = (&stream)
        .take(2 * ECHO_BYTES as u64)
        .read_to_end(&mut echoed);
    let sent = send.join().map_err(|_| "sender thread panicked")?;
    sent.map_err(|e| format!("sending to the echo server: {e}"))?;
    read.map_err(|e| format!("reading the echo after {} bytes: {e}", echoed.len()))?;
    if echoed != payload {
        let at = echoed.iter().zip(&payload).position(|(a, b)| a != b);
        return Err(format!(
            "echo differs: {} bytes back of {}, first difference at {at:?}",
            echoed.len(),
            payload.len()
        ));
    }
    Ok(())
}

/// Accept the firmware's outbound connection and read its message to the end.
fn receive_report(listener: &TcpListener) -> Result<(SocketAddr, Vec<u8>), String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + IO_LIMIT;
    let (mut conn, peer) = loop {
        match listener.accept() {
            Ok(c) => break c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => return Err(format!("no connection from the firmware: {e}")),
        }
    };
    conn.set_nonblocking(false).map_err(|e| e.to_string())?;
    conn.set_read_timeout(Some(IO_LIMIT)).ok();
    let mut message = Vec::new();
    (&mut conn)
        .take(4096)
        .read_to_end(&mut message)
        .map_err(|e| format!("reading the firmware's message: {e}"))?;
    Ok((peer, message))
}

/// One NIC run at a time: they share addresses only inside their own namespaces, but two
/// QEMUs at once would double the load on a small machine for no gain.
static NIC_RUNS: Mutex<()> = Mutex::new(());

/// The NIC scenario for one firmware binary; `message` is what it must send the host.
fn run_nic_firmware(name: &'static str, message: &'static str) {
    if let Some(why) = missing_prerequisite(true) {
        skip(&why);
        return;
    }
    build_firmware();
    let _guard = NIC_RUNS.lock().unwrap_or_else(|e| e.into_inner());
    let firmware = binary(name);
    in_private_netns(move || {
        let tap = "fwtap0";
        ip_ok(&["tuntap", "add", "dev", tap, "mode", "tap"]);
        ip_ok(&["addr", "add", HOST_CIDR, "dev", tap]);
        ip_ok(&["link", "set", tap, "up"]);
        let listener = TcpListener::bind((HOST_IP, REPORT_PORT)).expect("bind the report listener");

        let nic = format!("tap,ifname={tap},script=no,downscript=no");
        let mut qemu = Qemu::start(&firmware, &["-nic", &nic]);
        qemu.expect_line(READY, BOOT_LIMIT);

        let ping = Command::new("ping")
            .args(["-n", "-c", "3", "-w", "30"])
            .arg(DEVICE_IP.to_string())
            .output()
            .expect("run ping");
        let summary = String::from_utf8_lossy(&ping.stdout).into_owned();
        eprintln!("{summary}");
        if !ping.status.success() || !summary.contains("3 received") {
            qemu.fail(&format!("ping {DEVICE_IP} got no replies:\n{summary}"));
        }

        if let Err(e) = echo_64k() {
            qemu.fail(&e);
        }
        match receive_report(&listener) {
            Ok((peer, got)) => {
                if peer.ip() != DEVICE_IP {
                    qemu.fail(&format!("report came from {peer}, not the firmware"));
                }
                if got != message.as_bytes() {
                    qemu.fail(&format!(
                        "report message {:?}, expected {message:?}",
                        String::from_utf8_lossy(&got)
                    ));
                }
            }
            Err(e) => qemu.fail(&e),
        }
        let status = qemu.finish(RUN_LIMIT);
        if status.code() != Some(0) {
            qemu.fail(&format!("QEMU exited with {status}"));
        }
    });
}

#[test]
fn loopback_firmware_verifies_64k_and_exits_zero() {
    if let Some(why) = missing_prerequisite(false) {
        skip(&why);
        return;
    }
    build_firmware();
    let mut qemu = Qemu::start(&binary("loopback"), &["-nic", "none"]);
    let status = qemu.finish(RUN_LIMIT);
    if status.code() != Some(0) {
        qemu.fail(&format!("QEMU exited with {status}"));
    }
    if !qemu.transcript.iter().any(|l| l.contains("verified 65536")) {
        qemu.fail("the loopback firmware did not report 65536 verified bytes");
    }
}

#[test]
fn nic_firmware_over_unisock_answers_ping_echoes_and_reports() {
    run_nic_firmware("nic", "hello from the unisock firmware");
}

#[test]
fn direct_smoltcp_firmware_answers_ping_echoes_and_reports() {
    run_nic_firmware("direct", "hello from the direct smoltcp firmware");
}

/// The `clients` firmware's MQTT broker port, topic and message (see its `clients.rs`; the
/// `aclients` firmware uses the same port and topic).
const MQTT_PORT: u16 = 1883;
const CLIENTS_TOPIC: &str = "unisock/firmware";
const CLIENTS_MESSAGE: &str = "hello over MQTT from the unisock firmware";
/// The port of the HTTP server and the page the `clients` firmware fetches.
const HTTP_PORT: u16 = 8080;
const PAGE: &str = "page.bin";
const PAGE_BYTES: usize = 64 * 1024;

/// FNV-1a (32 bits), as the firmware computes it.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h: u32, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// A directory of this test's own, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Wait (bounded) until something accepts TCP connections on `at`.
#[track_caller]
fn wait_listening(at: SocketAddr, what: &str) {
    let deadline = Instant::now() + BOOT_LIMIT;
    while TcpStream::connect_timeout(&at, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} does not accept connections on {at} after {BOOT_LIMIT:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Build one package of the firmware workspace, once per test process (`built` is that
/// package's own cell).
fn build_package_once(package: &str, built: &OnceLock<Result<(), String>>) {
    let result = built.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut child = Command::new(&cargo)
            .args(["build", "--release", "-p", package])
            .current_dir(firmware_dir())
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {cargo}: {e}"))?;
        let status = wait_bounded(&mut child, BUILD_LIMIT, "firmware build");
        if status.success() {
            Ok(())
        } else {
            Err(format!("cargo build --release -p {package}: {status}"))
        }
    });
    if let Err(e) = result {
        panic!("building the firmware package {package} failed: {e}");
    }
}

/// Build the embassy firmware package (`aclients`, `ahttpd`) once per test process.
fn build_embassy_firmware() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    build_package_once("embassy-firmware", &BUILT);
}

#[test]
fn clients_firmware_publishes_over_mqtt_and_fetches_a_page() {
    run_clients_firmware("clients", CLIENTS_MESSAGE);
}

#[test]
fn async_clients_firmware_publishes_over_mqtt_and_fetches_a_page() {
    run_clients_firmware(
        "aclients",
        "hello over MQTT from the async unisock firmware",
    );
}

/// The MQTT + HTTP scenario for one firmware binary (`clients`: minimq and our GET over the
/// blocking adapter; `aclients`: rust-mqtt and reqwless over the async one); `message` is what
/// it must publish.
fn run_clients_firmware(name: &'static str, message: &'static str) {
    if let Some(why) = missing_prerequisite(true) {
        skip(&why);
        return;
    }
    let Some([broker_bin, sub_bin, _]) = mosquitto::tools() else {
        return;
    };
    let Some(python) = mosquitto::find_tool("python3") else {
        skip("python3 is not installed (the test serves the page with python3 -m http.server)");
        return;
    };
    if name == "aclients" {
        build_embassy_firmware();
    } else {
        build_firmware();
    }
    let _guard = NIC_RUNS.lock().unwrap_or_else(|e| e.into_inner());
    let firmware = binary(name);
    in_private_netns(move || {
        let nic = host_side_tap();

        // The page: 64 KiB of a xorshift stream, in a directory only this test serves.
        let www =
            TempDir(std::env::temp_dir().join(format!("unisock-fw-{name}-{}", std::process::id())));
        std::fs::create_dir_all(&www.0).expect("create the page directory");
        let page: Vec<u8> = echo_payload()
            .into_iter()
            .cycle()
            .take(PAGE_BYTES)
            .collect();
        std::fs::write(www.0.join(PAGE), &page).expect("write the page");
        let expected = format!("http: got {} bytes fnv1a {:08x}", page.len(), fnv1a(&page));

        // Every process below runs in this namespace (spawned from this thread) and is killed
        // by its PID when its guard drops.
        let broker_at = SocketAddr::from((HOST_IP, MQTT_PORT));
        let _broker = mosquitto::Mosquitto::start(&broker_bin, broker_at);
        let http_at = SocketAddr::from((HOST_IP, HTTP_PORT));
        let _http = mosquitto::Proc::spawn(
            "python3 -m http.server",
            Command::new(&python)
                .args(["-m", "http.server", &HTTP_PORT.to_string()])
                .args(["--bind", &HOST_IP.to_string(), "--directory"])
                .arg(&www.0),
        );
        wait_listening(http_at, "python3 -m http.server");
        // The firmware publishes with the retain flag, so the subscriber receives the message
        // whether it subscribes before or after the publication.
        let mut subscriber = mosquitto::Proc::spawn(
            "mosquitto_sub",
            Command::new(&sub_bin)
                .args(["-h", &HOST_IP.to_string(), "-p", &MQTT_PORT.to_string()])
                .args(["-t", CLIENTS_TOPIC, "-C", "1", "-W", "170"]),
        );

        let mut qemu = Qemu::start(&firmware, &["-nic", &nic]);
        qemu.expect_line(READY, BOOT_LIMIT);
        qemu.expect_line("mqtt: published", IO_LIMIT);
        qemu.expect_line("http: got", IO_LIMIT);
        let status = qemu.finish(RUN_LIMIT);
        if status.code() != Some(0) {
            qemu.fail(&format!("QEMU exited with {status}"));
        }
        if !qemu.transcript.iter().any(|l| l.trim() == expected) {
            qemu.fail(&format!(
                "the firmware did not report the page as {expected:?}"
            ));
        }
        let line = subscriber.wait_line(message);
        assert_eq!(line.trim(), message, "what mosquitto_sub received");
        subscriber.wait_success();
    });
}

/// `curl` with `args`, bounded; returns its output.
fn curl(args: &[&str]) -> std::process::Output {
    let mut child = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "60",
            "--retry",
            "5",
            "--retry-connrefused",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start curl");
    let mut out = Vec::new();
    let mut err = Vec::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_end(&mut out);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_end(&mut err);
    }
    let status = wait_bounded(&mut child, IO_LIMIT, "curl");
    std::process::Output {
        status,
        stdout: out,
        stderr: err,
    }
}

/// The `ahttpd` firmware's page: its length and the xorshift32 stream it is made of (see
/// `ahttpd.rs`; the same generator as [`echo_payload`], not cycled).
const AHTTPD_PAGE_BYTES: usize = 256 * 1024;

/// Issue 12's HTTP server on the MCU: edge-http 0.8's server, unmodified, over `unisock-nal`'s
/// edge-nal adapter on unisock-smoltcp's async API under embassy-executor (`ahttpd`, package
/// `embassy-firmware`). In a new namespace with the TAP: `curl` fetches `/hello`, the 256 KiB
/// `/page.bin` (SHA-256 checked) while a second `curl` fetches `/hello` and a missing page on
/// one kept-alive connection (both handler tasks busy at once), then `/quit`; the firmware
/// must then drop its server (connections and listener), find no socket open, and exit 0.
#[test]
fn edge_http_server_firmware_answers_curl() {
    use sha2::{Digest, Sha256};
    if let Some(why) = missing_prerequisite(true) {
        skip(&why);
        return;
    }
    if Command::new("curl").arg("--version").output().is_err() {
        skip("curl is not installed");
        return;
    }
    build_embassy_firmware();
    let _guard = NIC_RUNS.lock().unwrap_or_else(|e| e.into_inner());
    let firmware = binary("ahttpd");
    in_private_netns(move || {
        let nic = host_side_tap();
        let mut qemu = Qemu::start(&firmware, &["-nic", &nic]);
        qemu.expect_line("READY ahttpd", BOOT_LIMIT);
        let base = format!("http://{DEVICE_IP}");

        let hello = curl(&[&format!("{base}/hello")]);
        if !hello.status.success()
            || hello.stdout != b"hello from the unisock firmware over edge-http\n"
        {
            qemu.fail(&format!("GET /hello: {hello:?}"));
        }

        let page_url = format!("{base}/page.bin");
        let second = {
            let (hello, missing) = (format!("{base}/hello"), format!("{base}/nope"));
            std::thread::spawn(move || curl(&["-w", " %{http_code}\n", &hello, &missing]))
        };
        let page = curl(&[&page_url]);
        let second = second.join().expect("curl thread");
        let mut x: u32 = 0x9e37_79b9;
        let expected: Vec<u8> = (0..AHTTPD_PAGE_BYTES)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        if !page.status.success() || page.stdout.len() != expected.len() {
            qemu.fail(&format!(
                "GET /page.bin: {} bytes of {}, {:?}, {}",
                page.stdout.len(),
                expected.len(),
                page.status,
                String::from_utf8_lossy(&page.stderr)
            ));
        }
        if Sha256::digest(&page.stdout) != Sha256::digest(&expected) {
            qemu.fail("GET /page.bin: the SHA-256 of the page differs");
        }
        if !second.status.success()
            || String::from_utf8_lossy(&second.stdout)
                != "hello from the unisock firmware over edge-http\n 200\n 404\n"
        {
            qemu.fail(&format!(
                "GET /hello then /nope on one connection: {second:?}"
            ));
        }

        let bye = curl(&[&format!("{base}/quit")]);
        if !bye.status.success() || bye.stdout != b"bye\n" {
            qemu.fail(&format!("GET /quit: {bye:?}"));
        }
        qemu.expect_line("ahttpd: done", IO_LIMIT);
        let status = qemu.finish(RUN_LIMIT);
        if status.code() != Some(0) {
            qemu.fail(&format!("QEMU exited with {status}"));
        }
    });
}

/// Build the async-scenarios firmware package (`ascen`) once per test process.
fn build_scenario_firmware() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    build_package_once("async-scenarios-firmware", &BUILT);
}

/// The scenarios of `async_conformance_tests!`, as the `ascen` firmware names them.
const ASYNC_SCENARIOS: &[&str] = &[
    "tcp_echo_v4",
    "tcp_echo_v6",
    "bind_then_connect_v4",
    "bind_then_connect_v6",
    "backlog",
    "half_close",
    "drop_delivers_queued_data",
    "shutdown_read",
    "abort_resets_peer",
    "peek_and_waitall",
    "connect_refused_v4",
    "connect_refused_v6",
    "udp_round_trip_v4",
    "udp_round_trip_v6",
    "udp_truncation",
    "udp_connected_filtering",
    "udp_split",
    "resolve_localhost",
    "make_connection_cases",
    "wakeups_ping_pong",
    "cancellation",
];

/// Issue 10 on the MCU: the async conformance scenarios (`tests/src/async_scenarios.rs`, the
/// source the host suite runs) on unisock-smoltcp's async API over the LAN9118 under
/// embassy-executor (`ascen`, package `async-scenarios-firmware`), on a TAP in a namespace of
/// the test's own. Every scenario must report `ok` (each bounded by a timeout and followed by
/// the firmware's leak check) and QEMU must exit 0.
#[test]
fn async_scenarios_run_on_the_firmware() {
    if let Some(why) = missing_prerequisite(true) {
        skip(&why);
        return;
    }
    build_scenario_firmware();
    let _guard = NIC_RUNS.lock().unwrap_or_else(|e| e.into_inner());
    let firmware = binary("ascen");
    in_private_netns(move || {
        let nic = host_side_tap();
        let mut qemu = Qemu::start(&firmware, &["-nic", &nic]);
        qemu.expect_line("READY ascen", BOOT_LIMIT);
        for name in ASYNC_SCENARIOS {
            qemu.expect_line(&format!("scenario {name} ok"), IO_LIMIT);
        }
        let passed = format!("ascen: {} scenarios passed", ASYNC_SCENARIOS.len());
        qemu.expect_line(&passed, IO_LIMIT);
        let status = qemu.finish(RUN_LIMIT);
        if status.code() != Some(0) {
            qemu.fail(&format!("QEMU exited with {status}"));
        }
    });
}
