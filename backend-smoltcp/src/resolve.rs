//! Name resolution: IP literals without a query, the static host table, then smoltcp's DNS
//! socket (A, then AAAA) towards the configured (or DHCP-provided) servers.
//!
//! `localhost` answers with the interface's loopback addresses (127.0.0.1, ::1) when the host
//! table does not name it. Not supported: search domains, `/etc/hosts`, CNAME-only answers
//! (smoltcp follows CNAMEs inside one answer), more than [`RESOLVE_TIMEOUT`] of waiting.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use smoltcp::phy::Device;
use smoltcp::socket::dns;
use smoltcp::wire::DnsQueryType;
use unisock::{Addresses, ErrorKind};

use crate::clock::Clock;
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

pub(crate) fn resolve<D: Device, C: Clock, W: Wait>(
    stack: &Stack<'_, D, C, W>,
    host: &str,
) -> Result<Addresses> {
    let mut out = Addresses::new();
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        push(&mut out, ip);
        return Ok(out);
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
        Ok(!g.dns_servers.is_empty())
    })?;
    if !out.is_empty() {
        return Ok(out);
    }
    if !has_dns {
        return Err(Error::new(
            ErrorKind::HostNotFound,
            "resolve: not in the host table and no DNS server configured",
        ));
    }
    for qtype in [DnsQueryType::A, DnsQueryType::Aaaa] {
        let q = stack.with(|g, _| {
            let cx = g.iface.context();
            g.sockets
                .get_mut::<dns::Socket>(g.dns)
                .start_query(cx, name, qtype)
                .map_err(|e| match e {
                    dns::StartQueryError::NoFreeSlot => {
                        Error::new(ErrorKind::WouldBlock, "resolve: DNS queries busy")
                    }
                    dns::StartQueryError::InvalidName => {
                        Error::invalid("resolve: invalid host name")
                    }
                    dns::StartQueryError::NameTooLong => {
                        Error::invalid("resolve: host name too long")
                    }
                })
        });
        let q = match q {
            Ok(q) => q,
            Err(e) if e.kind() == ErrorKind::WouldBlock => stack.block(
                Some(RESOLVE_TIMEOUT),
                "resolve: DNS queries busy",
                |g, _| {
                    let cx = g.iface.context();
                    g.sockets
                        .get_mut::<dns::Socket>(g.dns)
                        .start_query(cx, name, qtype)
                        .map_err(|_| Error::would_block())
                },
            )?,
            Err(e) => return Err(e),
        };
        let r = stack.block(
            Some(RESOLVE_TIMEOUT),
            "resolve: no DNS answer in time",
            |g, _| match g.sockets.get_mut::<dns::Socket>(g.dns).get_query_result(q) {
                Ok(addrs) => Ok(Some(addrs)),
                Err(dns::GetQueryResultError::Pending) => Err(Error::would_block()),
                Err(dns::GetQueryResultError::Failed) => Ok(None),
            },
        );
        match r {
            Ok(Some(addrs)) => {
                for a in addrs {
                    push(&mut out, a.into());
                }
            }
            Ok(None) => {}
            Err(e) => {
                let _ = stack.with(|g, _| {
                    g.sockets.get_mut::<dns::Socket>(g.dns).cancel_query(q);
                    Ok(())
                });
                if out.is_empty() && qtype == DnsQueryType::Aaaa {
                    return Err(e);
                }
            }
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
