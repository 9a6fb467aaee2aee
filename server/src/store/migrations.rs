//! Schema migrations: numbered, applied in order, each recorded in the
//! table `duet_migrations` with its kind. One number is one change on
//! both engines; the DDL itself is per engine (`migrations/sqlite.rs`,
//! `migrations/postgres.rs`), as identity columns and triggers are spelled
//! differently.
//!
//! # Expand, then contract
//!
//! Several nodes may share one PostgreSQL database, and a rolling upgrade
//! runs an older and a newer node side by side. So every migration is one
//! of two kinds:
//!
//! - **expand**: only adds (a table, a nullable or defaulted column, an
//!   index). Code that does not know it keeps working, so a node older
//!   than the database starts anyway.
//! - **contract**: removes or rewrites something (drops a column, renames,
//!   tightens a constraint). It ships only in a release after the one that
//!   stopped using what it removes, once no node of the release before is
//!   left. A node older than a contract migration in the database refuses
//!   to start ([`StoreError::TooNew`]): it would use what is gone.
//!
//! A change that needs both (renaming a column) is an expand (add the new
//! one; code writes both, reads the new) and, a release later, a contract
//! (drop the old one). Queries name their columns, never `SELECT *`, so an
//! added column changes no result.
//!
//! # One migrator at a time
//!
//! All pending migrations run in one transaction. On PostgreSQL it first
//! takes an advisory lock (`pg_advisory_xact_lock`), so nodes starting at
//! once queue: the first migrates, the others then find nothing to do. On
//! SQLite the transaction is `BEGIN IMMEDIATE`, which locks the file for
//! writing (only one process serves a SQLite database; the CLI may open it
//! beside the server).
//!
//! # SQLite's history
//!
//! Before this table, SQLite databases counted their migrations in `PRAGMA
//! user_version` (1 to 7, all expand). A database with a version and no
//! table has those rows filled in, and the pragma keeps following the
//! newest migration, so a Duet from before the table, which knows only the
//! pragma, refuses a database migrated past it rather than misread it.

use sqlx::{AnyConnection, AssertSqlSafe, Connection, Row};

use super::StoreError;
use super::location::Backend;

mod postgres;
mod sqlite;

/// Whether a migration only adds, or removes what older code may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Expand,
    /// None so far; the runner refuses one it does not know already.
    #[cfg_attr(not(test), allow(dead_code))]
    Contract,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Expand => "expand",
            Kind::Contract => "contract",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Migration {
    pub version: i64,
    pub kind: Kind,
    /// What it does, in a few words, as recorded.
    pub what: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

impl Migration {
    fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// Every migration, oldest first; the last one's number is the schema
/// version this code knows.
pub(super) const ALL: &[Migration] = &[
    Migration {
        version: 1,
        kind: Kind::Expand,
        what: "sessions and API keys",
        sqlite: sqlite::V1,
        postgres: postgres::V1,
    },
    Migration {
        version: 2,
        kind: Kind::Expand,
        what: "the consent trail and recordings",
        sqlite: sqlite::V2,
        postgres: postgres::V2,
    },
    Migration {
        version: 3,
        kind: Kind::Expand,
        what: "admins, the audit log, the policy and notices",
        sqlite: sqlite::V3,
        postgres: postgres::V3,
    },
    Migration {
        version: 4,
        kind: Kind::Expand,
        what: "transcription jobs",
        sqlite: sqlite::V4,
        postgres: postgres::V4,
    },
    Migration {
        version: 5,
        kind: Kind::Expand,
        what: "mentoring pairs",
        sqlite: sqlite::V5,
        postgres: postgres::V5,
    },
    Migration {
        version: 6,
        kind: Kind::Expand,
        what: "call history",
        sqlite: sqlite::V6,
        postgres: postgres::V6,
    },
    Migration {
        version: 7,
        kind: Kind::Expand,
        what: "moments",
        sqlite: sqlite::V7,
        postgres: postgres::V7,
    },
    Migration {
        version: 8,
        kind: Kind::Expand,
        what: "nodes and placements",
        sqlite: sqlite::V8,
        postgres: postgres::V8,
    },
    Migration {
        version: 9,
        kind: Kind::Expand,
        what: "the writer of each consent event",
        sqlite: sqlite::V9,
        postgres: postgres::V9,
    },
    Migration {
        version: 10,
        kind: Kind::Expand,
        what: "shared secrets",
        sqlite: sqlite::V10,
        postgres: postgres::V10,
    },
    Migration {
        version: 11,
        kind: Kind::Expand,
        what: "cluster chores",
        sqlite: sqlite::V11,
        postgres: postgres::V11,
    },
    Migration {
        version: 12,
        kind: Kind::Expand,
        what: "the node writing each recording",
        sqlite: sqlite::V12,
        postgres: postgres::V12,
    },
    Migration {
        version: 13,
        kind: Kind::Expand,
        what: "the language of each notice text",
        sqlite: sqlite::V13,
        postgres: postgres::V13,
    },
];

/// The ledger; the same text suits both engines.
const LEDGER: &str = "CREATE TABLE IF NOT EXISTS duet_migrations (
        version BIGINT PRIMARY KEY,
        kind TEXT NOT NULL,
        what TEXT NOT NULL,
        applied_at_ms BIGINT NOT NULL
    )";

/// The PostgreSQL advisory lock migrating nodes queue on ("duetmigr").
const LOCK_KEY: i64 = 0x6475_6574_6d69_6772;

/// Brings the schema up to `list`, or refuses a database that has a
/// contract migration beyond it.
pub(super) async fn migrate(
    conn: &mut AnyConnection,
    backend: Backend,
    list: &[Migration],
) -> Result<(), StoreError> {
    let known = list.last().map_or(0, |m| m.version);
    let mut tx = match backend {
        Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => conn.begin().await?,
    };
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *tx)
            .await?;
    }
    if !ledger_exists(&mut tx, backend).await? {
        sqlx::raw_sql(LEDGER).execute(&mut *tx).await?;
    }
    if backend == Backend::Sqlite {
        adopt_user_version(&mut tx, list).await?;
    }
    let applied: Vec<(i64, String)> =
        sqlx::query("SELECT version, kind FROM duet_migrations ORDER BY version")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
    if let Some((found, _)) = applied
        .iter()
        .find(|(v, kind)| *v > known && kind.as_str() != Kind::Expand.as_str())
    {
        return Err(StoreError::TooNew {
            found: *found,
            known,
        });
    }
    let newest = applied.last().map_or(0, |(v, _)| *v);
    if newest > known {
        tracing::info!(
            newest,
            known,
            "the database has newer migrations, all additive: starting"
        );
    }
    for m in list.iter().filter(|m| m.version > newest) {
        tracing::info!(version = m.version, what = m.what, "migrating the database");
        let failed = |reason| StoreError::Migration {
            version: m.version,
            what: m.what,
            reason,
        };
        sqlx::raw_sql(m.sql(backend))
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        record(&mut tx, m).await.map_err(failed)?;
        if backend == Backend::Sqlite {
            set_user_version(&mut tx, m.version).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Whether the ledger is there. Asked rather than `CREATE TABLE IF NOT
/// EXISTS`, which PostgreSQL refuses to a role that may not create tables
/// (an app role that only reads and writes, see docs/operating.md) even
/// when the table exists.
async fn ledger_exists(conn: &mut AnyConnection, backend: Backend) -> Result<bool, sqlx::Error> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'duet_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM pg_catalog.pg_tables
             WHERE schemaname = current_schema() AND tablename = 'duet_migrations'"
        }
    };
    let n: i64 = sqlx::query_scalar(sql).fetch_one(conn).await?;
    Ok(n > 0)
}

async fn record(conn: &mut AnyConnection, m: &Migration) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO duet_migrations (version, kind, what, applied_at_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(m.version)
    .bind(m.kind.as_str())
    .bind(m.what)
    .bind(crate::clock::now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Fills in the ledger of a SQLite database made before it, from `PRAGMA
/// user_version` (migrations 1 to 7 were all expand).
async fn adopt_user_version(
    conn: &mut AnyConnection,
    list: &[Migration],
) -> Result<(), StoreError> {
    let rows: i64 = sqlx::query("SELECT COUNT(*) FROM duet_migrations")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    let version: i64 = sqlx::query("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if rows > 0 || version == 0 {
        return Ok(());
    }
    let known = list.last().map_or(0, |m| m.version);
    if version > known {
        return Err(StoreError::TooNew {
            found: version,
            known,
        });
    }
    for m in list.iter().filter(|m| m.version <= version) {
        record(conn, m).await?;
    }
    Ok(())
}

async fn set_user_version(conn: &mut AnyConnection, version: i64) -> Result<(), sqlx::Error> {
    // A pragma takes no parameters; `version` is a number of ours.
    sqlx::raw_sql(AssertSqlSafe(format!("PRAGMA user_version = {version}")))
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
