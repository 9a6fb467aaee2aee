//! Recordings: `GET /api/v1/recordings`, `GET /api/v1/recordings/{id}`,
//! `DELETE /api/v1/recordings/{id}` (files: `recording_files`).
//!
//! A participant may read the manifest and download the files of their own
//! session's recordings with their join token; everything else needs an
//! admin (API key or console).

use crate::recorder::deletion::{self, DeleteError, Deleter};
use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use duet_signaling::SessionId;
use duet_signaling::consent::RecordingId;
use serde_json::{Value, json};

use super::error::ApiError;
use crate::clock::now_s;
use crate::recorder::{archive, manifest};
use crate::reflection;
use crate::reflection::access::{Credential, Reach};
use crate::state::AppState;
use crate::store::RecordingRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/recordings", get(list))
        .route("/api/v1/recordings/{id}", get(show).delete(delete))
}

/// Who is asking: an admin (API key or console), a participant with
/// their join token, or one of a pair's two people with their personal
/// link (which opens the recordings of that pair's calls).
pub(super) enum Access {
    Admin(String),
    Participant(SessionId, duet_signaling::Role),
    PairPerson(crate::pairs::PairId, duet_signaling::Role),
}

impl FromRequestParts<AppState> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(admin) = super::auth::admin_from_parts(parts, state).await? {
            return Ok(Access::Admin(admin.actor));
        }
        let bearer = super::auth::bearer(parts).ok_or(ApiError::Unauthorized)?;
        if let Ok(claims) = state.links().verify(bearer, now_s()) {
            return Ok(Access::Participant(claims.sid, claims.role));
        }
        match super::pair_auth::personal(state, bearer).await? {
            Some((pair, role)) => Ok(Access::PairPerson(pair, role)),
            None => Err(super::pair_auth::bad_link()),
        }
    }
}

impl Access {
    fn require_admin(&self) -> Result<(), ApiError> {
        match self {
            Access::Admin(_) => Ok(()),
            _ => Err(ApiError::Unauthorized),
        }
    }

    /// The person's role; `None` for an admin.
    pub(super) fn role(&self) -> Option<duet_signaling::Role> {
        match self {
            Access::Admin(_) => None,
            Access::Participant(_, role) | Access::PairPerson(_, role) => Some(*role),
        }
    }

    /// How the caller is named in the audit log: the admin's name, or the
    /// person's role.
    pub(super) fn actor(&self) -> String {
        match self {
            Access::Admin(actor) => actor.clone(),
            Access::Participant(_, role) | Access::PairPerson(_, role) => role.to_string(),
        }
    }

    fn credential(&self) -> Credential {
        match self {
            Access::Admin(_) => Credential::Admin,
            Access::Participant(sid, _) => Credential::Session(*sid),
            Access::PairPerson(pair, _) => Credential::Pair(*pair),
        }
    }

    /// What this caller reaches of `row` (`None`: not theirs).
    pub(super) async fn reach(
        &self,
        state: &AppState,
        row: &RecordingRow,
    ) -> Result<Option<Reach>, ApiError> {
        let Ok(session) = uuid::Uuid::parse_str(&row.session_id).map(SessionId) else {
            return Ok(None);
        };
        // Only a personal link needs to know the call's pair.
        let pair = match self {
            Access::PairPerson(..) => state.store().pair_of_session(session).await?,
            _ => None,
        };
        let admin = state.config().recording.admin_access;
        Ok(reflection::access::reach(
            self.credential(),
            session,
            pair,
            admin,
        ))
    }
}

fn parse_recording(id: &str) -> Result<RecordingId, ApiError> {
    uuid::Uuid::parse_str(id)
        .map(RecordingId)
        .map_err(|_| ApiError::BadPath("that is not a recording id (a UUID)".into()))
}

pub(super) async fn load(
    state: &AppState,
    access: &Access,
    id: &str,
) -> Result<RecordingRow, ApiError> {
    load_reach(state, access, id).await.map(|(row, _)| row)
}

/// The recording and what the caller reaches of it. Someone else's
/// recording is as good as absent.
pub(super) async fn load_reach(
    state: &AppState,
    access: &Access,
    id: &str,
) -> Result<(RecordingRow, Reach), ApiError> {
    let row = state
        .store()
        .recording(parse_recording(id)?)
        .await?
        .ok_or(ApiError::NotFound("recording"))?;
    match access.reach(state, &row).await? {
        Some(reach) => Ok((row, reach)),
        None => Err(ApiError::NotFound("recording")),
    }
}

/// [`load`], for what needs the media or the transcript text: refused to
/// an administrator when `recording.admin_access` is `metadata`.
pub(super) async fn load_content(
    state: &AppState,
    access: &Access,
    id: &str,
) -> Result<RecordingRow, ApiError> {
    match load_reach(state, access, id).await? {
        (row, Reach::Full) => Ok(row),
        (_, Reach::Metadata) => Err(metadata_only()),
    }
}

pub(super) fn metadata_only() -> ApiError {
    ApiError::refused(
        StatusCode::FORBIDDEN,
        "metadata_only",
        "on this deployment administrators see a recording's facts and consent trail, \
         not its audio, video or transcript (recording.admin_access = \"metadata\")",
    )
}

fn summary(state: &AppState, row: &RecordingRow, m: Option<&manifest::Manifest>) -> Value {
    let dir = state.recorders().dir_of_str(&row.id);
    // A copy fetched from the bucket may lack the media: its mark has the
    // bucket's sizes.
    let stored = archive::stored_sizes(&dir);
    let size_bytes: u64 = m.map_or(0, |m| {
        m.files()
            .filter_map(|f| match &stored {
                Some(sizes) => sizes.get(f).copied(),
                None => std::fs::metadata(dir.join(f)).ok().map(|md| md.len()),
            })
            .sum()
    });
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
        "duration_s": duration_s,
        "size_bytes": size_bytes,
        "status": row.status,
        "started_at": crate::clock::rfc3339(row.started_at_ms / 1000),
        "stopped_at": row.stopped_at_ms.map(|t| crate::clock::rfc3339(t / 1000)),
        "deleted_at": row.deleted_at_ms.map(|t| crate::clock::rfc3339(t / 1000)),
        "deleted_by": row.deleted_by,
        "participants": m.map(|m| &m.participants),
        "tracks": m.map(|m| &m.tracks),
        "talk_time": m.map(|m| &m.talk_time),
    })
}

async fn list(State(state): State<AppState>, access: Access) -> Result<Response, ApiError> {
    access.require_admin()?;
    let rows = state.store().recordings(500).await?;
    // Uploaded recordings' manifests come from the bucket the first time,
    // a few at once.
    use futures_util::StreamExt;
    let recorders = state.recorders().clone();
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let dirs: Vec<std::path::PathBuf> = futures_util::stream::iter(ids)
        .map(|id| {
            let recorders = recorders.clone();
            async move { recorders.open(&id).await }
        })
        .buffered(8)
        .collect()
        .await;
    let out: Vec<Value> = rows
        .iter()
        .zip(dirs)
        .map(|(row, dir)| {
            let m = manifest::read(&dir).ok();
            summary(&state, row, m.as_ref())
        })
        .collect();
    Ok(Json(json!({"recordings": out})).into_response())
}

async fn show(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = load(&state, &access, &id).await?;
    if let Access::Admin(actor) = &access {
        state
            .audit(
                actor,
                crate::store::VIEW_ACTION,
                Some(row.id.clone()),
                Some("admin".into()),
            )
            .await?;
    }
    let m = manifest::read(&state.recorders().open(&row.id).await).ok();
    let mut body = summary(&state, &row, m.as_ref());
    body["manifest"] = serde_json::to_value(&m).unwrap_or(Value::Null);
    Ok(Json(body).into_response())
}

async fn delete(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = load(&state, &access, &id).await?;
    // Either person may delete their recording outright (media and
    // transcript); the trail names their role, and the other person reads
    // it at their next visit.
    let by = match &access {
        Access::Admin(actor) => Deleter {
            actor: "admin",
            detail: format!("deleted by administrator {actor}"),
        },
        Access::Participant(_, role) | Access::PairPerson(_, role) => Deleter {
            actor: role.as_str(),
            detail: format!("deleted by the {role}"),
        },
    };
    let actor = access.actor();
    match deletion::delete(state.store(), state.recorders(), &row, by, now_s() * 1000).await {
        Ok(()) => {}
        Err(DeleteError::InProgress) => {
            return Err(ApiError::Link {
                status: StatusCode::CONFLICT,
                code: "recording_in_progress",
                message:
                    "this recording is still being written; a participant revoking consent stops it"
                        .into(),
            });
        }
        Err(e @ DeleteError::TranscriptInProgress) => {
            return Err(ApiError::Link {
                status: StatusCode::CONFLICT,
                code: "transcript_in_progress",
                message: e.to_string(),
            });
        }
        Err(DeleteError::Store(e)) => return Err(ApiError::Store(e)),
        Err(DeleteError::Files(e)) => {
            return Err(ApiError::Store(crate::store::StoreError::Task(
                e.to_string(),
            )));
        }
    }
    if row.status != crate::store::RecordingRowStatus::Deleted && matches!(access, Access::Admin(_))
    {
        state
            .audit(&actor, "recording_delete", Some(row.id.clone()), None)
            .await?;
    }
    let row = load(&state, &access, &id).await?;
    Ok(Json(summary(&state, &row, None)).into_response())
}
