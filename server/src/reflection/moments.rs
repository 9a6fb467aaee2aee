//! Moments: bookmarks ("mark this moment", with an optional label) and
//! notes anchored to a time. Made in the call, or while watching a
//! recording back; private to their author or shared with the other
//! person, by the same rule as a pair's notes
//! ([`crate::pairs::access::note_visible_to`]).
//!
//! A moment made while the call is being recorded lands on that
//! recording's clock (seconds from its start, the clock the reflection
//! page's timeline uses); made in the call otherwise, on the session's
//! clock (seconds since the first person joined), and the in-call notes
//! list it. Pure rules here; the store keeps them (`store/moments.rs`).

use duet_signaling::consent::RecordingId;

use crate::pairs::fields::{self, FieldError};

/// A bookmark's label: one line.
pub const MAX_LABEL_CHARS: usize = 200;
/// A note at a time: a few paragraphs.
pub const MAX_NOTE_CHARS: usize = 5_000;
/// Most moments one session holds (both people, every recording of it): far
/// more than anyone marks, and a bound on what one person can make the
/// server store.
pub const MAX_PER_SESSION: usize = 2_000;
/// How far past a recording's known length a moment may still be placed:
/// the length is measured from the files, which may end a little early.
const END_SLACK_S: f64 = 5.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MomentKind {
    Bookmark,
    Note,
}

impl MomentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MomentKind::Bookmark => "bookmark",
            MomentKind::Note => "note",
        }
    }

    pub fn parse(s: &str) -> Option<MomentKind> {
        match s {
            "bookmark" => Some(MomentKind::Bookmark),
            "note" => Some(MomentKind::Note),
            _ => None,
        }
    }
}

/// Which clock a moment's `at_s` is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MomentClock {
    /// Seconds from the start of the recording named with it.
    Recording,
    /// Seconds since the first person joined the session's call.
    Session,
}

impl MomentClock {
    pub fn as_str(self) -> &'static str {
        match self {
            MomentClock::Recording => "recording",
            MomentClock::Session => "session",
        }
    }

    pub fn parse(s: &str) -> Option<MomentClock> {
        match s {
            "recording" => Some(MomentClock::Recording),
            "session" => Some(MomentClock::Session),
            _ => None,
        }
    }
}

/// Where on which clock a moment sits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub clock: MomentClock,
    pub at_s: f64,
    /// The recording whose clock it is (for [`MomentClock::Recording`]).
    pub recording: Option<RecordingId>,
}

/// What the live call knows at the moment someone marks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveCall {
    /// The recording being written, and when its clock started (unix ms).
    pub recording: Option<(RecordingId, i64)>,
    /// When the first person joined the session's call (unix ms).
    pub first_joined_ms: Option<i64>,
}

/// Where a moment marked in the call at `now_ms` goes: on the recording's
/// clock while one is written, else on the session's; `None` when there is
/// no call to place it in.
pub fn place_live(call: LiveCall, now_ms: i64) -> Option<Placement> {
    let secs = |since: i64| round1(now_ms.saturating_sub(since).max(0) as f64 / 1000.0);
    if let Some((id, started)) = call.recording {
        return Some(Placement {
            clock: MomentClock::Recording,
            at_s: secs(started),
            recording: Some(id),
        });
    }
    call.first_joined_ms.map(|first| Placement {
        clock: MomentClock::Session,
        at_s: secs(first),
        recording: None,
    })
}

/// A time chosen on the reflection page, on a recording `duration_s` long
/// (unknown: any time from zero).
pub fn check_at(at_s: f64, duration_s: Option<f64>) -> Result<f64, FieldError> {
    let bad = |message: String| FieldError {
        field: "at_s",
        message,
    };
    if !at_s.is_finite() || at_s < 0.0 {
        return Err(bad(
            "`at_s` must be a number of seconds from the recording's start".into(),
        ));
    }
    if let Some(d) = duration_s.filter(|d| d.is_finite())
        && at_s > d + END_SLACK_S
    {
        return Err(bad(format!(
            "`at_s` must be within the recording ({d:.0} s long)"
        )));
    }
    Ok(round1(at_s))
}

/// The text of a moment: a bookmark's label is one optional line; a note's
/// text is required and may span lines.
pub fn check_text(kind: MomentKind, text: Option<&str>) -> Result<String, FieldError> {
    match kind {
        MomentKind::Bookmark => match text.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(String::new()),
            Some(t) => fields::line("label", t, MAX_LABEL_CHARS),
        },
        MomentKind::Note => fields::text("text", text.unwrap_or(""), MAX_NOTE_CHARS, false),
    }
}

/// Tenths of a second: finer than a click on a timeline.
fn round1(s: f64) -> f64 {
    (s * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rid() -> RecordingId {
        RecordingId(uuid::Uuid::new_v4())
    }

    #[test]
    fn while_recording_a_moment_is_on_the_recordings_clock() {
        let id = rid();
        let call = LiveCall {
            recording: Some((id, 10_000)),
            first_joined_ms: Some(1_000),
        };
        let p = place_live(call, 72_340).expect("placed");
        assert_eq!(p.clock, MomentClock::Recording);
        assert_eq!(p.recording, Some(id));
        assert!((p.at_s - 62.3).abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn without_a_recording_it_is_on_the_sessions_clock() {
        let call = LiveCall {
            recording: None,
            first_joined_ms: Some(1_000),
        };
        let p = place_live(call, 61_000).expect("placed");
        assert_eq!(p.clock, MomentClock::Session);
        assert_eq!(p.recording, None);
        assert_eq!(p.at_s, 60.0);
        // A clock a little ahead of ours never gives a negative time.
        let early = place_live(call, 500).expect("placed");
        assert_eq!(early.at_s, 0.0);
    }

    #[test]
    fn no_call_no_place() {
        let call = LiveCall {
            recording: None,
            first_joined_ms: None,
        };
        assert_eq!(place_live(call, 5_000), None);
    }

    #[test]
    fn a_chosen_time_must_be_inside_the_recording() {
        assert_eq!(check_at(12.34, Some(60.0)), Ok(12.3));
        assert!(check_at(-1.0, Some(60.0)).is_err());
        assert!(check_at(f64::NAN, None).is_err());
        assert!(check_at(f64::INFINITY, None).is_err());
        assert!(check_at(600.0, Some(60.0)).is_err());
        // The files' length may end a little before the last packet.
        assert!(check_at(62.0, Some(60.0)).is_ok());
        assert_eq!(check_at(3600.0, None), Ok(3600.0));
    }

    #[test]
    fn a_bookmark_label_is_optional_a_note_is_not() {
        assert_eq!(check_text(MomentKind::Bookmark, None), Ok(String::new()));
        assert_eq!(
            check_text(MomentKind::Bookmark, Some("  ")),
            Ok(String::new())
        );
        assert_eq!(
            check_text(MomentKind::Bookmark, Some(" career goals ")),
            Ok("career goals".into())
        );
        assert!(check_text(MomentKind::Bookmark, Some("two\nlines")).is_err());
        assert!(check_text(MomentKind::Bookmark, Some(&"x".repeat(MAX_LABEL_CHARS + 1))).is_err());
        assert!(check_text(MomentKind::Note, None).is_err());
        assert_eq!(
            check_text(MomentKind::Note, Some("first\r\nsecond")),
            Ok("first\nsecond".into())
        );
        assert!(check_text(MomentKind::Note, Some(&"x".repeat(MAX_NOTE_CHARS + 1))).is_err());
    }

    #[test]
    fn kinds_and_clocks_round_trip_their_names() {
        for k in [MomentKind::Bookmark, MomentKind::Note] {
            assert_eq!(MomentKind::parse(k.as_str()), Some(k));
        }
        for c in [MomentClock::Recording, MomentClock::Session] {
            assert_eq!(MomentClock::parse(c.as_str()), Some(c));
        }
        assert_eq!(MomentKind::parse("Bookmark"), None);
    }
}
