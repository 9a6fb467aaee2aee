//! A pair's call with real media: both people join from their pair homes
//! (the join call of the API), the call is recorded with both consents, its
//! side panel's notes land on that call, the history shows it, and deleting
//! the pair deletes the recording with a `discard` in the consent trail.

use std::time::{Duration, Instant};

use duet_tests::consent_flow::{recording, start_recording, wait_state};
use duet_tests::harness::{API_KEY, TestServer, client};
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);

async fn send(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client()
        .request(method, server.url(path))
        .bearer_auth(bearer);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_call_is_recorded_noted_listed_and_deleted_with_the_pair() {
    use reqwest::Method;
    let server = TestServer::start().await.expect("server");
    let (status, pair) = send(
        &server,
        Method::POST,
        "/api/v1/pairs",
        API_KEY,
        Some(json!({
            "title": "Recorded pair",
            "mentor": {"name": "Grace", "time_zone": "Europe/Berlin"},
            "mentee": {"name": "Alan", "time_zone": "America/New_York"},
        })),
    )
    .await;
    assert_eq!(status, 201, "{pair}");
    let id = pair["id"].as_str().expect("id").to_string();
    let mentor = pair["tokens"]["mentor"]
        .as_str()
        .expect("token")
        .to_string();
    let mentee = pair["tokens"]["mentee"]
        .as_str()
        .expect("token")
        .to_string();
    let now = time::OffsetDateTime::now_utc();
    let start = now
        .replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .expect("minute")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let (status, _) = send(
        &server,
        Method::POST,
        &format!("/api/v1/pairs/{id}/sessions"),
        &mentor,
        Some(json!({"starts_at": start, "duration_min": 30})),
    )
    .await;
    assert_eq!(status, 201);

    let (_, join_mentor) = send(
        &server,
        Method::POST,
        &format!("/api/v1/pairs/{id}/join"),
        &mentor,
        None,
    )
    .await;
    let (_, join_mentee) = send(
        &server,
        Method::POST,
        &format!("/api/v1/pairs/{id}/join"),
        &mentee,
        None,
    )
    .await;
    let call = join_mentor["session_id"]
        .as_str()
        .expect("call")
        .to_string();
    assert_eq!(join_mentee["session_id"], call.as_str());
    let (mentor_join, mentee_join) = (
        join_mentor["token"].as_str().expect("token").to_string(),
        join_mentee["token"].as_str().expect("token").to_string(),
    );
    let ws = server.ws_url();
    let a = TestPeer::join(&ws, &mentor_join, PeerOptions::named("Grace"))
        .await
        .expect("mentor");
    let b = TestPeer::join(&ws, &mentee_join, PeerOptions::named("Alan"))
        .await
        .expect("mentee");
    b.wait_until(|s| s.received.get(MediaKind::Audio).packets > 20, T)
        .await
        .expect("media");

    // The side panel writes with the call's join token: the note belongs
    // to this call, and the token reads nothing but the side panel.
    let (status, note) = send(
        &server,
        Method::POST,
        &format!("/api/v1/pairs/{id}/notes"),
        &mentee_join,
        Some(json!({"text": "Ask about the budget", "visibility": "private"})),
    )
    .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(note["session_id"], call.as_str());
    let (status, _) = send(
        &server,
        Method::GET,
        &format!("/api/v1/pairs/{id}/messages"),
        &mentee_join,
        None,
    )
    .await;
    assert_eq!(status, 403, "a join token does not open the messages");

    start_recording(&a, &b).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    b.send_json(&recording("revoke")).expect("revoke");
    wait_state(&a, "off").await;
    drop((a, b));

    // The history lists the call with its recording once it is finished.
    let deadline = Instant::now() + T;
    let recording = loop {
        let (_, outline) = send(
            &server,
            Method::GET,
            &format!("/api/v1/pairs/{id}"),
            &mentee,
            None,
        )
        .await;
        let h = &outline["history"][0];
        assert_eq!(h["session_id"], call.as_str(), "{outline}");
        if h["recording"]["status"] == "complete" {
            assert_eq!(h["notes"], 1, "the mentee's own note is counted");
            break h["recording"]["id"].as_str().expect("id").to_string();
        }
        assert!(Instant::now() < deadline, "never finished: {h}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (_, outline) = send(
        &server,
        Method::GET,
        &format!("/api/v1/pairs/{id}"),
        &mentor,
        None,
    )
    .await;
    assert_eq!(
        outline["history"][0]["notes"], 0,
        "the mentee's private note is not the mentor's"
    );

    // Deleting the pair deletes the recording, and the trail says so.
    let (status, _) = send(
        &server,
        Method::DELETE,
        &format!("/api/v1/pairs/{id}"),
        API_KEY,
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(
        !server.recordings_dir().join(&recording).exists(),
        "files are gone"
    );
    let (_, row) = send(
        &server,
        Method::GET,
        &format!("/api/v1/recordings/{recording}"),
        API_KEY,
        None,
    )
    .await;
    assert_eq!(row["status"], "deleted", "{row}");
    let (_, trail) = send(
        &server,
        Method::GET,
        &format!("/api/v1/sessions/{call}/consent"),
        API_KEY,
        None,
    )
    .await;
    let last = trail["events"]
        .as_array()
        .and_then(|e| e.last())
        .cloned()
        .expect("events");
    assert_eq!(last["action"], "discard", "{trail}");
    assert!(
        last["detail"]
            .as_str()
            .unwrap_or("")
            .contains("with its pair"),
        "{last}"
    );
    let (status, _) = send(
        &server,
        Method::GET,
        &format!("/api/v1/pairs/{id}/notes"),
        &mentee,
        None,
    )
    .await;
    assert_eq!(status, 401, "the pair and its notes are gone");
}
