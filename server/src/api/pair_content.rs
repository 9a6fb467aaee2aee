//! What the two people of a pair write: agenda, actions, notes, messages,
//! the agreement, and their export. Only the two people reach these (see
//! `crate::pairs::access`); private notes only their author.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use duet_signaling::{Role, SessionId};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::error::{ApiError, read_json};
use super::pair_auth::{PairCredential, authorize, person_role};
use super::pair_view::{at, present, zone};
use super::pairs::{MAX_BODY, field_error};
use super::query::ApiQuery;
use crate::clock::now_ms;
use crate::pairs::access::{Caller, Operation, Visibility};
use crate::pairs::export::{
    Export, ExportAction, ExportAgreement, ExportCall, ExportItem, ExportMessage, ExportMoment,
    ExportNote, ExportSession,
};
use crate::pairs::fields;
use crate::state::AppState;
use crate::store::{ActionChange, ActionItem, AgendaChange, ContentError, Note};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/pairs/{id}/agenda", get(agenda).post(add_agenda))
        .route(
            "/api/v1/pairs/{id}/agenda/{item}",
            patch(change_agenda).delete(delete_agenda),
        )
        .route("/api/v1/pairs/{id}/actions", get(actions).post(add_action))
        .route(
            "/api/v1/pairs/{id}/actions/{item}",
            patch(change_action).delete(delete_action),
        )
        .route("/api/v1/pairs/{id}/notes", get(notes).post(add_note))
        .route(
            "/api/v1/pairs/{id}/notes/{note}",
            patch(change_note).delete(delete_note),
        )
        .route(
            "/api/v1/pairs/{id}/messages",
            get(messages).post(add_message),
        )
        .route("/api/v1/pairs/{id}/messages/read", post(read_messages))
        .route(
            "/api/v1/pairs/{id}/agreement",
            get(agreement).put(edit_agreement),
        )
        .route(
            "/api/v1/pairs/{id}/agreement/confirm",
            post(confirm_agreement),
        )
        .route("/api/v1/pairs/{id}/export", get(export))
}

fn item_id(s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s)
        .map_err(|_| ApiError::BadPath("the item id in the path is not a UUID".into()))
}

fn content_error(e: ContentError) -> ApiError {
    match e {
        ContentError::NotFound(what) => ApiError::NotFound(what),
        ContentError::NotAuthor => {
            ApiError::refused(StatusCode::FORBIDDEN, "forbidden", e.to_string())
        }
        ContentError::TooMany(_) => {
            ApiError::refused(StatusCode::CONFLICT, "too_many", e.to_string())
        }
        ContentError::Agreement(a @ crate::pairs::agreement::AgreementError::Stale { .. }) => {
            ApiError::refused(StatusCode::CONFLICT, "stale", a.to_string())
        }
        ContentError::Agreement(a) => ApiError::invalid("text", a.to_string()),
        ContentError::Store(s) => ApiError::Store(s),
    }
}

// ---- agenda ----

async fn agenda(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (_, pair) = authorize(&state, &cred, &id, Operation::ReadAgenda).await?;
    let items = state.store().agenda(pair.id).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewText {
    text: String,
}

async fn add_agenda(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::EditAgenda).await?;
    let role = person_role(&caller)?;
    let req: NewText = read_json(body, MAX_BODY).await?;
    let text = fields::line("text", &req.text, fields::MAX_AGENDA_CHARS).map_err(field_error)?;
    let item = state
        .store()
        .add_agenda(pair.id, text, role, now_ms(), fields::MAX_ITEMS)
        .await
        .map_err(content_error)?;
    Ok((StatusCode::CREATED, Json(item)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgendaPatch {
    text: Option<String>,
    done: Option<bool>,
    position: Option<usize>,
}

async fn change_agenda(
    State(state): State<AppState>,
    cred: PairCredential,
    Path((id, item)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::EditAgenda).await?;
    let role = person_role(&caller)?;
    let item = item_id(&item)?;
    let req: AgendaPatch = read_json(body, MAX_BODY).await?;
    let change = AgendaChange {
        text: req
            .text
            .map(|t| fields::line("text", &t, fields::MAX_AGENDA_CHARS))
            .transpose()
            .map_err(field_error)?,
        done: req.done,
        position: req.position,
    };
    let item = state
        .store()
        .change_agenda(pair.id, item, change, role, now_ms())
        .await
        .map_err(content_error)?;
    Ok(Json(item).into_response())
}

async fn delete_agenda(
    State(state): State<AppState>,
    cred: PairCredential,
    Path((id, item)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (_, pair) = authorize(&state, &cred, &id, Operation::EditAgenda).await?;
    if !state
        .store()
        .delete_agenda(pair.id, item_id(&item)?)
        .await?
    {
        return Err(ApiError::NotFound("agenda item"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- actions ----

async fn actions(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (_, pair) = authorize(&state, &cred, &id, Operation::ReadActions).await?;
    let now = now_ms();
    let items: Vec<_> = state
        .store()
        .actions(pair.id)
        .await?
        .into_iter()
        .map(|a| {
            let overdue = a.done_at_ms.is_none()
                && a.due.as_deref().is_some_and(|d| {
                    crate::pairs::due::is_overdue(
                        d,
                        zone(pair.person(a.owner).time_zone.as_deref()),
                        now,
                    )
                });
            let mut v = json!(a);
            v["overdue"] = json!(overdue);
            v
        })
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAction {
    text: String,
    owner: Role,
    #[serde(default)]
    due: Option<String>,
}

async fn add_action(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::EditActions).await?;
    let role = person_role(&caller)?;
    let req: NewAction = read_json(body, MAX_BODY).await?;
    let item = ActionItem {
        id: Uuid::new_v4(),
        text: fields::line("text", &req.text, fields::MAX_ACTION_CHARS).map_err(field_error)?,
        owner: req.owner,
        due: req
            .due
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(|d| fields::due_date("due", d))
            .transpose()
            .map_err(field_error)?,
        created_by: role,
        created_at_ms: now_ms(),
        done_at_ms: None,
    };
    let item = state
        .store()
        .add_action(pair.id, item, fields::MAX_ITEMS)
        .await
        .map_err(content_error)?;
    Ok((StatusCode::CREATED, Json(item)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionPatch {
    text: Option<String>,
    owner: Option<Role>,
    #[serde(default, deserialize_with = "present")]
    due: Option<Option<String>>,
    done: Option<bool>,
}

async fn change_action(
    State(state): State<AppState>,
    cred: PairCredential,
    Path((id, item)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let (_, pair) = authorize(&state, &cred, &id, Operation::EditActions).await?;
    let item = item_id(&item)?;
    let req: ActionPatch = read_json(body, MAX_BODY).await?;
    let change = ActionChange {
        text: req
            .text
            .map(|t| fields::line("text", &t, fields::MAX_ACTION_CHARS))
            .transpose()
            .map_err(field_error)?,
        owner: req.owner,
        due: req
            .due
            .map(|d| {
                d.filter(|d| !d.is_empty())
                    .map(|d| fields::due_date("due", &d))
                    .transpose()
            })
            .transpose()
            .map_err(field_error)?,
        done: req.done,
    };
    let item = state
        .store()
        .change_action(pair.id, item, change, now_ms())
        .await
        .map_err(content_error)?;
    Ok(Json(item).into_response())
}

async fn delete_action(
    State(state): State<AppState>,
    cred: PairCredential,
    Path((id, item)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (_, pair) = authorize(&state, &cred, &id, Operation::EditActions).await?;
    if !state
        .store()
        .delete_action(pair.id, item_id(&item)?)
        .await?
    {
        return Err(ApiError::NotFound("action"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- notes ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NotesQuery {
    session: Option<Uuid>,
}

/// The call a call credential is confined to, if it is one.
fn call_session(caller: &Caller) -> Option<SessionId> {
    match caller {
        Caller::Call { session, .. } => Some(*session),
        _ => None,
    }
}

async fn notes(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<NotesQuery>,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::ReadNotes).await?;
    let role = person_role(&caller)?;
    // A call's join token reads that call's notes only.
    let session = call_session(&caller).or(q.session.map(SessionId));
    let notes = state.store().notes(pair.id, role, session).await?;
    Ok(Json(json!({ "notes": notes })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewNote {
    text: String,
    visibility: Visibility,
    #[serde(default)]
    session_id: Option<Uuid>,
}

async fn add_note(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::WriteNotes).await?;
    let role = person_role(&caller)?;
    let req: NewNote = read_json(body, MAX_BODY).await?;
    let text =
        fields::text("text", &req.text, fields::MAX_NOTE_CHARS, false).map_err(field_error)?;
    let session = match call_session(&caller) {
        Some(s) => Some(s),
        None => match req.session_id.map(SessionId) {
            Some(s) if state.store().pair_of_session(s).await? != Some(pair.id) => {
                return Err(ApiError::invalid(
                    "session_id",
                    "that session is not one of this pair's",
                ));
            }
            s => s,
        },
    };
    let now = now_ms();
    let note = Note {
        id: Uuid::new_v4(),
        session_id: session,
        author: role,
        visibility: req.visibility,
        text,
        created_at_ms: now,
        updated_at_ms: now,
    };
    let note = state
        .store()
        .add_note(pair.id, note, fields::MAX_NOTES)
        .await
        .map_err(content_error)?;
    Ok((StatusCode::CREATED, Json(note)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotePatch {
    text: Option<String>,
    visibility: Option<Visibility>,
}

async fn change_note(
    State(state): State<AppState>,
    cred: PairCredential,
    Path((id, note)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::WriteNotes).await?;
    let role = person_role(&caller)?;
    let note = item_id(&note)?;
    let req: NotePatch = read_json(body, MAX_BODY).await?;
    let text = req
        .text
        .map(|t| fields::text("text", &t, fields::MAX_NOTE_CHARS, false))
        .transpose()
        .map_err(field_error)?;
    let note = state
        .store()
        .change_note(pair.id, note, role, text, req.visibility, now_ms())
        .await
        .map_err(content_error)?;
    Ok(Json(note).into_response())
}

async fn delete_note(
    State(state): State<AppState>,
    cred: PairCredential,
    Path((id, note)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::WriteNotes).await?;
    let role = person_role(&caller)?;
    state
        .store()
        .delete_note(pair.id, item_id(&note)?, role)
        .await
        .map_err(content_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- messages ----

/// Most messages one read returns (the newest).
const MESSAGES_SHOWN: u32 = 500;

async fn messages(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::ReadMessages).await?;
    let role = person_role(&caller)?;
    let messages = state.store().messages(pair.id, MESSAGES_SHOWN).await?;
    let unread = state.store().unread_messages(pair.id, role).await?;
    Ok(Json(json!({ "messages": messages, "unread": unread })).into_response())
}

async fn add_message(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::WriteMessages).await?;
    let role = person_role(&caller)?;
    let req: NewText = read_json(body, MAX_BODY).await?;
    let text =
        fields::text("text", &req.text, fields::MAX_MESSAGE_CHARS, false).map_err(field_error)?;
    let message = state
        .store()
        .add_message(pair.id, role, text, now_ms(), fields::MAX_MESSAGES)
        .await
        .map_err(content_error)?;
    Ok((StatusCode::CREATED, Json(message)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadUpTo {
    seq: i64,
}

async fn read_messages(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::ReadMessages).await?;
    let role = person_role(&caller)?;
    let req: ReadUpTo = read_json(body, MAX_BODY).await?;
    state
        .store()
        .mark_messages_read(pair.id, role, req.seq)
        .await?;
    let unread = state.store().unread_messages(pair.id, role).await?;
    Ok(Json(json!({ "unread": unread })).into_response())
}

// ---- agreement ----

fn agreement_json(a: &crate::pairs::agreement::Agreement) -> serde_json::Value {
    json!({
        "text": a.text,
        "version": a.version,
        "state": a.state(),
        "confirmed": { "mentor": a.confirmed_by(Role::Mentor), "mentee": a.confirmed_by(Role::Mentee) },
    })
}

async fn agreement(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (_, pair) = authorize(&state, &cred, &id, Operation::ReadAgreement).await?;
    Ok(Json(agreement_json(&pair.agreement)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgreementEdit {
    text: String,
    /// The version the edit started from.
    version: u32,
}

async fn edit_agreement(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (_, pair) = authorize(&state, &cred, &id, Operation::EditAgreement).await?;
    let req: AgreementEdit = read_json(body, MAX_BODY).await?;
    let a = state
        .store()
        .change_agreement(pair.id, move |a| a.edit(&req.text, req.version).map(|_| ()))
        .await
        .map_err(content_error)?;
    Ok(Json(agreement_json(&a)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    version: u32,
}

async fn confirm_agreement(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::EditAgreement).await?;
    let role = person_role(&caller)?;
    let req: Confirm = read_json(body, MAX_BODY).await?;
    let a = state
        .store()
        .change_agreement(pair.id, move |a| a.confirm(role, req.version))
        .await
        .map_err(content_error)?;
    Ok(Json(agreement_json(&a)).into_response())
}

// ---- export ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    format: Option<String>,
}

/// The person's view of everything, as JSON (default) or Markdown
/// (`?format=md`).
async fn export(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let markdown = match q.format.as_deref() {
        None | Some("json") => false,
        Some("md" | "markdown") => true,
        Some(_) => return Err(ApiError::BadQuery("format is json or md".into())),
    };
    let (caller, pair) = authorize(&state, &cred, &id, Operation::Export).await?;
    let role = person_role(&caller)?;
    let store = state.store();
    let now = now_ms();
    let tz = pair
        .person(role)
        .time_zone
        .clone()
        .unwrap_or_else(|| "UTC".into());
    let a = &pair.agreement;
    let out = Export {
        exported_at_ms: now,
        you: role,
        time_zone: tz,
        title: pair.title.clone(),
        goal: pair.goal.clone(),
        mentor: pair.mentor.name.clone(),
        mentee: pair.mentee.name.clone(),
        agreement: ExportAgreement {
            text: a.text.clone(),
            version: a.version,
            confirmed_by_mentor: a.confirmed_by(Role::Mentor),
            confirmed_by_mentee: a.confirmed_by(Role::Mentee),
        },
        sessions: store
            .schedules(pair.id)
            .await?
            .into_iter()
            .map(|s| ExportSession {
                starts_at_ms: s.starts_at_ms,
                duration_min: s.duration_min,
                time_zone: s.time_zone,
                recurrence: s.recurrence.map(|r| {
                    serde_json::to_value(r)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                }),
                cancelled: s.cancelled_at_ms.is_some(),
            })
            .collect(),
        calls: {
            let calls = store.pair_calls(pair.id, 10_000).await?;
            let stats = store
                .call_stats_of(calls.iter().map(|c| c.session.id).collect())
                .await?;
            calls
                .into_iter()
                .map(|c| ExportCall {
                    session_id: c.session.id.0.to_string(),
                    at_ms: c.occurrence_ms.unwrap_or(c.session.created_at * 1000),
                    duration_s: stats
                        .get(&c.session.id)
                        .map(|s| (s.together_ms.max(0) / 1000) as u64),
                })
                .collect()
        },
        agenda: store
            .agenda(pair.id)
            .await?
            .into_iter()
            .map(|i| ExportItem {
                text: i.text,
                done: i.done_at_ms.is_some(),
                added_by: i.added_by,
            })
            .collect(),
        actions: store
            .actions(pair.id)
            .await?
            .into_iter()
            .map(|a| ExportAction {
                text: a.text,
                owner: a.owner,
                due: a.due,
                done: a.done_at_ms.is_some(),
            })
            .collect(),
        notes: store
            .notes(pair.id, role, None)
            .await?
            .into_iter()
            .map(|n| ExportNote {
                session_id: n.session_id.map(|s| s.0.to_string()),
                author: n.author,
                visibility: n.visibility,
                at_ms: n.created_at_ms,
                text: n.text,
            })
            .collect(),
        moments: store
            .pair_moments(pair.id, role)
            .await?
            .into_iter()
            .map(|m| ExportMoment {
                session_id: m.session_id.0.to_string(),
                recording_id: m.recording_id,
                at_s: m.at_s,
                kind: m.kind,
                author: m.author,
                visibility: m.visibility,
                made_at_ms: m.created_at_ms,
                text: m.text,
            })
            .collect(),
        messages: store
            .messages(pair.id, u32::MAX)
            .await?
            .into_iter()
            .map(|m| ExportMessage {
                author: m.author,
                at_ms: m.at_ms,
                text: m.text,
            })
            .collect(),
    };
    let stamp = at(now).replace(':', "-");
    if markdown {
        return Ok((
            [
                (
                    header::CONTENT_TYPE,
                    "text/markdown; charset=utf-8".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"duet-pair-{stamp}.md\""),
                ),
            ],
            out.markdown(),
        )
            .into_response());
    }
    Ok(Json(out).into_response())
}
