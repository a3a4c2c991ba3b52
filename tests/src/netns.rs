//! Private network namespaces for the tests that put traffic on a TAP device.
//!
//! [`enter_private_netns`] moves the *calling thread* (and every thread and process it starts
//! afterwards) into a new, empty network namespace with only `lo` up; nothing sent from there can
//! leave it. Each TAP test calls it first, creates its TAP device inside, and addresses it with
//! [`ip`]. The namespace disappears when the last thread in it ends.

use std::process::Command;

/// Why a private namespace could not be made.
#[derive(Debug)]
pub struct NetnsError(pub String);

impl std::fmt::Display for NetnsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Move the calling thread into a new network namespace and bring its loopback up.
pub fn enter_private_netns() -> Result<(), NetnsError> {
    // SAFETY: unshare only changes the calling thread's namespace membership; no memory is
    // involved.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(NetnsError(format!(
            "unshare(CLONE_NEWNET): {}",
            std::io::Error::last_os_error()
        )));
    }
    ip(&["link", "set", "lo", "up"])
}

/// Run `ip ARGS...` (from iproute2) in the calling thread's namespace; fails with its stderr.
pub fn ip(args: &[&str]) -> Result<(), NetnsError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| NetnsError(format!("cannot run ip: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NetnsError(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Give the kernel side of TAP interface `name` its addresses and bring it up: `v4` and `v6`
/// in CIDR notation (IPv6 without duplicate address detection, so it is usable at once).
pub fn configure_kernel_side(name: &str, v4: &str, v6: Option<&str>) -> Result<(), NetnsError> {
    ip(&["addr", "add", v4, "dev", name])?;
    if let Some(v6) = v6 {
        ip(&["-6", "addr", "add", v6, "dev", name, "nodad"])?;
    }
    ip(&["link", "set", name, "up"])
}

/// A private network namespace with TAP device `tap`: smoltcp (a
/// [`TapStack`](unisock_smoltcp::TapStack) with its driver thread) at `smol_v4`/24 and
/// `smol_v6`/64, the kernel side at `kernel_v4` and `kernel_v6` (CIDR strings). Moves the
/// calling thread into the namespace. `None`, after a skip notice (a failure under
/// `CI=true`), without root or namespaces.
pub fn tap_stack(
    tap: &str,
    smol_v4: std::net::Ipv4Addr,
    smol_v6: std::net::Ipv6Addr,
    kernel_v4: &str,
    kernel_v6: &str,
) -> Option<unisock_smoltcp::TapStack> {
    tap_setup(
        tap,
        (smol_v4, smol_v6),
        (kernel_v4, kernel_v6),
        unisock_smoltcp::StdStack::tap,
    )
}

/// As [`tap_stack`], but the stack has no driver thread: an
/// [`AsyncTapStack`](unisock_smoltcp::AsyncTapStack) and the
/// [`TapSleep`](unisock_smoltcp::TapSleep) for its runner future, which the test runs on its
/// own thread ([`Stack::tap_async`](unisock_smoltcp::Stack::tap_async)).
pub fn tap_async_stack(
    tap: &str,
    smol_v4: std::net::Ipv4Addr,
    smol_v6: std::net::Ipv6Addr,
    kernel_v4: &str,
    kernel_v6: &str,
) -> Option<(unisock_smoltcp::AsyncTapStack, unisock_smoltcp::TapSleep)> {
    tap_setup(
        tap,
        (smol_v4, smol_v6),
        (kernel_v4, kernel_v6),
        unisock_smoltcp::Stack::tap_async,
    )
}

/// The namespace, TAP interface `tap` opened by `open` with smoltcp's addresses `smol`, and
/// the kernel side at `kernel` (CIDR strings); `None` after a skip notice.
fn tap_setup<T>(
    tap: &str,
    smol: (std::net::Ipv4Addr, std::net::Ipv6Addr),
    kernel: (&str, &str),
    open: impl FnOnce(unisock_smoltcp::TapOptions) -> unisock_smoltcp::Result<T>,
) -> Option<T> {
    use std::net::IpAddr;
    use unisock_smoltcp::{Cidr, TapOptions};
    if !crate::util::is_root() {
        crate::util::skip("TAP tests need root (network namespace and TAP device)");
        return None;
    }
    if let Err(e) = enter_private_netns() {
        crate::util::skip(&format!("cannot make a private network namespace: {e}"));
        return None;
    }
    let stack = open(TapOptions {
        name: tap.into(),
        ips: vec![
            Cidr::new(IpAddr::V4(smol.0), 24).expect("cidr"),
            Cidr::new(IpAddr::V6(smol.1), 64).expect("cidr"),
        ],
        ..TapOptions::default()
    })
    .unwrap_or_else(|e| panic!("TAP stack: {e}"));
    configure_kernel_side(tap, kernel.0, Some(kernel.1)).unwrap_or_else(|e| panic!("{e}"));
    Some(stack)
}
