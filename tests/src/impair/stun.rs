//! Just enough STUN to learn whose traffic a client address carries.
//!
//! ICE connectivity checks are STUN binding requests whose USERNAME is `remote:local` ufrags
//! (RFC 8445 section 7.2.2). A request *to* the server therefore starts with the ufrag the
//! server gave that peer, which the test knows from the signaling.
//!
//! Datagrams on one port are told apart by their first byte (RFC 7983 section 7).

/// What a datagram on a WebRTC port is, by its first byte (RFC 7983).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatagramKind {
    Stun,
    Zrtp,
    Dtls,
    TurnChannel,
    /// RTP or RTCP.
    Rtp,
    Other,
}

/// RFC 5389 section 6: every STUN message carries this after the length.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// Header length of a STUN message.
pub const HEADER_LEN: usize = 20;
/// Message type of a binding request.
pub const BINDING_REQUEST: u16 = 0x0001;
/// Attribute type of USERNAME.
pub const USERNAME: u16 = 0x0006;

/// The kind of `datagram` by RFC 7983's first-byte ranges.
pub fn classify(datagram: &[u8]) -> DatagramKind {
    match datagram.first() {
        Some(0..=3) => DatagramKind::Stun,
        Some(16..=19) => DatagramKind::Zrtp,
        Some(20..=63) => DatagramKind::Dtls,
        Some(64..=79) => DatagramKind::TurnChannel,
        Some(128..=191) => DatagramKind::Rtp,
        _ => DatagramKind::Other,
    }
}

/// The message type and attribute bytes of a well-formed STUN message.
fn message(datagram: &[u8]) -> Option<(u16, &[u8])> {
    if classify(datagram) != DatagramKind::Stun || datagram.len() < HEADER_LEN {
        return None;
    }
    let kind = u16::from_be_bytes([datagram[0], datagram[1]]);
    let len = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    let cookie = u32::from_be_bytes([datagram[4], datagram[5], datagram[6], datagram[7]]);
    if cookie != MAGIC_COOKIE || len % 4 != 0 {
        return None;
    }
    let attrs = datagram.get(HEADER_LEN..HEADER_LEN + len)?;
    Some((kind, attrs))
}

/// Whether `datagram` is a STUN binding request.
pub fn is_binding_request(datagram: &[u8]) -> bool {
    message(datagram).is_some_and(|(kind, _)| kind == BINDING_REQUEST)
}

/// Whether `datagram` says whose it is by USERNAME: an ICE binding request, or a TURN request
/// (Allocate, Refresh, CreatePermission…), whose long-term credentials carry the TURN username
/// as it is (RFC 8656 section 9.2).
pub fn is_request(datagram: &[u8]) -> bool {
    // The class bits (C1 = 0x0100, C0 = 0x0010) are both zero in a request.
    message(datagram).is_some_and(|(kind, _)| kind & 0x0110 == 0)
}

/// The USERNAME of a STUN message, if it is one and has a UTF-8 USERNAME.
pub fn username(datagram: &[u8]) -> Option<&str> {
    let (_, mut attrs) = message(datagram)?;
    while attrs.len() >= 4 {
        let kind = u16::from_be_bytes([attrs[0], attrs[1]]);
        let len = usize::from(u16::from_be_bytes([attrs[2], attrs[3]]));
        let value = attrs.get(4..4 + len)?;
        if kind == USERNAME {
            return std::str::from_utf8(value).ok();
        }
        // Values are padded to a multiple of four bytes.
        attrs = attrs.get(4 + len.next_multiple_of(4)..)?;
    }
    None
}

/// The USERNAME of a binding request, split at its colon into (the receiver's ufrag, the
/// sender's ufrag).
pub fn request_ufrags(datagram: &[u8]) -> Option<(&str, &str)> {
    if !is_binding_request(datagram) {
        return None;
    }
    username(datagram)?.split_once(':')
}

/// A binding request carrying only USERNAME, for tests that stand in for an ICE agent.
pub fn binding_request(username: &str, transaction_id: [u8; 12]) -> Vec<u8> {
    let value = username.as_bytes();
    let padded = value.len().next_multiple_of(4);
    let mut out = Vec::with_capacity(HEADER_LEN + 4 + padded);
    out.extend_from_slice(&BINDING_REQUEST.to_be_bytes());
    // Usernames are at most 513 bytes (RFC 5389 section 15.3), so this fits in a u16.
    out.extend_from_slice(&((4 + padded) as u16).to_be_bytes());
    out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    out.extend_from_slice(&transaction_id);
    out.extend_from_slice(&USERNAME.to_be_bytes());
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    out.resize(HEADER_LEN + 4 + padded, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_the_username_it_wrote() {
        for name in ["srv1:cli1", "a:b", "abcd:efgh", "x"] {
            let d = binding_request(name, [7; 12]);
            assert_eq!(d.len() % 4, 0);
            assert!(is_binding_request(&d));
            assert_eq!(username(&d), Some(name));
        }
        let d = binding_request("srv1:cli1", [7; 12]);
        assert_eq!(request_ufrags(&d), Some(("srv1", "cli1")));
    }

    #[test]
    fn finds_username_after_other_attributes() {
        let mut d = binding_request("s:c", [1; 12]);
        // PRIORITY (0x0024, 4 bytes) first, then a 1-byte attribute padded to 4.
        let extra = [
            0x00, 0x24, 0x00, 0x04, 1, 2, 3, 4, 0x80, 0x2a, 0x00, 0x01, 9, 0, 0, 0,
        ];
        d.splice(HEADER_LEN..HEADER_LEN, extra);
        let len = (d.len() - HEADER_LEN) as u16;
        d[2..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(username(&d), Some("s:c"));
    }

    #[test]
    fn rejects_what_is_not_a_well_formed_request() {
        let good = binding_request("s:c", [1; 12]);
        // A binding success response (0x0101) has no request ufrags.
        let mut response = good.clone();
        response[0..2].copy_from_slice(&0x0101u16.to_be_bytes());
        assert_eq!(request_ufrags(&response), None);
        assert_eq!(username(&response), Some("s:c"));
        // A wrong cookie, a length past the end, an attribute past the end, truncation.
        let mut cookie = good.clone();
        cookie[4] ^= 1;
        assert_eq!(username(&cookie), None);
        let mut long = good.clone();
        long[3] += 4;
        assert_eq!(username(&long), None);
        let mut attr = good.clone();
        attr[HEADER_LEN + 3] = 200;
        assert_eq!(username(&attr), None);
        assert_eq!(username(&good[..10]), None);
        assert_eq!(username(&[]), None);
    }

    #[test]
    fn tells_datagrams_apart_by_first_byte() {
        assert_eq!(classify(&[0x00, 0x01]), DatagramKind::Stun);
        assert_eq!(classify(&[22, 254, 253]), DatagramKind::Dtls);
        assert_eq!(classify(&[0x80, 96]), DatagramKind::Rtp);
        assert_eq!(classify(&[0x40]), DatagramKind::TurnChannel);
        assert_eq!(classify(&[17]), DatagramKind::Zrtp);
        assert_eq!(classify(&[200]), DatagramKind::Other);
        assert_eq!(classify(&[]), DatagramKind::Other);
        assert!(!is_binding_request(&[0x80; 40]));
    }

    #[test]
    fn turn_requests_count_as_requests_but_not_as_binding_requests() {
        let mut allocate = binding_request("mentee", [3; 12]);
        allocate[0..2].copy_from_slice(&0x0003u16.to_be_bytes());
        assert!(is_request(&allocate));
        assert!(!is_binding_request(&allocate));
        assert_eq!(username(&allocate), Some("mentee"));
        assert!(is_request(&binding_request("s:c", [1; 12])));
        // An Allocate error response (0x0113) and a Send indication (0x0016) are not.
        for kind in [0x0113u16, 0x0016] {
            let mut d = allocate.clone();
            d[0..2].copy_from_slice(&kind.to_be_bytes());
            assert!(!is_request(&d), "{kind:#06x}");
        }
    }
}
