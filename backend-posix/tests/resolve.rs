//! Name resolution through getaddrinfo.

use std::net::IpAddr;

use unisock::{ErrorKind, Stack};
use unisock_posix::PosixStack;

#[test]
fn localhost_resolves_to_loopback() {
    let addrs = PosixStack.resolve("localhost").unwrap();
    assert!(
        addrs
            .iter()
            .any(|a| *a == IpAddr::from([127, 0, 0, 1]) || *a == "::1".parse::<IpAddr>().unwrap()),
        "{addrs:?}"
    );
    // No duplicates (getaddrinfo returns one entry per socket type otherwise).
    for (i, a) in addrs.iter().enumerate() {
        assert!(!addrs[i + 1..].contains(a), "{addrs:?}");
    }
    assert!(addrs.len() <= unisock::MAX_ADDRESSES);
}

#[test]
fn literals_need_no_lookup() {
    let a = PosixStack.resolve("192.0.2.7").unwrap();
    assert_eq!(&a[..], &[IpAddr::from([192, 0, 2, 7])]);
    let a = PosixStack.resolve("fe80::1").unwrap();
    assert_eq!(&a[..], &["fe80::1".parse::<IpAddr>().unwrap()]);
}

#[test]
fn bad_names_are_typed_errors() {
    let e = PosixStack.resolve("").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = PosixStack.resolve("a\0b").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let long = "a".repeat(300);
    assert_eq!(
        PosixStack.resolve(&long).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // `.invalid` never resolves (RFC 6761); no network is needed to learn that from
    // /etc/hosts-only or offline resolvers, which answer with a gai error.
    let e = PosixStack.resolve("no-such-host.invalid").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HostNotFound, "{e}");
    assert!(
        e.gai_code().is_some() || e.raw_os_error().is_some(),
        "{e:?}"
    );
}

#[test]
fn resolver_errors_name_the_host() {
    let e = PosixStack.resolve("no-such-host.invalid").unwrap_err();
    assert!(
        e.to_string().starts_with("resolve no-such-host.invalid: "),
        "{e}"
    );
}
