//! Stack set-ups shared by the bad-input and exhaustion test binaries: the kernel backend in a
//! private network namespace, and the smoltcp in-process loopback. Each runs the scenario and
//! then the leak check.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use unisock_posix::PosixStack;
use unisock_smoltcp::{Config, Notify, StdClock, StdLoopback, StdStack};

use super::bad_input::{Expect, Net};
use crate::netns::{enter_private_netns, ip};
use crate::util::{LeakCheck, counter, is_root, serial, skip};

/// An address no stack of these tests owns (TEST-NET-1): only ever bound to, never sent to,
/// outside a private namespace.
pub const FOREIGN: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// The silent host of the kernel set-up (behind a TAP device nobody reads).
pub const SILENT: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 2);

/// The smoltcp loopback stack type.
pub type Loop = unisock_smoltcp::Stack<'static, StdLoopback, StdClock, Notify>;

/// Run `f` on the kernel backend, in a fresh thread inside a new network namespace with `lo`
/// up and a silent host [`SILENT`] behind a TAP device (10.99.0.1/24, static neighbour entry)
/// that no process reads, so every frame sent there is discarded. `prepare` runs first in the
/// namespace (for sysctls). The namespace, and the device with it, disappear when the thread
/// ends. Without root: on the host's loopback, not isolated, no silent host (with a notice).
pub fn posix(expect: Expect, prepare: &[&str], f: impl FnOnce(&Net<PosixStack>) + Send) {
    let _serial = serial();
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let isolated = is_root() && enter_private_netns().is_ok();
                let silent = if isolated {
                    let setup: [&[&str]; 4] = [
                        &["tuntap", "add", "silent0", "mode", "tap"],
                        &["addr", "add", "10.99.0.1/24", "dev", "silent0"],
                        &["link", "set", "silent0", "up"],
                        &[
                            "neigh",
                            "add",
                            "10.99.0.2",
                            "lladdr",
                            "02:00:00:00:00:02",
                            "dev",
                            "silent0",
                            "nud",
                            "permanent",
                        ],
                    ];
                    for args in setup {
                        ip(args).unwrap_or_else(|e| panic!("silent host set-up: {e}"));
                    }
                    for cmd in prepare {
                        let st = std::process::Command::new("sh")
                            .args(["-c", cmd])
                            .status()
                            .expect("sh");
                        assert!(st.success(), "namespace preparation failed: {cmd}");
                    }
                    Some(SocketAddr::new(SILENT.into(), 80))
                } else {
                    skip("posix: a private network namespace needs root");
                    None
                };
                let stack = PosixStack;
                let count = counter(&stack);
                let leaks = LeakCheck::new(&[("posix", &count)]);
                f(&Net {
                    stack: &stack,
                    v4: Ipv4Addr::LOCALHOST,
                    v6: Some(Ipv6Addr::LOCALHOST),
                    foreign_v4: FOREIGN,
                    silent,
                    isolated,
                    expect,
                });
                leaks.finish(Duration::from_secs(5));
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
    });
}

/// Run `f` on a fresh smoltcp in-process loopback stack (127.0.0.1/8, ::1) with `config`. Its
/// silent host is 127.0.0.2: the frame loops back and smoltcp drops it (not its address), so
/// nothing ever answers; nothing leaves the process.
pub fn smoltcp(expect: Expect, config: Config, f: impl FnOnce(&Net<&Loop>)) {
    let net = StdStack::loopback(config).expect("loopback stack");
    let stack = net.stack();
    let count = counter(&stack);
    let leaks = LeakCheck::new(&[("smoltcp", &count)]);
    f(&Net {
        stack: &stack,
        v4: Ipv4Addr::LOCALHOST,
        v6: Some(Ipv6Addr::LOCALHOST),
        foreign_v4: FOREIGN,
        silent: Some(SocketAddr::new(Ipv4Addr::new(127, 0, 0, 2).into(), 80)),
        isolated: true,
        expect,
    });
    leaks.finish(Duration::from_secs(5));
}
