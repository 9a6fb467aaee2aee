//! A recording's files, for download or to play in the browser:
//! `GET /api/v1/recordings/{id}/files/{name}` (with range requests, so
//! players can seek) and `GET /api/v1/recordings/{id}/mix.wav` (both
//! speakers in one file). File names from the URL are served only when the
//! manifest lists them, so nothing from input reaches the filesystem as a
//! path.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tower::ServiceExt;

use super::error::ApiError;
use super::query::ApiQuery;
use super::recordings::{Access, load};
use crate::recorder::mix::Mixer;
use crate::recorder::{files, manifest};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/recordings/{id}/files/{name}", get(file))
        .route("/api/v1/recordings/{id}/mix.wav", get(mix))
}

#[derive(Deserialize, Default)]
struct FileQuery {
    /// `?download=1` asks the browser to save the file instead of playing it.
    download: Option<String>,
}

fn mime_of(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("ogg") => "audio/ogg",
        Some("webm") => "video/webm",
        Some("wav") => "audio/wav",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn private_headers(response: &mut Response, name: &str, mime: &'static str, download: bool) {
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    let disposition = if download { "attachment" } else { "inline" };
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
}

async fn file(
    State(state): State<AppState>,
    access: Access,
    Path((id, name)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<FileQuery>,
    request: Request,
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
    let path = dir.join(listed);
    if !path.is_file() {
        return Err(ApiError::NotFound("file"));
    }
    // ServeFile answers Range requests (206), so players can seek.
    let served = tower_http::services::ServeFile::new(&path)
        .oneshot(request)
        .await
        .map_err(|_| ApiError::NotFound("file"))?;
    let mut response = served.map(Body::new).into_response();
    let download = q.download.is_some_and(|d| d != "0");
    private_headers(&mut response, listed, mime_of(listed), download);
    Ok(response)
}

async fn mix(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<FileQuery>,
) -> Result<Response, ApiError> {
    let row = load(&state, &access, &id).await?;
    let dir = state.recorders().dir_of_str(&row.id);
    let m = manifest::read(&dir).map_err(|_| ApiError::NotFound("file"))?;
    let paths: Vec<std::path::PathBuf> = m.transcripts.iter().map(|t| dir.join(&t.file)).collect();
    if paths.is_empty() {
        // Transcripts are made when a recording ends.
        return Err(ApiError::NotFound(
            "mixed audio (the recording has no transcripts yet)",
        ));
    }
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    let mut mixer = Mixer::open(&refs).map_err(|_| ApiError::NotFound("file"))?;
    let len = mixer.file_len();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        loop {
            match mixer.next_chunk() {
                Ok(Some(chunk)) => {
                    if tx.blocking_send(Ok(chunk)).is_err() {
                        return; // the client went away
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    let stream = tokio_stream_from(rx);
    let mut response = Body::from_stream(stream).into_response();
    if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
        response.headers_mut().insert(header::CONTENT_LENGTH, v);
    }
    let download = q.download.is_some_and(|d| d != "0");
    private_headers(&mut response, "mix.wav", "audio/wav", download);
    Ok(response)
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
