//! Recording through faults: the server killed mid-recording (SIGKILL) and
//! a disk that fills up. What was written stays playable, the trail says
//! what happened, and the call goes on.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use duet_tests::consent_flow;
use duet_tests::harness::{
    API_KEY, BinaryServer, TestServer, client, create_recordable_session_at, token,
};
use duet_tests::media_check::{codec, duration};
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::Value;

const T: Duration = Duration::from_secs(20);

async fn join_both(ws: &str, session: &Value) -> (TestPeer, TestPeer) {
    let mentor = TestPeer::join(ws, &token(session, "mentor"), PeerOptions::named("Ada"))
        .await
        .expect("mentor");
    let mentee = TestPeer::join(ws, &token(session, "mentee"), PeerOptions::named("Grace"))
        .await
        .expect("mentee");
    mentee.wait_connected(T).await.expect("connected");
    mentee
        .wait_until(|s| s.received.get(MediaKind::Camera).packets > 20, T)
        .await
        .expect("media flows");
    (mentor, mentee)
}

async fn record(mentor: &TestPeer, mentee: &TestPeer) {
    consent_flow::start_recording(mentor, mentee).await;
}

async fn create_session(base: &str) -> Value {
    create_recordable_session_at(base).await.expect("session")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_leaves_playable_files_marked_interrupted() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = BinaryServer::start(data.path()).expect("duet starts");
    let session = create_session(&server.url("")).await;
    let (mentor, mentee) = join_both(&server.ws_url(), &session).await;
    record(&mentor, &mentee).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.kill();
    mentor.close().await;
    mentee.close().await;

    let server = BinaryServer::start(data.path()).expect("duet restarts");
    let list: Value = client()
        .get(server.url("/api/v1/recordings"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let rec = &list["recordings"][0];
    assert_eq!(rec["status"], "interrupted", "{list}");
    let id = rec["id"].as_str().expect("id");
    let dir = data.path().join("recordings").join(id);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["status"], "interrupted");
    for role in ["mentor", "mentee"] {
        let audio = dir.join(format!("{role}-audio.ogg"));
        let video = dir.join(format!("{role}-camera.webm"));
        assert_eq!(codec(&audio).expect("ogg probes"), "opus");
        assert_eq!(codec(&video).expect("webm probes"), "vp8");
        for f in [&audio, &video] {
            let d = duration(f).expect("duration").as_secs_f64();
            assert!(d > 1.5, "{}: only {d:.2}s survived", f.display());
            let status = Command::new("ffmpeg")
                .args(["-v", "error", "-i"])
                .arg(f)
                .args(["-f", "null", "-"])
                .status()
                .expect("ffmpeg");
            assert!(status.success(), "{} does not decode", f.display());
        }
        assert!(
            dir.join(format!("{role}.wav")).exists(),
            "transcript made from what survived"
        );
    }
    let trail: Value = client()
        .get(server.url(&format!(
            "/api/v1/sessions/{}/consent",
            session["id"].as_str().expect("sid")
        )))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("trail")
        .json()
        .await
        .expect("json");
    let last = trail["events"]
        .as_array()
        .and_then(|e| e.last())
        .cloned()
        .expect("events");
    assert_eq!(last["action"], "interruption");
    assert_eq!(last["actor"], "server");
}

/// A tmpfs on the recordings folder, unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .ok()?
            .success();
        ok.then(|| SmallDisk(dir.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_recording_tells_both_and_the_call_goes_on() {
    let data = tempfile::tempdir().expect("tempdir");
    let recordings = data.path().join("recordings");
    let Some(_disk) = SmallDisk::mount(&recordings, "160k") else {
        // Mounting needs root in a private mount namespace (tests/run.sh
        // provides one); say so loudly rather than pass silently.
        panic!("could not mount a tmpfs for the full-disk test: run it via tests/run.sh as root");
    };
    let data_dir = data.path().to_path_buf();
    let server = TestServer::start_with(move |c| c.data_dir = data_dir)
        .await
        .expect("server");
    let session = server.create_recordable_session().await.expect("session");
    let (mentor, mentee) = join_both(&server.ws_url(), &session).await;
    record(&mentor, &mentee).await;

    for peer in [&mentor, &mentee] {
        let err = peer
            .wait_for_message("error", T)
            .await
            .expect("told about the disk");
        assert_eq!(err["code"], "recording_unavailable");
        assert!(
            err["message"].as_str().is_some_and(|m| m.contains("disk")),
            "{err}"
        );
        consent_flow::wait_state(peer, "off").await;
    }
    let so_far = mentee.stats().received.get(MediaKind::Camera).packets;
    mentee
        .wait_until(
            |s| s.received.get(MediaKind::Camera).packets > so_far + 30,
            T,
        )
        .await
        .expect("the call goes on");

    let dir = std::fs::read_dir(&recordings)
        .expect("recordings")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("the recording's folder");
    let audio = dir.join("mentor-audio.ogg");
    assert_eq!(
        codec(&audio).expect("what was written still probes"),
        "opus"
    );
    let deadline = Instant::now() + T;
    let status = loop {
        let rows: Value = client()
            .get(server.url("/api/v1/recordings"))
            .bearer_auth(API_KEY)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let s = rows["recordings"][0]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if s != "recording" || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, "interrupted");
}
