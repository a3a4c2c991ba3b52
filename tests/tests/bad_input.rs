//! The bad-input catalogue (`unisock_conformance::faults::bad_input`) on both backends, plus
//! the backend-specific cases: stale descriptors on the kernel backend; stale and foreign
//! handles on smoltcp. The wire-level cases for smoltcp (malformed frames fed to listening and
//! established sockets) are in the `wire` module at the end.
//!
//! The kernel backend runs inside a private network namespace (root; without root it runs on
//! the host's loopback and skips the cases that would address anything else), where a TAP
//! device that nobody reads gives a silent host (`unisock_conformance::faults::setup`).

use std::net::{Ipv4Addr, SocketAddr};

use unisock::ErrorKind;
use unisock_conformance::faults::bad_input::{Expect, Net};
use unisock_conformance::faults::setup;

mod posix {
    use super::*;
    use std::os::fd::OwnedFd;

    use unisock::prelude::*;
    use unisock_conformance::util::{assert_kind, serial};
    use unisock_posix::{PosixStack, TcpStream, UdpSocket};

    const EXPECT: Expect = Expect {
        name: "posix",
        stream_to_group: ErrorKind::NetworkUnreachable,
    };

    fn with_net(f: impl FnOnce(&Net<PosixStack>) + Send) {
        setup::posix(EXPECT, &[], f)
    }

    unisock_conformance::bad_input_tests!(with_net;
        #[ignore = "backend bug: unisock-posix connects to 0.0.0.0:p (Linux routes it to \
            loopback) instead of refusing the unspecified remote with InvalidInput"]
        connect_unspecified_remote,
        #[ignore = "backend bug: unisock-posix reports ConnectionRefused (ECONNREFUSED) for \
            a connect to port 0; the contract says InvalidInput (a zero port where one is \
            required)"]
        connect_port_zero,
        connect_broadcast_or_multicast,
        family_mismatch,
        bind_non_local,
        double_bind,
        datagram_before_connect,
        after_shutdown,
        zero_length_buffers,
        datagram_truncation,
        oversize_datagram,
        malformed_targets,
        errors_keep_the_stream,
        connect_silent_host_times_out,
    );

    /// A descriptor that is not a socket, adopted as one: every call fails with
    /// `StaleHandle` (`ENOTSOCK`), nothing panics.
    #[test]
    fn descriptor_that_is_not_a_socket_is_stale() {
        let _serial = serial();
        let file = std::fs::File::open("/dev/null").expect("open /dev/null");
        let mut s = TcpStream::from(OwnedFd::from(file));
        let mut buf = [0u8; 4];
        assert_kind(s.try_read(&mut buf), ErrorKind::StaleHandle);
        assert_kind(s.send(b"x", SendFlags::NONE), ErrorKind::StaleHandle);
        assert_kind(s.peer_addr(), ErrorKind::StaleHandle);
        assert_kind(s.local_addr(), ErrorKind::StaleHandle);
        assert_kind(s.shutdown(Shutdown::Both), ErrorKind::StaleHandle);
        let file = std::fs::File::open("/dev/null").expect("open /dev/null");
        let mut u = UdpSocket::from(OwnedFd::from(file));
        assert_kind(
            u.try_recv_from(&mut buf, RecvFlags::NONE),
            ErrorKind::StaleHandle,
        );
        assert_kind(
            u.send_to(
                b"x",
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 9),
                SendFlags::NONE,
            ),
            ErrorKind::StaleHandle,
        );
    }
}

mod smoltcp_loopback {
    use super::*;

    use unisock::prelude::*;
    use unisock_conformance::util::assert_kind;
    use unisock_smoltcp::{Config, StdStack};

    const EXPECT: Expect = Expect {
        name: "smoltcp-loopback",
        stream_to_group: ErrorKind::NetworkUnreachable,
    };

    fn with_net(f: impl FnOnce(&Net<&setup::Loop>)) {
        setup::smoltcp(EXPECT, Config::loopback(), f)
    }

    unisock_conformance::bad_input_tests!(with_net;
        connect_unspecified_remote,
        connect_port_zero,
        connect_broadcast_or_multicast,
        family_mismatch,
        bind_non_local,
        double_bind,
        datagram_before_connect,
        after_shutdown,
        zero_length_buffers,
        datagram_truncation,
        oversize_datagram,
        malformed_targets,
        errors_keep_the_stream,
        connect_silent_host_times_out,
    );

    /// A handle of a closed socket is stale, also after its slot was reused (generation
    /// check); a handle from another stack is stale on this one.
    #[test]
    fn stale_and_foreign_handles() {
        let a = StdStack::loopback(Config::loopback()).expect("stack a");
        let b = StdStack::loopback(Config::loopback()).expect("stack b");
        let (sa, sb) = (a.stack(), b.stack());
        let s = sa.tcp_socket(Domain::Ipv4).expect("tcp_socket");
        let h = s.handle();
        assert!(sa.socket_info(h).is_ok(), "a live handle is valid");
        assert_kind(sb.socket_info(h), ErrorKind::StaleHandle);
        drop(s);
        assert_kind(sa.socket_info(h), ErrorKind::StaleHandle);
        // Reuse the slots: the old handle must not alias a new socket.
        let again: Vec<_> = (0..4)
            .map(|_| sa.tcp_socket(Domain::Ipv4).expect("tcp"))
            .collect();
        assert!(
            again.iter().all(|s| s.handle() != h),
            "a new socket got the old handle"
        );
        assert_kind(sa.socket_info(h), ErrorKind::StaleHandle);
        drop(again);
        assert_eq!(sa.open_sockets(), 0);
        assert_eq!(sb.open_sockets(), 0);
    }
}
