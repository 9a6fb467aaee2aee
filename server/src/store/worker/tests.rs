use std::sync::mpsc;

use super::*;

/// A worker whose thread is held in its first job until `release` is sent.
fn held_worker() -> (Worker, mpsc::Sender<()>) {
    let conn = Arc::new(Mutex::new(
        Connection::open_in_memory().expect("in-memory db"),
    ));
    let worker = Worker::spawn(conn).expect("thread");
    let (release, held) = mpsc::channel::<()>();
    worker
        .push(
            Lane::Urgent,
            Box::new(move |_| {
                let _ = held.recv();
            }),
        )
        .expect("queued");
    (worker, release)
}

// Without the cap, the normal lane grew without bound.
#[test]
fn normal_lane_is_capped_and_urgent_lane_is_not() {
    let (worker, release) = held_worker();
    for _ in 0..NORMAL_QUEUE {
        worker
            .push(Lane::Normal, Box::new(|_| {}))
            .expect("under the cap");
    }
    assert_eq!(
        worker.push(Lane::Normal, Box::new(|_| {})),
        Err(PushError::Full)
    );
    for _ in 0..NORMAL_QUEUE {
        worker
            .push(Lane::Urgent, Box::new(|_| {}))
            .expect("never capped");
    }
    let _ = release.send(());
}

// Without the check, a query whose caller had gone still ran, holding up
// every query queued behind it.
#[tokio::test]
async fn a_query_whose_caller_went_away_is_skipped() {
    use futures_util::FutureExt;
    use std::sync::atomic::{AtomicBool, Ordering};

    use crate::store::{Fault, Store};

    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db")).expect("open");
    // Holds the thread long enough for the next query to be abandoned.
    store.inject(Fault::Slow(std::time::Duration::from_millis(200)));
    let slow = tokio::spawn({
        let store = store.clone();
        async move { store.call(|_| Ok(())).await }
    });
    tokio::task::yield_now().await;
    store.inject(Fault::None);
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    // Polled once (queued), then dropped: its caller is gone.
    let abandoned = store
        .call(move |_| {
            flag.store(true, Ordering::SeqCst);
            Ok(())
        })
        .now_or_never();
    assert!(abandoned.is_none(), "the thread is held by the slow query");
    let _ = slow.await;
    store.call(|_| Ok(())).await.expect("a later query runs");
    assert!(
        !ran.load(Ordering::SeqCst),
        "the abandoned query was skipped"
    );
}
