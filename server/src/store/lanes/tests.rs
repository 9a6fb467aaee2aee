//! The lanes' promises, on whichever engine the tests run against: the
//! consent path does not wait behind a burst, the normal lane is capped,
//! and a query whose caller went away never runs.

use std::time::{Duration, Instant};

use duet_signaling::SessionId;
use duet_signaling::consent::RecordingId;
use futures_util::FutureExt;

use crate::store::{Fault, SessionRecord, Store, StoreError};

fn session() -> SessionRecord {
    SessionRecord {
        id: SessionId(uuid::Uuid::new_v4()),
        title: "t".into(),
        mentor_name: "a".into(),
        mentee_name: "b".into(),
        mentor_link: "l1".into(),
        mentee_link: "l2".into(),
        recording: duet_signaling::protocol::RecordingPolicy::Off,
        created_at: 0,
        expires_at: 1,
        ended_at: None,
    }
}

/// Starts `n` normal writes.
fn burst(store: &Store, n: usize) -> Vec<tokio::task::JoinHandle<Result<(), StoreError>>> {
    (0..n)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.create_session(session()).await })
        })
        .collect()
}

async fn wait_until(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// Without the lanes (one queue, or SQLite's busy wait between two
// writers), the trail's read waited for the whole burst.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consent_path_does_not_wait_behind_a_burst() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    store.inject(Fault::SlowNormal(Duration::from_millis(100)));
    let burst = burst(&store, 80);
    // The burst has started: its callers hold their places.
    let lanes = store.inner.lanes.clone();
    wait_until(|| lanes.normal_permits() <= super::NORMAL_QUEUE - 80).await;
    tokio::time::sleep(Duration::from_millis(20)).await;

    let started = Instant::now();
    store
        .recording_trail(RecordingId(uuid::Uuid::new_v4()))
        .await
        .expect("trail");
    let took = started.elapsed();
    let left = burst.iter().filter(|t| !t.is_finished()).count();
    // 80 × 100 ms: one at a time on SQLite, 10 rounds of 8 on PostgreSQL.
    // The urgent read waited for at most the one running (and a loaded
    // machine's slack), not for the burst.
    assert!(took < Duration::from_millis(600), "took {took:?}");
    assert!(left > 0, "the burst was over before the urgent read");
    for t in burst {
        t.abort();
    }
}

// Without the cap, waiting normal callers grew without bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_normal_lane_is_capped_and_the_urgent_lane_is_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    store.inject(Fault::SlowNormal(Duration::from_secs(2)));
    let burst = burst(&store, super::NORMAL_QUEUE);
    let lanes = store.inner.lanes.clone();
    wait_until(|| lanes.normal_permits() == 0).await;

    let refused = store.session(SessionId(uuid::Uuid::new_v4())).await;
    assert!(matches!(refused, Err(StoreError::Busy)), "{refused:?}");
    // SQLite runs one query at a time: the urgent read waits for the
    // slow one running. PostgreSQL's urgent lane has its own connections.
    let trail = tokio::time::timeout(
        Duration::from_secs(6),
        store.recording_trail(RecordingId(uuid::Uuid::new_v4())),
    )
    .await;
    assert!(matches!(trail, Ok(Ok(_))), "{trail:?}");
    for t in &burst {
        t.abort();
    }
}

// A normal caller that waited past the limit is told `Busy`, not left
// hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_past_the_limit_is_busy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    let lanes = store.inner.lanes.clone();
    lanes.set_normal_wait(Duration::from_millis(200));
    // Every connection of the normal lane (SQLite: its one turn) is held
    // by a slow query.
    store.inject(Fault::SlowNormal(Duration::from_secs(3)));
    let holders = burst(&store, lanes.normal_size());
    wait_until(|| lanes.normal_permits() == super::NORMAL_QUEUE - lanes.normal_size()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let waited = store.session(SessionId(uuid::Uuid::new_v4())).await;
    assert!(matches!(waited, Err(StoreError::Busy)), "{waited:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    for t in holders {
        t.abort();
    }
}

// Without dropping abandoned callers, a query whose caller had gone still
// ran, holding up every query behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_whose_caller_went_away_never_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    // Holds SQLite's one turn long enough for the next query to be
    // abandoned while it waits.
    store.inject(Fault::Slow(Duration::from_millis(200)));
    let slow = tokio::spawn({
        let store = store.clone();
        async move { store.session(SessionId(uuid::Uuid::new_v4())).await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let abandoned = session();
    // Polled once (waiting for its turn, or in its slow start), then
    // dropped: its caller is gone.
    let once = store.create_session(abandoned.clone()).now_or_never();
    assert!(once.is_none(), "it was held up");
    store.inject(Fault::None);
    slow.await.expect("join").expect("the slow query");
    assert_eq!(
        store.session(abandoned.id).await.expect("read"),
        None,
        "the abandoned write never ran"
    );
}
