//! Consent-gated recording, end to end with real WebRTC peers: nothing on
//! disk without both people's yes; what is written plays (ffprobe) with the
//! right codecs and durations; revoking stops it, discarding deletes it, the
//! trail keeps everything; transcripts line up on the recording's clock.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use duet_tests::consent_flow::{self, recording, wait_state};
use duet_tests::harness::{API_KEY, TestServer, client, token};
use duet_tests::media_check::{codec, decodes_cleanly, duration, read_wav, sound_span};
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);

struct Call {
    server: TestServer,
    session: Value,
    mentor: TestPeer,
    mentee: TestPeer,
}

async fn call_with(opts: impl Fn(&str) -> PeerOptions) -> Call {
    let server = TestServer::start().await.expect("server");
    let session = server.create_recordable_session().await.expect("session");
    let mentor = TestPeer::join(&server.ws_url(), &token(&session, "mentor"), opts("Ada"))
        .await
        .expect("mentor");
    let mentee = TestPeer::join(&server.ws_url(), &token(&session, "mentee"), opts("Grace"))
        .await
        .expect("mentee");
    mentor.wait_connected(T).await.expect("mentor connected");
    mentee.wait_connected(T).await.expect("mentee connected");
    mentee
        .wait_until(|s| s.received.get(MediaKind::Camera).packets > 20, T)
        .await
        .expect("media flows");
    Call {
        server,
        session,
        mentor,
        mentee,
    }
}

async fn call() -> Call {
    call_with(PeerOptions::named).await
}

async fn start_recording(c: &Call) -> Instant {
    consent_flow::start_recording(&c.mentor, &c.mentee).await
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_in(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn media_files(dir: &Path) -> Vec<PathBuf> {
    files_in(dir)
        .into_iter()
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "ogg" || e == "webm" || e == "wav")
        })
        .collect()
}

async fn trail(c: &Call) -> Vec<Value> {
    let id = c.session["id"].as_str().expect("id");
    let v: Value = client()
        .get(c.server.url(&format!("/api/v1/sessions/{id}/consent")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("trail")
        .json()
        .await
        .expect("json");
    v["events"].as_array().cloned().unwrap_or_default()
}

fn actions(trail: &[Value]) -> Vec<String> {
    trail
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn wait_manifest_status(dir: &Path, status: &str) -> Value {
    let deadline = Instant::now() + T;
    loop {
        if let Ok(bytes) = std::fs::read(dir.join("manifest.json"))
            && let Ok(v) = serde_json::from_slice::<Value>(&bytes)
            && v["status"] == status
        {
            return v;
        }
        assert!(Instant::now() < deadline, "manifest never became {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn recording_dir(c: &Call) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(c.server.recordings_dir())
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(dirs.len(), 1, "exactly one recording: {dirs:?}");
    dirs[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_written_without_both_consents() {
    let c = call().await;
    let rec = c.server.recordings_dir();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(media_files(&rec).is_empty(), "no consent, no files");

    c.mentor.send_json(&recording("request")).expect("request");
    wait_state(&c.mentee, "requested").await;
    c.mentor.send_json(&recording("consent")).expect("consent");
    let status = wait_state(&c.mentee, "requested").await;
    let seen = c.mentee.signal().wait_messages(T, |log| {
        log.iter()
            .any(|m| m["type"] == "recording" && m["consented"] == json!(["mentor"]))
    });
    seen.await.expect("mentee sees the mentor consented");
    assert_eq!(status["state"], "requested");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        files_in(&rec).is_empty(),
        "one consent, nothing on disk: {:?}",
        files_in(&rec)
    );

    // A decline ends the request; still nothing.
    c.mentee.send_json(&recording("decline")).expect("decline");
    wait_state(&c.mentor, "off").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(files_in(&rec).is_empty());
    assert_eq!(actions(&trail(&c).await), ["request", "consent", "decline"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consented_recording_plays_and_revoking_stops_it() {
    let c = call().await;
    let started = start_recording(&c).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    c.mentee.send_json(&recording("revoke")).expect("revoke");
    wait_state(&c.mentor, "off").await;
    let recorded = started.elapsed();
    let dir = recording_dir(&c);
    let manifest = wait_manifest_status(&dir, "complete").await;

    // Writing has stopped: sizes no longer grow.
    let sizes = |d: &Path| -> Vec<u64> {
        media_files(d)
            .iter()
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .collect()
    };
    let before = sizes(&dir);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(before, sizes(&dir), "files keep growing after revoke");

    for role in ["mentor", "mentee"] {
        let audio = dir.join(format!("{role}-audio.ogg"));
        let video = dir.join(format!("{role}-camera.webm"));
        assert_eq!(codec(&audio).expect("probe"), "opus");
        assert_eq!(codec(&video).expect("probe"), "vp8");
        decodes_cleanly(&audio).expect("audio decodes");
        decodes_cleanly(&video).expect("video decodes");
        // Indexed once finished, so players seek without reading it all:
        // a SeekHead near the start pointing at Cues at the end.
        let bytes = std::fs::read(&video).expect("read the camera file");
        let has = |id: &[u8], within: &[u8]| within.windows(id.len()).any(|w| w == id);
        assert!(
            has(&[0x11, 0x4D, 0x9B, 0x74], &bytes[..bytes.len().min(200)]),
            "a SeekHead at the start of {}",
            video.display()
        );
        assert!(
            has(&[0x1C, 0x53, 0xBB, 0x6B], &bytes),
            "Cues in {}",
            video.display()
        );
        for file in [&audio, &video] {
            let d = duration(file).expect("duration").as_secs_f64();
            let want = recorded.as_secs_f64();
            assert!(
                (d - want).abs() <= want * 0.1 + 0.1,
                "{}: {d:.2}s vs {want:.2}s",
                file.display()
            );
        }
    }
    assert_eq!(
        manifest["tracks"].as_array().map(Vec::len),
        Some(4),
        "{manifest}"
    );
    assert_eq!(manifest["participants"].as_array().map(Vec::len), Some(2));
    let trail = actions(&trail(&c).await);
    assert_eq!(
        trail,
        ["request", "consent", "consent", "start", "revoke", "stop"]
    );
    let events = manifest["consent"].as_array().expect("consent in manifest");
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "consent" && e["role"] == "mentee")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discarding_deletes_the_files_but_not_the_trail() {
    let c = call().await;
    start_recording(&c).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !media_files(&c.server.recordings_dir()).is_empty(),
        "recording writes"
    );
    c.mentor
        .send_json(&json!({"type":"recording","action":"revoke","discard":true}))
        .expect("revoke");
    wait_state(&c.mentee, "off").await;
    let deadline = Instant::now() + T;
    while !files_in(&c.server.recordings_dir()).is_empty() {
        assert!(Instant::now() < deadline, "files still there");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let trail = trail(&c).await;
    assert_eq!(
        actions(&trail),
        [
            "request", "consent", "consent", "start", "revoke", "stop", "discard"
        ]
    );
    let discard = trail.last().expect("event");
    assert_eq!(discard["role"], "mentor", "the trail keeps who discarded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_leaving_stops_the_recording_and_a_new_one_needs_new_consent() {
    let c = call().await;
    start_recording(&c).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    c.mentee.leave().await.expect("leave");
    wait_state(&c.mentor, "off").await;
    let dir = recording_dir(&c);
    wait_manifest_status(&dir, "complete").await;
    let trail = actions(&trail(&c).await);
    assert_eq!(
        trail.last().map(String::as_str),
        Some("interruption"),
        "{trail:?}"
    );
    c.mentor.send_json(&recording("request")).expect("request");
    let err = c
        .mentor
        .wait_for_message("error", T)
        .await
        .expect("refused alone");
    assert_eq!(err["code"], "recording_unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcripts_line_up_on_the_recording_clock() {
    let c = call_with(|name| PeerOptions {
        send_audio: false,
        ..PeerOptions::named(name)
    })
    .await;
    let started = start_recording(&c).await;
    let at = |s: f64| started + Duration::from_secs_f64(s);
    tokio::time::sleep_until(at(1.0).into()).await;
    c.mentor.set_sending(MediaKind::Audio, true);
    tokio::time::sleep_until(at(2.0).into()).await;
    c.mentor.set_sending(MediaKind::Audio, false);
    tokio::time::sleep_until(at(3.0).into()).await;
    c.mentee.set_sending(MediaKind::Audio, true);
    tokio::time::sleep_until(at(4.0).into()).await;
    c.mentee.set_sending(MediaKind::Audio, false);
    tokio::time::sleep_until(at(5.0).into()).await;
    c.mentor.send_json(&recording("revoke")).expect("revoke");
    let dir = recording_dir(&c);
    let manifest = wait_manifest_status(&dir, "complete").await;

    for (role, from) in [("mentor", 1.0), ("mentee", 3.0)] {
        let (rate, samples) = read_wav(&dir.join(format!("{role}.wav"))).expect("wav");
        assert_eq!(rate, 16_000);
        let len = samples.len() as f64 / 16_000.0;
        assert!((len - 5.0).abs() < 0.3, "{role}.wav is {len:.2}s");
        let (start, end) = sound_span(rate, &samples, 300.0).expect("some sound");
        assert!(
            (start - from).abs() <= 0.1,
            "{role} starts at {start:.2}s, not {from}"
        );
        assert!(
            (end - (from + 1.0)).abs() <= 0.1,
            "{role} ends at {end:.2}s, not {}",
            from + 1.0
        );
        let talk = manifest["talk_time"][role].as_f64().expect("talk time");
        assert!((talk - 1.0).abs() <= 0.15, "{role} talked {talk}s");
    }
}

// A revoke sent while the same participant's offer waits for a slow media
// plane acts at once: the signaling socket used to read no frame until the
// answer came (up to 10 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_is_not_held_behind_a_slow_offer() {
    let c = call().await;
    start_recording(&c).await;
    let sid: uuid::Uuid = c.session["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("session id");
    duet_server::media::fault::delay_answers(
        duet_signaling::SessionId(sid),
        Duration::from_secs(5),
    );
    c.mentee
        .send_json(&json!({"type": "offer", "sdp": "v=0\r\n"}))
        .expect("offer");
    let sent = Instant::now();
    c.mentee.send_json(&recording("revoke")).expect("revoke");
    wait_state(&c.mentor, "off").await;
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "the revoke took {:?}",
        sent.elapsed()
    );
}
