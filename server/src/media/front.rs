//! The front of a media plane with several shards: it alone reads the one
//! UDP socket (in batches) and hands each datagram to the shard whose
//! connection it belongs to, over a bounded queue. Shards send on their own
//! handles of the same socket, so only receiving passes through here.
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
use std::sync::Arc;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::demux;
use super::engine::Datagram;
use super::engine::recv_buffer::ReceiveBuffer;
use super::engine::udp_batch::BatchReceiver;
use super::shard;
use crate::metrics::Heartbeat;

/// Datagrams waiting for one shard at most (about 80 ms of a shard's
/// traffic at 150 calls).
pub(super) const SHARD_QUEUE: usize = 4096;

/// A shard claiming, or letting go of, a source address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::media) enum RouteChange {
    Pin { addr: SocketAddr, shard: usize },
    Unpin { addr: SocketAddr, shard: usize },
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

    pub(super) fn len(&self) -> usize {
        self.by_addr.len()
    }
}

pub(super) struct Front {
    pub socket: Arc<UdpSocket>,
    pub batch: BatchReceiver,
    pub shards: Vec<mpsc::Sender<Datagram>>,
    pub changes: mpsc::UnboundedReceiver<RouteChange>,
    pub heartbeat: Heartbeat,
}

impl Front {
    /// Runs until every shard has stopped.
    pub(super) async fn run(self) {
        let Front {
            socket,
            mut batch,
            shards,
            mut changes,
            heartbeat,
        } = self;
        let mut routes = Routes::default();
        let mut rx = ReceiveBuffer::default();
        let (mut unknown, mut dropped) = (0u64, 0u64);
        let mut pulse = tokio::time::interval(std::time::Duration::from_secs(1));
        pulse.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            heartbeat.beat(Instant::now());
            tokio::select! {
                biased;
                // Claims first: a shard's pin must be in place before the
                // datagrams it concerns are routed.
                change = changes.recv() => match change {
                    Some(change) => routes.apply(change),
                    // Every shard has stopped.
                    None => break,
                },
                ready = socket.readable() => {
                    if let Err(e) = ready {
                        tracing::debug!(error = %e, "media socket receive error");
                        continue;
                    }
                    // Claims that came in meanwhile go first too.
                    while let Ok(change) = changes.try_recv() {
                        routes.apply(change);
                    }
                    let read = batch.recv(&socket, |from, datagram| {
                        let Some(shard) = routes.route(datagram, from, shards.len()) else {
                            unknown += 1;
                            return;
                        };
                        if shards[shard].try_send((from, rx.copy(datagram))).is_err() {
                            dropped += 1;
                        }
                    });
                    match read {
                        Ok(_) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) => tracing::debug!(error = %e, "media socket receive error"),
                    }
                }
                // Turns at least once a second, for the heartbeat.
                _ = pulse.tick() => {}
            }
        }
        tracing::info!(
            unknown,
            dropped,
            routes = routes.len(),
            "media front stopped"
        );
    }
}

#[cfg(test)]
mod tests;
