//! [`PosixStack`]: the Linux kernel's network stack as a [`unisock::Stack`].

use core::cell::RefCell;
use core::net::IpAddr;
use core::time::Duration;
use std::os::fd::RawFd;

use unisock::poll::{PollItem, Ready};
use unisock::{Addresses, Domain, ErrorType, Protocol};

use crate::error::{Error, Op};
use crate::{RawSocket, TcpListener, TcpSocket, TcpStream, UdpSocket, sys};

std::thread_local! {
    /// The `pollfd` array of [`poll_sockets`](unisock::Stack::poll_sockets), kept per thread
    /// so a steady event loop does not allocate.
    static POLLFDS: RefCell<Vec<libc::pollfd>> = const { RefCell::new(Vec::new()) };
}

/// `poll(2)` readiness as [`Ready`]: a hang-up or error makes the next read return at once,
/// so it also counts as readable (as `poll` reports it).
fn ready_of(revents: libc::c_short) -> Ready {
    let mut r = Ready::EMPTY;
    if revents & libc::POLLIN != 0 {
        r |= Ready::READABLE;
    }
    if revents & libc::POLLOUT != 0 {
        r |= Ready::WRITABLE;
    }
    if revents & (libc::POLLHUP | libc::POLLRDHUP) != 0 {
        r |= Ready::HANGUP | Ready::READABLE;
    }
    if revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        r |= Ready::ERROR | Ready::READABLE;
    }
    r
}

/// The Linux kernel's network stack. Zero-sized: every value is the same stack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PosixStack;

impl PosixStack {
    /// The stack (same as `PosixStack` or `PosixStack::default()`).
    pub const fn new() -> PosixStack {
        PosixStack
    }
}

impl ErrorType for PosixStack {
    type Error = Error;
}

impl unisock::Stack for PosixStack {
    type TcpSocket = TcpSocket;
    type TcpStream = TcpStream;
    type TcpListener = TcpListener;
    type UdpSocket = UdpSocket;
    type RawSocket = RawSocket;
    type Source = RawFd;

    fn tcp_socket(&self, domain: Domain) -> Result<TcpSocket, Error> {
        TcpSocket::new(domain)
    }

    fn udp_socket(&self, domain: Domain) -> Result<UdpSocket, Error> {
        UdpSocket::new(domain)
    }

    fn raw_socket(&self, domain: Domain, protocol: Protocol) -> Result<RawSocket, Error> {
        RawSocket::new(domain, protocol)
    }

    /// IP literals are parsed without a lookup; names go through `getaddrinfo` (`AF_UNSPEC`,
    /// `SOCK_STREAM`), duplicates removed, order kept, at most [`unisock::MAX_ADDRESSES`].
    fn resolve(&self, host: &str) -> Result<Addresses, Error> {
        let mut out = Addresses::new();
        if let Ok(ip) = host.parse::<IpAddr>() {
            // A fresh vector has room for one address.
            let _ = out.push(ip);
            return Ok(out);
        }
        sys::resolve::getaddrinfo(host, &mut out)?;
        Ok(out)
    }

    /// One `poll(2)` over the descriptors (level-triggered). A closed descriptor is reported
    /// as [`Ready::ERROR`] (`POLLNVAL`); a negative one is ignored, as `poll` does.
    fn poll_sockets(
        &self,
        items: &mut [PollItem<RawFd>],
        timeout: Option<Duration>,
    ) -> Result<usize, Error> {
        POLLFDS.with(|cell| {
            let mut local = Vec::new();
            let mut guard = cell.try_borrow_mut();
            // Re-entered from a signal handler or a nested call: use a fresh array.
            let fds = match guard.as_deref_mut() {
                Ok(v) => v,
                Err(_) => &mut local,
            };
            fds.clear();
            fds.extend(items.iter().map(|item| {
                let mut events = libc::POLLRDHUP;
                if item.interest.readable() {
                    events |= libc::POLLIN;
                }
                if item.interest.writable() {
                    events |= libc::POLLOUT;
                }
                libc::pollfd {
                    fd: item.source,
                    events,
                    revents: 0,
                }
            }));
            sys::poll_many(fds, timeout).map_err(|e| Error::os(Op::Poll, e))?;
            let mut ready = 0;
            for (item, fd) in items.iter_mut().zip(fds.iter()) {
                item.ready = ready_of(fd.revents).filter(item.interest);
                ready += usize::from(!item.ready.is_empty());
            }
            Ok(ready)
        })
    }

    /// Sockets this crate holds open in this process (all types, UNIX ones included).
    fn open_sockets(&self) -> usize {
        sys::open_sockets()
    }
}
