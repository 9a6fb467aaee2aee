//! Pair rows and their personal links.
//!
//! A personal link is a signed token naming a row of `pair_links`; the row
//! is what an admin revokes, so a link stops working the moment it is
//! revoked, whatever its signed expiry says.

use duet_signaling::Role;
use duet_signaling::protocol::RecordingPolicy;
use rusqlite::{OptionalExtension, Row, params};
use uuid::Uuid;

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

pub(crate) fn policy_str(p: RecordingPolicy) -> &'static str {
    match p {
        RecordingPolicy::Off => "off",
        RecordingPolicy::Allowed => "allowed",
    }
}

pub(crate) fn policy_from(s: &str) -> RecordingPolicy {
    if s == "allowed" {
        RecordingPolicy::Allowed
    } else {
        RecordingPolicy::Off
    }
}

pub(crate) fn role_from(s: &str) -> rusqlite::Result<Role> {
    match s {
        "mentor" => Ok(Role::Mentor),
        "mentee" => Ok(Role::Mentee),
        other => Err(rusqlite::Error::InvalidColumnType(
            0,
            format!("role {other:?}"),
            rusqlite::types::Type::Text,
        )),
    }
}

pub(crate) fn uuid_from(s: &str) -> rusqlite::Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

const COLUMNS: &str = "id, title, goal, recording, mentor_name, mentor_email, mentor_time_zone,
    mentee_name, mentee_email, mentee_time_zone, agreement_text, agreement_version,
    mentor_confirmed, mentee_confirmed, mentor_read_seq, mentee_read_seq, created_at_ms,
    ended_at_ms";

fn from_row(row: &Row<'_>) -> rusqlite::Result<PairRecord> {
    let id: String = row.get(0)?;
    let recording: String = row.get(3)?;
    Ok(PairRecord {
        id: PairId(uuid_from(&id)?),
        title: row.get(1)?,
        goal: row.get(2)?,
        recording: policy_from(&recording),
        mentor: PairPerson {
            name: row.get(4)?,
            email: row.get(5)?,
            time_zone: row.get(6)?,
        },
        mentee: PairPerson {
            name: row.get(7)?,
            email: row.get(8)?,
            time_zone: row.get(9)?,
        },
        agreement: Agreement {
            text: row.get(10)?,
            version: row.get(11)?,
            confirmed: [row.get(12)?, row.get(13)?],
        },
        read_seq: [row.get(14)?, row.get(15)?],
        created_at_ms: row.get(16)?,
        ended_at_ms: row.get(17)?,
    })
}

fn link_from_row(row: &Row<'_>) -> rusqlite::Result<PairLink> {
    let pair: String = row.get(1)?;
    let role: String = row.get(2)?;
    Ok(PairLink {
        id: row.get(0)?,
        pair_id: PairId(uuid_from(&pair)?),
        role: role_from(&role)?,
        issued_at_ms: row.get(3)?,
        expires_at_ms: row.get(4)?,
        revoked_at_ms: row.get(5)?,
    })
}

const LINK_COLUMNS: &str = "id, pair_id, role, issued_at_ms, expires_at_ms, revoked_at_ms";

pub(crate) fn load_pair(
    conn: &rusqlite::Connection,
    id: PairId,
) -> Result<Option<PairRecord>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM pairs WHERE id = ?1"),
            [id.0.to_string()],
            from_row,
        )
        .optional()?)
}

fn insert_link(conn: &rusqlite::Connection, l: &PairLink) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO pair_links (id, pair_id, role, issued_at_ms, expires_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            l.id,
            l.pair_id.0.to_string(),
            l.role.as_str(),
            l.issued_at_ms,
            l.expires_at_ms
        ],
    )?;
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
        self.call(move |conn| {
            let tx = conn.unchecked_transaction()?;
            tx.execute(
                "INSERT INTO pairs (id, title, goal, recording, mentor_name, mentor_email,
                    mentor_time_zone, mentee_name, mentee_email, mentee_time_zone,
                    agreement_text, agreement_version, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    p.id.0.to_string(),
                    p.title,
                    p.goal,
                    policy_str(p.recording),
                    p.mentor.name,
                    p.mentor.email,
                    p.mentor.time_zone,
                    p.mentee.name,
                    p.mentee.email,
                    p.mentee.time_zone,
                    p.agreement.text,
                    p.agreement.version,
                    p.created_at_ms
                ],
            )?;
            for l in &links {
                insert_link(&tx, l)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn pair(&self, id: PairId) -> Result<Option<PairRecord>, StoreError> {
        self.call(move |conn| load_pair(conn, id)).await
    }

    /// Newest first.
    pub async fn pairs(&self, limit: u32) -> Result<Vec<PairRecord>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM pairs ORDER BY created_at_ms DESC, id LIMIT ?1"
            ))?;
            let rows = stmt.query_map([limit], from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn pair_link(&self, id: &str) -> Result<Option<PairLink>, StoreError> {
        let id = id.to_string();
        self.call(move |conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {LINK_COLUMNS} FROM pair_links WHERE id = ?1"),
                    [id],
                    link_from_row,
                )
                .optional()?)
        })
        .await
    }

    /// The links of a pair that work now (not revoked, not expired).
    pub async fn active_pair_links(
        &self,
        pair: PairId,
        now_ms: i64,
    ) -> Result<Vec<PairLink>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {LINK_COLUMNS} FROM pair_links
                 WHERE pair_id = ?1 AND revoked_at_ms IS NULL AND expires_at_ms > ?2
                 ORDER BY issued_at_ms"
            ))?;
            let rows = stmt.query_map(params![pair.0.to_string(), now_ms], link_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
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
        self.call(move |conn| {
            let tx = conn.unchecked_transaction()?;
            let n = tx.execute(
                "UPDATE pair_links SET revoked_at_ms = ?3
                 WHERE pair_id = ?1 AND role = ?2 AND revoked_at_ms IS NULL",
                params![pair.0.to_string(), role.as_str(), now_ms],
            )?;
            if let Some(l) = &new {
                insert_link(&tx, l)?;
            }
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    pub async fn update_pair(&self, id: PairId, c: PairChanges) -> Result<(), StoreError> {
        self.call(move |conn| {
            conn.execute(
                "UPDATE pairs SET title = COALESCE(?2, title), goal = COALESCE(?3, goal),
                    recording = COALESCE(?4, recording) WHERE id = ?1",
                params![
                    id.0.to_string(),
                    c.title,
                    c.goal,
                    c.recording.map(policy_str)
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn update_pair_person(
        &self,
        id: PairId,
        role: Role,
        c: PersonChanges,
    ) -> Result<(), StoreError> {
        self.call(move |conn| {
            let r = role.as_str();
            let tx = conn.unchecked_transaction()?;
            if let Some(name) = c.name {
                tx.execute(
                    &format!("UPDATE pairs SET {r}_name = ?2 WHERE id = ?1"),
                    params![id.0.to_string(), name],
                )?;
            }
            if let Some(email) = c.email {
                tx.execute(
                    &format!("UPDATE pairs SET {r}_email = ?2 WHERE id = ?1"),
                    params![id.0.to_string(), email],
                )?;
            }
            if let Some(zone) = c.time_zone {
                tx.execute(
                    &format!("UPDATE pairs SET {r}_time_zone = ?2 WHERE id = ?1"),
                    params![id.0.to_string(), zone],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Ends the pair: read-only from now on. False if unknown or already
    /// ended.
    pub async fn end_pair(&self, id: PairId, now_ms: i64) -> Result<bool, StoreError> {
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE pairs SET ended_at_ms = ?2 WHERE id = ?1 AND ended_at_ms IS NULL",
                params![id.0.to_string(), now_ms],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Deletes the pair and everything it owns (links, schedule, agenda,
    /// actions, notes, messages, and its calls' moments). Its calls' session rows stay, unlinked,
    /// as the consent trail refers to them; their recordings are deleted
    /// by the caller first, through the recorder, so the trail says so.
    pub async fn delete_pair(&self, id: PairId) -> Result<bool, StoreError> {
        self.call(move |conn| {
            let tx = conn.unchecked_transaction()?;
            // The people's bookmarks and notes in those calls go with it.
            tx.execute(
                "DELETE FROM moments WHERE session_id IN
                 (SELECT id FROM sessions WHERE pair_id = ?1)",
                [id.0.to_string()],
            )?;
            tx.execute(
                "UPDATE sessions SET pair_id = NULL WHERE pair_id = ?1",
                [id.0.to_string()],
            )?;
            let n = tx.execute("DELETE FROM pairs WHERE id = ?1", [id.0.to_string()])?;
            tx.commit()?;
            Ok(n == 1)
        })
        .await
    }
}
