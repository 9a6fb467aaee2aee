use std::net::{IpAddr, Ipv4Addr};

use super::*;

fn defaults() -> Vec<String> {
    DEFAULT_DENY.iter().map(|s| s.to_string()).collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

const PUBLIC: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10));

#[test]
fn the_defaults_deny_loopback_and_link_local_but_not_private_ranges() {
    let f = IceFilter::new(&defaults(), PUBLIC);
    for denied in [
        "127.0.0.1",
        "127.9.9.9",
        "169.254.1.1",
        "::1",
        "fe80::1",
        "224.0.0.1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
    ] {
        assert!(!f.allows(ip(denied)), "{denied} should be denied");
    }
    for allowed in [
        "10.0.0.5",
        "172.16.4.4",
        "192.168.1.20",
        "198.51.100.7",
        "2001:db8::7",
        "fd00::1",
    ] {
        assert!(f.allows(ip(allowed)), "{allowed} should be allowed");
    }
}

#[test]
fn entries_covering_the_advertised_address_are_left_out() {
    // A dev or test server on 127.0.0.1: loopback peers must work...
    let mut deny = defaults();
    deny.push("127.0.0.2/32".into());
    let f = IceFilter::new(&deny, ip("127.0.0.1"));
    assert!(f.allows(ip("127.0.0.1")));
    assert!(f.allows(ip("127.0.0.3")));
    // ...but a narrower entry that does not cover it still applies.
    assert!(!f.allows(ip("127.0.0.2")));
    assert!(!f.allows(ip("169.254.1.1")));
}

#[test]
fn candidate_lines_are_judged_by_their_address() {
    let f = IceFilter::new(&defaults(), PUBLIC);
    assert!(f.allows_candidate("candidate:1 1 udp 2122260223 192.168.1.20 50000 typ host"));
    assert!(
        f.allows_candidate("a=candidate:1 1 UDP 1 198.51.100.7 9 typ srflx raddr 0.0.0.0 rport 0")
    );
    assert!(!f.allows_candidate("candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"));
    assert!(!f.allows_candidate("candidate:1 1 udp 2122260223 169.254.9.9 50000 typ host"));
    // mDNS names and junk are never used.
    assert!(!f.allows_candidate("candidate:1 1 udp 1 abcd.local 9 typ host"));
    assert!(!f.allows_candidate("candidate:1 1 udp"));
}

#[test]
fn denied_lines_leave_the_offer_and_the_rest_stays_intact() {
    let f = IceFilter::new(&defaults(), PUBLIC);
    let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
               a=candidate:1 1 udp 1 192.168.1.20 5000 typ host\r\n\
               a=candidate:2 1 udp 1 127.0.0.1 5000 typ host\r\n\
               a=candidate:3 1 udp 1 169.254.1.1 5000 typ host\r\n\
               a=end-of-candidates\r\n";
    let (out, dropped) = f.filter_sdp(sdp);
    assert_eq!(dropped, 2);
    assert_eq!(
        out,
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
         a=candidate:1 1 udp 1 192.168.1.20 5000 typ host\r\n\
         a=end-of-candidates\r\n"
    );
}

#[test]
fn validation_names_the_bad_entry() {
    assert!(validate(&defaults()).is_ok());
    let err = validate(&["10.0.0.0/8".into(), "nonsense".into()]).expect_err("bad");
    assert!(err.to_string().contains("nonsense"));
}
