//! The reflection page's API with a real recorded call of a pair: both
//! people get in with their personal links and their join tokens, a
//! stranger's join token and another pair's personal link are refused,
//! every view is listed for the two people, the trail reads in plain
//! words, and a participant deleting the recording shows in the other's
//! trail.

use std::time::{Duration, Instant};

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

async fn get(server: &TestServer, path: &str, bearer: &str) -> (u16, Value) {
    send(server, reqwest::Method::GET, path, bearer, None).await
}

async fn recording_state(peer: &TestPeer, state: &str) {
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

struct Pair {
    id: String,
    mentor: String,
    mentee: String,
}

async fn pair(server: &TestServer, mentor: &str, mentee: &str) -> Pair {
    let (status, p) = send(
        server,
        reqwest::Method::POST,
        "/api/v1/pairs",
        API_KEY,
        Some(
            json!({"title": "Reflecting", "mentor": {"name": mentor}, "mentee": {"name": mentee}}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    let s = |v: &Value| v.as_str().expect("string").to_string();
    Pair {
        id: s(&p["id"]),
        mentor: s(&p["tokens"]["mentor"]),
        mentee: s(&p["tokens"]["mentee"]),
    }
}

/// Both people join their pair's call now: (call id, mentor's and
/// mentee's join tokens).
async fn join(server: &TestServer, p: &Pair) -> (String, String, String) {
    let start = time::OffsetDateTime::now_utc()
        .replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .expect("minute")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let (status, _) = send(
        server,
        reqwest::Method::POST,
        &format!("/api/v1/pairs/{}/sessions", p.id),
        &p.mentor,
        Some(json!({"starts_at": start, "duration_min": 30, "recording": "allowed"})),
    )
    .await;
    assert_eq!(status, 201);
    let path = format!("/api/v1/pairs/{}/join", p.id);
    let (_, a) = send(server, reqwest::Method::POST, &path, &p.mentor, None).await;
    let (_, b) = send(server, reqwest::Method::POST, &path, &p.mentee, None).await;
    let s = |v: &Value| v.as_str().expect("string").to_string();
    (s(&a["session_id"]), s(&a["token"]), s(&b["token"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_two_people_reflect_strangers_do_not_and_deletion_shows_in_the_trail() {
    use reqwest::Method;
    let server = TestServer::start().await.expect("server");
    let ours = pair(&server, "Grace", "Alan").await;
    let theirs = pair(&server, "Ada", "Charles").await;
    let (call, mentor_join, mentee_join) = join(&server, &ours).await;

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
    a.send_json(&json!({"type":"recording","action":"request"}))
        .expect("request");
    recording_state(&b, "requested").await;
    for p in [&a, &b] {
        p.send_json(&json!({"type":"recording","action":"consent"}))
            .expect("consent");
    }
    recording_state(&a, "recording").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    a.send_json(&json!({"type":"recording","action":"revoke"}))
        .expect("stop");
    recording_state(&b, "off").await;
    drop((a, b));

    // Both personal links and both join tokens open the newest recording.
    let deadline = Instant::now() + T;
    let view = loop {
        let (status, v) = get(&server, "/api/v1/reflect", &ours.mentee).await;
        assert_eq!(status, 200, "{v}");
        if v["recording"]["status"] == "complete" {
            break v;
        }
        assert!(Instant::now() < deadline, "never finished: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let id = view["recording"]["id"].as_str().expect("id").to_string();
    assert_eq!(view["recording"]["session_id"], call.as_str());
    assert_eq!(view["viewer"]["role"], "mentee");
    assert_eq!(view["access"], "full");
    let names: Vec<&str> = view["people"]
        .as_array()
        .expect("people")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["Grace", "Alan"]);
    let tracks = view["tracks"].as_array().expect("tracks");
    assert!(!tracks.is_empty(), "{view}");
    for t in tracks {
        assert!(t["start_offset_s"].as_f64().is_some(), "{t}");
        let url = t["url"].as_str().expect("url");
        let resp = client()
            .get(server.url(url))
            .bearer_auth(&ours.mentor)
            .header("Range", "bytes=0-99")
            .send()
            .await
            .expect("file");
        assert_eq!(
            resp.status().as_u16(),
            206,
            "a personal link plays the files"
        );
    }
    let trail: Vec<String> = view["trail"]
        .as_array()
        .expect("trail")
        .iter()
        .filter_map(|l| l["text"].as_str().map(String::from))
        .collect();
    assert!(
        trail[0].starts_with("Grace asked to record at "),
        "{trail:?}"
    );
    assert!(
        trail
            .iter()
            .any(|l| l.starts_with("Alan agreed to notice version 1")),
        "{trail:?}"
    );
    assert!(
        trail.iter().any(|l| l.starts_with("Recording started")),
        "{trail:?}"
    );
    assert!(
        trail
            .iter()
            .any(|l| l.starts_with("Grace withdrew consent")),
        "{trail:?}"
    );
    for token in [&ours.mentor, &mentor_join, &mentee_join] {
        let (status, v) = get(&server, &format!("/api/v1/reflect?recording={id}"), token).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["recording"]["id"], id.as_str());
    }

    // Nobody else: another pair's personal link, a stranger's join token,
    // a broken token.
    let (_, stranger) = send(
        &server,
        Method::POST,
        "/api/v1/sessions",
        API_KEY,
        Some(json!({"title": "Other", "mentor": {"name": "M"}, "mentee": {"name": "N"}, "recording": "allowed"})),
    )
    .await;
    let stranger_join = stranger["tokens"]["mentee"].as_str().expect("token");
    let refused = [
        (theirs.mentor.as_str(), 404),
        (stranger_join, 404),
        ("not-a-token", 401),
    ];
    for (token, want) in refused {
        let (status, v) = get(&server, &format!("/api/v1/reflect?recording={id}"), token).await;
        assert_eq!(status, want, "{v}");
        assert!(
            v["error"]["message"].as_str().is_some_and(|m| m.len() > 10),
            "{v}"
        );
        let (status, _) = get(
            &server,
            &format!("/api/v1/recordings/{id}/files/manifest.json"),
            token,
        )
        .await;
        assert_eq!(status, want);
    }
    let (status, v) = get(&server, "/api/v1/reflect", &theirs.mentee).await;
    assert_eq!(status, 404, "another pair has no recording: {v}");

    // Every view is listed, for both people; an admin's manifest read too.
    let (status, _) = get(&server, &format!("/api/v1/recordings/{id}"), API_KEY).await;
    assert_eq!(status, 200);
    let (status, views) = get(
        &server,
        &format!("/api/v1/recordings/{id}/views"),
        &ours.mentor,
    )
    .await;
    assert_eq!(status, 200, "{views}");
    let who: Vec<&str> = views["views"]
        .as_array()
        .expect("views")
        .iter()
        .filter_map(|v| v["who"].as_str())
        .collect();
    assert!(who.len() >= 5, "{views}");
    assert!(
        who.contains(&"mentee") && who.contains(&"mentor") && who.contains(&"admin"),
        "{who:?}"
    );
    let (status, _) = get(
        &server,
        &format!("/api/v1/recordings/{id}/views"),
        &theirs.mentor,
    )
    .await;
    assert_eq!(status, 404, "another pair does not see who viewed");

    // Without a transcript there is no media-only deletion (nothing would
    // be left); the whole recording goes, and the other person reads who
    // deleted it.
    let (status, v) = send(
        &server,
        Method::DELETE,
        &format!("/api/v1/recordings/{id}/media"),
        &ours.mentor,
        None,
    )
    .await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "no_transcript");
    let (status, v) = send(
        &server,
        Method::DELETE,
        &format!("/api/v1/recordings/{id}"),
        &theirs.mentor,
        None,
    )
    .await;
    assert_eq!(status, 404, "{v}");
    let (status, v) = send(
        &server,
        Method::DELETE,
        &format!("/api/v1/recordings/{id}"),
        &ours.mentor,
        None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "deleted");
    assert_eq!(v["deleted_by"], "mentor");
    assert!(
        !server.recordings_dir().join(&id).exists(),
        "files are gone"
    );
    let (status, v) = get(
        &server,
        &format!("/api/v1/reflect?recording={id}"),
        &ours.mentee,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let last = v["trail"]
        .as_array()
        .and_then(|t| t.last())
        .and_then(|l| l["text"].as_str())
        .unwrap_or("")
        .to_string();
    assert!(last.starts_with("Grace deleted the recording on "), "{v}");
    assert_eq!(v["tracks"], json!([]));
    let (status, _) = get(&server, "/api/v1/reflect", &ours.mentee).await;
    assert_eq!(status, 404, "no recording left to open by default");
}

/// Records a call of `p` for about `secs` seconds, marking moments on the
/// way: the mentee's private mark before recording (session clock), then
/// while recording the mentor's shared one and the mentee's private one.
/// Returns the call id and the join tokens.
async fn marked_call(server: &TestServer, p: &Pair) -> (String, String, String) {
    use reqwest::Method;
    let (call, mentor_join, mentee_join) = join(server, p).await;
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
    let marks = format!("/api/v1/sessions/{call}/moments");
    let (status, m) = send(server, Method::POST, &marks, &mentee_join, Some(json!({}))).await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(m["clock"], "session", "nothing is recorded yet: {m}");
    assert_eq!(m["visibility"], "private", "private unless shared: {m}");
    assert!(m["recording_id"].is_null(), "{m}");

    a.send_json(&json!({"type":"recording","action":"request"}))
        .expect("request");
    recording_state(&b, "requested").await;
    for peer in [&a, &b] {
        peer.send_json(&json!({"type":"recording","action":"consent"}))
            .expect("consent");
    }
    recording_state(&a, "recording").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (status, m) = send(
        server,
        Method::POST,
        &marks,
        &p.mentor,
        Some(json!({"label": "the career question", "visibility": "shared"})),
    )
    .await;
    assert_eq!(status, 201, "a personal link marks its pair's call: {m}");
    assert_eq!(m["clock"], "recording", "{m}");
    let at = m["at_s"].as_f64().expect("at_s");
    assert!((1.5..4.5).contains(&at), "about two seconds in: {m}");
    let (status, m) = send(
        server,
        Method::POST,
        &marks,
        &mentee_join,
        Some(json!({"label": "mine"})),
    )
    .await;
    assert_eq!(status, 201, "{m}");
    // A label is one line of reasonable length.
    let (status, v) = send(
        server,
        Method::POST,
        &marks,
        &mentee_join,
        Some(json!({"label": "a\nb"})),
    )
    .await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["field"], "label", "{v}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    a.send_json(&json!({"type":"recording","action":"revoke"}))
        .expect("stop");
    recording_state(&b, "off").await;
    drop((a, b));
    (call, mentor_join, mentee_join)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookmarks_and_timed_notes_sit_on_the_recording_for_whom_they_are_meant() {
    use reqwest::Method;
    let server = TestServer::start().await.expect("server");
    let ours = pair(&server, "Grace", "Alan").await;
    let theirs = pair(&server, "Ada", "Charles").await;
    let (call, mentor_join, mentee_join) = marked_call(&server, &ours).await;

    let deadline = Instant::now() + T;
    let view = loop {
        let (status, v) = get(&server, "/api/v1/reflect", &ours.mentee).await;
        assert_eq!(status, 200, "{v}");
        if v["recording"]["status"] == "complete" {
            break v;
        }
        assert!(Instant::now() < deadline, "never finished: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let id = view["recording"]["id"].as_str().expect("id").to_string();
    // The mentee sees the shared mark and her own private one on the
    // recording; her mark from before recording stays on the session.
    let labels = |v: &Value| -> Vec<String> {
        v["moments"]
            .as_array()
            .expect("moments")
            .iter()
            .map(|m| {
                format!(
                    "{}:{}",
                    m["author"].as_str().unwrap_or(""),
                    m["text"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    assert_eq!(
        labels(&view),
        ["mentor:the career question", "mentee:mine"],
        "{view}"
    );
    let (_, mentor_view) = get(
        &server,
        &format!("/api/v1/reflect?recording={id}"),
        &ours.mentor,
    )
    .await;
    assert_eq!(
        labels(&mentor_view),
        ["mentor:the career question"],
        "not her private one"
    );
    let (_, admin_view) = get(&server, &format!("/api/v1/reflect?recording={id}"), API_KEY).await;
    assert_eq!(
        admin_view["moments"],
        json!([]),
        "administrators read no one's notes"
    );
    // Who spoke when, per person, with the figures.
    let speech = view["timeline"]["speech"].as_array().expect("speech lanes");
    assert_eq!(speech.len(), 2, "{view}");
    let stats = view["timeline"]["stats"].as_array().expect("stats");
    assert!(
        stats
            .iter()
            .all(|s| s["turns"].is_u64() && s["talk_s"].is_f64()),
        "{stats:?}"
    );

    // While reflecting: a note at a chosen time, private, then shared.
    let notes = format!("/api/v1/recordings/{id}/moments");
    let (status, note) = send(
        &server,
        Method::POST,
        &notes,
        &ours.mentor,
        Some(json!({"at_s": 1.25, "kind": "note", "text": "Ask about the offer"})),
    )
    .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(note["at_s"], 1.3);
    let note_id = note["id"].as_str().expect("id").to_string();
    let (_, v) = get(
        &server,
        &format!("/api/v1/reflect?recording={id}"),
        &ours.mentee,
    )
    .await;
    assert_eq!(
        labels(&v).len(),
        2,
        "the private note is the mentor's alone: {v}"
    );
    let (status, v) = send(
        &server,
        Method::PATCH,
        &format!("/api/v1/moments/{note_id}"),
        &mentee_join,
        Some(json!({"visibility": "shared"})),
    )
    .await;
    assert_eq!(
        status, 404,
        "someone else's private note does not exist for her: {v}"
    );
    let (status, v) = send(
        &server,
        Method::PATCH,
        &format!("/api/v1/moments/{note_id}"),
        &mentor_join,
        Some(json!({"visibility": "shared"})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (_, v) = get(
        &server,
        &format!("/api/v1/reflect?recording={id}"),
        &ours.mentee,
    )
    .await;
    assert!(
        labels(&v).contains(&"mentor:Ask about the offer".to_string()),
        "{v}"
    );
    let (status, v) = send(
        &server,
        Method::DELETE,
        &format!("/api/v1/moments/{note_id}"),
        &ours.mentee,
        None,
    )
    .await;
    assert_eq!(status, 403, "shared is readable, not hers to delete: {v}");
    // Bad times and kinds are refused with the field named.
    for (body, field) in [
        (json!({"at_s": -1, "kind": "note", "text": "x"}), "at_s"),
        (json!({"at_s": 99999, "kind": "note", "text": "x"}), "at_s"),
        (json!({"at_s": 1, "kind": "note", "text": " "}), "text"),
    ] {
        let (status, v) = send(&server, Method::POST, &notes, &ours.mentee, Some(body)).await;
        assert_eq!(status, 422, "{v}");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
    let (status, _) = send(
        &server,
        Method::POST,
        &notes,
        &ours.mentee,
        Some(json!({"at_s": 1, "kind": "pin"})),
    )
    .await;
    assert_eq!(status, 400);

    // Nobody else reads or writes them.
    let session_marks = format!("/api/v1/sessions/{call}/moments");
    for (token, want) in [(theirs.mentor.as_str(), 404), (API_KEY, 403), ("nope", 401)] {
        let (status, v) = get(&server, &session_marks, token).await;
        assert_eq!(status, want, "{v}");
        let (status, v) = send(
            &server,
            Method::POST,
            &notes,
            token,
            Some(json!({"at_s": 1, "kind": "bookmark"})),
        )
        .await;
        assert_eq!(status, want, "{v}");
        let (status, _) = send(
            &server,
            Method::DELETE,
            &format!("/api/v1/moments/{note_id}"),
            token,
            None,
        )
        .await;
        assert_eq!(status, want);
    }
    // After the call there is no live moment to mark.
    let (status, v) = send(
        &server,
        Method::POST,
        &session_marks,
        &mentee_join,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "not_in_call");

    // The mentee's session-clock mark is in the session's list, for her.
    let (_, v) = get(&server, &session_marks, &mentee_join).await;
    let clocks: Vec<&str> = v["moments"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["clock"].as_str())
        .collect();
    assert_eq!(
        clocks,
        ["session", "recording", "recording", "recording"],
        "{v}"
    );
    let (_, v) = get(&server, &session_marks, &mentor_join).await;
    assert_eq!(
        v["moments"].as_array().expect("list").len(),
        2,
        "the shared mark and note: {v}"
    );

    // Each person's export of the pair lists the moments they may read.
    let export = |token: String| {
        let url = server.url(&format!("/api/v1/pairs/{}/export?format=md", ours.id));
        async move {
            let resp = client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("export");
            assert_eq!(resp.status().as_u16(), 200);
            resp.text().await.expect("markdown")
        }
    };
    let md = export(ours.mentor.clone()).await;
    assert!(md.contains("## Bookmarks and notes at a time"), "{md}");
    assert!(
        md.contains("of the recording") && md.contains(": the career question"),
        "{md}"
    );
    assert!(
        !md.contains(": mine"),
        "not the mentee's private mark: {md}"
    );
    let md = export(ours.mentee.clone()).await;
    assert!(
        md.contains(": mine") && md.contains("into the call"),
        "{md}"
    );

    // Deleting the pair takes its calls' moments with it.
    let (status, v) = send(
        &server,
        Method::DELETE,
        &format!("/api/v1/pairs/{}", ours.id),
        API_KEY,
        None,
    )
    .await;
    assert!(status == 200 || status == 204, "{status} {v}");
    let (status, v) = get(&server, &session_marks, &mentee_join).await;
    assert_eq!(status, 200, "the join token still names the session: {v}");
    assert_eq!(v["moments"], json!([]), "{v}");
}
