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
        self.stats.metrics.peer_panics.inc();
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
        self.stats.connections(self.peers.len());
        self.routes.forget(key);
        self.tcp.remove_peer(key);
        self.update_connected_call(key.session);
    }
}
