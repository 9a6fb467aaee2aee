use super::*;

fn binding_request(username: &[u8]) -> Vec<u8> {
    let mut attrs = Vec::new();
    // A PRIORITY attribute first, to check we skip attributes.
    attrs.extend_from_slice(&[0x00, 0x24, 0x00, 0x04, 1, 2, 3, 4]);
    attrs.extend_from_slice(&ATTR_USERNAME.to_be_bytes());
    attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
    attrs.extend_from_slice(username);
    while attrs.len() % 4 != 0 {
        attrs.push(0);
    }
    let mut p = vec![0x00, 0x01];
    p.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    p.extend_from_slice(&STUN_MAGIC_COOKIE);
    p.extend_from_slice(&[9; 12]);
    p.extend_from_slice(&attrs);
    p
}

#[test]
fn finds_the_local_ufrag() {
    let p = binding_request(b"duetAbc1:browserXyz");
    assert_eq!(stun_local_ufrag(&p), Some("duetAbc1"));
}

#[test]
fn ignores_non_stun_and_truncated_packets() {
    assert_eq!(stun_local_ufrag(&[0x80, 0x60, 0, 1]), None, "RTP");
    assert_eq!(
        stun_local_ufrag(&[22, 254, 253, 0, 0, 0, 0, 0]),
        None,
        "DTLS"
    );
    let mut p = binding_request(b"abc:def");
    p.truncate(p.len() - 4);
    assert_eq!(stun_local_ufrag(&p), None, "length field beyond the packet");
    let mut p = binding_request(b"abc:def");
    // An attribute claiming more bytes than the message has.
    p[STUN_HEADER_LEN + 10] = 0xFF;
    assert_eq!(stun_local_ufrag(&p), None);
    assert_eq!(stun_local_ufrag(&[]), None);
}

#[test]
fn no_username_means_none() {
    let mut p = vec![0x01, 0x01, 0x00, 0x00];
    p.extend_from_slice(&STUN_MAGIC_COOKIE);
    p.extend_from_slice(&[0; 12]);
    assert!(is_stun(&p));
    assert_eq!(stun_local_ufrag(&p), None);
}

#[test]
fn recognises_binding_requests_and_media_plane_packets() {
    let request = binding_request(b"abc:def");
    assert!(is_binding_request(&request));
    let mut response = request.clone();
    response[0] = 0x01;
    assert!(!is_binding_request(&response), "a success response");
    assert!(!is_binding_request(&[0x00, 0x01, 0, 0]), "too short");
    assert!(is_media_plane_packet(&request), "STUN");
    assert!(is_media_plane_packet(&[22, 254, 253]), "DTLS");
    assert!(is_media_plane_packet(&[0x80, 0x60]), "RTP");
    assert!(!is_media_plane_packet(b"GET / HTTP/1.1"), "HTTP");
    assert!(!is_media_plane_packet(&[]), "empty");
}

#[test]
fn routes_by_username_then_address_then_probe() {
    let a: SocketAddr = ([127, 0, 0, 1], 5000).into();
    let b: SocketAddr = ([127, 0, 0, 1], 5001).into();
    let ufrags = HashMap::from([("srv1".to_owned(), 1u8)]);
    let pinned = HashMap::from([(a, 2u8)]);
    let probed = HashMap::from([(b, 3u8)]);
    let route = |p: &[u8], from| route(p, from, &ufrags, &pinned, &probed);
    let request = binding_request(b"srv1:cli");
    assert_eq!(route(&request, a), Some(1), "USERNAME wins over the pin");
    assert_eq!(route(&[0x80, 0x60, 0, 1], a), Some(2), "RTP by address");
    assert_eq!(route(&[0x80, 0x60, 0, 1], b), None, "a probe routes no RTP");
    let mut response = vec![0x01, 0x01, 0x00, 0x00];
    response.extend_from_slice(&STUN_MAGIC_COOKIE);
    response.extend_from_slice(&[0; 12]);
    assert_eq!(route(&response, b), Some(3), "a response to our probe");
    assert_eq!(route(&binding_request(b"nobody:cli"), b), None);
}

#[test]
fn tells_responses_from_requests() {
    let header = |kind: [u8; 2]| {
        let mut p = vec![kind[0], kind[1], 0x00, 0x00];
        p.extend_from_slice(&STUN_MAGIC_COOKIE);
        p.extend_from_slice(&[0; 12]);
        p
    };
    assert!(is_stun_response(&header([0x01, 0x01])), "binding success");
    assert!(is_stun_response(&header([0x01, 0x11])), "binding error");
    assert!(!is_stun_response(&header([0x00, 0x01])), "binding request");
    assert!(
        !is_stun_response(&header([0x00, 0x11])),
        "binding indication"
    );
    assert!(!is_stun_response(&[0x81, 0x01, 0, 0]), "RTP");
}
