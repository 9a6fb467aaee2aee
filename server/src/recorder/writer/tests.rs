//! Tests of `writer`: a participant's discard is carried out however the
//! writing ended, and its marker is durable before the files are touched.

use std::sync::mpsc;

use super::*;
use crate::recorder::discard;
use crate::recorder::limits::LimitReached;

fn id() -> RecordingId {
    RecordingId(uuid::Uuid::new_v4())
}

#[test]
fn a_discard_after_the_writer_stopped_on_its_own_is_carried_out() {
    // Fails without the fix: a Limit outcome ignored the queued discard.
    let root = tempfile::tempdir().expect("tempdir");
    let id = id();
    let (tx, rx) = mpsc::channel();
    tx.send(Control::Stop { discard: true }).expect("send");
    let limit = Outcome::Limit(LimitReached::Size(1));
    assert!(settle_discard(&limit, &rx, root.path(), id));
    assert!(
        discard::is_marked(root.path(), id),
        "the writer wrote the marker"
    );
}

#[test]
fn a_failure_with_a_marker_already_on_disk_is_discarded() {
    let root = tempfile::tempdir().expect("tempdir");
    let id = id();
    discard::mark(root.path(), id).expect("mark");
    let (tx, rx) = mpsc::channel::<Control>();
    drop(tx);
    let failed = Outcome::Failed("disk".into());
    assert!(settle_discard(&failed, &rx, root.path(), id));
}

#[test]
fn a_plain_stop_after_a_failure_keeps_the_files() {
    let root = tempfile::tempdir().expect("tempdir");
    let id = id();
    let (tx, rx) = mpsc::channel();
    tx.send(Control::Stop { discard: false }).expect("send");
    let failed = Outcome::Failed("disk".into());
    assert!(!settle_discard(&failed, &rx, root.path(), id));
    assert!(!discard::is_marked(root.path(), id));
}

#[test]
fn a_discarding_stop_writes_its_marker_on_the_writer_thread() {
    // Item: the room only sends the stop; the marker comes from here.
    let root = tempfile::tempdir().expect("tempdir");
    let id = id();
    let (_tx, rx) = mpsc::channel::<Control>();
    let stopped = Outcome::Stopped { discard: true };
    assert!(settle_discard(&stopped, &rx, root.path(), id));
    assert!(discard::is_marked(root.path(), id));
}
