//! The HTTP edge: one module per resource, each with its own `router()`.

mod admin;
pub mod auth;
mod check;
pub mod client_ip;
pub mod edge;
pub mod error;
mod health;
mod join;
mod moments;
mod pair_auth;
mod pair_content;
mod pair_schedule;
mod pair_view;
mod pairs;
mod query;
mod recording_files;
mod recordings;
mod reflect;
mod sessions;
mod trail;
mod transcript;
mod web;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;

use crate::state::AppState;

/// The TCP peer of a request, put in its extensions by the server loop
/// (`serve.rs`). Behind a reverse proxy this is the proxy: see
/// [`edge::ClientIp`] for the client's own address.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::SocketAddr);

/// The whole HTTP application, without a listener, so tests can call it
/// directly.
pub fn app(state: AppState) -> Router {
    let edge = edge::Edge::new(&state.config().http);
    // HSTS only when people reach Duet over HTTPS (directly or through a
    // proxy): over plain HTTP the header is ignored and misleading.
    let https = state.config().public_base_url().starts_with("https://");
    let router = Router::new()
        .merge(health::router())
        .merge(admin::router())
        .merge(check::router())
        .merge(sessions::router())
        .merge(join::router())
        .merge(pairs::router())
        .merge(pair_schedule::router())
        .merge(pair_content::router())
        .merge(recordings::router())
        .merge(recording_files::router())
        .merge(reflect::router())
        .merge(moments::router())
        .merge(transcript::router())
        .merge(trail::router())
        .merge(web::router())
        .route("/api/v1/ws", axum::routing::get(crate::ws::upgrade))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(axum::Extension(edge));
    if https {
        router.layer(axum::middleware::map_response(strict_transport_security))
    } else {
        router
    }
}

/// Browsers that saw this once use HTTPS for the host for a year, so a
/// network attacker cannot downgrade a later visit and read the cookie.
async fn strict_transport_security(mut response: Response) -> Response {
    response.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static("max-age=31536000"),
    );
    response
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
