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

use super::auth::Admin;
use super::error::{ApiError, parse_json};
use super::query::ApiQuery;
use crate::clock::now_s;
use crate::links::{join_url, new_link_id};
use crate::sessions::{self, SessionSpec};
use crate::state::AppState;
use crate::store::SessionRecord;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sessions", post(create).get(list))
        .route("/api/v1/sessions/{id}", get(show).delete(end))
        .route("/api/v1/sessions/{id}/links", post(new_link))
}

fn parse_id(id: &str) -> Result<SessionId, ApiError> {
    uuid::Uuid::parse_str(id)
        .map(SessionId)
        .map_err(|_| ApiError::BadPath(format!("{:?} is not a session id (a UUID)", truncate(id))))
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// The room's snapshot with each participant's link quality from the media
/// plane; `None` when nobody is connected.
async fn live_view(state: &AppState, id: SessionId) -> Option<crate::sessions::RoomSnapshot> {
    let mut live = state.hub().snapshot(id).await?;
    live.quality = state.media().quality(id).await;
    Some(live)
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
    admin: Admin,
    body: Bytes,
) -> Result<Response, ApiError> {
    let spec: SessionSpec = parse_json(&body)?;
    let new = sessions::prepare(state.config(), &spec, now_s()).map_err(|e| ApiError::Invalid {
        field: e.field,
        message: e.message,
    })?;
    state.store().create_session(new.clone()).await?;
    tracing::info!(session = %new.id, "session created");
    state
        .audit(
            &admin.actor,
            "session_create",
            Some(new.id.to_string()),
            Some(new.title.clone()),
        )
        .await?;
    let body = sessions::view(
        state.config(),
        state.policies().current().recording_allowed,
        state.links(),
        &new,
        None,
        None,
        now_s(),
    );
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
}

/// `?state=` filters: `live` has someone connected now, `ended` was ended
/// or expired, `upcoming` is neither.
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let wanted = match q.state.as_deref() {
        None | Some("") => None,
        Some(s @ ("live" | "upcoming" | "ended")) => Some(s),
        Some(_) => {
            return Err(ApiError::invalid(
                "state",
                "state is live, upcoming or ended",
            ));
        }
    };
    let records = state.store().sessions(500).await?;
    let calls = state
        .store()
        .call_stats_of(records.iter().map(|r| r.id).collect())
        .await?;
    let now = now_s();
    let mut out = Vec::with_capacity(records.len());
    for r in &records {
        let live = live_view(&state, r.id).await;
        let class = sessions::SessionStatus::of(r, live.as_ref(), now).filter_class();
        if wanted.is_some_and(|w| w != class) {
            continue;
        }
        out.push(sessions::view(
            state.config(),
            state.policies().current().recording_allowed,
            state.links(),
            r,
            live.as_ref(),
            calls.get(&r.id),
            now,
        ));
    }
    Ok(Json(json!({ "sessions": out })).into_response())
}

async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = load(&state, parse_id(&id)?).await?;
    let live = live_view(&state, record.id).await;
    let call = state.store().call_stats(record.id).await?;
    Ok(Json(sessions::view(
        state.config(),
        state.policies().current().recording_allowed,
        state.links(),
        &record,
        live.as_ref(),
        call.as_ref(),
        now_s(),
    ))
    .into_response())
}

async fn end(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    load(&state, id).await?;
    if state.store().end_session(id, now_s()).await? {
        tracing::info!(session = %id, "session ended over the API");
        state
            .audit(&admin.actor, "session_end", Some(id.to_string()), None)
            .await?;
    }
    // Ending is idempotent; the room is told even on a repeat, in case a
    // join raced the first call.
    state.hub().end(id, EndReason::Ended);
    let record = load(&state, id).await?;
    // The room may still be storing the last stretch: this is the call as
    // stored so far.
    let call = state.store().call_stats(id).await?;
    Ok(Json(sessions::view(
        state.config(),
        state.policies().current().recording_allowed,
        state.links(),
        &record,
        None,
        call.as_ref(),
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
    admin: Admin,
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
    state
        .audit(
            &admin.actor,
            "link_create",
            Some(record.id.to_string()),
            Some(format!("a new {} link", req.role)),
        )
        .await?;
    let body = json!({
        "role": req.role,
        "link": join_url(&state.config().public_base_url(), &token),
        "token": token,
        "expires_at": crate::clock::rfc3339(record.expires_at),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
