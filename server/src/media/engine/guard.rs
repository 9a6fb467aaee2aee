//! Containing a panic to the one connection it happened on. `rtc` parses
//! what clients send (SDP, STUN, DTLS, RTP, RTCP); a bug there must end
//! that participant's connection, not the loop that carries every call.
//!
//! After a panic the connection is closed (its client sees the connection
//! fail and reconnects, as after any failure) and forgotten. The panic
//! itself is printed by the process's panic hook; this logs what was
//! closed.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::Engine;
use crate::media::PeerKey;

impl Engine {
    /// Runs `work`, which concerns `key`'s connection; `None` when it
    /// panicked (the connection is then gone).
    pub(super) fn guarded<R>(
        &mut self,
        key: PeerKey,
        work: impl FnOnce(&mut Engine) -> R,
    ) -> Option<R> {
        match catch_unwind(AssertUnwindSafe(|| work(self))) {
            Ok(r) => Some(r),
            Err(_) => {
                self.after_panic(key);
                None
            }
        }
    }

    fn after_panic(&mut self, key: PeerKey) {
        tracing::error!(
            session = %key.session,
            role = %key.role,
            "handling a media connection panicked: it is closed, other calls go on"
        );
        self.metrics.peer_panics.inc();
        let Some(conn) = self.peers.get(&key).map(|p| p.conn) else {
            return;
        };
        // Closing runs `rtc` on the connection that just failed: if that
        // panics too, forget it without a goodbye.
        if catch_unwind(AssertUnwindSafe(|| self.remove(key, conn))).is_err() {
            self.forget(key);
        }
    }

    /// Drops every trace of `key`'s connection without calling into it.
    fn forget(&mut self, key: PeerKey) {
        self.peers.remove(&key);
        self.shard_connections.set(self.peers.len() as i64);
        self.by_ufrag.retain(|_, k| *k != key);
        let mut gone = Vec::new();
        self.by_addr.retain(|addr, k| {
            let keep = *k != key;
            if !keep {
                gone.push(*addr);
            }
            keep
        });
        self.by_probe.retain(|addr, k| {
            let keep = *k != key;
            if !keep {
                gone.push(*addr);
            }
            keep
        });
        for addr in gone {
            if !self.by_addr.contains_key(&addr) && !self.by_probe.contains_key(&addr) {
                self.claims.announce(addr, false);
            }
        }
        self.tcp.remove_peer(key);
        self.update_connected_call(key.session);
    }
}
