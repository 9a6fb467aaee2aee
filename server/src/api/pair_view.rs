//! The JSON a pair is shown as, shaped by who asks: an admin gets the
//! outline (people, schedule, past calls with their numbers), a person also
//! gets their own counters (unread messages, overdue actions), the
//! agreement's state and their calendar feed. Never notes or messages:
//! those have their own calls.

use duet_signaling::Role;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::error::ApiError;
use super::pairs::link_token;
use crate::clock::{now_ms, rfc3339};
use crate::links::PairTokenKind;
use crate::pairs::access::Caller;
use crate::pairs::due::is_overdue;
use crate::pairs::joining::current_or_next;
use crate::pairs::schedule::{Occurrence, Schedule, outside_working_hours, parse_zone};
use crate::state::AppState;
use crate::store::{PairRecord, RecordingRowStatus, ScheduleRecord};

/// For PATCH bodies: tells a field sent as `null` (`Some(None)`, clear it)
/// from a field left out (`None`, keep it).
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Milliseconds as RFC 3339 UTC with millisecond precision dropped.
pub fn at(ms: i64) -> String {
    rfc3339(ms.div_euclid(1000))
}

/// A stored zone name as a zone (stored names were checked; UTC if not).
pub fn zone(name: Option<&str>) -> chrono_tz::Tz {
    name.and_then(|n| parse_zone(n).ok())
        .unwrap_or(chrono_tz::UTC)
}

pub fn schedule_of(r: &ScheduleRecord) -> Schedule {
    Schedule {
        starts_at_ms: r.starts_at_ms,
        duration_min: r.duration_min,
        time_zone: zone(Some(&r.time_zone)),
        recurrence: r.recurrence,
        skipped_ms: r.skipped_ms.clone(),
    }
}

/// One occurrence with what the page shows beside it: for whom it falls
/// outside 08:00–20:00 (each person in their own zone, when known).
pub fn occurrence_json(pair: &PairRecord, schedule_id: uuid::Uuid, o: &Occurrence) -> Value {
    let outside: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| {
            pair.person(*r)
                .time_zone
                .as_deref()
                .is_some_and(|z| outside_working_hours(o, zone(Some(z))))
        })
        .collect();
    json!({
        "scheduled_session_id": schedule_id,
        "starts_at": at(o.start_ms),
        "ends_at": at(o.end_ms),
        "outside_working_hours": outside,
    })
}

/// How many upcoming occurrences a scheduled session lists.
const UPCOMING: usize = 5;

pub fn schedule_json(pair: &PairRecord, r: &ScheduleRecord, now: i64) -> Value {
    let s = schedule_of(r);
    let cancelled = r.cancelled_at_ms.is_some();
    let upcoming: Vec<Value> = if cancelled {
        Vec::new()
    } else {
        s.occurrences_between(now, i64::MAX, UPCOMING)
            .iter()
            .map(|o| occurrence_json(pair, r.id, o))
            .collect()
    };
    json!({
        "id": r.id,
        "starts_at": at(r.starts_at_ms),
        "duration_min": r.duration_min,
        "time_zone": r.time_zone,
        "recurrence": r.recurrence,
        "recording": r.recording,
        "status": if cancelled { "cancelled" } else { "scheduled" },
        "sequence": r.sequence,
        "skipped": r.skipped_ms.iter().map(|ms| at(*ms)).collect::<Vec<_>>(),
        "created_by": r.created_by,
        "updated_at": at(r.updated_at_ms),
        "upcoming": upcoming,
    })
}

/// The occurrence "join" opens now, if any.
pub fn next_occurrence(schedules: &[ScheduleRecord], now: i64) -> Option<(uuid::Uuid, Occurrence)> {
    let live: Vec<(uuid::Uuid, Schedule)> = schedules
        .iter()
        .filter(|r| r.cancelled_at_ms.is_none())
        .map(|r| (r.id, schedule_of(r)))
        .collect();
    let refs: Vec<(uuid::Uuid, &Schedule)> = live.iter().map(|(id, s)| (*id, s)).collect();
    current_or_next(&refs, now)
}

fn person_json(pair: &PairRecord, role: Role) -> Value {
    let p = pair.person(role);
    json!({ "name": p.name, "email": p.email, "time_zone": p.time_zone })
}

/// The short form, for lists.
pub async fn summary(
    state: &AppState,
    caller: &Caller,
    pair: &PairRecord,
) -> Result<Value, ApiError> {
    let now = now_ms();
    let schedules = state.store().schedules(pair.id).await?;
    let next = next_occurrence(&schedules, now).map(|(id, o)| occurrence_json(pair, id, &o));
    Ok(json!({
        "id": pair.id,
        "title": pair.title,
        "status": if pair.ended_at_ms.is_some() { "ended" } else { "active" },
        "mentor": person_json(pair, Role::Mentor),
        "mentee": person_json(pair, Role::Mentee),
        "you": caller.role(),
        "next": next,
        "created_at": at(pair.created_at_ms),
    }))
}

/// The full pair home outline.
pub async fn view(state: &AppState, caller: &Caller, pair: &PairRecord) -> Result<Value, ApiError> {
    let now = now_ms();
    let store = state.store();
    let schedules = store.schedules(pair.id).await?;
    let next = next_occurrence(&schedules, now).map(|(id, o)| occurrence_json(pair, id, &o));
    let sessions: Vec<Value> = schedules
        .iter()
        .map(|r| schedule_json(pair, r, now))
        .collect();
    let history = history(state, caller, pair).await?;
    let mut body = json!({
        "id": pair.id,
        "title": pair.title,
        "goal": pair.goal,
        "status": if pair.ended_at_ms.is_some() { "ended" } else { "active" },
        "recording": crate::sessions::effective_policy(
            state.policies().current().recording_allowed,
            pair.recording,
        ),
        "created_at": at(pair.created_at_ms),
        "ended_at": pair.ended_at_ms.map(at),
        "mentor": person_json(pair, Role::Mentor),
        "mentee": person_json(pair, Role::Mentee),
        "you": caller.role(),
        "sessions": sessions,
        "next": next,
        "history": history,
    });
    if let Caller::Person { role } = caller {
        let role = *role;
        let a = &pair.agreement;
        let owner_zone = |r: Role| zone(pair.person(r).time_zone.as_deref());
        let overdue = store
            .actions(pair.id)
            .await?
            .iter()
            .filter(|x| x.done_at_ms.is_none())
            .filter(|x| {
                x.due
                    .as_deref()
                    .is_some_and(|d| is_overdue(d, owner_zone(x.owner), now))
            })
            .count();
        body["agreement"] = json!({
            "state": a.state(),
            "version": a.version,
            "confirmed": { "mentor": a.confirmed_by(Role::Mentor), "mentee": a.confirmed_by(Role::Mentee) },
        });
        body["unread_messages"] = json!(store.unread_messages(pair.id, role).await?);
        body["overdue_actions"] = json!(overdue);
        body["calendar_feed"] = json!(feed_url(state, pair, role, now).await?);
    }
    Ok(body)
}

/// The person's calendar feed address: a token of its own (a calendar app
/// keeps it in its settings, so it opens the feed and nothing else), tied
/// to the person's newest live link, so revoking the link stops it too.
async fn feed_url(
    state: &AppState,
    pair: &PairRecord,
    role: Role,
    now: i64,
) -> Result<Option<String>, ApiError> {
    let links = state.store().active_pair_links(pair.id, now).await?;
    Ok(links.iter().rfind(|l| l.role == role).map(|l| {
        format!(
            "{}/api/v1/pairs/{}/calendar.ics?token={}",
            state.config().public_base_url(),
            pair.id,
            link_token(state, l, PairTokenKind::Feed)
        )
    }))
}

/// Past and current calls, newest first, with their recording, transcript
/// and (for a person) how many notes they may read.
async fn history(
    state: &AppState,
    caller: &Caller,
    pair: &PairRecord,
) -> Result<Vec<Value>, ApiError> {
    let store = state.store();
    let calls = store.pair_calls(pair.id, 200).await?;
    let recordings = store.pair_recordings(pair.id).await?;
    let stats = store
        .call_stats_of(calls.iter().map(|c| c.session.id).collect())
        .await?;
    let counts = match caller.role() {
        Some(role) => store.note_counts(pair.id, role).await?,
        None => Vec::new(),
    };
    let mut out = Vec::with_capacity(calls.len());
    for c in &calls {
        let sid = c.session.id.0.to_string();
        let recording = recordings
            .iter()
            .find(|r| r.session_id == sid && r.status != RecordingRowStatus::Deleted);
        let transcript = match recording {
            Some(r) => store
                .transcription(r.id.clone())
                .await?
                .map(|j| j.status.as_str()),
            None => None,
        };
        let notes = counts
            .iter()
            .find(|(s, _)| *s == c.session.id)
            .map_or(0, |(_, n)| *n);
        let at_ms = c.occurrence_ms.unwrap_or(c.session.created_at * 1000);
        out.push(json!({
            "session_id": c.session.id,
            "scheduled_session_id": c.schedule_id,
            "starts_at": at(at_ms),
            "live": state.hub().snapshot(c.session.id).await.is_some_and(|l| !l.participants.is_empty()),
            "call": stats.get(&c.session.id).map(crate::sessions::call_view),
            "recording": recording.map(|r| json!({
                "id": r.id,
                "status": r.status,
                "transcript": transcript,
            })),
            "notes": if caller.role().is_some() { json!(notes) } else { Value::Null },
        }));
    }
    Ok(out)
}
