//! Just enough HTTP/1.1 for the examples: a GET client and a one-request-per-connection server,
//! both written once over the unisock stream traits.
//!
//! Modelled: `GET` (client and server) and `HEAD` (server), `Connection: close` on every
//! response, `Content-Length` and `Transfer-Encoding: chunked` response bodies (client),
//! serving one fixed page or the files under a directory (server).
//!
//! Not supported: TLS (`https://` is refused with a clear error), keep-alive and pipelining
//! (every connection carries one request), request bodies, ranges, conditional requests,
//! percent-encoded bytes outside UTF-8 in paths, and content negotiation.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use std::time::Duration;
use unisock::resolve::{DEFAULT_PORT, parse_target};

use unisock::{
    Association, ConnectOptions, MakeConnectionError, Shutdown, SockOpt, Socket, Stack,
    StreamSocket, TargetError,
};

/// The most bytes a request or response head (start line and headers) may have.
pub const MAX_HEAD: usize = 16 * 1024;

/// The most bytes of response (head and body) the client keeps; more is an error.
pub const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// What to GET: host, port and path, parsed from the `http-get` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `host[:port]` as given (an IPv6 literal keeps its brackets), for `make_connection`.
    pub target: String,
    /// The `Host` header value.
    pub host_header: String,
    /// The request path, starting with `/`.
    pub path: String,
}

/// Why a target or URL was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// A scheme other than `http://` (`https://` needs TLS, which the examples do not have).
    UnsupportedScheme(String),
    /// The `host[:port]` part is malformed.
    Target(TargetError),
    /// The path contains a space or control character (at this byte offset).
    BadPath(usize),
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::UnsupportedScheme(s) => {
                write!(
                    f,
                    "unsupported URL scheme {s:?} (only http:// is supported)"
                )
            }
            UrlError::Target(e) => write!(f, "bad host: {e}"),
            UrlError::BadPath(at) => {
                write!(f, "path has a space or control character at byte {at}")
            }
        }
    }
}

impl std::error::Error for UrlError {}

impl Url {
    /// Parse `host[:port]` or `http://host[:port][/path]`; `path`, if given, overrides the
    /// URL's path. A path without a leading `/` gets one.
    pub fn parse(target: &str, path: Option<&str>) -> Result<Url, UrlError> {
        let rest = match target.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => return Err(UrlError::UnsupportedScheme(scheme.to_string())),
            None => target,
        };
        let (authority, url_path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let parsed = parse_target(authority, DEFAULT_PORT).map_err(UrlError::Target)?;
        let mut path = path.unwrap_or(url_path).to_string();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if let Some(at) = path.bytes().position(|b| b <= b' ' || b == 0x7f) {
            return Err(UrlError::BadPath(at));
        }
        let host_header = match (parsed.host, parsed.port) {
            (host, DEFAULT_PORT) => host.to_string(),
            (host, port) => format!("{host}:{port}"),
        };
        // Written back with an explicit port; a bracket-less IPv6 literal gets its brackets
        // back so the port can follow.
        let target = format!("{}:{}", parsed.host, parsed.port);
        Ok(Url {
            target,
            host_header,
            path,
        })
    }
}

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The protocol version, e.g. `HTTP/1.1`.
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, with any chunked transfer coding removed.
    pub body: Vec<u8>,
}

impl Response {
    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why an HTTP exchange failed.
#[derive(Debug)]
pub enum HttpError<E> {
    /// Connecting failed (bad target, resolution, every address refused).
    Connect(MakeConnectionError<E>),
    /// A socket call failed.
    Io(E),
    /// The peer closed the connection before a complete head arrived.
    IncompleteHead,
    /// The head was longer than [`MAX_HEAD`].
    HeadTooLarge,
    /// The response was longer than [`MAX_RESPONSE`].
    ResponseTooLarge,
    /// The response is not valid HTTP (what was wrong).
    Malformed(&'static str),
    /// The body ended before its declared length (bytes received, bytes declared).
    ShortBody(usize, usize),
}

impl<E: unisock::Error + fmt::Display> fmt::Display for HttpError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Connect(e) => write!(f, "{e} [{:?}]", e.kind()),
            HttpError::Io(e) => write!(f, "{e} [{:?}]", e.socket_kind()),
            HttpError::IncompleteHead => {
                f.write_str("connection closed before a complete HTTP head arrived")
            }
            HttpError::HeadTooLarge => write!(f, "HTTP head longer than {MAX_HEAD} bytes"),
            HttpError::ResponseTooLarge => {
                write!(f, "HTTP response longer than {MAX_RESPONSE} bytes")
            }
            HttpError::Malformed(what) => write!(f, "malformed HTTP response: {what}"),
            HttpError::ShortBody(got, want) => {
                write!(f, "body ended after {got} of {want} declared bytes")
            }
        }
    }
}

impl<E: unisock::Error + fmt::Display> std::error::Error for HttpError<E> {}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Send a `GET path` request for `host_header` with `Connection: close` over `conn`.
pub fn send_get<T: StreamSocket>(
    conn: &mut T,
    host_header: &str,
    path: &str,
) -> Result<(), T::Error> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: unisock-http-get/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    conn.write_all(request.as_bytes())?;
    conn.flush()
}

/// Read the whole response from `conn` (until the server closes) and parse it.
pub fn read_response<T: StreamSocket>(conn: &mut T) -> Result<Response, HttpError<T::Error>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = conn.read(&mut buf).map_err(HttpError::Io)?;
        if n == 0 {
            break;
        }
        if data.len() + n > MAX_RESPONSE {
            return Err(HttpError::ResponseTooLarge);
        }
        data.extend_from_slice(&buf[..n]);
    }
    parse_response(&data)
}

/// Parse a complete response (head and body up to the end of the connection).
pub fn parse_response<E>(data: &[u8]) -> Result<Response, HttpError<E>> {
    let head_end = match find_head_end(data) {
        Some(end) if end <= MAX_HEAD => end,
        Some(_) => return Err(HttpError::HeadTooLarge),
        None if data.len() > MAX_HEAD => return Err(HttpError::HeadTooLarge),
        None => return Err(HttpError::IncompleteHead),
    };
    let head = std::str::from_utf8(&data[..head_end - 4])
        .map_err(|_| HttpError::Malformed("head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/") {
        return Err(HttpError::Malformed(
            "status line does not start with HTTP/",
        ));
    }
    let status = parts
        .next()
        .filter(|s| s.len() == 3)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(HttpError::Malformed("status code is not three digits"))?;
    let reason = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or(HttpError::Malformed("header line without ':'"))?;
        if name.is_empty() || name.bytes().any(|b| b <= b' ') {
            return Err(HttpError::Malformed("invalid header name"));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut response = Response {
        version: version.to_string(),
        status,
        reason,
        headers,
        body: Vec::new(),
    };
    let raw_body = &data[head_end..];
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    response.body = if chunked {
        dechunk(raw_body)?
    } else if let Some(len) = response.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| HttpError::Malformed("Content-Length is not a number"))?;
        match raw_body.get(..len) {
            Some(body) => body.to_vec(),
            None => return Err(HttpError::ShortBody(raw_body.len(), len)),
        }
    } else {
        raw_body.to_vec()
    };
    Ok(response)
}

fn dechunk<E>(mut data: &[u8]) -> Result<Vec<u8>, HttpError<E>> {
    let mut body = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(HttpError::Malformed("chunk size line not terminated"))?;
        let line = std::str::from_utf8(&data[..line_end])
            .map_err(|_| HttpError::Malformed("chunk size is not UTF-8"))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| HttpError::Malformed("chunk size is not hexadecimal"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = data
            .get(..size)
            .ok_or(HttpError::ShortBody(data.len(), size))?;
        body.extend_from_slice(chunk);
        data = data
            .get(size..)
            .and_then(|rest| rest.strip_prefix(b"\r\n"))
            .ok_or(HttpError::Malformed("chunk not followed by CRLF"))?;
    }
}

/// The tutorial's MakeConnection put to use: connect to `url` (trying every address the
/// host resolves to, each for at most `timeout`), GET its path (each read bounded by
/// `timeout`), and return the response. `on_connect` is told the association of the
/// connection as soon as it is established.
pub fn http_get<S: Stack>(
    stack: &S,
    url: &Url,
    timeout: Duration,
    on_connect: impl FnOnce(&Association),
) -> Result<Response, HttpError<S::Error>> {
    let options = ConnectOptions {
        default_port: DEFAULT_PORT,
        timeout_per_address: Some(timeout),
    };
    let mut conn =
        unisock::make_connection_with(stack, &url.target, options).map_err(HttpError::Connect)?;
    conn.set_option(SockOpt::ReadTimeout(Some(timeout)))
        .map_err(HttpError::Io)?;
    on_connect(&conn.association().map_err(HttpError::Io)?);
    send_get(&mut conn, &url.host_header, &url.path).map_err(HttpError::Io)?;
    read_response(&mut conn)
}

/// What an HTTP server serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    /// One page at `/` (and `/index.html`); every other path is 404.
    Page {
        /// The `Content-Type` of the page.
        content_type: String,
        /// The page.
        body: Vec<u8>,
    },
    /// The files under this directory; a directory serves its `index.html` or a listing.
    Root(PathBuf),
}

/// What the server did with one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The request method (empty if the request was malformed).
    pub method: String,
    /// The request path (empty if the request was malformed).
    pub path: String,
    /// The status code sent.
    pub status: u16,
    /// Body bytes sent.
    pub body_bytes: usize,
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("txt" | "md" | "rs" | "toml") => "text/plain; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn error_page(status: u16) -> (u16, String, Vec<u8>) {
    let body = format!("{status} {}\n", reason(status)).into_bytes();
    (status, "text/plain; charset=utf-8".to_string(), body)
}

fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn listing(dir: &Path, url_path: &str) -> std::io::Result<Vec<u8>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| {
            let mut name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                name.push('/');
            }
            name
        })
        .collect();
    names.sort();
    let base = if url_path.ends_with('/') {
        url_path.to_string()
    } else {
        format!("{url_path}/")
    };
    let mut page = format!(
        "<!DOCTYPE html>\n<html><head><title>Index of {0}</title></head><body>\n<h1>Index of {0}</h1>\n<ul>\n",
        html_escape(url_path)
    );
    for name in names {
        let name = html_escape(&name);
        page.push_str(&format!("<li><a href=\"{base}{name}\">{name}</a></li>\n"));
    }
    page.push_str("</ul>\n</body></html>\n");
    Ok(page.into_bytes())
}

/// Map a request path to a status and body for `site`.
fn resolve_path(site: &Site, path: &str) -> (u16, String, Vec<u8>) {
    match site {
        Site::Page { content_type, body } => match path {
            "/" | "/index.html" => (200, content_type.clone(), body.clone()),
            _ => error_page(404),
        },
        Site::Root(root) => {
            let Some(decoded) = percent_decode(path) else {
                return error_page(400);
            };
            let relative = Path::new(decoded.trim_start_matches('/'));
            // Only plain names: no `..`, no root, no prefix can leave the directory.
            if !relative
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
            {
                return error_page(403);
            }
            let mut file = root.join(relative);
            if file.is_dir() {
                let index = file.join("index.html");
                if index.is_file() {
                    file = index;
                } else {
                    return match listing(&file, &decoded) {
                        Ok(page) => (200, "text/html; charset=utf-8".to_string(), page),
                        Err(_) => error_page(403),
                    };
                }
            }
            match std::fs::read(&file) {
                Ok(body) => (200, content_type(&file).to_string(), body),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => error_page(404),
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => error_page(403),
                Err(_) => error_page(500),
            }
        }
    }
}

/// Serve one request on an accepted connection: read the request head, answer it with
/// `Connection: close`, then half-close. A client that closes before sending a complete head
/// gets no answer (`HttpError::IncompleteHead`); a malformed request gets 400, an oversized
/// head 431, methods other than `GET`/`HEAD` 405.
///
/// The caller bounds how long a silent client can hold the connection, with
/// [`SockOpt::ReadTimeout`].
pub fn serve_connection<T: StreamSocket>(
    conn: &mut T,
    site: &Site,
) -> Result<Served, HttpError<T::Error>> {
    let mut head = vec![0u8; MAX_HEAD];
    let mut len = 0;
    let head_end = loop {
        if let Some(end) = find_head_end(&head[..len]) {
            break Some(end);
        }
        if len == head.len() {
            break None;
        }
        let n = conn.read(&mut head[len..]).map_err(HttpError::Io)?;
        if n == 0 {
            return Err(HttpError::IncompleteHead);
        }
        len += n;
    };
    let mut method = String::new();
    let mut path = String::new();
    let (status, ctype, body) = match head_end {
        None => error_page(431),
        Some(end) => match std::str::from_utf8(&head[..end]) {
            Err(_) => error_page(400),
            Ok(text) => {
                let request_line = text.split("\r\n").next().unwrap_or("");
                let parts: Vec<&str> = request_line.split(' ').collect();
                match parts.as_slice() {
                    [m, target, version] if version.starts_with("HTTP/1.") => {
                        method = m.to_string();
                        path = target.split('?').next().unwrap_or("").to_string();
                        if *m != "GET" && *m != "HEAD" {
                            error_page(405)
                        } else if !path.starts_with('/') {
                            error_page(400)
                        } else {
                            resolve_path(site, &path)
                        }
                    }
                    [_, _, version] if version.starts_with("HTTP/") => error_page(505),
                    _ => error_page(400),
                }
            }
        },
    };
    let mut response = format!(
        "HTTP/1.1 {status} {}\r\nServer: unisock-http-serve/{}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reason(status),
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    if status == 405 {
        response.push_str("Allow: GET, HEAD\r\n");
    }
    response.push_str("\r\n");
    conn.write_all(response.as_bytes()).map_err(HttpError::Io)?;
    let body_bytes = if method == "HEAD" { 0 } else { body.len() };
    conn.write_all(&body[..body_bytes]).map_err(HttpError::Io)?;
    conn.flush().map_err(HttpError::Io)?;
    conn.shutdown(Shutdown::Write).map_err(HttpError::Io)?;
    Ok(Served {
        method,
        path,
        status,
        body_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        let u = Url::parse("example.org", None).unwrap();
        assert_eq!(
            (u.target.as_str(), u.host_header.as_str(), u.path.as_str()),
            ("example.org:80", "example.org", "/")
        );
        let u = Url::parse("http://127.0.0.1:8080/a/b?x=1", None).unwrap();
        assert_eq!(
            (u.target.as_str(), u.host_header.as_str(), u.path.as_str()),
            ("127.0.0.1:8080", "127.0.0.1:8080", "/a/b?x=1")
        );
        let u = Url::parse("HTTP://[::1]:81", Some("x")).unwrap();
        assert_eq!(
            (u.target.as_str(), u.host_header.as_str(), u.path.as_str()),
            ("[::1]:81", "[::1]:81", "/x")
        );
        assert_eq!(
            Url::parse("https://a", None),
            Err(UrlError::UnsupportedScheme("https".into()))
        );
        assert_eq!(
            Url::parse("a:0", None),
            Err(UrlError::Target(TargetError::ZeroPort))
        );
        assert_eq!(Url::parse("a", Some("/b c")), Err(UrlError::BadPath(2)));
    }

    #[test]
    fn parses_content_length_and_chunked_bodies() {
        let r = parse_response::<()>(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello")
            .unwrap();
        assert_eq!((r.status, r.reason.as_str()), (200, "OK"));
        assert_eq!(r.header("x"), Some("y"));
        assert_eq!(r.body, b"hello");
        let r = parse_response::<()>(
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.body, b"abcde");
        assert!(!r.is_success());
        assert!(matches!(
            parse_response::<()>(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"),
            Err(HttpError::ShortBody(3, 9))
        ));
        assert!(matches!(
            parse_response::<()>(b"HTTP/1.1 200 OK\r\n"),
            Err(HttpError::IncompleteHead)
        ));
        assert!(matches!(
            parse_response::<()>(b"SMTP 220 hi\r\n\r\n"),
            Err(HttpError::Malformed(_))
        ));
        assert!(matches!(
            parse_response::<()>(b"HTTP/1.1 2000 OK\r\n\r\n"),
            Err(HttpError::Malformed(_))
        ));
    }

    #[test]
    fn paths_cannot_leave_the_root() {
        let root = std::env::temp_dir().join(format!("unisock-http-{}", std::process::id()));
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.txt"), b"A").unwrap();
        let site = Site::Root(root.clone());
        assert_eq!(resolve_path(&site, "/sub/a.txt").0, 200);
        assert_eq!(resolve_path(&site, "/sub/a.txt").2, b"A");
        assert_eq!(resolve_path(&site, "/sub/%61.txt").2, b"A");
        assert_eq!(resolve_path(&site, "/sub/../../etc/passwd").0, 403);
        assert_eq!(resolve_path(&site, "/%2e%2e/x").0, 403);
        assert_eq!(resolve_path(&site, "/nope").0, 404);
        assert_eq!(resolve_path(&site, "/%zz").0, 400);
        let (status, _, page) = resolve_path(&site, "/sub/");
        assert_eq!(status, 200);
        assert!(String::from_utf8(page).unwrap().contains("a.txt"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
