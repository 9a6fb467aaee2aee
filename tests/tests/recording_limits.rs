//! What one participant can make the recorder write: a sender whose RTP
//! timestamps jump an hour ahead on every packet cannot make a recording
//! grow faster than the call's real time; a recording stops cleanly at its
//! size cap; no recording starts when the disk is short of free space.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use duet_server::Config;
use duet_tests::consent_flow::{self, recording, wait_state};
use duet_tests::harness::{TestServer, token};
use duet_tests::media_check::duration;
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::Value;

const T: Duration = Duration::from_secs(20);

struct Call {
    server: TestServer,
    mentor: TestPeer,
    mentee: TestPeer,
}

async fn call(adjust: impl FnOnce(&mut Config)) -> Call {
    let server = TestServer::start_with(adjust).await.expect("server");
    let session = server.create_recordable_session().await.expect("session");
    let ws = server.ws_url();
    let mentor = TestPeer::join(&ws, &token(&session, "mentor"), PeerOptions::named("Ada"))
        .await
        .expect("mentor");
    let mentee = TestPeer::join(&ws, &token(&session, "mentee"), PeerOptions::named("Grace"))
        .await
        .expect("mentee");
    mentee.wait_connected(T).await.expect("connected");
    mentee
        .wait_until(|s| s.received.get(MediaKind::Audio).packets > 20, T)
        .await
        .expect("media flows");
    Call {
        server,
        mentor,
        mentee,
    }
}

fn recording_dirs(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

async fn wait_final_manifest(dir: &Path) -> Value {
    let deadline = Instant::now() + T;
    loop {
        if let Ok(bytes) = std::fs::read(dir.join("manifest.json"))
            && let Ok(v) = serde_json::from_slice::<Value>(&bytes)
            && v["status"] != "recording"
        {
            return v;
        }
        assert!(Instant::now() < deadline, "the recording never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Before the fix each of these packets made the writer fill an hour of
/// silence (~0.5 MB): three seconds of them wrote about 70 MB and an Ogg
/// file hours long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamp_jumps_cannot_make_a_recording_outgrow_the_call() {
    let c = call(|_| {}).await;
    let started = consent_flow::start_recording(&c.mentor, &c.mentee).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Each packet 59 minutes after the last (just under what the writer
    // would take for a new source).
    c.mentor.media().set_audio_timestamp_jump(3599 * 48_000);
    tokio::time::sleep(Duration::from_secs(3)).await;
    c.mentor.media().set_audio_timestamp_jump(0);
    c.mentor.send_json(&recording("revoke")).expect("revoke");
    wait_state(&c.mentee, "off").await;
    let wall = started.elapsed();

    let dirs = recording_dirs(&c.server.recordings_dir());
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let manifest = wait_final_manifest(&dirs[0]).await;
    assert_eq!(manifest["status"], "complete", "{manifest}");
    let audio = dirs[0].join("mentor-audio.ogg");
    let size = std::fs::metadata(&audio).expect("audio file").len();
    // ~4 s of 20 ms Opus packets is tens of kilobytes.
    assert!(size < 1_000_000, "{size} bytes for {wall:?} of audio");
    let length = duration(&audio).expect("duration");
    assert!(
        length <= wall + Duration::from_secs(3),
        "{length:?} of audio from {wall:?} of call"
    );
    for wav in ["mentor.wav", "mentee.wav"] {
        let bytes = std::fs::metadata(dirs[0].join(wav)).expect("wav").len();
        // 16 kHz mono 16-bit: 32 kB per second of the recording.
        assert!(bytes < 32_000 * (wall.as_secs() + 3), "{wav}: {bytes}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_stops_cleanly_at_its_size_cap() {
    let c = call(|cfg| cfg.recording.max_size_mb = 1).await;
    consent_flow::start_recording(&c.mentor, &c.mentee).await;
    for peer in [&c.mentor, &c.mentee] {
        let err = peer.wait_for_message("error", T * 3).await.expect("told");
        assert_eq!(err["code"], "recording_unavailable", "{err}");
        // People hear that a cap was reached, not that the disk failed.
        let said = err["message"].as_str().unwrap_or_default();
        assert!(said.contains("longest or largest"), "{err}");
        wait_state(peer, "off").await;
    }
    let dirs = recording_dirs(&c.server.recordings_dir());
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let manifest = wait_final_manifest(&dirs[0]).await;
    assert_eq!(manifest["status"], "complete", "{manifest}");
    assert!(
        manifest["stop_reason"]
            .as_str()
            .is_some_and(|r| r.contains("maximum size")),
        "{manifest}"
    );
    let mut total = 0;
    for track in manifest["tracks"].as_array().expect("tracks") {
        let file = dirs[0].join(track["file"].as_str().expect("file"));
        total += std::fs::metadata(&file).expect("track").len();
        duration(&file).expect("what was written stays playable");
    }
    // The cap, plus at most the packets of one queue wake-up.
    assert!(
        (1_000_000..1_300_000).contains(&total),
        "{total} bytes of media"
    );
    // The call goes on.
    let so_far = c.mentee.stats().received.get(MediaKind::Camera).packets;
    c.mentee
        .wait_until(
            |s| s.received.get(MediaKind::Camera).packets > so_far + 30,
            T,
        )
        .await
        .expect("media still flows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_recording_starts_when_the_disk_is_short_of_space() {
    // More free space than any test machine has.
    let c = call(|cfg| cfg.recording.min_free_mb = u64::MAX / (1 << 20)).await;
    c.mentor.send_json(&recording("request")).expect("request");
    let requested = wait_state(&c.mentee, "requested").await;
    let hash = requested["notice_hash"].as_str().expect("hash").to_string();
    for peer in [&c.mentor, &c.mentee] {
        peer.send_json(&serde_json::json!(
            {"type": "recording", "action": "consent", "notice_hash": hash}
        ))
        .expect("consent");
    }
    for peer in [&c.mentor, &c.mentee] {
        let err = peer.wait_for_message("error", T).await.expect("told");
        assert_eq!(err["code"], "recording_unavailable", "{err}");
        wait_state(peer, "off").await;
    }
    assert!(
        recording_dirs(&c.server.recordings_dir()).is_empty(),
        "nothing was created"
    );
}
