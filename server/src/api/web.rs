//! The web client: the pages people open from their join links, built into
//! the binary so it alone is enough to deploy. `http.web_dir` serves the
//! files from disk instead, for working on them without rebuilding.

use std::borrow::Cow;
use std::path::{Component, Path};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use sha2::Digest;

use super::error::error_response;
use crate::state::AppState;

#[derive(rust_embed::Embed)]
#[folder = "../web-client/"]
struct Assets;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/join", get(join))
        .route("/check", get(check))
        .route("/admin", get(admin))
        .route("/pair", get(pair))
        .route("/reflect", get(reflect))
        .route("/reflect-sw.js", get(reflect_worker))
        .route("/static/{*path}", get(asset))
}

/// Tight by default: everything from this origin, media from the camera and
/// the peer, nothing inline. `no-referrer` keeps even the page's own URL out
/// of any request it makes.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; object-src 'none'; \
base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, "index.html", &headers)
}

async fn join(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, "join.html", &headers)
}

async fn check(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, "check.html", &headers)
}

async fn admin(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, "admin.html", &headers)
}

async fn pair(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, "pair.html", &headers)
}

async fn reflect(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, "reflect.html", &headers)
}

/// The reflection page's service worker. Media elements cannot send the
/// page's `Authorization` header, so the worker adds it to the page's
/// recording file requests (ranges and all). Served from the root so that
/// it may control `/reflect`, and nothing else: the page registers it with
/// that scope.
async fn reflect_worker(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, "reflect-sw.js", &headers)
}

async fn asset(
    State(state): State<AppState>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if path.ends_with(".html") {
        return not_found();
    }
    serve(&state, &path, &headers)
}

fn not_found() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such page or API call",
    )
}

/// A relative path with only plain segments: nothing from a URL can climb
/// out of the web folder.
fn is_safe(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

fn load(state: &AppState, path: &str) -> Option<(Cow<'static, [u8]>, String)> {
    if let Some(dir) = &state.config().http.web_dir {
        let bytes = std::fs::read(dir.join(path)).ok()?;
        let tag = hex12(&sha2::Sha256::digest(&bytes));
        return Some((Cow::Owned(bytes), tag));
    }
    let file = Assets::get(path)?;
    let tag = hex12(&file.metadata.sha256_hash());
    Some((file.data, tag))
}

fn hex12(hash: &[u8]) -> String {
    hash.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

fn serve(state: &AppState, path: &str, request: &HeaderMap) -> Response {
    if !is_safe(path) {
        return not_found();
    }
    let Some((bytes, tag)) = load(state, path) else {
        return not_found();
    };
    let etag = format!("\"{tag}\"");
    let mut response = if request
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        (
            [(header::CONTENT_TYPE, mime.as_ref().to_string())],
            bytes.into_owned(),
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    // Revalidate every time: the files are small and change with releases.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), microphone=(self), display-capture=(self)"),
    );
    response
}

#[cfg(test)]
mod tests;
