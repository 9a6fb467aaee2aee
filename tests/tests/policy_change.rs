//! Turning recording off reaches live sessions (issue 11, point 2): an
//! administrator's `PUT /api/v1/policy` with `recording_allowed: false`
//! stops a running recording within a second, both people are told why,
//! and the trail says it was the policy. Turning it on again lets them ask
//! again.
//!
//! Opens peer connections: run it in a loopback-only network namespace.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use duet_tests::consent_flow::{self, recording, wait_state};
use duet_tests::harness::{API_KEY, TestServer, client, token};
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);

async fn put_policy(server: &TestServer, body: Value) {
    let resp = client()
        .put(server.url("/api/v1/policy"))
        .bearer_auth(API_KEY)
        .json(&body)
        .send()
        .await
        .expect("put policy");
    assert_eq!(resp.status().as_u16(), 200, "{:?}", resp.text().await);
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

/// Waits for an `error` `recording_unavailable` that names the
/// administrator; returns its message.
async fn told_why(peer: &TestPeer) -> String {
    let log = peer
        .signal()
        .wait_messages(T, |log| {
            log.iter().any(|m| {
                m["type"] == "error"
                    && m["code"] == "recording_unavailable"
                    && m["message"]
                        .as_str()
                        .is_some_and(|t| t.contains("administrator"))
            })
        })
        .await
        .expect("told why recording stopped");
    log.iter()
        .find(|m| m["type"] == "error" && m["code"] == "recording_unavailable")
        .and_then(|m| m["message"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_recording_off_stops_a_running_recording_and_says_why() {
    let server = TestServer::start().await.expect("server");
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
        .wait_until(|s| s.received.get(MediaKind::Camera).packets > 20, T)
        .await
        .expect("media flows");
    consent_flow::start_recording(&mentor, &mentee).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let dirs: Vec<PathBuf> = std::fs::read_dir(server.recordings_dir())
        .expect("recordings")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let dir = dirs[0].clone();
    assert!(!track_sizes(&dir).is_empty(), "the recording writes");

    put_policy(&server, json!({"recording_allowed": false})).await;
    let changed = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let at_one_second = track_sizes(&dir);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        at_one_second,
        track_sizes(&dir),
        "tracks still grew more than a second after recording was turned off"
    );
    for peer in [&mentor, &mentee] {
        let status = wait_state(peer, "off").await;
        assert_eq!(status["policy"], "off", "{status}");
        let message = told_why(peer).await;
        assert!(message.contains("turned recording off"), "{message}");
    }
    assert!(changed.elapsed() < T);

    let id = session["id"].as_str().expect("id");
    let trail: Value = client()
        .get(server.url(&format!("/api/v1/sessions/{id}/consent")))
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
        .unwrap_or_default();
    assert_eq!(last["action"], "interruption", "{trail}");
    assert!(
        last["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("policy")),
        "{trail}"
    );

    // Nothing can be asked for now; once allowed again, it can.
    mentor.send_json(&recording("request")).expect("request");
    mentor
        .signal()
        .wait_messages(T, |log| {
            log.iter()
                .filter(|m| m["type"] == "error" && m["code"] == "recording_unavailable")
                .count()
                >= 2
        })
        .await
        .expect("request refused while off");
    put_policy(&server, json!({"recording_allowed": true})).await;
    let status = wait_state(&mentee, "off").await;
    let deadline = Instant::now() + T;
    let mut allowed = status["policy"] == "allowed";
    while !allowed && Instant::now() < deadline {
        let log = mentee.signal().messages();
        allowed = log
            .iter()
            .rev()
            .find(|m| m["type"] == "recording")
            .is_some_and(|m| m["policy"] == "allowed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(allowed, "the live session follows the policy back on");
    consent_flow::start_recording(&mentor, &mentee).await;
}
