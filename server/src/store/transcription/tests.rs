use super::*;
use crate::store::RecordingRowStatus;
use duet_signaling::SessionId;
use duet_signaling::consent::RecordingId;

async fn store_with_recording() -> (tempfile::TempDir, Store, RecordingId) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    let id = RecordingId(uuid::Uuid::new_v4());
    store
        .insert_recording(id, SessionId(uuid::Uuid::new_v4()), 1_000, "")
        .await
        .expect("insert");
    store
        .set_recording_status(id, RecordingRowStatus::Complete, Some(2_000))
        .await
        .expect("status");
    (dir, store, id)
}

#[tokio::test]
async fn a_job_runs_once_and_a_running_one_resumes_after_a_restart() {
    let (_dir, store, id) = store_with_recording().await;
    store
        .queue_transcription(id.to_string(), 10)
        .await
        .expect("queue");
    // Queuing again while pending changes nothing.
    store
        .queue_transcription(id.to_string(), 20)
        .await
        .expect("queue");
    let job = store
        .claim_transcription(30)
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(job.status, JobStatus::Running);
    assert_eq!((job.queued_at_ms, job.attempts), (10, 1));
    assert!(
        store
            .claim_transcription(31)
            .await
            .expect("claim")
            .is_none()
    );
    // The server stopped mid-job: at the next start it is pending again.
    assert_eq!(store.resume_transcriptions().await.expect("resume"), 1);
    let job = store
        .claim_transcription(40)
        .await
        .expect("claim")
        .expect("again");
    assert_eq!(job.attempts, 2);
    store
        .finish_transcription(id.to_string(), JobStatus::Done, Some("en".into()), None, 50)
        .await
        .expect("finish");
    let job = store
        .transcription(id.to_string())
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        (job.status, job.progress, job.language.as_deref()),
        (JobStatus::Done, 1.0, Some("en"))
    );
    assert!(store.untranscribed().await.expect("missing").is_empty());
}

#[tokio::test]
async fn a_job_that_keeps_stopping_the_server_fails_for_good() {
    let (_dir, store, id) = store_with_recording().await;
    store
        .queue_transcription(id.to_string(), 10)
        .await
        .expect("queue");
    for _ in 0..MAX_ATTEMPTS {
        assert!(
            store
                .claim_transcription(20)
                .await
                .expect("claim")
                .is_some()
        );
        store.resume_transcriptions().await.expect("resume");
    }
    assert!(
        store
            .claim_transcription(30)
            .await
            .expect("claim")
            .is_none()
    );
    let job = store
        .transcription(id.to_string())
        .await
        .expect("read")
        .expect("row");
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(
        store.untranscribed().await.expect("missing"),
        vec![id.to_string()]
    );
}

#[tokio::test]
async fn jobs_of_deleted_recordings_are_cancelled_not_run() {
    let (_dir, store, id) = store_with_recording().await;
    store
        .queue_transcription(id.to_string(), 10)
        .await
        .expect("queue");
    store
        .mark_recording_deleted(id, 15, "admin".into())
        .await
        .expect("delete");
    assert!(
        store
            .claim_transcription(20)
            .await
            .expect("claim")
            .is_none()
    );
    let job = store
        .transcription(id.to_string())
        .await
        .expect("read")
        .expect("row");
    assert_eq!(job.status, JobStatus::Cancelled);
    assert!(store.untranscribed().await.expect("missing").is_empty());
}
