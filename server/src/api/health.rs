//! Liveness and readiness for load balancers and orchestrators, and
//! Prometheus metrics.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::error::error_response;
use crate::state::AppState;

/// The media loop turns at least once a second; five without a turn means
/// it is stuck (or gone) and no call is being carried.
const MEDIA_LOOP_STALL: Duration = Duration::from_secs(5);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Prometheus text format. Counts only: no names, tokens or addresses.
async fn metrics(State(state): State<AppState>) -> Response {
    if !state.config().metrics.enabled {
        return error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "metrics are turned off in this deployment ([metrics] enabled)",
        );
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics().render(),
    )
        .into_response()
}

async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.is_draining() {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "the server is shutting down and takes no new calls",
        );
    }
    let lag = state.metrics().media.heartbeat.lag(Instant::now());
    if lag.is_none_or(|l| l > MEDIA_LOOP_STALL) {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "media_stalled",
            "the media loop has stopped or not turned for 5 s: calls cannot flow",
        );
    }
    axum::Json(json!({"status": "ready", "live_sessions": state.hub().live_rooms()}))
        .into_response()
}
