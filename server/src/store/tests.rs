//! What holds for the store as a whole, on whichever engine the tests run
//! against: the append-only tables refuse every rewrite; SQLite's
//! connections are durable.

use super::*;

async fn refused(store: &Store, sql: &'static str, why: &str) {
    let err = store.execute_raw(sql).await.expect_err(sql);
    assert!(err.to_string().contains(why), "{sql}: {err}");
}

#[tokio::test]
async fn the_audit_log_and_notices_are_never_rewritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    store
        .audit(1, "cli", "admin_create", Some("ada".into()), None)
        .await
        .expect("audit");
    store
        .notice_version("h", "We record.", 1, "config")
        .await
        .expect("notice");
    refused(&store, "UPDATE admin_audit SET actor = 'x'", "append-only").await;
    refused(&store, "DELETE FROM admin_audit", "append-only").await;
    refused(&store, "UPDATE notices SET text = 'x'", "never rewritten").await;
    if store.engine() == Engine::Postgres {
        refused(&store, "TRUNCATE admin_audit", "append-only").await;
        refused(&store, "TRUNCATE consent_events", "append-only").await;
    }
    assert_eq!(store.audit_log(10).await.expect("log").len(), 1);
}

#[tokio::test]
async fn a_notice_already_stored_draws_no_new_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    for _ in 0..3 {
        let v = store
            .notice_version("a", "A.", 1, "config")
            .await
            .expect("a");
        assert_eq!(v.version, 1);
    }
    // PostgreSQL draws an identity value at every attempted insert: the
    // repeats above must not have tried.
    let b = store
        .notice_version("b", "B.", 2, "admin")
        .await
        .expect("b");
    assert_eq!(b.version, 2);
}

#[tokio::test]
async fn every_sqlite_connection_is_durable() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Spaces and a '#' in the folder: the path travels in a URL.
    let path = dir.path().join("a folder #1").join("duet.sqlite3");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let store = Store::open(&path).await.expect("open");
    assert!(path.is_file());
    for lane in [Lane::Urgent, Lane::Normal] {
        let mut c = store.conn(lane).await.expect("conn");
        let (journal,): (String,) = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(&mut *c)
            .await
            .expect("journal");
        let (synchronous,): (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(&mut *c)
            .await
            .expect("synchronous");
        let (keys,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
            .fetch_one(&mut *c)
            .await
            .expect("foreign keys");
        // FULL is 2.
        assert_eq!(
            (journal.as_str(), synchronous, keys),
            ("wal", 2, 1),
            "{lane:?}"
        );
    }
}

#[tokio::test]
async fn a_server_that_cannot_be_reached_is_named_without_its_password() {
    // Nothing listens on port 9 of loopback.
    let location = Location::Postgres("postgres://duet:hunter2@127.0.0.1:9/duet".into());
    let err = match Store::open_at(&location).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("connected to nothing"),
    };
    assert!(err.contains("database.url"), "{err}");
    assert!(err.contains("127.0.0.1:9"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
