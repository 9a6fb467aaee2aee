//! Recordings in an S3-compatible bucket (`--storage-url`), end to end: the
//! real `duet` binary, real WebRTC peers and moto's S3 server on loopback.
//! A consented recording is written to the data folder while it runs,
//! then uploaded once settled and removed locally; the API lists it with
//! its size, serves its files (with ranges) and its manifest from the
//! bucket, the files play (ffprobe), and deleting it empties the bucket.

use std::time::{Duration, Instant};

use duet_tests::binary_server::BinaryServer;
use duet_tests::consent_flow::{self, recording, wait_state};
use duet_tests::harness::{API_KEY, client, create_recordable_session_at, token};
use duet_tests::media_check::{codec, decodes_cleanly};
use duet_tests::s3::{CREDENTIALS, S3Server};
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::Value;

const T: Duration = Duration::from_secs(30);
const BUCKET: &str = "duet-recordings";

async fn admin_get(server: &BinaryServer, path: &str) -> reqwest::Response {
    client()
        .get(server.url(path))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("request")
}

fn duet_on(s3: &S3Server, data: &std::path::Path) -> BinaryServer {
    let mut env = CREDENTIALS.to_vec();
    env.push(("AWS_ENDPOINT_URL", s3.endpoint.as_str()));
    let url = format!("s3://{BUCKET}/eu/");
    BinaryServer::start_with(
        data,
        &[
            "--listen",
            "127.0.0.1:0",
            "--public-ip",
            "127.0.0.1",
            "--storage-url",
            &url,
        ],
        &env,
    )
    .expect("duet starts")
}

/// Both people in a call, recording for 3 s: the peers, and the
/// recording's local folder and id.
async fn recording_call(
    server: &BinaryServer,
    data: &std::path::Path,
) -> (TestPeer, TestPeer, std::path::PathBuf, String) {
    let base = server.url("");
    let session = create_recordable_session_at(base.trim_end_matches('/'))
        .await
        .expect("session");
    let join = |role: &'static str| {
        let session = session.clone();
        let ws = server.ws_url();
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
    consent_flow::start_recording(&mentor, &mentee).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // While it is written, it is on this disk and not in the bucket.
    let recordings = data.join("recordings");
    let local = std::fs::read_dir(&recordings)
        .expect("recordings folder")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("a recording folder while recording");
    let id = local
        .file_name()
        .and_then(|n| n.to_str())
        .expect("id")
        .to_string();
    (mentor, mentee, local, id)
}

/// Waits until the recording's local folder is gone: moved to the bucket.
async fn wait_moved(server: &BinaryServer, local: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(45);
    while local.exists() {
        assert!(
            Instant::now() < deadline,
            "the recording was not moved to the bucket in 45 s: {:?}",
            server.logs().iter().rev().take(5).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The recording's objects, checked to hold its manifest and four tracks.
async fn uploaded(s3: &S3Server, prefix: &str) -> Vec<(String, u64)> {
    let objects = s3.list(BUCKET, prefix).await.expect("list");
    let names: Vec<&str> = objects
        .iter()
        .map(|(k, _)| k.trim_start_matches(prefix))
        .collect();
    for want in [
        "manifest.json",
        "mentor-audio.ogg",
        "mentee-audio.ogg",
        "mentor-camera.webm",
        "mentee-camera.webm",
    ] {
        assert!(names.contains(&want), "{want} in the bucket: {names:?}");
    }
    objects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_recording_moves_to_the_bucket_and_is_served_from_there() {
    let s3 = S3Server::start().await.expect("an S3 server");
    s3.create_bucket(BUCKET).await.expect("bucket");
    let data = tempfile::tempdir().expect("data");
    let server = duet_on(&s3, data.path());
    let (mentor, mentee, local, id) = recording_call(&server, data.path()).await;
    let prefix = format!("eu/recordings/{id}/");
    assert!(
        s3.list(BUCKET, &prefix).await.expect("list").is_empty(),
        "nothing in the bucket while recording"
    );

    mentee.send_json(&recording("revoke")).expect("revoke");
    wait_state(&mentor, "off").await;

    // Settled (no transcription here), it goes up and the folder goes.
    wait_moved(&server, &local).await;
    let objects = uploaded(&s3, &prefix).await;
    assert!(
        objects.iter().all(|(_, size)| *size > 0),
        "no empty object: {objects:?}"
    );
    let manifest: Value = serde_json::from_slice(
        &s3.get(BUCKET, &format!("{prefix}manifest.json"))
            .await
            .expect("get"),
    )
    .expect("manifest json");
    assert_eq!(manifest["status"], "complete");

    // The API reads it back from the bucket: the listing's size is the
    // bucket's, the manifest is the bucket's.
    let list: Value = admin_get(&server, "/api/v1/recordings")
        .await
        .json()
        .await
        .expect("json");
    let listed = list["recordings"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["id"] == id.as_str()))
        .cloned()
        .expect("listed");
    let bucket_bytes: u64 = objects.iter().map(|(_, s)| s).sum();
    assert_eq!(
        listed["size_bytes"].as_u64(),
        Some(bucket_bytes),
        "{listed}"
    );
    let shown: Value = admin_get(&server, &format!("/api/v1/recordings/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(shown["manifest"]["status"], "complete", "{shown}");

    // Files come from the bucket, byte for byte, and play.
    let scratch = tempfile::tempdir().expect("scratch");
    for name in ["mentor-audio.ogg", "mentee-camera.webm"] {
        let resp = admin_get(&server, &format!("/api/v1/recordings/{id}/files/{name}")).await;
        assert_eq!(resp.status(), 200, "{name}");
        let served = resp.bytes().await.expect("bytes");
        let stored = s3
            .get(BUCKET, &format!("{prefix}{name}"))
            .await
            .expect("get");
        assert!(
            served[..] == stored[..],
            "{name}: served bytes are the bucket's"
        );
        let path = scratch.path().join(name);
        std::fs::write(&path, &served).expect("write");
        decodes_cleanly(&path).expect("decodes");
        let want = if name.ends_with(".ogg") {
            "opus"
        } else {
            "vp8"
        };
        assert_eq!(codec(&path).expect("probe"), want);
    }
    // Players seek with ranges.
    let ranged = client()
        .get(server.url(&format!("/api/v1/recordings/{id}/files/mentor-camera.webm")))
        .bearer_auth(API_KEY)
        .header("Range", "bytes=0-99")
        .send()
        .await
        .expect("range");
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.bytes().await.expect("bytes").len(), 100);

    // Deleting it empties the bucket, and leaves no copy here.
    let deleted = client()
        .delete(server.url(&format!("/api/v1/recordings/{id}")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("delete");
    assert!(deleted.status().is_success(), "{}", deleted.status());
    assert!(
        s3.list(BUCKET, &prefix).await.expect("list").is_empty(),
        "the bucket holds nothing of a deleted recording"
    );
    assert!(!local.exists(), "no local copy of a deleted recording");
    let gone = admin_get(
        &server,
        &format!("/api/v1/recordings/{id}/files/mentor-audio.ogg"),
    )
    .await;
    assert_eq!(gone.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bucket_being_down_delays_the_upload_but_loses_nothing() {
    let s3 = S3Server::start().await.expect("an S3 server");
    s3.create_bucket(BUCKET).await.expect("bucket");
    let data = tempfile::tempdir().expect("data");
    let server = duet_on(&s3, data.path());
    let (mentor, mentee, local, id) = recording_call(&server, data.path()).await;
    let port = s3.port();
    s3.stop();
    mentee.send_json(&recording("revoke")).expect("revoke");
    wait_state(&mentor, "off").await;

    // Two sweeps with the bucket down: the upload fails and says so, and
    // the recording stays whole on the disk.
    let deadline = Instant::now() + Duration::from_secs(40);
    while !server
        .logs()
        .iter()
        .any(|l| l.contains("could not upload a recording"))
    {
        assert!(Instant::now() < deadline, "no failed upload was logged");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for file in ["manifest.json", "mentor-audio.ogg", "mentee-camera.webm"] {
        assert!(local.join(file).is_file(), "{file} still here");
    }

    // Back (empty: moto keeps nothing), the next sweep uploads it.
    let s3 = S3Server::start_on(port).await.expect("the S3 server again");
    s3.create_bucket(BUCKET).await.expect("bucket");
    wait_moved(&server, &local).await;
    let prefix = format!("eu/recordings/{id}/");
    uploaded(&s3, &prefix).await;
    let listed: Value = admin_get(&server, &format!("/api/v1/recordings/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["manifest"]["status"], "complete", "{listed}");
}

#[test]
fn a_storage_url_that_is_not_s3_stops_the_server_with_its_name() {
    let data = tempfile::tempdir().expect("data");
    // `timeout`, so a server that ran anyway fails the test, not hangs it.
    let out = std::process::Command::new("timeout")
        .arg("20")
        .arg(duet_tests::harness::duet_bin())
        .arg("--data")
        .arg(data.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--media-port", "0"])
        .args(["--storage-url", "/mnt/recordings"])
        .output()
        .expect("run duet");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused: {stderr}");
    assert_ne!(out.status.code(), Some(124), "it ran instead: {stderr}");
    assert!(
        stderr.contains("storage.url") && stderr.contains("s3://bucket/prefix"),
        "{stderr}"
    );
}
