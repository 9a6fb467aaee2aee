//! Schema versions, applied in order and recorded in `PRAGMA user_version`.

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: sessions and API keys.
    "CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        mentor_name TEXT NOT NULL,
        mentee_name TEXT NOT NULL,
        mentor_link TEXT NOT NULL,
        mentee_link TEXT NOT NULL,
        recording TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        ended_at INTEGER
    );
    CREATE INDEX sessions_created ON sessions (created_at);
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    );",
];

pub(super) fn migrate(conn: &rusqlite::Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
