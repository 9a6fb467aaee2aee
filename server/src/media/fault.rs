//! A test-only fault: make one connection's next packet panic inside the
//! media loop, to prove a panic ends that connection only. Reachable only
//! from code in the same process (no route, setting or message arms it).
//!
//! The packet path pays one relaxed atomic load while nothing is armed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use duet_signaling::{Role, SessionId};

use super::PeerKey;

static ARMED: AtomicBool = AtomicBool::new(false);
static TARGETS: Mutex<Vec<PeerKey>> = Mutex::new(Vec::new());

/// The next packet for `role` in `session` makes the media loop panic
/// while handling it.
#[doc(hidden)]
pub fn panic_on_next_packet(session: SessionId, role: Role) {
    let mut targets = TARGETS.lock().unwrap_or_else(|e| e.into_inner());
    targets.push(PeerKey { session, role });
    ARMED.store(true, Ordering::Release);
}

/// Panics if `key` was armed (once).
pub(super) fn maybe_panic(key: PeerKey) {
    if !ARMED.load(Ordering::Relaxed) {
        return;
    }
    let hit = {
        let mut targets = TARGETS.lock().unwrap_or_else(|e| e.into_inner());
        let before = targets.len();
        targets.retain(|k| *k != key);
        if targets.is_empty() {
            ARMED.store(false, Ordering::Release);
        }
        targets.len() != before
    };
    if hit {
        panic!("injected media fault (test hook)");
    }
}
