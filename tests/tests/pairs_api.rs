//! The pairs API against a real server: who may read and change what,
//! personal links and their revocation, scheduling and joining, private
//! notes, the agreement, messages, calendar files, ending and deleting.

use duet_tests::harness::{API_KEY, TestServer, client};
use serde_json::{Value, json};

/// A pair's id, both personal tokens and the creation response.
struct Pair {
    id: String,
    mentor: String,
    mentee: String,
}

async fn create_pair(server: &TestServer, title: &str) -> Pair {
    let resp = client()
        .post(server.url("/api/v1/pairs"))
        .bearer_auth(API_KEY)
        .json(&json!({
            "title": title,
            "goal": "Lead a team by summer",
            "mentor": {"name": "Grace", "email": "grace@example.org", "time_zone": "Europe/Berlin"},
            "mentee": {"name": "Alan", "time_zone": "America/New_York"},
        }))
        .send()
        .await
        .expect("create pair");
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.expect("json");
    let link = body["links"]["mentee"].as_str().expect("link");
    assert!(link.contains("/pair#"), "{link}");
    Pair {
        id: body["id"].as_str().expect("id").to_string(),
        mentor: body["tokens"]["mentor"].as_str().expect("token").into(),
        mentee: body["tokens"]["mentee"].as_str().expect("token").into(),
    }
}

/// One call: method, path, bearer, body → (status, JSON or text as a
/// string value).
async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client().request(method, server.url(path));
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

use reqwest::Method;

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

/// A start time `days` from now, on the hour, as RFC 3339.
fn in_days(days: i64, hour_utc: u32) -> String {
    let now = time::OffsetDateTime::now_utc();
    let day = (now + time::Duration::days(days)).date();
    let t = day
        .with_hms(hour_utc as u8, 0, 0)
        .expect("time")
        .assume_utc();
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_pair_checks_every_field_and_needs_an_admin() {
    let server = TestServer::start().await.expect("server");
    let good = json!({"title": "T", "mentor": {"name": "A"}, "mentee": {"name": "B"}});
    let (status, _) = call(
        &server,
        Method::POST,
        "/api/v1/pairs",
        None,
        Some(good.clone()),
    )
    .await;
    assert_eq!(status, 401);
    for (patch, field) in [
        (json!({"title": "  "}), "title"),
        (
            json!({"mentor": {"name": "A", "time_zone": "Mars/Olympus"}}),
            "mentor.time_zone",
        ),
        (
            json!({"mentee": {"name": "B", "time_zone": "+01:00"}}),
            "mentee.time_zone",
        ),
        (
            json!({"mentee": {"name": "B", "email": "not-an-address"}}),
            "mentee.email",
        ),
        (json!({"mentor": {"name": ""}}), "mentor.name"),
    ] {
        let mut body = good.clone();
        for (k, v) in patch.as_object().expect("object") {
            body[k] = v.clone();
        }
        let (status, v) = call(
            &server,
            Method::POST,
            "/api/v1/pairs",
            Some(API_KEY),
            Some(body),
        )
        .await;
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (422, Some(field)),
            "{v}"
        );
    }
    let (status, v) = call(
        &server,
        Method::POST,
        "/api/v1/pairs",
        Some(API_KEY),
        Some(json!({"title": "T", "mentor": {"name": "A"}, "mentee": {"name": "B"}, "extra": 1})),
    )
    .await;
    assert_eq!((status, code(&v)), (400, "invalid_json"));
    let (_, list) = call(&server, Method::GET, "/api/v1/pairs", Some(API_KEY), None).await;
    assert_eq!(
        list["pairs"].as_array().map(Vec::len),
        Some(0),
        "nothing was stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_personal_link_opens_its_own_pair_only_until_revoked() {
    let server = TestServer::start().await.expect("server");
    let a = create_pair(&server, "Pair A").await;
    let b = create_pair(&server, "Pair B").await;
    let (status, v) = call(
        &server,
        Method::GET,
        &format!("/api/v1/pairs/{}", a.id),
        Some(&a.mentee),
        None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["you"], "mentee");
    assert_eq!(v["mentor"]["time_zone"], "Europe/Berlin");
    assert!(v.get("links").is_none(), "a person never sees the links");
    // Another pair's id with a valid token: as if it did not exist.
    let (status, _) = call(
        &server,
        Method::GET,
        &format!("/api/v1/pairs/{}", b.id),
        Some(&a.mentee),
        None,
    )
    .await;
    assert_eq!(status, 404);
    // The list holds the caller's own pair only.
    let (_, list) = call(&server, Method::GET, "/api/v1/pairs", Some(&a.mentee), None).await;
    assert_eq!(list["pairs"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["pairs"][0]["id"], a.id.as_str());
    // A forged token (one character changed in the signature).
    let mut forged = a.mentee.clone();
    let last = forged.pop().expect("char");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (status, _) = call(
        &server,
        Method::GET,
        &format!("/api/v1/pairs/{}", a.id),
        Some(&forged),
        None,
    )
    .await;
    assert_eq!(status, 401);
    // A person may not manage the pair.
    let (status, v) = call(
        &server,
        Method::POST,
        &format!("/api/v1/pairs/{}/links", a.id),
        Some(&a.mentor),
        Some(json!({"role": "mentee"})),
    )
    .await;
    assert_eq!((status, code(&v)), (403, "forbidden"));

    // The admin re-issues the mentee's link: the old one stops at once,
    // the new one works, the mentor's is untouched.
    let (status, v) = call(
        &server,
        Method::POST,
        &format!("/api/v1/pairs/{}/links", a.id),
        Some(API_KEY),
        Some(json!({"role": "mentee"})),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let fresh = v["token"].as_str().expect("token").to_string();
    for (token, want) in [(&a.mentee, 401), (&fresh, 200), (&a.mentor, 200)] {
        let (status, _) = call(
            &server,
            Method::GET,
            &format!("/api/v1/pairs/{}", a.id),
            Some(token),
            None,
        )
        .await;
        assert_eq!(status, want);
    }
    let (status, v) = call(
        &server,
        Method::DELETE,
        &format!("/api/v1/pairs/{}/links/mentee", a.id),
        Some(API_KEY),
        None,
    )
    .await;
    assert_eq!((status, v["revoked"].as_u64()), (200, Some(1)));
    let (status, _) = call(
        &server,
        Method::GET,
        &format!("/api/v1/pairs/{}", a.id),
        Some(&fresh),
        None,
    )
    .await;
    assert_eq!(status, 401);
    // The audit log has it.
    let (_, audit) = call(&server, Method::GET, "/api/v1/audit", Some(API_KEY), None).await;
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in ["pair_create", "pair_link_create", "pair_link_revoke"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduling_joining_and_calendar_files() {
    let server = TestServer::start().await.expect("server");
    let p = create_pair(&server, "Weekly").await;
    let path = format!("/api/v1/pairs/{}/sessions", p.id);
    for (body, field) in [
        (
            json!({"starts_at": "tomorrow", "duration_min": 30}),
            "starts_at",
        ),
        (
            json!({"starts_at": in_days(1, 9), "duration_min": 0}),
            "duration_min",
        ),
        (
            json!({"starts_at": in_days(1, 9), "duration_min": 10_000}),
            "duration_min",
        ),
        (
            json!({"starts_at": in_days(1, 9), "duration_min": 30, "time_zone": "Nowhere/Land"}),
            "time_zone",
        ),
        (
            json!({"starts_at": in_days(-30, 9), "duration_min": 30}),
            "starts_at",
        ),
    ] {
        let (status, v) = call(&server, Method::POST, &path, Some(&p.mentor), Some(body)).await;
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (422, Some(field)),
            "{v}"
        );
    }
    let (status, v) = call(
        &server,
        Method::POST,
        &path,
        Some(&p.mentor),
        Some(json!({"starts_at": in_days(1, 9), "duration_min": 30, "recurrence": "daily"})),
    )
    .await;
    assert_eq!((status, code(&v)), (400, "invalid_json"));
    let (status, _) = call(
        &server,
        Method::POST,
        &format!("/api/v1/pairs/{}/join", p.id),
        Some(&p.mentee),
        None,
    )
    .await;
    assert_eq!(status, 409, "nothing scheduled yet");

    // The mentor schedules a weekly session starting in a few minutes.
    let soon = {
        let t = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
        t.replace_nanosecond(0)
            .and_then(|t| t.replace_second(0))
            .expect("t")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("f")
    };
    let (status, s) = call(
        &server,
        Method::POST,
        &path,
        Some(&p.mentor),
        Some(json!({"starts_at": soon, "duration_min": 45, "recurrence": "weekly"})),
    )
    .await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(
        s["time_zone"], "Europe/Berlin",
        "the scheduler's zone by default"
    );
    assert_eq!(s["upcoming"].as_array().map(Vec::len), Some(5));
    let sid = s["id"].as_str().expect("id").to_string();

    // Both join: one call.
    let (status, jm) = call(
        &server,
        Method::POST,
        &format!("/api/v1/pairs/{}/join", p.id),
        Some(&p.mentor),
        None,
    )
    .await;
    assert_eq!(status, 200, "{jm}");
    let (_, je) = call(
        &server,
        Method::POST,
        &format!("/api/v1/pairs/{}/join", p.id),
        Some(&p.mentee),
        None,
    )
    .await;
    assert_eq!(jm["session_id"], je["session_id"]);
    assert_ne!(jm["token"], je["token"]);
    let (status, preview) = call(
        &server,
        Method::POST,
        "/api/v1/join/preview",
        None,
        Some(json!({"token": je["token"]})),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["pair"]["id"], p.id.as_str());
    assert_eq!(preview["you"]["name"], "Alan");
    let (_, outline) = call(
        &server,
        Method::GET,
        &format!("/api/v1/pairs/{}", p.id),
        Some(&p.mentee),
        None,
    )
    .await;
    assert_eq!(outline["history"][0]["session_id"], jm["session_id"]);

    // The invite: a calendar file with a stable UID and a SEQUENCE that
    // moves with every change.
    let ics_path = format!("{path}/{sid}/invite.ics");
    let resp = client()
        .get(server.url(&ics_path))
        .bearer_auth(&p.mentee)
        .send()
        .await
        .expect("ics");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/calendar")
    );
    let ics = resp.text().await.expect("text");
    assert!(ics.contains(&format!("UID:{sid}@")), "{ics}");
    assert!(ics.contains("SEQUENCE:0"), "{ics}");
    assert!(ics.contains("RRULE:FREQ=WEEKLY"), "{ics}");
    assert!(ics.contains("TZID=Europe/Berlin"), "{ics}");
    let (status, moved) = call(
        &server,
        Method::PATCH,
        &format!("{path}/{sid}"),
        Some(&p.mentee),
        Some(json!({"duration_min": 60})),
    )
    .await;
    assert_eq!(
        (status, moved["sequence"].as_u64()),
        (200, Some(1)),
        "{moved}"
    );
    let (status, cancelled) = call(
        &server,
        Method::DELETE,
        &format!("{path}/{sid}"),
        Some(&p.mentee),
        None,
    )
    .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled"))
    );
    let ics = client()
        .get(server.url(&ics_path))
        .bearer_auth(&p.mentor)
        .send()
        .await
        .expect("ics")
        .text()
        .await
        .expect("text");
    assert!(
        ics.contains("METHOD:CANCEL")
            && ics.contains("STATUS:CANCELLED")
            && ics.contains("SEQUENCE:2"),
        "{ics}"
    );

    // The feed: its own token in the query, the personal token does not
    // open it, and revoking the link stops it.
    let feed = outline["calendar_feed"].as_str().expect("feed").to_string();
    let feed_path = &feed[feed.find("/api/").expect("path")..];
    let (status, body) = call(&server, Method::GET, feed_path, None, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.as_str().unwrap_or("").contains(&format!("UID:{sid}@")));
    let personal_as_feed = format!("/api/v1/pairs/{}/calendar.ics?token={}", p.id, p.mentee);
    assert_eq!(
        call(&server, Method::GET, &personal_as_feed, None, None)
            .await
            .0,
        401
    );
    call(
        &server,
        Method::DELETE,
        &format!("/api/v1/pairs/{}/links/mentee", p.id),
        Some(API_KEY),
        None,
    )
    .await;
    assert_eq!(
        call(&server, Method::GET, feed_path, None, None).await.0,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_notes_reach_their_author_alone_through_every_call() {
    let server = TestServer::start().await.expect("server");
    let p = create_pair(&server, "Notes").await;
    let notes = format!("/api/v1/pairs/{}/notes", p.id);
    let (status, private) = call(
        &server,
        Method::POST,
        &notes,
        Some(&p.mentor),
        Some(json!({"text": "He seems unsure about the budget", "visibility": "private"})),
    )
    .await;
    assert_eq!(status, 201, "{private}");
    let (_, shared) = call(
        &server,
        Method::POST,
        &notes,
        Some(&p.mentor),
        Some(json!({"text": "Read chapter 3", "visibility": "shared"})),
    )
    .await;
    let texts = |v: &Value| -> Vec<String> {
        v["notes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["text"].as_str().map(str::to_string))
            .collect()
    };
    let (_, mine) = call(&server, Method::GET, &notes, Some(&p.mentor), None).await;
    assert_eq!(texts(&mine).len(), 2);
    let (_, theirs) = call(&server, Method::GET, &notes, Some(&p.mentee), None).await;
    assert_eq!(texts(&theirs), ["Read chapter 3"]);
    // Admins read no notes at all.
    let (status, v) = call(&server, Method::GET, &notes, Some(API_KEY), None).await;
    assert_eq!((status, code(&v)), (403, "forbidden"));
    // The other person cannot change either note; the private one does
    // not even exist for them.
    let pid = private["id"].as_str().expect("id");
    let sid = shared["id"].as_str().expect("id");
    let (status, _) = call(
        &server,
        Method::PATCH,
        &format!("{notes}/{pid}"),
        Some(&p.mentee),
        Some(json!({"visibility": "shared"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &server,
        Method::DELETE,
        &format!("{notes}/{sid}"),
        Some(&p.mentee),
        None,
    )
    .await;
    assert_eq!(status, 403);
    // Nor does the export or the Markdown carry it.
    let (_, export) = call(
        &server,
        Method::GET,
        &format!("/api/v1/pairs/{}/export", p.id),
        Some(&p.mentee),
        None,
    )
    .await;
    assert!(!export.to_string().contains("budget"), "{export}");
    let (_, md) = call(
        &server,
        Method::GET,
        &format!("/api/v1/pairs/{}/export?format=md", p.id),
        Some(&p.mentee),
        None,
    )
    .await;
    let md = md.as_str().expect("markdown");
    assert!(
        md.contains("Read chapter 3") && !md.contains("budget"),
        "{md}"
    );
    let (_, md) = call(
        &server,
        Method::GET,
        &format!("/api/v1/pairs/{}/export?format=md", p.id),
        Some(&p.mentor),
        None,
    )
    .await;
    assert!(
        md.as_str().expect("md").contains("budget"),
        "the author's own export has it"
    );
    // The author makes it shared: now both read it.
    let (status, _) = call(
        &server,
        Method::PATCH,
        &format!("{notes}/{pid}"),
        Some(&p.mentor),
        Some(json!({"visibility": "shared"})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, theirs) = call(&server, Method::GET, &notes, Some(&p.mentee), None).await;
    assert_eq!(texts(&theirs).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_content_is_refused_and_changes_nothing() {
    let server = TestServer::start().await.expect("server");
    let p = create_pair(&server, "Limits").await;
    let notes = format!("/api/v1/pairs/{}/notes", p.id);
    // Twice the 96 KiB limit: refused from what was read. (A body of many
    // megabytes raced the server's early answer: it closes the connection
    // while the client is still writing, and the client sees a broken pipe
    // instead of the 413.)
    let huge = "x".repeat(200 * 1024);
    let (status, v) = call(
        &server,
        Method::POST,
        &notes,
        Some(&p.mentor),
        Some(json!({"text": huge, "visibility": "shared"})),
    )
    .await;
    assert_eq!((status, code(&v)), (413, "too_large"));
    let long = "x".repeat(20_001);
    let (status, v) = call(
        &server,
        Method::POST,
        &notes,
        Some(&p.mentor),
        Some(json!({"text": long, "visibility": "shared"})),
    )
    .await;
    assert_eq!((status, v["error"]["field"].as_str()), (422, Some("text")));
    let (status, _) = call(
        &server,
        Method::POST,
        &notes,
        Some(&p.mentor),
        Some(json!({"text": "x", "visibility": "public"})),
    )
    .await;
    assert_eq!(status, 400);
    let other = create_pair(&server, "Other").await;
    let (status, _) = call(
        &server,
        Method::POST,
        &format!("/api/v1/pairs/{}/agenda", other.id),
        Some(&p.mentor),
        Some(json!({"text": "sneak"})),
    )
    .await;
    assert_eq!(status, 404, "another pair's id");
    let (status, _) = call(
        &server,
        Method::POST,
        &format!("/api/v1/pairs/{}/actions", p.id),
        Some(&p.mentor),
        Some(json!({"text": "x", "owner": "mentee", "due": "2027-02-30"})),
    )
    .await;
    assert_eq!(status, 422);
    let (_, all) = call(&server, Method::GET, &notes, Some(&p.mentor), None).await;
    assert_eq!(all["notes"].as_array().map(Vec::len), Some(0));
    let (_, acts) = call(
        &server,
        Method::GET,
        &format!("/api/v1/pairs/{}/actions", p.id),
        Some(&p.mentor),
        None,
    )
    .await;
    assert_eq!(acts["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agreement_agenda_actions_and_messages() {
    let server = TestServer::start().await.expect("server");
    let p = create_pair(&server, "Together").await;
    let base = format!("/api/v1/pairs/{}", p.id);
    // Agreement: both confirm, an edit clears it, a stale confirm fails.
    let (_, a) = call(
        &server,
        Method::GET,
        &format!("{base}/agreement"),
        Some(&p.mentee),
        None,
    )
    .await;
    assert_eq!(
        (a["state"].as_str(), a["version"].as_u64()),
        (Some("unconfirmed"), Some(1))
    );
    assert!(a["text"].as_str().unwrap_or("").contains("Confidentiality"));
    for t in [&p.mentor, &p.mentee] {
        let (status, _) = call(
            &server,
            Method::POST,
            &format!("{base}/agreement/confirm"),
            Some(t),
            Some(json!({"version": 1})),
        )
        .await;
        assert_eq!(status, 200);
    }
    let (_, outline) = call(&server, Method::GET, &base, Some(&p.mentor), None).await;
    assert_eq!(outline["agreement"]["state"], "confirmed");
    let (_, a) = call(
        &server,
        Method::PUT,
        &format!("{base}/agreement"),
        Some(&p.mentor),
        Some(json!({"text": "We record nothing.", "version": 1})),
    )
    .await;
    assert_eq!(
        (a["state"].as_str(), a["version"].as_u64()),
        (Some("unconfirmed"), Some(2))
    );
    let (status, v) = call(
        &server,
        Method::POST,
        &format!("{base}/agreement/confirm"),
        Some(&p.mentee),
        Some(json!({"version": 1})),
    )
    .await;
    assert_eq!((status, code(&v)), (409, "stale"));
    let (status, v) = call(
        &server,
        Method::GET,
        &format!("{base}/agreement"),
        Some(API_KEY),
        None,
    )
    .await;
    assert_eq!((status, code(&v)), (403, "forbidden"));

    // Agenda: add, reorder, tick.
    let mut ids = Vec::new();
    for text in ["Feedback on the talk", "Next goals", "Book"] {
        let (status, item) = call(
            &server,
            Method::POST,
            &format!("{base}/agenda"),
            Some(&p.mentee),
            Some(json!({"text": text})),
        )
        .await;
        assert_eq!(status, 201);
        ids.push(item["id"].as_str().expect("id").to_string());
    }
    call(
        &server,
        Method::PATCH,
        &format!("{base}/agenda/{}", ids[2]),
        Some(&p.mentor),
        Some(json!({"position": 0})),
    )
    .await;
    let (_, item) = call(
        &server,
        Method::PATCH,
        &format!("{base}/agenda/{}", ids[0]),
        Some(&p.mentor),
        Some(json!({"done": true})),
    )
    .await;
    assert_eq!(item["done_by"], "mentor");
    let (_, agenda) = call(
        &server,
        Method::GET,
        &format!("{base}/agenda"),
        Some(&p.mentee),
        None,
    )
    .await;
    let order: Vec<&str> = agenda["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["text"].as_str())
        .collect();
    assert_eq!(order, ["Book", "Feedback on the talk", "Next goals"]);

    // Actions: an overdue one is counted on the pair home.
    let (status, _) = call(
        &server,
        Method::POST,
        &format!("{base}/actions"),
        Some(&p.mentor),
        Some(json!({"text": "Send the slides", "owner": "mentee", "due": "2020-01-01"})),
    )
    .await;
    assert_eq!(status, 201);
    let (_, outline) = call(&server, Method::GET, &base, Some(&p.mentee), None).await;
    assert_eq!(outline["overdue_actions"], 1);

    // Messages: the other person has one unread until they read it;
    // admins never see them.
    let (status, m) = call(
        &server,
        Method::POST,
        &format!("{base}/messages"),
        Some(&p.mentor),
        Some(json!({"text": "How did the presentation go? https://example.org/tips"})),
    )
    .await;
    assert_eq!(status, 201);
    let (_, outline) = call(&server, Method::GET, &base, Some(&p.mentee), None).await;
    assert_eq!(outline["unread_messages"], 1);
    let (_, outline) = call(&server, Method::GET, &base, Some(&p.mentor), None).await;
    assert_eq!(outline["unread_messages"], 0, "one's own message is read");
    let (_, r) = call(
        &server,
        Method::POST,
        &format!("{base}/messages/read"),
        Some(&p.mentee),
        Some(json!({"seq": m["seq"]})),
    )
    .await;
    assert_eq!(r["unread"], 0);
    let (status, _) = call(
        &server,
        Method::GET,
        &format!("{base}/messages"),
        Some(API_KEY),
        None,
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_pair_is_read_only_and_a_deleted_one_is_gone() {
    let server = TestServer::start().await.expect("server");
    let p = create_pair(&server, "Done").await;
    let base = format!("/api/v1/pairs/{}", p.id);
    call(
        &server,
        Method::POST,
        &format!("{base}/notes"),
        Some(&p.mentee),
        Some(json!({"text": "Thanks!", "visibility": "shared"})),
    )
    .await;
    let (status, v) = call(
        &server,
        Method::POST,
        &format!("{base}/end"),
        Some(API_KEY),
        None,
    )
    .await;
    assert_eq!((status, v["status"].as_str()), (200, Some("ended")));
    let (status, v) = call(
        &server,
        Method::POST,
        &format!("{base}/sessions"),
        Some(&p.mentor),
        Some(json!({"starts_at": in_days(2, 9), "duration_min": 30})),
    )
    .await;
    assert_eq!((status, code(&v)), (409, "pair_ended"));
    let (status, v) = call(
        &server,
        Method::POST,
        &format!("{base}/notes"),
        Some(&p.mentor),
        Some(json!({"text": "x", "visibility": "shared"})),
    )
    .await;
    assert_eq!((status, code(&v)), (409, "pair_ended"));
    let (status, export) = call(
        &server,
        Method::GET,
        &format!("{base}/export"),
        Some(&p.mentor),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(export["notes"][0]["text"], "Thanks!");

    let (status, _) = call(&server, Method::DELETE, &base, Some(API_KEY), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&server, Method::GET, &base, Some(API_KEY), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&server, Method::GET, &base, Some(&p.mentor), None).await;
    assert_eq!(status, 401, "its links died with it");
}
