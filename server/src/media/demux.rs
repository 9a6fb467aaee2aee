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
mod tests;
