//! Address and `host:port` parsing: `unisock::parse_target` and `UnixAddr` never panic, what
//! they accept round-trips through `Display`, and what they reject is rejected for the
//! documented reason.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use unisock::resolve::Host;
use unisock::{UNIX_PATH_CAPACITY, UnixAddr, UnixAddrError, UnixAddrKind, parse_target};

fn check_target(s: &str, default_port: u16) {
    let Ok(t) = parse_target(s, default_port) else {
        return;
    };
    assert_ne!(t.port, 0, "{s:?} parsed with port 0");
    if let Host::Name(name) = t.host {
        assert!(
            !name.is_empty() && name.len() <= 254,
            "{s:?}: bad name {name:?}"
        );
        assert!(
            name.parse::<IpAddr>().is_err(),
            "{s:?}: an IP literal parsed as a name"
        );
    }
    // What was accepted prints as a target that parses to the same thing, whatever the
    // default port.
    let printed = t.to_string();
    let again = parse_target(&printed, default_port.wrapping_add(1).max(1))
        .unwrap_or_else(|e| panic!("{s:?} -> {printed:?} no longer parses: {e}"));
    assert_eq!(again, t, "{s:?} -> {printed:?}");
}

fn check_socket_addr(data: &[u8]) {
    let Some((&tag, rest)) = data.split_first() else {
        return;
    };
    let port = u16::from_le_bytes([*rest.first().unwrap_or(&1), *rest.get(1).unwrap_or(&0)]);
    if port == 0 {
        return;
    }
    let ip = if tag & 1 == 0 {
        let mut b = [0u8; 4];
        for (d, s) in b.iter_mut().zip(rest.iter().skip(2)) {
            *d = *s;
        }
        IpAddr::V4(Ipv4Addr::from(b))
    } else {
        let mut b = [0u8; 16];
        for (d, s) in b.iter_mut().zip(rest.iter().skip(2)) {
            *d = *s;
        }
        IpAddr::V6(Ipv6Addr::from(b))
    };
    let sa = SocketAddr::new(ip, port);
    let printed = sa.to_string();
    let t = parse_target(&printed, 80).unwrap_or_else(|e| panic!("{sa}: {e}"));
    assert_eq!((t.host, t.port), (Host::Ip(ip), port), "{sa}");
}

fn check_unix(data: &[u8]) {
    let max = UNIX_PATH_CAPACITY - 1;
    match UnixAddr::pathname(data) {
        Ok(a) => {
            assert_eq!(a.kind(), UnixAddrKind::Pathname);
            assert_eq!(a.as_pathname(), Some(data));
            assert!(!data.is_empty() && data.len() <= max && !data.contains(&0));
            let _ = a.to_string();
        }
        Err(UnixAddrError::Empty) => assert!(data.is_empty()),
        Err(UnixAddrError::InteriorNul(i)) => {
            assert_eq!(data.iter().position(|&b| b == 0), Some(i));
        }
        Err(UnixAddrError::TooLong { len, max: m }) => {
            assert_eq!((len, m), (data.len(), max));
            assert!(!data.contains(&0) && len > max);
        }
    }
    match UnixAddr::abstract_name(data) {
        Ok(a) => {
            assert_eq!(a.as_abstract(), Some(data));
            assert!(a.to_string().starts_with('@'));
            assert_eq!(
                a,
                UnixAddr::abstract_name(a.as_bytes()).expect("round trip")
            );
        }
        Err(e) => assert_eq!(
            e,
            UnixAddrError::TooLong {
                len: data.len(),
                max
            }
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            if let Ok(s) = std::str::from_utf8(rest) {
                check_target(s, 80);
                check_target(s, u16::from(mode) + 1);
            }
        }
        1 => check_socket_addr(rest),
        _ => check_unix(rest),
    }
});
