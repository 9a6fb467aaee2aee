//! The HTTP edge: one module per resource, each with its own `router()`.

pub mod auth;
mod check;
pub mod error;
mod health;
mod join;
mod recordings;
mod sessions;
mod web;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;

use crate::state::AppState;

/// The whole HTTP application, without a listener, so tests can call it
/// directly.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(check::router())
        .merge(sessions::router())
        .merge(join::router())
        .merge(recordings::router())
        .merge(web::router())
        .route("/api/v1/ws", axum::routing::get(crate::ws::upgrade))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn method_not_allowed() -> Response {
    error::error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this API call does not take that HTTP method",
    )
}

async fn not_found() -> Response {
    error::error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such page or API call",
    )
}
