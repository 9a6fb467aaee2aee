//! Connections, in two lanes. Jobs of the consent path (storing consent
//! events, reading a recording's trail to start it) go in the urgent lane
//! and never wait behind a burst of other queries; everything else is the
//! normal lane.
//!
//! Each lane has a pool of its own, so a normal burst cannot hold every
//! connection. PostgreSQL runs queries side by side and that is enough.
//! SQLite takes one writer at a time, and a writer that finds the file
//! locked sleeps and polls (its busy handler is not a queue): behind a
//! stream of commits it could wait for all of them. So on SQLite one query
//! runs at a time, as on the single connection Duet always had, and the
//! lanes take turns in order: normal jobs queue for their turn one by one,
//! urgent jobs queue directly behind whatever is running. A consent event
//! waits for at most the one query running.
//!
//! A normal caller is refused with [`StoreError::Busy`] rather than queued
//! without bound: when [`NORMAL_QUEUE`] callers wait already, or when its
//! wait passes [`NORMAL_WAIT`]. The urgent lane is never capped: a consent
//! event must be stored.

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Connection, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use super::StoreError;
use super::location::{Backend, Location};
use super::migrations::{self, Migration};
use super::queue::Barrier;

/// Normal callers waiting or running at most; past this, `Busy`.
pub(super) const NORMAL_QUEUE: usize = 1024;

/// How long a normal caller waits for its turn and a connection before it
/// gets `Busy`: an API request is better told "try again" than left hanging.
pub(super) const NORMAL_WAIT: Duration = Duration::from_secs(10);

/// How long an urgent caller waits for a connection (PostgreSQL down or
/// unreachable). Short: the room waits this long for each try of a
/// consent event, and handles nothing else meanwhile; it keeps an event it
/// could not store and retries every second (`room.rs`).
const URGENT_WAIT: Duration = Duration::from_secs(2);

/// Connections per lane on PostgreSQL: normal, urgent. The urgent lane's
/// jobs are single short statements; two let one wait on a slow network
/// while the other works. Ten per node stays well under PostgreSQL's
/// default of 100 connections for a handful of nodes.
const PG_CONNECTIONS: (u32, u32) = (8, 2);

/// How long SQLite waits for a lock another process holds (the CLI
/// writing while the server runs).
const SQLITE_BUSY_MS: u32 = 5_000;

/// Which lane a job waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// The consent path: never behind other queries.
    Urgent,
    /// Everything else.
    Normal,
}

/// What the tests make every query of the server do: a real database that
/// is slow or failing.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Fault {
    #[default]
    None,
    /// Each query waits this long before it runs (holding its turn).
    Slow(Duration),
    /// Each query of the normal lane waits this long; urgent ones do not.
    SlowNormal(Duration),
    /// Each query fails.
    Fail,
}

#[cfg(test)]
impl Fault {
    pub(super) async fn apply(self, lane: Lane) -> Result<(), StoreError> {
        match (self, lane) {
            (Fault::Slow(d), _) | (Fault::SlowNormal(d), Lane::Normal) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
            (Fault::Fail, _) => Err(StoreError::Task("injected failure".into())),
            _ => Ok(()),
        }
    }
}

pub(super) struct Lanes {
    backend: Backend,
    urgent: AnyPool,
    normal: AnyPool,
    /// SQLite only: whose turn it is.
    turns: Option<Turns>,
    /// Permits for normal callers, [`NORMAL_QUEUE`] in all.
    waiting: Arc<Semaphore>,
    /// [`NORMAL_WAIT`], shorter in a test.
    normal_wait: std::sync::Mutex<Duration>,
    #[cfg(test)]
    fault: std::sync::Mutex<Fault>,
}

impl Lanes {
    /// Connects once to check the database is there and migrate it (a
    /// clear error naming the setting if not), then sets up both pools;
    /// their connections open when first needed.
    pub(super) async fn open(location: &Location, list: &[Migration]) -> Result<Lanes, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = location.backend();
        let failed = |reason| StoreError::Connect {
            setting: location.setting(),
            target: location.to_string(),
            reason,
        };
        let options = connect_options(location).map_err(failed)?;
        let mut first = AnyConnection::connect_with(&options)
            .await
            .map_err(failed)?;
        if backend == Backend::Sqlite {
            // Kept in the file: every later connection is in WAL mode.
            sqlx::raw_sql("PRAGMA journal_mode = WAL")
                .execute(&mut first)
                .await?;
        }
        configure(&mut first, backend).await?;
        migrations::migrate(&mut first, backend, list).await?;
        first.close().await?;
        let (normal_size, urgent_size) = match backend {
            Backend::Sqlite => (1, 1),
            Backend::Postgres => PG_CONNECTIONS,
        };
        let pool = |size: u32, wait: Duration| {
            AnyPoolOptions::new()
                .max_connections(size)
                .acquire_timeout(wait)
                .after_connect(move |conn, _| Box::pin(configure(conn, backend)))
                .connect_lazy_with(options.clone())
        };
        Ok(Lanes {
            backend,
            urgent: pool(urgent_size, URGENT_WAIT),
            normal: pool(normal_size, NORMAL_WAIT),
            turns: (backend == Backend::Sqlite).then(Turns::default),
            waiting: Arc::new(Semaphore::new(NORMAL_QUEUE)),
            normal_wait: std::sync::Mutex::new(NORMAL_WAIT),
            #[cfg(test)]
            fault: std::sync::Mutex::default(),
        })
    }

    pub(super) fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection in `lane`, once it is the lane's turn; no cap, no
    /// fault (the queue's task, and the urgent lane through `acquire`).
    pub(super) async fn acquire_raw(&self, lane: Lane) -> Result<Conn, StoreError> {
        let turn = match &self.turns {
            Some(turns) => Some(turns.take(lane).await),
            None => None,
        };
        let pool = match lane {
            Lane::Urgent => &self.urgent,
            Lane::Normal => &self.normal,
        };
        let conn = pool.acquire().await.map_err(|e| match e {
            sqlx::Error::PoolTimedOut => StoreError::Busy,
            e => StoreError::Database(e),
        })?;
        Ok(Conn {
            conn,
            backend: self.backend,
            _turn: turn,
            _permit: None,
        })
    }

    /// A connection in `lane` (the urgent lane: uncapped).
    pub(super) async fn acquire(&self, lane: Lane) -> Result<Conn, StoreError> {
        let conn = self.acquire_raw(lane).await?;
        #[cfg(test)]
        self.fault().apply(lane).await?;
        Ok(conn)
    }

    /// A connection in the normal lane, after `barrier`; `Busy` when too
    /// many wait already or this one waited too long.
    pub(super) async fn acquire_normal_after(&self, barrier: Barrier) -> Result<Conn, StoreError> {
        let permit = self
            .waiting
            .clone()
            .try_acquire_owned()
            .map_err(|_| StoreError::Busy)?;
        let wait = async {
            barrier.wait().await;
            self.acquire_raw(Lane::Normal).await
        };
        let limit = *self.normal_wait.lock().unwrap_or_else(|p| p.into_inner());
        let mut conn = tokio::time::timeout(limit, wait)
            .await
            .map_err(|_| StoreError::Busy)??;
        conn._permit = Some(permit);
        #[cfg(test)]
        self.fault().apply(Lane::Normal).await?;
        Ok(conn)
    }

    #[cfg(test)]
    pub(super) fn fault(&self) -> Fault {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(test)]
    pub(super) fn inject(&self, fault: Fault) {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner()) = fault;
    }

    #[cfg(test)]
    pub(super) fn set_normal_wait(&self, wait: Duration) {
        *self.normal_wait.lock().unwrap_or_else(|p| p.into_inner()) = wait;
    }

    /// Connections of the normal lane (tests).
    #[cfg(test)]
    pub(super) fn normal_size(&self) -> usize {
        self.normal.options().get_max_connections() as usize
    }

    /// Normal callers that could still come in before `Busy` (tests).
    #[cfg(test)]
    pub(super) fn normal_permits(&self) -> usize {
        self.waiting.available_permits()
    }
}

/// How sqlx reaches `location`. SQLite goes by a URL too (`Any` takes
/// nothing else), so the per-connection pragmas are set in [`configure`].
fn connect_options(location: &Location) -> Result<AnyConnectOptions, sqlx::Error> {
    match location {
        Location::Sqlite(path) => {
            let url = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .to_url_lossy();
            AnyConnectOptions::from_url(&url)
        }
        Location::Postgres(url) => url.parse(),
    }
}

/// Set on every connection as it opens. SQLite's are per connection:
/// foreign keys (the pair tables cascade), `synchronous=FULL` (a commit is
/// synced before it returns; NORMAL only syncs at checkpoints, so a power
/// loss could undo a consent event) and the busy timeout.
async fn configure(conn: &mut AnyConnection, backend: Backend) -> Result<(), sqlx::Error> {
    if backend == Backend::Sqlite {
        let pragmas = format!(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA busy_timeout = {SQLITE_BUSY_MS};"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(pragmas))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// SQLite's turns: `run` is held by the query running; normal jobs take
/// `queue` first, so at most one of them waits on `run` beside urgent
/// jobs. Tokio's mutexes are fair (first come, first served).
#[derive(Default)]
struct Turns {
    queue: Arc<Mutex<()>>,
    run: Arc<Mutex<()>>,
}

/// A held turn. `run` is released first, so an urgent job already waiting
/// goes before the next normal one.
struct Turn {
    _run: OwnedMutexGuard<()>,
    _queue: Option<OwnedMutexGuard<()>>,
}

impl Turns {
    async fn take(&self, lane: Lane) -> Turn {
        let queue = match lane {
            Lane::Urgent => None,
            Lane::Normal => Some(self.queue.clone().lock_owned().await),
        };
        Turn {
            _run: self.run.clone().lock_owned().await,
            _queue: queue,
        }
    }
}

/// A connection for one job. Dropping it gives back the connection, then
/// the turn, then the caller's place in the normal lane.
pub(super) struct Conn {
    conn: PoolConnection<Any>,
    backend: Backend,
    _turn: Option<Turn>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Conn {
    /// Starts a transaction that writes. On SQLite it takes the write lock
    /// at once (`BEGIN IMMEDIATE`): one that read first and then wrote
    /// could fail outright if another process wrote in between.
    pub(super) async fn begin(&mut self) -> Result<Transaction<'_, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.conn.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.conn.begin().await,
        }
    }
}

impl std::ops::Deref for Conn {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

#[cfg(test)]
mod tests;
