//! The reflection page's API: `GET /api/v1/reflect?recording=<id>` (one
//! JSON with everything the page shows of a recording) and
//! `GET /api/v1/recordings/{id}/views` (who opened it, when).
//!
//! The credential is a participant's join token or a pair's personal
//! token as `Bearer` (or an admin's, with `?recording=`). Without an id the
//! page gets the newest recording, not deleted, of the sessions the
//! credential covers. Every call here is a view, written to the audit log,
//! and the two people can read that list for their own recordings.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use duet_signaling::{Role, SessionId};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::query::ApiQuery;
use super::recordings::{Access, load_reach};
use crate::clock::rfc3339;
use crate::recorder::manifest::{self, Manifest};
use crate::reflection::access::Reach;
use crate::reflection::{timeline, trail_words};
use crate::state::AppState;
use crate::store::{JobStatus, RecordingRow, RecordingRowStatus, VIEW_ACTION};

/// Most views one list returns.
const MAX_VIEWS: u32 = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reflect", get(reflect))
        .route("/api/v1/recordings/{id}/views", get(views))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReflectQuery {
    recording: Option<String>,
}

async fn reflect(
    State(state): State<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<ReflectQuery>,
) -> Result<Response, ApiError> {
    let id = match q.recording.filter(|r| !r.is_empty()) {
        Some(id) => id,
        None => latest(&state, &access).await?,
    };
    let (row, reach) = load_reach(&state, &access, &id).await?;
    let detail = if access.role().is_some() {
        "participant"
    } else {
        "admin"
    };
    state
        .audit(
            &access.actor(),
            VIEW_ACTION,
            Some(row.id.clone()),
            Some(detail.into()),
        )
        .await?;
    let dir = state.recorders().open(&row.id).await;
    let m = manifest::read(&dir).ok();
    let names = names(&state, &row, m.as_ref()).await?;
    let people: Vec<Value> = ["mentor", "mentee"]
        .iter()
        .map(|r| json!({"role": r, "name": names.get(*r)}))
        .collect();
    let body = json!({
        "recording": recording_json(&row, m.as_ref()),
        "access": reach,
        "viewer": {"role": access.role(), "admin": access.role().is_none()},
        "people": people,
        "tracks": tracks_json(&row, m.as_ref(), reach),
        "talk_time": m.as_ref().map(|m| &m.talk_time),
        "timeline": m.as_ref().map(timeline_json),
        "moments": moments_json(&state, &row, &access).await?,
        "transcript": transcript_json(&state, &row, m.as_ref(), reach).await?,
        "trail": trail_json(&state, &row, &names).await?,
    });
    Ok(Json(body).into_response())
}

/// Who spoke when (the recorder's voice detector, per person) and what it
/// adds up to: turns and the longest monologue.
fn timeline_json(m: &Manifest) -> Value {
    let speakers: Vec<(Role, Vec<(f64, f64)>)> = m
        .transcripts
        .iter()
        .filter_map(|t| {
            let role: Role = t.role.parse().ok()?;
            Some((role, t.speech.iter().map(|[s, e]| (*s, *e)).collect()))
        })
        .collect();
    let speech: Vec<Value> = m
        .transcripts
        .iter()
        .map(|t| json!({"role": t.role, "regions": t.speech}))
        .collect();
    json!({"speech": speech, "stats": timeline::stats(&speakers)})
}

/// The bookmarks and notes on this recording the viewer may read; an
/// administrator reads none (they are the people's own).
async fn moments_json(
    state: &AppState,
    row: &RecordingRow,
    access: &Access,
) -> Result<Vec<crate::store::Moment>, ApiError> {
    match access.role() {
        Some(role) => Ok(state
            .store()
            .recording_moments(row.id.clone(), role)
            .await?),
        None => Ok(Vec::new()),
    }
}

/// The newest recording, not deleted, of what the credential covers.
async fn latest(state: &AppState, access: &Access) -> Result<String, ApiError> {
    let rows = match access {
        Access::Participant(sid, _) => state.store().session_recordings(*sid).await?,
        Access::PairPerson(pair, _) => state.store().pair_recordings(*pair).await?,
        Access::Admin(_) => {
            return Err(ApiError::BadQuery(
                "say which recording to open: ?recording=<id>".into(),
            ));
        }
    };
    rows.into_iter()
        .find(|r| r.status != RecordingRowStatus::Deleted)
        .map(|r| r.id)
        .ok_or(ApiError::NotFound(
            "recording to reflect on (nothing was recorded, or it was deleted)",
        ))
}

/// Role → name: the names people used in the call (the manifest), else
/// those the session was created with.
async fn names(
    state: &AppState,
    row: &RecordingRow,
    m: Option<&Manifest>,
) -> Result<HashMap<String, String>, ApiError> {
    let mut names = HashMap::new();
    if let Ok(sid) = uuid::Uuid::parse_str(&row.session_id).map(SessionId)
        && let Some(s) = state.store().session(sid).await?
    {
        names.insert("mentor".to_string(), s.mentor_name);
        names.insert("mentee".to_string(), s.mentee_name);
    }
    for p in m.map(|m| m.participants.as_slice()).unwrap_or_default() {
        if !p.name.trim().is_empty() {
            names.insert(p.role.clone(), p.name.clone());
        }
    }
    Ok(names)
}

fn recording_json(row: &RecordingRow, m: Option<&Manifest>) -> Value {
    let duration_s = m.map(|m| {
        m.tracks
            .iter()
            .map(|t| t.start_offset_s + t.duration_s)
            .fold(0.0, f64::max)
    });
    json!({
        "id": row.id,
        "session_id": row.session_id,
        "session_title": m.map(|m| &m.session.title),
        "status": row.status,
        "started_at": rfc3339(row.started_at_ms / 1000),
        "stopped_at": row.stopped_at_ms.map(|t| rfc3339(t / 1000)),
        "duration_s": duration_s,
        "deleted_at": row.deleted_at_ms.map(|t| rfc3339(t / 1000)),
        "deleted_by": row.deleted_by,
        "media_deleted": m.and_then(|m| m.media_deleted.as_ref()),
    })
}

/// The track files to play, each with its place on the recording's clock;
/// none once the media is deleted or for metadata-only access.
fn tracks_json(row: &RecordingRow, m: Option<&Manifest>, reach: Reach) -> Vec<Value> {
    let Some(m) = m.filter(|m| m.media_deleted.is_none() && reach == Reach::Full) else {
        return Vec::new();
    };
    m.tracks
        .iter()
        .map(|t| {
            json!({
                "role": t.role,
                "kind": t.kind,
                "codec": t.codec,
                "file": t.file,
                "start_offset_s": t.start_offset_s,
                "duration_s": t.duration_s,
                "url": format!("/api/v1/recordings/{}/files/{}", row.id, t.file),
            })
        })
        .collect()
}

/// The transcript's state and where to fetch it: the page loads the text
/// itself (`GET …/transcript`), so a long one does not slow this call.
async fn transcript_json(
    state: &AppState,
    row: &RecordingRow,
    m: Option<&Manifest>,
    reach: Reach,
) -> Result<Value, ApiError> {
    let job = state.store().transcription(row.id.clone()).await?;
    let running = job
        .as_ref()
        .is_some_and(|j| matches!(j.status, JobStatus::Pending | JobStatus::Running));
    let status = match &job {
        _ if m.is_some_and(|m| m.transcript.is_some()) && !running => "done",
        Some(j) if j.status == JobStatus::Pending => "pending",
        Some(j) if j.status == JobStatus::Running => "running",
        Some(j) if j.status == JobStatus::Failed => "failed",
        _ if state.transcriber().enabled() && row.status == RecordingRowStatus::Recording => {
            "pending"
        }
        _ => "off",
    };
    let base = format!("/api/v1/recordings/{}/transcript", row.id);
    let readable = reach == Reach::Full && status == "done";
    Ok(json!({
        "status": status,
        "progress": job.as_ref().map(|j| j.progress),
        "url": readable.then(|| base.clone()),
        "vtt_url": readable.then(|| format!("{base}?format=vtt")),
        "md_url": readable.then(|| format!("{base}?format=md")),
    }))
}

async fn trail_json(
    state: &AppState,
    row: &RecordingRow,
    names: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let Ok(uuid) = uuid::Uuid::parse_str(&row.id) else {
        return Ok(Vec::new());
    };
    let events = state
        .store()
        .recording_trail(duet_signaling::consent::RecordingId(uuid))
        .await?;
    let notices: HashMap<String, trail_words::NoticeRef> = state
        .store()
        .notices()
        .await?
        .into_iter()
        .map(|n| {
            let notice = trail_words::NoticeRef {
                version: n.version,
                language: n.language,
            };
            (n.hash, notice)
        })
        .collect();
    Ok(trail_words::describe(&events, names, &notices)
        .into_iter()
        .map(|l| {
            json!({
                "at": rfc3339(l.at_ms / 1000),
                "action": l.action,
                "text": l.text,
                "by": l.by,
                "name": l.name,
                "version": l.version,
                "language": l.language,
                "reason": l.reason,
            })
        })
        .collect())
}

async fn views(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (row, _) = load_reach(&state, &access, &id).await?;
    let views = state
        .store()
        .recording_views(row.id.clone(), MAX_VIEWS)
        .await?;
    let out: Vec<Value> = views
        .iter()
        .map(|v| {
            // `detail` says whose view it was: an admin may be called
            // "mentor", a person never has an admin's name.
            let admin = v.detail.as_deref() != Some("participant");
            json!({
                "at": rfc3339(v.at_ms / 1000),
                "who": if admin { "admin" } else { v.actor.as_str() },
                "admin": admin.then_some(&v.actor),
            })
        })
        .collect();
    Ok(Json(json!({"recording_id": row.id, "views": out})).into_response())
}
