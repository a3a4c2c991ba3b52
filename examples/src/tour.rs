//! The socket tutorial, step by step, written once over [`Stack`] and run on every backend.
//!
//! [`run`] walks through: creating a stream socket, `bind`, `listen` with a backlog, `connect`
//! (with the automatic bind shown), `accept`, `read`/`write`, `send`/`recv` with `PEEK` (shown
//! not to consume) and with urgent data (`OOB`), half-close with `shutdown`, `abort` and the
//! peer seeing the reset, a UDP datagram exchange, and finally `make_connection("host:PORT")`
//! fetching a page from a tiny HTTP server ([`crate::http::serve_connection`]) the tour starts
//! itself; at the end, every socket it opened must have been released
//! ([`Stack::open_sockets`]).
//!
//! Every step prints one line (backend, call, association, result) and checks its outcome:
//! bytes, error kinds and addresses. The one documented difference between backends is urgent
//! data: a backend that reports `Unsupported` for it passes only when the caller said not to
//! expect urgent data (smoltcp has no urgent-pointer API).
//!
//! The tour is single-threaded: it relies on the backlog, so a `connect` completes before the
//! matching `accept`, and on socket buffers large enough for the few bytes of each step.
//! Every blocking call is bounded by a read or connect timeout ([`STEP_TIMEOUT`]), so a
//! misbehaving backend makes a step fail instead of hanging.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use unisock::embedded_io::{Read, ReadExactError, Write};
use unisock::{
    Association, DatagramSocket, Domain, Error as _, ErrorKind, Protocol, RecvFlags, SendFlags,
    Shutdown, SockOpt, Socket, Stack, StreamListener, StreamSocket, TcpSocket,
};

use crate::cli::describe;
use crate::http::{self, Site};

/// The bound on every blocking call of the tour.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// The page the tour's HTTP server serves.
pub const TOUR_PAGE: &str =
    "<!DOCTYPE html>\n<html><body><h1>Hello from unisock</h1></body></html>\n";

/// Where and how to run the tour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TourConfig {
    /// The backend's name, printed on every line.
    pub backend: String,
    /// The local address every socket binds to and connects to (loopback, or the TAP
    /// interface's own address).
    pub ip: IpAddr,
    /// The host name `make_connection` is given for the HTTP step (`localhost` on loopback);
    /// it must resolve to `ip` among its addresses.
    pub http_host: String,
    /// Whether the backend must deliver urgent data. When `false`, `Unsupported` from `send`
    /// and `recv` with `OOB` is the accepted outcome; when `true` it is a failure.
    pub expect_urgent: bool,
}

/// A step that did not behave as documented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFailure {
    /// The step number (from 1).
    pub step: usize,
    /// What was called.
    pub call: String,
    /// What happened instead of the documented outcome.
    pub reason: String,
}

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step {} ({}) failed: {}",
            self.step, self.call, self.reason
        )
    }
}

impl std::error::Error for StepFailure {}

/// Numbers, prints and checks the steps.
struct Steps<'a> {
    backend: &'a str,
    n: usize,
}

impl Steps<'_> {
    fn print(&self, call: &str, assoc: &str, result: &str) {
        let assoc = if assoc.is_empty() { "-" } else { assoc };
        let backend = format!("[{}]", self.backend);
        println!(
            "{backend:<9} {:2}. {call:<37} | {assoc:<40} | {result}",
            self.n
        );
    }

    /// Run one step: `f` returns the step's value, its association and its result text, or
    /// why it did not behave as documented. Prints the step's line; a failure stops the tour.
    fn run<T>(
        &mut self,
        call: &str,
        f: impl FnOnce() -> Result<(T, String, String), String>,
    ) -> Result<T, StepFailure> {
        self.n += 1;
        match f() {
            Ok((value, assoc, result)) => {
                self.print(call, &assoc, &format!("ok: {result}"));
                Ok(value)
            }
            Err(reason) => {
                self.print(call, "", &format!("FAILED: {reason}"));
                Err(StepFailure {
                    step: self.n,
                    call: call.to_string(),
                    reason,
                })
            }
        }
    }
}

fn io<E: unisock::Error + fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{what}: {}", describe(&e))
}

fn read_exact_err<E: unisock::Error + fmt::Display>(e: ReadExactError<E>) -> String {
    match e {
        ReadExactError::UnexpectedEof => "end of stream before all bytes arrived".to_string(),
        ReadExactError::Other(e) => describe(&e),
    }
}

fn assoc_of<T: StreamSocket<Addr = SocketAddr>>(s: &T) -> String
where
    T::Error: fmt::Display,
{
    match s.association() {
        Ok(a) => a.to_string(),
        Err(e) => format!("(association: {})", describe(&e)),
    }
}

fn bounded<T: Socket>(s: &mut T) -> Result<(), String>
where
    T::Error: fmt::Display,
{
    s.set_option(SockOpt::ReadTimeout(Some(STEP_TIMEOUT)))
        .map_err(io("set_option(ReadTimeout)"))
}

/// Run the tour on `stack`. Prints one line per step and returns the number of steps on
/// success, or the first step that did not behave as documented.
pub fn run<S: Stack>(stack: &S, config: &TourConfig) -> Result<usize, StepFailure>
where
    S::Error: fmt::Display,
{
    let mut steps = Steps {
        backend: &config.backend,
        n: 0,
    };
    let ip = config.ip;
    let domain = Domain::of_ip(&ip);
    let open_at_start = stack.open_sockets();

    // 1. socket()
    let mut sock = steps.run(&format!("tcp_socket({domain:?})"), || {
        let sock = stack.tcp_socket(domain).map_err(io("tcp_socket"))?;
        let local = sock.local_addr().map_err(io("local_addr"))?;
        if local.port() != 0 || !local.ip().is_unspecified() {
            return Err(format!(
                "a fresh socket should be unbound, local_addr is {local}"
            ));
        }
        Ok((
            sock,
            format!("tcp {local} (unbound)"),
            format!("unbound, local_addr {local}"),
        ))
    })?;

    // 2. bind()
    let bound = steps.run(&format!("bind({})", SocketAddr::new(ip, 0)), || {
        sock.bind(SocketAddr::new(ip, 0)).map_err(io("bind"))?;
        let local = sock.local_addr().map_err(io("local_addr"))?;
        if local.ip() != ip || local.port() == 0 {
            return Err(format!("expected {ip}:<ephemeral>, local_addr is {local}"));
        }
        Ok((
            local,
            format!("tcp {local} (bound)"),
            format!("port 0 became ephemeral port {}", local.port()),
        ))
    })?;

    // 3. listen()
    let mut listener = steps.run("listen(backlog 4)", || {
        let mut listener = sock.listen(4).map_err(io("listen"))?;
        let local = listener.local_addr().map_err(io("local_addr"))?;
        if local != bound {
            return Err(format!("listener is at {local}, bound to {bound}"));
        }
        bounded(&mut listener)?;
        Ok((
            listener,
            format!("tcp {local} (listening)"),
            format!("listening on {local}, up to 4 connections queued"),
        ))
    })?;

    // 4. connect(): the client is bound automatically.
    let mut client = steps.run(&format!("connect_timeout({bound}, 10s)"), || {
        let unbound = stack.tcp_socket(domain).map_err(io("tcp_socket"))?;
        let before = unbound.local_addr().map_err(io("local_addr"))?;
        let mut client = unbound
            .connect_timeout(bound, STEP_TIMEOUT)
            .map_err(io("connect"))?;
        bounded(&mut client)?;
        let a = client.association().map_err(io("association"))?;
        if a.protocol != Protocol::TCP
            || a.remote != bound
            || a.local.port() == 0
            || a.local.ip() != ip
        {
            return Err(format!("unexpected association {a}"));
        }
        Ok((
            client,
            a.to_string(),
            format!("auto-bound: local {} before, {} after", before, a.local),
        ))
    })?;
    let client_local = client.local_addr().map_err(|e| StepFailure {
        step: steps.n,
        call: "local_addr".to_string(),
        reason: describe(&e),
    })?;

    // 5. accept()
    let mut server = steps.run("accept()", || {
        let (mut server, peer) = listener.accept().map_err(io("accept"))?;
        bounded(&mut server)?;
        let a = server.association().map_err(io("association"))?;
        let want = Association::new(Protocol::TCP, bound, client_local);
        if peer != client_local || a != want {
            return Err(format!("peer {peer}, association {a}; expected {want}"));
        }
        Ok((
            server,
            a.to_string(),
            format!("peer {peer} is the client's auto-bound endpoint"),
        ))
    })?;

    // 6. write() / read(), both ways.
    let ping = b"hello from the client";
    let pong = b"hello from the server";
    steps.run("write() / read()", || {
        client.write_all(ping).map_err(io("client write"))?;
        let mut buf = [0u8; 21];
        server.read_exact(&mut buf).map_err(read_exact_err)?;
        if &buf != ping {
            return Err(format!("server read {:?}", String::from_utf8_lossy(&buf)));
        }
        server.write_all(pong).map_err(io("server write"))?;
        client.read_exact(&mut buf).map_err(read_exact_err)?;
        if &buf != pong {
            return Err(format!("client read {:?}", String::from_utf8_lossy(&buf)));
        }
        Ok((
            (),
            assoc_of(&client),
            format!("{} bytes each way, intact", ping.len()),
        ))
    })?;

    // 7. send() / recv() with PEEK: peeking does not consume.
    let msg = b"peek at me";
    steps.run("send() / recv(PEEK) / recv()", || {
        let mut sent = 0;
        while sent < msg.len() {
            sent += client
                .send(&msg[sent..], SendFlags::NONE)
                .map_err(io("send"))?;
        }
        let mut peeked = [0u8; 10];
        let n = server
            .recv(&mut peeked, RecvFlags::PEEK)
            .map_err(io("recv(PEEK)"))?;
        if n == 0 || peeked[..n] != msg[..n] {
            return Err(format!(
                "recv(PEEK) returned {:?}",
                String::from_utf8_lossy(&peeked[..n])
            ));
        }
        let mut got = [0u8; 10];
        server.read_exact(&mut got).map_err(read_exact_err)?;
        if &got != msg {
            return Err(format!(
                "recv after PEEK returned {:?}",
                String::from_utf8_lossy(&got)
            ));
        }
        Ok((
            (),
            assoc_of(&server),
            format!(
                "PEEK saw {n} bytes, the next recv got them again ({} bytes)",
                got.len()
            ),
        ))
    })?;

    // 8. Urgent data (OOB).
    steps.run("send(OOB) / recv(OOB)", || {
        match client.send(b"ab!", SendFlags::OOB) {
            Ok(3) => {}
            Ok(n) => return Err(format!("send(OOB) queued {n} of 3 bytes")),
            Err(e) if e.socket_kind() == ErrorKind::Unsupported && !config.expect_urgent => {
                // The receive side must say the same, not silently return nothing.
                let mut one = [0u8; 1];
                return match server.try_recv(&mut one, RecvFlags::OOB) {
                    Err(r) if r.socket_kind() == ErrorKind::Unsupported => Ok((
                        (),
                        assoc_of(&client),
                        format!(
                            "Unsupported on both sides, as documented for this backend ({})",
                            describe(&e)
                        ),
                    )),
                    Ok(n) => Err(format!(
                        "send(OOB) is Unsupported but recv(OOB) returned {n} bytes"
                    )),
                    Err(r) => Err(format!(
                        "send(OOB) is Unsupported but recv(OOB) failed with {}",
                        describe(&r)
                    )),
                };
            }
            Err(e) => return Err(format!("send(OOB): {}", describe(&e))),
        }
        // The urgent byte is the last one; the two before it are ordinary data, and reading
        // them proves the segment carrying the urgent pointer has arrived.
        let mut ordinary = [0u8; 2];
        server.read_exact(&mut ordinary).map_err(read_exact_err)?;
        if &ordinary != b"ab" {
            return Err(format!(
                "in-band data was {:?}",
                String::from_utf8_lossy(&ordinary)
            ));
        }
        let mut urgent = [0u8; 1];
        let n = server
            .recv(&mut urgent, RecvFlags::OOB)
            .map_err(io("recv(OOB)"))?;
        if n != 1 || urgent[0] != b'!' {
            return Err(format!("recv(OOB) returned {:?}", &urgent[..n]));
        }
        Ok((
            (),
            assoc_of(&server),
            "in-band \"ab\", then urgent byte '!' via recv(OOB)".to_string(),
        ))
    })?;

    // 9. Half-close: the client stops sending, the server still can.
    steps.run("shutdown(Write) (half-close)", || {
        // Once both directions are closed there is no peer left to name: take it now.
        let assoc = assoc_of(&client);
        client.shutdown(Shutdown::Write).map_err(io("shutdown"))?;
        let mut buf = [0u8; 16];
        let n = server
            .read(&mut buf)
            .map_err(io("server read after peer FIN"))?;
        if n != 0 {
            return Err(format!("server read {n} bytes instead of end of stream"));
        }
        let late = b"still flowing";
        server
            .write_all(late)
            .map_err(io("server write after peer FIN"))?;
        let mut got = [0u8; 13];
        client.read_exact(&mut got).map_err(read_exact_err)?;
        if &got != late {
            return Err(format!("client read {:?}", String::from_utf8_lossy(&got)));
        }
        server
            .shutdown(Shutdown::Write)
            .map_err(io("server shutdown"))?;
        let n = client
            .read(&mut buf)
            .map_err(io("client read after server FIN"))?;
        if n != 0 {
            return Err(format!("client read {n} bytes instead of end of stream"));
        }
        Ok((
            (),
            assoc,
            "server read EOF, then sent 13 bytes the client still received; then EOF both ways"
                .to_string(),
        ))
    })?;
    drop(client);
    drop(server);

    // 10. abort(): the peer sees a reset.
    steps.run("abort() -> peer read()", || {
        let mut victim = stack
            .connect_timeout(bound, STEP_TIMEOUT)
            .map_err(io("connect"))?;
        bounded(&mut victim)?;
        let assoc = assoc_of(&victim);
        let (aborter, _) = listener.accept().map_err(io("accept"))?;
        aborter.abort().map_err(io("abort"))?;
        let mut buf = [0u8; 8];
        match victim.read(&mut buf) {
            Err(e) if e.socket_kind() == ErrorKind::ConnectionReset => Ok((
                (),
                assoc,
                format!("peer's read failed with {}", describe(&e)),
            )),
            Err(e) => Err(format!(
                "peer's read failed with {}, expected ConnectionReset",
                describe(&e)
            )),
            Ok(n) => Err(format!(
                "peer's read returned {n} bytes, expected ConnectionReset"
            )),
        }
    })?;
    drop(listener);

    // 11. A datagram exchange.
    steps.run("send_to() / recv_from() (UDP)", || {
        let mut a = stack
            .bind_udp(SocketAddr::new(ip, 0))
            .map_err(io("bind_udp"))?;
        let mut b = stack
            .bind_udp(SocketAddr::new(ip, 0))
            .map_err(io("bind_udp"))?;
        bounded(&mut a)?;
        bounded(&mut b)?;
        let a_addr = a.local_addr().map_err(io("local_addr"))?;
        let b_addr = b.local_addr().map_err(io("local_addr"))?;
        let assoc = Association::new(Protocol::UDP, a_addr, b_addr).to_string();
        let question = b"datagram, are you there?";
        let n = a
            .send_to(question, b_addr, SendFlags::NONE)
            .map_err(io("send_to"))?;
        if n != question.len() {
            return Err(format!("send_to sent {n} of {} bytes", question.len()));
        }
        let mut buf = [0u8; 64];
        let meta = b
            .recv_from(&mut buf, RecvFlags::NONE)
            .map_err(io("recv_from"))?;
        if meta.from != a_addr || buf.get(..meta.len) != Some(&question[..]) || meta.truncated() {
            return Err(format!("received {meta:?}"));
        }
        b.send_to(b"yes", meta.from, SendFlags::NONE)
            .map_err(io("send_to"))?;
        let meta = a
            .recv_from(&mut buf, RecvFlags::NONE)
            .map_err(io("recv_from"))?;
        if meta.from != b_addr || buf.get(..meta.len) != Some(&b"yes"[..]) {
            return Err(format!("reply {meta:?}"));
        }
        Ok((
            (),
            assoc,
            format!(
                "{} bytes there, 3 back, senders as expected",
                question.len()
            ),
        ))
    })?;

    // 12. make_connection() and a page from the tour's own HTTP server.
    let target_host = &config.http_host;
    steps.run(&format!("make_connection(\"{target_host}:PORT\")"), || {
        let site = Site::Page {
            content_type: "text/html; charset=utf-8".to_string(),
            body: TOUR_PAGE.as_bytes().to_vec(),
        };
        let mut web = stack
            .listen(SocketAddr::new(ip, 0), 4)
            .map_err(io("listen"))?;
        bounded(&mut web)?;
        let port = web.local_addr().map_err(io("local_addr"))?.port();
        let target = format!("{target_host}:{port}");
        let mut conn = unisock::make_connection(stack, &target)
            .map_err(|e| format!("make_connection({target:?}): {e} [{:?}]", e.kind()))?;
        bounded(&mut conn)?;
        let assoc = assoc_of(&conn);
        http::send_get(&mut conn, &target, "/").map_err(io("send request"))?;
        let (mut served_conn, _) = web.accept().map_err(io("accept"))?;
        bounded(&mut served_conn)?;
        let served =
            http::serve_connection(&mut served_conn, &site).map_err(|e| format!("server: {e}"))?;
        drop(served_conn);
        let response = http::read_response(&mut conn).map_err(|e| format!("client: {e}"))?;
        if served.status != 200 || served.path != "/" {
            return Err(format!(
                "server answered {} for {:?}",
                served.status, served.path
            ));
        }
        if response.status != 200 || response.body != TOUR_PAGE.as_bytes() {
            return Err(format!(
                "client got {} {} with {} body bytes",
                response.status,
                response.reason,
                response.body.len()
            ));
        }
        Ok((
            (),
            assoc,
            format!(
                "HTTP {} {}, {} bytes of the expected page",
                response.status,
                response.reason,
                response.body.len()
            ),
        ))
    })?;

    // 13. close: every socket of the tour was dropped; the stack holds none of them.
    steps.run("close (drop) -> open_sockets()", || {
        // Graceful closes finish their FIN exchange in the background: give them time.
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let open = stack.open_sockets();
            if open <= open_at_start {
                return Ok((
                    (),
                    String::new(),
                    format!("{open} open, as before the tour: every socket was released"),
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{open} sockets still open {STEP_TIMEOUT:?} after the tour, {open_at_start} before it"
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    })?;

    Ok(steps.n)
}
