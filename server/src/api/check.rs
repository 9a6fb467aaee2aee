//! The connectivity self-test behind `/check`: a participant opens it before
//! a call and sees which ways to the media server work from their network
//! (UDP, TCP, TURN relay).
//!
//! `POST /api/v1/check` says what to test: the ICE servers (TURN with fresh
//! credentials only for someone holding a valid join link, so the relay is
//! not open to the world) and whether ICE-TCP is on.
//! `POST /api/v1/check/offer` answers a probe connection: a real peer
//! connection on the media plane that lives a few seconds and belongs to
//! no session. The page keeps only the candidates of the path it tests.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use duet_signaling::{Role, SessionId};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, parse_json};
use crate::clock::now_s;
use crate::media::{MediaError, OfferRefusal, PeerKey};
use crate::state::AppState;

/// How long a probe connection may live: enough to connect over a slow
/// relay, short enough that probes cannot pile up.
const PROBE_LIFETIME: Duration = Duration::from_secs(20);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/check", post(plan))
        .route("/api/v1/check/offer", post(offer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanRequest {
    #[serde(default)]
    token: Option<String>,
}

async fn plan(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let req: PlanRequest = if body.is_empty() {
        PlanRequest { token: None }
    } else {
        parse_json(&body)?
    };
    let config = state.config();
    let relay_configured = config.turn.shared_secret.is_some()
        || config.media.ice_servers.iter().any(|s| {
            s.urls
                .iter()
                .any(|u| u.starts_with("turn:") || u.starts_with("turns:"))
        });
    let linked = match req.token.as_deref() {
        Some(t) => valid_link(&state, t).await?,
        None => false,
    };
    let ice_servers = if linked {
        state.ice_servers(&format!("check-{}", uuid::Uuid::new_v4().simple()))
    } else {
        Vec::new()
    };
    Ok(Json(json!({
        "ice_servers": ice_servers,
        "relay": {
            "configured": relay_configured,
            // Relay credentials go only to people with a valid link.
            "available": relay_configured && linked,
        },
        "tcp": config.media.ice_tcp,
    }))
    .into_response())
}

/// A link whose session can still be joined: TURN credentials are for
/// people about to take part in a call, not for anyone who once had a link.
async fn valid_link(state: &AppState, token: &str) -> Result<bool, ApiError> {
    let now = now_s();
    let Ok(claims) = state.links().verify(token, now) else {
        return Ok(false);
    };
    let record = state.store().session(claims.sid).await?;
    Ok(record.is_some_and(|r| r.ended_at.is_none() && now < r.expires_at))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OfferRequest {
    sdp: String,
}

async fn offer(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let req: OfferRequest = parse_json(&body)?;
    if state.is_draining() {
        return Err(ApiError::Link {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: "the server is shutting down; try again in a minute".into(),
        });
    }
    let Some(probe) = state.start_probe() else {
        return Err(ApiError::Link {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "busy",
            message: "too many connection checks are running; try again in a few seconds".into(),
        });
    };
    // A session of its own, so the probe never meets a call's media.
    let key = PeerKey {
        session: SessionId(uuid::Uuid::new_v4()),
        role: Role::Mentor,
    };
    let conn = state.next_conn_id();
    let filter = state.media().ice_filter(&state.config().media.ice_deny);
    let mut cleanup = ProbeCleanup {
        media: state.media().clone(),
        key,
        conn,
        probe: Some(probe),
        answered: false,
    };
    let (answer, _) = state
        .media()
        .offer(key, conn, req.sdp, &filter)
        .map_err(offer_error)?
        .answer()
        .await
        .map_err(offer_error)?;
    cleanup.answered = true;
    Ok(Json(json!({ "sdp": answer })).into_response())
}

/// Removes a probe's peer however its request ends. Made before the offer
/// is awaited: a client that disconnects cancels the handler mid-await,
/// and a timed-out offer may still be made later; either way the peer
/// must not stay in the engine (failed peers are kept there).
struct ProbeCleanup {
    media: crate::media::MediaPlane,
    key: PeerKey,
    conn: duet_signaling::ConnId,
    probe: Option<crate::state::ProbeGuard>,
    /// Answered: the probe lives [`PROBE_LIFETIME`]; otherwise it goes now.
    answered: bool,
}

impl Drop for ProbeCleanup {
    fn drop(&mut self) {
        let (media, key, conn, probe) =
            (self.media.clone(), self.key, self.conn, self.probe.take());
        if !self.answered {
            // The engine also skips an offer whose asker is gone, in case
            // this overtakes it in the queue.
            media.remove(key, conn);
            return;
        }
        tokio::spawn(async move {
            tokio::time::sleep(PROBE_LIFETIME).await;
            media.remove(key, conn);
            drop(probe);
        });
    }
}

/// A refused probe offer in the API's error shape.
fn offer_error(e: MediaError) -> ApiError {
    let (status, code) = match &e {
        MediaError::Refused(OfferRefusal::TooLarge(_)) => {
            (StatusCode::PAYLOAD_TOO_LARGE, "sdp_too_large")
        }
        MediaError::Refused(OfferRefusal::TooManyCandidates(_)) => {
            (StatusCode::BAD_REQUEST, "too_many_candidates")
        }
        MediaError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
        MediaError::Stopped => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        MediaError::BadOffer(_) | MediaError::Refused(_) | MediaError::Stale => {
            return ApiError::invalid("sdp", e.to_string());
        }
    };
    ApiError::Link {
        status,
        code,
        message: e.to_string(),
    }
}
