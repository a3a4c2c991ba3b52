//! The process-wide socket counter returns to its start value. Every test in this file holds
//! `LOCK`, so parallel tests do not disturb each other's counts.

use std::sync::Mutex;

use unisock::prelude::*;
use unisock::{Stack, StreamListener};
use unisock_posix::{PosixStack, UdpSocket, UnixDatagram, UnixStream};

static LOCK: Mutex<()> = Mutex::new(());

#[test]
fn counter_tracks_every_socket_kind() {
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let stack = PosixStack;
    let start = stack.open_sockets();
    {
        let mut l = stack.listen("127.0.0.1:0".parse().unwrap(), 4).unwrap();
        assert_eq!(stack.open_sockets(), start + 1);
        let c = stack.connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        assert_eq!(stack.open_sockets(), start + 3);
        c.abort().unwrap();
        assert_eq!(stack.open_sockets(), start + 2);
        drop(s);
        let _u = stack.bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
        let _pair = UnixStream::pair().unwrap();
        let _d = UnixDatagram::unbound().unwrap();
        assert_eq!(stack.open_sockets(), start + 5);
    }
    assert_eq!(stack.open_sockets(), start);
}

#[test]
fn conversions_move_sockets_in_and_out_of_the_count() {
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let stack = PosixStack;
    let start = stack.open_sockets();
    let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    assert_eq!(stack.open_sockets(), start);
    let ours = UdpSocket::from(std_sock);
    assert_eq!(stack.open_sockets(), start + 1);
    let back: std::net::UdpSocket = ours.into();
    assert_eq!(stack.open_sockets(), start);
    drop(back);
    // Failed creation counts nothing.
    let e = stack.connect("127.0.0.1:1".parse().unwrap()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    assert_eq!(stack.open_sockets(), start);
}
