//! Test-only faults: make one connection's next packet panic inside the
//! media loop, to prove a panic ends that connection only; or hold a
//! session's offer answers, to prove signaling does not wait for them.
//! Reachable only from code in the same process (no route, setting or
//! message arms it).
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

static ANSWERS_HELD: AtomicBool = AtomicBool::new(false);
static SLOW_ANSWERS: Mutex<Vec<(SessionId, std::time::Duration)>> = Mutex::new(Vec::new());

/// Every later offer answer in `session` reaches its signaling socket
/// `delay` late: a slow media loop, as that socket sees it.
#[doc(hidden)]
pub fn delay_answers(session: SessionId, delay: std::time::Duration) {
    let mut slow = SLOW_ANSWERS.lock().unwrap_or_else(|e| e.into_inner());
    slow.push((session, delay));
    ANSWERS_HELD.store(true, Ordering::Release);
}

/// How late `session`'s answers are to be, if a test asked for it.
pub(super) fn answer_delay(session: SessionId) -> Option<std::time::Duration> {
    if !ANSWERS_HELD.load(Ordering::Relaxed) {
        return None;
    }
    let slow = SLOW_ANSWERS.lock().unwrap_or_else(|e| e.into_inner());
    slow.iter().find(|(s, _)| *s == session).map(|(_, d)| *d)
}
