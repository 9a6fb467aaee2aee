//! Transcripts made on the server with a real Whisper model (tiny.en from
//! a registry package, see tests/fixtures/whisper/): two people speak known
//! sentences (espeak-ng) through a real call, the recording is transcribed
//! with each segment labelled with its speaker, on the recording's clock;
//! a silent track gives no text; a deleted recording gets no transcript.

use std::time::{Duration, Instant};

use duet_tests::binary_server::BinaryServer;
use duet_tests::consent_flow::{self, recording, wait_state};
use duet_tests::harness::{API_KEY, TestServer, client, create_recordable_session_at, token};
use duet_tests::speech::{self, word_error_rate};
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::Value;

const T: Duration = Duration::from_secs(20);
/// Transcribing tens of seconds of speech with tiny.en on one thread of a
/// busy 2-core machine.
const TRANSCRIBE: Duration = Duration::from_secs(180);

const MENTOR_1: &str = "Good morning. Last week you said the deployment scripts were slow. \
What did you find when you measured them?";
const MENTEE_1: &str = "Most of the time went into building the containers again. \
I kept the packages between builds, so a build takes four minutes instead of twenty.";
const MENTOR_2: &str = "That is a great result. Please write it down for the whole team.";

struct Call {
    server: TestServer,
    session: Value,
    mentor: TestPeer,
    mentee: TestPeer,
}

async fn call() -> Call {
    let model = speech::test_model();
    let server = TestServer::start_with(|c| {
        c.transcription.model = Some(model.display().to_string());
    })
    .await
    .expect("server");
    let session = server.create_recordable_session().await.expect("session");
    let ws = server.ws_url();
    let quiet = |name: &str| PeerOptions {
        quiet: true,
        send_video: false,
        ..PeerOptions::named(name)
    };
    let mentor = TestPeer::join(&ws, &token(&session, "mentor"), quiet("Ada"))
        .await
        .expect("mentor");
    let mentee = TestPeer::join(&ws, &token(&session, "mentee"), quiet("Grace"))
        .await
        .expect("mentee");
    mentee.wait_connected(T).await.expect("connected");
    mentee
        .wait_until(|s| s.received.get(MediaKind::Audio).packets > 20, T)
        .await
        .expect("media flows");
    Call {
        server,
        session,
        mentor,
        mentee,
    }
}

/// Says `text` on `peer`'s audio line; returns when it started on the
/// recording's clock (seconds since `recording_started`) and waits until
/// it was said.
async fn say(peer: &TestPeer, text: &str, recording_started: Instant) -> f64 {
    let (frames, seconds) = speech::speak(text, "en-us").expect("speech");
    let at = recording_started.elapsed().as_secs_f64();
    peer.media().play_audio(frames);
    tokio::time::sleep(Duration::from_secs_f64(seconds + 0.8)).await;
    at
}

async fn recording_id(c: &Call) -> String {
    let v: Value = client()
        .get(c.server.url("/api/v1/recordings"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    v["recordings"][0]["id"]
        .as_str()
        .expect("a recording")
        .to_owned()
}

async fn transcript(c: &Call, id: &str, credential: &str) -> Value {
    client()
        .get(c.server.url(&format!("/api/v1/recordings/{id}/transcript")))
        .bearer_auth(credential)
        .send()
        .await
        .expect("transcript")
        .json()
        .await
        .expect("json")
}

async fn wait_done(c: &Call, id: &str) -> Value {
    let deadline = Instant::now() + TRANSCRIBE;
    loop {
        let t = transcript(c, id, API_KEY).await;
        match t["status"].as_str() {
            Some("done") => return t,
            Some("pending" | "running") => {}
            other => panic!("transcript status {other:?}: {t}"),
        }
        assert!(
            Instant::now() < deadline,
            "no transcript after {TRANSCRIBE:?}: {t}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn text_of(t: &Value, role: &str) -> String {
    t["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .filter(|s| s["role"] == role)
        .map(|s| s["text"].as_str().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first segment of `role` starting at or after `from` seconds.
fn first_start(t: &Value, role: &str, from: f64) -> f64 {
    t["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .filter(|s| s["role"] == role)
        .filter_map(|s| s["start_s"].as_f64())
        .find(|s| *s >= from)
        .unwrap_or(f64::NAN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_person_call_becomes_a_speaker_labelled_transcript() {
    let c = call().await;
    let started = consent_flow::start_recording(&c.mentor, &c.mentee).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let at_mentor_1 = say(&c.mentor, MENTOR_1, started).await;
    let at_mentee_1 = say(&c.mentee, MENTEE_1, started).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let at_mentor_2 = say(&c.mentor, MENTOR_2, started).await;
    c.mentee.send_json(&recording("revoke")).expect("revoke");
    wait_state(&c.mentor, "off").await;
    let id = recording_id(&c).await;
    let t = wait_done(&c, &id).await;

    assert_eq!(t["language"], "en", "{t}");
    let segments = t["segments"].as_array().expect("segments");
    assert!(!segments.is_empty(), "{t}");
    for s in segments {
        let name = match s["role"].as_str() {
            Some("mentor") => "Ada",
            Some("mentee") => "Grace",
            other => panic!("segment with role {other:?}: {s}"),
        };
        assert_eq!(s["name"], name, "{s}");
        assert!(s["end_s"].as_f64() >= s["start_s"].as_f64(), "{s}");
        assert!(!s["words"].as_array().expect("words").is_empty(), "{s}");
    }
    let mentor_said = format!("{MENTOR_1} {MENTOR_2}");
    let mentor_wer = word_error_rate(&mentor_said, &text_of(&t, "mentor"));
    let mentee_wer = word_error_rate(MENTEE_1, &text_of(&t, "mentee"));
    assert!(
        mentor_wer < 0.2,
        "mentor WER {mentor_wer:.2}: {}",
        text_of(&t, "mentor")
    );
    assert!(
        mentee_wer < 0.2,
        "mentee WER {mentee_wer:.2}: {}",
        text_of(&t, "mentee")
    );
    // Where each sentence was spoken on the recording's clock.
    for (role, at) in [
        ("mentor", at_mentor_1),
        ("mentee", at_mentee_1),
        ("mentor", at_mentor_2),
    ] {
        let start = first_start(&t, role, at - 1.5);
        assert!(
            (start - at).abs() <= 1.5,
            "{role} spoke at {at:.2} s; the transcript says {start:.2} s: {t}"
        );
    }

    // The other forms, for a participant with their own link.
    let credential = token(&c.session, "mentee");
    let vtt = client()
        .get(
            c.server
                .url(&format!("/api/v1/recordings/{id}/transcript?format=vtt")),
        )
        .bearer_auth(&credential)
        .send()
        .await
        .expect("vtt");
    assert_eq!(vtt.status(), 200);
    let vtt = vtt.text().await.expect("text");
    assert!(vtt.starts_with("WEBVTT"), "{vtt}");
    assert!(
        vtt.contains("<v Ada (mentor)>") && vtt.contains("<v Grace (mentee)>"),
        "{vtt}"
    );
    let md = client()
        .get(
            c.server
                .url(&format!("/api/v1/recordings/{id}/transcript?format=md")),
        )
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("md")
        .text()
        .await
        .expect("text");
    assert!(md.contains("Grace (mentee):**"), "{md}");

    // The files sit with the recording and the manifest lists them.
    let dir = c.server.recordings_dir().join(&id);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("json");
    let files = manifest["transcript"]["files"].as_array().expect("listed");
    for f in ["transcript.json", "transcript.vtt", "transcript.md"] {
        assert!(files.iter().any(|x| x == f), "{manifest}");
        assert!(dir.join(f).is_file(), "{f}");
    }

    // Either person may delete the media and keep the transcript; the
    // trail says who.
    let deleted = client()
        .delete(c.server.url(&format!("/api/v1/recordings/{id}/media")))
        .bearer_auth(&credential)
        .send()
        .await
        .expect("delete media");
    assert_eq!(deleted.status(), 200);
    assert!(!dir.join("mentor-audio.ogg").exists() && !dir.join("mentor.wav").exists());
    assert!(dir.join("transcript.json").is_file());
    assert_eq!(transcript(&c, &id, API_KEY).await["status"], "done");
    let trail: Value = client()
        .get(c.server.url("/api/v1/consent"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("trail")
        .json()
        .await
        .expect("json");
    let trail = trail.to_string();
    assert!(
        trail.contains("delete_media") && trail.contains("by the mentee"),
        "{trail}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_track_gives_no_text_and_a_deleted_recording_no_transcript() {
    let c = call().await;
    // Silence only from both: nothing to transcribe, and no invented text.
    let started = consent_flow::start_recording(&c.mentor, &c.mentee).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let _ = started;
    c.mentor.send_json(&recording("revoke")).expect("revoke");
    wait_state(&c.mentee, "off").await;
    let silent = recording_id(&c).await;
    let t = wait_done(&c, &silent).await;
    assert_eq!(t["segments"].as_array().map(Vec::len), Some(0), "{t}");

    // A recording deleted while it is being transcribed gets no
    // transcript, and its folder is gone.
    let started = consent_flow::start_recording(&c.mentor, &c.mentee).await;
    for _ in 0..3 {
        say(&c.mentor, MENTOR_1, started).await;
        say(&c.mentee, MENTEE_1, started).await;
    }
    c.mentor.send_json(&recording("revoke")).expect("revoke");
    wait_state(&c.mentee, "off").await;
    let id = recording_id(&c).await;
    assert_ne!(id, silent);
    let deadline = Instant::now() + TRANSCRIBE;
    loop {
        let t = transcript(&c, &id, API_KEY).await;
        if t["status"] == "running" {
            break;
        }
        assert_ne!(
            t["status"], "done",
            "finished before it could be deleted: {t}"
        );
        assert!(Instant::now() < deadline, "never started: {t}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deleted = client()
        .delete(c.server.url(&format!("/api/v1/recordings/{id}")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 200, "{:?}", deleted.text().await);
    let dir = c.server.recordings_dir().join(&id);
    // Give a transcriber that ignored the cancel time to write.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!dir.exists(), "the deleted recording's folder came back");
    let gone = client()
        .get(c.server.url(&format!("/api/v1/recordings/{id}/transcript")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("transcript");
    // The row stays (deleted); the transcript never appears.
    let body: Value = gone.json().await.expect("json");
    assert_ne!(body["status"], "done", "{body}");
}

/// A job cut by a crash (SIGKILL) is taken up again at the next start and
/// finishes; the log never holds what was said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_mid_run_resumes_after_a_restart() {
    let model = speech::test_model();
    let model = model.display().to_string();
    let data = tempfile::tempdir().expect("tempdir");
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--public-ip",
        "127.0.0.1",
        "--transcription-model",
        model.as_str(),
    ];
    let server = BinaryServer::start_with(data.path(), &args, &[]).expect("duet starts");
    let session = create_recordable_session_at(&server.url(""))
        .await
        .expect("session");
    let ws = server.ws_url();
    let quiet = |name: &str| PeerOptions {
        quiet: true,
        send_video: false,
        ..PeerOptions::named(name)
    };
    let mentor = TestPeer::join(&ws, &token(&session, "mentor"), quiet("Ada"))
        .await
        .expect("mentor");
    let mentee = TestPeer::join(&ws, &token(&session, "mentee"), quiet("Grace"))
        .await
        .expect("mentee");
    mentee.wait_connected(T).await.expect("connected");
    let started = consent_flow::start_recording(&mentor, &mentee).await;
    for _ in 0..3 {
        say(&mentor, MENTOR_1, started).await;
        say(&mentee, MENTEE_1, started).await;
    }
    mentor.send_json(&recording("revoke")).expect("revoke");
    wait_state(&mentee, "off").await;
    mentor.close().await;
    mentee.close().await;
    let get = |server: &BinaryServer, path: &str| {
        let url = server.url(path);
        async move {
            client()
                .get(url)
                .bearer_auth(API_KEY)
                .send()
                .await
                .expect("request")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let id = get(&server, "/api/v1/recordings").await["recordings"][0]["id"]
        .as_str()
        .expect("a recording")
        .to_owned();
    let path = format!("/api/v1/recordings/{id}/transcript");
    let deadline = Instant::now() + TRANSCRIBE;
    loop {
        let t = get(&server, &path).await;
        if t["status"] == "running" {
            break;
        }
        assert_ne!(t["status"], "done", "finished before the kill: {t}");
        assert!(Instant::now() < deadline, "never started: {t}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill();

    let server = BinaryServer::start_with(data.path(), &args, &[]).expect("duet restarts");
    let deadline = Instant::now() + TRANSCRIBE;
    let t = loop {
        let t = get(&server, &path).await;
        if t["status"] == "done" {
            break t;
        }
        assert!(
            matches!(t["status"].as_str(), Some("pending" | "running")),
            "{t}"
        );
        assert!(Instant::now() < deadline, "not resumed: {t}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let wer = word_error_rate(&[MENTEE_1; 3].join(" "), &text_of(&t, "mentee"));
    assert!(wer < 0.2, "mentee WER {wer:.2}: {}", text_of(&t, "mentee"));
    let logs = server.logs().join("\n");
    for word in ["containers", "deployment", "dependencies"] {
        assert!(
            !logs.to_lowercase().contains(word),
            "the log holds what was said: {logs}"
        );
    }
}
