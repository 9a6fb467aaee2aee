//! Pausing video to a receiver whose downlink cannot carry even the floor.
//!
//! [`DownlinkCap`](super::DownlinkCap) asks the sender for less, but never
//! below [`MIN_CAP_BPS`](super::MIN_CAP_BPS). When the cap has sat at that
//! floor and the receiver's downlink still loses over 10 % of the video
//! for [`PAUSE_WINDOWS`] loss windows in a row (three seconds or more),
//! video only takes room from the audio on a link that is already full:
//! Duet stops forwarding video to that receiver and says so on both pages.
//! Audio goes on throughout.
//!
//! While paused, the video streams tell nothing (nothing is sent on them),
//! but the receiver still reports on the audio it gets: the audio stream's
//! downlink loss is the measure of the link. After [`RESUME_AFTER`] of loss
//! under 2 % video resumes (the engine then starts the sender from the
//! floor, with a keyframe); in silence with DTX an audio window of 20
//! packets takes about 8 s, so a resume may wait that long. A pause that
//! comes soon after a resume (within [`SETTLED_AFTER`]) doubles the clean
//! time the next resume needs, up to [`MAX_RESUME_AFTER`], so a link on the
//! edge does not flap; video that stayed on that long starts over from
//! [`RESUME_AFTER`].
//!
//! If no audio window closes for [`SILENCE_RESUMES_AFTER`] (or the clean
//! time a resume needs, if longer) — a sender without a microphone — there
//! is nothing to judge the link by: video resumes, and the video streams'
//! own loss decides again.
//!
//! Plain data with time passed in: the engine feeds it closed loss windows
//! ([`super::loss::LossWindow`]) and applies what it returns. The packet
//! path reads [`VideoGate::paused`], a field.

use std::time::{Duration, Instant};

use super::loss::WINDOW;
use super::{HIGH_LOSS, LOW_LOSS};
use crate::media::forward::Slot;

/// Consecutive lossy windows at the floor that pause video: each window
/// spans at least [`WINDOW`], so this is three seconds or more.
pub const PAUSE_WINDOWS: u32 = 3;
/// Clean audio needed before the first resume.
pub const RESUME_AFTER: Duration = Duration::from_secs(4);
/// The most clean audio a resume ever needs, however often video re-paused.
pub const MAX_RESUME_AFTER: Duration = Duration::from_secs(30);
/// Video that stayed on this long after a resume forgets the back-off.
pub const SETTLED_AFTER: Duration = Duration::from_secs(60);
/// No audio window this long while paused: nothing to judge by, so video
/// resumes. Well above the few seconds between a browser's reports on the
/// audio it receives, and the ~8 s a window takes in silence with DTX.
pub const SILENCE_RESUMES_AFTER: Duration = Duration::from_secs(15);

/// What changed for the receiver; the engine acts on it and the room tells
/// both pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateChange {
    Paused,
    Resumed,
}

/// Consecutive windows of one video stream that were lossy at the floor.
#[derive(Debug, Clone, Copy, Default)]
struct Streak {
    windows: u32,
    /// When the first of them closed.
    first: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Video flows; `resumed` is when it last came back from a pause.
    Open { resumed: Option<Instant> },
    /// Video is held back. `clean_since`: the audio has been clean since
    /// then (the pause, or the last lossy audio window); `last_heard`: when
    /// an audio window last closed.
    Paused {
        clean_since: Instant,
        last_heard: Instant,
    },
}

/// Whether video goes to one receiver. One per receiving connection.
#[derive(Debug, Clone)]
pub struct VideoGate {
    state: State,
    /// Read per packet, so a plain field.
    paused: bool,
    /// Per slot (audio's unused), the lossy streak at the floor.
    streaks: [Streak; 3],
    /// Clean audio the next resume needs.
    resume_after: Duration,
}

impl Default for VideoGate {
    fn default() -> Self {
        VideoGate {
            state: State::Open { resumed: None },
            paused: false,
            streaks: Default::default(),
            resume_after: RESUME_AFTER,
        }
    }
}

impl VideoGate {
    /// Whether video to this receiver is held back. Called per packet.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Clean audio the next resume needs (grows with re-pauses).
    pub fn resume_after(&self) -> Duration {
        self.resume_after
    }

    /// A loss window closed on the video stream `slot` sent to this
    /// receiver: `downlink_loss` (0–1) is the downlink's share, `at_floor`
    /// whether that stream's cap is at the floor after this report. Ignored
    /// while paused (a window then holds only what was sent before).
    pub fn on_video_window(
        &mut self,
        now: Instant,
        slot: Slot,
        downlink_loss: f64,
        at_floor: bool,
    ) -> Option<GateChange> {
        let State::Open { resumed } = self.state else {
            return None;
        };
        let streak = &mut self.streaks[slot.index()];
        // NaN is no evidence of loss.
        if !(at_floor && downlink_loss > HIGH_LOSS) {
            *streak = Streak::default();
            return None;
        }
        streak.windows += 1;
        let first = *streak.first.get_or_insert(now);
        // The first window covered a second or more before it closed.
        let span = WINDOW * (PAUSE_WINDOWS - 1);
        if streak.windows < PAUSE_WINDOWS || now.saturating_duration_since(first) < span {
            return None;
        }
        let repaused = resumed.is_some_and(|t| now.saturating_duration_since(t) < SETTLED_AFTER);
        self.resume_after = if repaused {
            (self.resume_after * 2).min(MAX_RESUME_AFTER)
        } else {
            RESUME_AFTER
        };
        self.streaks = Default::default();
        self.state = State::Paused {
            clean_since: now,
            last_heard: now,
        };
        self.paused = true;
        Some(GateChange::Paused)
    }

    /// A loss window closed on the audio stream sent to this receiver, with
    /// the downlink's share of the loss (0–1). Only matters while paused.
    pub fn on_audio_window(&mut self, now: Instant, downlink_loss: f64) -> Option<GateChange> {
        let State::Paused {
            clean_since,
            last_heard,
        } = &mut self.state
        else {
            return None;
        };
        *last_heard = now;
        // NaN is not clean.
        let clean = downlink_loss < LOW_LOSS;
        if !clean {
            *clean_since = now;
            return None;
        }
        if now.saturating_duration_since(*clean_since) < self.resume_after {
            return None;
        }
        Some(self.resume(now))
    }

    /// Any receiver report from this receiver (after its windows were fed
    /// in): resumes when no audio window closed for
    /// [`SILENCE_RESUMES_AFTER`] (or the clean time a resume needs, if
    /// longer), as there is nothing to judge the link by.
    pub fn on_report(&mut self, now: Instant) -> Option<GateChange> {
        let State::Paused { last_heard, .. } = self.state else {
            return None;
        };
        let silent_for = self.resume_after.max(SILENCE_RESUMES_AFTER);
        if now.saturating_duration_since(last_heard) < silent_for {
            return None;
        }
        Some(self.resume(now))
    }

    fn resume(&mut self, now: Instant) -> GateChange {
        self.state = State::Open { resumed: Some(now) };
        self.paused = false;
        GateChange::Resumed
    }
}

#[cfg(test)]
mod tests;
