//! The admin API as the console and integrations use it: who may call it
//! (API key or console cookie with CSRF token; never a join token), login
//! limits, the audit log, the stored policy with versioned notices, and the
//! trail export with each event's notice version, around real calls.
//!
//! Opens peer connections: the test script runs it in a loopback-only
//! network namespace.

use std::time::Duration;

use duet_tests::admin_client::{ADMIN_USER, AdminClient, create_admin, login_raw};
use duet_tests::consent_flow::{recording, start_recording, wait_state};
use duet_tests::harness::{API_KEY, TestServer, client, token};
use reqwest::Method;
use serde_json::{Value, json};

async fn server_with_admin() -> (TestServer, String) {
    let server = TestServer::start().await.expect("server");
    create_admin(&server.config).expect("admin account");
    let base = server.url("");
    (server, base)
}

/// Every admin route, with a body for those that take one.
fn admin_routes(session: &str, recording: &str) -> Vec<(Method, String, Option<Value>)> {
    let s = |p: &str| p.replace("{s}", session).replace("{r}", recording);
    vec![
        (Method::GET, s("/api/v1/sessions"), None),
        (
            Method::POST,
            s("/api/v1/sessions"),
            Some(json!({"title":"t","mentor":{"name":"a"},"mentee":{"name":"b"}})),
        ),
        (Method::GET, s("/api/v1/sessions/{s}"), None),
        (Method::DELETE, s("/api/v1/sessions/{s}"), None),
        (
            Method::POST,
            s("/api/v1/sessions/{s}/links"),
            Some(json!({"role":"mentor"})),
        ),
        (Method::GET, s("/api/v1/sessions/{s}/consent"), None),
        (Method::GET, s("/api/v1/consent"), None),
        (Method::GET, s("/api/v1/recordings"), None),
        // Not `DELETE /api/v1/recordings/{r}`: the two participants may
        // delete their own recording too (reflection_api.rs tests who).
        (Method::GET, s("/api/v1/policy"), None),
        (
            Method::PUT,
            s("/api/v1/policy"),
            Some(json!({"retention_days": 30})),
        ),
        (Method::GET, s("/api/v1/audit"), None),
        (Method::GET, s("/api/v1/nodes"), None),
        (Method::POST, s("/api/v1/admin/logout"), None),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_admin_route_opens_without_credentials_or_with_a_join_token() {
    let (server, base) = server_with_admin().await;
    let session = server.create_session().await.expect("session");
    let sid = session["id"].as_str().expect("id").to_string();
    let join_token = token(&session, "mentor");
    let rid = uuid::Uuid::new_v4().to_string();
    for (method, path, body) in admin_routes(&sid, &rid) {
        for bearer in [None, Some(join_token.as_str()), Some("not-a-key")] {
            let mut req = client().request(method.clone(), format!("{base}{path}"));
            if let Some(b) = bearer {
                req = req.bearer_auth(b);
            }
            if let Some(body) = &body {
                req = req.json(body);
            }
            let resp = req.send().await.expect("request");
            let what = format!("{method} {path} with {bearer:?}");
            assert_eq!(resp.status().as_u16(), 401, "{what}");
            let err: Value = resp.json().await.expect("json error body");
            assert_eq!(err["error"]["code"], "unauthorized", "{what}");
        }
    }
    // A forged or stale cookie is no login either.
    let resp = client()
        .get(format!("{base}/api/v1/audit"))
        .header("cookie", "duet_admin=forged")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_cookie_needs_the_csrf_token_to_change_anything() {
    let (server, base) = server_with_admin().await;
    let admin = AdminClient::login(&base).await.expect("login");
    assert!(
        admin.set_cookie.contains("HttpOnly"),
        "{}",
        admin.set_cookie
    );
    assert!(
        admin.set_cookie.contains("SameSite=Strict"),
        "{}",
        admin.set_cookie
    );
    assert!(
        !admin.set_cookie.contains("Secure"),
        "plain HTTP: {}",
        admin.set_cookie
    );
    let session = server.create_session().await.expect("session");
    let sid = session["id"].as_str().expect("id").to_string();
    let rid = uuid::Uuid::new_v4().to_string();
    for (method, path, body) in admin_routes(&sid, &rid) {
        if method == Method::GET {
            let resp = admin
                .request_without_csrf(method, &path)
                .send()
                .await
                .expect("get");
            assert_eq!(resp.status().as_u16(), 200, "GET {path} with the cookie");
            continue;
        }
        for csrf in [None, Some("wrong-token")] {
            let mut req = admin.request_without_csrf(method.clone(), &path);
            if let Some(c) = csrf {
                req = req.header("x-csrf-token", c);
            }
            if let Some(body) = &body {
                req = req.json(body);
            }
            let resp = req.send().await.expect("request");
            assert_eq!(
                resp.status().as_u16(),
                403,
                "{method} {path} with csrf {csrf:?}"
            );
            let err: Value = resp.json().await.expect("json");
            assert_eq!(err["error"]["code"], "csrf_failed");
        }
    }
    // With the token it works, and the session the console ended is ended.
    let resp = admin
        .request(Method::DELETE, &format!("/api/v1/sessions/{sid}"))
        .send()
        .await
        .expect("end");
    assert_eq!(resp.status().as_u16(), 200);
    let me = admin.get_json("/api/v1/admin/me").await.expect("me");
    assert_eq!(me["user"], ADMIN_USER);
    assert_eq!(me["csrf_token"], admin.csrf.as_str());
    let out = admin
        .request(Method::POST, "/api/v1/admin/logout")
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status().as_u16(), 204);
    let after = admin
        .request(Method::GET, "/api/v1/admin/me")
        .send()
        .await
        .expect("me");
    assert_eq!(after.status().as_u16(), 401, "logged out");

    let audit = AdminClient::login(&base)
        .await
        .expect("login again")
        .get_json("/api/v1/audit")
        .await
        .expect("audit");
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for wanted in ["admin_create", "login", "session_end", "logout"] {
        assert!(
            actions.contains(&wanted),
            "{wanted} missing from {actions:?}"
        );
    }

    // One server alone lists itself among the nodes: live, taking calls.
    let nodes = AdminClient::login(&base)
        .await
        .expect("login again")
        .get_json("/api/v1/nodes")
        .await
        .expect("nodes");
    let list = nodes["nodes"].as_array().expect("nodes");
    assert_eq!(list.len(), 1, "{nodes}");
    assert_eq!(
        (&list[0]["this"], &list[0]["live"], &list[0]["draining"]),
        (&json!(true), &json!(true), &json!(false)),
        "{nodes}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_audited_and_limited() {
    let (_server, base) = server_with_admin().await;
    for _ in 0..5 {
        let resp = login_raw(&base, ADMIN_USER, "wrong password!")
            .await
            .expect("login");
        assert_eq!(resp.status().as_u16(), 401);
        let err: Value = resp.json().await.expect("json");
        assert_eq!(err["error"]["code"], "invalid_credentials");
    }
    // Locked now, even with the right password.
    let resp = login_raw(&base, ADMIN_USER, duet_tests::admin_client::ADMIN_PASSWORD)
        .await
        .expect("login");
    assert_eq!(resp.status().as_u16(), 429);
    let err: Value = resp.json().await.expect("json");
    assert_eq!(err["error"]["code"], "too_many_attempts");
    // Another admin behind the same address (a reverse proxy) still gets
    // answers, until the address itself has failed 20 times.
    for n in 0..15 {
        let resp = login_raw(&base, &format!("someone{n}"), "whatever it is")
            .await
            .expect("login");
        assert_eq!(resp.status().as_u16(), 401, "attempt {n} for another user");
    }
    let resp = login_raw(&base, "nobody", "whatever it is")
        .await
        .expect("login");
    assert_eq!(resp.status().as_u16(), 429, "20 failures lock the address");

    let audit: Value = client()
        .get(format!("{base}/api/v1/audit"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    let failed = audit["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "login_failed" && e["actor"] == ADMIN_USER)
        .count();
    assert_eq!(failed, 5);
}

fn versions_by_action(trail: &Value, session: &str) -> Vec<(String, i64)> {
    trail["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["session_id"] == session)
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["notice_version"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_notice_is_a_new_version_and_old_consents_keep_theirs() {
    let (server, base) = server_with_admin().await;
    let admin = AdminClient::login(&base).await.expect("login");
    let policy = admin.get_json("/api/v1/policy").await.expect("policy");
    assert_eq!(policy["notice"]["version"], 1);
    assert_eq!(policy["recording_allowed"], true);

    // Session A consents under version 1.
    let a = server.create_recordable_session().await.expect("session a");
    let (mentor, mentee) = server.join_both(&a).await.expect("join a");
    start_recording(&mentor, &mentee).await;
    mentor.send_json(&recording("revoke")).expect("revoke");
    wait_state(&mentee, "off").await;

    let resp = admin
        .request(Method::PUT, "/api/v1/policy")
        .json(&json!({"notice": "Version two: we record audio and video, kept 30 days.", "retention_days": 30}))
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status().as_u16(), 200);
    let policy: Value = resp.json().await.expect("json");
    assert_eq!(policy["notice"]["version"], 2);
    assert_eq!(policy["notice"]["created_by"], ADMIN_USER);
    assert_eq!(policy["retention_days"], 30);
    assert_eq!(policy["notices"].as_array().map(Vec::len), Some(2));

    // Session B asks under version 2: people are shown the new text.
    let b = server.create_recordable_session().await.expect("session b");
    let (mentor_b, mentee_b) = server.join_both(&b).await.expect("join b");
    mentor_b.send_json(&recording("request")).expect("request");
    let requested = wait_state(&mentee_b, "requested").await;
    assert!(
        requested["notice"]
            .as_str()
            .is_some_and(|n| n.starts_with("Version two")),
        "{requested}"
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    let trail = admin.get_json("/api/v1/consent").await.expect("trail");
    let sa = a["id"].as_str().expect("id");
    let sb = b["id"].as_str().expect("id");
    let va = versions_by_action(&trail, sa);
    assert!(!va.is_empty() && va.iter().all(|(_, v)| *v == 1), "{va:?}");
    assert_eq!(versions_by_action(&trail, sb), [("request".to_string(), 2)]);

    // Filters and CSV.
    let consents = admin
        .get_json(&format!("/api/v1/consent?session={sa}&action=consent"))
        .await
        .expect("filtered");
    assert_eq!(consents["events"].as_array().map(Vec::len), Some(2));
    let resp = admin
        .request(
            Method::GET,
            &format!("/api/v1/consent?format=csv&session={sa}"),
        )
        .send()
        .await
        .expect("csv");
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/csv")
    );
    let csv = resp.text().await.expect("text");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "seq,at,session_id,recording_id,action,role,participant_id,actor,notice_hash,notice_version,detail"
        )
    );
    let actions: Vec<&str> = lines.map(|l| l.split(',').nth(4).unwrap_or("")).collect();
    assert_eq!(
        actions,
        ["request", "consent", "consent", "start", "revoke", "stop"]
    );
    let bad = admin
        .request(Method::GET, "/api/v1/consent?action=forge")
        .send()
        .await
        .expect("bad filter");
    assert_eq!(bad.status().as_u16(), 422);

    let audit = admin.get_json("/api/v1/audit").await.expect("audit");
    let change = audit["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "policy_change")
        .expect("policy change audited");
    assert!(
        change["detail"]
            .as_str()
            .is_some_and(|d| d.contains("notice = version 2")),
        "{change}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_sessions_show_who_is_connected_since_when_and_how_well() {
    let (server, base) = server_with_admin().await;
    let admin = AdminClient::login(&base).await.expect("login");
    let session = server.create_session().await.expect("session");
    let other = server.create_session().await.expect("upcoming");
    let (mentor, mentee) = server.join_both(&session).await.expect("join");
    for p in [&mentor, &mentee] {
        p.wait_until(
            |s| s.received.get(duet_tests::MediaKind::Camera).packets > 20,
            Duration::from_secs(20),
        )
        .await
        .expect("media");
    }
    let sid = session["id"].as_str().expect("id");
    // Receiver reports arrive about once a second.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let view = admin
        .get_json(&format!("/api/v1/sessions/{sid}"))
        .await
        .expect("session");
    for role in ["mentor", "mentee"] {
        let p = &view[role];
        assert_eq!(p["connected"], true, "{view}");
        assert!(
            p["connected_since"]
                .as_str()
                .is_some_and(|s| s.ends_with('Z')),
            "{p}"
        );
        let rating = p["quality"]["rating"].as_str().unwrap_or("");
        assert_eq!(rating, "good", "loopback is a good link: {p}");
        for field in ["loss", "uplink_loss"] {
            let loss = p["quality"][field].as_f64();
            assert!(loss.is_some_and(|l| l < 0.02), "{field} on loopback: {p}");
        }
        assert_eq!(p["quality"]["video_paused"], false, "{p}");
    }
    let ids = |v: &Value| -> Vec<String> {
        v["sessions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let live = admin
        .get_json("/api/v1/sessions?state=live")
        .await
        .expect("live");
    assert_eq!(ids(&live), [sid.to_string()]);
    let upcoming = admin
        .get_json("/api/v1/sessions?state=upcoming")
        .await
        .expect("upcoming");
    assert_eq!(
        ids(&upcoming),
        [other["id"].as_str().expect("id").to_string()]
    );
    admin
        .request(Method::DELETE, &format!("/api/v1/sessions/{sid}"))
        .send()
        .await
        .expect("end");
    let ended = admin
        .get_json("/api/v1/sessions?state=ended")
        .await
        .expect("ended");
    assert_eq!(ids(&ended), [sid.to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admins_play_seek_mix_and_delete_recordings_from_the_console() {
    let (server, base) = server_with_admin().await;
    let admin = AdminClient::login(&base).await.expect("login");
    let session = server.create_recordable_session().await.expect("session");
    let (mentor, mentee) = server.join_both(&session).await.expect("join");
    start_recording(&mentor, &mentee).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    mentee.send_json(&recording("revoke")).expect("revoke");
    wait_state(&mentor, "off").await;

    // The list says what an admin needs; transcripts come once it is done.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let rec = loop {
        let list = admin.get_json("/api/v1/recordings").await.expect("list");
        let rec = list["recordings"][0].clone();
        if rec["status"] == "complete" {
            break rec;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not complete: {list}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let rid = rec["id"].as_str().expect("id").to_string();
    assert_eq!(rec["session_title"], session["title"]);
    assert!(rec["duration_s"].as_f64().is_some_and(|d| d > 1.0), "{rec}");
    assert!(
        rec["size_bytes"].as_u64().is_some_and(|s| s > 1000),
        "{rec}"
    );
    assert_eq!(
        rec["participants"].as_array().map(Vec::len),
        Some(2),
        "{rec}"
    );

    // Players seek with range requests; the cookie is the credential.
    let resp = admin
        .request(
            Method::GET,
            &format!("/api/v1/recordings/{rid}/files/mentor-camera.webm"),
        )
        .header("range", "bytes=0-99")
        .send()
        .await
        .expect("range");
    assert_eq!(resp.status().as_u16(), 206);
    assert_eq!(resp.headers()["content-type"], "video/webm");
    assert_eq!(resp.bytes().await.expect("bytes").len(), 100);

    let shown = admin
        .get_json(&format!("/api/v1/recordings/{rid}"))
        .await
        .expect("recording");
    let transcripts = shown["manifest"]["transcripts"]
        .as_array()
        .expect("transcripts");
    let longest = transcripts
        .iter()
        .filter_map(|t| {
            let name = t["file"].as_str()?;
            std::fs::metadata(server.recordings_dir().join(&rid).join(name)).ok()
        })
        .map(|m| m.len())
        .max()
        .expect("transcript files");
    let mix = admin
        .request(Method::GET, &format!("/api/v1/recordings/{rid}/mix.wav"))
        .send()
        .await
        .expect("mix");
    assert_eq!(mix.status().as_u16(), 200);
    assert_eq!(mix.headers()["content-type"], "audio/wav");
    let bytes = mix.bytes().await.expect("bytes");
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(
        bytes.len() as u64,
        longest,
        "as long as the longer speaker's file"
    );

    let del = admin
        .request(Method::DELETE, &format!("/api/v1/recordings/{rid}"))
        .send()
        .await
        .expect("delete");
    assert_eq!(del.status().as_u16(), 200);
    let sid = session["id"].as_str().expect("id");
    let trail = admin
        .get_json(&format!("/api/v1/sessions/{sid}/consent"))
        .await
        .expect("trail");
    let discard = trail["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "discard")
        .expect("the deletion is in the trail");
    assert_eq!(discard["actor"], "admin");
    assert!(
        discard["detail"]
            .as_str()
            .is_some_and(|d| d.contains(ADMIN_USER)),
        "{discard}"
    );
    let audit = admin.get_json("/api/v1/audit").await.expect("audit");
    assert!(
        audit["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["action"] == "recording_delete" && e["target"] == rid.as_str()),
        "{audit}"
    );
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_notice_per_language_is_offered_consented_to_and_kept_in_the_trail() {
    let (server, base) = server_with_admin().await;
    let admin = AdminClient::login(&base).await.expect("login");
    let put = |body: Value| {
        admin
            .request(Method::PUT, "/api/v1/policy")
            .json(&body)
            .send()
    };

    // Bad translations are refused with the field named, and change nothing.
    for bad in [
        json!({"notices": {"Spanish": "Grabamos."}}),
        json!({"notices": {"es-MX": "Grabamos."}}),
        json!({"notices": {"es": "   "}}),
        json!({"notices": {"es": "x".repeat(20_001)}}),
        json!({"notices": "es"}),
        json!({"notices": {"es": 7}}),
    ] {
        let resp = put(bad.clone()).await.expect("put");
        let status = resp.status().as_u16();
        assert!(status == 422 || status == 400, "{bad}: {status}");
        let err: Value = resp.json().await.expect("json");
        assert!(err["error"]["code"].is_string(), "{bad}: {err}");
    }
    let policy = admin.get_json("/api/v1/policy").await.expect("policy");
    assert_eq!(policy["translations"], json!({}), "nothing changed");

    let spanish = "Grabamos el audio y el vídeo de los dos, solo con el permiso de ambos.";
    let resp = put(json!({"notices": {"es": spanish}})).await.expect("put");
    assert_eq!(resp.status().as_u16(), 200);
    let policy: Value = resp.json().await.expect("json");
    assert_eq!(policy["translations"]["es"]["text"], spanish);
    assert_eq!(policy["translations"]["es"]["language"], "es");
    assert_eq!(
        policy["notice"]["version"], 1,
        "the notice itself is unchanged"
    );

    // The call offers the Spanish text beside the notice.
    let session = server.create_recordable_session().await.expect("session");
    let (mentor, mentee) = server.join_both(&session).await.expect("join");
    mentor.send_json(&recording("request")).expect("request");
    let requested = wait_state(&mentee, "requested").await;
    let es_hash = sha256_hex(spanish);
    assert_eq!(requested["translations"]["es"]["notice"], spanish);
    assert_eq!(
        requested["translations"]["es"]["notice_hash"],
        es_hash.as_str()
    );

    // A hash that is neither the notice's nor a translation's is refused.
    mentee
        .send_json(
            &json!({"type": "recording", "action": "consent", "notice_hash": "0".repeat(64)}),
        )
        .expect("forged consent");
    let refused = mentee
        .wait_for_message("error", Duration::from_secs(5))
        .await
        .expect("refused");
    assert_eq!(refused["code"], "recording_unavailable");

    // The mentee agrees to the Spanish text, the mentor to the notice.
    mentee
        .send_json(&json!({"type": "recording", "action": "consent", "notice_hash": es_hash}))
        .expect("consent es");
    let notice_hash = requested["notice_hash"].as_str().expect("hash").to_string();
    mentor
        .send_json(&json!({"type": "recording", "action": "consent", "notice_hash": notice_hash}))
        .expect("consent");
    wait_state(&mentor, "recording").await;
    mentor.send_json(&recording("revoke")).expect("revoke");
    wait_state(&mentee, "off").await;

    tokio::time::sleep(Duration::from_millis(300)).await;
    let sid = session["id"].as_str().expect("id");
    let trail = admin
        .get_json(&format!("/api/v1/consent?session={sid}&action=consent"))
        .await
        .expect("trail");
    let mut by_role: Vec<(String, String)> = trail["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["role"].as_str().unwrap_or_default().to_string(),
                e["notice_hash"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    by_role.sort();
    assert_eq!(
        by_role,
        [
            ("mentee".to_string(), es_hash.clone()),
            ("mentor".to_string(), notice_hash)
        ]
    );
}
