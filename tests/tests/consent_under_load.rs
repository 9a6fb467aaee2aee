//! A revoke stops writing whatever else the server is doing (issue 11,
//! point 1). The attack: a participant of a session with a finished
//! recording opens many downloads of its `mix.wav` with their own join
//! token and never reads them. Each download streams from a thread of
//! tokio's blocking pool, which blocks once the socket is full; when they
//! hold every thread of the pool, anything else queued there waits for
//! ever. A revoke whose consent event had to be stored there first never
//! stopped the recording.
//!
//! The `duet` binary runs with tokio's default pool of 512 threads; the
//! server here runs on a runtime with a pool of [`POOL`] threads so the
//! same attack needs fewer sockets (the kernel holds a few MB per stalled
//! socket), with [`STALLED`] downloads, more than the pool.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use duet_tests::consent_flow::{self, recording, wait_state};
use duet_tests::harness::{API_KEY, TestServer, client, token};
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::Value;

/// The blocking pool of the server's runtime in this test.
const POOL: usize = 48;
/// Stalled downloads: more than the pool holds.
const STALLED: usize = 80;
/// The earlier recording's transcripts are made this long (sparse files):
/// an hour of 16 kHz audio is 115 MB, so a download far outlasts what the
/// sockets buffer.
const LONG_WAV: u64 = 64 * 1024 * 1024;
const T: Duration = Duration::from_secs(20);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(POOL)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn call(server: &TestServer, session: &Value) -> (TestPeer, TestPeer) {
    let ws = server.ws_url();
    let mentor = TestPeer::join(&ws, &token(session, "mentor"), PeerOptions::named("Ada"))
        .await
        .expect("mentor");
    let mentee = TestPeer::join(&ws, &token(session, "mentee"), PeerOptions::named("Grace"))
        .await
        .expect("mentee");
    mentee.wait_connected(T).await.expect("connected");
    mentee
        .wait_until(|s| s.received.get(MediaKind::Camera).packets > 20, T)
        .await
        .expect("media flows");
    (mentor, mentee)
}

async fn get_json(server: &TestServer, path: &str) -> Value {
    client()
        .get(server.url(path))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// Polls the recording's row until its status is `status`.
async fn wait_status(server: &TestServer, id: &str, status: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let row = get_json(server, &format!("/api/v1/recordings/{id}")).await;
        if row["status"] == status {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn track_sizes(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out: Vec<(PathBuf, u64)> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "ogg" || e == "webm"))
        .map(|p| {
            let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            (p, len)
        })
        .collect();
    out.sort();
    out
}

/// A download that sends its request and never reads the answer.
fn stalled_download(addr: std::net::SocketAddr, path: &str, token: &str) -> Option<TcpStream> {
    let mut s = TcpStream::connect(addr).ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: duet\r\nAuthorization: Bearer {token}\r\n\r\n");
    s.write_all(req.as_bytes()).ok()?;
    Some(s)
}

/// Records a first recording, revokes it and waits until it is complete
/// (transcripts made); returns its id.
async fn finished_recording(server: &TestServer, mentor: &TestPeer, mentee: &TestPeer) -> String {
    consent_flow::start_recording(mentor, mentee).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    mentor.send_json(&recording("revoke")).expect("revoke");
    wait_state(mentee, "off").await;
    let list = get_json(server, "/api/v1/recordings").await;
    let id = list["recordings"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert!(
        wait_status(server, &id, "complete", T).await,
        "first recording completes"
    );
    id
}

/// Makes the finished recording's transcripts as long as an hour's.
fn lengthen_transcripts(dir: &Path) {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("json");
    let transcripts = manifest["transcripts"].as_array().expect("transcripts");
    assert!(!transcripts.is_empty(), "{manifest}");
    for t in transcripts {
        let file = dir.join(t["file"].as_str().expect("file"));
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .expect("open wav");
        f.set_len(LONG_WAV).expect("lengthen");
    }
}

#[test]
fn a_revoke_stops_writing_while_stalled_downloads_hold_the_blocking_pool() {
    runtime().block_on(revoke_under_load());
}

async fn revoke_under_load() {
    let server = TestServer::start().await.expect("server");
    let session = server.create_recordable_session().await.expect("session");
    let (mentor, mentee) = call(&server, &session).await;

    let first = finished_recording(&server, &mentor, &mentee).await;
    lengthen_transcripts(&server.recordings_dir().join(&first));

    consent_flow::start_recording(&mentor, &mentee).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let list = get_json(&server, "/api/v1/recordings").await;
    let second = list["recordings"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .find(|id| *id != first)
        .expect("second recording")
        .to_string();
    let dir = server.recordings_dir().join(&second);
    assert!(!track_sizes(&dir).is_empty(), "the second recording writes");

    // The mentor's own token: allowed to download their recordings.
    let path = format!("/api/v1/recordings/{first}/mix.wav");
    let mentor_token = token(&session, "mentor");
    let stalled: Vec<TcpStream> = (0..STALLED)
        .filter_map(|_| stalled_download(server.http, &path, &mentor_token))
        .collect();
    // Time for every download to fill its socket and block its thread.
    tokio::time::sleep(Duration::from_secs(3)).await;

    mentee.send_json(&recording("revoke")).expect("revoke");
    let revoked = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let at_one_second = track_sizes(&dir);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = track_sizes(&dir);
    assert_eq!(
        at_one_second, later,
        "tracks still grew more than a second after the revoke"
    );
    let finalized = wait_status(&server, &second, "complete", Duration::from_secs(5)).await;
    let finalized_after = revoked.elapsed();
    let trail = get_json(
        &server,
        &format!(
            "/api/v1/sessions/{}/consent",
            session["id"].as_str().expect("id")
        ),
    )
    .await;
    drop(stalled);

    assert!(
        finalized,
        "the writer did not finish within {finalized_after:?} of the revoke"
    );
    let revokes: Vec<&Value> = trail["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["recording_id"] == second.as_str() && e["action"] == "revoke")
        .collect();
    assert_eq!(revokes.len(), 1, "the revoke is in the trail: {trail}");
    assert_eq!(revokes[0]["role"], "mentee");
}
