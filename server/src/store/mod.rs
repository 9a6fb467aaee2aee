//! The embedded SQLite database: sessions, API keys, the consent trail,
//! recordings, admin accounts and audit log, and the stored policy.
//!
//! One connection behind a mutex, used from blocking tasks. Nothing here is
//! on the media path; SQLite's own locking would serialise writers anyway.

mod admin;
mod apikeys;
mod consent;
mod migrations;
mod policy;
mod sessions;

use std::path::Path;
use std::sync::{Arc, Mutex};

pub use admin::{AdminSession, AuditEvent};
pub use apikeys::{hash_api_key, new_api_key};
pub use consent::{AdminEvent, RecordingRow, RecordingStatus, StoredConsentEvent, TrailFilter};
pub use policy::{NewNotice, NoticeVersion};
pub use sessions::SessionRecord;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database task failed: {0}")]
    Task(String),
    #[error("database is newer than this version of Duet (schema {found}, known {known})")]
    TooNew { found: i64, known: i64 },
}

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<rusqlite::Connection>>,
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up
    /// to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations::migrate(&conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on the connection in a blocking task.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A poisoned lock means a panic mid-call elsewhere; SQLite's
            // transactions keep the file consistent, so carry on.
            let guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs `f` on the connection on this thread (CLI commands).
    pub fn call_blocking<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&guard)
    }
}
