//! A session's call as its room sees it: who is in it, since when, how
//! long both were in it together, and how long each talked, as the media
//! plane reports at each leave. Plain data with time passed in; the room
//! stores what [`CallClock::stats`] says (`room/history.rs`).
//!
//! A room lives while someone is in the call; when everyone has left it
//! retires, and the next join starts a new one. So a clock starts from what
//! the earlier rooms stored ([`CallClock::restore`]) and adds its own.

use duet_signaling::{Role, SessionId, UnixMillis};

use crate::store::CallStats;

#[derive(Debug, Clone, Default)]
pub(crate) struct CallClock {
    /// What earlier rooms of this session stored.
    stored: Option<CallStats>,
    first_joined: Option<i64>,
    together_since: Option<i64>,
    last_left: Option<i64>,
    present: [bool; 2],
    /// When the stretch both are in now began.
    stretch: Option<i64>,
    /// This room's finished stretches with both in.
    together_ms: i64,
    talk_ms: [i64; 2],
}

impl CallClock {
    /// Starts from what earlier rooms of the session stored.
    pub(crate) fn restore(&mut self, stored: CallStats) {
        self.stored = Some(stored);
    }

    /// `role` holds its place from `now` (a join, a new tab, a rejoin).
    pub(crate) fn joined(&mut self, now: UnixMillis, role: Role) {
        self.first_joined.get_or_insert(now.0);
        self.present[role.index()] = true;
        if self.present == [true, true] && self.stretch.is_none() {
            self.stretch = Some(now.0);
            self.together_since.get_or_insert(now.0);
        }
    }

    /// `role` no longer holds its place: the stretch together, if any,
    /// ends, so a rejoin starts a new one and no time counts twice.
    pub(crate) fn left(&mut self, now: UnixMillis, role: Role) {
        if !std::mem::replace(&mut self.present[role.index()], false) {
            return;
        }
        if let Some(start) = self.stretch.take() {
            self.together_ms = self.together_ms.saturating_add(elapsed(start, now.0));
        }
        if self.present == [false, false] {
            self.last_left = Some(now.0);
        }
    }

    /// Talk the media plane counted on one of `role`'s connections.
    pub(crate) fn add_talk(&mut self, role: Role, ms: u64) {
        let ms = i64::try_from(ms).unwrap_or(i64::MAX);
        let talk = &mut self.talk_ms[role.index()];
        *talk = talk.saturating_add(ms);
    }

    /// The call as of `now`, the stretch going on included; `None` when
    /// nobody ever joined. Talk is capped at the time both were in: a
    /// sender controls its RTP timestamps, and a runaway clock must not
    /// claim more talk than the call lasted.
    pub(crate) fn stats(&self, session: SessionId, now: UnixMillis) -> Option<CallStats> {
        let stored = self.stored.as_ref();
        let first_joined_at_ms = match (stored.map(|s| s.first_joined_at_ms), self.first_joined) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        let open = self.stretch.map_or(0, |start| elapsed(start, now.0));
        let together_ms = stored
            .map_or(0, |s| s.together_ms)
            .saturating_add(self.together_ms)
            .saturating_add(open);
        let talk = |role: Role| {
            stored
                .map_or(0, |s| s.talk_ms(role))
                .saturating_add(self.talk_ms[role.index()])
                .min(together_ms)
        };
        Some(CallStats {
            session,
            first_joined_at_ms,
            together_since_ms: stored
                .and_then(|s| s.together_since_ms)
                .or(self.together_since),
            last_left_at_ms: self.last_left.max(stored.and_then(|s| s.last_left_at_ms)),
            together_ms,
            mentor_talk_ms: talk(Role::Mentor),
            mentee_talk_ms: talk(Role::Mentee),
            updated_at_ms: now.0,
        })
    }
}

/// Milliseconds from `start` to `end`; 0 if the wall clock stepped back.
fn elapsed(start: i64, end: i64) -> i64 {
    end.saturating_sub(start).max(0)
}

#[cfg(test)]
mod tests;
