use std::collections::BTreeMap;
use std::sync::Arc;

use object_store::memory::InMemory;

use super::*;
use crate::recorder::manifest::{
    ManifestSession, ManifestStatus, ManifestTrack, ManifestTranscriptFiles,
};

#[test]
fn storage_urls_name_a_bucket_and_a_prefix() {
    let ok = |url: &str| parse_storage_url(url).expect(url);
    assert_eq!(
        ok("s3://duet-recordings"),
        ("duet-recordings".into(), "".into())
    );
    assert_eq!(
        ok("s3://duet-recordings/"),
        ("duet-recordings".into(), "".into())
    );
    assert_eq!(
        ok("s3://rec.example/eu/duet/"),
        ("rec.example".into(), "eu/duet".into())
    );
    for bad in [
        "",
        "duet-recordings",
        "https://s3.amazonaws.com/duet",
        "s3://",
        "s3://ab",
        "s3://Upper",
        "s3://-dash",
        "s3://under_score",
        "s3://bucket/a//b",
        "s3://bucket/../up",
        "s3://bucket/./here",
    ] {
        let err = parse_storage_url(bad).expect_err(bad);
        assert!(err.contains("s3://bucket/prefix"), "{bad:?}: {err}");
    }
}

fn manifest(status: ManifestStatus) -> Manifest {
    let track = |file: &str, role: &str, kind: &str| ManifestTrack {
        file: file.into(),
        role: role.into(),
        kind: kind.into(),
        codec: "opus".into(),
        start_offset_s: 0.0,
        duration_s: 1.0,
        packets: 50,
    };
    Manifest {
        id: "r1".into(),
        session: ManifestSession {
            id: "s1".into(),
            title: "Weekly".into(),
        },
        participants: vec![],
        notice_hash: "h".into(),
        status,
        started_at: "2026-12-06T00:00:00Z".into(),
        stopped_at: None,
        stop_reason: None,
        tracks: vec![
            track("mentor-audio.ogg", "mentor", "audio"),
            // Listed, never written: no packet came.
            track("mentee-screen.webm", "mentee", "screen"),
        ],
        transcripts: vec![],
        talk_time: BTreeMap::new(),
        dropped_packets: 0,
        notes: vec![],
        consent: vec![],
        transcript: Some(ManifestTranscriptFiles {
            language: Some("en".into()),
            model: "ggml-tiny.en.bin".into(),
            files: vec!["transcript.json".into()],
            segments: 1,
        }),
        media_deleted: None,
    }
}

/// A recording folder as the writer leaves it: a manifest, an audio file
/// larger than one upload part, a transcript.
fn recording(root: &Path, id: &str) -> (PathBuf, Vec<u8>) {
    let dir = root.join(id);
    std::fs::create_dir_all(&dir).expect("dir");
    manifest::write(&dir, &manifest(ManifestStatus::Complete)).expect("manifest");
    let audio: Vec<u8> = (0..12 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("mentor-audio.ogg"), &audio).expect("audio");
    std::fs::write(dir.join("transcript.json"), br#"{"segments":[]}"#).expect("transcript");
    std::fs::write(dir.join("stray.tmp"), b"not listed").expect("stray");
    (dir, audio)
}

use std::path::PathBuf;

async fn keys(store: &InMemory) -> Vec<String> {
    let mut listed = store.list(None);
    let mut out = Vec::new();
    while let Some(meta) = listed.next().await {
        out.push(meta.expect("meta").location.to_string());
    }
    out.sort();
    out
}

#[tokio::test]
async fn an_upload_puts_every_listed_file_then_removes_the_folder() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = Arc::new(InMemory::new());
    let archive = Archive::on(store.clone(), "/eu/duet/");
    let id = "6f1c1a9e-8a51-4f7e-9d0b-2d4f7a1c9e01";
    let (dir, audio) = recording(tmp.path(), id);

    let bytes = archive.upload(id, &dir).await.expect("upload");
    assert!(bytes > audio.len() as u64, "{bytes}");
    assert!(
        !dir.exists(),
        "the local folder is removed once the bucket has it"
    );
    let prefix = format!("eu/duet/recordings/{id}");
    assert_eq!(
        keys(&store).await,
        [
            format!("{prefix}/manifest.json"),
            format!("{prefix}/mentor-audio.ogg"),
            format!("{prefix}/transcript.json"),
        ],
        "listed files only; the never-written track and the stray file are not objects"
    );

    // Reading fetches the manifest and transcript back, marked as a copy
    // with every object's size; media only when asked for.
    archive
        .fetch_manifest(id, &dir)
        .await
        .expect("fetch manifest");
    assert!(is_copy(&dir));
    assert_eq!(manifest::read(&dir).expect("manifest").id, "r1");
    assert!(dir.join("transcript.json").is_file());
    assert!(!dir.join("mentor-audio.ogg").exists());
    let sizes = stored_sizes(&dir).expect("sizes");
    assert_eq!(sizes.get("mentor-audio.ogg"), Some(&(audio.len() as u64)));
    archive
        .fetch_file(id, &dir, "mentor-audio.ogg")
        .await
        .expect("fetch media");
    assert_eq!(
        std::fs::read(dir.join("mentor-audio.ogg")).expect("audio"),
        audio
    );
    // A copy is never uploaded again by the sweep, and the sweep skips
    // anything that is not a recording's folder.
    assert!(is_copy(&dir));

    // Deleting the media keeps the transcript and the rewritten manifest.
    manifest::update(&dir, |m| {
        m.media_deleted = Some(manifest::MediaDeleted {
            at: "now".into(),
            by: "mentee".into(),
        })
    })
    .expect("update");
    archive
        .rewrite(id, &dir, &["mentor-audio.ogg".to_string()])
        .await
        .expect("rewrite");
    assert_eq!(
        keys(&store).await,
        [
            format!("{prefix}/manifest.json"),
            format!("{prefix}/transcript.json")
        ]
    );
    let stored = store
        .get(&ObjectPath::from(format!("{prefix}/manifest.json")))
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    let m: Manifest = serde_json::from_slice(&stored).expect("json");
    assert!(
        m.media_deleted.is_some(),
        "the bucket's manifest says so too"
    );

    archive.delete(id).await.expect("delete");
    assert!(keys(&store).await.is_empty());
}

#[tokio::test]
async fn a_folder_deleted_before_its_upload_sends_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = Arc::new(InMemory::new());
    let archive = Archive::on(store.clone(), "");
    let id = "0b7e3a52-1111-4c3b-8d2a-6f0e9b1c2d3e";
    let dir = tmp.path().join(id);
    assert_eq!(archive.upload(id, &dir).await.expect("upload"), 0);
    assert!(keys(&store).await.is_empty());
    // Fetching a recording the bucket does not hold makes no folder.
    archive.fetch_manifest(id, &dir).await.expect("fetch");
    assert!(!dir.exists());
}

#[tokio::test]
async fn without_a_bucket_nothing_moves() {
    let tmp = tempfile::tempdir().expect("tmp");
    let archive = Archive::local();
    let id = "2a4b6c8d-0000-4e1f-9a3b-5c7d9e1f3a5b";
    let (dir, _) = recording(tmp.path(), id);
    assert_eq!(archive.upload(id, &dir).await.expect("upload"), 0);
    assert!(
        dir.join("mentor-audio.ogg").is_file(),
        "the data folder is the archive"
    );
    archive.delete(id).await.expect("delete");
    assert!(!is_copy(&dir));
}

#[test]
fn chunks_count_only_as_far_as_they_lie_end_to_end() {
    assert_eq!(contiguous(&[]), 0);
    assert_eq!(contiguous(&[(0, 10), (10, 5), (15, 1)]), 3);
    assert_eq!(contiguous(&[(0, 10), (12, 5)]), 1, "a gap ends the file");
    assert_eq!(contiguous(&[(5, 10)]), 0, "nothing from the start");
}

#[tokio::test]
async fn a_recording_shipped_in_chunks_is_put_back_together_byte_for_byte() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = Arc::new(InMemory::new());
    let archive = Archive::on(store.clone(), "eu");
    let id = "5d0f3b1e-2c4a-4b6d-8e9f-0a1b2c3d4e5f";
    let dir = tmp.path().join("writer").join(id);
    std::fs::create_dir_all(&dir).expect("dir");
    manifest::write(&dir, &manifest(ManifestStatus::Recording)).expect("manifest");
    let audio_path = dir.join("mentor-audio.ogg");

    // Three sweeps while the file grows; one with nothing new.
    let mut shipped = BTreeMap::new();
    let mut written = Vec::new();
    for (round, grow) in [7_000usize, 0, 123_457].into_iter().enumerate() {
        written.extend((0..grow).map(|i| ((i + round) % 253) as u8));
        std::fs::write(&audio_path, &written).expect("write");
        archive.ship(id, &dir, &mut shipped).await.expect("ship");
    }
    assert_eq!(
        shipped.get("mentor-audio.ogg"),
        Some(&(written.len() as u64))
    );
    let chunk_keys: Vec<String> = keys(&store)
        .await
        .into_iter()
        .filter(|k| k.contains("/chunks/mentor-audio.ogg/"))
        .collect();
    assert_eq!(
        chunk_keys,
        [
            format!("eu/recordings/{id}/chunks/mentor-audio.ogg/00000000000000000000"),
            format!("eu/recordings/{id}/chunks/mentor-audio.ogg/00000000000000007000"),
        ],
        "one chunk per sweep that found new bytes, named by offset"
    );

    // Another node, another disk: the manifest as last sent, the file
    // exactly as it was, the never-written track absent.
    let other = tmp.path().join("recoverer").join(id);
    assert!(archive.reassemble(id, &other).await.expect("reassemble"));
    assert_eq!(
        std::fs::read(other.join("mentor-audio.ogg")).expect("audio"),
        written
    );
    assert_eq!(
        manifest::read(&other).expect("manifest").status,
        ManifestStatus::Recording
    );
    assert!(!other.join("mentee-screen.webm").exists());

    // Once the whole recording is uploaded, its chunks go.
    manifest::update(&dir, |m| m.status = ManifestStatus::Complete).expect("finish");
    std::fs::write(dir.join("transcript.json"), b"{}").expect("transcript");
    archive.upload(id, &dir).await.expect("upload");
    assert!(
        keys(&store).await.iter().all(|k| !k.contains("/chunks/")),
        "{:?}",
        keys(&store).await
    );
    // Nothing to go on: no chunk manifest.
    let none = tmp.path().join("none");
    assert!(
        !archive
            .reassemble("00000000-0000-4000-8000-000000000000", &none)
            .await
            .expect("reassemble")
    );
}

#[tokio::test]
async fn a_lost_chunk_ends_the_file_where_it_was() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = Arc::new(InMemory::new());
    let archive = Archive::on(store.clone(), "");
    let id = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d";
    let dir = tmp.path().join("w").join(id);
    std::fs::create_dir_all(&dir).expect("dir");
    manifest::write(&dir, &manifest(ManifestStatus::Recording)).expect("manifest");
    let mut shipped = BTreeMap::new();
    std::fs::write(dir.join("mentor-audio.ogg"), [1u8; 100]).expect("write");
    archive.ship(id, &dir, &mut shipped).await.expect("ship");
    std::fs::write(dir.join("mentor-audio.ogg"), [1u8; 250]).expect("write");
    archive.ship(id, &dir, &mut shipped).await.expect("ship");
    std::fs::write(dir.join("mentor-audio.ogg"), [1u8; 400]).expect("write");
    archive.ship(id, &dir, &mut shipped).await.expect("ship");
    store
        .delete(&ObjectPath::from(format!(
            "recordings/{id}/chunks/mentor-audio.ogg/00000000000000000100"
        )))
        .await
        .expect("lose the middle chunk");
    let other = tmp.path().join("r").join(id);
    assert!(archive.reassemble(id, &other).await.expect("reassemble"));
    assert_eq!(
        std::fs::read(other.join("mentor-audio.ogg"))
            .expect("audio")
            .len(),
        100,
        "only what lies end to end from the start"
    );
}
