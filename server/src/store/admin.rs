//! Admin accounts, console sessions and the admin audit log.
//!
//! Console session tokens are 256 random bits, stored as SHA-256 hashes like
//! API keys; passwords are argon2id hashes (see `crate::admin`).

use rusqlite::OptionalExtension;

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

impl Store {
    /// Creates the account or sets a new password hash for it.
    pub fn set_admin_blocking(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let (u, h) = (username.to_string(), password_hash.to_string());
        self.call_blocking(move |conn| {
            conn.execute(
                "INSERT INTO admins (username, password_hash, created_at_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
                rusqlite::params![u, h, now_ms],
            )?;
            Ok(())
        })
    }

    pub async fn admin_password_hash(&self, username: &str) -> Result<Option<String>, StoreError> {
        let u = username.to_string();
        self.call(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT password_hash FROM admins WHERE username = ?1",
                    [u],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await
    }

    pub async fn create_admin_session(
        &self,
        token: &str,
        username: &str,
        csrf_token: &str,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        let (h, u, c) = (
            hash_api_key(token),
            username.to_string(),
            csrf_token.to_string(),
        );
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO admin_sessions (token_hash, username, csrf_token, expires_at_ms)
                 VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![h, u, c, expires_at_ms],
            )?;
            Ok(())
        })
        .await
    }

    /// The session of a cookie token, if it exists and has not expired.
    pub async fn admin_session(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<Option<AdminSession>, StoreError> {
        let h = hash_api_key(token);
        self.call(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT username, csrf_token FROM admin_sessions
                     WHERE token_hash = ?1 AND expires_at_ms > ?2",
                    rusqlite::params![h, now_ms],
                    |r| {
                        Ok(AdminSession {
                            username: r.get(0)?,
                            csrf_token: r.get(1)?,
                        })
                    },
                )
                .optional()?)
        })
        .await
    }

    /// Ends a console session; also drops every expired one.
    pub async fn end_admin_session(&self, token: &str, now_ms: i64) -> Result<(), StoreError> {
        let h = hash_api_key(token);
        self.call(move |conn| {
            conn.execute(
                "DELETE FROM admin_sessions WHERE token_hash = ?1 OR expires_at_ms <= ?2",
                rusqlite::params![h, now_ms],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn audit(
        &self,
        at_ms: i64,
        actor: &str,
        action: &str,
        target: Option<String>,
        detail: Option<String>,
    ) -> Result<(), StoreError> {
        let (a, act) = (actor.to_string(), action.to_string());
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO admin_audit (at_ms, actor, action, target, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![at_ms, a, act, target, detail],
            )?;
            Ok(())
        })
        .await
    }

    /// For CLI commands, which run without the async runtime.
    pub fn audit_blocking(
        &self,
        at_ms: i64,
        actor: &str,
        action: &str,
        target: Option<String>,
    ) -> Result<(), StoreError> {
        let (a, act) = (actor.to_string(), action.to_string());
        self.call_blocking(move |conn| {
            conn.execute(
                "INSERT INTO admin_audit (at_ms, actor, action, target) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![at_ms, a, act, target],
            )?;
            Ok(())
        })
    }

    /// Newest first.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT seq, at_ms, actor, action, target, detail FROM admin_audit
                 ORDER BY seq DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok(AuditEvent {
                    seq: r.get(0)?,
                    at_ms: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    detail: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}
