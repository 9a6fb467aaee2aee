//! Tests of `discard`: a discard marked durably survives a crash and is
//! carried out by the next start's recovery.

use duet_signaling::consent::{ConsentAction, ConsentEvent, NoticeHash, RecordingId};
use duet_signaling::{ParticipantId, Role, SessionId, UnixMillis};

use super::*;
use crate::store::RecordingRowStatus;

const NOW_MS: i64 = 1_900_000_000_000;

/// A recording as a crash leaves it: row in `recording`, consents in the
/// trail, a folder with a manifest and a track file.
async fn open_recording(store: &Store, root: &Path, session: SessionId) -> RecordingId {
    let id = RecordingId(uuid::Uuid::new_v4());
    store
        .insert_recording(id, session, NOW_MS - 60_000, "")
        .await
        .expect("insert");
    for role in [Role::Mentor, Role::Mentee] {
        let event = ConsentEvent {
            recording: id,
            action: ConsentAction::Consent,
            actor: Some((role, ParticipantId(uuid::Uuid::new_v4()))),
            at: UnixMillis(NOW_MS - 61_000),
            notice: NoticeHash("v1".into()),
            detail: None,
        };
        store
            .append_consent(session, &event)
            .await
            .expect("consent");
    }
    let dir = root.join(id.to_string());
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("mentor-audio.ogg"), b"OggS").expect("file");
    id
}

async fn recover_now(root: &Path, store: &Store) {
    let (root, store) = (root.to_path_buf(), store.clone());
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        super::super::recovery::recover(&root, &store, &runtime, "")
    })
    .await
    .expect("recovery ran");
}

#[tokio::test]
async fn a_discard_marked_before_a_crash_is_carried_out_at_the_next_start() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(tmp.path()).await;
    let root = tmp.path().join("recordings");
    let session = SessionId(uuid::Uuid::new_v4());
    let discarded = open_recording(&store, &root, session).await;
    let kept = open_recording(&store, &root, session).await;

    mark(&root, discarded).expect("marked");
    assert!(is_marked(&root, discarded));
    // The crash: nothing else happened. Then the next start:
    recover_now(&root, &store).await;

    assert!(!root.join(discarded.to_string()).exists(), "files deleted");
    assert!(!is_marked(&root, discarded), "marker cleared once done");
    let row = store
        .recording(discarded)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.status, RecordingRowStatus::Deleted);
    assert_eq!(row.deleted_by.as_deref(), Some("participant"));
    let trail = store.recording_trail(discarded).await.expect("trail");
    assert_eq!(trail.len(), 3, "the consents stay, the discard is added");
    assert_eq!(trail[2].action, "discard");
    assert_eq!(trail[2].notice_hash, "v1");

    // The other recording is recovered as interrupted, not deleted.
    let other = store.recording(kept).await.expect("read").expect("row");
    assert_eq!(other.status, RecordingRowStatus::Interrupted);
    assert!(root.join(kept.to_string()).exists());
}

#[tokio::test]
async fn a_stored_discard_is_not_recorded_twice() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(tmp.path()).await;
    let root = tmp.path().join("recordings");
    let session = SessionId(uuid::Uuid::new_v4());
    let id = open_recording(&store, &root, session).await;
    let by_mentee = ConsentEvent {
        recording: id,
        action: ConsentAction::Discard,
        actor: Some((Role::Mentee, ParticipantId(uuid::Uuid::new_v4()))),
        at: UnixMillis(NOW_MS),
        notice: NoticeHash("v1".into()),
        detail: None,
    };
    store
        .append_consent(session, &by_mentee)
        .await
        .expect("discard");
    mark(&root, id).expect("marked");
    recover_now(&root, &store).await;

    let trail = store.recording_trail(id).await.expect("trail");
    let discards: Vec<_> = trail.iter().filter(|e| e.action == "discard").collect();
    assert_eq!(discards.len(), 1);
    assert_eq!(discards[0].role.as_deref(), Some("mentee"));
    assert!(!root.join(id.to_string()).exists());
}

#[test]
fn markers_sit_beside_the_folder_and_clearing_twice_is_harmless() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let id = RecordingId(uuid::Uuid::new_v4());
    mark(tmp.path(), id).expect("marked");
    assert_eq!(
        marker_path(tmp.path(), id)
            .file_name()
            .and_then(|n| n.to_str()),
        Some(format!("{id}.discard").as_str())
    );
    assert_eq!(pending(tmp.path()), vec![id]);
    clear(tmp.path(), id).expect("cleared");
    clear(tmp.path(), id).expect("cleared again");
    assert!(pending(tmp.path()).is_empty());
}
