//! The stored policy (settings an admin changed in the console) and every
//! version of the consent notice. Notice versions are never rewritten: a
//! consent refers to a notice by hash, and the hash maps to one version.

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NoticeVersion {
    pub version: i64,
    pub hash: String,
    pub text: String,
    pub created_at_ms: i64,
    pub created_by: String,
}

impl Store {
    pub async fn policy_value(&self, key: &'static str) -> Result<Option<String>, StoreError> {
        self.call(move |conn| {
            Ok(conn
                .query_row("SELECT value FROM policy WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?)
        })
        .await
    }

    pub async fn set_policy_value(
        &self,
        key: &'static str,
        value: String,
    ) -> Result<(), StoreError> {
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO policy (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                rusqlite::params![key, value],
            )?;
            Ok(())
        })
        .await
    }

    /// Writes a whole policy change in one transaction: the new notice (as
    /// its next version, when new) and every `(key, value)`, or nothing.
    /// Returns the notice's version.
    pub async fn apply_policy(
        &self,
        values: Vec<(&'static str, String)>,
        notice: Option<NewNotice>,
    ) -> Result<Option<NoticeVersion>, StoreError> {
        self.call(move |conn| {
            let tx = conn.unchecked_transaction()?;
            let version = match notice {
                Some(n) => Some(insert_notice(
                    &tx,
                    &n.hash,
                    &n.text,
                    n.now_ms,
                    &n.created_by,
                )?),
                None => None,
            };
            for (key, value) in values {
                tx.execute(
                    "INSERT INTO policy (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    rusqlite::params![key, value],
                )?;
            }
            tx.commit()?;
            Ok(version)
        })
        .await
    }

    /// The version of the notice with `hash`, adding it as the next version
    /// when it is new.
    pub async fn notice_version(
        &self,
        hash: &str,
        text: &str,
        now_ms: i64,
        created_by: &str,
    ) -> Result<NoticeVersion, StoreError> {
        let (h, t, by) = (hash.to_string(), text.to_string(), created_by.to_string());
        self.call(move |conn| insert_notice(conn, &h, &t, now_ms, &by))
            .await
    }

    /// Newest first.
    pub async fn notices(&self) -> Result<Vec<NoticeVersion>, StoreError> {
        self.call(|conn| {
            let mut stmt = conn.prepare(
                "SELECT version, hash, text, created_at_ms, created_by FROM notices
                 ORDER BY version DESC",
            )?;
            let rows = stmt.query_map([], notice_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}

/// A notice text an admin set, to be stored with a policy change.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub hash: String,
    pub text: String,
    pub now_ms: i64,
    pub created_by: String,
}

fn insert_notice(
    conn: &rusqlite::Connection,
    hash: &str,
    text: &str,
    now_ms: i64,
    created_by: &str,
) -> Result<NoticeVersion, StoreError> {
    conn.execute(
        "INSERT INTO notices (hash, text, created_at_ms, created_by) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (hash) DO NOTHING",
        rusqlite::params![hash, text, now_ms, created_by],
    )?;
    Ok(conn.query_row(
        "SELECT version, hash, text, created_at_ms, created_by FROM notices WHERE hash = ?1",
        [hash],
        notice_from_row,
    )?)
}

fn notice_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NoticeVersion> {
    Ok(NoticeVersion {
        version: r.get(0)?,
        hash: r.get(1)?,
        text: r.get(2)?,
        created_at_ms: r.get(3)?,
        created_by: r.get(4)?,
    })
}
