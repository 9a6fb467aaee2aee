use super::*;

const NOW: Duration = Duration::from_secs(5);

#[test]
fn only_a_settled_recording_goes_up() {
    use JobStatus as J;
    use ManifestStatus as M;
    use RecordingRowStatus as R;
    // Still being written, on disk or in the database.
    assert_eq!(
        step(M::Recording, Some(R::Complete), None, false, NOW),
        Step::Wait
    );
    assert_eq!(
        step(M::Complete, Some(R::Recording), None, false, NOW),
        Step::Wait
    );
    // Deleted or unknown: the folder is going, or the row is not stored.
    assert_eq!(
        step(M::Complete, Some(R::Deleted), None, false, NOW),
        Step::Wait
    );
    assert_eq!(step(M::Complete, None, None, false, NOW), Step::Wait);
    // A transcript being made needs the local files.
    for job in [J::Pending, J::Running] {
        assert_eq!(
            step(M::Complete, Some(R::Complete), Some(job), true, NOW),
            Step::Wait
        );
    }
    for job in [J::Done, J::Failed, J::Cancelled] {
        assert_eq!(
            step(M::Interrupted, Some(R::Interrupted), Some(job), true, NOW),
            Step::Upload
        );
    }
    // Transcription off: finished is settled.
    assert_eq!(
        step(M::Complete, Some(R::Complete), None, false, NOW),
        Step::Upload
    );
    // Transcription on but not queued yet: wait, within reason.
    assert_eq!(
        step(M::Complete, Some(R::Complete), None, true, NOW),
        Step::Wait
    );
    assert_eq!(
        step(M::Complete, Some(R::Complete), None, true, NO_JOB_GRACE),
        Step::Upload
    );
}
