//! Recording through faults: the server killed mid-recording (SIGKILL), a
//! discard the kill cut short, a long recovery after it, and a disk that
//! fills up. What was written stays playable, up to about a second before
//! the kill; what was discarded goes; HTTP does not wait for the recovery;
//! the trail says what happened, and the call goes on.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use duet_tests::consent_flow;
use duet_tests::harness::{
    API_KEY, BinaryServer, TestServer, client, create_recordable_session_at, token,
};
use duet_tests::media_check::{codec, duration};
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::{Value, json};

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

async fn record(mentor: &TestPeer, mentee: &TestPeer) -> Instant {
    consent_flow::start_recording(mentor, mentee).await
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
    let started = record(&mentor, &mentee).await;
    // Not on a flush boundary.
    tokio::time::sleep(Duration::from_millis(3_270)).await;
    let recorded = started.elapsed();
    server.kill();
    mentor.close().await;
    mentee.close().await;

    let server = BinaryServer::start(data.path()).expect("duet restarts");
    // Recovery finishes in the background, HTTP already up.
    let deadline = Instant::now() + T;
    let list = loop {
        let list = get_json(&server.url("/api/v1/recordings")).await;
        if list["recordings"][0]["status"] != "recording" || Instant::now() > deadline {
            break list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
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
            let name = f.file_name().and_then(|n| n.to_str()).expect("name");
            let offset = manifest["tracks"]
                .as_array()
                .and_then(|t| t.iter().find(|t| t["file"] == name))
                .and_then(|t| t["start_offset_s"].as_f64())
                .expect("track in the manifest");
            // The documented figure: a crash loses at most about the last
            // second (flush and fdatasync every 500 ms, a 100 ms poll).
            // Video starts at its first keyframe, after its first packet.
            let lost = recorded.as_secs_f64() - (offset + d);
            let allowed = if name.ends_with(".ogg") { 1.0 } else { 2.0 };
            assert!(
                lost < allowed,
                "{name}: {d:.2}s from {offset:.2}s; {lost:.2}s of {recorded:?} lost"
            );
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
    let server = TestServer::start_with(move |c| {
        c.data_dir = data_dir;
        // This test is about a write failing; the free-space floor would
        // refuse to start on a disk this small.
        c.recording.min_free_mb = 0;
    })
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

async fn get_json(url: &str) -> Value {
    client()
        .get(url)
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

fn only_recording_dir(recordings: &Path) -> std::path::PathBuf {
    let dirs: Vec<_> = std::fs::read_dir(recordings)
        .expect("recordings")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// A bind mount over one file of the recording, so that deleting the folder
/// fails (EBUSY) and the discard cannot finish before the kill. Unmounted
/// on drop.
struct BusyFile(std::path::PathBuf);

impl BusyFile {
    fn pin(file: &Path, over: &Path) -> BusyFile {
        std::fs::write(over, b"pinned").expect("pin file");
        let ok = Command::new("mount")
            .arg("--bind")
            .arg(over)
            .arg(file)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "bind mount needs root in a private mount namespace (tests/run.sh)"
        );
        BusyFile(file.to_path_buf())
    }
}

impl Drop for BusyFile {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A participant's "stop and delete" that the process could not finish
/// before it was killed is carried out at the next start; before, the
/// recording was kept as `interrupted` (or its files left behind while its
/// row said `deleted`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discard_cut_short_by_a_kill_is_finished_at_the_next_start() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = BinaryServer::start(data.path()).expect("duet starts");
    let session = create_session(&server.url("")).await;
    let (mentor, mentee) = join_both(&server.ws_url(), &session).await;
    record(&mentor, &mentee).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let recordings = data.path().join("recordings");
    let dir = only_recording_dir(&recordings);
    let busy = BusyFile::pin(&dir.join("mentor-audio.ogg"), &data.path().join("pin"));

    mentor
        .send_json(&json!({"type": "recording", "action": "revoke", "discard": true}))
        .expect("revoke");
    consent_flow::wait_state(&mentee, "off").await;
    let sid = session["id"].as_str().expect("sid");
    let trail_url = server.url(&format!("/api/v1/sessions/{sid}/consent"));
    let deadline = Instant::now() + T;
    while !get_json(&trail_url).await["events"]
        .as_array()
        .is_some_and(|e| e.iter().any(|e| e["action"] == "discard"))
    {
        assert!(Instant::now() < deadline, "discard never stored");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();
    mentor.close().await;
    mentee.close().await;
    drop(busy);
    assert!(dir.exists(), "the kill came before the files were gone");

    let server = BinaryServer::start(data.path()).expect("duet restarts");
    assert!(!dir.exists(), "discarded files deleted at the start");
    let left: Vec<_> = std::fs::read_dir(&recordings)
        .expect("recordings")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "nothing left behind: {left:?}");
    let list = get_json(&server.url("/api/v1/recordings")).await;
    let rec = &list["recordings"][0];
    assert_eq!(rec["status"], "deleted", "{list}");
    let trail = get_json(&server.url(&format!("/api/v1/sessions/{sid}/consent"))).await;
    let events = trail["events"].as_array().expect("events");
    let discards: Vec<_> = events.iter().filter(|e| e["action"] == "discard").collect();
    assert_eq!(discards.len(), 1, "{trail}");
    assert_eq!(
        discards[0]["role"], "mentor",
        "the trail keeps who discarded"
    );
    assert!(
        events.iter().all(|e| e["action"] != "interruption"),
        "not kept as interrupted: {trail}"
    );
}

/// Twenty minutes of real Opus for the recovery to transcode.
fn long_ogg(path: &Path, minutes: u32) {
    let frames = duet_tests::tone::opus_tone_frames().expect("tone");
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut ogg = duet_server::recorder::ogg::OggOpusWriter::new(file).expect("ogg");
    for i in 0..minutes * 60 * 50 {
        let frame = &frames[i as usize % frames.len()];
        ogg.push(i * 960, frame).expect("push");
    }
    let mut out = ogg.finish().expect("finish");
    std::io::Write::flush(&mut out).expect("flush");
}

/// HTTP is up at once after a crash, while a long recording is still
/// being finalized (WAV transcoding) in the background; before, the
/// server served nothing until every transcript was made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_after_a_crash_does_not_hold_up_http() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = BinaryServer::start(data.path()).expect("duet starts");
    let session = create_session(&server.url("")).await;
    let (mentor, mentee) = join_both(&server.ws_url(), &session).await;
    record(&mentor, &mentee).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.kill();
    mentor.close().await;
    mentee.close().await;
    let dir = only_recording_dir(&data.path().join("recordings"));
    long_ogg(&dir.join("mentor-audio.ogg"), 20);

    let spawned = Instant::now();
    let server = BinaryServer::start(data.path()).expect("duet restarts");
    for path in ["/healthz", "/readyz"] {
        let ok = client()
            .get(server.url(path))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        assert!(ok, "{path} answers");
    }
    let up = spawned.elapsed();
    let list = get_json(&server.url("/api/v1/recordings")).await;
    assert_eq!(
        list["recordings"][0]["status"], "recording",
        "HTTP came up only after the recovery ({up:?}): {list}"
    );
    assert!(up < Duration::from_secs(5), "took {up:?} to serve");
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        let list = get_json(&server.url("/api/v1/recordings")).await;
        let status = list["recordings"][0]["status"].clone();
        if status != "recording" || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status, "interrupted", "finished in the background");
    assert!(dir.join("mentor.wav").exists());
}
