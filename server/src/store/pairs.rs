//! Pair rows and their personal links.
//!
//! A personal link is a signed token naming a row of `pair_links`; the row
//! is what an admin revokes, so a link stops working the moment it is
//! revoked, whatever its signed expiry says.

use duet_signaling::Role;
use duet_signaling::protocol::RecordingPolicy;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::rows::{policy_from, policy_str, role_from, u32_from, uuid_from};
use super::{Store, StoreError};
use crate::pairs::PairId;
use crate::pairs::agreement::Agreement;

/// One of the two people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairPerson {
    pub name: String,
    pub email: Option<String>,
    /// An IANA zone name, checked before it was stored.
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairRecord {
    pub id: PairId,
    pub title: String,
    pub goal: String,
    /// The default for sessions scheduled in the pair.
    pub recording: RecordingPolicy,
    pub mentor: PairPerson,
    pub mentee: PairPerson,
    pub agreement: Agreement,
    /// The last message each person has read (by [`Role::index`]).
    pub read_seq: [i64; 2],
    pub created_at_ms: i64,
    pub ended_at_ms: Option<i64>,
}

impl PairRecord {
    pub fn person(&self, role: Role) -> &PairPerson {
        match role {
            Role::Mentor => &self.mentor,
            Role::Mentee => &self.mentee,
        }
    }
}

/// A personal link as stored: the token itself is derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairLink {
    pub id: String,
    pub pair_id: PairId,
    pub role: Role,
    pub issued_at_ms: i64,
    pub expires_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

const COLUMNS: &str = "id, title, goal, recording, mentor_name, mentor_email, mentor_time_zone,
    mentee_name, mentee_email, mentee_time_zone, agreement_text, agreement_version,
    mentor_confirmed, mentee_confirmed, mentor_read_seq, mentee_read_seq, created_at_ms,
    ended_at_ms";

pub(super) fn from_row(row: AnyRow) -> Result<PairRecord, sqlx::Error> {
    let id: String = row.try_get(0)?;
    let recording: String = row.try_get(3)?;
    Ok(PairRecord {
        id: PairId(uuid_from(&id)?),
        title: row.try_get(1)?,
        goal: row.try_get(2)?,
        recording: policy_from(&recording),
        mentor: PairPerson {
            name: row.try_get(4)?,
            email: row.try_get(5)?,
            time_zone: row.try_get(6)?,
        },
        mentee: PairPerson {
            name: row.try_get(7)?,
            email: row.try_get(8)?,
            time_zone: row.try_get(9)?,
        },
        agreement: Agreement {
            text: row.try_get(10)?,
            version: u32_from("agreement version", row.try_get(11)?)?,
            confirmed: [
                u32_from("confirmed version", row.try_get(12)?)?,
                u32_from("confirmed version", row.try_get(13)?)?,
            ],
        },
        read_seq: [row.try_get(14)?, row.try_get(15)?],
        created_at_ms: row.try_get(16)?,
        ended_at_ms: row.try_get(17)?,
    })
}

fn link_from_row(row: AnyRow) -> Result<PairLink, sqlx::Error> {
    let pair: String = row.try_get(1)?;
    let role: String = row.try_get(2)?;
    Ok(PairLink {
        id: row.try_get(0)?,
        pair_id: PairId(uuid_from(&pair)?),
        role: role_from(&role)?,
        issued_at_ms: row.try_get(3)?,
        expires_at_ms: row.try_get(4)?,
        revoked_at_ms: row.try_get(5)?,
    })
}

const LINK_COLUMNS: &str = "id, pair_id, role, issued_at_ms, expires_at_ms, revoked_at_ms";

pub(super) async fn load_pair(
    conn: &mut AnyConnection,
    id: PairId,
) -> Result<Option<PairRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM pairs WHERE id = $1");
    Ok(sqlx::query(AssertSqlSafe(sql))
        .bind(id.0.to_string())
        .try_map(from_row)
        .fetch_optional(conn)
        .await?)
}

async fn insert_link(conn: &mut AnyConnection, l: &PairLink) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO pair_links (id, pair_id, role, issued_at_ms, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&l.id)
    .bind(l.pair_id.0.to_string())
    .bind(l.role.as_str())
    .bind(l.issued_at_ms)
    .bind(l.expires_at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// What an admin may change about a pair; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PairChanges {
    pub title: Option<String>,
    pub goal: Option<String>,
    pub recording: Option<RecordingPolicy>,
}

/// What a person (or an admin) may change about one person; for the
/// optional fields, `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct PersonChanges {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub time_zone: Option<Option<String>>,
}

impl Store {
    /// Stores a new pair with one personal link per person.
    pub async fn create_pair(&self, p: PairRecord, links: [PairLink; 2]) -> Result<(), StoreError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        sqlx::query(
            "INSERT INTO pairs (id, title, goal, recording, mentor_name, mentor_email,
                mentor_time_zone, mentee_name, mentee_email, mentee_time_zone,
                agreement_text, agreement_version, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(p.id.0.to_string())
        .bind(p.title)
        .bind(p.goal)
        .bind(policy_str(p.recording))
        .bind(p.mentor.name)
        .bind(p.mentor.email)
        .bind(p.mentor.time_zone)
        .bind(p.mentee.name)
        .bind(p.mentee.email)
        .bind(p.mentee.time_zone)
        .bind(p.agreement.text)
        .bind(i64::from(p.agreement.version))
        .bind(p.created_at_ms)
        .execute(&mut *tx)
        .await?;
        for l in &links {
            insert_link(&mut tx, l).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn pair(&self, id: PairId) -> Result<Option<PairRecord>, StoreError> {
        load_pair(&mut *self.normal().await?, id).await
    }

    /// Newest first.
    pub async fn pairs(&self, limit: u32) -> Result<Vec<PairRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM pairs ORDER BY created_at_ms DESC, id LIMIT $1");
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .try_map(from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    pub async fn pair_link(&self, id: &str) -> Result<Option<PairLink>, StoreError> {
        let sql = format!("SELECT {LINK_COLUMNS} FROM pair_links WHERE id = $1");
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .try_map(link_from_row)
            .fetch_optional(&mut *self.normal().await?)
            .await?)
    }

    /// The links of a pair that work now (not revoked, not expired).
    pub async fn active_pair_links(
        &self,
        pair: PairId,
        now_ms: i64,
    ) -> Result<Vec<PairLink>, StoreError> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM pair_links
             WHERE pair_id = $1 AND revoked_at_ms IS NULL AND expires_at_ms > $2
             ORDER BY issued_at_ms"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .bind(now_ms)
            .try_map(link_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// Revokes every link of `role` in the pair and, with `new`, issues
    /// that one in the same transaction: one person at a time, so the
    /// other's link keeps working. Returns how many were revoked.
    pub async fn replace_pair_link(
        &self,
        pair: PairId,
        role: Role,
        new: Option<PairLink>,
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        let revoked = sqlx::query(
            "UPDATE pair_links SET revoked_at_ms = $3
             WHERE pair_id = $1 AND role = $2 AND revoked_at_ms IS NULL",
        )
        .bind(pair.0.to_string())
        .bind(role.as_str())
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if let Some(l) = &new {
            insert_link(&mut tx, l).await?;
        }
        tx.commit().await?;
        Ok(usize::try_from(revoked).unwrap_or(usize::MAX))
    }

    pub async fn update_pair(&self, id: PairId, c: PairChanges) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE pairs SET title = COALESCE($2, title), goal = COALESCE($3, goal),
                recording = COALESCE($4, recording) WHERE id = $1",
        )
        .bind(id.0.to_string())
        .bind(c.title)
        .bind(c.goal)
        .bind(c.recording.map(policy_str))
        .execute(&mut *self.normal().await?)
        .await?;
        Ok(())
    }

    pub async fn update_pair_person(
        &self,
        id: PairId,
        role: Role,
        c: PersonChanges,
    ) -> Result<(), StoreError> {
        // `r` is one of two role names of ours, never input.
        let r = role.as_str();
        let mut conn = self.normal().await?;
        let mut tx = conn.begin().await?;
        let set = |column: &str| {
            AssertSqlSafe(format!("UPDATE pairs SET {r}_{column} = $2 WHERE id = $1"))
        };
        if let Some(name) = c.name {
            sqlx::query(set("name"))
                .bind(id.0.to_string())
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(email) = c.email {
            sqlx::query(set("email"))
                .bind(id.0.to_string())
                .bind(email)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(zone) = c.time_zone {
            sqlx::query(set("time_zone"))
                .bind(id.0.to_string())
                .bind(zone)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ends the pair: read-only from now on. False if unknown or already
    /// ended.
    pub async fn end_pair(&self, id: PairId, now_ms: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE pairs SET ended_at_ms = $2 WHERE id = $1 AND ended_at_ms IS NULL")
                .bind(id.0.to_string())
                .bind(now_ms)
                .execute(&mut *self.normal().await?)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes the pair and everything it owns (links, schedule, agenda,
    /// actions, notes, messages, and its calls' moments). Its calls' session rows stay, unlinked,
    /// as the consent trail refers to them; their recordings are deleted
    /// by the caller first, through the recorder, so the trail says so.
    pub async fn delete_pair(&self, id: PairId) -> Result<bool, StoreError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        // The people's bookmarks and notes in those calls go with it.
        sqlx::query(
            "DELETE FROM moments WHERE session_id IN
             (SELECT id FROM sessions WHERE pair_id = $1)",
        )
        .bind(id.0.to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE sessions SET pair_id = NULL WHERE pair_id = $1")
            .bind(id.0.to_string())
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM pairs WHERE id = $1")
            .bind(id.0.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }
}
