//! A pair's scheduled sessions (possibly recurring) and the calls made of
//! their occurrences.
//!
//! A call is an ordinary row of `sessions` naming its pair, schedule and
//! occurrence. It is made at the first join of that occurrence by one
//! `INSERT … ON CONFLICT DO NOTHING` on the unique (schedule, occurrence)
//! index, then read back: when both people press "join" at once, both get
//! the same row, never two calls.

use duet_signaling::protocol::RecordingPolicy;
use duet_signaling::{Role, SessionId};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use super::rows::{policy_from, policy_str, u32_from, uuid_from};
use super::sessions::SessionRecord;
use super::{Store, StoreError};
use crate::pairs::PairId;
use crate::pairs::schedule::Recurrence;

/// A scheduled session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRecord {
    pub id: Uuid,
    pub pair_id: PairId,
    pub starts_at_ms: i64,
    pub duration_min: u32,
    /// IANA zone whose wall clock the series keeps.
    pub time_zone: String,
    pub recurrence: Option<Recurrence>,
    /// Starts of single occurrences cancelled.
    pub skipped_ms: Vec<i64>,
    pub recording: RecordingPolicy,
    /// The iCalendar SEQUENCE: bumped on every change.
    pub sequence: u32,
    /// "mentor", "mentee" or an admin's actor name.
    pub created_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub cancelled_at_ms: Option<i64>,
}

fn recurrence_str(r: Recurrence) -> &'static str {
    match r {
        Recurrence::Weekly => "weekly",
        Recurrence::Fortnightly => "fortnightly",
        Recurrence::Monthly => "monthly",
    }
}

fn recurrence_from(s: &str) -> Option<Recurrence> {
    match s {
        "weekly" => Some(Recurrence::Weekly),
        "fortnightly" => Some(Recurrence::Fortnightly),
        "monthly" => Some(Recurrence::Monthly),
        _ => None,
    }
}

const COLUMNS: &str = "id, pair_id, starts_at_ms, duration_min, time_zone, recurrence, skipped,
    recording, sequence, created_by, created_at_ms, updated_at_ms, cancelled_at_ms";

fn from_row(row: AnyRow) -> Result<ScheduleRecord, sqlx::Error> {
    let id: String = row.try_get(0)?;
    let pair: String = row.try_get(1)?;
    let recurrence: Option<String> = row.try_get(5)?;
    let skipped: String = row.try_get(6)?;
    let recording: String = row.try_get(7)?;
    Ok(ScheduleRecord {
        id: uuid_from(&id)?,
        pair_id: PairId(uuid_from(&pair)?),
        starts_at_ms: row.try_get(2)?,
        duration_min: u32_from("duration", row.try_get(3)?)?,
        time_zone: row.try_get(4)?,
        recurrence: recurrence.as_deref().and_then(recurrence_from),
        // Written only by this module, always a JSON list of numbers.
        skipped_ms: serde_json::from_str(&skipped).unwrap_or_default(),
        recording: policy_from(&recording),
        sequence: u32_from("sequence", row.try_get(8)?)?,
        created_by: row.try_get(9)?,
        created_at_ms: row.try_get(10)?,
        updated_at_ms: row.try_get(11)?,
        cancelled_at_ms: row.try_get(12)?,
    })
}

fn skipped_json(s: &ScheduleRecord) -> String {
    serde_json::to_string(&s.skipped_ms).unwrap_or_else(|_| "[]".into())
}

/// A past or current call of a pair, for its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairCall {
    pub session: SessionRecord,
    pub schedule_id: Option<Uuid>,
    pub occurrence_ms: Option<i64>,
}

impl Store {
    pub async fn insert_schedule(&self, s: ScheduleRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO pair_schedules ({COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(s.id.to_string())
            .bind(s.pair_id.0.to_string())
            .bind(s.starts_at_ms)
            .bind(i64::from(s.duration_min))
            .bind(&s.time_zone)
            .bind(s.recurrence.map(recurrence_str))
            .bind(skipped_json(&s))
            .bind(policy_str(s.recording))
            .bind(i64::from(s.sequence))
            .bind(&s.created_by)
            .bind(s.created_at_ms)
            .bind(s.updated_at_ms)
            .bind(s.cancelled_at_ms)
            .execute(&mut *self.normal().await?)
            .await?;
        Ok(())
    }

    /// Writes back a changed schedule (moved, skipped, cancelled); the
    /// caller has bumped its sequence.
    pub async fn update_schedule(&self, s: ScheduleRecord) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE pair_schedules SET starts_at_ms = $2, duration_min = $3, time_zone = $4,
                recurrence = $5, skipped = $6, recording = $7, sequence = $8,
                updated_at_ms = $9, cancelled_at_ms = $10
             WHERE id = $1",
        )
        .bind(s.id.to_string())
        .bind(s.starts_at_ms)
        .bind(i64::from(s.duration_min))
        .bind(&s.time_zone)
        .bind(s.recurrence.map(recurrence_str))
        .bind(skipped_json(&s))
        .bind(policy_str(s.recording))
        .bind(i64::from(s.sequence))
        .bind(s.updated_at_ms)
        .bind(s.cancelled_at_ms)
        .execute(&mut *self.normal().await?)
        .await?;
        Ok(())
    }

    /// One schedule of one pair (`None` if it belongs to another pair).
    pub async fn schedule(
        &self,
        pair: PairId,
        id: Uuid,
    ) -> Result<Option<ScheduleRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM pair_schedules WHERE id = $1 AND pair_id = $2");
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(id.to_string())
            .bind(pair.0.to_string())
            .try_map(from_row)
            .fetch_optional(&mut *self.normal().await?)
            .await?)
    }

    /// Every schedule of the pair, cancelled ones too (calendars need
    /// their CANCEL), oldest first.
    pub async fn schedules(&self, pair: PairId) -> Result<Vec<ScheduleRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM pair_schedules WHERE pair_id = $1 ORDER BY created_at_ms, id"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .try_map(from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// The call of one occurrence, made if it does not exist yet. `new` is
    /// the row to insert; if another join made it first, that row is
    /// returned instead.
    pub async fn call_for_occurrence(
        &self,
        pair: PairId,
        schedule: Uuid,
        occurrence_ms: i64,
        new: SessionRecord,
    ) -> Result<SessionRecord, StoreError> {
        let mut c = self.normal().await?;
        super::sessions::insert_pair_call(&mut c, &new, pair, schedule, occurrence_ms).await?;
        let id: String = sqlx::query_scalar(
            "SELECT id FROM sessions WHERE schedule_id = $1 AND occurrence_ms = $2",
        )
        .bind(schedule.to_string())
        .bind(occurrence_ms)
        .fetch_one(&mut *c)
        .await?;
        super::sessions::load(&mut c, SessionId(uuid_from(&id)?))
            .await?
            .ok_or_else(|| StoreError::Task("the call row vanished".into()))
    }

    /// The pair's calls, newest first.
    pub async fn pair_calls(&self, pair: PairId, limit: u32) -> Result<Vec<PairCall>, StoreError> {
        let sql = format!(
            "SELECT {}, schedule_id, occurrence_ms FROM sessions WHERE pair_id = $1
             ORDER BY COALESCE(occurrence_ms, created_at * 1000) DESC, id LIMIT $2",
            super::sessions::COLUMNS
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .bind(i64::from(limit))
            .try_map(|row: AnyRow| {
                let schedule: Option<String> = row.try_get(10)?;
                Ok(PairCall {
                    session: super::sessions::from_row(&row)?,
                    schedule_id: schedule.as_deref().map(uuid_from).transpose()?,
                    occurrence_ms: row.try_get(11)?,
                })
            })
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// Every recording of the pair's calls, deleted ones too, newest first.
    pub async fn pair_recordings(
        &self,
        pair: PairId,
    ) -> Result<Vec<super::RecordingRow>, StoreError> {
        let columns = super::consent::RECORDING_COLUMNS
            .split(", ")
            .map(|c| format!("r.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM recordings r JOIN sessions s ON s.id = r.session_id
             WHERE s.pair_id = $1 ORDER BY r.started_at_ms DESC"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .try_map(super::consent::recording_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// The pair a call belongs to, if any.
    pub async fn pair_of_session(&self, id: SessionId) -> Result<Option<PairId>, StoreError> {
        let pair: Option<Option<String>> =
            sqlx::query_scalar("SELECT pair_id FROM sessions WHERE id = $1")
                .bind(id.0.to_string())
                .fetch_optional(&mut *self.normal().await?)
                .await?;
        Ok(pair
            .flatten()
            .as_deref()
            .map(uuid_from)
            .transpose()?
            .map(PairId))
    }
}

/// Who made a schedule, as stored in `created_by`.
pub fn creator(role: Option<Role>, actor: &str) -> String {
    role.map_or_else(|| actor.to_string(), |r| r.as_str().to_string())
}
