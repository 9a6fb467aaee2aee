//! Tests of `retention`.

use duet_signaling::consent::{ConsentAction, ConsentEvent, NoticeHash, RecordingId};
use duet_signaling::{ParticipantId, Role, SessionId, UnixMillis};

use super::*;
use crate::metrics::Metrics;
use crate::store::RecordingRowStatus;

const NOW_MS: i64 = 1_900_000_000_000;

async fn finished_recording(
    store: &Store,
    recorders: &Recorders,
    session: SessionId,
    age_days: i64,
) -> RecordingId {
    let id = RecordingId(uuid::Uuid::new_v4());
    let started = NOW_MS - age_days * DAY_MS;
    store
        .insert_recording(id, session, started, "")
        .await
        .expect("insert");
    store
        .set_recording_status(id, RecordingRowStatus::Complete, Some(started + 60_000))
        .await
        .expect("complete");
    // The consents it was made under.
    for role in [Role::Mentor, Role::Mentee] {
        let event = ConsentEvent {
            recording: id,
            action: ConsentAction::Consent,
            actor: Some((role, ParticipantId(uuid::Uuid::new_v4()))),
            at: UnixMillis(started - 1000),
            notice: NoticeHash("v1".into()),
            detail: None,
        };
        store
            .append_consent(session, &event)
            .await
            .expect("consent");
    }
    let dir = recorders.dir_of(id);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("mentor-audio.ogg"), b"OggS").expect("file");
    id
}

#[tokio::test]
async fn deletes_what_is_past_retention_keeps_the_rest_and_records_each_deletion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    let recorders = Recorders::new(
        dir.path().join("recordings"),
        store.clone(),
        Metrics::new(dir.path().to_path_buf()),
    );
    let session = SessionId(uuid::Uuid::new_v4());
    let old = finished_recording(&store, &recorders, session, 31).await;
    let recent = finished_recording(&store, &recorders, session, 29).await;

    assert_eq!(
        sweep(&store, &recorders, 30, NOW_MS).await.expect("sweep"),
        1
    );
    assert!(!recorders.dir_of(old).exists(), "expired files deleted");
    assert!(recorders.dir_of(recent).exists(), "recent files kept");
    let row = store
        .recording(old)
        .await
        .expect("read")
        .expect("row stays");
    assert_eq!(row.status, RecordingRowStatus::Deleted);
    assert_eq!(row.deleted_by.as_deref(), Some("server"));
    let kept = store.recording(recent).await.expect("read").expect("row");
    assert_eq!(kept.status, RecordingRowStatus::Complete);

    let trail = store.consent_trail(session).await.expect("trail");
    // Both stay visible in the trail: what was agreed, and what was deleted.
    for id in [old, recent] {
        let consents = trail
            .iter()
            .filter(|e| e.recording_id == id.to_string() && e.action == "consent")
            .count();
        assert_eq!(consents, 2, "{trail:?}");
    }
    let deletions: Vec<_> = trail.iter().filter(|e| e.action == "discard").collect();
    assert_eq!(deletions.len(), 1, "{trail:?}");
    assert_eq!(deletions[0].recording_id, old.to_string());
    assert_eq!(deletions[0].actor.as_deref(), Some("server"));
    assert!(
        deletions[0]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("30-day retention")),
        "{:?}",
        deletions[0]
    );

    // A second sweep finds nothing new; 0 days keeps everything.
    assert_eq!(
        sweep(&store, &recorders, 30, NOW_MS).await.expect("sweep"),
        0
    );
    assert_eq!(
        sweep(&store, &recorders, 0, NOW_MS + 1000 * DAY_MS)
            .await
            .expect("sweep"),
        0
    );
    assert!(recorders.dir_of(recent).exists());
}
