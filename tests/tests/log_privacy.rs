//! What the server logs at info level, captured from the real binary over
//! a whole call: no join token, API key, TURN secret or credential, link
//! signing secret, or participant IP address may appear in it.
//!
//! The server listens and advertises on 127.0.0.5 while every client
//! connects from 127.0.0.1, so any participant address in the log is
//! "127.0.0.1" and easy to catch.
//!
//! Opens peer connections: the test script runs it in a loopback-only
//! network namespace.

use std::time::Duration;

use duet_tests::consent_flow::start_recording;
use duet_tests::harness::{API_KEY, BinaryServer, client, create_recordable_session_at, token};
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::json;

const T: Duration = Duration::from_secs(20);
const TURN_SECRET: &str = "turn-secret-that-must-never-be-logged";
const SERVER_IP: &str = "127.0.0.5";
const CLIENT_IP: &str = "127.0.0.1";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn info_logs_hold_no_secrets_and_no_participant_addresses() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = BinaryServer::start_with(
        data.path(),
        &["--listen", "127.0.0.5:0", "--public-ip", SERVER_IP],
        &[
            ("DUET_LOG", "info"),
            ("DUET_MEDIA_BIND", SERVER_IP),
            ("DUET_TURN_URLS", "turn:127.0.0.5:3478"),
            ("DUET_TURN_SHARED_SECRET", TURN_SECRET),
        ],
    )
    .expect("duet starts");
    let session = create_recordable_session_at(&server.url(""))
        .await
        .expect("session");
    let ws = server.ws_url();
    let (mentor_token, mentee_token) = (token(&session, "mentor"), token(&session, "mentee"));
    let mentor = TestPeer::join(&ws, &mentor_token, PeerOptions::named("Ada"))
        .await
        .expect("mentor");
    let mentee = TestPeer::join(&ws, &mentee_token, PeerOptions::named("Grace"))
        .await
        .expect("mentee");
    for p in [&mentor, &mentee] {
        p.wait_until(|s| s.received.get(MediaKind::Audio).packets > 20, T)
            .await
            .expect("media flows");
    }
    start_recording(&mentor, &mentee).await;
    mentor
        .send_json(&json!({"type":"chat","text":"hello"}))
        .expect("chat");
    // Failures log too: a forged token, an altered one, a wrong API key.
    let altered = format!("{}x", &mentee_token[..mentee_token.len() - 1]);
    for bad in ["forged-token", altered.as_str()] {
        assert!(
            TestPeer::join(&ws, bad, PeerOptions::named("Eve"))
                .await
                .is_err(),
            "{bad} joined"
        );
    }
    let wrong_key = "wrong-api-key-0123456789abcdef";
    let resp = client()
        .get(server.url("/api/v1/sessions"))
        .bearer_auth(wrong_key)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 401);
    let turn_credential = mentor.joined()["ice_servers"]
        .as_array()
        .and_then(|s| s.iter().find_map(|s| s["credential"].as_str()))
        .expect("a TURN credential was handed out")
        .to_string();
    mentor.leave().await.expect("leave");
    mentee.leave().await.expect("leave");
    tokio::time::sleep(Duration::from_secs(2)).await;

    let logs = server.logs();
    let signing_secret = std::fs::read_to_string(data.path().join("secret.key"))
        .expect("secret.key")
        .trim()
        .to_string();
    // The capture works: these lines are there.
    assert!(
        logs.iter().any(|l| l.contains("duet is running")),
        "{logs:#?}"
    );
    assert!(
        logs.iter()
            .filter(|l| l.contains("participant joined"))
            .count()
            >= 2,
        "{logs:#?}"
    );
    assert!(
        logs.iter().any(|l| l.contains("recording started")),
        "{logs:#?}"
    );
    let forbidden = [
        ("the mentor's join token", mentor_token.as_str()),
        ("the mentee's join token", mentee_token.as_str()),
        ("an altered join token", altered.as_str()),
        ("the API key", API_KEY),
        ("a wrong API key", wrong_key),
        ("the TURN shared secret", TURN_SECRET),
        ("a TURN credential", turn_credential.as_str()),
        ("the link-signing secret", signing_secret.as_str()),
        ("a participant's IP address", CLIENT_IP),
    ];
    for line in &logs {
        for (what, secret) in forbidden {
            assert!(!line.contains(secret), "{what} is in the log:\n{line}");
        }
    }
}
