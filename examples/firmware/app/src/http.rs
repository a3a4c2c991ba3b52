//! A minimal HTTP/1.0 GET over any embedded-nal 0.9 [`TcpClientStack`], streaming the body
//! through a caller's buffer (no allocator, nothing kept but its length and FNV-1a hash).
//!
//! Written here because no maintained blocking (embedded-nal) HTTP client exists on crates.io;
//! the async one (`reqwless`) needs an executor (the `aclients` firmware runs it on unisock's
//! async API). The response head is parsed by `httparse` (crates.io, unmodified).
//!
//! Modelled: one `GET` per connection, an HTTP/1.0 request (so the server neither keeps the
//! connection alive nor answers with chunked encoding), a body delimited by `Content-Length` or
//! by the end of the connection. Not supported: chunked bodies (refused with
//! [`HttpError::Chunked`]), redirects, TLS, names (the remote is an address).
//!
//! Nothing here panics on what the network sends: a head longer than the buffer, a malformed
//! head, a non-2xx status, a body shorter than its `Content-Length` are each an [`HttpError`].

use core::fmt;
use core::net::SocketAddr;

use unisock_nal::embedded_nal::{TcpClientStack, TcpError, TcpErrorKind, nb};

/// What a GET brought back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// The status code (2xx).
    pub status: u16,
    /// Bytes of body.
    pub len: usize,
    /// FNV-1a (32 bits) of the body.
    pub fnv1a: u32,
}

/// Why a GET failed.
#[derive(Debug)]
pub enum HttpError<E> {
    /// The network stack's error, with the step that failed.
    Net(&'static str, E),
    /// The `idle` callback gave up (a time limit) during this step.
    TimedOut(&'static str),
    /// The connection ended before the response head did.
    NoHead,
    /// The response head does not fit the buffer (its size in bytes).
    HeadTooLong(usize),
    /// The response head is not valid HTTP.
    BadHead,
    /// The status was not 2xx.
    Status(u16),
    /// The body is chunked, which this client does not decode.
    Chunked,
    /// The `Content-Length` value is not a number.
    BadLength,
    /// The connection ended after `got` of `expected` body bytes.
    Truncated {
        /// Body bytes received.
        got: usize,
        /// The `Content-Length`.
        expected: usize,
    },
}

impl<E> HttpError<E> {
    /// The same error with the network error mapped by `f` (for example to print it another
    /// way).
    pub fn map_net<F>(self, f: impl FnOnce(E) -> F) -> HttpError<F> {
        match self {
            HttpError::Net(step, e) => HttpError::Net(step, f(e)),
            HttpError::TimedOut(step) => HttpError::TimedOut(step),
            HttpError::NoHead => HttpError::NoHead,
            HttpError::HeadTooLong(n) => HttpError::HeadTooLong(n),
            HttpError::BadHead => HttpError::BadHead,
            HttpError::Status(code) => HttpError::Status(code),
            HttpError::Chunked => HttpError::Chunked,
            HttpError::BadLength => HttpError::BadLength,
            HttpError::Truncated { got, expected } => HttpError::Truncated { got, expected },
        }
    }
}

impl<E: fmt::Display> fmt::Display for HttpError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Net(step, e) => write!(f, "{step}: {e}"),
            HttpError::TimedOut(step) => write!(f, "{step}: timed out"),
            HttpError::NoHead => f.write_str("the connection ended before the response head"),
            HttpError::HeadTooLong(n) => write!(f, "response head longer than {n} bytes"),
            HttpError::BadHead => f.write_str("malformed response head"),
            HttpError::Status(code) => write!(f, "status {code}"),
            HttpError::Chunked => f.write_str("chunked body (not supported)"),
            HttpError::BadLength => f.write_str("malformed Content-Length"),
            HttpError::Truncated { got, expected } => {
                write!(f, "body ended after {got} of {expected} bytes")
            }
        }
    }
}

/// FNV-1a, 32 bits, continued from `hash` (start with [`FNV1A_START`]).
pub fn fnv1a(mut hash: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    hash
}

/// The FNV-1a offset basis.
pub const FNV1A_START: u32 = 0x811c_9dc5;

/// Retry `op` while it answers `WouldBlock`, calling `idle` in between; `idle` returning
/// `false` gives up with [`HttpError::TimedOut`].
fn retry<T, E>(
    step: &'static str,
    idle: &mut impl FnMut() -> bool,
    mut op: impl FnMut() -> nb::Result<T, E>,
) -> Result<T, HttpError<E>> {
    loop {
        match op() {
            Ok(v) => return Ok(v),
            Err(nb::Error::Other(e)) => return Err(HttpError::Net(step, e)),
            Err(nb::Error::WouldBlock) if idle() => {}
            Err(nb::Error::WouldBlock) => return Err(HttpError::TimedOut(step)),
        }
    }
}

/// Send all of `bytes`.
fn send_all<N: TcpClientStack>(
    net: &mut N,
    socket: &mut N::TcpSocket,
    mut bytes: &[u8],
    idle: &mut impl FnMut() -> bool,
) -> Result<(), HttpError<N::Error>> {
    while !bytes.is_empty() {
        let n = retry("send", idle, || net.send(socket, bytes))?;
        bytes = bytes.get(n..).unwrap_or_default();
    }
    Ok(())
}

/// Receive into `buf`: `Ok(0)` at the end of the stream (embedded-nal reports it as a
/// `PipeClosed` error).
fn receive<N: TcpClientStack>(
    net: &mut N,
    socket: &mut N::TcpSocket,
    buf: &mut [u8],
    idle: &mut impl FnMut() -> bool,
) -> Result<usize, HttpError<N::Error>> {
    match retry("receive", idle, || net.receive(socket, buf)) {
        Err(HttpError::Net(_, e)) if e.kind() == TcpErrorKind::PipeClosed => Ok(0),
        other => other,
    }
}

/// `GET path` from the server at `remote` (`host` is the `Host` header), the body streamed
/// through `buf` (which must hold the whole response head). `idle` is called whenever the
/// network has nothing to do yet: it polls the stack (and may sleep), and returns `false` to
/// give up. The socket is closed in every case.
pub fn get<N: TcpClientStack>(
    net: &mut N,
    remote: SocketAddr,
    host: &str,
    path: &str,
    buf: &mut [u8],
    mut idle: impl FnMut() -> bool,
) -> Result<Page, HttpError<N::Error>> {
    let mut socket = net.socket().map_err(|e| HttpError::Net("socket", e))?;
    let result = exchange(net, &mut socket, remote, host, path, buf, &mut idle);
    // Closing is graceful (FIN after anything queued); its failure changes nothing here.
    let _ = net.close(socket);
    result
}

fn exchange<N: TcpClientStack>(
    net: &mut N,
    socket: &mut N::TcpSocket,
    remote: SocketAddr,
    host: &str,
    path: &str,
    buf: &mut [u8],
    idle: &mut impl FnMut() -> bool,
) -> Result<Page, HttpError<N::Error>> {
    retry("connect", idle, || net.connect(socket, remote))?;
    for part in [
        "GET ",
        path,
        " HTTP/1.0\r\nHost: ",
        host,
        "\r\nUser-Agent: unisock-firmware\r\nAccept: */*\r\n\r\n",
    ] {
        send_all(net, socket, part.as_bytes(), idle)?;
    }

    // The head, and whatever part of the body came with it.
    let mut filled = 0;
    let head_len = loop {
        if let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let Some(free) = buf.get_mut(filled..).filter(|b| !b.is_empty()) else {
            return Err(HttpError::HeadTooLong(buf.len()));
        };
        match receive(net, socket, free, idle)? {
            0 => return Err(HttpError::NoHead),
            n => filled += n,
        }
    };
    let (status, length) = parse_head(&buf[..head_len])?;

    let mut page = Page {
        status,
        len: 0,
        fnv1a: FNV1A_START,
    };
    let take = |page: &mut Page, bytes: &[u8]| {
        // Bytes past the Content-Length are not the body.
        let wanted = length.map_or(bytes.len(), |l| bytes.len().min(l - page.len));
        page.fnv1a = fnv1a(page.fnv1a, &bytes[..wanted]);
        page.len += wanted;
    };
    take(&mut page, &buf[head_len..filled]);
    while length.is_none_or(|l| page.len < l) {
        match receive(net, socket, buf, idle)? {
            0 => break,
            n => take(&mut page, &buf[..n]),
        }
    }
    match length {
        Some(expected) if page.len < expected => Err(HttpError::Truncated {
            got: page.len,
            expected,
        }),
        _ => Ok(page),
    }
}

/// The status and `Content-Length` (if any) of a complete response head.
fn parse_head<E>(head: &[u8]) -> Result<(u16, Option<usize>), HttpError<E>> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(HttpError::BadHead),
    }
    let status = response.code.ok_or(HttpError::BadHead)?;
    if !(200..300).contains(&status) {
        return Err(HttpError::Status(status));
    }
    let mut length = None;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("transfer-encoding")
            && !header.value.eq_ignore_ascii_case(b"identity")
        {
            return Err(HttpError::Chunked);
        }
        if header.name.eq_ignore_ascii_case("content-length") {
            let value = core::str::from_utf8(header.value).map_err(|_| HttpError::BadLength)?;
            length = Some(value.trim().parse().map_err(|_| HttpError::BadLength)?);
        }
    }
    Ok((status, length))
}
