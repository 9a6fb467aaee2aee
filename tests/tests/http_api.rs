//! The sessions API over real HTTP: authentication, validation errors with
//! clear codes, and the shape of what it returns.

use duet_tests::harness::{API_KEY, TestServer, client};
use serde_json::{Value, json};

async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut req = client().request(method, server.url(path));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no error.code>")
}

const GOOD: &str =
    r#"{"title":"Intro","mentor":{"name":"Ada"},"mentee":{"name":"Grace"},"recording":"off"}"#;

#[tokio::test]
async fn every_sessions_call_needs_a_valid_key() {
    let server = TestServer::start().await.expect("server");
    let id = "00000000-0000-4000-8000-000000000000";
    let calls = [
        (
            reqwest::Method::POST,
            "/api/v1/sessions".to_string(),
            Some(GOOD),
        ),
        (reqwest::Method::GET, "/api/v1/sessions".to_string(), None),
        (reqwest::Method::GET, format!("/api/v1/sessions/{id}"), None),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/sessions/{id}"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/sessions/{id}/links"),
            Some(r#"{"role":"mentor"}"#),
        ),
    ];
    for (method, path, body) in calls {
        for key in [None, Some("wrong-key-wrong-key-wrong"), Some("")] {
            let (status, v) = call(&server, method.clone(), &path, key, body).await;
            assert_eq!(status, 401, "{method} {path} with {key:?}: {v}");
            assert_eq!(code(&v), "unauthorized");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
        }
    }
}

#[tokio::test]
async fn bad_bodies_get_clear_codes() {
    let server = TestServer::start().await.expect("server");
    let post = |body: &'static str| {
        let server = &server;
        async move {
            call(
                server,
                reqwest::Method::POST,
                "/api/v1/sessions",
                Some(API_KEY),
                Some(body),
            )
            .await
        }
    };
    for body in [
        "not json",
        "",
        "[]",
        r#"{"title":"x"}"#,
        r#"{"title":"x","mentor":{"name":"a"},"mentee":{"name":"b"},"recording":"sometimes"}"#,
        r#"{"title":"x","mentor":{"name":"a"},"mentee":{"name":"b"},"surprise":1}"#,
        r#"{"title":5,"mentor":{"name":"a"},"mentee":{"name":"b"}}"#,
    ] {
        let (status, v) = post(body).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert_eq!(code(&v), "invalid_json", "{body}");
    }
    let long_title = format!(
        r#"{{"title":"{}","mentor":{{"name":"a"}},"mentee":{{"name":"b"}}}}"#,
        "t".repeat(500)
    );
    let cases: Vec<(String, &str)> = vec![
        (
            r#"{"title":"  ","mentor":{"name":"a"},"mentee":{"name":"b"}}"#.into(),
            "title",
        ),
        (long_title, "title"),
        (
            r#"{"title":"x","mentor":{"name":""},"mentee":{"name":"b"}}"#.into(),
            "mentor.name",
        ),
        (
            r#"{"title":"x","mentor":{"name":"a"},"mentee":{"name":"b\u0007"}}"#.into(),
            "mentee.name",
        ),
        (
            r#"{"title":"x","mentor":{"name":"a"},"mentee":{"name":"b"},"expires_in_s":5}"#.into(),
            "expires_in_s",
        ),
    ];
    for (body, field) in cases {
        let (status, v) = call(
            &server,
            reqwest::Method::POST,
            "/api/v1/sessions",
            Some(API_KEY),
            Some(&body),
        )
        .await;
        assert_eq!(status, 422, "{body}: {v}");
        assert_eq!(code(&v), "invalid_field");
        assert_eq!(v["error"]["field"], field, "{body}");
    }
    let (status, v) = call(
        &server,
        reqwest::Method::GET,
        "/api/v1/sessions/not-a-uuid",
        Some(API_KEY),
        None,
    )
    .await;
    assert_eq!((status, code(&v)), (400, "invalid_id"));
    let (status, v) = call(
        &server,
        reqwest::Method::GET,
        "/api/v1/sessions/00000000-0000-4000-8000-000000000000",
        Some(API_KEY),
        None,
    )
    .await;
    assert_eq!((status, code(&v)), (404, "not_found"));
    let (status, v) = call(
        &server,
        reqwest::Method::GET,
        "/api/v1/nothing-here",
        None,
        None,
    )
    .await;
    assert_eq!((status, code(&v)), (404, "not_found"));
    let (status, v) = call(
        &server,
        reqwest::Method::PUT,
        "/api/v1/sessions",
        Some(API_KEY),
        Some(GOOD),
    )
    .await;
    assert_eq!((status, code(&v)), (405, "method_not_allowed"));
}

#[tokio::test]
async fn create_list_show_and_end_a_session() {
    let server = TestServer::start().await.expect("server");
    let (status, created) = call(
        &server,
        reqwest::Method::POST,
        "/api/v1/sessions",
        Some(API_KEY),
        Some(GOOD),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert_eq!(created["title"], "Intro");
    assert_eq!(created["recording"], "off");
    for role in ["mentor", "mentee"] {
        let link = created["links"][role].as_str().expect("link");
        let token = created["tokens"][role].as_str().expect("token");
        assert_eq!(
            link,
            format!("http://{}/join#{token}", server.http),
            "secret only in the fragment"
        );
    }
    assert_ne!(created["tokens"]["mentor"], created["tokens"]["mentee"]);
    let expires = created["expires_at"].as_str().expect("expires_at");
    assert!(
        time::OffsetDateTime::parse(expires, &time::format_description::well_known::Rfc3339)
            .is_ok()
    );
    assert_eq!(created["status"], "open");

    let (status, list) = call(
        &server,
        reqwest::Method::GET,
        "/api/v1/sessions",
        Some(API_KEY),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let listed = list["sessions"].as_array().expect("array");
    assert!(listed.iter().any(|s| s["id"] == id.as_str()));

    let (status, one) = call(
        &server,
        reqwest::Method::GET,
        &format!("/api/v1/sessions/{id}"),
        Some(API_KEY),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["mentor"]["name"], "Ada");
    assert_eq!(one["mentor"]["connected"], false);
    assert_eq!(one["recording_state"], "off");
    assert_eq!(one["tokens"], created["tokens"], "links are stable");

    let (status, ended) = call(
        &server,
        reqwest::Method::DELETE,
        &format!("/api/v1/sessions/{id}"),
        Some(API_KEY),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ended["status"], "ended");
    assert!(ended["ended_at"].is_string());
    let (status, v) = call(
        &server,
        reqwest::Method::POST,
        &format!("/api/v1/sessions/{id}/links"),
        Some(API_KEY),
        Some(r#"{"role":"mentee"}"#),
    )
    .await;
    assert_eq!(
        (status, code(&v)),
        (409, "session_ended"),
        "no new links for an ended session"
    );
    let (status, again) = call(
        &server,
        reqwest::Method::DELETE,
        &format!("/api/v1/sessions/{id}"),
        Some(API_KEY),
        None,
    )
    .await;
    assert_eq!(
        (status, &again["status"]),
        (200, &json!("ended")),
        "ending is idempotent"
    );
}

#[tokio::test]
async fn health_and_readiness() {
    let server = TestServer::start().await.expect("server");
    let (status, v) = call(&server, reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!((status, &v["status"]), (200, &json!("ok")));
    let (status, v) = call(&server, reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!((status, &v["status"]), (200, &json!("ready")));
}
