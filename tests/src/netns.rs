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
