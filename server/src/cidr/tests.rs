//! Tests of `cidr`: what both config lists accept and match.

use std::net::IpAddr;

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

#[test]
fn ranges_contain_what_they_should() {
    let c: Cidr = "10.0.0.0/8".parse().expect("cidr");
    assert!(c.contains(ip("10.200.3.4")));
    assert!(!c.contains(ip("11.0.0.1")));
    assert!(!c.contains(ip("::1")));
    assert!(c.contains(ip("::ffff:10.1.1.1")), "IPv4-mapped IPv6");
    let link: Cidr = "169.254.0.0/16".parse().expect("cidr");
    assert!(link.contains(ip("169.254.3.4")) && !link.contains(ip("169.255.0.1")));
    let one: Cidr = " 192.0.2.7 ".parse().expect("one address");
    assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
    let all: Cidr = "0.0.0.0/0".parse().expect("all");
    assert!(all.contains(ip("203.0.113.9")));
    let v6: Cidr = "fe80::/10".parse().expect("v6");
    assert!(v6.contains(ip("fe80::abcd")) && !v6.contains(ip("2001:db8::1")));
    let v6all: Cidr = "::/0".parse().expect("v6 all");
    assert!(v6all.contains(ip("2001:db8::1")));
    // Host bits in the network part are ignored, as routers do.
    let loose: Cidr = "10.1.2.3/8".parse().expect("cidr");
    assert!(loose.contains(ip("10.9.9.9")));
}

#[test]
fn bad_ranges_are_refused() {
    for bad in [
        "",
        "10.0.0.0/33",
        "::/129",
        "example.com",
        "example.com/8",
        "10.0.0.0/x",
        "1.2.3/8",
    ] {
        assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
    }
    let err = parse_all(&["10.0.0.0/8".into(), "nope".into()]).expect_err("bad entry");
    assert!(err.to_string().contains("\"nope\""), "{err}");
}
