//! Conversions to and from `std::net` and descriptors.

use std::io::{Read as _, Write as _};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};

use unisock::prelude::*;
use unisock::{DatagramSocket, StreamListener};
use unisock_posix::{TcpListener, TcpStream, UdpSocket, UnixStream};

#[test]
fn tcp_from_and_into_std() {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let mut listener = TcpListener::from(std_listener);
    assert_eq!(listener.local_addr().unwrap(), addr);
    // The listener was made non-blocking for try_accept.
    assert_eq!(
        listener.try_accept().unwrap_err().kind(),
        ErrorKind::WouldBlock
    );

    let std_client = std::net::TcpStream::connect(addr).unwrap();
    let mut client = TcpStream::from(std_client);
    let (server, _) = listener.accept().unwrap();
    client.write_all(b"to std").unwrap();
    let mut std_server: std::net::TcpStream = server.into();
    let mut buf = [0u8; 6];
    std_server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"to std");
    std_server.write_all(b"ok").unwrap();
    let mut two = [0u8; 2];
    client.read_exact(&mut two).unwrap();
    assert_eq!(&two, b"ok");

    // Back to std: the listener blocks again (accept waits for the connection made here).
    let std_listener: std::net::TcpListener = listener.into();
    let _c = std::net::TcpStream::connect(addr).unwrap();
    let (_s, peer) = std_listener.accept().unwrap();
    assert!(peer.ip().is_loopback());
}

#[test]
fn udp_from_and_into_std() {
    let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut ours = UdpSocket::from(std_sock);
    ours.send_to(b"u", peer.local_addr().unwrap(), SendFlags::NONE)
        .unwrap();
    let mut buf = [0u8; 2];
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!((n, from), (1, ours.local_addr().unwrap()));
    let back: std::net::UdpSocket = ours.into();
    assert_eq!(back.local_addr().unwrap(), from);
}

#[test]
fn owned_fd_round_trip() {
    let (a, mut b) = UnixStream::pair().unwrap();
    let raw = a.as_raw_fd();
    let fd: OwnedFd = a.into();
    assert_eq!(std::os::fd::AsRawFd::as_raw_fd(&fd), raw);
    let mut a = UnixStream::from(fd);
    a.write_all(b"fd").unwrap();
    let mut buf = [0u8; 2];
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"fd");
    let raw = a.into_raw_fd();
    // SAFETY: `raw` came from `into_raw_fd` just above and is owned by nobody else.
    let mut a = unsafe { UnixStream::from_raw_fd(raw) };
    a.write_all(b"!").unwrap();
    let mut one = [0u8; 1];
    b.read_exact(&mut one).unwrap();
    assert_eq!(&one, b"!");
}

#[test]
fn io_error_conversion_keeps_errno() {
    let (mut a, b) = UnixStream::pair().unwrap();
    drop(b);
    let e = a.write(b"x").unwrap_err();
    let io: std::io::Error = e.into();
    assert_eq!(io.kind(), std::io::ErrorKind::BrokenPipe);
    assert_eq!(io.raw_os_error(), Some(32));
}
