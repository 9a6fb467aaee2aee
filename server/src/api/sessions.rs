//! `/api/v1/sessions`: create, list, show and end mentoring sessions, and
//! issue extra links.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use duet_signaling::protocol::EndReason;
use duet_signaling::{Role, SessionId};
use serde::Deserialize;
use serde_json::json;

use super::auth::ApiKey;
use super::error::ApiError;
use crate::links::{join_url, new_link_id};
use crate::sessions::{self, SessionSpec};
use crate::state::{AppState, now_s};
use crate::store::SessionRecord;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sessions", post(create).get(list))
        .route("/api/v1/sessions/{id}", get(show).delete(end))
        .route("/api/v1/sessions/{id}/links", post(new_link))
}

/// Parses a JSON body with our own error shape instead of axum's plain-text
/// rejections.
fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadJson(format!("the request body is not valid: {e}")))
}

fn parse_id(id: &str) -> Result<SessionId, ApiError> {
    uuid::Uuid::parse_str(id)
        .map(SessionId)
        .map_err(|_| ApiError::BadPath(format!("{:?} is not a session id (a UUID)", truncate(id))))
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

async fn load(state: &AppState, id: SessionId) -> Result<SessionRecord, ApiError> {
    state
        .store()
        .session(id)
        .await?
        .ok_or(ApiError::NotFound("session"))
}

async fn create(
    State(state): State<AppState>,
    _key: ApiKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let spec: SessionSpec = parse_json(&body)?;
    let new = sessions::prepare(state.config(), &spec, now_s()).map_err(|e| ApiError::Invalid {
        field: e.field,
        message: e.message,
    })?;
    state.store().create_session(new.clone()).await?;
    tracing::info!(session = %new.id, "session created");
    let body = sessions::view(state.config(), state.links(), &new, None, now_s());
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn list(State(state): State<AppState>, _key: ApiKey) -> Result<Response, ApiError> {
    let records = state.store().sessions(500).await?;
    let now = now_s();
    let mut out = Vec::with_capacity(records.len());
    for r in &records {
        let live = state.hub().snapshot(r.id).await;
        out.push(sessions::view(
            state.config(),
            state.links(),
            r,
            live.as_ref(),
            now,
        ));
    }
    Ok(Json(json!({ "sessions": out })).into_response())
}

async fn show(
    State(state): State<AppState>,
    _key: ApiKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = load(&state, parse_id(&id)?).await?;
    let live = state.hub().snapshot(record.id).await;
    Ok(Json(sessions::view(
        state.config(),
        state.links(),
        &record,
        live.as_ref(),
        now_s(),
    ))
    .into_response())
}

async fn end(
    State(state): State<AppState>,
    _key: ApiKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    load(&state, id).await?;
    if state.store().end_session(id, now_s()).await? {
        tracing::info!(session = %id, "session ended over the API");
    }
    // Ending is idempotent; the room is told even on a repeat, in case a
    // join raced the first call.
    state.hub().end(id, EndReason::Ended);
    let record = load(&state, id).await?;
    Ok(Json(sessions::view(
        state.config(),
        state.links(),
        &record,
        None,
        now_s(),
    ))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkRequest {
    role: Role,
}

/// Issues another link for a role (e.g. the first was lost). Links are told
/// apart: while someone is connected with one link, another link for the
/// same role is refused as `session_full`.
async fn new_link(
    State(state): State<AppState>,
    _key: ApiKey,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: LinkRequest = parse_json(&body)?;
    let record = load(&state, parse_id(&id)?).await?;
    if record.ended_at.is_some() || now_s() >= record.expires_at {
        return Err(ApiError::Conflict(
            "this session has ended or expired; create a new one",
        ));
    }
    let token = sessions::token_for(
        state.links(),
        record.id,
        req.role,
        &new_link_id(),
        record.expires_at,
    );
    let body = json!({
        "role": req.role,
        "link": join_url(&state.config().public_base_url(), &token),
        "token": token,
        "expires_at": sessions::rfc3339(record.expires_at),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
