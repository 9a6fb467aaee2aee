//! A recording's files, for download or to play in the browser:
//! `GET /api/v1/recordings/{id}/files/{name}` (with range requests, so
//! players can seek) and `GET /api/v1/recordings/{id}/mix.wav` (both
//! speakers in one file). File names from the URL are served only when the
//! manifest lists them, so nothing from input reaches the filesystem as a
//! path.
//!
//! Streams are bounded: each credential may hold a few at once (the next
//! gets `429 busy`), a client that stops reading is dropped by the server
//! loop's idle timeout, and the mix holds a blocking thread only while it
//! mixes a chunk, never while it waits for the client. Hundreds of stalled
//! downloads once starved the blocking pool that consent writes need.

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tower::ServiceExt;

use super::edge::{Edge, HeldPlace};
use super::error::ApiError;
use super::query::ApiQuery;
use super::recordings::{Access, load_content, load_reach, metadata_only};
use crate::recorder::mix::Mixer;
use crate::recorder::{files, manifest};
use crate::reflection::access::Reach;
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
        Some("vtt") => "text/vtt; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
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

const BUSY: &str = "too many downloads at once with this credential; finish one first";

/// A place for one more stream by this request's credential.
fn download_slot(edge: &Edge, headers: &HeaderMap) -> Result<HeldPlace<[u8; 32]>, ApiError> {
    edge.download_slot(headers).ok_or(ApiError::Busy(BUSY))
}

/// The body, holding `slot` until it is sent or dropped.
fn holding(body: Body, slot: HeldPlace<[u8; 32]>) -> Body {
    use futures_util::StreamExt;
    Body::from_stream(body.into_data_stream().map(move |chunk| {
        let _held = &slot;
        chunk
    }))
}

async fn file(
    State(state): State<AppState>,
    Extension(edge): Extension<Edge>,
    access: Access,
    Path((id, name)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<FileQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let (row, reach) = load_reach(&state, &access, &id).await?;
    // With metadata-only access the manifest is all an admin may fetch.
    if reach == Reach::Metadata && name != manifest::FILE_NAME {
        return Err(metadata_only());
    }
    let slot = download_slot(&edge, request.headers())?;
    if !files::is_plain_name(&name) {
        return Err(ApiError::NotFound("file"));
    }
    let dir = state.recorders().open(&row.id).await;
    let m = manifest::read(&dir).map_err(|_| ApiError::NotFound("file"))?;
    let Some(listed) = m.files().find(|f| *f == name) else {
        return Err(ApiError::NotFound("file"));
    };
    state.recorders().open_file(&row.id, &dir, listed).await;
    let path = dir.join(listed);
    if !path.is_file() {
        return Err(ApiError::NotFound("file"));
    }
    // ServeFile answers Range requests (206), so players can seek.
    let served = tower_http::services::ServeFile::new(&path)
        .oneshot(request)
        .await
        .map_err(|_| ApiError::NotFound("file"))?;
    let mut response = served.map(|b| holding(Body::new(b), slot)).into_response();
    let download = q.download.is_some_and(|d| d != "0");
    private_headers(&mut response, listed, mime_of(listed), download);
    Ok(response)
}

async fn mix(
    State(state): State<AppState>,
    Extension(edge): Extension<Edge>,
    access: Access,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<FileQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let row = load_content(&state, &access, &id).await?;
    let slot = download_slot(&edge, &headers)?;
    let dir = state.recorders().open(&row.id).await;
    let m = manifest::read(&dir).map_err(|_| ApiError::NotFound("file"))?;
    for t in &m.transcripts {
        state.recorders().open_file(&row.id, &dir, &t.file).await;
    }
    let paths: Vec<std::path::PathBuf> = m.transcripts.iter().map(|t| dir.join(&t.file)).collect();
    if m.media_deleted.is_some() {
        return Err(ApiError::NotFound("mixed audio (the media was deleted)"));
    }
    if paths.is_empty() {
        // Transcripts are made when a recording ends.
        return Err(ApiError::NotFound(
            "mixed audio (the recording has no transcripts yet)",
        ));
    }
    let opened = tokio::task::spawn_blocking(move || {
        let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
        Mixer::open(&refs)
    })
    .await;
    let Ok(Ok(mixer)) = opened else {
        return Err(ApiError::NotFound("file"));
    };
    let len = mixer.file_len();
    let mut response = holding(Body::from_stream(mix_stream(mixer)), slot).into_response();
    if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
        response.headers_mut().insert(header::CONTENT_LENGTH, v);
    }
    let download = q.download.is_some_and(|d| d != "0");
    private_headers(&mut response, "mix.wav", "audio/wav", download);
    Ok(response)
}

/// The mix, one chunk per blocking task: the next chunk is made only when
/// the client has taken the last, and no thread waits on a slow client.
fn mix_stream(
    mixer: Mixer,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold(Some(mixer), |mixer| async move {
        let mut mixer = mixer?;
        let chunk = tokio::task::spawn_blocking(move || {
            let chunk = mixer.next_chunk();
            (mixer, chunk)
        })
        .await;
        match chunk {
            Ok((mixer, Ok(Some(chunk)))) => Some((Ok(chunk), Some(mixer))),
            Ok((_, Ok(None))) => None,
            Ok((_, Err(e))) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
        }
    })
}
