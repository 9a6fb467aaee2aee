use super::*;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 1], port))
}

/// A binding request whose USERNAME is `username` (no integrity: routing
/// never checks it, the shard's ICE agent does).
fn binding_request(username: &str) -> Vec<u8> {
    let mut attrs = vec![0x00, 0x06];
    attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
    attrs.extend_from_slice(username.as_bytes());
    while attrs.len() % 4 != 0 {
        attrs.push(0);
    }
    let mut p = vec![0x00, 0x01];
    p.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    p.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
    p.extend_from_slice(&[7; 12]);
    p.extend_from_slice(&attrs);
    p
}

const SRTP: [u8; 12] = [0x90, 0x60, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef];

#[test]
fn a_binding_request_goes_to_the_shard_its_ufrag_names() {
    let routes = Routes::default();
    let request = binding_request("01abcdefghijklmn:client");
    assert_eq!(routes.route(&request, addr(1), 2), Some(1));
    // Even from an address another shard claimed: the ufrag decides.
    let mut routes = Routes::default();
    routes.apply(RouteChange::Pin {
        addr: addr(1),
        shard: 0,
    });
    assert_eq!(routes.route(&request, addr(1), 2), Some(1));
    // A prefix beyond the shards there are falls back to the address.
    let request = binding_request("07abcdefghijklmn:client");
    assert_eq!(routes.route(&request, addr(1), 2), Some(0));
    assert_eq!(routes.route(&request, addr(2), 2), None);
}

#[test]
fn media_goes_by_the_address_a_shard_claimed_until_it_lets_go() {
    let mut routes = Routes::default();
    assert_eq!(routes.route(&SRTP, addr(1), 2), None, "unclaimed");
    routes.apply(RouteChange::Pin {
        addr: addr(1),
        shard: 1,
    });
    assert_eq!(routes.route(&SRTP, addr(1), 2), Some(1));
    // Claimed by another shard since: the first shard's release is stale.
    routes.apply(RouteChange::Pin {
        addr: addr(1),
        shard: 0,
    });
    routes.apply(RouteChange::Unpin {
        addr: addr(1),
        shard: 1,
    });
    assert_eq!(routes.route(&SRTP, addr(1), 2), Some(0));
    routes.apply(RouteChange::Unpin {
        addr: addr(1),
        shard: 0,
    });
    assert_eq!(routes.route(&SRTP, addr(1), 2), None);
    assert_eq!(routes.len(), 0);
}
