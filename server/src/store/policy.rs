//! The stored policy (settings an admin changed in the console) and every
//! version of the consent notice. Notice versions are never rewritten: a
//! consent refers to a notice by hash, and the hash maps to one version.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NoticeVersion {
    pub version: i64,
    pub hash: String,
    pub text: String,
    /// `""` for the notice; a language tag (`es`) for a translation of it
    /// that the operator wrote.
    pub language: String,
    pub created_at_ms: i64,
    pub created_by: String,
}

const SET_VALUE: &str = "INSERT INTO policy (key, value) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

impl Store {
    pub async fn policy_value(&self, key: &'static str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM policy WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut *self.normal().await?)
                .await?,
        )
    }

    pub async fn set_policy_value(
        &self,
        key: &'static str,
        value: String,
    ) -> Result<(), StoreError> {
        sqlx::query(SET_VALUE)
            .bind(key)
            .bind(value)
            .execute(&mut *self.normal().await?)
            .await?;
        Ok(())
    }

    /// Writes a whole policy change in one transaction: the new notice
    /// texts (each as its next version, when new) and every `(key, value)`,
    /// or nothing. Returns the texts' versions, in the order given.
    pub async fn apply_policy(
        &self,
        values: Vec<(&'static str, String)>,
        notices: Vec<NewNotice>,
    ) -> Result<Vec<NoticeVersion>, StoreError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        let mut versions = Vec::with_capacity(notices.len());
        for n in &notices {
            versions.push(insert_notice(&mut tx, n).await?);
        }
        for (key, value) in values {
            sqlx::query(SET_VALUE)
                .bind(key)
                .bind(value)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(versions)
    }

    /// The version of the notice text `notice.hash`, adding it as the next
    /// version when it is new.
    pub async fn notice_version(&self, notice: &NewNotice) -> Result<NoticeVersion, StoreError> {
        insert_notice(&mut *self.normal().await?, notice).await
    }

    /// Newest first.
    pub async fn notices(&self) -> Result<Vec<NoticeVersion>, StoreError> {
        Ok(sqlx::query(
            "SELECT version, hash, text, created_at_ms, created_by, language FROM notices
             ORDER BY version DESC",
        )
        .try_map(notice_from_row)
        .fetch_all(&mut *self.normal().await?)
        .await?)
    }
}

/// A notice text an admin set, to be stored with a policy change.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub hash: String,
    pub text: String,
    /// `""` for the notice, a language tag for a translation.
    pub language: String,
    pub now_ms: i64,
    pub created_by: String,
}

/// Adds the notice unless its hash is stored already, then reads its row.
/// The `NOT EXISTS` keeps PostgreSQL from drawing a version number (an
/// identity value, gone even when the insert does nothing) for a notice
/// it has: versions stay 1, 2, 3 as admins see them.
async fn insert_notice(
    conn: &mut AnyConnection,
    n: &NewNotice,
) -> Result<NoticeVersion, StoreError> {
    sqlx::query(
        "INSERT INTO notices (hash, text, created_at_ms, created_by, language)
         SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM notices WHERE hash = $1)
         ON CONFLICT (hash) DO NOTHING",
    )
    .bind(&n.hash)
    .bind(&n.text)
    .bind(n.now_ms)
    .bind(&n.created_by)
    .bind(&n.language)
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query(
        "SELECT version, hash, text, created_at_ms, created_by, language FROM notices
         WHERE hash = $1",
    )
    .bind(&n.hash)
    .try_map(notice_from_row)
    .fetch_one(conn)
    .await?)
}

fn notice_from_row(r: AnyRow) -> Result<NoticeVersion, sqlx::Error> {
    Ok(NoticeVersion {
        version: r.try_get(0)?,
        hash: r.try_get(1)?,
        text: r.try_get(2)?,
        created_at_ms: r.try_get(3)?,
        created_by: r.try_get(4)?,
        language: r.try_get(5)?,
    })
}
