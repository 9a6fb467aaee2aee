//! The database: sessions, API keys, the consent trail, recordings, admin
//! accounts and audit log, the stored policy, transcription jobs, each
//! call's timing and talk time, and mentoring pairs with what they keep.
//!
//! Two engines behind one layer. With nothing configured it is an embedded
//! SQLite file in the data folder, as it always was; `database.url =
//! "postgres://…"` puts it in PostgreSQL, which several nodes can share.
//! Nothing here is on the media path.
//!
//! # One driver: sqlx's `Any`
//!
//! Every query is written once, as SQL both engines accept (`$1`
//! placeholders, which SQLite takes as numbered parameters; `ON CONFLICT`
//! rather than `INSERT OR IGNORE`; `RETURNING` rather than
//! `last_insert_rowid()`), and runs through sqlx's `Any` driver: one pool
//! type, one connection type, each query compiled once. The other way, an
//! enum over a `SqlitePool` and a `PgPool`, would have every query either
//! generic over the database (with a bound per bound type) or written out
//! twice by a macro, for nothing these tables need: `Any` carries only
//! integers, floats, text and bytes, and this schema stores ids and enums
//! as TEXT, times and counts as BIGINT (SQLite INTEGER), flags as 0/1
//! BIGINT and offsets in seconds as DOUBLE. What must differ lives in
//! [`Backend`]: the DDL (`migrations/`), SQLite's per-connection pragmas
//! and PostgreSQL's advisory lock around migrating.
//!
//! # Lanes (`lanes.rs`) and queued writes (`queue.rs`)
//!
//! The consent path (storing consent events, reading a recording's trail
//! to start it) goes in [`Lane::Urgent`] and never waits behind a burst of
//! other queries; everything else is [`Lane::Normal`], whose callers are
//! capped in number and in how long they wait ([`StoreError::Busy`]).
//! Writes the room must not wait for are queued ([`Store::call_detached`])
//! and land in order; a later normal query sees them.
//!
//! # Migrations (`migrations.rs`)
//!
//! Numbered, one number one change on both engines, recorded with their
//! kind in `duet_migrations`: *expand* (only adds; an older node keeps
//! working) or *contract* (removes; an older node refuses to start). One
//! migrator at a time: an advisory lock on PostgreSQL, `BEGIN IMMEDIATE`
//! on SQLite. SQLite databases from before keep their history.
//!
//! # Durability
//!
//! SQLite runs in WAL mode with `synchronous=FULL` on every connection, so
//! a transaction that returned (a consent event) is on disk and survives a
//! power loss, not only a process crash. PostgreSQL commits durably by its
//! own defaults (`synchronous_commit = on`; an operator who turns it off
//! gives that up).

mod admin;
mod apikeys;
mod call_stats;
mod chores;
mod consent;
mod lanes;
pub(crate) mod location;
mod migrations;
mod moments;
mod pair_content;
mod pair_schedule;
mod pairs;
mod placement;
mod policy;
mod queue;
mod reflection;
mod rows;
pub mod scratch;
mod secrets;
mod sessions;
mod transcription;

use std::path::Path;
use std::sync::Arc;

pub use admin::{AdminSession, AuditEvent};
pub use apikeys::{hash_api_key, new_api_key};
pub use call_stats::CallStats;
pub use consent::{AdminEvent, RecordingRow, RecordingRowStatus, StoredConsentEvent, TrailFilter};
#[cfg(test)]
pub(crate) use lanes::Fault;
pub(crate) use lanes::Lane;
pub use location::{Backend, Location};
pub use moments::Moment;
pub use pair_content::{
    ActionChange, ActionItem, AgendaChange, AgendaItem, ContentError, Message, Note,
};
pub use pair_schedule::{PairCall, ScheduleRecord, creator};
pub use pairs::{PairChanges, PairLink, PairPerson, PairRecord, PersonChanges};
pub use placement::{Fence, HeldSession, NodeAdvert, NodeRow, SessionPlacement};
pub use policy::{NewNotice, NoticeVersion};
pub use reflection::VIEW_ACTION;
pub use sessions::SessionRecord;
pub use transcription::{JobStatus, TranscriptionJob};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database named by a setting could not be opened at start.
    /// (`reason` is said in the message, not chained as a source, so a
    /// report with causes does not repeat it.)
    #[error("cannot open the database set by {setting} ({target}): {reason}")]
    Connect {
        setting: &'static str,
        /// Where, without any password.
        target: String,
        reason: sqlx::Error,
    },
    /// A migration failed; nothing of it (or of later ones) was applied.
    #[error(
        "database migration {version} ({what}) failed: {reason} (if the server's role may not change the schema, run `duet migrate` as the schema's owner)"
    )]
    Migration {
        version: i64,
        what: &'static str,
        reason: sqlx::Error,
    },
    /// A write for a session whose placement moved on: this node holds
    /// it no longer (a newer epoch owns its trail).
    #[error("this node no longer holds the session (placement {node} at epoch {epoch} is stale)")]
    Fenced { node: String, epoch: i64 },
    #[error("database task failed: {0}")]
    Task(String),
    /// Too many queries wait already, or one waited too long; retry later.
    #[error("the database is busy; try again in a moment")]
    Busy,
    /// The database holds a contract migration (one that removes or
    /// rewrites what older code uses) beyond what this version knows.
    #[error(
        "the database is newer than this version of Duet (migration {found} changes what this version uses; it knows up to {known}): upgrade Duet"
    )]
    TooNew { found: i64, known: i64 },
}

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    lanes: Arc<lanes::Lanes>,
    queue: queue::WriteQueue,
    /// Runs the `*_blocking` methods: the CLI's own runtime when it opened
    /// the store with [`Store::open_blocking`], else the one it was opened on.
    runtime: tokio::runtime::Handle,
    own_runtime: Option<OwnedRuntime>,
    /// A test's throwaway PostgreSQL database, dropped after everything
    /// above (fields drop in order).
    _scratch: Option<scratch::ScratchDatabase>,
}

/// The CLI's runtime. Shut down without waiting, so dropping the last
/// handle is fine anywhere, even inside another runtime.
struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl Store {
    /// Opens (creating if needed) the embedded SQLite database in `path`.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_at(&Location::Sqlite(path.to_path_buf())).await
    }

    /// Opens the database at `location`, brings its schema up to date and
    /// starts the queue of detached writes (on the current runtime).
    pub async fn open_at(location: &Location) -> Result<Store, StoreError> {
        Store::open_with(location, migrations::ALL).await
    }

    async fn open_with(
        location: &Location,
        list: &[migrations::Migration],
    ) -> Result<Store, StoreError> {
        let lanes = Arc::new(lanes::Lanes::open(location, list).await?);
        let queue = queue::WriteQueue::start(lanes.clone());
        Ok(Store {
            inner: Arc::new(Inner {
                lanes,
                queue,
                runtime: tokio::runtime::Handle::current(),
                own_runtime: None,
                _scratch: None,
            }),
        })
    }

    /// For CLI commands, which run without an async runtime: opens the
    /// store on a small runtime of its own, which runs the `*_blocking`
    /// methods. Its one thread also drives the database's sockets, so the
    /// async methods work from any other runtime too (`duet transcribe`).
    pub fn open_blocking(location: &Location) -> Result<Store, StoreError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("duet-db")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Task(format!("starting the database runtime: {e}")))?;
        let mut store = rt.block_on(Store::open_at(location))?;
        let runtime = rt.handle().clone();
        let inner = Arc::get_mut(&mut store.inner)
            .ok_or_else(|| StoreError::Task("the new store is shared already".into()))?;
        inner.runtime = runtime;
        inner.own_runtime = Some(OwnedRuntime(Some(rt)));
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.inner.lanes.backend()
    }

    /// A connection in `lane`. Normal callers first wait for the detached
    /// writes queued before them, so they read what was queued.
    async fn conn(&self, lane: Lane) -> Result<lanes::Conn, StoreError> {
        match lane {
            Lane::Urgent => self.inner.lanes.acquire(Lane::Urgent).await,
            Lane::Normal => {
                let barrier = self.inner.queue.barrier();
                self.inner.lanes.acquire_normal_after(barrier).await
            }
        }
    }

    /// A connection in the normal lane.
    async fn normal(&self) -> Result<lanes::Conn, StoreError> {
        self.conn(Lane::Normal).await
    }

    /// Queues a write and returns without waiting for it: for writes
    /// whose caller must not wait on the disk (the room, mid call). Writes
    /// land in the order queued, so a later write of the same row lands
    /// after an earlier one, and a later normal query sees them. The job's
    /// error is logged, as `what`; a full queue is `Busy`.
    pub(crate) fn call_detached(
        &self,
        what: &'static str,
        job: queue::Job,
    ) -> Result<(), StoreError> {
        self.inner.queue.push(what, job)
    }

    /// Runs `fut` to completion for a caller outside any async runtime
    /// (the CLI). Inside one it would deadlock or panic, so it refuses.
    fn block_on<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(StoreError::Task(
                "a blocking database call from inside the async runtime".into(),
            ));
        }
        self.inner.runtime.block_on(fut)
    }

    /// Makes every later query slow or failing (tests only).
    #[cfg(test)]
    pub(crate) fn inject(&self, fault: Fault) {
        self.inner.lanes.inject(fault);
    }

    /// A store for a test: a fresh PostgreSQL database when
    /// `DUET_TEST_DATABASE_URL` is set (see [`scratch`]), else SQLite in
    /// `dir`.
    #[cfg(test)]
    pub(crate) async fn open_for_test(dir: &Path) -> Store {
        let scratch = scratch::ScratchDatabase::create()
            .await
            .expect("a scratch PostgreSQL database");
        let location = match &scratch {
            Some(db) => db.location(),
            None => Location::Sqlite(dir.join("db")),
        };
        let mut store = Store::open_at(&location).await.expect("open the store");
        if let Some(inner) = Arc::get_mut(&mut store.inner) {
            inner._scratch = scratch;
        }
        store
    }

    /// Runs one statement as is (tests of what the database refuses).
    #[cfg(test)]
    pub(crate) async fn execute_raw(&self, sql: &'static str) -> Result<u64, StoreError> {
        let mut c = self.normal().await?;
        Ok(sqlx::query(sql).execute(&mut *c).await?.rows_affected())
    }
}

#[cfg(test)]
mod tests;
