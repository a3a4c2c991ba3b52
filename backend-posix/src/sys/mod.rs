//! Every operating-system call of this crate, and nothing else.
//!
//! # Contract
//!
//! This module is the only place that calls libc (socket2 and mio keep the same split). It
//! promises the rest of the crate:
//!
//! - every descriptor it creates is a socket held as an [`OwnedFd`] inside [`Socket`], created
//!   with `SOCK_CLOEXEC` (`socket`, `socketpair`, `accept4`), counted in a process-wide counter
//!   while it is open ([`open_sockets`]), and closed exactly once when the [`Socket`] drops;
//! - every call reports failure as the `errno` value ([`Errno`]); calls that can be restarted
//!   are retried on `EINTR` by [`syscall!`] (`connect` is not restarted: an interrupted
//!   connect continues in the background, and [`Socket::connect`] waits for it instead);
//! - every send carries `MSG_NOSIGNAL`, so writing to a closed peer is `EPIPE`, never `SIGPIPE`;
//! - addresses are converted by hand between Rust values and `sockaddr_in`, `sockaddr_in6` and
//!   `sockaddr_un` ([`addr`]); nothing outside this module sees a raw `sockaddr`;
//! - no call allocates on the heap (name resolution uses a stack buffer for the host name).
//!
//! The rest of the crate attaches the operation and address to an [`Errno`] to build the public
//! [`Error`](crate::Error); the batch (`mmsg`) and resolver functions, which know the
//! destination or the `getaddrinfo` code themselves, build it directly.

pub(crate) mod addr;
pub(crate) mod mmsg;
pub(crate) mod offload;
pub(crate) mod resolve;

use core::mem::{self, ManuallyDrop, MaybeUninit};
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

pub(crate) use addr::SockAddr;

/// An `errno` value.
pub(crate) type Errno = i32;

/// The result of a system call: the value, or the `errno` it failed with.
pub(crate) type Result<T> = core::result::Result<T, Errno>;

/// How many sockets this crate holds open in this process.
static OPEN_SOCKETS: AtomicUsize = AtomicUsize::new(0);

/// The number of sockets this crate holds open now.
pub(crate) fn open_sockets() -> usize {
    OPEN_SOCKETS.load(Ordering::Relaxed)
}

/// The calling thread's `errno`.
#[inline]
pub(crate) fn errno() -> Errno {
    // SAFETY: `__errno_location` always returns a valid pointer to this thread's errno.
    unsafe { *libc::__errno_location() }
}

/// Return values that signal failure with -1.
pub(crate) trait MinusOne: Copy {
    fn is_minus_one(self) -> bool;
}

impl MinusOne for i32 {
    #[inline]
    fn is_minus_one(self) -> bool {
        self == -1
    }
}

impl MinusOne for isize {
    #[inline]
    fn is_minus_one(self) -> bool {
        self == -1
    }
}

/// Run `f` until it does not fail with `EINTR`; -1 becomes `Err(errno)`.
#[inline]
pub(crate) fn retry<T: MinusOne>(mut f: impl FnMut() -> T) -> Result<T> {
    loop {
        let r = f();
        if !r.is_minus_one() {
            return Ok(r);
        }
        let e = errno();
        if e != libc::EINTR {
            return Err(e);
        }
    }
}

/// Call a libc function that returns -1 on failure, retrying `EINTR`:
/// `syscall!(unsafe { libc::f(args) })` evaluates to `Result<ret, Errno>`.
macro_rules! syscall {
    ($call:expr) => {
        $crate::sys::retry(|| $call)
    };
}
pub(crate) use syscall;

/// The most buffers one `sendmsg` takes (Linux's `UIO_MAXIOV`).
#[cfg(any(feature = "tokio", feature = "futures-io"))]
pub(crate) const IOV_MAX: usize = 1024;

/// Convert a length returned by the kernel (never negative once -1 is excluded).
#[inline]
fn len(n: isize) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// A timeout as a `poll(2)` argument in milliseconds (rounded up; -1 for none).
fn poll_millis(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(d) => {
            let ms = d.as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    }
}

/// A descriptor number lent to a reactor registration (tokio's `AsyncFd`, async-io's
/// `Async`), which never closes it. The owner of the descriptor keeps it open for as long as
/// the registration lives (the async wrappers declare the registration before the socket, so
/// it is dropped, and deregistered, first).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FdRef(pub(crate) RawFd);

impl AsRawFd for FdRef {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

impl AsFd for FdRef {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: an `FdRef` is only made from the descriptor of a socket that outlives it
        // (see the type's docs), so the number names an open descriptor for this borrow.
        unsafe { BorrowedFd::borrow_raw(self.0) }
    }
}

/// An open socket descriptor, counted in [`open_sockets`] while it lives.
#[derive(Debug)]
pub(crate) struct Socket {
    fd: OwnedFd,
}

impl Drop for Socket {
    fn drop(&mut self) {
        OPEN_SOCKETS.fetch_sub(1, Ordering::Relaxed);
        // `fd` closes itself after this.
    }
}

impl Socket {
    /// Take ownership of a descriptor (counts it).
    pub(crate) fn from_owned(fd: OwnedFd) -> Socket {
        OPEN_SOCKETS.fetch_add(1, Ordering::Relaxed);
        Socket { fd }
    }

    /// Give the descriptor up (it is no longer counted).
    pub(crate) fn into_owned(self) -> OwnedFd {
        OPEN_SOCKETS.fetch_sub(1, Ordering::Relaxed);
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the `OwnedFd` is read out exactly once and keeps
        // sole ownership of the descriptor.
        unsafe { ptr::read(&this.fd) }
    }

    /// Take ownership of a descriptor returned by a successful call.
    fn from_raw(fd: RawFd) -> Socket {
        // SAFETY: `fd` was just returned by a successful socket/accept4 call, so it is open and
        // owned by no one else.
        Socket::from_owned(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// `socket(family, ty | SOCK_CLOEXEC, protocol)`.
    pub(crate) fn new(
        family: libc::c_int,
        ty: libc::c_int,
        protocol: libc::c_int,
    ) -> Result<Socket> {
        // SAFETY: plain integer arguments.
        let fd = syscall!(unsafe { libc::socket(family, ty | libc::SOCK_CLOEXEC, protocol) })?;
        Ok(Socket::from_raw(fd))
    }

    /// `socketpair(family, ty | SOCK_CLOEXEC, 0)`.
    pub(crate) fn pair(family: libc::c_int, ty: libc::c_int) -> Result<(Socket, Socket)> {
        let mut fds = [-1 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors socketpair writes.
        syscall!(unsafe {
            libc::socketpair(family, ty | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr())
        })?;
        Ok((Socket::from_raw(fds[0]), Socket::from_raw(fds[1])))
    }

    #[inline]
    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    #[inline]
    pub(crate) fn borrow(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// `bind`.
    pub(crate) fn bind(&self, addr: &SockAddr) -> Result<()> {
        // SAFETY: `addr` points to `addr.len()` initialised bytes of a sockaddr.
        syscall!(unsafe { libc::bind(self.raw(), addr.as_ptr(), addr.len()) }).map(drop)
    }

    /// `listen`; the backlog is clamped to at least 1 and at most `c_int::MAX`.
    pub(crate) fn listen(&self, backlog: usize) -> Result<()> {
        let backlog = libc::c_int::try_from(backlog.max(1)).unwrap_or(libc::c_int::MAX);
        // SAFETY: plain integer arguments.
        syscall!(unsafe { libc::listen(self.raw(), backlog) }).map(drop)
    }

    /// `connect`, blocking. On `EINTR` the connection attempt continues in the kernel, so this
    /// waits for writability and reads `SO_ERROR` instead of calling connect again.
    pub(crate) fn connect(&self, addr: &SockAddr) -> Result<()> {
        // SAFETY: `addr` points to `addr.len()` initialised bytes of a sockaddr.
        let r = unsafe { libc::connect(self.raw(), addr.as_ptr(), addr.len()) };
        if r == 0 {
            return Ok(());
        }
        match errno() {
            libc::EINTR => loop {
                match self.poll(libc::POLLOUT, None) {
                    Ok(_) => break self.take_error(),
                    Err(libc::EINTR) => continue,
                    Err(e) => break Err(e),
                }
            },
            e => Err(e),
        }
    }

    /// Non-blocking connect: start it, wait up to `timeout` for it to finish. `Err(ETIMEDOUT)`
    /// if it did not. The socket is back in blocking mode afterwards.
    pub(crate) fn connect_timeout(&self, addr: &SockAddr, timeout: Duration) -> Result<()> {
        self.set_nonblocking(true)?;
        let result = self.connect_nonblocking(addr, timeout);
        let restore = self.set_nonblocking(false);
        result.and(restore)
    }

    /// Start a connect without waiting for the handshake: `connect` on a non-blocking
    /// descriptor, `EINPROGRESS` (and `EINTR`, after which the handshake also goes on) taken as
    /// success, then the descriptor made blocking again. A failed handshake is left in
    /// `SO_ERROR` for the next call to report.
    pub(crate) fn start_connect(&self, addr: &SockAddr) -> Result<()> {
        self.set_nonblocking(true)?;
        let result = self.connect_in_progress(addr);
        let restore = self.set_nonblocking(false);
        result.and(restore)
    }

    /// `connect` on a descriptor that is already non-blocking: `EINPROGRESS` (and `EINTR`)
    /// taken as success, the handshake's outcome left in `SO_ERROR`.
    pub(crate) fn connect_in_progress(&self, addr: &SockAddr) -> Result<()> {
        // SAFETY: `addr` points to `addr.len()` initialised bytes of a sockaddr.
        let r = unsafe { libc::connect(self.raw(), addr.as_ptr(), addr.len()) };
        match (r, errno()) {
            (0, _) | (_, libc::EINPROGRESS | libc::EINTR) => Ok(()),
            (_, e) => Err(e),
        }
    }

    fn connect_nonblocking(&self, addr: &SockAddr, timeout: Duration) -> Result<()> {
        // SAFETY: `addr` points to `addr.len()` initialised bytes of a sockaddr.
        let r = unsafe { libc::connect(self.raw(), addr.as_ptr(), addr.len()) };
        if r == 0 {
            return Ok(());
        }
        match errno() {
            libc::EINPROGRESS | libc::EINTR => {}
            e => return Err(e),
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(libc::ETIMEDOUT);
            }
            match self.poll(libc::POLLOUT, Some(left)) {
                Ok(0) => return Err(libc::ETIMEDOUT),
                Ok(_) => return self.take_error(),
                Err(libc::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// `accept4(.., SOCK_CLOEXEC)`: the new socket and the peer's address.
    pub(crate) fn accept(&self) -> Result<(Socket, SockAddr)> {
        let mut addr = SockAddr::empty();
        // SAFETY: `addr` provides `capacity()` writable bytes and its length field for the
        // kernel to fill in.
        let fd = syscall!(unsafe {
            libc::accept4(
                self.raw(),
                addr.as_mut_ptr(),
                addr.len_mut(),
                libc::SOCK_CLOEXEC,
            )
        })?;
        Ok((Socket::from_raw(fd), addr))
    }

    /// `recv`; the result is the kernel's (with `MSG_TRUNC` on a datagram socket, the full
    /// datagram length).
    #[inline]
    pub(crate) fn recv(&self, buf: &mut [u8], flags: libc::c_int) -> Result<usize> {
        // SAFETY: `buf` is valid for `buf.len()` writable bytes.
        syscall!(unsafe { libc::recv(self.raw(), buf.as_mut_ptr().cast(), buf.len(), flags) })
            .map(len)
    }

    /// `recv` into memory that may be uninitialised (tokio's `ReadBuf`): the kernel only
    /// writes, so the first `n` bytes are initialised when `Ok(n)` returns.
    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn recv_uninit(
        &self,
        buf: &mut [core::mem::MaybeUninit<u8>],
        flags: libc::c_int,
    ) -> Result<usize> {
        // SAFETY: `buf` is valid for `buf.len()` writable bytes; `recv` only writes to them
        // (`MaybeUninit<u8>` has the layout of `u8`), never reads them.
        syscall!(unsafe { libc::recv(self.raw(), buf.as_mut_ptr().cast(), buf.len(), flags) })
            .map(len)
    }

    /// Discard what the TCP receive queue holds (`recv(NULL, .., MSG_TRUNC | MSG_DONTWAIT)`,
    /// which TCP implements as "drop the data"), without waiting. Bounded: a peer that keeps
    /// sending is drained again on the next call.
    pub(crate) fn discard_received(&self) {
        for _ in 0..16 {
            // SAFETY: with MSG_TRUNC, TCP drops the data instead of copying it, so the null
            // buffer is never written.
            let r = unsafe {
                libc::recv(
                    self.raw(),
                    ptr::null_mut(),
                    1 << 30,
                    libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                )
            };
            if r <= 0 {
                break;
            }
        }
    }

    /// `send` with `MSG_NOSIGNAL` added.
    #[inline]
    pub(crate) fn send(&self, buf: &[u8], flags: libc::c_int) -> Result<usize> {
        // SAFETY: `buf` is valid for `buf.len()` readable bytes.
        syscall!(unsafe {
            libc::send(
                self.raw(),
                buf.as_ptr().cast(),
                buf.len(),
                flags | libc::MSG_NOSIGNAL,
            )
        })
        .map(len)
    }

    /// `sendmsg` of several buffers in one call (a gathered write), with `MSG_NOSIGNAL`
    /// added. At most [`IOV_MAX`] buffers are passed; a caller with more writes the rest in
    /// the next call, as after any short write.
    #[cfg(any(feature = "tokio", feature = "futures-io"))]
    #[inline]
    pub(crate) fn send_vectored(
        &self,
        bufs: &[std::io::IoSlice<'_>],
        flags: libc::c_int,
    ) -> Result<usize> {
        let count = bufs.len().min(IOV_MAX);
        // SAFETY: `msghdr` is plain C data; all zeros is a valid empty header (no address, no
        // control data, no iovecs).
        let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
        // `IoSlice` is ABI-compatible with `iovec` on Unix (a documented guarantee of std).
        msg.msg_iov = bufs.as_ptr().cast_mut().cast::<libc::iovec>();
        // `size_t` on glibc, `c_int` on musl: `count` fits either (at most `IOV_MAX`).
        msg.msg_iovlen = count as _;
        // SAFETY: `msg` points to `count` iovecs, each over a buffer borrowed (readable) for
        // the whole call; the kernel only reads through them.
        syscall!(unsafe { libc::sendmsg(self.raw(), &msg, flags | libc::MSG_NOSIGNAL) }).map(len)
    }

    /// `recvfrom`: the kernel's length and the sender's address.
    #[inline]
    pub(crate) fn recv_from(
        &self,
        buf: &mut [u8],
        flags: libc::c_int,
    ) -> Result<(usize, SockAddr)> {
        let mut addr = SockAddr::empty();
        // SAFETY: `buf` is valid for `buf.len()` writable bytes; `addr` provides its capacity
        // and length field for the kernel to fill in.
        let n = syscall!(unsafe {
            libc::recvfrom(
                self.raw(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                flags,
                addr.as_mut_ptr(),
                addr.len_mut(),
            )
        })?;
        Ok((len(n), addr))
    }

    /// `sendto` with `MSG_NOSIGNAL` added.
    #[inline]
    pub(crate) fn send_to(&self, buf: &[u8], flags: libc::c_int, to: &SockAddr) -> Result<usize> {
        // SAFETY: `buf` is valid for `buf.len()` readable bytes; `to` points to `to.len()`
        // initialised bytes of a sockaddr.
        syscall!(unsafe {
            libc::sendto(
                self.raw(),
                buf.as_ptr().cast(),
                buf.len(),
                flags | libc::MSG_NOSIGNAL,
                to.as_ptr(),
                to.len(),
            )
        })
        .map(len)
    }

    /// `getsockname`.
    pub(crate) fn local_addr(&self) -> Result<SockAddr> {
        let mut addr = SockAddr::empty();
        // SAFETY: `addr` provides its capacity and length field for the kernel to fill in.
        syscall!(unsafe { libc::getsockname(self.raw(), addr.as_mut_ptr(), addr.len_mut()) })?;
        Ok(addr)
    }

    /// `getpeername`.
    pub(crate) fn peer_addr(&self) -> Result<SockAddr> {
        let mut addr = SockAddr::empty();
        // SAFETY: `addr` provides its capacity and length field for the kernel to fill in.
        syscall!(unsafe { libc::getpeername(self.raw(), addr.as_mut_ptr(), addr.len_mut()) })?;
        Ok(addr)
    }

    /// `shutdown` (`SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`).
    pub(crate) fn shutdown(&self, how: libc::c_int) -> Result<()> {
        // SAFETY: plain integer arguments.
        syscall!(unsafe { libc::shutdown(self.raw(), how) }).map(drop)
    }

    /// `setsockopt` with a plain-data value.
    pub(crate) fn set_opt<T: Copy>(
        &self,
        level: libc::c_int,
        name: libc::c_int,
        value: T,
    ) -> Result<()> {
        let size = mem::size_of::<T>() as libc::socklen_t;
        // SAFETY: `value` lives on the stack for the call and is `size` bytes long; `T` is one
        // of the plain C types the option expects (chosen by the callers in `options.rs`).
        syscall!(unsafe {
            libc::setsockopt(self.raw(), level, name, (&raw const value).cast(), size)
        })
        .map(drop)
    }

    /// `getsockopt` into a plain-data value.
    pub(crate) fn opt<T: Copy>(&self, level: libc::c_int, name: libc::c_int) -> Result<T> {
        let mut value = MaybeUninit::<T>::zeroed();
        let mut size = mem::size_of::<T>() as libc::socklen_t;
        // SAFETY: `value` has room for `size` bytes.
        syscall!(unsafe {
            libc::getsockopt(
                self.raw(),
                level,
                name,
                value.as_mut_ptr().cast(),
                &mut size,
            )
        })?;
        // SAFETY: `value` was zero-initialised (a valid bit pattern for the plain C types used
        // here: integers, `linger`, `timeval`) and the kernel wrote at most `size` bytes.
        Ok(unsafe { value.assume_init() })
    }

    /// `SO_ERROR`: the pending error, as a result.
    pub(crate) fn take_error(&self) -> Result<()> {
        match self.opt::<libc::c_int>(libc::SOL_SOCKET, libc::SO_ERROR)? {
            0 => Ok(()),
            e => Err(e),
        }
    }

    /// Set or clear `O_NONBLOCK`.
    pub(crate) fn set_nonblocking(&self, on: bool) -> Result<()> {
        // SAFETY: plain integer arguments.
        let flags = syscall!(unsafe { libc::fcntl(self.raw(), libc::F_GETFL) })?;
        let new = if on {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        if new != flags {
            // SAFETY: plain integer arguments.
            syscall!(unsafe { libc::fcntl(self.raw(), libc::F_SETFL, new) })?;
        }
        Ok(())
    }

    /// `poll` this one descriptor for `events`; returns the `revents` (0 on timeout). `EINTR`
    /// is returned, not retried, so callers can recompute their deadline.
    pub(crate) fn poll(
        &self,
        events: libc::c_short,
        timeout: Option<Duration>,
    ) -> Result<libc::c_short> {
        let mut pfd = libc::pollfd {
            fd: self.raw(),
            events,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, poll_millis(timeout)) };
        if r == -1 {
            return Err(errno());
        }
        Ok(if r == 0 { 0 } else { pfd.revents })
    }

    /// The address family (`AF_*`) of this socket, from `getsockname`.
    pub(crate) fn family(&self) -> Result<libc::c_int> {
        Ok(self.local_addr()?.family())
    }
}

/// `strerror_r` into `buf`; returns the message bytes (without NUL).
pub(crate) fn strerror(errno: Errno, buf: &mut [u8; 128]) -> &[u8] {
    // SAFETY: `buf` is valid for 128 writable bytes; the XSI strerror_r NUL-terminates within
    // them on success.
    let r = unsafe { libc::strerror_r(errno, buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return b"";
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    &buf[..end]
}

/// `gai_strerror`: the static message of a getaddrinfo error code.
pub(crate) fn gai_strerror(code: i32) -> &'static [u8] {
    // SAFETY: gai_strerror returns a pointer to a static NUL-terminated string (or, for unknown
    // codes, a static "Unknown error" string); it is never freed.
    let p = unsafe { libc::gai_strerror(code) };
    if p.is_null() {
        return b"";
    }
    // SAFETY: `p` is a valid NUL-terminated string with static lifetime (see above).
    unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes()
}

/// `poll(2)` over many descriptors, restarted after `EINTR` with the time that remains.
/// Returns how many entries have non-zero `revents` (0 on timeout).
pub(crate) fn poll_many(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> Result<usize> {
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    let n = libc::nfds_t::try_from(fds.len()).map_err(|_| libc::EINVAL)?;
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
        // SAFETY: `fds` is a valid, exclusively borrowed array of `n` pollfd structures.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), n, poll_millis(left)) };
        if r >= 0 {
            return Ok(usize::try_from(r).unwrap_or(0));
        }
        let e = errno();
        if e != libc::EINTR {
            return Err(e);
        }
    }
}
