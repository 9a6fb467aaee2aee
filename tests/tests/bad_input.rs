//! Hostile and malformed input on the surfaces the operator kit and the
//! admin console added: the connectivity check, login, policy, trail and
//! session filters, recording mixes. Each gets a clear error in the
//! contract's shape and harms nothing; the server answers normally after.
//!
//! Opens peer connections (the probe cap): the test script runs it in a
//! loopback-only network namespace.

use duet_tests::admin_client::{AdminClient, create_admin};
use duet_tests::harness::{TestServer, client};
use duet_tests::{MediaPeer, PeerOptions};
use reqwest::Method;
use serde_json::{Value, json};

/// Asserts an error answer: `status`, and `code` in `{"error":{...}}`.
async fn expect_error(resp: reqwest::Response, status: u16, code: &str, what: &str) {
    assert_eq!(resp.status().as_u16(), status, "{what}");
    let body: Value = resp.json().await.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connectivity_check_refuses_garbage_and_caps_probes() {
    let server = TestServer::start().await.expect("server");
    let url = |p: &str| server.url(p);
    for (body, code, what) in [
        ("{", "invalid_json", "broken JSON"),
        (
            r#"{"token": 5}"#,
            "invalid_json",
            "a token that is not a string",
        ),
        (r#"{"tokn": "x"}"#, "invalid_json", "an unknown field"),
    ] {
        let resp = client()
            .post(url("/api/v1/check"))
            .body(body)
            .send()
            .await
            .expect("plan");
        expect_error(resp, 400, code, what).await;
    }
    // A forged token is no error, but gets no relay credentials.
    let plan: Value = client()
        .post(url("/api/v1/check"))
        .json(&json!({"token": "forged"}))
        .send()
        .await
        .expect("plan")
        .json()
        .await
        .expect("json");
    assert_eq!(plan["ice_servers"], json!([]));

    for (body, status, code) in [
        (json!({"sdp": "v=0 not an offer"}), 422, "invalid_field"),
        (json!({"sdp": ""}), 422, "invalid_field"),
        (json!({"offer": "x"}), 400, "invalid_json"),
    ] {
        let resp = client()
            .post(url("/api/v1/check/offer"))
            .json(&body)
            .send()
            .await
            .expect("offer");
        expect_error(resp, status, code, &body.to_string()).await;
    }

    // Probes are real connections; no more than 32 live at once.
    let peer = MediaPeer::new(Vec::new(), &PeerOptions::named("probe"))
        .await
        .expect("peer");
    let sdp = peer.create_offer(true).await.expect("offer");
    let mut statuses = Vec::new();
    for _ in 0..33 {
        let resp = client()
            .post(url("/api/v1/check/offer"))
            .json(&json!({ "sdp": sdp }))
            .send()
            .await
            .expect("offer");
        statuses.push(resp.status().as_u16());
        if resp.status().as_u16() == 429 {
            expect_error(resp, 429, "busy", "the 33rd probe").await;
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        32,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429));
    peer.close().await;
    // Calls are not affected by the probe cap.
    let session = server.create_session().await.expect("sessions still work");
    assert!(session["id"].is_string());
}

#[tokio::test]
async fn admin_calls_refuse_malformed_input_with_the_field_named() {
    let server = TestServer::start().await.expect("server");
    create_admin(&server.config).expect("admin");
    let base = server.url("");

    for (body, status, code) in [
        ("not json", 400, "invalid_json"),
        (r#"{"username": "a"}"#, 400, "invalid_json"),
        (
            r#"{"username": "a", "password": "b", "otp": 1}"#,
            400,
            "invalid_json",
        ),
    ] {
        let resp = client()
            .post(format!("{base}/api/v1/admin/login"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("login");
        expect_error(resp, status, code, body).await;
    }
    // A username no account can have is a plain wrong login.
    let long = "x".repeat(10_000);
    let resp = client()
        .post(format!("{base}/api/v1/admin/login"))
        .json(&json!({"username": long, "password": "p"}))
        .send()
        .await
        .expect("login");
    expect_error(resp, 401, "invalid_credentials", "a huge username").await;

    let admin = AdminClient::login(&base).await.expect("login");
    for (body, status, field) in [
        (json!({"notice": "   "}), 422, Some("notice")),
        (json!({"notice": "x".repeat(20_001)}), 422, Some("notice")),
        (
            json!({"retention_days": 100_000}),
            422,
            Some("retention_days"),
        ),
        (json!({"retention_days": -1}), 400, None),
        (json!({"recording_allowed": "yes"}), 400, None),
        (json!({"notise": "typo"}), 400, None),
    ] {
        let resp = admin
            .request(Method::PUT, "/api/v1/policy")
            .json(&body)
            .send()
            .await
            .expect("put");
        assert_eq!(resp.status().as_u16(), status, "{body}");
        let err: Value = resp.json().await.expect("json");
        if let Some(field) = field {
            assert_eq!(err["error"]["field"], field, "{err}");
        }
    }
    let policy = admin.get_json("/api/v1/policy").await.expect("policy");
    assert_eq!(
        policy["notice"]["version"], 1,
        "nothing was changed: {policy}"
    );
    assert_eq!(policy["retention_days"], 0);

    for (path, status, code) in [
        ("/api/v1/consent?format=xml", 422, "invalid_field"),
        ("/api/v1/consent?from=yesterday", 422, "invalid_field"),
        ("/api/v1/consent?action=forge", 422, "invalid_field"),
        ("/api/v1/consent?limit=5", 400, "invalid_query"),
        ("/api/v1/sessions?state=soon", 422, "invalid_field"),
        ("/api/v1/sessions/not-a-uuid/consent", 400, "invalid_id"),
        ("/api/v1/audit?limit=lots", 400, "invalid_query"),
        ("/api/v1/recordings/not-a-uuid/mix.wav", 400, "invalid_id"),
    ] {
        let resp = admin.request(Method::GET, path).send().await.expect("get");
        expect_error(resp, status, code, path).await;
    }
    let missing = uuid::Uuid::new_v4();
    let resp = admin
        .request(
            Method::GET,
            &format!("/api/v1/recordings/{missing}/mix.wav"),
        )
        .send()
        .await
        .expect("mix");
    expect_error(resp, 404, "not_found", "the mix of no recording").await;
    // Everything still answers.
    admin
        .get_json("/api/v1/audit")
        .await
        .expect("audit still works");
}
