//! Name resolution: IP literals without a query, the static host table, then smoltcp's DNS
//! socket (A, then AAAA) towards the configured (or DHCP-provided) servers.
//!
//! `localhost` answers with the interface's loopback addresses (127.0.0.1, ::1) when the host
//! table does not name it. Not supported: search domains, `/etc/hosts`, CNAME-only answers
//! (smoltcp follows CNAMEs inside one answer), more than [`RESOLVE_TIMEOUT`] of waiting.

#[cfg(feature = "dns")]
use core::cell::Cell;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use smoltcp::phy::Device;
#[cfg(feature = "dns")]
use smoltcp::socket::dns;
#[cfg(feature = "dns")]
use smoltcp::wire::DnsQueryType;
use unisock::Addresses;
#[cfg(feature = "dns")]
use unisock::{ErrorKind, MAX_ADDRESSES};

use crate::clock::Clock;
#[cfg(feature = "dns")]
use crate::drive::Limit;
use crate::error::{Error, Result};
use crate::stack::Stack;
use crate::wait::Wait;

/// The bound on one DNS query.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

fn push(out: &mut Addresses, ip: IpAddr) {
    if !out.contains(&ip) {
        let _ = out.push(ip);
    }
}

impl<D: Device, C: Clock, W: Wait> Stack<'_, D, C, W> {
    /// [`unisock::Stack::resolve`] for this stack.
    pub(crate) fn resolve_in(&self, host: &str) -> Result<Addresses> {
        match resolve_local(self, host)? {
            Local::Done(out) => Ok(out),
            #[cfg(feature = "dns")]
            Local::Dns(name) => query(self, name, Addresses::new()),
            #[cfg(not(feature = "dns"))]
            Local::Never(never, _) => match never {},
        }
    }

    /// [`unisock::asynch::Stack::resolve`] for this stack: the same, with the DNS wait
    /// async (on the queries' wakers). Without a free DNS query slot it fails at once
    /// (`OutOfMemory`) instead of waiting; a query ends when smoltcp gives it up (its own
    /// retransmission limit) or the caller drops the future (which cancels it).
    pub(crate) async fn resolve_async(&self, host: &str) -> Result<Addresses> {
        match resolve_local(self, host)? {
            Local::Done(out) => Ok(out),
            #[cfg(feature = "dns")]
            Local::Dns(name) => query_async(self, name).await,
            #[cfg(not(feature = "dns"))]
            Local::Never(never, _) => match never {},
        }
    }
}

/// What can be answered without a DNS query, or the name to ask for.
enum Local<'h> {
    Done(Addresses),
    #[cfg(feature = "dns")]
    Dns(&'h str),
    #[cfg(not(feature = "dns"))]
    #[allow(dead_code)]
    Never(
        core::convert::Infallible,
        core::marker::PhantomData<&'h str>,
    ),
}

fn resolve_local<'h, D: Device, C: Clock, W: Wait>(
    stack: &Stack<'_, D, C, W>,
    host: &'h str,
) -> Result<Local<'h>> {
    let mut out = Addresses::new();
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        push(&mut out, ip);
        return Ok(Local::Done(out));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() {
        return Err(Error::invalid("resolve: empty host name"));
    }
    let has_dns = stack.with(|g, _| {
        for e in g.hosts.iter() {
            if e.name.trim_end_matches('.').eq_ignore_ascii_case(name) {
                push(&mut out, e.addr);
            }
        }
        if out.is_empty() && name.eq_ignore_ascii_case("localhost") {
            for ip in [
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ] {
                if g.is_local(&ip) {
                    push(&mut out, ip);
                }
            }
        }
        Ok(g.dns.is_some() && !g.dns_servers.is_empty())
    })?;
    if !out.is_empty() {
        return Ok(Local::Done(out));
    }
    #[cfg(not(feature = "dns"))]
    {
        let _ = has_dns;
        Err(Error::unsupported(
            "resolve: the name is not in the host table and DNS support is not compiled in \
             (feature dns)",
        ))
    }
    #[cfg(feature = "dns")]
    {
        if !has_dns {
            return Err(Error::new(
                ErrorKind::HostNotFound,
                "resolve: not in the host table and no DNS server configured",
            ));
        }
        Ok(Local::Dns(name))
    }
}

/// Ask the DNS servers for A and AAAA records of `name`, adding the answers to `out`.
#[cfg(feature = "dns")]
fn query<D: Device, C: Clock, W: Wait>(
    stack: &Stack<'_, D, C, W>,
    name: &str,
    mut out: Addresses,
) -> Result<Addresses> {
    let no_socket = Error::new(
        ErrorKind::HostNotFound,
        "resolve: no DNS socket (no DNS server configured)",
    );
    let dns = stack.with(|g, _| g.dns.ok_or(no_socket))?;
    // Ask for A and AAAA at once (two query slots), then wait for both answers.
    let start = |qtype| {
        stack.block(
            Limit::Fixed(Some(RESOLVE_TIMEOUT)),
            "resolve: DNS queries busy",
            // Nothing wakes a wait for a free query slot: it retries every `RECHECK`.
            |_, _| {},
            |g, _| {
                let cx = g.iface.context();
                g.sockets
                    .get_mut::<dns::Socket>(dns)
                    .start_query(cx, name, qtype)
                    .map_err(|e| match e {
                        dns::StartQueryError::NoFreeSlot => Error::would_block(),
                        dns::StartQueryError::InvalidName => {
                            Error::invalid("resolve: invalid host name")
                        }
                        dns::StartQueryError::NameTooLong => {
                            Error::invalid("resolve: host name too long")
                        }
                    })
            },
        )
    };
    let qa = start(DnsQueryType::A)?;
    let qaaaa = match start(DnsQueryType::Aaaa) {
        Ok(q) => q,
        Err(e) => {
            let _ = stack.with(|g, _| {
                g.sockets.get_mut::<dns::Socket>(dns).cancel_query(qa);
                Ok(())
            });
            return Err(e);
        }
    };
    let pending = [Cell::new(Some(qa)), Cell::new(Some(qaaaa))];
    let mut answers: [heapless::Vec<IpAddr, MAX_ADDRESSES>; 2] = Default::default();
    let r = stack.block(
        Limit::Fixed(Some(RESOLVE_TIMEOUT)),
        "resolve: no DNS answer in time",
        |g, w| {
            let sock = g.sockets.get_mut::<dns::Socket>(dns);
            for q in pending.iter().filter_map(Cell::get) {
                sock.register_query_waker(q, w);
            }
        },
        |g, _| {
            let sock = g.sockets.get_mut::<dns::Socket>(dns);
            for (slot, answer) in pending.iter().zip(answers.iter_mut()) {
                let Some(q) = slot.get() else { continue };
                match sock.get_query_result(q) {
                    Ok(addrs) => {
                        for a in addrs {
                            let _ = answer.push(a.into());
                        }
                        slot.set(None);
                    }
                    Err(dns::GetQueryResultError::Pending) => {}
                    Err(dns::GetQueryResultError::Failed) => slot.set(None),
                }
            }
            if pending.iter().any(|q| q.get().is_some()) {
                Err(Error::would_block())
            } else {
                Ok(())
            }
        },
    );
    if r.is_err() {
        let _ = stack.with(|g, _| {
            let sock = g.sockets.get_mut::<dns::Socket>(dns);
            for q in pending.iter().filter_map(Cell::get) {
                sock.cancel_query(q);
            }
            Ok(())
        });
    }
    for answer in &answers {
        for ip in answer {
            push(&mut out, *ip);
        }
    }
    if out.is_empty() {
        r?;
    }
    if out.is_empty() {
        Err(Error::new(
            ErrorKind::HostNotFound,
            "resolve: the DNS servers know no address for this name",
        ))
    } else {
        Ok(out)
    }
}

/// Cancels the DNS queries still pending when an async resolve is dropped.
#[cfg(feature = "dns")]
struct Pending<'r, 'a, D: Device, C: Clock, W: Wait> {
    stack: &'r Stack<'a, D, C, W>,
    dns: smoltcp::iface::SocketHandle,
    queries: [Option<dns::QueryHandle>; 2],
}

#[cfg(feature = "dns")]
impl<D: Device, C: Clock, W: Wait> Drop for Pending<'_, '_, D, C, W> {
    fn drop(&mut self) {
        if self.queries.iter().all(Option::is_none) {
            return;
        }
        let _ = self.stack.with(|g, _| {
            let sock = g.sockets.get_mut::<dns::Socket>(self.dns);
            for q in self.queries.iter().flatten() {
                sock.cancel_query(*q);
            }
            Ok(())
        });
    }
}

/// [`query`], async.
#[cfg(feature = "dns")]
async fn query_async<D: Device, C: Clock, W: Wait>(
    stack: &Stack<'_, D, C, W>,
    name: &str,
) -> Result<Addresses> {
    let no_socket = Error::new(
        ErrorKind::HostNotFound,
        "resolve: no DNS socket (no DNS server configured)",
    );
    let dns = stack.with(|g, _| g.dns.ok_or(no_socket))?;
    let mut pending = Pending {
        stack,
        dns,
        queries: [None, None],
    };
    for (i, qtype) in [DnsQueryType::A, DnsQueryType::Aaaa]
        .into_iter()
        .enumerate()
    {
        let q = stack.with(|g, _| {
            let cx = g.iface.context();
            g.sockets
                .get_mut::<dns::Socket>(dns)
                .start_query(cx, name, qtype)
                .map_err(|e| match e {
                    dns::StartQueryError::NoFreeSlot => Error::new(
                        ErrorKind::OutOfMemory,
                        "resolve: every DNS query slot is busy",
                    ),
                    dns::StartQueryError::InvalidName => {
                        Error::invalid("resolve: invalid host name")
                    }
                    dns::StartQueryError::NameTooLong => {
                        Error::invalid("resolve: host name too long")
                    }
                })
        })?;
        pending.queries[i] = Some(q);
    }
    let mut answers: [heapless::Vec<IpAddr, MAX_ADDRESSES>; 2] = Default::default();
    core::future::poll_fn(|cx| {
        // The operation updates the pending queries and the registration reads them (it
        // runs after): a `Cell` local to this poll, never held across an await.
        let queries = Cell::new(pending.queries);
        let r = stack.poll_op(
            cx,
            |g, w| {
                let sock = g.sockets.get_mut::<dns::Socket>(dns);
                for q in queries.get().into_iter().flatten() {
                    sock.register_query_waker(q, w);
                }
            },
            |g, _| {
                let sock = g.sockets.get_mut::<dns::Socket>(dns);
                let mut qs = queries.get();
                for (slot, answer) in qs.iter_mut().zip(answers.iter_mut()) {
                    let Some(q) = *slot else { continue };
                    match sock.get_query_result(q) {
                        Ok(addrs) => {
                            for a in addrs {
                                let _ = answer.push(a.into());
                            }
                            *slot = None;
                        }
                        Err(dns::GetQueryResultError::Pending) => {}
                        Err(dns::GetQueryResultError::Failed) => *slot = None,
                    }
                }
                queries.set(qs);
                if qs.iter().any(Option::is_some) {
                    Err(Error::would_block())
                } else {
                    Ok(())
                }
            },
        );
        pending.queries = queries.get();
        r
    })
    .await?;
    let mut out = Addresses::new();
    for answer in &answers {
        for ip in answer {
            push(&mut out, *ip);
        }
    }
    if out.is_empty() {
        Err(Error::new(
            ErrorKind::HostNotFound,
            "resolve: the DNS servers know no address for this name",
        ))
    } else {
        Ok(out)
    }
}
