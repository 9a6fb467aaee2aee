//! Bookmarks and notes at a time (`reflection/moments.rs`), for the two
//! people of a session, with their join token or personal link:
//!
//! - `POST /api/v1/sessions/{id}/moments` — "mark this moment" in the call:
//!   the server places it on the live recording's clock, or on the
//!   session's when nothing is recorded.
//! - `GET /api/v1/sessions/{id}/moments` — the session's moments the
//!   caller may read (the in-call notes list them).
//! - `POST /api/v1/recordings/{id}/moments` — a bookmark or note at a
//!   chosen time, made while watching the recording back.
//! - `PATCH` / `DELETE /api/v1/moments/{id}` — its author's label, text
//!   and visibility.
//!
//! Administrators get none of this: moments are the people's own notes.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use duet_signaling::{Role, SessionId};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::error::{ApiError, read_json};
use super::pairs::field_error;
use super::recordings::{Access, load_reach};
use crate::clock::now_ms;
use crate::pairs::access::Visibility;
use crate::recorder::manifest;
use crate::reflection::moments::{self, LiveCall, MAX_PER_SESSION, MomentKind};
use crate::state::AppState;
use crate::store::{ContentError, Moment, RecordingRowStatus};

/// A label or a note, with room for JSON around it.
const MAX_BODY: usize = 32 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/sessions/{id}/moments",
            get(session_moments).post(mark),
        )
        .route(
            "/api/v1/recordings/{id}/moments",
            axum::routing::post(add_at),
        )
        .route("/api/v1/moments/{id}", patch(change).delete(remove))
}

fn content_error(e: ContentError) -> ApiError {
    match e {
        ContentError::NotFound(what) => ApiError::NotFound(what),
        ContentError::NotAuthor => ApiError::refused(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only its author may change or delete a bookmark or note",
        ),
        ContentError::TooMany(_) => {
            ApiError::refused(StatusCode::CONFLICT, "too_many", e.to_string())
        }
        ContentError::Agreement(a) => ApiError::invalid("text", a.to_string()),
        ContentError::Store(s) => ApiError::Store(s),
    }
}

fn people_only() -> ApiError {
    ApiError::refused(
        StatusCode::FORBIDDEN,
        "forbidden",
        "bookmarks and notes belong to the two people of the call; administrators do not see them",
    )
}

/// The caller's role in `session`, if their credential covers it. Another
/// session is "not found", so ids cannot be probed.
async fn role_in(state: &AppState, access: &Access, session: SessionId) -> Result<Role, ApiError> {
    match access {
        Access::Admin(_) => Err(people_only()),
        Access::Participant(sid, role) if *sid == session => Ok(*role),
        Access::PairPerson(pair, role)
            if state.store().pair_of_session(session).await? == Some(*pair) =>
        {
            Ok(*role)
        }
        _ => Err(ApiError::NotFound("session")),
    }
}

fn parse_session(id: &str) -> Result<SessionId, ApiError> {
    Uuid::parse_str(id)
        .map(SessionId)
        .map_err(|_| ApiError::BadPath("that is not a session id (a UUID)".into()))
}

fn parse_moment(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::BadPath("that is not a moment id (a UUID)".into()))
}

fn default_private() -> Visibility {
    Visibility::Private
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Mark {
    #[serde(default)]
    label: Option<String>,
    #[serde(default = "default_private")]
    visibility: Visibility,
}

async fn mark(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let session = parse_session(&id)?;
    let role = role_in(&state, &access, session).await?;
    // Read the clock first: the moment is when they pressed, not when the
    // body finished arriving.
    let now = now_ms();
    let req: Mark = read_json(body, MAX_BODY).await?;
    let text =
        moments::check_text(MomentKind::Bookmark, req.label.as_deref()).map_err(field_error)?;
    let snapshot = state.hub().snapshot(session).await;
    let call = match &snapshot {
        None => LiveCall {
            recording: None,
            first_joined_ms: None,
        },
        Some(s) => LiveCall {
            recording: s.recording_clock,
            first_joined_ms: match &s.call {
                Some(call) => Some(call.first_joined_at_ms),
                // The room's figures wait on a leaver's talk time: the
                // stored row, else the earliest join of those present.
                None => match state.store().call_stats(session).await? {
                    Some(stored) => Some(stored.first_joined_at_ms),
                    None => s.since.iter().map(|(_, t)| t.0).min(),
                },
            },
        },
    };
    let place = moments::place_live(call, now).ok_or_else(|| {
        ApiError::refused(
            StatusCode::CONFLICT,
            "not_in_call",
            "a moment is marked during the call; to mark a recording afterwards, open it to reflect",
        )
    })?;
    let moment = Moment {
        id: Uuid::new_v4(),
        session_id: session,
        recording_id: place.recording.map(|r| r.to_string()),
        clock: place.clock,
        at_s: place.at_s,
        kind: MomentKind::Bookmark,
        author: role,
        visibility: req.visibility,
        text,
        created_at_ms: now,
        updated_at_ms: now,
    };
    create(&state, moment).await
}

/// Stores a new moment (within its session's cap) and answers `201` with it.
async fn create(state: &AppState, moment: Moment) -> Result<Response, ApiError> {
    let moment = state
        .store()
        .add_moment(moment, MAX_PER_SESSION)
        .await
        .map_err(content_error)?;
    Ok((StatusCode::CREATED, Json(moment)).into_response())
}

async fn session_moments(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let session = parse_session(&id)?;
    let role = role_in(&state, &access, session).await?;
    let list = state.store().session_moments(session, role).await?;
    Ok(Json(json!({ "moments": list })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct At {
    at_s: f64,
    kind: MomentKind,
    #[serde(default)]
    text: Option<String>,
    #[serde(default = "default_private")]
    visibility: Visibility,
}

async fn add_at(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (row, _) = load_reach(&state, &access, &id).await?;
    let role = access.role().ok_or_else(people_only)?;
    if row.status == RecordingRowStatus::Deleted {
        return Err(ApiError::refused(
            StatusCode::CONFLICT,
            "recording_deleted",
            "this recording was deleted; its bookmarks and notes stay, but new ones have no recording to sit on",
        ));
    }
    let session = parse_session(&row.session_id)?;
    let req: At = read_json(body, MAX_BODY).await?;
    let text = moments::check_text(req.kind, req.text.as_deref()).map_err(field_error)?;
    let dir = state.recorders().open(&row.id).await;
    let duration = manifest::read(&dir)
        .ok()
        .map(|m| {
            m.tracks
                .iter()
                .map(|t| t.start_offset_s + t.duration_s)
                .fold(0.0, f64::max)
        })
        .filter(|d| *d > 0.0);
    let at_s = moments::check_at(req.at_s, duration).map_err(field_error)?;
    let now = now_ms();
    let moment = Moment {
        id: Uuid::new_v4(),
        session_id: session,
        recording_id: Some(row.id.clone()),
        clock: moments::MomentClock::Recording,
        at_s,
        kind: req.kind,
        author: role,
        visibility: req.visibility,
        text,
        created_at_ms: now,
        updated_at_ms: now,
    };
    create(&state, moment).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    visibility: Option<Visibility>,
}

/// The moment's session and the caller's role in it; a moment of another
/// session is "not found".
async fn owner_session(
    state: &AppState,
    access: &Access,
    id: Uuid,
) -> Result<(SessionId, Role), ApiError> {
    let session = state
        .store()
        .moment_session(id)
        .await?
        .ok_or(ApiError::NotFound("moment"))?;
    match role_in(state, access, session).await {
        Ok(role) => Ok((session, role)),
        Err(ApiError::NotFound(_)) => Err(ApiError::NotFound("moment")),
        Err(e) => Err(e),
    }
}

async fn change(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let id = parse_moment(&id)?;
    let (session, role) = owner_session(&state, &access, id).await?;
    let req: Change = read_json(body, MAX_BODY).await?;
    let text = match req.text {
        // The kind decides the rule; a bookmark's label may be cleared.
        Some(t) => {
            let kind = state
                .store()
                .session_moments(session, role)
                .await?
                .into_iter()
                .find(|m| m.id == id)
                .map(|m| m.kind)
                .ok_or(ApiError::NotFound("moment"))?;
            Some(moments::check_text(kind, Some(&t)).map_err(field_error)?)
        }
        None => None,
    };
    let moment = state
        .store()
        .change_moment(session, id, role, text, req.visibility, now_ms())
        .await
        .map_err(content_error)?;
    Ok(Json(moment).into_response())
}

async fn remove(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_moment(&id)?;
    let (session, role) = owner_session(&state, &access, id).await?;
    state
        .store()
        .delete_moment(session, id, role)
        .await
        .map_err(content_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
