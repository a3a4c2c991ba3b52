//! The example programs on the posix backend, against peers nobody here wrote: curl, Python's
//! `http.server` and socket module, and the kernel. Everything talks over 127.0.0.1.

mod common;

use std::process::Command;

use common::{
    Proc, TempDir, assert_one_error_line, free_port, have_root, have_tool, run, run_raw, wait_port,
};

const PAGE: &str = "<html><body>unisock test page</body></html>\n";

fn bin(name: &str) -> Command {
    let path = match name {
        "tour" => env!("CARGO_BIN_EXE_tour"),
        "http-get" => env!("CARGO_BIN_EXE_http-get"),
        "http-serve" => env!("CARGO_BIN_EXE_http-serve"),
        "echo-server" => env!("CARGO_BIN_EXE_echo-server"),
        "echo-client" => env!("CARGO_BIN_EXE_echo-client"),
        "udp-echo" => env!("CARGO_BIN_EXE_udp-echo"),
        "udp-send" => env!("CARGO_BIN_EXE_udp-send"),
        "ping" => env!("CARGO_BIN_EXE_ping"),
        other => panic!("no program {other}"),
    };
    Command::new(path)
}

#[test]
fn tour_passes_every_step_on_posix() {
    let out = run("tour", bin("tour").args(["--backend", "posix"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tour failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("[posix]"))
        .collect();
    assert_eq!(steps.len(), 13, "{stdout}");
    assert!(steps.iter().all(|l| l.contains("| ok: ")), "{stdout}");
    assert!(stdout.contains("urgent byte '!' via recv(OOB)"), "{stdout}");
    assert!(stdout.contains("[ConnectionReset]"), "{stdout}");
    assert!(
        stdout.contains("all 13 steps behaved as documented"),
        "{stdout}"
    );
}

#[test]
fn curl_fetches_files_from_http_serve() {
    if !have_tool("curl") {
        return;
    }
    let root = TempDir::new("serve");
    std::fs::write(root.0.join("hello.txt"), "hello from a file\n").unwrap();
    let mut server = Proc::spawn(
        "http-serve",
        bin("http-serve")
            .args(["--listen", "127.0.0.1:0", "--max-conns", "3", "--root"])
            .arg(&root.0),
    );
    let addr = server.wait_listening();
    let url = format!("http://{addr}/hello.txt");
    let out = run_raw(
        "curl",
        Command::new("curl").args(["-sS", "--max-time", "20", "-i", &url]),
    );
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("Content-Length: 18\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nhello from a file\n"), "{text}");
    // A missing file is a 404, and `..` cannot leave the root.
    let code = |path: &str| {
        let out = run_raw(
            "curl",
            Command::new("curl")
                .args([
                    "-sS",
                    "--max-time",
                    "20",
                    "--path-as-is",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                ])
                .arg(format!("http://{addr}{path}")),
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(code("/missing.txt"), "404");
    assert_eq!(code("/../../etc/passwd"), "403");
    let (status, lines, stderr) = server.wait_exit();
    assert!(status.success(), "http-serve: {lines:?} {stderr}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("GET /hello.txt -> 200 (18 body bytes)")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("GET /missing.txt -> 404")),
        "{lines:?}"
    );
}

#[test]
fn http_get_fetches_from_python_http_server() {
    if !have_tool("python3") {
        return;
    }
    let root = TempDir::new("pyhttp");
    std::fs::write(root.0.join("page.html"), PAGE).unwrap();
    let port = free_port();
    let _python = Proc::spawn(
        "python3 -m http.server",
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(&root.0),
    );
    wait_port(format!("127.0.0.1:{port}").parse().unwrap());
    // A URL...
    let out = run_raw(
        "http-get",
        bin("http-get").arg(format!("http://127.0.0.1:{port}/page.html")),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "http-get: {stdout} {stderr}");
    assert!(stdout.starts_with("HTTP/1.0 200 OK\r\n"), "{stdout}");
    assert!(stdout.contains("Server: SimpleHTTP"), "{stdout}");
    assert!(stdout.ends_with(&format!("\r\n\r\n{PAGE}")), "{stdout}");
    assert!(
        stderr.contains("* [posix] connected: tcp 127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("-> 127.0.0.1:{port}")), "{stderr}");
    // ... or host:port and a path, with the name resolved by the kernel's resolver.
    let out = run_raw(
        "http-get",
        bin("http-get").args([&format!("localhost:{port}"), "page.html"]),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.ends_with(PAGE.as_bytes()));
    // A 404 prints the response and exits non-zero with one error line.
    let out = run_raw(
        "http-get",
        bin("http-get").args([&format!("127.0.0.1:{port}"), "/nope"]),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("HTTP/1.0 404"));
    let line = assert_one_error_line("http-get", &out.stderr);
    assert!(line.contains("404"), "{line}");
}

#[test]
fn python_client_is_echoed_by_echo_server() {
    if !have_tool("python3") {
        return;
    }
    let mut server = Proc::spawn(
        "echo-server",
        bin("echo-server").args(["--listen", "127.0.0.1:0", "--max-conns", "2"]),
    );
    let addr = server.wait_listening();
    let script = r#"
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = bytes((i * 7 + 3) % 256 for i in range(n))
s = socket.create_connection((host, port), timeout=20)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = bytearray()
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
s.close()
if bytes(got) != data:
    sys.exit(f"echo differs: {len(got)} bytes back of {n}")
print(f"python: {n} bytes echoed intact")
"#;
    let out = run(
        "python3 client",
        Command::new("python3").args([
            "-c",
            script,
            &addr.ip().to_string(),
            &addr.port().to_string(),
            "300000",
        ]),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The second connection: our own client, checking the pattern byte for byte.
    let out = run(
        "echo-client",
        bin("echo-client").args([&addr.to_string(), "--bytes", "100000", "--connections", "1"]),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("100000 bytes echoed and verified"),
        "{stdout}"
    );
    let (status, lines, stderr) = server.wait_exit();
    assert!(status.success(), "echo-server: {lines:?} {stderr}");
    assert!(
        lines.iter().any(|l| l.contains("echoed 300000 bytes")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("echoed 100000 bytes")),
        "{lines:?}"
    );
}

#[test]
fn echo_client_detects_a_server_that_does_not_echo() {
    if !have_tool("python3") {
        return;
    }
    // A Python server that answers with the wrong bytes: echo-client must notice.
    let port = free_port();
    let script = r#"
import socket, sys
l = socket.create_server(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
c, _ = l.accept()
c.settimeout(20)
data = c.recv(65536)
c.sendall(bytes(b ^ 1 for b in data))
c.close()
"#;
    let mut python = Proc::spawn(
        "python3 bad echo",
        Command::new("python3").args(["-c", script, &port.to_string()]),
    );
    python.wait_line("ready");
    let out = run(
        "echo-client",
        bin("echo-client").args([&format!("127.0.0.1:{port}"), "--bytes", "1000"]),
    );
    assert!(!out.status.success());
    let line = assert_one_error_line("echo-client", &out.stderr);
    assert!(line.contains("echo mismatch at byte 0"), "{line}");
}

#[test]
fn udp_send_gets_its_echo_from_udp_echo_and_from_python() {
    let mut server = Proc::spawn(
        "udp-echo",
        bin("udp-echo").args(["--listen", "127.0.0.1:0", "--max-datagrams", "1"]),
    );
    let addr = server.wait_listening();
    let out = run(
        "udp-send",
        bin("udp-send").args([&addr.to_string(), "hello", "datagram"]),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("echo from {addr}: hello datagram")),
        "{stdout}"
    );
    let (status, lines, _) = server.wait_exit();
    assert!(status.success());
    assert!(
        lines.iter().any(|l| l.contains("echoed 14 bytes")),
        "{lines:?}"
    );

    if !have_tool("python3") {
        return;
    }
    let port = free_port();
    let script = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
s.settimeout(20)
data, peer = s.recvfrom(65536)
s.sendto(data, peer)
"#;
    let mut python = Proc::spawn(
        "python3 udp echo",
        Command::new("python3").args(["-c", script, &port.to_string()]),
    );
    python.wait_line("ready");
    let out = run(
        "udp-send",
        bin("udp-send").args([&format!("127.0.0.1:{port}"), "to python"]),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("echo from 127.0.0.1:"));
}

#[test]
fn udp_send_fails_when_nobody_echoes() {
    // A bound UDP socket that never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let out = run(
        "udp-send",
        bin("udp-send").args([&addr.to_string(), "anyone?", "--timeout", "0.5"]),
    );
    assert!(!out.status.success());
    let line = assert_one_error_line("udp-send", &out.stderr);
    assert!(line.contains("no echo from"), "{line}");
}

#[test]
fn ping_gets_replies_from_the_kernel_on_loopback() {
    // Raw sockets need CAP_NET_RAW.
    if !have_root() {
        return;
    }
    let out = run(
        "ping",
        bin("ping").args(["127.0.0.1", "-c", "3", "-i", "0.2"]),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for seq in 1..=3 {
        assert!(
            stdout.contains(&format!(
                "64 bytes from 127.0.0.1: icmp_seq={seq} ttl=64 time="
            )),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("3 packets transmitted, 3 received, 0% packet loss"),
        "{stdout}"
    );
    assert!(stdout.contains("rtt min/avg/max = "), "{stdout}");
}

#[test]
fn errors_are_one_clear_line_and_a_nonzero_exit() {
    // A closed port: connection refused.
    let port = free_port();
    let out = run(
        "echo-client",
        bin("echo-client").arg(format!("127.0.0.1:{port}")),
    );
    assert!(!out.status.success());
    let line = assert_one_error_line("echo-client", &out.stderr);
    assert!(line.contains("ConnectionRefused"), "{line}");
    // TLS is not something http-get can do.
    let out = run("http-get", bin("http-get").arg("https://example.invalid/"));
    assert!(!out.status.success());
    let line = assert_one_error_line("http-get", &out.stderr);
    assert!(line.contains("only http:// is supported"), "{line}");
    // smoltcp options with the posix backend.
    let out = run(
        "udp-echo",
        bin("udp-echo").args(["--listen", "127.0.0.1:0", "--tap", "tap0"]),
    );
    assert!(!out.status.success());
    let line = assert_one_error_line("udp-echo", &out.stderr);
    assert!(
        line.contains("--tap only applies to --backend smoltcp"),
        "{line}"
    );
    // smoltcp over TAP without the stack's address; two IPv4 gateways.
    let out = run(
        "echo-server",
        bin("echo-server").args([
            "--listen",
            "10.7.0.2:7",
            "--backend",
            "smoltcp",
            "--tap",
            "tap9",
        ]),
    );
    assert!(!out.status.success());
    let line = assert_one_error_line("echo-server", &out.stderr);
    assert!(
        line.contains("--tap tap9 needs the stack's address: --ip ADDR/PREFIX"),
        "{line}"
    );
    let out = run(
        "udp-echo",
        bin("udp-echo").args([
            "--listen",
            "127.0.0.1:0",
            "--backend",
            "smoltcp",
            "--gateway",
            "10.0.0.1",
            "--gateway",
            "10.0.0.2",
        ]),
    );
    assert!(!out.status.success());
    let line = assert_one_error_line("udp-echo", &out.stderr);
    assert!(
        line.contains("at most one IPv4 and one IPv6 gateway"),
        "{line}"
    );
    // A usage error is one line too, with clap's exit status 2.
    let out = run("echo-server", bin("echo-server").args(["--listen", "nope"]));
    assert_eq!(out.status.code(), Some(2));
    let line = assert_one_error_line("echo-server", &out.stderr);
    assert!(
        line.contains("invalid value 'nope' for '--listen <ADDR:PORT>'"),
        "{line}"
    );
    // A malformed target.
    let out = run("udp-send", bin("udp-send").args(["127.0.0.1", "x"]));
    assert!(!out.status.success());
    let line = assert_one_error_line("udp-send", &out.stderr);
    assert!(line.contains("needs a nonzero port"), "{line}");
}
