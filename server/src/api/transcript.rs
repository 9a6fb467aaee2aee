//! A recording's transcript: `GET /api/v1/recordings/{id}/transcript`
//! (`?format=vtt|md` for the other forms), `POST` to (re)queue it (admin),
//! and `DELETE /api/v1/recordings/{id}/media` to delete the audio and video
//! while keeping the transcript (a participant of the session, or admin).
//!
//! Same credentials as the manifest. The transcript's text is sent to
//! those allowed to read it and nowhere else: never logged.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::query::ApiQuery;
use super::recordings::{Access, load, load_content};
use crate::clock::now_ms;
use crate::recorder::deletion::{self, Deleter, MediaDeleteError};
use crate::recorder::manifest;
use crate::state::AppState;
use crate::store::{JobStatus, RecordingRowStatus};
use crate::transcript::document::Transcript;
use crate::transcript::job::{JSON_FILE, MD_FILE, VTT_FILE};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/recordings/{id}/transcript",
            get(show).post(requeue),
        )
        .route("/api/v1/recordings/{id}/media", delete(delete_media))
}

#[derive(Deserialize, Default)]
struct TranscriptQuery {
    /// `json` (default), `vtt` or `md`.
    format: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<TranscriptQuery>,
) -> Result<Response, ApiError> {
    let row = load_content(&state, &access, &id).await?;
    let format = q.format.as_deref().unwrap_or("json");
    let file = match format {
        "json" => JSON_FILE,
        "vtt" => VTT_FILE,
        "md" => MD_FILE,
        _ => {
            return Err(ApiError::BadQuery("format must be json, vtt or md".into()));
        }
    };
    let dir = state.recorders().open(&row.id).await;
    let made = manifest::read(&dir).ok().and_then(|m| m.transcript);
    let job = state.store().transcription(row.id.clone()).await?;
    let running = job
        .as_ref()
        .is_some_and(|j| matches!(j.status, JobStatus::Pending | JobStatus::Running));
    if let Some(made) = &made
        && !running
    {
        let path = dir.join(file);
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|_| ApiError::NotFound("transcript file"))?;
        if format != "json" {
            let mime = if format == "vtt" {
                "text/vtt; charset=utf-8"
            } else {
                "text/markdown; charset=utf-8"
            };
            let mut response = bytes.into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            return Ok(response);
        }
        let transcript: Transcript = serde_json::from_slice(&bytes)
            .map_err(|_| ApiError::NotFound("transcript (its file is damaged)"))?;
        return Ok(Json(json!({
            "status": "done",
            "progress": 1.0,
            "language": transcript.language,
            "model": made.model,
            "segments": transcript.segments,
        }))
        .into_response());
    }
    if format != "json" {
        return Err(ApiError::NotFound("transcript (it is not made yet)"));
    }
    let transcriber = state.transcriber();
    let body = match job {
        Some(j) if j.status != JobStatus::Cancelled => json!({
            "status": match j.status {
                JobStatus::Pending => "pending",
                JobStatus::Running => "running",
                JobStatus::Failed => "failed",
                _ => "done",
            },
            "progress": j.progress,
            "language": j.language,
            "error": j.error,
            "segments": [],
        }),
        _ if transcriber.enabled() && row.status == RecordingRowStatus::Recording => json!({
            "status": "pending",
            "progress": 0.0,
            "language": null,
            "reason": "the recording is still being written or finished",
            "segments": [],
        }),
        _ if !transcriber.enabled() => json!({
            "status": "off",
            "progress": 0.0,
            "language": null,
            "reason": "transcription is off on this server (no model is configured)",
            "segments": [],
        }),
        _ => json!({
            "status": "off",
            "progress": 0.0,
            "language": null,
            "reason": "this recording was not transcribed (it ended before transcription was on); an administrator can queue it",
            "segments": [],
        }),
    };
    Ok(Json(body).into_response())
}

/// Queues the recording for transcription (again): admin only.
async fn requeue(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = load(&state, &access, &id).await?;
    let Access::Admin(actor) = &access else {
        return Err(ApiError::Unauthorized);
    };
    if !matches!(
        row.status,
        RecordingRowStatus::Complete | RecordingRowStatus::Interrupted
    ) {
        return Err(ApiError::Link {
            status: StatusCode::CONFLICT,
            code: "recording_not_finished",
            message: "only a finished recording can be transcribed".into(),
        });
    }
    if !state.transcriber().enabled() {
        return Err(ApiError::Link {
            status: StatusCode::CONFLICT,
            code: "transcription_off",
            message: "transcription is off on this server (no model is configured)".into(),
        });
    }
    state.transcriber().queue(&row.id).await?;
    state
        .audit(actor, "transcript_queue", Some(row.id.clone()), None)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "pending", "progress": 0.0})),
    )
        .into_response())
}

async fn delete_media(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = load(&state, &access, &id).await?;
    let by = match &access {
        Access::Admin(actor) => Deleter {
            actor: "admin",
            detail: format!("media deleted by administrator {actor}; transcript kept"),
        },
        Access::Participant(_, role) | Access::PairPerson(_, role) => Deleter {
            actor: role.as_str(),
            detail: format!("media deleted by the {role}; transcript kept"),
        },
    };
    let conflict = |code: &'static str, e: MediaDeleteError| ApiError::Link {
        status: StatusCode::CONFLICT,
        code,
        message: e.to_string(),
    };
    match deletion::delete_media(state.store(), state.recorders(), &row, by, now_ms()).await {
        Ok(()) => {}
        Err(e @ MediaDeleteError::InProgress) => return Err(conflict("recording_in_progress", e)),
        Err(e @ MediaDeleteError::NoTranscript) => return Err(conflict("no_transcript", e)),
        Err(MediaDeleteError::Deleted) => return Err(ApiError::NotFound("recording")),
        Err(MediaDeleteError::Store(e)) => return Err(ApiError::Store(e)),
        Err(e) => {
            return Err(ApiError::Store(crate::store::StoreError::Task(
                e.to_string(),
            )));
        }
    }
    if let Access::Admin(actor) = &access {
        state
            .audit(actor, "recording_delete_media", Some(row.id.clone()), None)
            .await?;
    }
    let m = manifest::read(&state.recorders().open(&row.id).await).ok();
    Ok(Json(json!({
        "id": row.id,
        "media_deleted": m.and_then(|m| m.media_deleted),
    }))
    .into_response())
}
