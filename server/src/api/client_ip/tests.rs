use std::net::IpAddr;

use super::{Cidr, client_ip, parse_all};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn cidrs(list: &[&str]) -> Vec<Cidr> {
    parse_all(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("cidrs")
}

#[test]
fn ranges_contain_what_they_should() {
    let c: Cidr = "10.0.0.0/8".parse().expect("cidr");
    assert!(c.contains(ip("10.200.3.4")));
    assert!(!c.contains(ip("11.0.0.1")));
    assert!(!c.contains(ip("::1")));
    assert!(c.contains(ip("::ffff:10.1.1.1")), "IPv4-mapped IPv6");
    let one: Cidr = "192.0.2.7".parse().expect("one address");
    assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
    let all: Cidr = "0.0.0.0/0".parse().expect("all");
    assert!(all.contains(ip("203.0.113.9")));
    let v6: Cidr = "fd00::/8".parse().expect("v6");
    assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
    let v6all: Cidr = "::/0".parse().expect("v6 all");
    assert!(v6all.contains(ip("2001:db8::1")));
}

#[test]
fn bad_ranges_are_refused() {
    for bad in [
        "",
        "10.0.0.0/33",
        "::/129",
        "example.com",
        "10.0.0.0/x",
        "1.2.3/8",
    ] {
        assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
    }
}

#[test]
fn without_trusted_proxies_the_header_is_ignored() {
    let got = client_ip(ip("198.51.100.1"), ["203.0.113.5"].into_iter(), &[]);
    assert_eq!(got, ip("198.51.100.1"));
    // A peer that is not a trusted proxy cannot name another client.
    let trusted = cidrs(&["10.0.0.0/8"]);
    let got = client_ip(ip("198.51.100.1"), ["203.0.113.5"].into_iter(), &trusted);
    assert_eq!(got, ip("198.51.100.1"));
}

#[test]
fn the_rightmost_untrusted_hop_is_the_client() {
    let trusted = cidrs(&["10.0.0.0/8", "127.0.0.1"]);
    // The client forged "1.1.1.1"; the proxy appended the real address.
    let got = client_ip(
        ip("127.0.0.1"),
        ["1.1.1.1, 203.0.113.5, 10.0.0.2"].into_iter(),
        &trusted,
    );
    assert_eq!(got, ip("203.0.113.5"));
    // Several header lines count as one list, in order.
    let got = client_ip(
        ip("127.0.0.1"),
        ["1.1.1.1", "203.0.113.6"].into_iter(),
        &trusted,
    );
    assert_eq!(got, ip("203.0.113.6"));
    // No header: the proxy itself.
    let got = client_ip(ip("10.1.1.1"), std::iter::empty(), &trusted);
    assert_eq!(got, ip("10.1.1.1"));
    // Garbage stops the walk at the last trusted hop.
    let got = client_ip(ip("127.0.0.1"), ["203.0.113.5, junk"].into_iter(), &trusted);
    assert_eq!(got, ip("127.0.0.1"));
}
