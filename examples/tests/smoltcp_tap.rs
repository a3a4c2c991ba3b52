//! The example programs on the smoltcp backend over TAP, against the Linux kernel and programs
//! nobody here wrote (ping, Python, socat, dnsmasq, tshark), plus the whole tour on both
//! backends.
//!
//! Every TAP test creates its own network namespace (`ip netns add unisock-ex-<pid>-<tag>`,
//! deleted on drop), creates the TAP device inside it, and runs every program, ours and the
//! peers, with `ip netns exec`, so no packet leaves the namespace. The kernel side of the TAP
//! is 10.77.0.1/24, the smoltcp stack 10.77.0.2/24. Needs root; without it (or without a
//! tool) a test prints a notice and returns, and with `CI=true` that is a failure.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Proc, TempDir, have_root, have_tool, run, run_raw, skip};

const KERNEL: &str = "10.77.0.1";
const SMOLTCP: &str = "10.77.0.2";
const SMOLTCP_CIDR: &str = "10.77.0.2/24";
const TAP: &str = "uxtap0";
const PAGE: &str = "<html><body>served by the kernel, fetched by smoltcp</body></html>\n";

fn bin_path(name: &str) -> &'static str {
    match name {
        "tour" => env!("CARGO_BIN_EXE_tour"),
        "http-get" => env!("CARGO_BIN_EXE_http-get"),
        "echo-server" => env!("CARGO_BIN_EXE_echo-server"),
        "ping" => env!("CARGO_BIN_EXE_ping"),
        "udp-echo" => env!("CARGO_BIN_EXE_udp-echo"),
        "udp-send" => env!("CARGO_BIN_EXE_udp-send"),
        "http-serve" => env!("CARGO_BIN_EXE_http-serve"),
        other => panic!("no program {other}"),
    }
}

/// A network namespace with a TAP device, deleted (with the device) on drop.
struct Netns {
    name: String,
}

#[track_caller]
fn ip(args: &[&str]) {
    let out = run_raw("ip", Command::new("ip").args(args));
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    /// Create the namespace and the TAP device with the kernel's address; `None` (after a
    /// notice) if not root or `ip` is missing.
    #[track_caller]
    fn create(tag: &str) -> Option<Netns> {
        if !have_root() || !have_tool("ip") {
            return None;
        }
        let name = format!("unisock-ex-{}-{tag}", std::process::id());
        let out = run_raw("ip", Command::new("ip").args(["netns", "add", &name]));
        if !out.status.success() {
            skip(&format!(
                "cannot create a network namespace: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            return None;
        }
        let ns = Netns { name };
        // The three commands the README shows: a TAP device, its address, up.
        ip(&["-n", &ns.name, "tuntap", "add", "dev", TAP, "mode", "tap"]);
        ip(&[
            "-n",
            &ns.name,
            "addr",
            "add",
            &format!("{KERNEL}/24"),
            "dev",
            TAP,
        ]);
        ip(&["-n", &ns.name, "link", "set", TAP, "up"]);
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        Some(ns)
    }

    /// `program args...` inside the namespace.
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// One of our programs inside the namespace, on smoltcp over the TAP device.
    fn example(&self, name: &str) -> Command {
        let mut c = self.cmd(bin_path(name));
        c.args(["--backend", "smoltcp", "--tap", TAP, "--ip", SMOLTCP_CIDR]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace deletes the TAP device in it.
        if !common::run_cleanup(Command::new("ip").args(["netns", "del", &self.name])) {
            eprintln!("NOTICE: could not delete network namespace {}", self.name);
        }
    }
}

/// Wait (bounded) until something listens on UDP port 53 of the kernel side.
#[track_caller]
fn wait_dns(ns: &Netns) {
    let deadline = std::time::Instant::now() + common::WAIT;
    loop {
        let out = run_raw("ss", ns.cmd("ss").args(["-H", "-l", "-u", "-n"]));
        if String::from_utf8_lossy(&out.stdout).contains(&format!("{KERNEL}:53 ")) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "dnsmasq did not bind {KERNEL}:53 within {:?}",
            common::WAIT
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Start Python's http.server bound to the kernel side inside `ns`, serving `dir`.
fn python_http(ns: &Netns, dir: &Path, port: u16) -> Proc {
    let mut server = Proc::spawn(
        "python3 -m http.server",
        ns.cmd("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                KERNEL,
                "--directory",
            ])
            .arg(dir),
    );
    server.wait_line("Serving HTTP");
    server
}

#[test]
fn tour_passes_on_both_backends() {
    // No privileges needed: posix on loopback, smoltcp on its in-process loopback device.
    let out = run("tour", &mut Command::new(bin_path("tour")));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    for backend in ["posix", "smoltcp"] {
        let steps = stdout
            .lines()
            .filter(|l| l.starts_with(&format!("[{backend}]")) && l.contains("| ok: "))
            .count();
        assert_eq!(steps, 13, "{backend}: {stdout}");
        assert!(
            stdout.contains(&format!(
                "== {backend}: all 13 steps behaved as documented =="
            )),
            "{stdout}"
        );
    }
    // The documented difference: urgent data works on posix, is Unsupported on smoltcp.
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("[posix]") && l.contains("urgent byte '!'"))
    );
    assert!(stdout.lines().any(|l| l.starts_with("[smoltcp]")
        && l.contains("send(OOB)")
        && l.contains("Unsupported on both sides")));
}

#[test]
fn kernel_pings_and_clients_reach_echo_server_on_tap() {
    let Some(ns) = Netns::create("echo") else {
        return;
    };
    if !have_tool("ping") || !have_tool("python3") || !have_tool("socat") {
        return;
    }
    let mut server = Proc::spawn(
        "echo-server (smoltcp)",
        ns.example("echo-server").args([
            "--listen",
            &format!("{SMOLTCP}:7000"),
            "--max-conns",
            "2",
        ]),
    );
    let addr = server.wait_listening();
    assert_eq!(addr.to_string(), format!("{SMOLTCP}:7000"));
    // The kernel's ping: smoltcp answers ICMP echo by itself.
    let out = run_raw(
        "ping",
        ns.cmd("ping")
            .args(["-c", "3", "-i", "0.2", "-W", "5", SMOLTCP]),
    );
    assert!(out.status.success(), "kernel ping: {}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("3 received"),
        "{}",
        text(&out)
    );
    // A Python client: 200 kB through the echo server and back.
    let script = r#"
import socket, sys
data = bytes((i * 13 + 5) % 256 for i in range(200000))
s = socket.create_connection((sys.argv[1], 7000), timeout=20)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = bytearray()
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
if bytes(got) != data:
    sys.exit(f"echo differs: {len(got)} bytes back")
"#;
    let out = run_raw(
        "python3 client",
        ns.cmd("python3").args(["-c", script, SMOLTCP]),
    );
    assert!(out.status.success(), "python client: {}", text(&out));
    // socat: a line through the echo server.
    let out = run_raw(
        "socat",
        ns.cmd("sh").args([
            "-c",
            &format!("printf 'hello through socat\\n' | socat -t 10 - TCP:{SMOLTCP}:7000"),
        ]),
    );
    assert!(out.status.success(), "socat: {}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello through socat\n"
    );
    let (status, lines, stderr) = server.wait_exit();
    assert!(status.success(), "echo-server: {lines:?} {stderr}");
    assert!(
        lines.iter().any(|l| l.contains("echoed 200000 bytes")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("echoed 20 bytes")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("accepted tcp {SMOLTCP}:7000 -> {KERNEL}:"))),
        "{lines:?}"
    );
}

#[test]
fn ping_example_on_tap_gets_replies_from_the_kernel() {
    let Some(ns) = Netns::create("ping") else {
        return;
    };
    let out = run(
        "ping (smoltcp)",
        ns.example("ping").args([KERNEL, "-c", "3", "-i", "0.3"]),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    for seq in 1..=3 {
        assert!(
            stdout.contains(&format!(
                "64 bytes from {KERNEL}: icmp_seq={seq} ttl=64 time="
            )),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("3 packets transmitted, 3 received, 0% packet loss"),
        "{stdout}"
    );
}

#[test]
fn http_get_on_tap_fetches_from_python_with_a_pcap_of_the_handshake() {
    let Some(ns) = Netns::create("http") else {
        return;
    };
    if !have_tool("python3") || !have_tool("tshark") {
        return;
    }
    let root = TempDir::new("tap-http");
    std::fs::write(root.0.join("page.html"), PAGE).unwrap();
    let _server = python_http(&ns, &root.0, 8000);
    let pcap = root.0.join("capture.pcap");
    let out = run_raw(
        "http-get (smoltcp)",
        ns.example("http-get")
            .arg(format!("http://{KERNEL}:8000/page.html"))
            .arg("--pcap")
            .arg(&pcap),
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("HTTP/1.0 200 OK\r\n"), "{stdout}");
    assert!(stdout.ends_with(PAGE), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("* [smoltcp] connected: tcp {SMOLTCP}:")),
        "{stderr}"
    );
    // tshark reads the capture back: the first three TCP segments are the handshake.
    let out = run_raw(
        "tshark",
        Command::new("tshark").args(["-r"]).arg(&pcap).args([
            "-Y",
            "tcp",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "tcp.flags",
        ]),
    );
    assert!(out.status.success(), "tshark: {}", text(&out));
    let fields = String::from_utf8_lossy(&out.stdout);
    let first: Vec<&str> = fields.lines().take(3).collect();
    assert_eq!(
        first,
        [
            format!("{SMOLTCP}\t0x0002"),
            format!("{KERNEL}\t0x0012"),
            format!("{SMOLTCP}\t0x0010"),
        ],
        "SYN, SYN-ACK, ACK expected; tshark said:\n{fields}"
    );
}

#[test]
fn http_get_on_tap_resolves_a_name_through_dnsmasq() {
    let Some(ns) = Netns::create("dns") else {
        return;
    };
    if !have_tool("python3") || !have_tool("dnsmasq") {
        return;
    }
    let root = TempDir::new("tap-dns");
    std::fs::write(root.0.join("page.html"), PAGE).unwrap();
    let _server = python_http(&ns, &root.0, 8000);
    let pid_file = root.0.join("dnsmasq.pid");
    let _dnsmasq = Proc::spawn(
        "dnsmasq",
        ns.cmd("dnsmasq")
            .args([
                "--keep-in-foreground",
                "--log-facility=-",
                "--no-resolv",
                "--no-hosts",
                "--conf-file=/dev/null",
                "--address=/web.test/10.77.0.1",
                &format!("--listen-address={KERNEL}"),
                "--bind-interfaces",
                "--user=root",
            ])
            .arg(format!("--pid-file={}", pid_file.display())),
    );
    // dnsmasq logs to stderr; wait until its socket is bound instead.
    wait_dns(&ns);
    let out = run_raw(
        "http-get (smoltcp)",
        ns.example("http-get")
            .args(["--dns", KERNEL, "http://web.test:8000/page.html"]),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with(PAGE),
        "{}",
        text(&out)
    );
    // A name dnsmasq does not know fails with one clear line.
    let out = run_raw(
        "http-get (smoltcp)",
        ns.example("http-get")
            .args(["--dns", KERNEL, "http://nowhere.test:8000/"]),
    );
    assert!(!out.status.success(), "{}", text(&out));
    let line = common::assert_one_error_line("http-get", &out.stderr);
    assert!(line.contains("HostNotFound"), "{line}");
}

#[test]
fn curl_in_the_namespace_fetches_from_http_serve_on_tap() {
    let Some(ns) = Netns::create("serve") else {
        return;
    };
    if !have_tool("curl") {
        return;
    }
    let mut server = Proc::spawn(
        "http-serve (smoltcp)",
        ns.example("http-serve").args([
            "--listen",
            &format!("{SMOLTCP}:8080"),
            "--max-conns",
            "1",
            "--page",
            "hello from smoltcp\n",
        ]),
    );
    server.wait_listening();
    let out = run_raw(
        "curl",
        ns.cmd("curl")
            .args(["-sS", "-i", "--max-time", "20"])
            .arg(format!("http://{SMOLTCP}:8080/")),
    );
    assert!(out.status.success(), "curl: {}", text(&out));
    let response = String::from_utf8_lossy(&out.stdout);
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.ends_with("\r\n\r\nhello from smoltcp\n"),
        "{response}"
    );
    let (status, lines, stderr) = server.wait_exit();
    assert!(status.success(), "http-serve: {lines:?} {stderr}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("tcp {SMOLTCP}:8080 -> {KERNEL}:"))
                && l.contains("GET / -> 200")),
        "{lines:?}"
    );
}

#[test]
fn udp_on_tap_echoes_python_and_reaches_a_python_echo() {
    let Some(ns) = Netns::create("udp") else {
        return;
    };
    if !have_tool("python3") {
        return;
    }
    // udp-echo on smoltcp, a Python client in the kernel.
    let mut echo = Proc::spawn(
        "udp-echo (smoltcp)",
        ns.example("udp-echo").args([
            "--listen",
            &format!("{SMOLTCP}:9000"),
            "--max-datagrams",
            "1",
        ]),
    );
    echo.wait_listening();
    let client = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(20)
s.sendto(b"kernel to smoltcp", (sys.argv[1], 9000))
data, peer = s.recvfrom(65536)
if data != b"kernel to smoltcp" or peer != (sys.argv[1], 9000):
    sys.exit(f"unexpected {data!r} from {peer}")
"#;
    let out = run_raw(
        "python3 udp client",
        ns.cmd("python3").args(["-c", client, SMOLTCP]),
    );
    assert!(out.status.success(), "{}", text(&out));
    let (status, lines, _) = echo.wait_exit();
    assert!(status.success());
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("udp {SMOLTCP}:9000 -> {KERNEL}:"))
                && l.contains("echoed 17 bytes")),
        "{lines:?}"
    );
    // udp-send on smoltcp, a Python echo in the kernel.
    let server = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 9001))
print("ready", flush=True)
s.settimeout(20)
data, peer = s.recvfrom(65536)
s.sendto(data, peer)
"#;
    let mut python = Proc::spawn(
        "python3 udp echo",
        ns.cmd("python3").args(["-c", server, KERNEL]),
    );
    python.wait_line("ready");
    let out = run(
        "udp-send (smoltcp)",
        ns.example("udp-send")
            .args([&format!("{KERNEL}:9001"), "smoltcp", "to", "kernel"]),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("echo from {KERNEL}:9001: smoltcp to kernel")),
        "{}",
        text(&out)
    );
}

#[test]
fn ping_example_on_the_smoltcp_loopback_gets_the_stacks_own_replies() {
    // No privileges: the smoltcp stack answers echo requests itself and its raw socket sees
    // the replies.
    let out = run(
        "ping (smoltcp loopback)",
        Command::new(bin_path("ping")).args([
            "--backend",
            "smoltcp",
            "127.0.0.1",
            "-c",
            "2",
            "-i",
            "0.2",
        ]),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout.contains("64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 time="),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 packets transmitted, 2 received, 0% packet loss"),
        "{stdout}"
    );
}

#[test]
fn ipv6_on_tap_ping_both_ways_and_http_get() {
    let Some(ns) = Netns::create("ipv6") else {
        return;
    };
    if !have_tool("ping") || !have_tool("python3") {
        return;
    }
    // `nodad`: usable at once, without duplicate address detection.
    ip(&[
        "-n",
        &ns.name,
        "addr",
        "add",
        "fd00:77::1/64",
        "dev",
        TAP,
        "nodad",
    ]);
    let v6 = |name: &str| {
        let mut c = ns.cmd(bin_path(name));
        c.args([
            "--backend",
            "smoltcp",
            "--tap",
            TAP,
            "--ip",
            "fd00:77::2/64",
        ]);
        c
    };
    // Our ping (ICMPv6 over a raw socket) against the kernel.
    let out = run(
        "ping (smoltcp, IPv6)",
        v6("ping").args(["fd00:77::1", "-c", "2", "-i", "0.3"]),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout.contains("64 bytes from fd00:77::1: icmp_seq=2 time="),
        "{stdout}"
    );
    // The kernel's ping against smoltcp, while an echo server keeps the stack up.
    let mut server = Proc::spawn(
        "echo-server (smoltcp, IPv6)",
        v6("echo-server").args(["--listen", "[fd00:77::2]:7000", "--max-conns", "1"]),
    );
    server.wait_listening();
    let out = run_raw(
        "ping",
        ns.cmd("ping")
            .args(["-6", "-c", "2", "-i", "0.2", "-W", "5", "fd00:77::2"]),
    );
    assert!(out.status.success(), "kernel ping -6: {}", text(&out));
    // A Python client over IPv6 through the echo server.
    let script = r#"
import socket, sys
s = socket.create_connection(("fd00:77::2", 7000), timeout=20)
s.sendall(b"over IPv6")
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    got += chunk
if got != b"over IPv6":
    sys.exit(f"echo differs: {got!r}")
"#;
    let out = run_raw("python3 client", ns.cmd("python3").args(["-c", script]));
    assert!(out.status.success(), "{}", text(&out));
    let (status, lines, _) = server.wait_exit();
    assert!(status.success(), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("tcp [fd00:77::2]:7000 -> [fd00:77::1]:")
                && l.contains("echoed 9 bytes")),
        "{lines:?}"
    );
    // http-get from smoltcp to Python's http.server on the kernel's IPv6 address.
    let root = TempDir::new("tap-v6");
    std::fs::write(root.0.join("page.html"), PAGE).unwrap();
    let mut python = Proc::spawn(
        "python3 -m http.server (IPv6)",
        ns.cmd("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "8000",
                "--bind",
                "fd00:77::1",
                "--directory",
            ])
            .arg(&root.0),
    );
    python.wait_line("Serving HTTP");
    let out = run_raw(
        "http-get (smoltcp, IPv6)",
        v6("http-get").arg("http://[fd00:77::1]:8000/page.html"),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with(PAGE),
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("* [smoltcp] connected: tcp [fd00:77::2]:"),
        "{}",
        text(&out)
    );
}
