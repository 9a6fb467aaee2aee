//! The consent trail as admins read and export it: per session and
//! deployment-wide, filtered, as JSON or CSV, each event with the version
//! of the notice it refers to.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use duet_signaling::SessionId;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Admin;
use super::error::ApiError;
use super::query::ApiQuery;
use crate::state::AppState;
use crate::store::{StoredConsentEvent, TrailFilter};

/// Most events one request returns.
const MAX_EVENTS: u32 = 100_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sessions/{id}/consent", get(session_trail))
        .route("/api/v1/consent", get(deployment_trail))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TrailQuery {
    session: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

const ACTIONS: &[&str] = &[
    "request",
    "consent",
    "decline",
    "revoke",
    "discard",
    "start",
    "stop",
    "interruption",
    "delete_media",
];

const COLUMNS: &[&str] = &[
    "seq",
    "at",
    "session_id",
    "recording_id",
    "action",
    "role",
    "participant_id",
    "actor",
    "notice_hash",
    "notice_version",
    "detail",
];

async fn session_trail(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<TrailQuery>,
) -> Result<Response, ApiError> {
    let sid = uuid::Uuid::parse_str(&id)
        .map(SessionId)
        .map_err(|_| ApiError::BadPath("that is not a session id (a UUID)".into()))?;
    state
        .store()
        .session(sid)
        .await?
        .ok_or(ApiError::NotFound("session"))?;
    let filter = TrailQuery {
        session: Some(sid.to_string()),
        ..q
    };
    respond(&state, filter, Some(sid)).await
}

async fn deployment_trail(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(q): ApiQuery<TrailQuery>,
) -> Result<Response, ApiError> {
    respond(&state, q, None).await
}

async fn respond(
    state: &AppState,
    q: TrailQuery,
    session: Option<SessionId>,
) -> Result<Response, ApiError> {
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::invalid("format", "format is json or csv")),
    };
    if let Some(action) = &q.action
        && !ACTIONS.contains(&action.as_str())
    {
        return Err(ApiError::invalid(
            "action",
            format!("action is one of {}", ACTIONS.join(", ")),
        ));
    }
    let filter = TrailFilter {
        session: q.session.filter(|s| !s.is_empty()),
        action: q.action,
        from_ms: parse_time("from", q.from.as_deref())?,
        to_ms: parse_time("to", q.to.as_deref())?,
        limit: MAX_EVENTS,
    };
    let events = state.store().consent_events(filter).await?;
    let versions: HashMap<String, i64> = state
        .store()
        .notices()
        .await?
        .into_iter()
        .map(|n| (n.hash, n.version))
        .collect();
    let rows: Vec<Value> = events.iter().map(|e| event_json(e, &versions)).collect();
    if csv {
        let name = match session {
            Some(s) => format!("duet-consent-{s}.csv"),
            None => "duet-consent.csv".to_string(),
        };
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            to_csv(&rows),
        )
            .into_response());
    }
    Ok(match session {
        Some(sid) => Json(json!({"session_id": sid, "events": rows})),
        None => Json(json!({"events": rows})),
    }
    .into_response())
}

fn parse_time(field: &'static str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    // A bare date means its midnight, UTC.
    let full = if v.len() == 10 {
        format!("{v}T00:00:00Z")
    } else {
        v.to_string()
    };
    time::OffsetDateTime::parse(&full, &time::format_description::well_known::Rfc3339)
        .map(|t| Some((t.unix_timestamp_nanos() / 1_000_000) as i64))
        .map_err(|_| {
            ApiError::invalid(field, format!("{field} must be a date or an RFC 3339 time"))
        })
}

fn event_json(e: &StoredConsentEvent, versions: &HashMap<String, i64>) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    v["at"] = json!(rfc3339_ms(e.at_ms));
    v["notice_version"] = json!(versions.get(&e.notice_hash));
    v
}

fn rfc3339_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// RFC 4180 CSV. Cells that a spreadsheet would run as a formula are
/// prefixed with `'` (CSV injection).
fn to_csv(rows: &[Value]) -> String {
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    for row in rows {
        let cells: Vec<String> = COLUMNS
            .iter()
            .map(|c| match &row[*c] {
                Value::Null => String::new(),
                Value::String(s) => cell(s),
                other => cell(&other.to_string()),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

fn cell(s: &str) -> String {
    // OWASP's CSV-injection list: these first characters start a formula
    // (tab and carriage return in some spreadsheets too); plain numbers
    // such as `-5` stay numbers.
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fuzz;
