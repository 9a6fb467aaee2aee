//! Recovering from network trouble without ending the call: an ICE restart
//! on the same connection, a dropped signaling socket followed by a fresh
//! join, and a second tab taking over. The other participant never has to
//! renegotiate.

use std::time::Duration;

use duet_tests::harness::{TestServer, token};
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::json;

const T: Duration = Duration::from_secs(20);

fn ice_ufrag(sdp: &str) -> Option<&str> {
    sdp.lines().find_map(|l| l.strip_prefix("a=ice-ufrag:"))
}

/// Waits until `peer` has received `more` camera packets beyond what it had.
async fn camera_keeps_flowing(peer: &TestPeer, more: u64) {
    let base = peer.stats().received.get(MediaKind::Camera).packets;
    peer.wait_until(
        |s| s.received.get(MediaKind::Camera).packets >= base + more,
        T,
    )
    .await
    .expect("camera packets keep arriving");
}

/// Whether `receiver` got both audio and video that `source` sent. The new
/// source starts from its own random sequence numbers; without Duet keeping
/// the outbound stream continuous, the receiver drops them as replayed.
fn from_new_source(receiver: &duet_tests::PeerStats, source: &duet_tests::PeerStats) -> bool {
    receiver.matched_payloads(MediaKind::Camera, source, MediaKind::Camera) > 10
        && receiver.matched_payloads(MediaKind::Audio, source, MediaKind::Audio) > 10
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ice_restart_keeps_the_call_going() {
    let server = TestServer::start().await.expect("server");
    let session = server.create_session().await.expect("session");
    let (mentor, mentee) = server.join_both(&session).await.expect("both join");
    mentee.wait_connected(T).await.expect("connected");
    camera_keeps_flowing(&mentee, 30).await;
    mentee
        .wait_for_message("answer", T)
        .await
        .expect("first answer");

    let answers_before = mentee.signal().messages_of_type("answer").len();
    let mentor_offers_before = mentor.signal().messages_of_type("offer").len();
    mentee
        .connection()
        .restart_ice()
        .await
        .expect("restart ICE");
    let offer = mentee.create_offer(false).await.expect("new offer");
    assert_ne!(ice_ufrag(&offer), None);
    mentee
        .send_json(&json!({"type":"offer","sdp":offer}))
        .expect("send offer");
    mentee
        .signal()
        .wait_messages(T, |log| {
            log.iter().filter(|m| m["type"] == "answer").count() > answers_before
        })
        .await
        .expect("Duet answers the restart");
    let second = mentee
        .signal()
        .messages_of_type("answer")
        .pop()
        .expect("answer");
    // The server's host candidate, once: re-added for a restart after the
    // agent failed (it then has none), never doubled.
    let udp_candidates = second["sdp"]
        .as_str()
        .unwrap_or("")
        .lines()
        .filter(|l| l.starts_with("a=candidate") && l.to_ascii_lowercase().contains(" 1 udp "))
        .count();
    assert_eq!(udp_candidates, 1, "{second}");

    camera_keeps_flowing(&mentee, 60).await;
    camera_keeps_flowing(&mentor, 60).await;
    assert_eq!(
        mentor.signal().messages_of_type("offer").len(),
        mentor_offers_before,
        "the other side was not renegotiated"
    );
    assert!(
        mentee.negotiation_errors().is_empty(),
        "{:?}",
        mentee.negotiation_errors()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_socket_then_a_fresh_join_resumes_the_call() {
    let server = TestServer::start().await.expect("server");
    let session = server.create_session().await.expect("session");
    let (mentor, mentee) = server.join_both(&session).await.expect("both join");
    camera_keeps_flowing(&mentor, 30).await;

    // The mentee's network vanishes: no leave, no close frame.
    let before = mentor.signal().message_count();
    mentee.signal().abort();
    mentee.close().await;
    let left = mentor
        .signal()
        .wait_for_message_after("peer_left", before, T)
        .await
        .expect("mentor learns the mentee dropped");
    assert_eq!(left["reason"], "disconnected");

    // They come back with the same link, as the web client does.
    let back = TestPeer::join(
        &server.ws_url(),
        &token(&session, "mentee"),
        PeerOptions::named("Grace"),
    )
    .await
    .expect("mentee rejoins");
    back.wait_connected(T).await.expect("reconnected");
    mentor
        .signal()
        .wait_for_message_after("peer_joined", before, T)
        .await
        .expect("mentor sees them back");
    camera_keeps_flowing(&back, 30).await;
    let base = mentor.stats();
    mentor
        .wait_until(|s| from_new_source(s, &back.stats()), T)
        .await
        .expect("the mentor receives the new connection's video");
    assert!(base.received.get(MediaKind::Camera).packets > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_tab_takes_over_the_media_too() {
    let server = TestServer::start().await.expect("server");
    let session = server.create_session().await.expect("session");
    let (mentor, first_tab) = server.join_both(&session).await.expect("both join");
    camera_keeps_flowing(&first_tab, 20).await;

    let second_tab = TestPeer::join(
        &server.ws_url(),
        &token(&session, "mentee"),
        PeerOptions::named("Grace"),
    )
    .await
    .expect("second tab");
    let err = first_tab
        .wait_for_message("error", T)
        .await
        .expect("first tab told");
    assert_eq!(err["code"], "replaced");
    second_tab
        .wait_connected(T)
        .await
        .expect("second tab connected");
    camera_keeps_flowing(&second_tab, 30).await;
    mentor
        .wait_until(|s| from_new_source(s, &second_tab.stats()), T)
        .await
        .expect("the mentor now sees the second tab");
}

/// The Wi-Fi→4G switch: the mentee's traffic suddenly reaches Duet from a
/// new address. The mentee's side sees media stop (Duet still sends to the
/// old address), restarts ICE on the same connection — as the web client
/// does after two silent seconds — and media is back within 3 s of the
/// switch, with no new peer connection and nothing asked of the mentor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_change_recovers_through_an_ice_restart_within_3_s() {
    use duet_tests::impair::{ImpairRelay, Who};
    let server = TestServer::start().await.expect("server");
    let relay =
        ImpairRelay::start(server.media, std::net::Ipv4Addr::LOCALHOST.into()).expect("relay");
    // Only the mentee goes through the relay.
    relay.assign(|_| Some(Who::Mentee));
    let session = server.create_session().await.expect("session");
    let (mentor, mentee) = server
        .join_both_mentee_via(&session, relay.addr())
        .await
        .expect("both join, the mentee through the relay");
    mentee.wait_connected(T).await.expect("connected");
    camera_keeps_flowing(&mentee, 30).await;
    let joined_before = mentee.signal().messages_of_type("joined").len();
    let mentor_offers_before = mentor.signal().messages_of_type("offer").len();

    let switched = std::time::Instant::now();
    assert_eq!(relay.change_address(Who::Mentee).expect("switch"), 1);
    // What the page sees: packets stop.
    let base = mentee.stats().received.get(MediaKind::Camera).packets;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let stalled = mentee.stats().received.get(MediaKind::Camera).packets;
    assert!(
        stalled <= base + 20,
        "media stops reaching the old address: {base} → {stalled}"
    );

    mentee
        .connection()
        .restart_ice()
        .await
        .expect("restart ICE");
    let offer = mentee.create_offer(false).await.expect("restart offer");
    mentee
        .send_json(&json!({"type":"offer","sdp":offer}))
        .expect("send offer");
    camera_keeps_flowing(&mentee, 30).await;
    let took = switched.elapsed();
    println!("address change → media again: {took:?}");
    assert!(
        took < Duration::from_secs(3),
        "media back within 3 s of the switch: {took:?}"
    );
    // The same connection: no new join, the mentor was not renegotiated,
    // and the mentor gets the mentee's camera too.
    camera_keeps_flowing(&mentor, 30).await;
    assert_eq!(
        mentee.signal().messages_of_type("joined").len(),
        joined_before
    );
    assert_eq!(
        mentor.signal().messages_of_type("offer").len(),
        mentor_offers_before
    );
}
