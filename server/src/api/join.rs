//! `POST /api/v1/join/preview`: what a join link leads to, before joining.
//!
//! The web client's pre-join screen uses it to greet the person by name,
//! say who they are meeting, and explain a bad link before the camera is
//! even asked for. The token travels in the body, never in a URL.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, parse_json};
use crate::clock::now_s;
use crate::links::LinkError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/join/preview", post(preview))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewRequest {
    token: String,
}

fn refused(status: StatusCode, code: &'static str, message: &str) -> ApiError {
    ApiError::Link {
        status,
        code,
        message: message.to_string(),
    }
}

async fn preview(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let req: PreviewRequest = parse_json(&body)?;
    let now = now_s();
    let claims = state.links().verify(&req.token, now).map_err(|e| match e {
        LinkError::Invalid => refused(StatusCode::UNAUTHORIZED, "invalid_token", &e.to_string()),
        LinkError::Expired => refused(StatusCode::GONE, "token_expired", &e.to_string()),
    })?;
    let record = state.store().session(claims.sid).await?.ok_or_else(|| {
        refused(
            StatusCode::GONE,
            "session_ended",
            "this session no longer exists",
        )
    })?;
    if record.ended_at.is_some() {
        return Err(refused(
            StatusCode::GONE,
            "session_ended",
            "this session has ended",
        ));
    }
    if now >= record.expires_at {
        return Err(refused(
            StatusCode::GONE,
            "token_expired",
            "this session's links have expired",
        ));
    }
    let peer = claims.role.other();
    // A pair's call: the page shows the pair's agenda and notes beside it,
    // reached with this same join token.
    let pair = state.store().pair_of_session(record.id).await?;
    Ok(Json(json!({
        "session": {"id": record.id, "title": record.title},
        "pair": pair.map(|id| json!({ "id": id })),
        "you": {"role": claims.role, "name": record.name(claims.role)},
        "peer": {"role": peer, "name": record.name(peer)},
        "recording": crate::sessions::effective_policy(
            state.policies().current().recording_allowed,
            record.recording,
        ),
        "expires_at": crate::clock::rfc3339(record.expires_at),
    }))
    .into_response())
}
