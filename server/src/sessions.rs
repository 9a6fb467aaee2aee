//! Creating sessions and describing them: shared by the HTTP API and the
//! `duet session create` command.

use duet_signaling::protocol::{ParticipantInfo, RecordingPolicy, RecordingState, RecordingStatus};
use duet_signaling::{Role, SessionId, UnixMillis};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::config::Config;
use crate::links::{Claims, LinkSigner, join_url, new_link_id};
use crate::store::{CallStats, SessionRecord};

pub const MAX_TITLE_CHARS: usize = 200;
pub const MIN_EXPIRY_S: u64 = 60;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonSpec {
    pub name: String,
}

/// The body of `POST /api/v1/sessions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSpec {
    pub title: String,
    pub mentor: PersonSpec,
    pub mentee: PersonSpec,
    #[serde(default)]
    pub recording: RecordingPolicy,
    #[serde(default)]
    pub expires_in_s: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SpecError {
    pub field: &'static str,
    pub message: String,
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<String, SpecError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(SpecError {
            field,
            message: format!("`{field}` must not be empty"),
        });
    }
    if v.chars().count() > max {
        return Err(SpecError {
            field,
            message: format!("`{field}` must be at most {max} characters"),
        });
    }
    if v.chars().any(char::is_control) {
        return Err(SpecError {
            field,
            message: format!("`{field}` must not contain control characters"),
        });
    }
    Ok(v.to_string())
}

/// Validates a spec and turns it into a row to insert.
pub fn prepare(
    config: &Config,
    spec: &SessionSpec,
    now_s: i64,
) -> Result<SessionRecord, SpecError> {
    let title = check_text("title", &spec.title, MAX_TITLE_CHARS)?;
    let mentor_name = check_text(
        "mentor.name",
        &spec.mentor.name,
        duet_signaling::protocol::MAX_NAME_CHARS,
    )?;
    let mentee_name = check_text(
        "mentee.name",
        &spec.mentee.name,
        duet_signaling::protocol::MAX_NAME_CHARS,
    )?;
    let expires_in = spec
        .expires_in_s
        .unwrap_or(config.sessions.default_expiry_s);
    if expires_in < MIN_EXPIRY_S || expires_in > config.sessions.max_expiry_s {
        return Err(SpecError {
            field: "expires_in_s",
            message: format!(
                "`expires_in_s` must be between {MIN_EXPIRY_S} and {} seconds",
                config.sessions.max_expiry_s
            ),
        });
    }
    Ok(SessionRecord {
        id: SessionId(uuid::Uuid::new_v4()),
        title,
        mentor_name,
        mentee_name,
        mentor_link: new_link_id(),
        mentee_link: new_link_id(),
        recording: spec.recording,
        created_at: now_s,
        expires_at: now_s.saturating_add(expires_in as i64),
        ended_at: None,
    })
}

pub fn token_for(
    links: &LinkSigner,
    id: SessionId,
    role: Role,
    link_id: &str,
    expires_at: i64,
) -> String {
    links.sign(&Claims {
        v: 1,
        sid: id,
        role,
        exp: expires_at,
        lid: link_id.to_string(),
    })
}

/// A live session as the API shows it.
#[derive(Debug, Clone)]
pub struct RoomSnapshot {
    pub participants: Vec<ParticipantInfo>,
    pub recording: RecordingStatus,
    /// When each connected participant joined (this connection).
    pub since: Vec<(Role, UnixMillis)>,
    /// Filled in by the API from the media plane, not by the room.
    pub quality: Vec<(Role, crate::media::LinkQuality)>,
    /// The call so far, the stretch going on included (the stored row
    /// lags until the next leave); `None` for the moment a leaver's talk
    /// time is still owed by the media plane.
    pub call: Option<CallStats>,
    /// The recording being written and when its clock started (unix ms).
    pub recording_clock: Option<(duet_signaling::consent::RecordingId, i64)>,
}

/// Where a session is in its life, as listed by the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Links work; nobody is connected.
    Open,
    /// Someone is connected.
    Live,
    Ended,
    Expired,
}

impl SessionStatus {
    /// The one place a session's status is decided, for the view and for
    /// the list's `?state=` filter alike.
    pub fn of(s: &SessionRecord, live: Option<&RoomSnapshot>, now_s: i64) -> SessionStatus {
        if s.ended_at.is_some() {
            SessionStatus::Ended
        } else if now_s >= s.expires_at {
            SessionStatus::Expired
        } else if live.is_some_and(|l| !l.participants.is_empty()) {
            SessionStatus::Live
        } else {
            SessionStatus::Open
        }
    }

    /// The `?state=` filter value it is listed under: `live`, `ended`
    /// (ended or expired) or `upcoming` (neither).
    pub fn filter_class(self) -> &'static str {
        match self {
            SessionStatus::Live => "live",
            SessionStatus::Ended | SessionStatus::Expired => "ended",
            SessionStatus::Open => "upcoming",
        }
    }
}

/// The JSON a session is shown as: its links and tokens, who is connected
/// now, its recording policy and state, and its call (`stored_call`, or
/// the live one while someone is in it).
pub fn view(
    config: &Config,
    recording_allowed: bool,
    links: &LinkSigner,
    s: &SessionRecord,
    live: Option<&RoomSnapshot>,
    stored_call: Option<&CallStats>,
    now_s: i64,
) -> Value {
    let connected: &[ParticipantInfo] = live.map_or(&[], |l| &l.participants);
    let recording_state = live.map_or(RecordingState::Off, |l| l.recording.state);
    let token = |role: Role| token_for(links, s.id, role, s.link_id(role), s.expires_at);
    let base = config.public_base_url();
    let person = |role: Role| {
        let here = connected.iter().find(|p| p.role == role);
        let since = live
            .and_then(|l| l.since.iter().find(|(r, _)| *r == role))
            .map(|(_, t)| rfc3339(t.0 / 1000));
        let quality = live
            .and_then(|l| l.quality.iter().find(|(r, _)| *r == role))
            .map(|(_, q)| *q)
            .unwrap_or_default();
        json!({
            "name": s.name(role),
            "connected": here.is_some(),
            "display_name": here.map(|p| p.name.clone()),
            "media": here.map(|p| p.media),
            "connected_since": here.and(since),
            "quality": here.map(|_| json!({
                "rating": quality.rating(),
                "loss": quality.loss,
                "uplink_loss": quality.uplink_loss,
                "rtt_ms": quality.rtt_ms,
                "video_paused": quality.video_paused,
            })),
        })
    };
    let status = SessionStatus::of(s, live, now_s);
    let call = live.and_then(|l| l.call.as_ref()).or(stored_call);
    json!({
        "id": s.id,
        "title": s.title,
        "status": status,
        "mentor": person(Role::Mentor),
        "mentee": person(Role::Mentee),
        "links": {
            "mentor": join_url(&base, &token(Role::Mentor)),
            "mentee": join_url(&base, &token(Role::Mentee)),
        },
        "tokens": {
            "mentor": token(Role::Mentor),
            "mentee": token(Role::Mentee),
        },
        "recording": effective_policy(recording_allowed, s.recording),
        "recording_state": recording_state,
        "created_at": rfc3339(s.created_at),
        "expires_at": rfc3339(s.expires_at),
        "ended_at": s.ended_at.map(rfc3339),
        "call": call.map(call_view),
    })
}

/// A call as the API shows it: how long both were in it and how long each
/// talked, in whole seconds (rounded), and when it began and last emptied.
pub fn call_view(c: &CallStats) -> Value {
    let seconds = |ms: i64| ms.max(0).saturating_add(500) / 1000;
    json!({
        "duration_s": seconds(c.together_ms),
        "first_joined_at": rfc3339(c.first_joined_at_ms.div_euclid(1000)),
        "last_left_at": c.last_left_at_ms.map(|ms| rfc3339(ms.div_euclid(1000))),
        "talk_s": {
            "mentor": seconds(c.mentor_talk_ms),
            "mentee": seconds(c.mentee_talk_ms),
        },
    })
}

pub use crate::policy::effective_policy;

#[cfg(test)]
mod tests;
