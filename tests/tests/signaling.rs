//! The signaling socket without media: admission, refusal, peer events,
//! chat, mute state, and bad input that must get an `error` and harm
//! nothing.

use std::time::Duration;

use duet_server::links::{Claims, LinkSigner};
use duet_signaling::{Role, SessionId};
use duet_tests::SignalClient;
use duet_tests::harness::{API_KEY, TestServer, client, token};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(10);

async fn connect(server: &TestServer) -> SignalClient {
    SignalClient::connect(&server.ws_url())
        .await
        .expect("ws connect")
        .0
}

async fn join(server: &TestServer, token: &str, name: &str) -> (SignalClient, Value) {
    let ws = connect(server).await;
    ws.send_json(&json!({"type":"join","token":token,"name":name}))
        .expect("send");
    let joined = ws.wait_for_message("joined", T).await.expect("joined");
    (ws, joined)
}

/// Sends `frame` and returns the error it earns.
async fn error_for(ws: &SignalClient, frame: &str) -> Value {
    let before = ws.message_count();
    ws.send_raw(frame).expect("send");
    ws.wait_for_message_after("error", before, T)
        .await
        .expect("an error message")
}

/// The connection still answers: a ping gets a pong.
async fn assert_alive(ws: &SignalClient) {
    let before = ws.message_count();
    ws.send_json(&json!({"type":"ping"})).expect("send");
    ws.wait_for_message_after("pong", before, T)
        .await
        .expect("still alive");
}

#[tokio::test]
async fn bad_frames_get_errors_and_the_connection_lives_on() {
    let server = TestServer::start().await.expect("server");
    let ws = connect(&server).await;
    let huge = format!(r#"{{"type":"chat","text":"{}"}}"#, "x".repeat(100 * 1024));
    let cases: Vec<(String, &str)> = vec![
        ("this is not json".into(), "bad_message"),
        ("[1,2,3]".into(), "bad_message"),
        (r#"{"no_type":1}"#.into(), "bad_message"),
        (r#"{"type":"teleport"}"#.into(), "unknown_type"),
        (r#"{"type":"chat"}"#.into(), "bad_message"),
        (r#"{"type":"join","token":42}"#.into(), "bad_message"),
        (huge, "frame_too_large"),
        (r#"{"type":"offer","sdp":"v=0"}"#.into(), "out_of_order"),
        (r#"{"type":"chat","text":"hi"}"#.into(), "out_of_order"),
        (
            r#"{"type":"media","audio":true,"video":true,"screen":false}"#.into(),
            "out_of_order",
        ),
    ];
    for (frame, code) in cases {
        let err = error_for(&ws, &frame).await;
        assert_eq!(err["code"], code, "{}", &frame[..frame.len().min(60)]);
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_alive(&ws).await;
    }
    ws.send_frame(tokio_tungstenite::tungstenite::Message::Binary(
        vec![1, 2, 3].into(),
    ))
    .expect("send");
    let err = ws.wait_for_message("error", T).await.expect("error");
    assert!(err["code"].is_string());
    assert_alive(&ws).await;
}

#[tokio::test]
async fn forged_altered_expired_and_ended_links_are_refused() {
    let server = TestServer::start().await.expect("server");
    let session = server.create_session().await.expect("session");
    let good = token(&session, "mentor");

    // Altered: flip one character of the signature.
    let mut altered = good.clone();
    let last = altered.pop().expect("non-empty");
    altered.push(if last == 'A' { 'B' } else { 'A' });
    // Forged: signed with another secret.
    let sid = SessionId(uuid::Uuid::parse_str(session["id"].as_str().expect("id")).expect("uuid"));
    let claims = |exp| Claims {
        v: 1,
        sid,
        role: Role::Mentor,
        exp,
        lid: "x".into(),
    };
    let forged = LinkSigner::new([1; 32]).sign(&claims(i64::MAX));
    // Expired: signed with the server's own secret, expiry in the past.
    let secret_hex =
        std::fs::read_to_string(server.data.path().join("secret.key")).expect("secret");
    let mut secret = [0u8; 32];
    for (i, b) in secret.iter_mut().enumerate() {
        *b = u8::from_str_radix(&secret_hex[i * 2..i * 2 + 2], 16).expect("hex");
    }
    let expired = LinkSigner::new(secret).sign(&claims(1_000));

    for (tok, code) in [
        (altered.as_str(), "invalid_token"),
        (forged.as_str(), "invalid_token"),
        ("garbage", "invalid_token"),
        (expired.as_str(), "token_expired"),
    ] {
        let ws = connect(&server).await;
        let err = error_for(&ws, &json!({"type":"join","token":tok}).to_string()).await;
        assert_eq!(err["code"], code);
        ws.wait_closed(T).await.expect("closed after refusal");
    }

    server.end_session(&session).await.expect("session ended");
    let ws = connect(&server).await;
    let err = error_for(&ws, &json!({"type":"join","token":good}).to_string()).await;
    assert_eq!(err["code"], "session_ended");
}

#[tokio::test]
async fn a_socket_that_never_joins_is_dropped() {
    let server = TestServer::start_with(|c| c.signaling.join_timeout_s = 1)
        .await
        .expect("server");
    let ws = connect(&server).await;
    let err = ws
        .wait_for_message("error", T)
        .await
        .expect("timeout error");
    assert_eq!(err["code"], "timeout");
    ws.wait_closed(T).await.expect("closed");
}

#[tokio::test]
async fn two_participants_meet_chat_and_see_mute_state() {
    let server = TestServer::start().await.expect("server");
    let session = server.create_session().await.expect("session");
    let (mentor, joined) = join(&server, &token(&session, "mentor"), "Ada L.").await;
    assert_eq!(joined["you"]["role"], "mentor");
    assert_eq!(joined["you"]["name"], "Ada L.");
    assert_eq!(joined["peer"], Value::Null);
    assert_eq!(joined["session"]["title"], "Weekly mentoring");
    assert!(joined["ice_servers"].is_array());
    assert_eq!(joined["recording"]["state"], "off");

    let (mentee, joined) = join(&server, &token(&session, "mentee"), "").await;
    assert_eq!(joined["peer"]["role"], "mentor");
    assert_eq!(
        joined["you"]["name"], "Mentee",
        "an empty name falls back to the role"
    );
    let pj = mentor
        .wait_for_message("peer_joined", T)
        .await
        .expect("peer_joined");
    assert_eq!(pj["peer"]["role"], "mentee");

    mentee
        .send_json(&json!({"type":"chat","text":"  hello there "}))
        .expect("send");
    let chat = mentor.wait_for_message("chat", T).await.expect("chat");
    assert_eq!(chat["text"], "hello there");
    assert_eq!(chat["from"]["role"], "mentee");
    let at = chat["at"].as_str().expect("at");
    assert!(
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok()
    );
    let echo = mentee.wait_for_message("chat", T).await.expect("echo");
    assert_eq!(echo["at"], chat["at"]);

    mentor
        .send_json(&json!({"type":"media","audio":false,"video":true,"screen":false}))
        .expect("send");
    let pm = mentee
        .wait_for_message("peer_media", T)
        .await
        .expect("peer_media");
    assert_eq!(
        (pm["role"].clone(), pm["audio"].clone()),
        (json!("mentor"), json!(false))
    );

    // Bad input from the mentee reaches nobody else.
    let before = mentor.message_count();
    for frame in ["{", r#"{"type":"nope"}"#, r#"{"type":"join","token":"x"}"#] {
        error_for(&mentee, frame).await;
    }
    mentee
        .send_json(&json!({"type":"chat","text":"still here"}))
        .expect("send");
    let after = mentor
        .wait_messages(T, |log| {
            log.len() > before && log.last().is_some_and(|m| m["type"] == "chat")
        })
        .await
        .expect("chat after bad frames");
    assert!(
        after[before..].iter().all(|m| m["type"] == "chat"),
        "{:?}",
        &after[before..]
    );

    let api = client()
        .get(server.url(&format!(
            "/api/v1/sessions/{}",
            session["id"].as_str().expect("id")
        )))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("get")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(api["status"], "live");
    assert_eq!(api["mentor"]["connected"], true);
    assert_eq!(api["mentee"]["connected"], true);

    mentee.send_json(&json!({"type":"leave"})).expect("send");
    let left = mentor
        .wait_for_message("peer_left", T)
        .await
        .expect("peer_left");
    assert_eq!(left["reason"], "left");
    mentee.wait_closed(T).await.expect("leaver closed");
}

#[tokio::test]
async fn same_link_replaces_and_another_link_is_refused() {
    let server = TestServer::start().await.expect("server");
    let session = server.create_session().await.expect("session");
    let (first, _) = join(&server, &token(&session, "mentor"), "Ada").await;
    let (mentee, _) = join(&server, &token(&session, "mentee"), "Grace").await;

    // A second tab with the same link takes over; the first is told why.
    let before = mentee.message_count();
    let (_second, _) = join(&server, &token(&session, "mentor"), "Ada").await;
    let err = first.wait_for_message("error", T).await.expect("replaced");
    assert_eq!(err["code"], "replaced");
    first.wait_closed(T).await.expect("first tab closed");
    mentee
        .wait_for_message_after("peer_joined", before, T)
        .await
        .expect("mentee sees the mentor again");

    // A different link for the mentor role (a third person) is refused.
    let other = server.new_link(&session, "mentor").await.expect("new link");
    let third = connect(&server).await;
    let err = error_for(&third, &json!({"type":"join","token":other}).to_string()).await;
    assert_eq!(err["code"], "session_full");
    third.wait_closed(T).await.expect("third closed");
}

#[tokio::test]
async fn ending_a_session_disconnects_both() {
    let server = TestServer::start().await.expect("server");
    let session = server.create_session().await.expect("session");
    let (mentor, _) = join(&server, &token(&session, "mentor"), "Ada").await;
    let (mentee, _) = join(&server, &token(&session, "mentee"), "Grace").await;
    server.end_session(&session).await.expect("session ended");
    for ws in [&mentor, &mentee] {
        let ended = ws
            .wait_for_message("session_ended", T)
            .await
            .expect("session_ended");
        assert_eq!(ended["reason"], "ended");
        ws.wait_closed(T).await.expect("closed");
    }
}

#[tokio::test]
async fn shutdown_tells_participants_and_returns_quickly() {
    let server = TestServer::start().await.expect("server");
    let session = server.create_session().await.expect("session");
    let (mentor, _) = join(&server, &token(&session, "mentor"), "Ada").await;
    let took = server.stop().await.expect("stopped");
    let ended = mentor
        .wait_for_message("session_ended", T)
        .await
        .expect("session_ended");
    assert_eq!(ended["reason"], "server_shutdown");
    mentor.wait_closed(T).await.expect("closed");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn bad_sdp_and_candidates_get_errors_not_crashes() {
    let server = TestServer::start_with(|c| {
        c.media.ice_servers = vec![duet_server::config::IceServerConfig {
            urls: vec!["stun:stun.example.org:3478".into()],
            username: None,
            credential: None,
        }];
    })
    .await
    .expect("server");
    let session = server.create_session().await.expect("session");
    let (ws, joined) = join(&server, &token(&session, "mentor"), "Ada").await;
    assert_eq!(
        joined["ice_servers"],
        json!([{"urls": ["stun:stun.example.org:3478"]}]),
        "configured STUN/TURN servers reach the client"
    );
    for (sdp, code) in [
        ("", "bad_sdp"),
        ("v=0", "bad_sdp"),
        ("garbage\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "bad_sdp"),
        // Over the 32 KiB SDP limit, though within the frame limit.
        (&"a".repeat(60_000), "sdp_too_large"),
    ] {
        let err = error_for(&ws, &json!({"type":"offer","sdp":sdp}).to_string()).await;
        assert_eq!(err["code"], code, "{}", &sdp[..sdp.len().min(40)]);
        assert_alive(&ws).await;
    }
    for bad in [
        "not a candidate",
        "candidate:1 1 udp",
        "candidate:x y z 1 2 3 typ host",
    ] {
        let frame = json!({"type":"candidate","candidate":{"candidate":bad,"sdpMid":"0"}});
        let err = error_for(&ws, &frame.to_string()).await;
        assert_eq!(err["code"], "bad_sdp", "{bad}");
    }
    // End of candidates, unusable mDNS names and null are accepted quietly.
    let before = ws.message_count();
    for candidate in [
        json!({"candidate":"","sdpMid":"0"}),
        json!({"candidate":"candidate:1 1 udp 1 abc.local 9 typ host"}),
        Value::Null,
    ] {
        ws.send_json(&json!({"type":"candidate","candidate":candidate}))
            .expect("send");
    }
    assert_alive(&ws).await;
    assert!(ws.messages()[before..].iter().all(|m| m["type"] != "error"));
    let err = error_for(&ws, r#"{"type":"answer","sdp":"v=0"}"#).await;
    assert_eq!(err["code"], "out_of_order", "the server never offered");
    let err = error_for(&ws, r#"{"type":"recording","action":"request"}"#).await;
    assert_eq!(err["code"], "recording_unavailable");
}
