use super::*;

fn sample() -> Manifest {
    Manifest {
        id: "r1".into(),
        session: ManifestSession {
            id: "s1".into(),
            title: "Weekly".into(),
        },
        participants: vec![],
        notice_hash: "h".into(),
        status: ManifestStatus::Recording,
        started_at: "2026-11-23T00:00:00Z".into(),
        stopped_at: None,
        stop_reason: None,
        tracks: vec![ManifestTrack {
            file: "mentor-audio.ogg".into(),
            role: "mentor".into(),
            kind: "audio".into(),
            codec: "opus".into(),
            start_offset_s: 0.1,
            duration_s: 2.0,
            packets: 100,
        }],
        transcripts: vec![],
        talk_time: BTreeMap::new(),
        dropped_packets: 0,
        notes: vec![],
        consent: vec![],
        transcript: None,
        media_deleted: None,
    }
}

#[test]
fn round_trips_atomically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = sample();
    write(dir.path(), &m).expect("write");
    assert_eq!(read(dir.path()).expect("read"), m);
    assert!(!dir.path().join("manifest.json.tmp").exists());
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(FILE_NAME)).expect("bytes"))
            .expect("json");
    assert_eq!(v["status"], "recording");
}

#[test]
fn lists_only_its_own_files() {
    let m = sample();
    let files: Vec<&str> = m.files().collect();
    assert_eq!(files, vec!["manifest.json", "mentor-audio.ogg"]);
}
