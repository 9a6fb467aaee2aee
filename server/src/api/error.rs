//! The one error type of the HTTP API. Every error body is
//! `{"error": {"code": "snake_case", "message": "human sentence"}}`, and
//! internal details go to the log, never to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("a valid API key is required (Authorization: Bearer <key>)")]
    Unauthorized,
    #[error("{0}")]
    BadJson(String),
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    BadPath(String),
    #[error("the query string is not valid: {0}")]
    BadQuery(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
    /// A join link that cannot be used, with the signaling error code.
    #[error("{message}")]
    Link {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    /// A cap on concurrent use was reached (429 `busy`).
    #[error("{0}")]
    Busy(&'static str),
    #[error("this request needs the console's CSRF token in the X-CSRF-Token header")]
    Csrf,
    /// Any other refusal, with its status and code (e.g. `forbidden`,
    /// `pair_ended`, `stale`, `too_large`).
    #[error("{message}")]
    Refused {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    #[error("storage error")]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            field,
            message: message.into(),
        }
    }

    pub fn refused(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Refused {
            status,
            code,
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::BadJson(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
            ApiError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            ApiError::BadPath(_) => (StatusCode::BAD_REQUEST, "invalid_id"),
            ApiError::BadQuery(_) => (StatusCode::BAD_REQUEST, "invalid_query"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "session_ended"),
            ApiError::Link { status, code, .. } | ApiError::Refused { status, code, .. } => {
                (*status, code)
            }
            ApiError::Csrf => (StatusCode::FORBIDDEN, "csrf_failed"),
            ApiError::Busy(_) => (StatusCode::TOO_MANY_REQUESTS, "busy"),
            // The database's queue is full: a moment's overload, not a fault.
            ApiError::Store(StoreError::Busy) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            ApiError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// Parses a JSON body with our own error shape instead of axum's plain-text
/// rejections.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadJson(format!("the request body is not valid: {e}")))
}

/// Reads a JSON body of at most `max` bytes: a longer one is refused with
/// `413 too_large` before it is all read, so a 10 MB note costs the server
/// no more than the limit.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    body: axum::body::Body,
    max: usize,
) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(body, max).await.map_err(|_| {
        ApiError::refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body must be at most {} KiB", max / 1024),
        )
    })?;
    parse_json(&bytes)
}

/// An error body with a given status, for responses outside `ApiError`.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Store(e) = &self {
            tracing::error!(error = %e, "storage error in an API call");
        }
        let mut body = json!({"error": {"code": code, "message": self.to_string()}});
        if let ApiError::Invalid { field, .. } = &self {
            body["error"]["field"] = json!(field);
        }
        (status, Json(body)).into_response()
    }
}
