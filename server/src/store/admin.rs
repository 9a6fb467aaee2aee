//! Admin accounts, console sessions and the admin audit log.
//!
//! Console session tokens are 256 random bits, stored as SHA-256 hashes like
//! API keys; passwords are argon2id hashes (see `crate::admin`).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::apikeys::hash_api_key;
use super::{Store, StoreError};

/// One line of the admin audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEvent {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

/// A console session found by its token.
#[derive(Debug, Clone)]
pub struct AdminSession {
    pub username: String,
    pub csrf_token: String,
}

pub(super) fn audit_from_row(r: AnyRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        seq: r.try_get(0)?,
        at_ms: r.try_get(1)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        target: r.try_get(4)?,
        detail: r.try_get(5)?,
    })
}

impl Store {
    /// Creates the account or sets a new password hash for it.
    pub fn set_admin_blocking(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.block_on(async {
            sqlx::query(
                "INSERT INTO admins (username, password_hash, created_at_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
            )
            .bind(username)
            .bind(password_hash)
            .bind(now_ms)
            .execute(&mut *self.normal().await?)
            .await?;
            Ok(())
        })
    }

    pub async fn admin_password_hash(&self, username: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT password_hash FROM admins WHERE username = $1")
                .bind(username)
                .fetch_optional(&mut *self.normal().await?)
                .await?,
        )
    }

    pub async fn create_admin_session(
        &self,
        token: &str,
        username: &str,
        csrf_token: &str,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO admin_sessions (token_hash, username, csrf_token, expires_at_ms)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(hash_api_key(token))
        .bind(username)
        .bind(csrf_token)
        .bind(expires_at_ms)
        .execute(&mut *self.normal().await?)
        .await?;
        Ok(())
    }

    /// The session of a cookie token, if it exists and has not expired.
    pub async fn admin_session(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<Option<AdminSession>, StoreError> {
        let row = sqlx::query(
            "SELECT username, csrf_token FROM admin_sessions
             WHERE token_hash = $1 AND expires_at_ms > $2",
        )
        .bind(hash_api_key(token))
        .bind(now_ms)
        .fetch_optional(&mut *self.normal().await?)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(AdminSession {
            username: r.try_get(0)?,
            csrf_token: r.try_get(1)?,
        }))
    }

    /// Ends a console session; also drops every expired one.
    pub async fn end_admin_session(&self, token: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM admin_sessions WHERE token_hash = $1 OR expires_at_ms <= $2")
            .bind(hash_api_key(token))
            .bind(now_ms)
            .execute(&mut *self.normal().await?)
            .await?;
        Ok(())
    }

    pub async fn audit(
        &self,
        at_ms: i64,
        actor: &str,
        action: &str,
        target: Option<String>,
        detail: Option<String>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO admin_audit (at_ms, actor, action, target, detail)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(at_ms)
        .bind(actor)
        .bind(action)
        .bind(target)
        .bind(detail)
        .execute(&mut *self.normal().await?)
        .await?;
        Ok(())
    }

    /// For CLI commands, which run without the async runtime.
    pub fn audit_blocking(
        &self,
        at_ms: i64,
        actor: &str,
        action: &str,
        target: Option<String>,
    ) -> Result<(), StoreError> {
        self.block_on(self.audit(at_ms, actor, action, target, None))
    }

    /// Newest first.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(sqlx::query(
            "SELECT seq, at_ms, actor, action, target, detail FROM admin_audit
             ORDER BY seq DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .try_map(audit_from_row)
        .fetch_all(&mut *self.normal().await?)
        .await?)
    }
}
