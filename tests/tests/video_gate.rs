//! A receiver whose downlink cannot carry even the lowest video cap gets
//! audio only until it recovers. With the mentee's downlink (and only it:
//! the mentee alone goes through a lossy relay, and only what Duet sends
//! it is dropped) losing a third of its packets, Duet caps the mentor's
//! video to the floor, then pauses video to the mentee and tells both
//! pages; the mentee's audio keeps arriving and its video stops. Once the
//! loss stops, video resumes — both pages are told, the mentor is asked for
//! a keyframe and the mentee's video arrives again. The admin's view of
//! the session shows the pause while it lasts.

use std::time::{Duration, Instant};

use duet_tests::harness::TestServer;
use duet_tests::{DropPolicy, LossyRelay, MediaKind};
use serde_json::Value;

const T: Duration = Duration::from_secs(45);

/// The last `video_paused` a page heard about `role`'s downlink.
fn paused(log: &[Value], role: &str) -> Option<bool> {
    log.iter()
        .rev()
        .find(|m| m["type"] == "video_paused" && m["role"] == role)
        .and_then(|m| m["paused"].as_bool())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weak_downlink_gets_audio_only_until_it_recovers() {
    let server = TestServer::start().await.expect("server");
    let relay = LossyRelay::start(server.media, DropPolicy::default()).expect("relay");
    let session = server.create_session().await.expect("session");
    let (mentor, mentee) = server
        .join_both_mentee_via(&session, relay.addr())
        .await
        .expect("both join, the mentee through the relay");
    mentor.wait_connected(T).await.expect("mentor connected");
    mentee.wait_connected(T).await.expect("mentee connected");
    mentee
        .wait_until(|s| s.received.get(MediaKind::Camera).packets >= 30, T)
        .await
        .expect("video flows to the mentee");

    // A third of what Duet sends the mentee is lost, retransmissions too.
    let weak = Instant::now();
    relay.set_policy(DropPolicy {
        upstream_every: None,
        downstream_every: Some(3),
        persistent: true,
    });
    for peer in [&mentor, &mentee] {
        peer.signal()
            .wait_messages(T, |log| paused(log, "mentee") == Some(true))
            .await
            .expect("both pages told video to the mentee is paused");
    }
    eprintln!(
        "paused {:.1} s after the loss began",
        weak.elapsed().as_secs_f64()
    );
    for peer in [&mentor, &mentee] {
        assert_eq!(
            paused(&peer.messages(), "mentor"),
            None,
            "the mentor's downlink is fine"
        );
    }

    // Audio only: the mentee's audio keeps arriving, its video does not.
    let before = mentee.stats();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = mentee.stats();
    let got =
        |kind: MediaKind| after.received.get(kind).packets - before.received.get(kind).packets;
    assert!(
        got(MediaKind::Audio) >= 50,
        "audio keeps flowing: {} packets in 3 s",
        got(MediaKind::Audio)
    );
    assert!(
        got(MediaKind::Camera) <= 2,
        "video is held back: {} packets in 3 s",
        got(MediaKind::Camera)
    );
    assert_eq!(
        paused(&mentee.messages(), "mentee"),
        Some(true),
        "still paused on a link still lossy"
    );
    // The admin's live view shows it too, on the mentee only.
    let view = server.session(&session).await.expect("the session's view");
    assert_eq!(view["mentee"]["quality"]["video_paused"], true, "{view}");
    assert_eq!(view["mentor"]["quality"]["video_paused"], false, "{view}");
    let asked = mentor
        .stats()
        .keyframe_requests
        .get(MediaKind::Camera)
        .to_owned();

    // The loss stops: after a few clean seconds of audio, video resumes.
    let clean = Instant::now();
    relay.set_policy(DropPolicy::default());
    for peer in [&mentor, &mentee] {
        peer.signal()
            .wait_messages(T, |log| paused(log, "mentee") == Some(false))
            .await
            .expect("both pages told video to the mentee resumed");
    }
    eprintln!(
        "resumed {:.1} s after the loss ended",
        clean.elapsed().as_secs_f64()
    );
    let video_then = after.received.get(MediaKind::Camera).packets;
    mentee
        .wait_until(
            |s| s.received.get(MediaKind::Camera).packets >= video_then + 30,
            T,
        )
        .await
        .expect("video reaches the mentee again");
    mentor
        .wait_until(|s| *s.keyframe_requests.get(MediaKind::Camera) > asked, T)
        .await
        .expect("the mentor is asked for a keyframe on resume");
    mentor.close().await;
    mentee.close().await;
}
