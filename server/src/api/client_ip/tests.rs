use std::net::IpAddr;

use super::client_ip;
use crate::cidr::{Cidr, parse_all};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn cidrs(list: &[&str]) -> Vec<Cidr> {
    parse_all(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("cidrs")
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
