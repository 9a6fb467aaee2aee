//! Tests of `policy`: concurrent admin changes do not undo each other.

use std::time::Duration;

use super::*;
use crate::store::Fault;

fn policies() -> Policies {
    Policies {
        current: Arc::new(RwLock::new(Policy {
            recording_allowed: true,
            retention_days: 30,
            notice: Notice::new("This call is recorded."),
            notice_version: 1,
        })),
        changes: Arc::new(watch::Sender::new(0)),
        updating: Arc::new(tokio::sync::Mutex::new(())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_updates_of_different_fields_both_survive() {
    // Fails without the update lock: both read the old policy before
    // either stored, and the later write put the earlier field back.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    store.inject(Fault::Slow(Duration::from_millis(200)));
    let p = policies();
    let off = PolicyChange {
        recording_allowed: Some(false),
        ..Default::default()
    };
    let days = PolicyChange {
        retention_days: Some(7),
        ..Default::default()
    };
    let (a, b) = tokio::join!(
        p.update(&store, off, "a", 0),
        p.update(&store, days, "b", 0)
    );
    a.expect("first update");
    b.expect("second update");
    let now = p.current();
    assert!(!now.recording_allowed, "the first change was lost");
    assert_eq!(now.retention_days, 7, "the second change was lost");
}
