//! Upgrades: a database made by the rusqlite code opens without loss;
//! expand migrations beyond a node's code let it start, contract ones do
//! not; nodes starting at once migrate once.

use std::path::Path;

use duet_signaling::consent::RecordingId;
use duet_signaling::{Role, SessionId};
use sqlx::{ConnectOptions, Connection};

use super::{ALL, Kind, Migration};
use crate::store::scratch::ScratchDatabase;
use crate::store::{Location, Store, StoreError};

/// What migrations 1 to 7 made, as rusqlite applied them.
const SCHEMA_V7: &str = include_str!("tests/schema_v7.sql");

const SESSION: &str = "5b0b5a2e-7c1e-4c53-9d3e-0f3f5d1a2b01";
const RECORDING: &str = "6c1c6b3f-8d2f-4d64-8e4f-1a4a6e2b3c02";
const PAIR: &str = "7d2d7c40-9e30-4e75-9f50-2b5b7f3c4d03";
const MESSAGE: &str = "8e3e8d51-af41-4f86-a061-3c6c804d5e04";
const MOMENT: &str = "9f4f9e62-b052-4097-b172-4d7d915e6f05";

/// Rows as the old code wrote them, one or more per table kind.
const OLD_ROWS: &str = "
    INSERT INTO sessions (id, title, mentor_name, mentee_name, mentor_link, mentee_link,
        recording, created_at, expires_at, pair_id)
        VALUES ('5b0b5a2e-7c1e-4c53-9d3e-0f3f5d1a2b01', 'Weekly', 'Ada', 'Grace', 'l1', 'l2',
        'allowed', 1700000000, 1800000000, '7d2d7c40-9e30-4e75-9f50-2b5b7f3c4d03');
    INSERT INTO consent_events (session_id, recording_id, action, role, participant_id,
        at_ms, notice_hash)
        VALUES ('5b0b5a2e-7c1e-4c53-9d3e-0f3f5d1a2b01', '6c1c6b3f-8d2f-4d64-8e4f-1a4a6e2b3c02',
        'consent', 'mentee', 'p1', 1700000001000, 'h1');
    INSERT INTO recordings (id, session_id, status, started_at_ms, stopped_at_ms)
        VALUES ('6c1c6b3f-8d2f-4d64-8e4f-1a4a6e2b3c02', '5b0b5a2e-7c1e-4c53-9d3e-0f3f5d1a2b01',
        'complete', 1700000002000, 1700000062000);
    INSERT INTO notices (hash, text, created_at_ms, created_by)
        VALUES ('h1', 'We record.', 1600000000000, 'config');
    INSERT INTO admin_audit (at_ms, actor, action, target) VALUES (1, 'cli', 'admin_create', 'ada');
    INSERT INTO transcription_jobs (recording_id, status, progress, queued_at_ms)
        VALUES ('6c1c6b3f-8d2f-4d64-8e4f-1a4a6e2b3c02', 'done', 1.0, 1700000070000);
    INSERT INTO pairs (id, title, recording, mentor_name, mentee_name, agreement_text,
        agreement_version, mentor_confirmed, created_at_ms)
        VALUES ('7d2d7c40-9e30-4e75-9f50-2b5b7f3c4d03', 'Pair', 'allowed', 'Ada', 'Grace',
        'Be kind.', 2, 2, 1600000000000);
    INSERT INTO pair_messages (id, pair_id, author, text, at_ms)
        VALUES ('8e3e8d51-af41-4f86-a061-3c6c804d5e04', '7d2d7c40-9e30-4e75-9f50-2b5b7f3c4d03',
        'mentor', 'hello', 1600000000001);
    INSERT INTO call_stats (session_id, first_joined_at_ms, together_since_ms, together_ms,
        mentor_talk_ms, mentee_talk_ms, updated_at_ms)
        VALUES ('5b0b5a2e-7c1e-4c53-9d3e-0f3f5d1a2b01', 10, 20, 60000, 30000, 20000, 70000);
    INSERT INTO moments (id, session_id, recording_id, clock, at_s, kind, author, visibility,
        text, created_at_ms, updated_at_ms)
        VALUES ('9f4f9e62-b052-4097-b172-4d7d915e6f05', '5b0b5a2e-7c1e-4c53-9d3e-0f3f5d1a2b01',
        NULL, 'session', 12.5, 'bookmark', 'mentor', 'shared', 'here', 5, 5);
";

/// Makes a SQLite file the way Duet did before PostgreSQL support.
async fn old_database(path: &Path) {
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .connect()
        .await
        .expect("old database");
    sqlx::raw_sql(SCHEMA_V7)
        .execute(&mut conn)
        .await
        .expect("old schema");
    sqlx::raw_sql(OLD_ROWS)
        .execute(&mut conn)
        .await
        .expect("old rows");
    conn.close().await.expect("close");
}

async fn ledger(store: &Store) -> Vec<(i64, String)> {
    sqlx::query_as("SELECT version, kind FROM duet_migrations ORDER BY version")
        .fetch_all(&mut *store.normal().await.expect("conn"))
        .await
        .expect("ledger")
}

#[tokio::test]
async fn a_database_made_by_the_old_code_opens_with_every_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("duet.sqlite3");
    old_database(&path).await;
    let store = Store::open(&path).await.expect("open");

    let session = SessionId(uuid::Uuid::parse_str(SESSION).expect("id"));
    let s = store.session(session).await.expect("read").expect("row");
    assert_eq!((s.title.as_str(), s.created_at), ("Weekly", 1_700_000_000));
    let trail = store.consent_trail(session).await.expect("trail");
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].role.as_deref(), Some("mentee"));
    let recording = RecordingId(uuid::Uuid::parse_str(RECORDING).expect("id"));
    let r = store
        .recording(recording)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(r.stopped_at_ms, Some(1_700_000_062_000));
    let job = store
        .transcription(RECORDING.into())
        .await
        .expect("read")
        .expect("job");
    assert_eq!(job.progress, 1.0);
    assert_eq!(store.notices().await.expect("notices")[0].version, 1);
    assert_eq!(
        store.audit_log(10).await.expect("audit")[0]
            .target
            .as_deref(),
        Some("ada")
    );
    let pair = crate::pairs::PairId(uuid::Uuid::parse_str(PAIR).expect("id"));
    let p = store.pair(pair).await.expect("read").expect("pair");
    assert_eq!((p.agreement.version, p.agreement.confirmed), (2, [2, 0]));
    let messages = store.messages(pair, 10).await.expect("messages");
    assert_eq!(messages[0].id.to_string(), MESSAGE);
    let stats = store.call_stats(session).await.expect("read").expect("row");
    assert_eq!(stats.together_ms, 60_000);
    let moments = store
        .session_moments(session, Role::Mentee)
        .await
        .expect("moments");
    assert_eq!(
        (moments[0].id.to_string().as_str(), moments[0].at_s),
        (MOMENT, 12.5)
    );

    // New rows go after the old ones; the old rules still hold.
    let m = store
        .add_message(pair, Role::Mentee, "hi".into(), 2, 100)
        .await
        .expect("add");
    assert!(m.seq > messages[0].seq);
    let err = store
        .execute_raw("DELETE FROM consent_events")
        .await
        .expect_err("append-only");
    assert!(err.to_string().contains("append-only"), "{err}");
    let kinds: Vec<i64> = ledger(&store).await.iter().map(|(v, _)| *v).collect();
    assert_eq!(kinds, (1..=ALL.len() as i64).collect::<Vec<_>>());
}

/// A location for two stores to share: a scratch PostgreSQL database (kept
/// by the caller) or a SQLite file.
async fn shared(dir: &Path) -> (Location, Option<ScratchDatabase>) {
    let scratch = ScratchDatabase::create().await.expect("scratch database");
    let location = match &scratch {
        Some(db) => db.location(),
        None => Location::Sqlite(dir.join("db")),
    };
    (location, scratch)
}

fn later(version: i64, kind: Kind, sql: &'static str) -> Migration {
    Migration {
        version,
        kind,
        what: "a later change",
        sqlite: sql,
        postgres: sql,
    }
}

#[tokio::test]
async fn an_older_node_starts_after_expand_and_refuses_after_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (location, _scratch) = shared(dir.path()).await;
    let known = ALL.len() as i64;
    let mut newer = ALL.to_vec();
    newer.push(later(
        known + 1,
        Kind::Expand,
        "CREATE TABLE later (id TEXT PRIMARY KEY)",
    ));
    Store::open_with(&location, &newer)
        .await
        .expect("newer node");
    let older = Store::open_with(&location, ALL)
        .await
        .expect("an older node starts");
    assert_eq!(ledger(&older).await.len(), ALL.len() + 1);

    newer.push(later(known + 2, Kind::Contract, "DROP TABLE later"));
    Store::open_with(&location, &newer)
        .await
        .expect("newer node");
    match Store::open_with(&location, ALL).await {
        Err(StoreError::TooNew { found, known: k }) => assert_eq!((found, k), (known + 2, known)),
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("an older node started after a contract migration"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_at_once_migrate_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (location, _scratch) = shared(dir.path()).await;
    let (a, b, c) = tokio::join!(
        Store::open_at(&location),
        Store::open_at(&location),
        Store::open_at(&location)
    );
    let (a, _b, _c) = (a.expect("a"), b.expect("b"), c.expect("c"));
    let applied = ledger(&a).await;
    assert_eq!(applied.len(), ALL.len(), "{applied:?}");
    assert!(applied.iter().all(|(_, kind)| kind == "expand"));
}
