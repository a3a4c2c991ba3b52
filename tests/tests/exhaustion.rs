//! Resource exhaustion on both backends (scenarios in
//! `unisock_conformance::faults::exhaustion`), plus the backend-specific cases: smoltcp's socket
//! pool, the kernel's file-descriptor limit (in a child process with a low `RLIMIT_NOFILE`) and
//! its ephemeral port range (narrowed inside a private network namespace). Every test ends
//! with zero live sockets (the leak check of the set-up).

use std::net::{Ipv4Addr, SocketAddr};

use unisock::ErrorKind;
use unisock::prelude::*;
use unisock_conformance::faults::bad_input::{Expect, Net};
use unisock_conformance::faults::exhaustion::{
    Backlog, backlog_overrun, short_connections_one_port_pair, zero_window_then_resume,
};
use unisock_conformance::faults::setup;
use unisock_conformance::util::{assert_kind, ok};

const SHORT_CONNECTIONS: usize = 1000;

mod posix {
    use super::*;

    use unisock::StreamListener;
    use unisock_posix::PosixStack;

    const EXPECT: Expect = Expect {
        name: "posix",
        stream_to_group: ErrorKind::NetworkUnreachable,
    };

    /// Linux queues backlog + 1 and drops further SYNs: the client's connect times out.
    const BACKLOG: Backlog = Backlog {
        extra: 1,
        overflow: ErrorKind::TimedOut,
    };

    fn with_net(f: impl FnOnce(&Net<PosixStack>) + Send) {
        setup::posix(EXPECT, &[], f)
    }

    #[test]
    fn zero_window() {
        with_net(zero_window_then_resume);
    }

    #[test]
    fn backlog() {
        with_net(|n| backlog_overrun(n, BACKLOG));
    }

    #[test]
    fn short_connections_through_time_wait() {
        with_net(|n| short_connections_one_port_pair(n, SHORT_CONNECTIONS));
    }

    /// With the namespace's ephemeral range narrowed to 8 ports, connects to one listener fail
    /// with `AddrNotAvailable` (`EADDRNOTAVAIL`) once the range is used, and port-0 listeners
    /// with `AddrInUse`; after closing, connecting works again.
    #[test]
    fn ephemeral_ports_exhausted() {
        let narrow = "echo '40000 40007' > /proc/sys/net/ipv4/ip_local_port_range";
        setup::posix(EXPECT, &[narrow], |net| {
            if !net.isolated {
                return; // the ephemeral range is only narrowed in a private namespace
            }
            let mut l = ok(
                net.stack.listen(SocketAddr::new(net.v4.into(), 5555), 64),
                "listen",
            );
            let at = ok(l.local_addr(), "local_addr");
            let mut conns = Vec::new();
            let err = loop {
                match net.stack.connect(at) {
                    Ok(c) => conns.push(c),
                    Err(e) => break e,
                }
                assert!(conns.len() <= 8, "more connections than ephemeral ports");
            };
            assert_eq!(err.socket_kind(), ErrorKind::AddrNotAvailable, "{err}");
            assert!(!conns.is_empty(), "no connection at all");
            let mut accepted = Vec::new();
            for _ in 0..conns.len() {
                accepted.push(ok(l.accept(), "accept").0);
            }
            // Port-0 listeners draw from the same (used-up) range.
            assert_kind(
                net.stack.listen(SocketAddr::new(net.v4.into(), 0), 1),
                ErrorKind::AddrInUse,
            );
            // The server closes first, so the client ports do not linger in TIME-WAIT.
            drop(accepted);
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(conns);
            std::thread::sleep(std::time::Duration::from_millis(50));
            let _again = ok(net.stack.connect(at), "connect after the ports were freed");
            ok(l.accept(), "accept after the ports were freed");
        });
    }

    const CHILD_ENV: &str = "UNISOCK_EMFILE_CHILD";
    const CHILD_OK: &str = "EMFILE-CHILD-OK";

    /// The file-descriptor limit: in a child process (this test binary re-run with
    /// `--exact` and an environment variable) with `RLIMIT_NOFILE` = 64, opening sockets
    /// until the limit fails with `OutOfMemory` (`EMFILE`); after closing one, opening works
    /// again, and nothing leaks.
    #[test]
    fn fd_limit_is_out_of_memory() {
        if std::env::var_os(CHILD_ENV).is_some() {
            child();
            return;
        }
        let exe = std::env::current_exe().expect("current_exe");
        let out = std::process::Command::new(exe)
            .args(["--exact", "posix::fd_limit_is_out_of_memory", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD_ENV, "1")
            .output()
            .expect("run the child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains(CHILD_OK),
            "child failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
    }

    fn child() {
        let lim = libc::rlimit {
            rlim_cur: 64,
            rlim_max: 64,
        };
        // SAFETY: setrlimit reads the struct we pass; no other memory is involved.
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
        assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
        let stack = PosixStack;
        let base = stack.open_sockets();
        let any = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0);
        let mut socks = Vec::new();
        let err = loop {
            match stack.bind_udp(any) {
                Ok(s) => socks.push(s),
                Err(e) => break e,
            }
            assert!(socks.len() <= 64, "more sockets than the limit allows");
        };
        assert_eq!(err.socket_kind(), ErrorKind::OutOfMemory, "{err}");
        assert_kind(stack.tcp_socket(Domain::Ipv4), ErrorKind::OutOfMemory);
        socks.pop();
        let one = ok(stack.bind_udp(any), "open after closing one");
        drop(one);
        drop(socks);
        assert_eq!(stack.open_sockets(), base, "sockets leaked");
        println!("{CHILD_OK}");
    }
}

mod smoltcp_loopback {
    use super::*;

    use unisock_smoltcp::{Config, PoolConfig};

    const EXPECT: Expect = Expect {
        name: "smoltcp-loopback",
        stream_to_group: ErrorKind::NetworkUnreachable,
    };

    /// smoltcp arms exactly `backlog` sockets and answers the next SYN with RST.
    const BACKLOG: Backlog = Backlog {
        extra: 0,
        overflow: ErrorKind::ConnectionRefused,
    };

    fn with_net(f: impl FnOnce(&Net<&setup::Loop>)) {
        setup::smoltcp(EXPECT, Config::loopback(), f)
    }

    #[test]
    // The closure is needed: the function path is not general enough over the lifetimes of
    // `&Net<&Loop>` (clippy's suggestion does not compile).
    #[allow(clippy::redundant_closure)]
    fn zero_window() {
        with_net(|n| zero_window_then_resume(n));
    }

    #[test]
    fn backlog() {
        with_net(|n| backlog_overrun(n, BACKLOG));
    }

    #[test]
    fn short_connections_through_time_wait() {
        with_net(|n| short_connections_one_port_pair(n, SHORT_CONNECTIONS));
    }

    /// A pool of 4 TCP and 2 UDP sockets: the 5th TCP and 3rd UDP socket fail with
    /// `OutOfMemory` (never smoltcp's own panic on a full `SocketSet`), a listener whose backlog
    /// needs more slots than are free arms only the free ones (and gives them back on drop), and
    /// after closing everything works again. (smoltcp's ephemeral range, 16384 ports, is far larger than its
    /// pool: port exhaustion cannot be reached before pool exhaustion.)
    #[test]
    fn socket_pool_full() {
        let pool = PoolConfig {
            tcp: 4,
            udp: 2,
            ..PoolConfig::DEFAULT
        };
        setup::smoltcp(EXPECT, Config::loopback().with_pool(pool), |net| {
            let s = net.stack;
            let mut tcp = Vec::new();
            for _ in 0..4 {
                tcp.push(ok(s.tcp_socket(Domain::Ipv4), "tcp_socket within the pool"));
            }
            assert_kind(s.tcp_socket(Domain::Ipv4), ErrorKind::OutOfMemory);
            assert_kind(s.tcp_socket(Domain::Ipv6), ErrorKind::OutOfMemory);
            let any = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0);
            let u1 = ok(s.bind_udp(any), "udp 1");
            let u2 = ok(s.bind_udp(any), "udp 2");
            assert_kind(s.bind_udp(any), ErrorKind::OutOfMemory);
            tcp.truncate(2);
            // Backlog 3 needs 3 slots, 2 are free: the listener arms what it can (documented
            // in unisock-smoltcp's TcpListener), and the pool is then full.
            let partial = ok(
                s.listen(any, 3),
                "listen with fewer free slots than the backlog",
            );
            assert_eq!(
                partial.armed(),
                2,
                "armed sockets of an under-provisioned listener"
            );
            assert_kind(s.tcp_socket(Domain::Ipv4), ErrorKind::OutOfMemory);
            drop(partial);
            assert_eq!(s.open_sockets(), 4, "the listener kept slots after drop");
            drop(tcp);
            drop((u1, u2));
            // Everything works again: a connection with data.
            let mut l = ok(s.listen(any, 1), "listen");
            let at = ok(l.local_addr(), "local_addr");
            let mut c = ok(s.connect(at), "connect");
            let (mut srv, _) = ok(l.accept(), "accept");
            ok(c.write_all(b"after exhaustion"), "write");
            let mut b = [0u8; 16];
            ok(
                srv.set_option(SockOpt::ReadTimeout(Some(std::time::Duration::from_secs(
                    10,
                )))),
                "t",
            );
            let mut got = 0;
            while got < 16 {
                got += ok(srv.read(&mut b[got..]), "read");
            }
            assert_eq!(&b, b"after exhaustion");
        });
    }
}
