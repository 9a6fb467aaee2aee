//! RTCP feedback across the SFU, over a lossy link: NACK retransmission on
//! both legs, receiver reports and congestion feedback reaching the sender,
//! a receiver's downlink loss capping the sender's bitrate (REMB), and the
//! loss its audio meets end to end stated in the reports the sender gets.
//!
//! The peers talk to Duet through a UDP relay on loopback that drops chosen
//! RTP packets; their view of the server's candidates is rewritten to the
//! relay's address.

use std::time::Duration;

use duet_tests::harness::{TestServer, token};
use duet_tests::{DropPolicy, LossyRelay, MediaKind, PeerOptions, TestPeer};

const T: Duration = Duration::from_secs(20);

async fn call_through(relay: &LossyRelay, server: &TestServer) -> (TestPeer, TestPeer) {
    let session = server.create_session().await.expect("session");
    let opts = |name: &str| PeerOptions {
        rewrite_server_candidates: Some(relay.addr()),
        ..PeerOptions::named(name)
    };
    let mentor = TestPeer::join(&server.ws_url(), &token(&session, "mentor"), opts("Ada"))
        .await
        .expect("mentor joins");
    let mentee = TestPeer::join(&server.ws_url(), &token(&session, "mentee"), opts("Grace"))
        .await
        .expect("mentee joins");
    mentor.wait_connected(T).await.expect("mentor connected");
    mentee.wait_connected(T).await.expect("mentee connected");
    (mentor, mentee)
}

async fn wait_relay(
    relay: &LossyRelay,
    what: &str,
    cond: impl Fn(&duet_tests::RelayStats) -> bool,
) {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let stats = relay.stats();
        if cond(&stats) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {stats:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_packets_are_retransmitted_on_both_legs() {
    let server = TestServer::start().await.expect("server");
    let relay = LossyRelay::start(
        server.media,
        DropPolicy {
            upstream_every: Some(10),
            downstream_every: Some(10),
            persistent: false,
        },
    )
    .expect("relay");
    let (mentor, mentee) = call_through(&relay, &server).await;
    let uplink = mentor.local_ssrc(MediaKind::Camera);
    let downlink = mentee
        .wait_until(|s| s.received.get(MediaKind::Camera).packets > 0, T)
        .await
        .map(|_| {
            mentee
                .remote_ssrc(MediaKind::Camera)
                .expect("remote camera ssrc")
        })
        .expect("mentee receives the camera");

    // Mentor → Duet: Duet notices the gaps and NACKs; the mentor resends.
    wait_relay(&relay, "Duet NACKs the sender's lost packets", |s| {
        s.upstream_by_ssrc
            .get(&uplink)
            .is_some_and(|c| c.dropped >= 3 && c.recovered >= 3)
    })
    .await;
    let nacks = mentor.stats().rtcp.get(MediaKind::Camera).nacks;
    assert!(nacks > 0, "the mentor received NACKs from Duet");

    // Duet → mentee: the mentee NACKs; Duet resends from its own buffer.
    wait_relay(&relay, "Duet resends what the receiver lost", |s| {
        s.downstream_by_ssrc
            .get(&downlink)
            .is_some_and(|c| c.dropped >= 3 && c.recovered >= 3)
    })
    .await;
    let stats = mentee.stats();
    assert!(stats.received_intact_from(MediaKind::Camera, &mentor.stats(), 1));
    mentor.close().await;
    mentee.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_gets_receiver_reports_and_congestion_feedback() {
    let server = TestServer::start().await.expect("server");
    let relay = LossyRelay::start(server.media, DropPolicy::default()).expect("relay");
    let (mentor, mentee) = call_through(&relay, &server).await;
    let s = mentor
        .wait_until(
            |s| {
                s.rtcp.get(MediaKind::Camera).receiver_reports > 0
                    && s.rtcp.get(MediaKind::Audio).receiver_reports > 0
                    && s.rtcp.total.twcc > 0
            },
            T,
        )
        .await
        .expect("receiver reports and transport-cc feedback reach the sender");
    assert_eq!(
        s.rtcp.get(MediaKind::Camera).remb,
        0,
        "no loss, no bitrate cap"
    );
    mentor.close().await;
    mentee.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receivers_lossy_downlink_caps_the_senders_bitrate() {
    let server = TestServer::start().await.expect("server");
    let relay = LossyRelay::start(server.media, DropPolicy::default()).expect("relay");
    let (mentor, mentee) = call_through(&relay, &server).await;
    mentee
        .wait_until(|s| s.received.get(MediaKind::Camera).packets >= 30, T)
        .await
        .expect("media flows");
    assert_eq!(mentor.stats().rtcp.get(MediaKind::Camera).remb, 0);

    // The mentee's downlink now loses a fifth of the packets, and
    // retransmissions too: congestion, not a one-off glitch.
    relay.set_policy(DropPolicy {
        upstream_every: None,
        downstream_every: Some(5),
        persistent: true,
    });
    mentor
        .wait_until(|s| s.rtcp.get(MediaKind::Camera).remb > 0, T)
        .await
        .expect("the mentor is told to lower its bitrate");
    mentor.close().await;
    mentee.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_bandwidth_mode_caps_the_other_persons_video_and_lifts_it() {
    let server = TestServer::start().await.expect("server");
    let relay = LossyRelay::start(server.media, DropPolicy::default()).expect("relay");
    let (mentor, mentee) = call_through(&relay, &server).await;
    mentee
        .wait_until(|s| s.received.get(MediaKind::Camera).packets >= 30, T)
        .await
        .expect("media flows");
    assert_eq!(mentor.stats().rtcp.get(MediaKind::Camera).remb, 0);

    // A clean link, but the mentee asks for low-bandwidth mode.
    mentee
        .send_json(&serde_json::json!({"type": "low_bandwidth", "on": true}))
        .expect("send");
    let s = mentor
        .wait_until(|s| s.rtcp.get(MediaKind::Camera).remb > 0, T)
        .await
        .expect("the mentor is asked to lower its video bitrate");
    let capped = s.rtcp.get(MediaKind::Camera).last_remb_bps;
    assert!(
        (50_000..=150_000).contains(&capped),
        "low-resolution video: {capped} bit/s"
    );
    // Audio is never capped.
    assert_eq!(s.rtcp.get(MediaKind::Audio).remb, 0);

    // Off again: the cap is lifted at once.
    mentee
        .send_json(&serde_json::json!({"type": "low_bandwidth", "on": false}))
        .expect("send");
    mentor
        .wait_until(
            |s| s.rtcp.get(MediaKind::Camera).last_remb_bps >= 10_000_000,
            T,
        )
        .await
        .expect("the cap is lifted");
    mentor.close().await;
    mentee.close().await;
}

/// Loss on the sender's own uplink shows in the receiver's reports too
/// (what never reached Duet is missing downstream), but it is the sender's
/// congestion control's business: Duet caps only for the downlink's share.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uplink_loss_alone_caps_nobody() {
    let server = TestServer::start().await.expect("server");
    let relay = LossyRelay::start(server.media, DropPolicy::default()).expect("relay");
    let (mentor, mentee) = call_through(&relay, &server).await;
    mentee
        .wait_until(|s| s.received.get(MediaKind::Camera).packets >= 30, T)
        .await
        .expect("media flows");
    relay.set_policy(DropPolicy {
        upstream_every: Some(5),
        downstream_every: None,
        persistent: true,
    });
    // Long enough for several receiver reports about the lossy streams.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let stats = relay.stats();
    assert!(stats.upstream_dropped > 50, "{stats:?}");
    for peer in [&mentor, &mentee] {
        assert_eq!(peer.stats().rtcp.get(MediaKind::Camera).remb, 0);
    }
    mentor.close().await;
    mentee.close().await;
}

/// A browser tunes its Opus FEC to the fraction lost that reports about its
/// audio state. In a direct call that is the loss of the whole path; through
/// Duet, the reports about the mentor's audio must count the mentee's
/// downlink too — and say so only while it loses. The reports about video
/// stay the uplink's own: Duet repairs and caps the downlink itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_hears_the_loss_its_audio_meets_end_to_end() {
    let server = TestServer::start().await.expect("server");
    let relay = LossyRelay::start(server.media, DropPolicy::default()).expect("relay");
    let (mentor, mentee) = call_through(&relay, &server).await;
    mentor
        .wait_until(|s| s.rtcp.get(MediaKind::Audio).receiver_reports >= 2, T)
        .await
        .expect("reports about the mentor's audio");
    assert_eq!(
        mentor.stats().rtcp.get(MediaKind::Audio).max_fraction_lost,
        0
    );

    // Every fifth packet Duet sends is lost, retransmissions too; what the
    // mentor sends reaches Duet whole.
    relay.set_policy(DropPolicy {
        upstream_every: None,
        downstream_every: Some(5),
        persistent: true,
    });
    let lossy = mentor
        .wait_until(|s| s.rtcp.get(MediaKind::Audio).last_fraction_lost >= 26, T)
        .await
        .expect("the mentor hears of at least 10 % loss on her audio");
    assert!(
        lossy.rtcp.get(MediaKind::Camera).max_fraction_lost < 13,
        "video reports state the clean uplink: {:?}",
        lossy.rtcp.get(MediaKind::Camera)
    );

    relay.set_policy(DropPolicy::default());
    mentor
        .wait_until(|s| s.rtcp.get(MediaKind::Audio).last_fraction_lost == 0, T)
        .await
        .expect("and of none once it stops");
    mentor.close().await;
    mentee.close().await;
}
