//! Every call's timing and each person's talk time, stored whether or not
//! it is recorded: the mentor talks for three seconds (the tone, each
//! packet's audio level with the V bit set, as a browser's voice detector
//! would), the mentee stays silent (levels only, no V bit), both leave,
//! and the session's `call` says how long both were in and who talked how
//! long. The server counts from the audio-level header extension alone,
//! so this fails if the answer stops negotiating it, if silence counts, or
//! if nothing is stored.
//!
//! Opens peer connections: the test script runs it in a loopback-only
//! network namespace.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use duet_tests::harness::{TestServer, token};
use duet_tests::{MediaKind, PeerOptions, TestPeer, tone};
use serde_json::Value;

const T: Duration = Duration::from_secs(20);
/// Three seconds of 20 ms frames.
const TALK_FRAMES: usize = 150;

/// The session's `call`, once the room has stored the last leave.
async fn call_after_leaving(server: &TestServer, session: &Value) -> Value {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let shown = server.session(session).await.expect("session");
        if shown["call"]["last_left_at"].is_string() {
            return shown["call"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the call's end was never stored: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn seconds(v: &Value) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| panic!("not whole seconds: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_stores_its_duration_and_who_talked_how_long() {
    let server = TestServer::start().await.expect("server");
    let session = server.create_session().await.expect("session");
    let before = server.session(&session).await.expect("session");
    assert!(before["call"].is_null(), "nobody joined yet: {before}");

    let mentor = TestPeer::join(
        &server.ws_url(),
        &token(&session, "mentor"),
        PeerOptions {
            quiet: true,
            ..PeerOptions::named("Ada")
        },
    )
    .await
    .expect("mentor joins");
    let mentee = TestPeer::join(
        &server.ws_url(),
        &token(&session, "mentee"),
        PeerOptions {
            quiet: true,
            voice_bit: false,
            ..PeerOptions::named("Grace")
        },
    )
    .await
    .expect("mentee joins");
    let both_in = Instant::now();

    // Both legs carry (silent) audio before anyone talks.
    for peer in [&mentor, &mentee] {
        peer.wait_until(|s| s.received.get(MediaKind::Audio).packets >= 25, T)
            .await
            .expect("audio flows both ways");
    }

    let tone = tone::opus_tone_frames().expect("tone");
    let talk: Vec<Bytes> = tone.iter().cycle().take(TALK_FRAMES).cloned().collect();
    let heard_before = mentee.stats().received.get(MediaKind::Audio).packets;
    mentor.media().play_audio(Arc::new(talk));
    // Everything said reached the mentee, and a little silence after.
    mentee
        .wait_until(
            |s| s.received.get(MediaKind::Audio).packets >= heard_before + TALK_FRAMES as u64 + 25,
            T,
        )
        .await
        .expect("the mentee hears it all");

    // While both are in, the live view counts the call up.
    let live = server.session(&session).await.expect("session");
    assert!(
        seconds(&live["call"]["duration_s"]) >= 3,
        "the stretch going on counts: {live}"
    );
    assert!(
        live["call"]["last_left_at"].is_null(),
        "nobody left: {live}"
    );

    let together = both_in.elapsed().as_secs_f64();
    mentee.leave().await.expect("mentee leaves");
    mentor.leave().await.expect("mentor leaves");

    let call = call_after_leaving(&server, &session).await;
    eprintln!("both in for {together:.2} s; stored call: {call}");
    let mentor_talk = seconds(&call["talk_s"]["mentor"]);
    let mentee_talk = seconds(&call["talk_s"]["mentee"]);
    assert!(
        (2..=4).contains(&mentor_talk),
        "the mentor talked about 3 s: {call}"
    );
    assert_eq!(mentee_talk, 0, "silence is not talk: {call}");
    let duration = seconds(&call["duration_s"]) as f64;
    assert!(
        (duration - together).abs() <= 1.5,
        "duration {duration} s, both were in about {together:.1} s: {call}"
    );
    assert!(call["first_joined_at"].is_string(), "{call}");
    // The list shows the same.
    let listed = server.sessions().await.expect("list");
    let row = listed["sessions"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["id"] == session["id"]))
        .cloned()
        .expect("listed");
    assert_eq!(row["call"], call, "the list and the session agree");
}
