//! `/api/v1/pairs/{id}/sessions…`: scheduling a pair's sessions, their
//! calendar files and feed, and joining the current or next one.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use duet_signaling::protocol::RecordingPolicy;
use duet_signaling::{Role, SessionId};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, read_json};
use super::pair_auth::{PairCredential, authorize, parse_pair_id};
use super::pair_view::{at, next_occurrence, present, schedule_json, schedule_of, zone};
use super::pairs::{MAX_BODY, checked_zone};
use super::query::ApiQuery;
use crate::clock::{now_ms, rfc3339};
use crate::links::{PairTokenKind, join_url, new_link_id, pair_url};
use crate::pairs::access::{Caller, Operation};
use crate::pairs::calendar::{Attendee, Invite, InviteStatus, feed_ics, invite_ics};
use crate::pairs::schedule::{Recurrence, validate};
use crate::state::AppState;
use crate::store::{PairRecord, ScheduleRecord, SessionRecord, creator};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/pairs/{id}/sessions", post(create).get(list))
        .route(
            "/api/v1/pairs/{id}/sessions/{session_id}",
            get(show).patch(change).delete(cancel),
        )
        .route(
            "/api/v1/pairs/{id}/sessions/{session_id}/invite.ics",
            get(invite),
        )
        .route("/api/v1/pairs/{id}/calendar.ics", get(feed))
        .route("/api/v1/pairs/{id}/join", post(join))
}

/// How long after its occurrence's end a call's join links keep working:
/// long enough for a call that runs over and for the reflection page to be
/// reached with the join token afterwards.
const CALL_GRACE_S: i64 = 12 * 3600;

fn parse_time(field: &'static str, s: &str) -> Result<i64, ApiError> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            ApiError::invalid(
                field,
                format!("`{field}` must be an RFC 3339 time like 2027-01-04T09:00:00Z"),
            )
        })?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn schedule_error(e: crate::pairs::schedule::ScheduleError) -> ApiError {
    ApiError::invalid(e.field(), e.to_string())
}

fn parse_session_id(s: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(s)
        .map_err(|_| ApiError::BadPath("the session id in the path is not a UUID".into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSchedule {
    starts_at: String,
    duration_min: u32,
    #[serde(default)]
    recording: Option<RecordingPolicy>,
    #[serde(default)]
    recurrence: Option<Recurrence>,
    /// The zone whose wall clock a recurring series keeps; by default the
    /// scheduler's own (their pair profile), else UTC.
    #[serde(default)]
    time_zone: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::Schedule).await?;
    let req: NewSchedule = read_json(body, MAX_BODY).await?;
    let starts_at_ms = parse_time("starts_at", &req.starts_at)?;
    let now = now_ms();
    validate(starts_at_ms, req.duration_min, now).map_err(schedule_error)?;
    let time_zone = match &req.time_zone {
        Some(z) => checked_zone("time_zone", z)?,
        None => caller
            .role()
            .and_then(|r| pair.person(r).time_zone.clone())
            .unwrap_or_else(|| "UTC".into()),
    };
    let record = ScheduleRecord {
        id: uuid::Uuid::new_v4(),
        pair_id: pair.id,
        starts_at_ms,
        duration_min: req.duration_min,
        time_zone,
        recurrence: req.recurrence,
        skipped_ms: Vec::new(),
        recording: req.recording.unwrap_or(pair.recording),
        sequence: 0,
        created_by: creator(caller.role(), &caller.actor()),
        created_at_ms: now,
        updated_at_ms: now,
        cancelled_at_ms: None,
    };
    state.store().insert_schedule(record.clone()).await?;
    Ok((
        StatusCode::CREATED,
        Json(schedule_json(&pair, &record, now)),
    )
        .into_response())
}

async fn list(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (_, pair) = authorize(&state, &cred, &id, Operation::ReadOutline).await?;
    let now = now_ms();
    let sessions: Vec<_> = state
        .store()
        .schedules(pair.id)
        .await?
        .iter()
        .map(|r| schedule_json(&pair, r, now))
        .collect();
    Ok(Json(json!({ "sessions": sessions })).into_response())
}

async fn load(state: &AppState, pair: &PairRecord, sid: &str) -> Result<ScheduleRecord, ApiError> {
    state
        .store()
        .schedule(pair.id, parse_session_id(sid)?)
        .await?
        .ok_or(ApiError::NotFound("scheduled session"))
}

async fn show(
    State(state): State<AppState>,
    cred: PairCredential,
    Path((id, sid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (_, pair) = authorize(&state, &cred, &id, Operation::ReadOutline).await?;
    let r = load(&state, &pair, &sid).await?;
    Ok(Json(schedule_json(&pair, &r, now_ms())).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleChange {
    starts_at: Option<String>,
    duration_min: Option<u32>,
    recording: Option<RecordingPolicy>,
    /// `null` makes it a single session.
    #[serde(default, deserialize_with = "present")]
    recurrence: Option<Option<Recurrence>>,
    time_zone: Option<String>,
}

/// Reschedules: the calendar sees the same event (same UID) with a higher
/// SEQUENCE.
async fn change(
    State(state): State<AppState>,
    cred: PairCredential,
    Path((id, sid)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let (_, pair) = authorize(&state, &cred, &id, Operation::Schedule).await?;
    let mut r = load(&state, &pair, &sid).await?;
    if r.cancelled_at_ms.is_some() {
        return Err(ApiError::refused(
            StatusCode::CONFLICT,
            "cancelled",
            "this session was cancelled; schedule a new one",
        ));
    }
    let req: ScheduleChange = read_json(body, MAX_BODY).await?;
    let now = now_ms();
    if let Some(s) = &req.starts_at {
        r.starts_at_ms = parse_time("starts_at", s)?;
        // Skipped dates belonged to the old series.
        r.skipped_ms.clear();
    }
    if let Some(d) = req.duration_min {
        r.duration_min = d;
    }
    validate(r.starts_at_ms, r.duration_min, now).map_err(schedule_error)?;
    if let Some(z) = &req.time_zone {
        r.time_zone = checked_zone("time_zone", z)?;
    }
    if let Some(rec) = req.recurrence {
        r.recurrence = rec;
    }
    if let Some(p) = req.recording {
        r.recording = p;
    }
    r.sequence += 1;
    r.updated_at_ms = now;
    state.store().update_schedule(r.clone()).await?;
    Ok(Json(schedule_json(&pair, &r, now)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CancelQuery {
    /// Cancel only the occurrence starting then (RFC 3339).
    occurrence: Option<String>,
}

/// Cancels the whole series, or with `?occurrence=` one date of it.
async fn cancel(
    State(state): State<AppState>,
    cred: PairCredential,
    Path((id, sid)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<CancelQuery>,
) -> Result<Response, ApiError> {
    let (_, pair) = authorize(&state, &cred, &id, Operation::Schedule).await?;
    let mut r = load(&state, &pair, &sid).await?;
    let now = now_ms();
    match &q.occurrence {
        Some(o) => {
            let start = parse_time("occurrence", o)?;
            if !schedule_of(&r).has_occurrence(start) {
                return Err(ApiError::invalid(
                    "occurrence",
                    "this session has no occurrence starting then",
                ));
            }
            r.skipped_ms.push(start);
        }
        None if r.cancelled_at_ms.is_some() => {
            return Ok(Json(schedule_json(&pair, &r, now)).into_response());
        }
        None => r.cancelled_at_ms = Some(now),
    }
    r.sequence += 1;
    r.updated_at_ms = now;
    state.store().update_schedule(r.clone()).await?;
    Ok(Json(schedule_json(&pair, &r, now)).into_response())
}

/// The invite for one scheduled session, for `who` (their link goes in it).
fn invite_for<'a>(
    state: &AppState,
    pair: &PairRecord,
    r: &ScheduleRecord,
    schedule: &'a crate::pairs::schedule::Schedule,
    page_url: &str,
) -> Invite<'a> {
    let host = state
        .config()
        .public_base_url()
        .split("://")
        .nth(1)
        .unwrap_or("duet")
        .split(['/', ':'])
        .next()
        .unwrap_or("duet")
        .to_string();
    let names = format!(
        "{} (mentor) and {} (mentee)",
        pair.mentor.name, pair.mentee.name
    );
    Invite {
        uid: format!("{}@{host}", r.id),
        sequence: r.sequence,
        title: format!("Mentoring: {}", pair.title),
        description: format!(
            "{names}.\nJoin from your pair home: {page_url}\nThe link is personal: do not forward it."
        ),
        url: page_url.to_string(),
        attendees: Role::ALL
            .into_iter()
            .map(|role| Attendee {
                name: pair.person(role).name.clone(),
                email: pair.person(role).email.clone(),
            })
            .collect(),
        organizer: match r.created_by.as_str() {
            "mentor" => Attendee {
                name: pair.mentor.name.clone(),
                email: pair.mentor.email.clone(),
            },
            "mentee" => Attendee {
                name: pair.mentee.name.clone(),
                email: pair.mentee.email.clone(),
            },
            _ => Attendee {
                name: "Duet".into(),
                email: None,
            },
        },
        schedule,
        status: if r.cancelled_at_ms.is_some() {
            InviteStatus::Cancelled
        } else {
            InviteStatus::Scheduled
        },
        created_ms: r.created_at_ms,
        modified_ms: r.updated_at_ms,
    }
}

/// The page the invite links to: the person's pair home when a person
/// asks (their own link: the file is theirs), the bare pair page for an
/// admin.
async fn page_url(
    state: &AppState,
    pair: &PairRecord,
    caller: &Caller,
) -> Result<String, ApiError> {
    let base = state.config().public_base_url();
    let Some(role) = caller.role() else {
        return Ok(format!("{base}/pair"));
    };
    let links = state.store().active_pair_links(pair.id, now_ms()).await?;
    Ok(links
        .iter()
        .rfind(|l| l.role == role)
        .map(|l| {
            pair_url(
                &base,
                &super::pairs::link_token(state, l, PairTokenKind::Personal),
            )
        })
        .unwrap_or_else(|| format!("{base}/pair")))
}

fn calendar(body: String, filename: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

async fn invite(
    State(state): State<AppState>,
    cred: PairCredential,
    Path((id, sid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::ReadOutline).await?;
    let r = load(&state, &pair, &sid).await?;
    let url = page_url(&state, &pair, &caller).await?;
    let schedule = schedule_of(&r);
    let ics = invite_ics(&invite_for(&state, &pair, &r, &schedule, &url));
    Ok(calendar(ics, "duet-session.ics"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    token: String,
}

/// A person's subscription feed: every scheduled session of the pair.
/// Calendar apps cannot send headers, so the feed token is in the query;
/// it opens this feed only.
async fn feed(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> Result<Response, ApiError> {
    let id = parse_pair_id(&id)?;
    let claims = state
        .links()
        .verify_pair(&q.token, PairTokenKind::Feed, now_ms() / 1000)
        .map_err(|_| ApiError::Unauthorized)?;
    let live = state
        .store()
        .pair_link(&claims.lid)
        .await?
        .is_some_and(|l| l.revoked_at_ms.is_none() && l.pair_id == id && claims.pid == id);
    if !live {
        return Err(ApiError::Unauthorized);
    }
    let pair = state
        .store()
        .pair(id)
        .await?
        .ok_or(ApiError::NotFound("pair"))?;
    let caller = Caller::Person { role: claims.role };
    let url = page_url(&state, &pair, &caller).await?;
    let records = state.store().schedules(pair.id).await?;
    let schedules: Vec<_> = records.iter().map(schedule_of).collect();
    let invites: Vec<Invite<'_>> = records
        .iter()
        .zip(&schedules)
        .map(|(r, s)| invite_for(&state, &pair, r, s, &url))
        .collect();
    let name = format!("Duet: {}", pair.title);
    Ok(calendar(feed_ics(&name, &invites), "duet-pair.ics"))
}

/// Mints the caller's join token for the current or next occurrence,
/// making its call if this is the first join.
async fn join(
    State(state): State<AppState>,
    cred: PairCredential,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (caller, pair) = authorize(&state, &cred, &id, Operation::Join).await?;
    let role = super::pair_auth::person_role(&caller)?;
    let now = now_ms();
    let schedules = state.store().schedules(pair.id).await?;
    let Some((schedule_id, occ)) = next_occurrence(&schedules, now) else {
        return Err(ApiError::refused(
            StatusCode::CONFLICT,
            "nothing_scheduled",
            "nothing is scheduled: schedule the next session first",
        ));
    };
    let recording = schedules
        .iter()
        .find(|r| r.id == schedule_id)
        .map_or(pair.recording, |r| r.recording);
    let new = SessionRecord {
        id: SessionId(uuid::Uuid::new_v4()),
        title: pair.title.clone(),
        mentor_name: pair.mentor.name.clone(),
        mentee_name: pair.mentee.name.clone(),
        mentor_link: new_link_id(),
        mentee_link: new_link_id(),
        recording,
        created_at: now / 1000,
        expires_at: occ.end_ms / 1000 + CALL_GRACE_S,
        ended_at: None,
    };
    let call = state
        .store()
        .call_for_occurrence(pair.id, schedule_id, occ.start_ms, new)
        .await?;
    if call.ended_at.is_some() {
        return Err(ApiError::refused(
            StatusCode::CONFLICT,
            "session_ended",
            "this session's call was ended by an admin",
        ));
    }
    let token = crate::sessions::token_for(
        state.links(),
        call.id,
        role,
        call.link_id(role),
        call.expires_at,
    );
    let tz = zone(pair.person(role).time_zone.as_deref());
    Ok(Json(json!({
        "session_id": call.id,
        "scheduled_session_id": schedule_id,
        "starts_at": at(occ.start_ms),
        "ends_at": at(occ.end_ms),
        "time_zone": tz.name(),
        "link": join_url(&state.config().public_base_url(), &token),
        "token": token,
        "expires_at": rfc3339(call.expires_at),
    }))
    .into_response())
}
