//! UNIX-domain sockets: streams and datagrams over a path and an abstract name, socketpair.

use std::path::PathBuf;

use unisock::prelude::*;
use unisock::{DatagramSocket, StreamListener, StreamSocket, UnixAddr, UnixAddrKind};
use unisock_posix::{UnixDatagram, UnixListener, UnixStream};

/// A fresh socket path in the temporary directory, removed on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(tag: &str) -> TempPath {
        let p =
            std::env::temp_dir().join(format!("unisock-posix-{}-{tag}.sock", std::process::id()));
        let _ = std::fs::remove_file(&p);
        TempPath(p)
    }

    fn addr(&self) -> UnixAddr {
        UnixAddr::pathname(self.0.as_os_str().as_encoded_bytes()).unwrap()
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn abstract_addr(tag: &str) -> UnixAddr {
    UnixAddr::abstract_name(format!("unisock-posix-{}-{tag}", std::process::id()).as_bytes())
        .unwrap()
}

#[track_caller]
fn stream_echo(addr: UnixAddr) {
    let mut listener = UnixListener::bind(&addr, 4).unwrap();
    assert_eq!(listener.local_addr().unwrap(), addr);
    let mut client = UnixStream::connect(&addr).unwrap();
    let (mut server, peer) = listener.accept().unwrap();
    assert_eq!(peer.kind(), UnixAddrKind::Unnamed);
    client.write_all(b"over unix").unwrap();
    let mut buf = [0u8; 9];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"over unix");
    server.write_all(b"back").unwrap();
    let mut back = [0u8; 4];
    client.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"back");
    let a = client.association().unwrap();
    assert_eq!(a.protocol, unisock::Protocol(0));
    assert_eq!(a.remote, addr);
    assert_eq!(a.to_string(), format!("unix (unnamed) -> {addr}"));
    let a = server.association().unwrap();
    assert_eq!(a.to_string(), format!("unix {addr} -> (unnamed)"));
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(server.read(&mut buf).unwrap(), 0);
    // A second listener on the same name is refused.
    assert_eq!(
        UnixListener::bind(&addr, 1).unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
}

#[test]
fn stream_over_a_path() {
    let p = TempPath::new("stream");
    stream_echo(p.addr());
}

#[test]
fn stream_over_an_abstract_name() {
    let a = abstract_addr("stream");
    assert!(a.to_string().starts_with('@'));
    stream_echo(a);
}

#[test]
fn connecting_to_a_missing_path_names_it() {
    let p = TempPath::new("missing");
    let e = UnixStream::connect(&p.addr()).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc_enoent()));
    assert!(
        e.to_string()
            .starts_with(&format!("connect to {}: ", p.0.display())),
        "{e}"
    );
}

fn libc_enoent() -> i32 {
    2
}

#[test]
fn listener_timeout_and_try_accept() {
    let a = abstract_addr("timeout");
    let mut l = UnixListener::bind(&a, 1).unwrap();
    assert_eq!(l.try_accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    l.set_option(SockOpt::ReadTimeout(Some(
        std::time::Duration::from_millis(30),
    )))
    .unwrap();
    assert_eq!(l.accept().unwrap_err().kind(), ErrorKind::TimedOut);
    for opt in [
        SockOpt::NoDelay(true),
        SockOpt::Linger(None),
        SockOpt::ReuseAddr(true),
        SockOpt::Ttl(3),
    ] {
        assert_eq!(
            l.set_option(opt).unwrap_err().kind(),
            ErrorKind::Unsupported,
            "{opt:?}"
        );
    }
    let (mut a, _b) = UnixStream::pair().unwrap();
    a.set_option(SockOpt::SendBufferSize(65536)).unwrap();
    assert!(matches!(
        a.option(SockOptName::SendBufferSize).unwrap(),
        SockOpt::SendBufferSize(n) if n >= 65536
    ));
    assert_eq!(
        a.option(SockOptName::KeepAlive).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

#[test]
fn socketpair_streams() {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    a.write_all(b"pair").unwrap();
    let mut buf = [0u8; 8];
    let n = b.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"pair");
    assert_eq!(a.peer_addr().unwrap(), UnixAddr::UNNAMED);
    assert_eq!(
        a.association().unwrap().to_string(),
        "unix (unnamed) -> (unnamed)"
    );
    drop(b);
    // Peer gone: end of stream on read, BrokenPipe on write, never SIGPIPE.
    assert_eq!(a.read(&mut buf).unwrap(), 0);
    assert_eq!(a.write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
}

#[track_caller]
fn datagram_echo(server_addr: UnixAddr, client_addr: UnixAddr) {
    let mut server = UnixDatagram::bind(&server_addr).unwrap();
    let mut client = UnixDatagram::bind(&client_addr).unwrap();
    client
        .send_to(b"datagram!", server_addr, SendFlags::NONE)
        .unwrap();
    // Truncation: 4 of 9 bytes, full length reported; PEEK first keeps it queued.
    let mut small = [0u8; 4];
    let m = server.recv_from(&mut small, RecvFlags::PEEK).unwrap();
    assert_eq!((m.len, m.full_len), (4, 9));
    assert!(m.truncated());
    let m = server.recv_from(&mut small, RecvFlags::NONE).unwrap();
    assert_eq!((m.len, m.full_len, m.from), (4, 9, client_addr));
    assert_eq!(&small, b"data");
    // The rest of the datagram is gone.
    assert_eq!(
        server
            .try_recv_from(&mut small, RecvFlags::NONE)
            .unwrap_err()
            .kind(),
        ErrorKind::WouldBlock
    );
    server.send_to(b"reply", m.from, SendFlags::NONE).unwrap();
    let mut buf = [0u8; 16];
    let m = client.recv_from(&mut buf, RecvFlags::NONE).unwrap();
    assert_eq!(&buf[..m.len], b"reply");
    assert_eq!(m.from, server_addr);
    assert_eq!(
        server
            .recv_from(&mut buf, RecvFlags::WAITALL)
            .unwrap_err()
            .kind(),
        ErrorKind::Unsupported
    );
    // Connected: send goes to the peer.
    client.connect(server_addr).unwrap();
    assert_eq!(client.peer_addr().unwrap(), server_addr);
    client.send(b"c", SendFlags::NONE).unwrap();
    let m = server.recv(&mut buf, RecvFlags::NONE).unwrap();
    assert_eq!(&buf[..m.len], b"c");
}

#[test]
fn datagram_over_paths() {
    let s = TempPath::new("dgram-server");
    let c = TempPath::new("dgram-client");
    datagram_echo(s.addr(), c.addr());
}

#[test]
fn datagram_over_abstract_names() {
    datagram_echo(abstract_addr("dgram-server"), abstract_addr("dgram-client"));
}

#[test]
fn unbound_datagram_sender_is_unnamed_and_unconnected() {
    let a = abstract_addr("dgram-unbound");
    let mut server = UnixDatagram::bind(&a).unwrap();
    let mut client = UnixDatagram::unbound().unwrap();
    assert_eq!(
        client.peer_addr().unwrap_err().kind(),
        ErrorKind::NotConnected
    );
    assert_eq!(
        client.send(b"x", SendFlags::NONE).unwrap_err().kind(),
        ErrorKind::NotConnected
    );
    client.send_to(b"hi", a, SendFlags::NONE).unwrap();
    let mut buf = [0u8; 4];
    let m = server.recv_from(&mut buf, RecvFlags::NONE).unwrap();
    assert_eq!(&buf[..m.len], b"hi");
    assert_eq!(m.from, UnixAddr::UNNAMED);
}

#[test]
fn datagram_socketpair() {
    let (mut a, mut b) = UnixDatagram::pair().unwrap();
    a.send(b"one", SendFlags::NONE).unwrap();
    let mut buf = [0u8; 8];
    let m = b.recv(&mut buf, RecvFlags::NONE).unwrap();
    assert_eq!(&buf[..m.len], b"one");
}

#[test]
fn oob_on_unix_streams_is_what_the_kernel_says() {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    match a.send(b"u", SendFlags::OOB) {
        Ok(1) => {
            let mut one = [0u8; 1];
            assert_eq!(b.recv(&mut one, RecvFlags::OOB).unwrap(), 1);
            assert_eq!(&one, b"u");
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}"),
        Ok(n) => panic!("sent {n} bytes of a 1-byte OOB message"),
    }
}
