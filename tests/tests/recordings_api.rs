//! The recordings API: who may list, read, download and delete, and that
//! names from the URL never reach the filesystem.

use std::time::{Duration, Instant};

use duet_tests::harness::{API_KEY, TestServer, client, token};
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);

async fn last_recording_state(peer: &TestPeer, state: &str) {
    peer.signal()
        .wait_messages(T, |log| {
            log.iter()
                .rev()
                .find(|m| m["type"] == "recording")
                .is_some_and(|m| m["state"] == state)
        })
        .await
        .unwrap_or_else(|e| panic!("recording state {state}: {e}"));
}

async fn get(server: &TestServer, path: &str, bearer: Option<&str>) -> reqwest::Response {
    let mut req = client().get(server.url(path));
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    req.send().await.expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_to_recordings_is_checked_and_names_are_never_paths() {
    let server = TestServer::start().await.expect("server");
    let session = server.create_recordable_session().await.expect("session");
    let other = server
        .create_recordable_session()
        .await
        .expect("another session");
    let (mentor_token, stranger_token) = (token(&session, "mentor"), token(&other, "mentee"));
    let mentor = TestPeer::join(&server.ws_url(), &mentor_token, PeerOptions::named("Ada"))
        .await
        .expect("mentor");
    let mentee = TestPeer::join(
        &server.ws_url(),
        &token(&session, "mentee"),
        PeerOptions::named("Grace"),
    )
    .await
    .expect("mentee");
    mentee
        .wait_until(|s| s.received.get(MediaKind::Audio).packets > 20, T)
        .await
        .expect("media");
    mentor
        .send_json(&json!({"type":"recording","action":"request"}))
        .expect("request");
    last_recording_state(&mentee, "requested").await;
    for p in [&mentor, &mentee] {
        p.send_json(&json!({"type":"recording","action":"consent"}))
            .expect("consent");
    }
    last_recording_state(&mentor, "recording").await;

    let list: Value = get(&server, "/api/v1/recordings", Some(API_KEY))
        .await
        .json()
        .await
        .expect("json");
    let id = list["recordings"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let del = client()
        .delete(server.url(&format!("/api/v1/recordings/{id}")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("delete");
    assert_eq!(
        del.status(),
        409,
        "a recording in progress cannot be deleted"
    );

    tokio::time::sleep(Duration::from_secs(1)).await;
    mentee
        .send_json(&json!({"type":"recording","action":"revoke"}))
        .expect("revoke");
    last_recording_state(&mentor, "off").await;
    let deadline = Instant::now() + T;
    loop {
        let v: Value = get(&server, &format!("/api/v1/recordings/{id}"), Some(API_KEY))
            .await
            .json()
            .await
            .expect("json");
        if v["status"] == "complete" {
            break;
        }
        assert!(Instant::now() < deadline, "never complete: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Listing is for administrators only.
    assert_eq!(get(&server, "/api/v1/recordings", None).await.status(), 401);
    assert_eq!(
        get(&server, "/api/v1/recordings", Some(&mentor_token))
            .await
            .status(),
        401
    );
    // A participant reads their own session's recording, nobody else's.
    let own = get(
        &server,
        &format!("/api/v1/recordings/{id}"),
        Some(&mentor_token),
    )
    .await;
    assert_eq!(own.status(), 200);
    let manifest: Value = own.json().await.expect("json");
    assert_eq!(manifest["manifest"]["status"], "complete");
    let foreign = get(
        &server,
        &format!("/api/v1/recordings/{id}"),
        Some(&stranger_token),
    )
    .await;
    assert_eq!(foreign.status(), 404);
    assert_eq!(
        get(
            &server,
            &format!("/api/v1/recordings/{id}"),
            Some("forged.token")
        )
        .await
        .status(),
        401
    );

    let file = get(
        &server,
        &format!("/api/v1/recordings/{id}/files/mentor-audio.ogg"),
        Some(&mentor_token),
    )
    .await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "audio/ogg");
    assert!(file.bytes().await.expect("bytes").starts_with(b"OggS"));
    let stranger = get(
        &server,
        &format!("/api/v1/recordings/{id}/files/mentor-audio.ogg"),
        Some(&stranger_token),
    )
    .await;
    assert_eq!(stranger.status(), 404);
    for name in [
        "..%2F..%2Fsecret.key",
        "%2E%2E%2Fduet.sqlite3",
        "nothing.webm",
        ".hidden",
        "manifest.json.tmp",
    ] {
        let r = get(
            &server,
            &format!("/api/v1/recordings/{id}/files/{name}"),
            Some(API_KEY),
        )
        .await;
        assert_eq!(r.status(), 404, "{name}");
    }
    assert_eq!(
        get(
            &server,
            &format!("/api/v1/recordings/{id}/files/manifest.json"),
            Some(API_KEY)
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        get(&server, "/api/v1/recordings/not-a-uuid", Some(API_KEY))
            .await
            .status(),
        400
    );

    // Deleting needs a credential for this recording (an API key here;
    // the two people may too, see `reflection_api.rs`); the trail keeps
    // who deleted what.
    let by_nobody = client()
        .delete(server.url(&format!("/api/v1/recordings/{id}")))
        .bearer_auth("not-a-credential")
        .send()
        .await
        .expect("delete");
    assert_eq!(by_nobody.status(), 401);
    let deleted = client()
        .delete(server.url(&format!("/api/v1/recordings/{id}")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 200);
    assert!(
        !server.recordings_dir().join(&id).exists(),
        "files are gone"
    );
    let gone = get(
        &server,
        &format!("/api/v1/recordings/{id}/files/mentor-audio.ogg"),
        Some(API_KEY),
    )
    .await;
    assert_eq!(gone.status(), 404);
    let row: Value = get(&server, &format!("/api/v1/recordings/{id}"), Some(API_KEY))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(row["status"], "deleted");
    assert_eq!(row["deleted_by"], "admin");
    let sid = session["id"].as_str().expect("sid");
    let trail: Value = get(
        &server,
        &format!("/api/v1/sessions/{sid}/consent"),
        Some(API_KEY),
    )
    .await
    .json()
    .await
    .expect("json");
    let last = trail["events"]
        .as_array()
        .and_then(|e| e.last())
        .cloned()
        .expect("events");
    assert_eq!(
        (last["action"].clone(), last["actor"].clone()),
        (json!("discard"), json!("admin"))
    );
    assert_eq!(
        get(&server, &format!("/api/v1/sessions/{sid}/consent"), None)
            .await
            .status(),
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_off_sessions_refuse_requests() {
    let server = TestServer::start().await.expect("server");
    let session = server.create_session().await.expect("session");
    let (mentor, _mentee) = server.join_both(&session).await.expect("both join");
    assert_eq!(mentor.joined()["recording"]["policy"], "off");
    mentor
        .send_json(&json!({"type":"recording","action":"request"}))
        .expect("request");
    let err = mentor.wait_for_message("error", T).await.expect("refused");
    assert_eq!(err["code"], "recording_unavailable");

    // A deployment that forbids recording overrides the session.
    let server = TestServer::start_with(|c| c.recording.enabled = false)
        .await
        .expect("server");
    let session = server.create_recordable_session().await.expect("session");
    assert_eq!(
        session["recording"], "off",
        "the session shows the policy that applies"
    );
    let mentor = TestPeer::join(
        &server.ws_url(),
        &token(&session, "mentor"),
        PeerOptions::named("Ada"),
    )
    .await
    .expect("mentor");
    assert_eq!(mentor.joined()["recording"]["policy"], "off");
}

/// The transcript calls refuse bad ids, unknown recordings, missing
/// credentials and unknown formats with the usual error bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcript_calls_refuse_bad_input() {
    let server = TestServer::start().await.expect("server");
    let unknown = uuid::Uuid::new_v4();
    let cases = [
        (
            "/api/v1/recordings/not-a-uuid/transcript".to_string(),
            Some(API_KEY),
            400,
        ),
        (
            format!("/api/v1/recordings/{unknown}/transcript"),
            Some(API_KEY),
            404,
        ),
        (
            format!("/api/v1/recordings/{unknown}/transcript?format=pdf"),
            Some(API_KEY),
            404,
        ),
        (
            format!("/api/v1/recordings/{unknown}/transcript"),
            None,
            401,
        ),
    ];
    for (path, bearer, status) in cases {
        let r = get(&server, &path, bearer).await;
        assert_eq!(r.status().as_u16(), status, "{path}");
    }
    let r = client()
        .delete(server.url(&format!("/api/v1/recordings/{unknown}/media")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status().as_u16(), 404);
    let r = client()
        .delete(server.url(&format!("/api/v1/recordings/{unknown}/media")))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status().as_u16(), 401);
}
