//! A revoke stops writing whatever else the server is doing (issue 11,
//! point 1). The attack was: a participant of a session with a finished
//! recording opens many downloads of its `mix.wav` with their own join
//! token and never reads them; each held a thread of tokio's blocking pool
//! until the pool was full, and a revoke whose consent event had to be
//! stored there first never stopped the recording.
//!
//! Downloads no longer hold a blocking thread and are capped per
//! credential, so they alone cannot fill the pool any more. The test
//! therefore fills the pool itself: the server runs in-process on a
//! runtime with a pool of [`POOL`] threads, and the test parks a closure on
//! every one of them (and proves no further task can start) before the
//! revoke. The stalled downloads stay, with the per-credential cap lifted
//! above [`STALLED`], as the load the issue described.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
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
fn a_revoke_stops_writing_while_the_blocking_pool_is_full() {
    runtime().block_on(revoke_under_load());
}

/// A gate the parked closures wait on until the test opens it.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        while !*open {
            open = self.cv.wait(open).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }
}

/// Parks a closure on every thread of the blocking pool and proves the
/// pool is full: all [`POOL`] closures run, and one more task does not
/// start within half a second.
async fn fill_blocking_pool(gate: &Arc<Gate>) {
    let running = Arc::new(AtomicUsize::new(0));
    for _ in 0..POOL {
        let (gate, running) = (gate.clone(), running.clone());
        drop(tokio::task::spawn_blocking(move || {
            running.fetch_add(1, Ordering::SeqCst);
            gate.wait();
        }));
    }
    let deadline = Instant::now() + T;
    while running.load(Ordering::SeqCst) < POOL {
        assert!(
            Instant::now() < deadline,
            "only {} of {POOL} blocking threads started",
            running.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let probe = Arc::new(AtomicBool::new(false));
    let flag = probe.clone();
    drop(tokio::task::spawn_blocking(move || {
        flag.store(true, Ordering::SeqCst)
    }));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !probe.load(Ordering::SeqCst),
        "a blocking task still started: the pool is not full"
    );
}

async fn revoke_under_load() {
    let server = TestServer::start_with(|c| {
        // Lifted so every stalled download is served, not refused.
        c.http.max_downloads_per_credential = STALLED as _;
    })
    .await
    .expect("server");
    let session = server.create_recordable_session().await.expect("session");
    let (mentor, mentee) = call(&server, &session).await;

    let first = finished_recording(&server, &mentor, &mentee).await;
    lengthen_transcripts(&server.recordings_dir().join(&first));

    consent_flow::start_recording(&mentor, &mentee).await;
    let dir_of_second = async {
        let deadline = Instant::now() + T;
        loop {
            let list = get_json(&server, "/api/v1/recordings").await;
            let second = list["recordings"]
                .as_array()
                .expect("list")
                .iter()
                .filter_map(|r| r["id"].as_str())
                .find(|id| *id != first)
                .map(str::to_string);
            if let Some(id) = second {
                let dir = server.recordings_dir().join(&id);
                if track_sizes(&dir).iter().any(|(_, len)| *len > 0) {
                    return (id, dir);
                }
            }
            assert!(Instant::now() < deadline, "the second recording writes");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let (second, dir) = dir_of_second.await;

    // The mentor's own token: allowed to download their recordings.
    let path = format!("/api/v1/recordings/{first}/mix.wav");
    let mentor_token = token(&session, "mentor");
    let stalled: Vec<TcpStream> = (0..STALLED)
        .filter_map(|_| stalled_download(server.http, &path, &mentor_token))
        .collect();
    assert_eq!(stalled.len(), STALLED, "every download connects");
    let gate = Arc::new(Gate::default());
    fill_blocking_pool(&gate).await;

    mentee.send_json(&recording("revoke")).expect("revoke");
    let revoked = Instant::now();
    // The server decided once it says so; from then on nothing more may
    // reach the files but what the writer held before (flushed when it
    // closes them, which must not wait for the pool either). Timed from
    // the decision, not from sending: on a loaded machine the revoke's
    // own way to the room can take a while, and that is not writing.
    wait_state(&mentor, "off").await;
    let decided_after = revoked.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let at_one_second = track_sizes(&dir);
    // The writer's end: the manifest records when it stopped. Only after
    // that is a size final.
    let deadline = Instant::now() + T;
    let stopped = loop {
        let stopped = std::fs::read(dir.join("manifest.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|m| m["stopped_at"].is_string());
        if stopped || Instant::now() >= deadline {
            break stopped;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let stopped_after = revoked.elapsed();
    let later = track_sizes(&dir);
    let trail = get_json(
        &server,
        &format!(
            "/api/v1/sessions/{}/consent",
            session["id"].as_str().expect("id")
        ),
    )
    .await;
    // The pool is still full here: all of the above happened without it.
    gate.open();
    drop(stalled);

    assert!(
        stopped,
        "the writer did not finish within {stopped_after:?} of the revoke"
    );
    assert!(
        decided_after < Duration::from_secs(5),
        "the revoke took {decided_after:?} to be decided"
    );
    assert_eq!(
        at_one_second, later,
        "tracks still grew more than a second after the revoke was decided ({decided_after:?} after it was sent)"
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
