//! The embedded SQLite database: sessions, API keys, the consent trail,
//! recordings, admin accounts and audit log, the stored policy,
//! transcription jobs, each call's timing and talk time, and mentoring
//! pairs with what they keep.
//!
//! One connection, used by the server only from its own thread
//! (`worker.rs`): async callers queue a job and await its result, so no
//! load on tokio's blocking pool can hold up a consent event. Nothing here
//! is on the media path. The CLI's synchronous commands use the same
//! connection on their own thread (`call_blocking`).
//!
//! Durability: WAL with `synchronous=FULL`, so a transaction that returned
//! (a consent event) is on disk before its caller goes on, and survives a
//! power loss, not only a process crash.

mod admin;
mod apikeys;
mod call_stats;
mod consent;
mod migrations;
mod moments;
mod pair_content;
mod pair_schedule;
mod pairs;
mod policy;
mod reflection;
mod sessions;
mod transcription;
mod worker;

use std::path::Path;
use std::sync::{Arc, Mutex};

pub use admin::{AdminSession, AuditEvent};
pub use apikeys::{hash_api_key, new_api_key};
pub use call_stats::CallStats;
pub use consent::{AdminEvent, RecordingRow, RecordingRowStatus, StoredConsentEvent, TrailFilter};
pub use moments::Moment;
pub use pair_content::{
    ActionChange, ActionItem, AgendaChange, AgendaItem, ContentError, Message, Note,
};
pub use pair_schedule::{PairCall, ScheduleRecord, creator};
pub use pairs::{PairChanges, PairLink, PairPerson, PairRecord, PersonChanges};
pub use policy::{NewNotice, NoticeVersion};
pub use reflection::VIEW_ACTION;
pub use sessions::SessionRecord;
pub use transcription::{JobStatus, TranscriptionJob};
pub(crate) use worker::Lane;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database task failed: {0}")]
    Task(String),
    /// The normal lane of the database thread is full; retry later.
    #[error("the database is busy; try again in a moment")]
    Busy,
    #[error("database is newer than this version of Duet (schema {found}, known {known})")]
    TooNew { found: i64, known: i64 },
}

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<rusqlite::Connection>>,
    worker: Arc<worker::Worker>,
    #[cfg(test)]
    fault: Arc<Mutex<Fault>>,
}

/// What the tests make every query of the server (not `call_blocking`) do:
/// a real database that is slow or failing.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Fault {
    #[default]
    None,
    /// Each query waits this long before it runs.
    Slow(std::time::Duration),
    /// Each query fails.
    Fail,
}

impl Store {
    /// Opens (creating if needed) the database file, brings its schema up
    /// to date and starts the database thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a commit is synced to disk before it returns (NORMAL only
        // syncs at checkpoints, so a power loss could undo a consent event).
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations::migrate(&conn)?;
        let conn = Arc::new(Mutex::new(conn));
        let worker = worker::Worker::spawn(conn.clone())
            .map_err(|e| StoreError::Task(format!("starting the database thread: {e}")))?;
        Ok(Store {
            conn,
            worker: Arc::new(worker),
            #[cfg(test)]
            fault: Arc::default(),
        })
    }

    /// Runs `f` on the database thread, in the normal lane.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.call_in(Lane::Normal, f).await
    }

    /// Runs `f` on the database thread in `lane`; the consent path uses
    /// [`Lane::Urgent`], which goes before every waiting normal query.
    pub(crate) async fn call_in<T, F>(&self, lane: Lane, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, result) = tokio::sync::oneshot::channel();
        #[cfg(test)]
        let fault = *self.fault.lock().unwrap_or_else(|p| p.into_inner());
        let job: worker::Job = Box::new(move |conn| {
            // The caller went away while this waited (a dropped request):
            // skip the query rather than run it for no one.
            if reply.is_closed() {
                return;
            }
            #[cfg(test)]
            match fault {
                Fault::None => {}
                Fault::Slow(d) => std::thread::sleep(d),
                Fault::Fail => {
                    let _ = reply.send(Err(StoreError::Task("injected failure".into())));
                    return;
                }
            }
            // The caller may have gone meanwhile: nothing to do.
            let _ = reply.send(f(conn));
        });
        let gone = || StoreError::Task("the database thread has stopped".into());
        self.worker.push(lane, job).map_err(|e| match e {
            worker::PushError::Gone => gone(),
            worker::PushError::Full => StoreError::Busy,
        })?;
        result.await.map_err(|_| gone())?
    }

    /// Queues `f` in the normal lane and returns without waiting for it:
    /// for writes whose caller must not wait on the disk (the room, mid
    /// call). Jobs run in the order queued, so a later write of the same
    /// row lands after an earlier one. `f`'s error is logged, as
    /// `what`; `Busy` or a stopped thread is returned at once.
    pub(crate) fn call_detached<F>(&self, what: &'static str, f: F) -> Result<(), StoreError>
    where
        F: FnOnce(&rusqlite::Connection) -> Result<(), StoreError> + Send + 'static,
    {
        #[cfg(test)]
        let fault = *self.fault.lock().unwrap_or_else(|p| p.into_inner());
        let job: worker::Job = Box::new(move |conn| {
            #[cfg(test)]
            match fault {
                Fault::None => {}
                Fault::Slow(d) => std::thread::sleep(d),
                Fault::Fail => {
                    tracing::warn!(what, "a queued database write failed: injected failure");
                    return;
                }
            }
            if let Err(e) = f(conn) {
                tracing::warn!(what, error = %e, "a queued database write failed");
            }
        });
        self.worker.push(Lane::Normal, job).map_err(|e| match e {
            worker::PushError::Gone => StoreError::Task("the database thread has stopped".into()),
            worker::PushError::Full => StoreError::Busy,
        })
    }

    /// Makes every later query slow or failing (tests only).
    #[cfg(test)]
    pub(crate) fn inject(&self, fault: Fault) {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner()) = fault;
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
