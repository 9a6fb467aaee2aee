//! HTTP and WebSocket limits under slow, hoarding and hostile clients: the
//! header timeout, the connection cap, the WebSocket cap per address, the
//! download cap per credential and the send (idle) timeout; the login's
//! username cap, trusted proxies and per-address lockout; the cookie and
//! HSTS over HTTPS; an atomic policy change.
//!
//! Opens server sockets and peer connections: the test script runs it in a
//! loopback-only network namespace.

use std::time::Duration;

use duet_tests::admin_client::{ADMIN_PASSWORD, ADMIN_USER, AdminClient, create_admin};
use duet_tests::consent_flow::{recording, start_recording, wait_state};
use duet_tests::harness::{API_KEY, TestServer, client, token};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

/// Reads until the server closes the connection; `true` if it did within
/// `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut sink = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_closed_after_the_header_timeout() {
    let server = TestServer::start_with(|c| c.http.header_timeout_s = 1)
        .await
        .expect("server");
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(server.http).await.expect("connect");
        // A request head that never ends.
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: duet\r\nX-Slow: 1\r\n")
            .await
            .expect("write");
        slow.push(s);
    }
    // Everyone else is still served meanwhile.
    let resp = client()
        .get(server.url("/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .expect("a normal request during the flood");
    assert_eq!(resp.status().as_u16(), 200);
    let started = Instant::now();
    for (n, s) in slow.iter_mut().enumerate() {
        let left = Duration::from_secs(6).saturating_sub(started.elapsed());
        assert!(
            closed_within(s, left).await,
            "half-sent request {n} still open after {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_holds_further_clients_until_a_place_frees() {
    let server = TestServer::start_with(|c| {
        c.http.max_connections = 8;
        c.http.header_timeout_s = 60;
    })
    .await
    .expect("server");
    // Let the health check's connection close first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(TcpStream::connect(server.http).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = client()
        .get(server.url("/healthz"))
        .timeout(Duration::from_millis(1500))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a ninth connection was served: {refused:?}"
    );
    drop(idle.pop());
    let resp = client()
        .get(server.url("/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("served once a place is free");
    assert_eq!(resp.status().as_u16(), 200);
}

async fn ws_status(url: &str) -> Result<tokio_tungstenite::WebSocketStream<impl Sized>, u16> {
    match tokio_tungstenite::connect_async(url).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("websocket: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_may_hold_only_so_many_websockets() {
    let server = TestServer::start_with(|c| c.http.max_websockets_per_address = 2)
        .await
        .expect("server");
    let url = server.ws_url();
    let first = ws_status(&url).await.expect("first socket");
    let _second = ws_status(&url).await.expect("second socket");
    assert_eq!(
        ws_status(&url).await.err(),
        Some(429),
        "the third is refused"
    );
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match ws_status(&url).await {
            Ok(_) => break,
            Err(status) => {
                assert_eq!(status, 429);
                assert!(Instant::now() < deadline, "the place never came back");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn login_from(base: &str, from: &str, user: &str, password: &str) -> reqwest::Response {
    client()
        .post(format!("{base}/api/v1/admin/login"))
        .header("x-forwarded-for", from)
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .expect("login")
}

async fn audit(base: &str) -> Vec<Value> {
    let audit: Value = client()
        .get(format!("{base}/api/v1/audit"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    audit["events"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_or_odd_username_never_reaches_the_limiter_or_the_audit_log() {
    let server = TestServer::start().await.expect("server");
    create_admin(&server.config).expect("admin");
    let base = server.url("");
    let names = ["x".repeat(10_000), "forged\nlogin ok".to_string()];
    for n in 0..25 {
        let resp = login_from(&base, "ignored", &names[n % 2], "whatever it is").await;
        assert_eq!(resp.status().as_u16(), 401, "attempt {n}");
        let err: Value = resp.json().await.expect("json");
        assert_eq!(err["error"]["code"], "invalid_credentials");
    }
    let resp = login_from(&base, "ignored", ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(resp.status().as_u16(), 200, "the address was not locked");
    let events = audit(&base).await;
    assert!(
        events.iter().all(|e| e["action"] != "login_failed"),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_one_address_failures_do_not_lock_out_another() {
    let server = TestServer::start_with(|c| c.http.trusted_proxies = vec!["127.0.0.1".into()])
        .await
        .expect("server");
    create_admin(&server.config).expect("admin");
    let base = server.url("");
    let (attacker, admin) = ("203.0.113.7", "198.51.100.8");
    for n in 0..5 {
        let resp = login_from(&base, attacker, ADMIN_USER, "wrong password!").await;
        assert_eq!(resp.status().as_u16(), 401, "attempt {n}");
    }
    let resp = login_from(&base, attacker, ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(
        resp.status().as_u16(),
        429,
        "the guessing address is locked"
    );
    // A forged hop left of the proxy's does not help the attacker either.
    let forged = format!("{admin}, {attacker}");
    let resp = login_from(&base, &forged, ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(resp.status().as_u16(), 429, "the rightmost hop counts");
    let resp = login_from(&base, admin, ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(resp.status().as_u16(), 200, "the admin elsewhere gets in");

    let events = audit(&base).await;
    let from = |action: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["action"] == action)
            .filter_map(|e| e["detail"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(from("login_failed"), vec![format!("from {attacker}"); 5]);
    assert_eq!(from("login"), vec![format!("from {admin}")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_the_cookie_is_secure_and_hsts_is_sent() {
    let server = TestServer::start_with(|c| {
        c.http.public_url = Some("https://duet.example.com".into());
    })
    .await
    .expect("server");
    create_admin(&server.config).expect("admin");
    let admin = AdminClient::login(&server.url("")).await.expect("login");
    assert!(
        admin.set_cookie.contains("; Secure"),
        "{}",
        admin.set_cookie
    );
    let resp = client()
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("health");
    assert_eq!(
        resp.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );
    // Plain HTTP gets no HSTS.
    let plain = TestServer::start().await.expect("server");
    let resp = client()
        .get(plain.url("/healthz"))
        .send()
        .await
        .expect("health");
    assert!(resp.headers().get("strict-transport-security").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_change_with_one_bad_field_changes_nothing() {
    let server = TestServer::start().await.expect("server");
    create_admin(&server.config).expect("admin");
    let admin = AdminClient::login(&server.url("")).await.expect("login");
    for (body, field) in [
        (
            json!({"recording_allowed": false, "retention_days": 100_000}),
            "retention_days",
        ),
        (json!({"retention_days": 30, "notice": "   "}), "notice"),
    ] {
        let resp = admin
            .request(Method::PUT, "/api/v1/policy")
            .json(&body)
            .send()
            .await
            .expect("put");
        assert_eq!(resp.status().as_u16(), 422, "{body}");
        let err: Value = resp.json().await.expect("json");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    let policy = admin.get_json("/api/v1/policy").await.expect("policy");
    assert_eq!(policy["recording_allowed"], true, "{policy}");
    assert_eq!(policy["retention_days"], 0, "{policy}");
    // Nor was anything stored for the next start.
    let db = duet_server::datadir::database(&server.config);
    let store = duet_server::store::Store::open_at(&db)
        .await
        .expect("store");
    for key in ["recording_allowed", "retention_days"] {
        assert_eq!(store.policy_value(key).await.expect("read"), None, "{key}");
    }
}

/// A finished recording whose transcripts are made huge (sparse), so a
/// download of its mix outlasts every socket buffer.
async fn huge_recording(server: &TestServer, session: &Value) -> String {
    let (mentor, mentee) = server.join_both(session).await.expect("join");
    start_recording(&mentor, &mentee).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    mentee.send_json(&recording("revoke")).expect("revoke");
    wait_state(&mentor, "off").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let rec = loop {
        let list: Value = client()
            .get(server.url("/api/v1/recordings"))
            .bearer_auth(API_KEY)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        if list["recordings"][0]["status"] == "complete" {
            break list["recordings"][0].clone();
        }
        assert!(Instant::now() < deadline, "not complete: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let rid = rec["id"].as_str().expect("id").to_string();
    let dir = server.recordings_dir().join(&rid);
    for entry in std::fs::read_dir(&dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "wav") {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .expect("wav");
            f.set_len(256 << 20).expect("grow");
        }
    }
    rid
}

/// Starts a download of `path` with `bearer` and then never reads.
async fn stalled_download(server: &TestServer, path: &str, bearer: &str) -> TcpStream {
    let mut s = TcpStream::connect(server.http).await.expect("connect");
    let req =
        format!("GET {path} HTTP/1.1\r\nHost: duet\r\nAuthorization: Bearer {bearer}\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut head = [0u8; 12];
    timeout(Duration::from_secs(5), s.read_exact(&mut head))
        .await
        .expect("answer")
        .expect("read");
    assert_eq!(&head, b"HTTP/1.1 200", "{}", String::from_utf8_lossy(&head));
    s
}

async fn status_of(server: &TestServer, path: &str, bearer: &str) -> (u16, Value) {
    let resp = client()
        .get(server.url(path))
        .bearer_auth(bearer)
        .send()
        .await
        .expect("get");
    let status = resp.status().as_u16();
    if status == 200 {
        return (status, Value::Null); // dropped unread: the place is freed
    }
    (status, resp.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_credential_streams_four_downloads_at_most_and_stalled_ones_are_dropped() {
    let server = TestServer::start_with(|c| {
        c.http.idle_timeout_s = 2;
        c.http.max_downloads_per_credential = 4;
    })
    .await
    .expect("server");
    let session = server.create_recordable_session().await.expect("session");
    let rid = huge_recording(&server, &session).await;
    let mentor = token(&session, "mentor");
    let mix = format!("/api/v1/recordings/{rid}/mix.wav");
    let file = format!("/api/v1/recordings/{rid}/files/mentor.wav");
    let mut stalled = Vec::new();
    for path in [&mix, &mix, &mix, &file] {
        stalled.push(stalled_download(&server, path, &mentor).await);
    }
    let (status, err) = status_of(&server, &mix, &mentor).await;
    assert_eq!(status, 429, "the fifth: {err}");
    assert_eq!(err["error"]["code"], "busy", "{err}");
    let (status, _) = status_of(&server, &file, &mentor).await;
    assert_eq!(status, 429, "files count too");
    let (status, _) = status_of(&server, &mix, &token(&session, "mentee")).await;
    assert_eq!(status, 200, "another credential is not affected");

    // Nobody reads: the server drops them after the send timeout (2 s
    // here), which gives all four places back. Reading the stalled
    // sockets before that would count as progress, so first take the four
    // places again (holding the answers unread).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut held = Vec::new();
        for _ in 0..4 {
            let resp = client()
                .get(server.url(&mix))
                .bearer_auth(&mentor)
                .send()
                .await
                .expect("get");
            if resp.status().as_u16() == 200 {
                held.push(resp);
            }
        }
        if held.len() == 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stalled downloads still hold places"
        );
        drop(held);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for (n, s) in stalled.iter_mut().enumerate() {
        assert!(
            closed_within(s, Duration::from_secs(10)).await,
            "stalled download {n} still open"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_from_many_addresses_do_not_lock_the_admin_out_of_a_fresh_one() {
    let server = TestServer::start_with(|c| c.http.trusted_proxies = vec!["127.0.0.1".into()])
        .await
        .expect("server");
    create_admin(&server.config).expect("admin");
    let base = server.url("");
    // More than the 30 an hour for one username; from different addresses
    // so no address reaches its own limits.
    for n in 0..32 {
        let from = format!("203.0.113.{n}");
        let resp = login_from(&base, &from, ADMIN_USER, "wrong password!").await;
        assert!(
            matches!(resp.status().as_u16(), 401 | 429),
            "attempt {n}: {}",
            resp.status()
        );
    }
    // The right password from a fresh address gets in after at most the
    // trickle interval (10 s).
    let deadline = Instant::now() + Duration::from_secs(12);
    loop {
        let resp = login_from(&base, "198.51.100.8", ADMIN_USER, ADMIN_PASSWORD).await;
        match resp.status().as_u16() {
            200 => break,
            429 if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await
            }
            s => panic!("the admin was locked out: {s}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_beyond_the_concurrent_password_checks_are_turned_away_busy() {
    let server = TestServer::start_with(|c| c.http.trusted_proxies = vec!["127.0.0.1".into()])
        .await
        .expect("server");
    let base = server.url("");
    let attempts = (0..12).map(|n| {
        let base = base.clone();
        tokio::spawn(async move {
            let from = format!("203.0.113.{n}");
            let resp = login_from(&base, &from, &format!("user{n}"), "whatever it is").await;
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or_default();
            (status, body["error"]["code"].as_str().map(str::to_string))
        })
    });
    let mut busy = 0;
    for a in attempts.collect::<Vec<_>>() {
        let (status, code) = a.await.expect("task");
        match (status, code.as_deref()) {
            (429, Some("busy")) => busy += 1,
            (401, Some("invalid_credentials")) => {}
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(busy > 0, "12 logins at once never hit the cap of 4");
}
