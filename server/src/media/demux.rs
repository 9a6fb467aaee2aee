//! Telling peers apart on the one shared UDP socket.
//!
//! A new peer is recognised by the USERNAME of its first STUN binding
//! request (`<our ufrag>:<their ufrag>`); each connection has its own
//! server ufrag. A source address is pinned to a connection only once that
//! connection has answered it (its ICE layer checked MESSAGE-INTEGRITY
//! first), so a forged USERNAME cannot steal a flow.
//!
//! ICE-TCP connections are routed the same way, once per connection: by
//! the USERNAME of the binding request they must start with.

use std::collections::HashMap;
use std::net::SocketAddr;

const STUN_MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
const STUN_HEADER_LEN: usize = 20;
const ATTR_USERNAME: u16 = 0x0006;

/// Whether the datagram looks like STUN (RFC 7983 demultiplexing: first byte
/// 0..=3, plus the magic cookie).
pub fn is_stun(packet: &[u8]) -> bool {
    packet.len() >= STUN_HEADER_LEN && packet[0] < 4 && packet[4..8] == STUN_MAGIC_COOKIE
}

/// Whether the datagram is a STUN success or error response (class bits
/// 0b10 or 0b11), which carries no USERNAME.
pub fn is_stun_response(packet: &[u8]) -> bool {
    is_stun(packet) && (packet[0] & 0x01) == 0x01
}

/// Whether the packet is a STUN binding request (method 0x001, class
/// request): the only thing a new ICE-TCP connection may start with.
pub fn is_binding_request(packet: &[u8]) -> bool {
    is_stun(packet) && packet[0] == 0x00 && packet[1] == 0x01
}

/// Whether the packet is anything the media plane speaks on one port
/// (RFC 7983): STUN (first byte 0..=3), DTLS (20..=63) or RTP/RTCP
/// (128..=191). Anything else on an ICE-TCP connection is garbage.
pub fn is_media_plane_packet(packet: &[u8]) -> bool {
    matches!(packet.first(), Some(0..=3 | 20..=63 | 128..=191))
}

/// The local (server) ufrag from a STUN message's USERNAME attribute,
/// borrowed from the packet: no allocation on the receive path.
pub fn stun_local_ufrag(packet: &[u8]) -> Option<&str> {
    if !is_stun(packet) {
        return None;
    }
    let body_len = u16::from_be_bytes([packet[2], packet[3]]) as usize;
    let end = STUN_HEADER_LEN.checked_add(body_len)?;
    let attrs = packet.get(STUN_HEADER_LEN..end)?;
    let mut at = 0usize;
    while at + 4 <= attrs.len() {
        let kind = u16::from_be_bytes([attrs[at], attrs[at + 1]]);
        let len = u16::from_be_bytes([attrs[at + 2], attrs[at + 3]]) as usize;
        let value = attrs.get(at + 4..at + 4 + len)?;
        if kind == ATTR_USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next();
        }
        // Attributes are padded to four bytes.
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

/// The connection a datagram from `from` belongs to (see the module docs):
/// the one a STUN USERNAME names, else the one `from` is pinned to, else,
/// for a STUN response, the one that sent a binding request to `from`.
/// Called once per received datagram; allocates nothing.
pub fn route<K: Copy>(
    packet: &[u8],
    from: SocketAddr,
    by_ufrag: &HashMap<String, K>,
    by_addr: &HashMap<SocketAddr, K>,
    by_probe: &HashMap<SocketAddr, K>,
) -> Option<K> {
    stun_local_ufrag(packet)
        .and_then(|ufrag| by_ufrag.get(ufrag))
        .or_else(|| by_addr.get(&from))
        .or_else(|| {
            is_stun_response(packet)
                .then(|| by_probe.get(&from))
                .flatten()
        })
        .copied()
}

#[cfg(test)]
mod tests {
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
}
