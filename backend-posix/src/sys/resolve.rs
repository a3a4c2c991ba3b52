//! `getaddrinfo(host, NULL, {AF_UNSPEC, SOCK_STREAM})`, host name copied into a stack buffer.

use core::net::IpAddr;
use core::ptr;

use unisock::{Addresses, ErrorKind};

use super::SockAddr;
use crate::error::{Error, ErrorAddr, Name, Op};

/// Longest host name accepted (DNS names are at most 253 bytes).
const MAX_HOST: usize = 255;

/// Frees the `getaddrinfo` list when dropped.
struct List(*mut libc::addrinfo);

impl Drop for List {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from a successful getaddrinfo and is freed only here.
            unsafe { libc::freeaddrinfo(self.0) };
        }
    }
}

/// Resolve `host` into `out` (duplicates dropped, order kept, at most `out`'s capacity).
pub(crate) fn getaddrinfo(host: &str, out: &mut Addresses) -> Result<(), Error> {
    let bytes = host.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_HOST || bytes.contains(&0) {
        return Err(Error::invalid(
            Op::Resolve,
            ErrorKind::InvalidInput,
            "host name is empty, longer than 255 bytes or contains NUL",
        )
        .at(ErrorAddr::Host(Name::new(bytes))));
    }
    let mut name = [0u8; MAX_HOST + 1];
    name[..bytes.len()].copy_from_slice(bytes);
    // SAFETY: `addrinfo` is plain C data; all-zero is a valid (empty) hints value.
    let mut hints: libc::addrinfo = unsafe { core::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut res: *mut libc::addrinfo = ptr::null_mut();
    // SAFETY: `name` is NUL-terminated (checked no interior NUL, zero-filled after), `hints`
    // is valid, `res` receives the list.
    let code = unsafe { libc::getaddrinfo(name.as_ptr().cast(), ptr::null(), &hints, &mut res) };
    let list = List(res);
    let host = || ErrorAddr::Host(Name::new(bytes));
    match code {
        0 => {}
        libc::EAI_SYSTEM => return Err(Error::os(Op::Resolve, super::errno()).at(host())),
        code => return Err(Error::gai(code).at(host())),
    }
    let mut node = list.0;
    while !node.is_null() && !out.is_full() {
        // SAFETY: `node` is a non-null element of the list getaddrinfo returned, alive until
        // `list` drops.
        let ai = unsafe { &*node };
        if !ai.ai_addr.is_null() {
            let len = (ai.ai_addrlen as usize).min(core::mem::size_of::<libc::sockaddr_storage>());
            let mut addr = SockAddr::empty();
            // SAFETY: `ai_addr` points to `ai_addrlen` bytes of a sockaddr; we copy at most the
            // storage's size into it.
            unsafe {
                ptr::copy_nonoverlapping(
                    ai.ai_addr.cast::<u8>(),
                    (addr.storage_mut() as *mut libc::sockaddr_storage).cast::<u8>(),
                    len,
                )
            };
            addr.set_len(len as libc::socklen_t);
            if let Some(ip) = addr.to_ip() {
                push_unique(out, ip);
            }
        }
        node = ai.ai_next;
    }
    if out.is_empty() {
        return Err(Error::gai(libc::EAI_NODATA).at(host()));
    }
    Ok(())
}

fn push_unique(out: &mut Addresses, ip: IpAddr) {
    if !out.contains(&ip) {
        // Capacity was checked by the caller's loop condition.
        let _ = out.push(ip);
    }
}
