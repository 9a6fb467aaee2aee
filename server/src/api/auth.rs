//! Who may call the admin API: an integration with an API key
//! (`Authorization: Bearer`), or an admin logged in to the console (the
//! `duet_admin` cookie). Cookies ride along on any request the browser
//! makes, so with a cookie every state-changing request must also carry the
//! session's CSRF token in `X-CSRF-Token`; a bearer key is never ambient
//! and needs none.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};

use super::error::ApiError;
use crate::clock::now_s;
use crate::state::AppState;

pub const COOKIE: &str = "duet_admin";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Present in a handler's arguments: the caller is an admin. `actor` names
/// them in the audit log and the trail.
pub struct Admin {
    pub actor: String,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        admin_from_parts(parts, state)
            .await?
            .ok_or(ApiError::Unauthorized)
    }
}

/// The bearer credential, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    bearer_of(&parts.headers)
}

/// The bearer credential in `headers`, if any.
pub fn bearer_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 1024)
}

/// The console session token from the cookie, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

/// `Ok(None)` when the request carries no admin credential (a bearer that
/// is not an API key may still be a participant's token); an error when a
/// console request lacks its CSRF token.
pub async fn admin_from_parts(parts: &Parts, state: &AppState) -> Result<Option<Admin>, ApiError> {
    if let Some(key) = bearer(parts) {
        if key.len() <= 256
            && (state.is_config_api_key(key) || state.store().api_key_exists(key).await?)
        {
            return Ok(Some(Admin {
                actor: "api-key".to_string(),
            }));
        }
        return Ok(None);
    }
    let Some(token) = session_cookie(&parts.headers) else {
        return Ok(None);
    };
    let Some(session) = state.store().admin_session(token, now_s() * 1000).await? else {
        return Ok(None);
    };
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
            return Err(ApiError::Csrf);
        }
    }
    Ok(Some(Admin {
        actor: session.username,
    }))
}

/// Compares without an early exit, so timing says nothing about how much of
/// a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
