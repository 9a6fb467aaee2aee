//! The HTTP edge: one module per resource, each with its own `router()`.

mod admin;
pub mod auth;
mod check;
pub mod error;
mod health;
mod join;
mod query;
mod recording_files;
mod recordings;
mod sessions;
mod trail;
mod web;

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::http::StatusCode;
use axum::response::Response;
use axum::serve::IncomingStream;

use crate::state::AppState;

/// The client's address, for the login limiter (never logged). Works for
/// both listeners (plain TCP and TLS).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::SocketAddr);

impl Connected<IncomingStream<'_, tokio::net::TcpListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, crate::tls::TlsListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, crate::tls::TlsListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

/// The whole HTTP application, without a listener, so tests can call it
/// directly.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(admin::router())
        .merge(check::router())
        .merge(sessions::router())
        .merge(join::router())
        .merge(recordings::router())
        .merge(recording_files::router())
        .merge(trail::router())
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
