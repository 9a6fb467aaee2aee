//! The console's own calls: log in and out (`/api/v1/admin/*`), the policy
//! (`/api/v1/policy`), the audit log (`/api/v1/audit`) and the nodes
//! (`/api/v1/nodes`).

use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{Admin, COOKIE, session_cookie};
use super::edge::ClientIp;
use super::error::{ApiError, parse_json};
use super::query::ApiQuery;
use crate::admin::{SESSION_TTL, login_limits, new_token, verify_password};
use crate::clock::now_s;
use crate::clock::rfc3339;
use crate::policy::{Policy, PolicyChange, PolicyError};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/login", post(login))
        .route("/api/v1/admin/me", get(me))
        .route("/api/v1/admin/logout", post(logout))
        .route("/api/v1/policy", get(policy).put(update_policy))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/nodes", get(nodes))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

fn refused(status: StatusCode, code: &'static str, message: String) -> ApiError {
    ApiError::Link {
        status,
        code,
        message,
    }
}

async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: LoginRequest = parse_json(&body)?;
    if crate::admin::check_username(&req.username).is_err() {
        // No account can have this name. It is refused before it reaches
        // the limiter or the audit log, so a huge or odd name costs
        // nothing there and cannot forge lines in it.
        return Err(wrong_login());
    }
    let now = Instant::now();
    let limits = login_limits(&req.username, client);
    let limiter = state.login_limiter();
    if let Some(wait) = limiter.locked(&limits, now) {
        return Err(refused(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            if wait < Duration::from_secs(60) {
                format!(
                    "too many failed logins; try again in {} seconds",
                    wait.as_secs().max(1)
                )
            } else {
                format!(
                    "too many failed logins; try again in {} minutes",
                    wait.as_secs().div_ceil(60)
                )
            },
        ));
    }
    // Each check holds 19 MiB for a moment on the blocking pool; anyone
    // can ask for one, so only a few run at once and the rest are turned
    // away at once rather than queued.
    let Ok(permit) = VERIFY_SLOTS.try_acquire() else {
        return Err(refused(
            StatusCode::TOO_MANY_REQUESTS,
            "busy",
            "too many logins at once; try again in a moment".into(),
        ));
    };
    // Counted before the check, so concurrent guesses cannot outrun the
    // limit; taken back below if the password is right.
    limiter.failed(&limits, now);
    let stored = state.store().admin_password_hash(&req.username).await?;
    // Hashing runs for unknown users too, so timing does not tell which
    // usernames exist.
    let password = req.password.clone();
    let hash = stored.clone().unwrap_or_else(|| DUMMY_HASH.clone());
    let ok = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        verify_password(&password, &hash)
    })
    .await
    .unwrap_or(false)
        && stored.is_some();
    let from = Some(format!("from {client}"));
    if !ok {
        state
            .audit(&req.username, "login_failed", None, from)
            .await?;
        return Err(wrong_login());
    }
    limiter.uncount(&limits, now);
    limiter.succeeded(&limits[0]);
    let token = new_token();
    let csrf = new_token();
    let expires = now_s() * 1000 + SESSION_TTL.as_millis() as i64;
    state
        .store()
        .create_admin_session(&token, &req.username, &csrf, expires)
        .await?;
    state.audit(&req.username, "login", None, from).await?;
    tracing::info!("admin logged in");
    let mut response = Json(json!({"user": req.username, "csrf_token": csrf})).into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie_header(&state, &token)) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

fn wrong_login() -> ApiError {
    refused(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "wrong username or password".into(),
    )
}

/// `Secure` whenever people reach Duet over HTTPS, also through a reverse
/// proxy that terminates TLS (the public URL says so): the browser must
/// never send the admin cookie over plain HTTP.
fn session_cookie_header(state: &AppState, token: &str) -> String {
    let https = state.config().public_base_url().starts_with("https://");
    let secure = if https { "; Secure" } else { "" };
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_TTL.as_secs()
    )
}

/// Password checks running at once (argon2id with 19 MiB each).
const VERIFY_PERMITS: usize = 4;
static VERIFY_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(VERIFY_PERMITS);

/// The hash of a random password, checked against when the username is
/// unknown, so that answering takes as long as for a real account.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    crate::admin::hash_password(&crate::admin::new_token()).unwrap_or_default()
});

async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let session = match cookie_of(&headers) {
        Some(token) => state.store().admin_session(&token, now_s() * 1000).await?,
        None => None,
    };
    let session = session.ok_or(ApiError::Unauthorized)?;
    Ok(Json(json!({"user": session.username, "csrf_token": session.csrf_token})).into_response())
}

fn cookie_of(headers: &HeaderMap) -> Option<String> {
    session_cookie(headers).map(str::to_string)
}

async fn logout(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = cookie_of(&headers) {
        state
            .store()
            .end_admin_session(&token, now_s() * 1000)
            .await?;
    }
    state.audit(&admin.actor, "logout", None, None).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let clear = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

async fn policy_json(state: &AppState, p: &Policy) -> Result<Value, ApiError> {
    let notices = state.store().notices().await?;
    let notice_json = |n: &crate::store::NoticeVersion| {
        json!({
            "version": n.version,
            "text": n.text,
            "hash": n.hash,
            "language": (!n.language.is_empty()).then_some(&n.language),
            "created_at": rfc3339(n.created_at_ms / 1000),
            "created_by": n.created_by,
        })
    };
    let current = notices
        .iter()
        .find(|n| n.hash == p.notice.hash)
        .map(notice_json);
    // The translations in use, by language, each with its version.
    let translations: serde_json::Map<String, Value> = p
        .translations
        .iter()
        .filter_map(|(language, t)| {
            let stored = notices.iter().find(|n| n.hash == t.hash)?;
            Some((language.clone(), notice_json(stored)))
        })
        .collect();
    Ok(json!({
        "recording_allowed": p.recording_allowed,
        "retention_days": p.retention_days,
        "notice": current,
        "translations": translations,
        "notices": notices.iter().map(notice_json).collect::<Vec<_>>(),
    }))
}

async fn policy(State(state): State<AppState>, _admin: Admin) -> Result<Response, ApiError> {
    let p = state.policies().current();
    Ok(Json(policy_json(&state, &p).await?).into_response())
}

async fn update_policy(
    State(state): State<AppState>,
    admin: Admin,
    body: Bytes,
) -> Result<Response, ApiError> {
    let change: PolicyChange = parse_json(&body)?;
    let (p, changed) = state
        .policies()
        .update(state.store(), change, &admin.actor, now_s() * 1000)
        .await
        .map_err(|e| match e {
            PolicyError::Invalid { field, message } => ApiError::invalid(field, message),
            PolicyError::Store(e) => ApiError::Store(e),
        })?;
    if !changed.is_empty() {
        state
            .audit(
                &admin.actor,
                "policy_change",
                None,
                Some(changed.join("; ")),
            )
            .await?;
    }
    Ok(Json(policy_json(&state, &p).await?).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    limit: Option<u32>,
}

async fn audit(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Response, ApiError> {
    let events = state
        .store()
        .audit_log(q.limit.unwrap_or(500).min(10_000))
        .await?;
    let out: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "seq": e.seq,
                "at": rfc3339(e.at_ms / 1000),
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "detail": e.detail,
            })
        })
        .collect();
    Ok(Json(json!({"events": out})).into_response())
}

/// Nodes seen within this long are listed; older rows are nodes long gone.
const NODES_SEEN_WITHIN_MS: i64 = 24 * 3600 * 1000;
/// Sessions listed under the nodes, in all: a few nodes' worth of calls
/// (`sessions` still counts every one).
const HELD_SESSIONS_LISTED: i64 = 1000;

/// The nodes sharing this database: which are live (heartbeat within the
/// lease), draining, and how many sessions each holds. One node alone
/// lists itself.
async fn nodes(State(state): State<AppState>, _admin: Admin) -> Result<Response, ApiError> {
    let now = crate::clock::now_ms();
    let lease_ms = i64::try_from(crate::cluster::lease::LEASE.as_millis()).unwrap_or(i64::MAX);
    let rows = state.store().nodes(now - NODES_SEEN_WITHIN_MS).await?;
    let mut held: std::collections::HashMap<String, Vec<Value>> = std::collections::HashMap::new();
    for h in state.store().held_sessions(HELD_SESSIONS_LISTED).await? {
        held.entry(h.node).or_default().push(json!({
            "id": h.session,
            "title": h.title,
            "placed_at": rfc3339(h.placed_at_ms / 1000),
        }));
    }
    let here = state.cluster().node_id();
    let out: Vec<Value> = rows
        .iter()
        .map(|n| {
            json!({
                "id": n.id,
                "this": n.id == here,
                "live": n.heartbeat_at_ms >= now - lease_ms,
                "draining": n.draining,
                "sessions": n.sessions,
                "held": held.remove(&n.id).unwrap_or_default(),
                "media_addr": n.media_addr,
                "internal_url": n.internal_url,
                "heartbeat_at": rfc3339(n.heartbeat_at_ms / 1000),
                "started_at": rfc3339(n.started_at_ms / 1000),
            })
        })
        .collect();
    Ok(Json(json!({"nodes": out})).into_response())
}
