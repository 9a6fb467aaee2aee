//! The room's half of call history: keeping the session's `CallClock`
//! (joins, leaves, and each leaver's talk time from the media plane) and
//! storing what it says.
//!
//! Nothing here may hold the room up: mid-call, the row is queued for the
//! database without waiting ([`crate::store::Store::queue_call_stats`]),
//! and the talk a leaving connection is owed arrives as a receipt the
//! room's loop polls beside its commands. Only when the room is idle
//! (nobody in the call) does it wait for a write, so the row is on disk
//! before the room retires or the server stops.

use std::time::Duration;

use duet_signaling::{Role, UnixMillis};

use super::Room;
use crate::clock::now_millis;
use crate::media::TalkReceipt;

/// How long the room waits for the media plane's answer about a
/// connection's talk. The loop handles its control lane first, within a
/// turn; an answer this late means the loop is stuck, and the room must
/// still be able to retire.
const TALK_WAIT: Duration = Duration::from_secs(5);

/// What a leaving connection's receipt yields, or that it timed out.
pub(super) type TalkReply =
    Result<(crate::media::PeerKey, Option<u64>), tokio::time::error::Elapsed>;

impl Room {
    /// Starts the clock from what earlier rooms of the session stored.
    /// Until this succeeds nothing is written, so a stored call is never
    /// overwritten by a partial one; it is tried again at each join and
    /// before the room retires.
    pub(super) async fn restore_call(&mut self) {
        if self.call_restored {
            return;
        }
        match self.deps.store.call_stats(self.id).await {
            Ok(stored) => {
                if let Some(stored) = stored {
                    self.call.restore(stored);
                }
                self.call_restored = true;
            }
            Err(e) => {
                tracing::warn!(session = %self.id, error = %e, "could not read the call's stored history; not writing it until it can be read");
            }
        }
    }

    pub(super) fn call_joined(&mut self, now: UnixMillis, role: Role) {
        self.call.joined(now, role);
        self.call_dirty = true;
    }

    /// `role` left; `talk` will say how long they talked on the
    /// connection that went with them.
    pub(super) fn call_left(&mut self, now: UnixMillis, role: Role, talk: TalkReceipt) {
        self.call.left(now, role);
        self.leaving.push(tokio::time::timeout(TALK_WAIT, talk));
        self.call_dirty = true;
    }

    pub(super) fn talk_reported(&mut self, reply: TalkReply) {
        match reply {
            Ok((key, Some(ms))) => {
                self.call.add_talk(key.role, ms);
                self.call_dirty = true;
            }
            Ok((key, None)) => {
                tracing::warn!(session = %self.id, role = %key.role, "the media plane gave no talk time for a connection that left");
            }
            Err(_) => {
                tracing::warn!(session = %self.id, "the media plane did not say in time how long someone talked");
            }
        }
    }

    /// Queues the call's row for the database when something changed and
    /// no leaver's talk is still owed (it would change the row again at
    /// once). Never waits.
    pub(super) fn queue_call_stats(&mut self) {
        if !self.call_dirty || !self.call_restored || !self.leaving.is_empty() {
            return;
        }
        let Some(stats) = self.call.stats(self.id, now_millis()) else {
            return;
        };
        match self.deps.store.queue_call_stats(stats) {
            Ok(()) => self.call_dirty = false,
            Err(e) => {
                tracing::warn!(session = %self.id, error = %e, "could not queue the call's history; kept for the next write")
            }
        }
    }

    /// Writes the call's row and waits for it: called when the room is
    /// idle, so the row is stored before the room retires.
    pub(super) async fn flush_call_stats(&mut self) {
        self.restore_call().await;
        if !self.call_restored {
            return;
        }
        let Some(stats) = self.call.stats(self.id, now_millis()) else {
            return;
        };
        match self.deps.store.save_call_stats(stats).await {
            Ok(()) => self.call_dirty = false,
            Err(e) => {
                tracing::warn!(session = %self.id, error = %e, "could not store the call's history")
            }
        }
    }
}
