//! Which connection a datagram on the one shared socket belongs to: the
//! maps `media::demux::route` reads, kept current as connections come,
//! prove addresses and go. With several shards, each address a connection
//! proves is claimed at the front (`media::front`), and given up with it.

use std::collections::HashMap;
use std::net::SocketAddr;

use tokio::sync::mpsc;

use crate::media::PeerKey;
use crate::media::demux;
use crate::media::front::{RouteChange, ShardClaims};

/// This engine's routing maps.
#[derive(Default)]
pub(super) struct Routing {
    /// By the local ufrag a STUN USERNAME names.
    by_ufrag: HashMap<String, PeerKey>,
    /// Source addresses proven by an answered binding request.
    by_addr: HashMap<SocketAddr, PeerKey>,
    /// Where each connection sent its own binding requests: the answers
    /// carry no USERNAME, and a browser that nominates with USE-CANDIDATE
    /// is not answered (so not pinned) until one of them got through.
    /// Only STUN responses are routed this way; ICE checks their
    /// MESSAGE-INTEGRITY.
    by_probe: HashMap<SocketAddr, PeerKey>,
    /// This engine's shard, and the front it tells which addresses are
    /// its own.
    claims: ShardClaims,
}

/// The addresses one connection is known by, forgotten with it.
#[derive(Default)]
pub(super) struct PeerAddrs {
    pub ufrag: String,
    /// Addresses pinned to it.
    pinned: Vec<SocketAddr>,
    /// Addresses it sent STUN binding requests to.
    probed: Vec<SocketAddr>,
}

impl PeerAddrs {
    pub(super) fn new(ufrag: String) -> PeerAddrs {
        PeerAddrs {
            ufrag,
            ..PeerAddrs::default()
        }
    }
}

impl Routing {
    /// Makes these the routes of shard `shard` of several, told to the
    /// front through `routes`.
    pub(super) fn set_shard(&mut self, shard: usize, routes: mpsc::UnboundedSender<RouteChange>) {
        self.claims = ShardClaims {
            shard,
            routes: Some(routes),
        };
    }

    pub(super) fn shard(&self) -> usize {
        self.claims.shard
    }

    /// The connection a datagram from `from` belongs to. Called once per
    /// received datagram; allocates nothing.
    pub(super) fn route(&self, datagram: &[u8], from: SocketAddr) -> Option<PeerKey> {
        demux::route(
            datagram,
            from,
            &self.by_ufrag,
            &self.by_addr,
            &self.by_probe,
        )
    }

    /// Connections by their local ufrag (ICE-TCP routes a new connection by
    /// its first binding request's USERNAME).
    pub(super) fn by_ufrag(&self) -> &HashMap<String, PeerKey> {
        &self.by_ufrag
    }

    /// A new connection, known by its local ufrag.
    pub(super) fn add(&mut self, key: PeerKey, addrs: &PeerAddrs) {
        self.by_ufrag.insert(addrs.ufrag.clone(), key);
    }

    /// Notes a datagram `key`'s connection sends to `to` over UDP: an
    /// answered binding request pins `to` to it (the ICE agent answers only
    /// after checking the request's MESSAGE-INTEGRITY, so the address is
    /// proven), and a binding request of its own lets the answer find its
    /// way back. New addresses are claimed at the front.
    pub(super) fn on_send(
        &mut self,
        key: PeerKey,
        addrs: &mut PeerAddrs,
        to: SocketAddr,
        datagram: &[u8],
    ) {
        let pinned = note(
            &mut self.by_addr,
            &mut addrs.pinned,
            key,
            to,
            is_binding_success(datagram),
        );
        let probed = note(
            &mut self.by_probe,
            &mut addrs.probed,
            key,
            to,
            is_binding_request(datagram),
        );
        if pinned || probed {
            self.claims.announce(to, true);
        }
    }

    /// Forgets a connection that was removed, and gives up the addresses
    /// no other connection of this engine still uses.
    pub(super) fn remove(&mut self, key: PeerKey, addrs: &PeerAddrs) {
        self.by_ufrag.remove(&addrs.ufrag);
        for addr in &addrs.pinned {
            if self.by_addr.get(addr) == Some(&key) {
                self.by_addr.remove(addr);
            }
        }
        for addr in &addrs.probed {
            if self.by_probe.get(addr) == Some(&key) {
                self.by_probe.remove(addr);
            }
        }
        for addr in addrs.pinned.iter().chain(&addrs.probed) {
            self.give_up_if_unused(*addr);
        }
    }

    /// Drops every trace of `key` without its `PeerAddrs` (after a panic
    /// left them untrustworthy): a scan of every map.
    pub(super) fn forget(&mut self, key: PeerKey) {
        self.by_ufrag.retain(|_, k| *k != key);
        let mut gone = Vec::new();
        for map in [&mut self.by_addr, &mut self.by_probe] {
            map.retain(|addr, k| {
                let keep = *k != key;
                if !keep {
                    gone.push(*addr);
                }
                keep
            });
        }
        for addr in gone {
            self.give_up_if_unused(addr);
        }
    }

    fn give_up_if_unused(&self, addr: SocketAddr) {
        if !self.by_addr.contains_key(&addr) && !self.by_probe.contains_key(&addr) {
            self.claims.announce(addr, false);
        }
    }

    /// The sizes of the three maps: ufrags, pinned and probed addresses.
    #[cfg(test)]
    pub(super) fn sizes(&self) -> (usize, usize, usize) {
        (self.by_ufrag.len(), self.by_addr.len(), self.by_probe.len())
    }

    /// The addresses pinned to a connection.
    #[cfg(test)]
    pub(super) fn pinned(&self) -> impl Iterator<Item = &SocketAddr> {
        self.by_addr.keys()
    }
}

fn is_binding_success(datagram: &[u8]) -> bool {
    datagram.len() >= 2 && datagram[0] == 0x01 && datagram[1] == 0x01
}

fn is_binding_request(datagram: &[u8]) -> bool {
    datagram.len() >= 2 && datagram[0] == 0x00 && datagram[1] == 0x01
}

/// Maps `to` to `key` in `map` when `applies`, remembering it in `mine`.
/// True when the mapping is new.
fn note(
    map: &mut HashMap<SocketAddr, PeerKey>,
    mine: &mut Vec<SocketAddr>,
    key: PeerKey,
    to: SocketAddr,
    applies: bool,
) -> bool {
    if !applies || map.get(&to) == Some(&key) {
        return false;
    }
    map.insert(to, key);
    if !mine.contains(&to) {
        mine.push(to);
    }
    true
}
