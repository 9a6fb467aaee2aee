//! `/api/v1/pairs`: create and run mentoring pairs (admins), and the pair
//! home's outline (the two people). Scheduling is in `pair_schedule`, what
//! the people write in `pair_content`; who may do what in
//! `crate::pairs::access`.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use duet_signaling::Role;
use duet_signaling::protocol::RecordingPolicy;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Admin;
use super::error::{ApiError, read_json};
use super::pair_auth::{PairCredential, authorize, denied, personal};
use super::pair_view;
use crate::clock::{now_ms, now_s};
use crate::links::{PairClaims, PairTokenKind, new_link_id, pair_url};
use crate::pairs::PairId;
use crate::pairs::access::{Caller, Denied, Operation};
use crate::pairs::agreement::Agreement;
use crate::pairs::fields::{self, FieldError};
use crate::pairs::schedule::parse_zone;
use crate::recorder::deletion::{self, DeleteError, Deleter};
use crate::state::AppState;
use crate::store::{PairChanges, PairLink, PairPerson, PairRecord, PersonChanges};

/// Largest request body a pair call takes: room for the longest note or
/// agreement (20,000 characters, up to 4 bytes each) and its JSON.
pub const MAX_BODY: usize = 96 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/pairs", post(create).get(list))
        .route("/api/v1/pairs/{id}", get(show).patch(change).delete(remove))
        .route("/api/v1/pairs/{id}/end", post(end))
        .route("/api/v1/pairs/{id}/links", post(new_link))
        .route("/api/v1/pairs/{id}/links/{role}", delete(revoke_link))
        .route("/api/v1/pairs/{id}/people/{role}", patch(change_person))
}

pub(super) fn field_error(e: FieldError) -> ApiError {
    ApiError::Invalid {
        field: e.field,
        message: e.message,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonSpec {
    name: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PairSpec {
    title: String,
    #[serde(default)]
    goal: Option<String>,
    mentor: PersonSpec,
    mentee: PersonSpec,
    #[serde(default = "allowed")]
    recording: RecordingPolicy,
}

/// A pair records nothing unless both people agree in the call; "allowed"
/// only lets them be asked, so it is the default for a mentoring pair.
fn allowed() -> RecordingPolicy {
    RecordingPolicy::Allowed
}

fn person(role: Role, spec: &PersonSpec) -> Result<PairPerson, ApiError> {
    let (name_f, email_f, zone_f) = match role {
        Role::Mentor => ("mentor.name", "mentor.email", "mentor.time_zone"),
        Role::Mentee => ("mentee.name", "mentee.email", "mentee.time_zone"),
    };
    let name = fields::line(name_f, &spec.name, duet_signaling::protocol::MAX_NAME_CHARS)
        .map_err(field_error)?;
    let email = spec
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(|e| fields::email(email_f, e))
        .transpose()
        .map_err(field_error)?;
    let time_zone = spec
        .time_zone
        .as_deref()
        .map(|z| checked_zone(zone_f, z))
        .transpose()?;
    Ok(PairPerson {
        name,
        email,
        time_zone,
    })
}

pub(super) fn checked_zone(field: &'static str, zone: &str) -> Result<String, ApiError> {
    parse_zone(zone)
        .map(|tz| tz.name().to_string())
        .map_err(|e| ApiError::invalid(field, e.to_string()))
}

/// A fresh link row for `role`, valid for the configured number of days.
fn fresh_link(state: &AppState, pair: PairId, role: Role, now_ms: i64) -> PairLink {
    let days = i64::from(state.config().pairs.link_days);
    PairLink {
        id: new_link_id(),
        pair_id: pair,
        role,
        issued_at_ms: now_ms,
        expires_at_ms: now_ms + days * 24 * 3600 * 1000,
        revoked_at_ms: None,
    }
}

/// The token of a link row, of either kind.
pub(super) fn link_token(state: &AppState, l: &PairLink, kind: PairTokenKind) -> String {
    state.links().sign_pair(&PairClaims {
        v: 1,
        typ: kind,
        pid: l.pair_id,
        role: l.role,
        exp: l.expires_at_ms / 1000,
        lid: l.id.clone(),
    })
}

/// The link as the API shows it to an admin.
fn link_json(state: &AppState, l: &PairLink) -> Value {
    let token = link_token(state, l, PairTokenKind::Personal);
    json!({
        "role": l.role,
        "link": pair_url(&state.config().public_base_url(), &token),
        "token": token,
        "issued_at": crate::clock::rfc3339(l.issued_at_ms / 1000),
        "expires_at": crate::clock::rfc3339(l.expires_at_ms / 1000),
    })
}

async fn create(
    State(state): State<AppState>,
    admin: Admin,
    body: Body,
) -> Result<Response, ApiError> {
    let spec: PairSpec = read_json(body, MAX_BODY).await?;
    let title = fields::line("title", &spec.title, fields::MAX_TITLE_CHARS).map_err(field_error)?;
    let goal = fields::text(
        "goal",
        spec.goal.as_deref().unwrap_or(""),
        fields::MAX_GOAL_CHARS,
        true,
    )
    .map_err(field_error)?;
    let mentor = person(Role::Mentor, &spec.mentor)?;
    let mentee = person(Role::Mentee, &spec.mentee)?;
    let now = now_ms();
    let id = PairId(uuid::Uuid::new_v4());
    let pair = PairRecord {
        id,
        title,
        goal,
        recording: spec.recording,
        mentor,
        mentee,
        agreement: Agreement::new(),
        read_seq: [0, 0],
        created_at_ms: now,
        ended_at_ms: None,
    };
    let links = [
        fresh_link(&state, id, Role::Mentor, now),
        fresh_link(&state, id, Role::Mentee, now),
    ];
    state
        .store()
        .create_pair(pair.clone(), links.clone())
        .await?;
    tracing::info!(pair = %id, "pair created");
    state
        .audit(
            &admin.actor,
            "pair_create",
            Some(id.to_string()),
            Some(pair.title.clone()),
        )
        .await?;
    let caller = Caller::Admin { actor: admin.actor };
    let mut body = pair_view::view(&state, &caller, &pair).await?;
    let [mentor, mentee] = &links;
    let token = |l| link_token(&state, l, PairTokenKind::Personal);
    let base = state.config().public_base_url();
    body["links"] = json!({
        "mentor": pair_url(&base, &token(mentor)),
        "mentee": pair_url(&base, &token(mentee)),
    });
    body["tokens"] = json!({ "mentor": token(mentor), "mentee": token(mentee) });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Admins get every pair (newest first); a personal token gets its own.
async fn list(State(state): State<AppState>, cred: PairCredential) -> Result<Response, ApiError> {
    let (caller, pairs) = match &cred {
        PairCredential::Admin(actor) => (
            Caller::Admin {
                actor: actor.clone(),
            },
            state.store().pairs(500).await?,
        ),
        PairCredential::Bearer(token) => {
            let (id, role) = personal(&state, token)
                .await?
                .ok_or_else(super::pair_auth::bad_link)?;
            let pair = state.store().pair(id).await?;
            (Caller::Person { role }, pair.into_iter().collect())
        }
    };
    let mut out = Vec::with_capacity(pairs.len());
    for p in &pairs {
        out.push(pair_view::summary(&state, &caller, p).await?);
    }
    Ok(Json(json!({ "pairs": out })).into_response())
}

async fn show(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::ReadOutline).await?;
    let mut body = pair_view::view(&state, &caller, &pair).await?;
    if matches!(caller, Caller::Admin { .. }) {
        let links = state.store().active_pair_links(pair.id, now_ms()).await?;
        let newest = |role: Role| {
            links
                .iter()
                .rfind(|l| l.role == role)
                .map(|l| link_json(&state, l))
        };
        body["links"] = json!({ "mentor": newest(Role::Mentor), "mentee": newest(Role::Mentee) });
    }
    Ok(Json(body).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PairPatch {
    title: Option<String>,
    goal: Option<String>,
    recording: Option<RecordingPolicy>,
}

async fn change(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::Manage).await?;
    let patch: PairPatch = read_json(body, MAX_BODY).await?;
    let changes = PairChanges {
        title: patch
            .title
            .map(|t| fields::line("title", &t, fields::MAX_TITLE_CHARS))
            .transpose()
            .map_err(field_error)?,
        goal: patch
            .goal
            .map(|g| fields::text("goal", &g, fields::MAX_GOAL_CHARS, true))
            .transpose()
            .map_err(field_error)?,
        recording: patch.recording,
    };
    state.store().update_pair(pair.id, changes).await?;
    state
        .audit(
            &caller.actor(),
            "pair_update",
            Some(pair.id.to_string()),
            None,
        )
        .await?;
    show_now(&state, &caller, pair.id).await
}

async fn show_now(state: &AppState, caller: &Caller, id: PairId) -> Result<Response, ApiError> {
    let pair = state
        .store()
        .pair(id)
        .await?
        .ok_or(ApiError::NotFound("pair"))?;
    Ok(Json(pair_view::view(state, caller, &pair).await?).into_response())
}

/// Ends the pair: its calls end now, its links keep opening a read-only
/// pair home (history, notes, export).
async fn end(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::Manage).await?;
    if state.store().end_pair(pair.id, now_ms()).await? {
        end_calls(&state, pair.id).await?;
        tracing::info!(pair = %pair.id, "pair ended");
        state
            .audit(&caller.actor(), "pair_end", Some(pair.id.to_string()), None)
            .await?;
    }
    show_now(&state, &caller, pair.id).await
}

/// Ends every call of the pair that has not ended: the people in one are
/// told and disconnected, as when a session is ended over the API.
async fn end_calls(state: &AppState, pair: PairId) -> Result<(), ApiError> {
    for call in state.store().pair_calls(pair, 10_000).await? {
        if call.session.ended_at.is_none() {
            state.store().end_session(call.session.id, now_s()).await?;
        }
        state
            .hub()
            .end(call.session.id, duet_signaling::protocol::EndReason::Ended);
    }
    Ok(())
}

/// Deletes the pair and everything in it: calls end, recordings are
/// deleted through the recorder (each deletion in the consent trail, as
/// always), then the pair's rows go.
async fn remove(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::Manage).await?;
    state.store().end_pair(pair.id, now_ms()).await?;
    end_calls(&state, pair.id).await?;
    for row in state.store().pair_recordings(pair.id).await? {
        if row.status == crate::store::RecordingRowStatus::Deleted {
            continue;
        }
        let by = Deleter {
            actor: "admin",
            detail: format!("deleted with its pair by administrator {}", caller.actor()),
        };
        match deletion::delete(state.store(), state.recorders(), &row, by, now_ms()).await {
            Ok(()) => {}
            Err(DeleteError::InProgress | DeleteError::TranscriptInProgress) => {
                return Err(ApiError::refused(
                    StatusCode::CONFLICT,
                    "recording_in_progress",
                    "a recording of this pair is still being written or transcribed; \
                     the pair has been ended, try again in a minute",
                ));
            }
            Err(DeleteError::Store(e)) => return Err(ApiError::Store(e)),
            Err(DeleteError::Files(e)) => {
                return Err(ApiError::Store(crate::store::StoreError::Task(
                    e.to_string(),
                )));
            }
        }
    }
    state.store().delete_pair(pair.id).await?;
    tracing::info!(pair = %pair.id, "pair deleted");
    state
        .audit(
            &caller.actor(),
            "pair_delete",
            Some(pair.id.to_string()),
            Some(pair.title.clone()),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkRequest {
    role: Role,
}

/// Revokes the person's links and issues a new one: the other person's
/// link keeps working.
async fn new_link(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::Manage).await?;
    let req: LinkRequest = read_json(body, MAX_BODY).await?;
    let now = now_ms();
    let link = fresh_link(&state, pair.id, req.role, now);
    state
        .store()
        .replace_pair_link(pair.id, req.role, Some(link.clone()), now)
        .await?;
    state
        .audit(
            &caller.actor(),
            "pair_link_create",
            Some(pair.id.to_string()),
            Some(format!("a new {} link; older ones revoked", req.role)),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(link_json(&state, &link))).into_response())
}

fn parse_role(role: &str) -> Result<Role, ApiError> {
    match role {
        "mentor" => Ok(Role::Mentor),
        "mentee" => Ok(Role::Mentee),
        _ => Err(ApiError::BadPath(
            "the role in the path is mentor or mentee".into(),
        )),
    }
}

async fn revoke_link(
    State(state): State<AppState>,
    cred: PairCredential,
    Path((id, role)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let role = parse_role(&role)?;
    let (caller, pair) = authorize(&state, &cred, &id, Operation::Manage).await?;
    let n = state
        .store()
        .replace_pair_link(pair.id, role, None, now_ms())
        .await?;
    state
        .audit(
            &caller.actor(),
            "pair_link_revoke",
            Some(pair.id.to_string()),
            Some(format!("{n} {role} link(s) revoked")),
        )
        .await?;
    Ok(Json(json!({ "role": role, "revoked": n })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonPatch {
    name: Option<String>,
    /// `null` clears.
    #[serde(default, deserialize_with = "super::pair_view::present")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::pair_view::present")]
    time_zone: Option<Option<String>>,
}

/// A person changes their own name, email or time zone; an admin either
/// person's.
async fn change_person(
    State(state): State<AppState>,
    cred: PairCredential,
    Path((id, role)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let role = parse_role(&role)?;
    let pair_id = super::pair_auth::parse_pair_id(&id)?;
    let (caller, pair) = super::pair_auth::caller(&state, &cred, pair_id).await?;
    let op = match &caller {
        Caller::Admin { .. } => Operation::Manage,
        _ => Operation::EditSelf,
    };
    crate::pairs::access::check(&caller, op, pair.ended_at_ms.is_some()).map_err(denied)?;
    if caller.role().is_some_and(|r| r != role) {
        return Err(denied(Denied::AdminOnly));
    }
    let patch: PersonPatch = read_json(body, MAX_BODY).await?;
    let changes = PersonChanges {
        name: patch
            .name
            .map(|n| fields::line("name", &n, duet_signaling::protocol::MAX_NAME_CHARS))
            .transpose()
            .map_err(field_error)?,
        email: patch
            .email
            .map(|e| {
                e.filter(|e| !e.trim().is_empty())
                    .map(|e| fields::email("email", &e))
                    .transpose()
            })
            .transpose()
            .map_err(field_error)?,
        time_zone: patch
            .time_zone
            .map(|z| z.map(|z| checked_zone("time_zone", &z)).transpose())
            .transpose()?,
    };
    state
        .store()
        .update_pair_person(pair.id, role, changes)
        .await?;
    if let Caller::Admin { actor } = &caller {
        state
            .audit(
                actor,
                "pair_update",
                Some(pair.id.to_string()),
                Some(format!("the {role}'s details")),
            )
            .await?;
    }
    show_now(&state, &caller, pair.id).await
}
