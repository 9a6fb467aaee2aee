//! What holds for the store as a whole, on whichever engine the tests run
//! against: the append-only tables refuse every rewrite; SQLite's
//! connections are durable.

use super::*;

async fn refused(store: &Store, sql: &'static str, why: &str) {
    let err = store.execute_raw(sql).await.expect_err(sql);
    assert!(err.to_string().contains(why), "{sql}: {err}");
}

fn new_notice(hash: &str, text: &str, language: &str, now_ms: i64, by: &str) -> NewNotice {
    NewNotice {
        hash: hash.into(),
        text: text.into(),
        language: language.into(),
        now_ms,
        created_by: by.into(),
    }
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
        .notice_version(&new_notice("h", "We record.", "", 1, "config"))
        .await
        .expect("notice");
    refused(&store, "UPDATE admin_audit SET actor = 'x'", "append-only").await;
    refused(&store, "DELETE FROM admin_audit", "append-only").await;
    refused(&store, "UPDATE notices SET text = 'x'", "never rewritten").await;
    if store.backend() == Backend::Postgres {
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
            .notice_version(&new_notice("a", "A.", "", 1, "config"))
            .await
            .expect("a");
        assert_eq!(v.version, 1);
    }
    // PostgreSQL draws an identity value at every attempted insert: the
    // repeats above must not have tried.
    let b = store
        .notice_version(&new_notice("b", "B.", "", 2, "admin"))
        .await
        .expect("b");
    assert_eq!(b.version, 2);
    // A translation is a version of its own and keeps its language.
    let es = store
        .notice_version(&new_notice("c", "C (es).", "es", 3, "admin"))
        .await
        .expect("es");
    assert_eq!((es.version, es.language.as_str()), (3, "es"));
    let all = store.notices().await.expect("notices");
    let languages: Vec<&str> = all.iter().map(|n| n.language.as_str()).collect();
    assert_eq!(languages, ["es", "", ""]);
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

/// The grants docs/operating.md gives a server role that must not change
/// the schema; `{app}`, `{password}` and `{db}` filled in.
const APP_GRANTS: &str = "CREATE ROLE {app} LOGIN PASSWORD '{password}';
    GRANT CONNECT ON DATABASE {db} TO {app};
    GRANT USAGE ON SCHEMA public TO {app};
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app};";

// The documented split: the schema's owner migrates, the server's role
// only reads and writes, and cannot get around the append-only rules.
#[tokio::test]
async fn a_server_role_with_the_documented_grants_works_but_cannot_rewrite_the_trail() {
    use sqlx::{AnyConnection, Connection};

    let Some(db) = scratch::ScratchDatabase::create().await.expect("scratch") else {
        return; // PostgreSQL only
    };
    Store::open_at(&db.location())
        .await
        .expect("the owner migrates");
    let mut owner_url = url::Url::parse(db.url()).expect("url");
    let name = owner_url.path().trim_start_matches('/').to_string();
    // Roles belong to the whole (throwaway) cluster: a name of its own.
    let app = format!("duet_app_{}", uuid::Uuid::new_v4().simple());
    let grants = APP_GRANTS
        .replace("{app}", &app)
        .replace("{password}", "app-pw")
        .replace("{db}", &name);
    let mut owner = AnyConnection::connect(db.url()).await.expect("owner");
    sqlx::raw_sql(sqlx::AssertSqlSafe(grants))
        .execute(&mut owner)
        .await
        .expect("grants");
    owner.close().await.expect("close");
    owner_url.set_username(&app).expect("user");
    owner_url.set_password(Some("app-pw")).expect("password");
    let app_location = Location::Postgres(owner_url.to_string());

    let store = Store::open_at(&app_location)
        .await
        .expect("the app role starts");
    store
        .audit(1, "cli", "admin_create", None, None)
        .await
        .expect("the app role writes");
    refused(&store, "UPDATE admin_audit SET actor = 'x'", "append-only").await;
    refused(&store, "TRUNCATE admin_audit", "permission denied").await;
    refused(
        &store,
        "ALTER TABLE admin_audit DISABLE TRIGGER admin_audit_no_update",
        "owner",
    )
    .await;
    refused(
        &store,
        "DROP TRIGGER admin_audit_no_update ON admin_audit",
        "owner",
    )
    .await;

    // A new migration needs the owner: the app role is told how.
    let next = migrations::ALL.len() as i64 + 1;
    let mut newer = migrations::ALL.to_vec();
    newer.push(migrations::Migration {
        version: next,
        kind: migrations::Kind::Expand,
        what: "a later table",
        sqlite: "",
        postgres: "CREATE TABLE later (id TEXT PRIMARY KEY)",
    });
    match Store::open_with(&app_location, &newer).await {
        Err(e @ StoreError::Migration { version, .. }) if version == next => {
            assert!(e.to_string().contains("duet migrate"), "{e}");
        }
        Err(e) => panic!("another error: {e}"),
        Ok(_) => panic!("the app role changed the schema"),
    }
}
