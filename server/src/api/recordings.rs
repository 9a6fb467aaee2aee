//! Recordings and the consent trail:
//! `GET /api/v1/sessions/{id}/consent`, `GET /api/v1/recordings`,
//! `GET /api/v1/recordings/{id}`, `GET /api/v1/recordings/{id}/files/{name}`,
//! `DELETE /api/v1/recordings/{id}`.
//!
//! A participant may read the manifest and download the files of their own
//! session's recordings with their join token; everything else needs an API
//! key. File names from the URL are served only when the manifest lists
//! them, so nothing from input ever reaches the filesystem as a path.

use crate::recorder::deletion::{self, DeleteError, Deleter};
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use duet_signaling::SessionId;
use duet_signaling::consent::RecordingId;
use serde_json::{Value, json};

use super::error::ApiError;
use crate::recorder::{files, manifest};
use crate::state::{AppState, now_s};
use crate::store::RecordingRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sessions/{id}/consent", get(consent_trail))
        .route("/api/v1/recordings", get(list))
        .route("/api/v1/recordings/{id}", get(show).delete(delete))
        .route("/api/v1/recordings/{id}/files/{name}", get(download))
}

/// Who is asking: an integration with an API key, or a participant with
/// their join token.
enum Access {
    Admin,
    Participant(SessionId),
}

impl FromRequestParts<AppState> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 1024)
            .ok_or(ApiError::Unauthorized)?;
        if state.is_config_api_key(bearer) || state.store().api_key_exists(bearer).await? {
            return Ok(Access::Admin);
        }
        match state.links().verify(bearer, now_s()) {
            Ok(claims) => Ok(Access::Participant(claims.sid)),
            Err(_) => Err(ApiError::Unauthorized),
        }
    }
}

impl Access {
    fn require_admin(&self) -> Result<(), ApiError> {
        match self {
            Access::Admin => Ok(()),
            Access::Participant(_) => Err(ApiError::Unauthorized),
        }
    }

    fn may_read(&self, row: &RecordingRow) -> bool {
        match self {
            Access::Admin => true,
            Access::Participant(sid) => sid.to_string() == row.session_id,
        }
    }
}

fn parse_recording(id: &str) -> Result<RecordingId, ApiError> {
    uuid::Uuid::parse_str(id)
        .map(RecordingId)
        .map_err(|_| ApiError::BadPath("that is not a recording id (a UUID)".into()))
}

async fn load(state: &AppState, access: &Access, id: &str) -> Result<RecordingRow, ApiError> {
    let row = state
        .store()
        .recording(parse_recording(id)?)
        .await?
        .ok_or(ApiError::NotFound("recording"))?;
    // Someone else's recording is as good as absent.
    if !access.may_read(&row) {
        return Err(ApiError::NotFound("recording"));
    }
    Ok(row)
}

fn summary(row: &RecordingRow, m: Option<&manifest::Manifest>) -> Value {
    json!({
        "id": row.id,
        "session_id": row.session_id,
        "status": row.status,
        "started_at": crate::sessions::rfc3339(row.started_at_ms / 1000),
        "stopped_at": row.stopped_at_ms.map(|t| crate::sessions::rfc3339(t / 1000)),
        "deleted_at": row.deleted_at_ms.map(|t| crate::sessions::rfc3339(t / 1000)),
        "deleted_by": row.deleted_by,
        "participants": m.map(|m| &m.participants),
        "tracks": m.map(|m| &m.tracks),
        "talk_time": m.map(|m| &m.talk_time),
    })
}

async fn consent_trail(
    State(state): State<AppState>,
    _key: super::auth::ApiKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let sid = uuid::Uuid::parse_str(&id)
        .map(SessionId)
        .map_err(|_| ApiError::BadPath("that is not a session id (a UUID)".into()))?;
    state
        .store()
        .session(sid)
        .await?
        .ok_or(ApiError::NotFound("session"))?;
    let events = state.store().consent_trail(sid).await?;
    Ok(Json(json!({"session_id": sid, "events": events})).into_response())
}

async fn list(State(state): State<AppState>, access: Access) -> Result<Response, ApiError> {
    access.require_admin()?;
    let rows = state.store().recordings(500).await?;
    let out: Vec<Value> = rows
        .iter()
        .map(|row| {
            let m = manifest::read(&state.recorders().dir_of_str(&row.id)).ok();
            summary(row, m.as_ref())
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
    let m = manifest::read(&state.recorders().dir_of_str(&row.id)).ok();
    let mut body = summary(&row, m.as_ref());
    body["manifest"] = serde_json::to_value(&m).unwrap_or(Value::Null);
    Ok(Json(body).into_response())
}

async fn download(
    State(state): State<AppState>,
    access: Access,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let row = load(&state, &access, &id).await?;
    if !files::is_plain_name(&name) {
        return Err(ApiError::NotFound("file"));
    }
    let dir = state.recorders().dir_of_str(&row.id);
    let m = manifest::read(&dir).map_err(|_| ApiError::NotFound("file"))?;
    let Some(listed) = m.files().find(|f| *f == name) else {
        return Err(ApiError::NotFound("file"));
    };
    let file = tokio::fs::File::open(dir.join(listed))
        .await
        .map_err(|_| ApiError::NotFound("file"))?;
    let mime = match listed.rsplit('.').next() {
        Some("ogg") => "audio/ogg",
        Some("webm") => "video/webm",
        Some("wav") => "audio/wav",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    let stream = tokio_util::io::ReaderStream::new(file);
    let mut response = Body::from_stream(stream).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{listed}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

async fn delete(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    access.require_admin()?;
    let row = load(&state, &access, &id).await?;
    let by = Deleter {
        actor: "admin",
        detail: "deleted by an administrator over the API".into(),
    };
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
        Err(DeleteError::Store(e)) => return Err(ApiError::Store(e)),
        Err(DeleteError::Files(e)) => {
            return Err(ApiError::Store(crate::store::StoreError::Task(
                e.to_string(),
            )));
        }
    }
    let row = load(&state, &access, &id).await?;
    Ok(Json(summary(&row, None)).into_response())
}
