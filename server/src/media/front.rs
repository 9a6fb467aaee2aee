//! The front of a media plane with several shards: the first shard alone
//! reads the one UDP socket (in batches), handles its own datagrams and
//! hands each other one to the shard whose connection it belongs to, over
//! a bounded queue. Shards send on their own handles of the same socket,
//! so only receiving passes through here. Calls on the first shard cost no
//! hand-over at all, which is why sessions fill it first
//! (`media::placement`).
//!
//! Routing, in order: a STUN message whose USERNAME names a server ufrag
//! goes to the shard the ufrag's prefix names (`media::shard`); anything
//! else goes by its source address, which a shard claims once its ICE
//! agent answered a binding request from there (integrity checked) or it
//! sent a check there itself (`RouteChange`). Datagrams from addresses no
//! shard claimed are dropped, as one engine drops them.
//!
//! A full shard queue drops the datagram rather than wait: one overloaded
//! shard must not stall the calls on the others.

use std::collections::HashMap;
use std::net::SocketAddr;

use bytes::BytesMut;
use tokio::sync::mpsc;

use super::demux;
use super::engine::Datagram;
use super::shard;

/// Datagrams waiting for one shard at most (about 80 ms of a shard's
/// traffic at 150 calls).
pub(super) const SHARD_QUEUE: usize = 4096;

/// A shard claiming, or letting go of, a source address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::media) enum RouteChange {
    Pin { addr: SocketAddr, shard: usize },
    Unpin { addr: SocketAddr, shard: usize },
}

/// A shard's side of the claims: its index, and the front to tell (none
/// when it is the only shard).
#[derive(Default)]
pub(in crate::media) struct ShardClaims {
    pub shard: usize,
    pub routes: Option<mpsc::UnboundedSender<RouteChange>>,
}

impl ShardClaims {
    /// Tells the front that datagrams from `addr` are this shard's, or no
    /// longer are. A few per connection, never per packet.
    pub(in crate::media) fn announce(&self, addr: SocketAddr, ours: bool) {
        if let Some(routes) = &self.routes {
            let shard = self.shard;
            let _ = routes.send(if ours {
                RouteChange::Pin { addr, shard }
            } else {
                RouteChange::Unpin { addr, shard }
            });
        }
    }
}

/// Which shard each claimed address belongs to.
#[derive(Default)]
pub(super) struct Routes {
    by_addr: HashMap<SocketAddr, usize>,
}

impl Routes {
    pub(super) fn apply(&mut self, change: RouteChange) {
        match change {
            RouteChange::Pin { addr, shard } => {
                self.by_addr.insert(addr, shard);
            }
            // Only the shard that holds the address lets it go: another
            // may have claimed it since (a client's address reused by a
            // new session).
            RouteChange::Unpin { addr, shard } => {
                if self.by_addr.get(&addr) == Some(&shard) {
                    self.by_addr.remove(&addr);
                }
            }
        }
    }

    /// The shard a datagram from `from` goes to, out of `shards`.
    pub(super) fn route(&self, datagram: &[u8], from: SocketAddr, shards: usize) -> Option<usize> {
        demux::stun_local_ufrag(datagram)
            .and_then(|ufrag| shard::of_ufrag(ufrag, shards))
            .or_else(|| self.by_addr.get(&from).copied())
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.by_addr.len()
    }
}

/// What became of a datagram at the front.
#[derive(Debug, PartialEq, Eq)]
pub(in crate::media) enum HandOver {
    Mine,
    Given,
    /// Its shard's queue was full (or its shard is gone).
    Dropped,
}

/// What the first shard holds to be the front: the routes, a queue to
/// each other shard, and the claims the shards send.
pub(in crate::media) struct Dispatch {
    routes: Routes,
    /// Index = shard; `None` for the front's own.
    feeds: Vec<Option<mpsc::Sender<Datagram>>>,
    changes: mpsc::UnboundedReceiver<RouteChange>,
}

impl Dispatch {
    pub(super) fn new(
        feeds: Vec<Option<mpsc::Sender<Datagram>>>,
        changes: mpsc::UnboundedReceiver<RouteChange>,
    ) -> Dispatch {
        Dispatch {
            routes: Routes::default(),
            feeds,
            changes,
        }
    }

    /// Applies the claims that came in: before each batch is routed, so a
    /// shard's pin is in place before the datagrams it concerns.
    pub(in crate::media) fn take_changes(&mut self) {
        while let Ok(change) = self.changes.try_recv() {
            self.routes.apply(change);
        }
    }

    /// Where `datagram` goes: `Mine` for the front's own engine (its own
    /// connections', or nobody's, which that engine counts as unknown).
    pub(in crate::media) fn hand_over(
        &mut self,
        own: usize,
        from: SocketAddr,
        datagram: &[u8],
        copy: impl FnOnce(&[u8]) -> BytesMut,
    ) -> HandOver {
        let shard = match self.routes.route(datagram, from, self.feeds.len()) {
            Some(shard) if shard != own => shard,
            _ => return HandOver::Mine,
        };
        match self.feeds.get(shard) {
            Some(Some(feed)) if feed.try_send((from, copy(datagram))).is_ok() => HandOver::Given,
            _ => HandOver::Dropped,
        }
    }
}

#[cfg(test)]
mod tests;
