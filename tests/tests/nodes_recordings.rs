//! Recordings when a node dies: two `duet` processes on one PostgreSQL
//! database and one S3-compatible bucket (moto, on loopback). While a
//! recording is written on one node, its new bytes reach the bucket as
//! chunks every 10 s; `kill -9` that node mid-recording, and the other node
//! puts the recording back together from the chunks, marks it
//! `interrupted` (the trail says so, its consents intact), uploads it, and
//! serves files that play.
//!
//! PostgreSQL only: it runs in the test script's PostgreSQL pass, where
//! `DUET_TEST_DATABASE_URL` is set.

use std::time::{Duration, Instant};

use duet_server::store::scratch::ScratchDatabase;
use duet_tests::binary_server::BinaryServer;
use duet_tests::consent_flow;
use duet_tests::harness::{API_KEY, client, create_recordable_session_at, token};
use duet_tests::media_check::{codec, decodes_cleanly, duration};
use duet_tests::s3::{CREDENTIALS, S3Server};
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::Value;

const T: Duration = Duration::from_secs(30);
const BUCKET: &str = "duet-recordings";

fn node(data: &std::path::Path, id: &str, database: &str, s3: &S3Server) -> BinaryServer {
    let mut env = CREDENTIALS.to_vec();
    env.push(("AWS_ENDPOINT_URL", s3.endpoint.as_str()));
    let url = format!("s3://{BUCKET}/eu");
    BinaryServer::start_node_with(data, id, database, &["--storage-url", &url], &env)
        .expect("duet starts")
}

async fn get_json(server: &BinaryServer, path: &str) -> Value {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_recording_is_recovered_from_its_chunks_by_another() {
    let Some(db) = ScratchDatabase::create().await.expect("scratch") else {
        eprintln!("skipped: needs DUET_TEST_DATABASE_URL (tests/run.sh's PostgreSQL pass)");
        return;
    };
    let s3 = S3Server::start().await.expect("an S3 server");
    s3.create_bucket(BUCKET).await.expect("bucket");
    let url = db.url();
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let a = node(dir_a.path(), "node-a", url, &s3);
    let b = node(dir_b.path(), "node-b", url, &s3);

    // A call on node a, recording.
    let base = a.url("");
    let session = create_recordable_session_at(base.trim_end_matches('/'))
        .await
        .expect("session");
    let join = |role: &'static str| {
        let session = session.clone();
        let ws = a.ws_url();
        async move { TestPeer::join(&ws, &token(&session, role), PeerOptions::named(role)).await }
    };
    let mentor = join("mentor").await.expect("mentor");
    let mentee = join("mentee").await.expect("mentee");
    mentor.wait_connected(T).await.expect("mentor connected");
    mentee.wait_connected(T).await.expect("mentee connected");
    mentee
        .wait_until(|s| s.received.get(MediaKind::Camera).packets > 20, T)
        .await
        .expect("media flows");
    let started = consent_flow::start_recording(&mentor, &mentee).await;
    let id = std::fs::read_dir(dir_a.path().join("recordings"))
        .expect("recordings")
        .flatten()
        .filter(|e| e.path().is_dir())
        .find_map(|e| e.file_name().to_str().map(str::to_owned))
        .expect("a recording folder on node a");
    let prefix = format!("eu/recordings/{id}/");

    // Its bytes reach the bucket as it is written: wait for a chunk of a
    // camera file sent at least 6 s into the recording.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let objects = s3
            .list(BUCKET, &format!("{prefix}chunks"))
            .await
            .expect("list");
        let shipped: u64 = objects
            .iter()
            .filter(|(k, _)| k.contains("mentor-camera.webm/"))
            .map(|(_, size)| size)
            .sum();
        if shipped > 0 && started.elapsed() > Duration::from_secs(6) && objects.len() >= 5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no chunks in the bucket: {objects:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let shipped_at = started.elapsed();

    // Node a dies: no finalizing, no goodbye.
    a.kill();
    drop((mentor, mentee));

    // Node b recovers it once a's lease ran out, and uploads it whole.
    let deadline = Instant::now() + Duration::from_secs(90);
    let manifest: Value = loop {
        if let Ok(bytes) = s3.get(BUCKET, &format!("{prefix}manifest.json")).await
            && let Ok(v) = serde_json::from_slice::<Value>(&bytes)
        {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "node b did not recover the recording: {:?}",
            b.logs().iter().rev().take(8).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(manifest["status"], "interrupted", "{manifest}");
    // The chunks go right after the whole recording is up.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let objects = s3.list(BUCKET, &prefix).await.expect("list");
        if objects.iter().all(|(k, _)| !k.contains("/chunks/")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the chunks go once it is uploaded whole: {objects:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Through node b: the row says interrupted, the files play, as long as
    // what had been shipped.
    let shown = get_json(&b, &format!("/api/v1/recordings/{id}")).await;
    assert_eq!(shown["status"], "interrupted", "{shown}");
    let scratch = tempfile::tempdir().expect("scratch");
    for (name, want) in [("mentor-audio.ogg", "opus"), ("mentee-camera.webm", "vp8")] {
        let resp = client()
            .get(b.url(&format!("/api/v1/recordings/{id}/files/{name}")))
            .bearer_auth(API_KEY)
            .send()
            .await
            .expect("file");
        assert_eq!(resp.status(), 200, "{name}");
        let path = scratch.path().join(name);
        std::fs::write(&path, resp.bytes().await.expect("bytes")).expect("write");
        assert_eq!(codec(&path).expect("probe"), want, "{name}");
        decodes_cleanly(&path).expect("decodes");
        let d = duration(&path).expect("duration");
        assert!(
            d >= shipped_at.saturating_sub(Duration::from_secs(11)) && d > Duration::from_secs(2),
            "{name}: {d:?} of a recording shipped {shipped_at:?} in"
        );
    }

    // The trail: both consents, the start, and the interruption.
    let sid = session["id"].as_str().expect("session id");
    let trail = get_json(&b, &format!("/api/v1/sessions/{sid}/consent")).await;
    let actions: Vec<&str> = trail["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for want in ["request", "consent", "start", "interruption"] {
        assert!(actions.contains(&want), "{want} in the trail: {actions:?}");
    }
    assert_eq!(
        actions.iter().filter(|a| **a == "consent").count(),
        2,
        "{actions:?}"
    );
}
