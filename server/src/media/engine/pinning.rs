//! Which connection a source address belongs to, on the one shared socket.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::media::PeerKey;

/// Pins `to` to this connection when the connection answers a STUN binding
/// request from it: the ICE agent only answers after checking the request's
/// MESSAGE-INTEGRITY, so the address is proven. True when the pin is new.
pub(super) fn pin_if_answered(
    by_addr: &mut HashMap<SocketAddr, PeerKey>,
    pinned: &mut Vec<SocketAddr>,
    key: PeerKey,
    to: SocketAddr,
    datagram: &[u8],
) -> bool {
    let is_binding_success = datagram.len() >= 2 && datagram[0] == 0x01 && datagram[1] == 0x01;
    if is_binding_success && by_addr.get(&to) != Some(&key) {
        by_addr.insert(to, key);
        if !pinned.contains(&to) {
            pinned.push(to);
        }
        return true;
    }
    false
}

/// Remembers that this connection sent a binding request to `to`, so the
/// answer finds its way back. True when it is new.
pub(super) fn note_probe(
    by_probe: &mut HashMap<SocketAddr, PeerKey>,
    probed: &mut Vec<SocketAddr>,
    key: PeerKey,
    to: SocketAddr,
    datagram: &[u8],
) -> bool {
    let is_binding_request = datagram.len() >= 2 && datagram[0] == 0x00 && datagram[1] == 0x01;
    if is_binding_request && by_probe.get(&to) != Some(&key) {
        by_probe.insert(to, key);
        if !probed.contains(&to) {
            probed.push(to);
        }
        return true;
    }
    false
}
