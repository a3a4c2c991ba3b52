//! The few Linux calls the benchmark makes itself: network namespaces, CPU pinning, the
//! congestion-control algorithm of a socket, peak RSS, and running `ip`.

use std::fs::File;
use std::os::fd::{AsRawFd, RawFd};
use std::process::Command;

use crate::harness::BenchResult;

/// Move the calling thread into a new, empty network namespace (`unshare(CLONE_NEWNET)`) and
/// bring its loopback up. Threads and processes started from it afterwards inherit it; the
/// namespace disappears when the last of them exits. Needs `CAP_SYS_ADMIN`.
pub fn enter_private_netns() -> BenchResult<()> {
    // SAFETY: `unshare` takes a flag word and touches no memory of ours.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(format!(
            "unshare(CLONE_NEWNET): {}",
            std::io::Error::last_os_error()
        ));
    }
    ip(&["link", "set", "lo", "up"])
}

/// Run `ip ARGS` (in the calling thread's network namespace) and fail with its stderr if it
/// fails.
pub fn ip(args: &[&str]) -> BenchResult<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("running ip {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A named network namespace (`ip netns add`), deleted again on drop.
pub struct NamedNetns {
    name: String,
}

impl NamedNetns {
    /// Create namespace `name` with its loopback up.
    pub fn create(name: &str) -> BenchResult<NamedNetns> {
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        ip(&["netns", "add", name])?;
        let ns = NamedNetns { name: name.into() };
        ip(&["-n", name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Move the calling thread into this namespace (`setns`).
    pub fn enter(&self) -> BenchResult<()> {
        let path = format!("/run/netns/{}", self.name);
        let f = File::open(&path).map_err(|e| format!("open {path}: {e}"))?;
        // SAFETY: `f` is an open namespace descriptor for the duration of the call.
        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc != 0 {
            return Err(format!("setns {path}: {}", std::io::Error::last_os_error()));
        }
        Ok(())
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Pin the calling thread to one CPU.
pub fn pin_to_cpu(cpu: usize) -> BenchResult<()> {
    // SAFETY: `cpu_set_t` is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(format!("cpu {cpu} out of range"));
    }
    // SAFETY: `set` is a valid, initialised cpu set and `cpu` is below CPU_SETSIZE (checked).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: pid 0 is the calling thread; `set` lives across the call with its true size.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc != 0 {
        return Err(format!(
            "sched_setaffinity(cpu {cpu}): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Set the TCP congestion-control algorithm of one socket (`TCP_CONGESTION`). Algorithms not
/// in `tcp_allowed_congestion_control` need `CAP_NET_ADMIN`.
pub fn set_congestion(fd: RawFd, algo: &str) -> BenchResult<()> {
    // SAFETY: `algo` is a live byte buffer of the given length; `fd` is a socket descriptor
    // owned by the caller for the duration of the call.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            algo.as_ptr().cast(),
            algo.len() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(format!(
            "setsockopt(TCP_CONGESTION, {algo}): {}",
            std::io::Error::last_os_error()
        ));
    }
    let now = congestion(fd)?;
    if now != algo {
        return Err(format!(
            "TCP_CONGESTION: asked for {algo}, socket uses {now}"
        ));
    }
    Ok(())
}

/// The congestion-control algorithm a socket uses now.
pub fn congestion(fd: RawFd) -> BenchResult<String> {
    let mut buf = [0u8; 16];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `buf` and `len` are live and `len` holds the buffer's size.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(format!(
            "getsockopt(TCP_CONGESTION): {}",
            std::io::Error::last_os_error()
        ));
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

/// A value from /proc/self/status in KiB (e.g. "VmHWM", the peak resident set size).
pub fn status_kib(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(key) && l[key.len()..].starts_with(':'))
        .and_then(|l| {
            l[key.len() + 1..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        })
}

/// A short machine description: CPU model, CPU count, kernel.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!("{cpu}, {n} CPUs, Linux {kernel}")
}

/// Whether the process runs as root (namespaces, TAP, TCP_CONGESTION need it).
pub fn is_root() -> bool {
    // SAFETY: `geteuid` has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Bound blocking receives and `accept` of a socket (`SO_RCVTIMEO`); for `std::net`
/// listeners, which have no such setter.
pub fn set_recv_timeout(fd: RawFd, t: std::time::Duration) -> BenchResult<()> {
    let tv = libc::timeval {
        tv_sec: t.as_secs() as libc::time_t,
        tv_usec: t.subsec_micros() as libc::suseconds_t,
    };
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)
}

/// Set a socket's receive buffer (`SO_RCVBUF`, capped by `net.core.rmem_max`).
pub fn set_recv_buffer(fd: RawFd, bytes: usize) -> BenchResult<()> {
    let v = bytes as libc::c_int;
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &v)
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, v: &T) -> BenchResult<()> {
    // SAFETY: `v` points to a live `T` of the stated size for the duration of the call.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (v as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(format!(
            "setsockopt({level}, {name}): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}
