//! A real 1:1 call through Duet: two webrtc-rs peers join with the links'
//! tokens, send Opus and VP8, and each must receive the other's media
//! byte-for-byte through the SFU; keyframe requests must travel upstream.
//!
//! Opens peer connections: the test script runs it in a loopback-only
//! network namespace.

use std::time::Duration;

use duet_tests::harness::{TestServer, token};
use duet_tests::{JoinRefused, MediaKind, PeerOptions, PeerStats, TestPeer};

const T: Duration = Duration::from_secs(20);
/// 50 Opus packets is one second of audio; 30 VP8 packets a second of video.
const MIN_AUDIO: u64 = 50;
const MIN_VIDEO: u64 = 30;

fn got_media(s: &PeerStats) -> bool {
    s.received.get(MediaKind::Audio).packets >= MIN_AUDIO
        && s.received.get(MediaKind::Camera).packets >= MIN_VIDEO
}

async fn call_with(mentee_trickles: bool) {
    let server = TestServer::start().await.expect("server");
    let session = server.create_session().await.expect("session");
    let mentor = TestPeer::join(
        &server.ws_url(),
        &token(&session, "mentor"),
        PeerOptions::named("Ada"),
    )
    .await
    .expect("mentor joins");
    let mentee = TestPeer::join(
        &server.ws_url(),
        &token(&session, "mentee"),
        PeerOptions {
            trickle: mentee_trickles,
            ..PeerOptions::named("Grace")
        },
    )
    .await
    .expect("mentee joins");

    // The server's answer must carry its own candidate: nothing else tells
    // a non-trickling client where to send.
    let answer = mentee
        .wait_for_message("answer", T)
        .await
        .expect("an answer");
    let sdp = answer["sdp"].as_str().expect("sdp");
    let port = server.media.port().to_string();
    assert!(
        sdp.lines()
            .any(|l| l.starts_with("a=candidate:") && l.contains("127.0.0.1") && l.contains(&port)),
        "answer lacks the server's host candidate:\n{sdp}"
    );

    mentor.wait_connected(T).await.expect("mentor connected");
    mentee.wait_connected(T).await.expect("mentee connected");
    let mentee_stats = mentee
        .wait_until(got_media, T)
        .await
        .expect("mentee receives media");
    let mentor_stats = mentor
        .wait_until(got_media, T)
        .await
        .expect("mentor receives media");

    // Intact: every payload received is byte-identical to one the other
    // side sent on the same kind of stream, and media went nowhere else.
    let (mentor_sent, mentee_sent) = (mentor.stats(), mentee.stats());
    for kind in [MediaKind::Audio, MediaKind::Camera] {
        assert!(
            mentee_stats.received_intact_from(kind, &mentor_sent, 1),
            "{kind:?} to mentee"
        );
        assert!(
            mentor_stats.received_intact_from(kind, &mentee_sent, 1),
            "{kind:?} to mentor"
        );
        assert_eq!(
            mentee_stats.matched_payloads(kind, &mentee_sent, kind),
            0,
            "no echo of own {kind:?}"
        );
    }
    assert_eq!(
        mentee_stats.received.get(MediaKind::Screen).packets,
        0,
        "nobody shares a screen"
    );

    // A keyframe request from the mentee reaches the mentor. Requests are
    // throttled upstream, so ask again until one passes (or time runs out).
    let before = mentor
        .stats()
        .keyframe_requests
        .get(MediaKind::Camera)
        .to_owned();
    let deadline = tokio::time::Instant::now() + T;
    loop {
        mentee
            .send_pli_for(MediaKind::Camera)
            .await
            .expect("PLI sent");
        let got = mentor
            .wait_until(
                |s| *s.keyframe_requests.get(MediaKind::Camera) > before,
                Duration::from_millis(700),
            )
            .await;
        if got.is_ok() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mentee's PLI never reached the mentor"
        );
    }

    // A third person (another link for a taken role) is refused and the
    // call goes on.
    let extra = server.new_link(&session, "mentee").await.expect("new link");
    let err = TestPeer::join(&server.ws_url(), &extra, PeerOptions::named("Eve"))
        .await
        .err()
        .expect("third peer refused");
    let refused = err
        .downcast_ref::<JoinRefused>()
        .expect("a refusal, not a failure");
    assert_eq!(refused.code, "session_full");
    let so_far = mentee.stats().received.get(MediaKind::Camera).packets;
    mentee
        .wait_until(
            |s| s.received.get(MediaKind::Camera).packets > so_far + 10,
            T,
        )
        .await
        .expect("media keeps flowing after the refusal");

    // Ending the session over the API disconnects both.
    server.end_session(&session).await.expect("session ended");
    for peer in [&mentor, &mentee] {
        peer.wait_for_message("session_ended", T)
            .await
            .expect("session_ended");
        peer.wait_closed(T).await.expect("socket closed");
    }
    mentor.close().await;
    mentee.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_forwards_audio_video_and_keyframe_requests_trickle() {
    call_with(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_works_for_a_client_that_does_not_trickle() {
    call_with(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_token_gets_no_call() {
    let server = TestServer::start().await.expect("server");
    let err = TestPeer::join(
        &server.ws_url(),
        "eyJ2IjoxfQ.c2lnbmF0dXJl",
        PeerOptions::named("Mallory"),
    )
    .await
    .err()
    .expect("refused");
    let refused = err.downcast_ref::<JoinRefused>().expect("a refusal");
    assert_eq!(refused.code, "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_gets_video_at_once_and_screen_share_is_a_third_stream() {
    let server = TestServer::start().await.expect("server");
    let session = server.create_session().await.expect("session");
    let mentor = TestPeer::join(
        &server.ws_url(),
        &token(&session, "mentor"),
        PeerOptions::named("Ada"),
    )
    .await
    .expect("mentor joins");
    mentor.wait_connected(T).await.expect("mentor connected");
    mentor
        .wait_until(|s| s.sent.get(MediaKind::Camera).packets >= MIN_VIDEO, T)
        .await
        .expect("mentor sends alone");
    assert_eq!(
        *mentor.stats().keyframe_requests.get(MediaKind::Camera),
        0,
        "nobody receives yet, so nobody asks for a keyframe"
    );

    // The mentee arrives later: Duet asks the mentor for a keyframe on its
    // own, so the mentee's video starts without waiting for the next one.
    let mentee = TestPeer::join(
        &server.ws_url(),
        &token(&session, "mentee"),
        PeerOptions::named("Grace"),
    )
    .await
    .expect("mentee joins");
    mentee.wait_connected(T).await.expect("mentee connected");
    mentor
        .wait_until(|s| *s.keyframe_requests.get(MediaKind::Camera) >= 1, T)
        .await
        .expect("Duet requested a keyframe for the new receiver");
    assert_eq!(
        *mentee.stats().plis_sent.get(MediaKind::Camera),
        0,
        "not the mentee's request"
    );
    mentee
        .wait_until(|s| s.received.get(MediaKind::Camera).keyframes >= 1, T)
        .await
        .expect("a keyframe reaches the late joiner");

    // Screen share rides on the third m-line: no renegotiation, its own
    // stream, intact, and never mixed into the camera stream.
    let offers_before = mentor
        .messages()
        .iter()
        .filter(|m| m["type"] == "offer" || m["type"] == "answer")
        .count();
    mentor.set_sending(MediaKind::Screen, true);
    let got = mentee
        .wait_until(
            |s| s.received.get(MediaKind::Screen).packets >= MIN_VIDEO,
            T,
        )
        .await
        .expect("mentee receives the screen");
    let sent = mentor.stats();
    assert!(got.received_intact_from(MediaKind::Screen, &sent, MIN_VIDEO));
    assert_eq!(
        got.matched_payloads(MediaKind::Camera, &sent, MediaKind::Screen),
        0
    );
    assert_eq!(
        got.matched_payloads(MediaKind::Screen, &sent, MediaKind::Camera),
        0
    );
    let offers_after = mentor
        .messages()
        .iter()
        .filter(|m| m["type"] == "offer" || m["type"] == "answer")
        .count();
    assert_eq!(
        offers_before, offers_after,
        "no renegotiation for screen share"
    );
    mentor.close().await;
    mentee.close().await;
}
