//! Media shards: with two, and spreading from the first call
//! (`media.shard_fill = 0`), sessions land on both, behind the one media
//! port, each session's two legs on one shard; calls on both carry media,
//! and an ICE-TCP call reaches a shard other than the first. With the
//! default fill, a few calls all stay on the first shard.
//!
//! Opens peer connections: run it in a loopback-only network namespace.

use std::time::Duration;

use duet_server::media::shard;
use duet_tests::harness::{TestServer, client, media_flows_both_ways, token};
use duet_tests::{MediaKind, PeerOptions, TestPeer, Transport};
use serde_json::Value;

const T: Duration = Duration::from_secs(20);
const SHARDS: usize = 2;

/// Two shards, spreading from the first call: sessions go to the emptier
/// shard as they first reach the media plane.
async fn two_shards() -> TestServer {
    TestServer::start_with(|c| {
        c.media.shards = Some(SHARDS);
        c.media.shard_fill = 0;
    })
    .await
    .expect("server")
}

/// The `duet_media_shard_connections` gauge of each shard.
async fn shard_connections(server: &TestServer) -> Vec<f64> {
    let text = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("body");
    (0..SHARDS)
        .map(|i| {
            let series = format!("duet_media_shard_connections{{shard=\"{i}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(series.as_str()))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0.0)
        })
        .collect()
}

/// The ports of the answer's UDP candidates (one per media section).
fn answer_ports(answer: &Value) -> Vec<String> {
    let sdp = answer["sdp"].as_str().unwrap_or_default();
    sdp.lines()
        .filter(|l| l.starts_with("a=candidate:") && l.contains(" udp "))
        .filter_map(|l| l.split_whitespace().nth(5).map(str::to_owned))
        .collect()
}

fn ufrag(answer: &Value) -> String {
    let sdp = answer["sdp"].as_str().unwrap_or_default();
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_on_both_shards_share_the_one_media_port() {
    let server = two_shards().await;
    let mut calls = Vec::new();
    for want in 0..SHARDS {
        let session = server.create_session().await.expect("session");
        let (mentor, mentee) = server.join_both(&session).await.expect("both join");
        for peer in [&mentor, &mentee] {
            let answer = peer.wait_for_message("answer", T).await.expect("answer");
            // The one port, whatever the shard; the ufrag names the shard.
            let ports = answer_ports(&answer);
            let media_port = server.media.port().to_string();
            assert!(
                !ports.is_empty() && ports.iter().all(|p| *p == media_port),
                "{ports:?}"
            );
            let ufrag = ufrag(&answer);
            assert_eq!(shard::of_ufrag(&ufrag, SHARDS), Some(want), "ufrag {ufrag}");
        }
        calls.push((mentor, mentee));
    }
    for (mentor, mentee) in &calls {
        mentor.wait_connected(T).await.expect("mentor connects");
        mentee.wait_connected(T).await.expect("mentee connects");
    }
    for (mentor, mentee) in &calls {
        media_flows_both_ways(mentor, mentee, T).await;
    }
    // Each shard holds its session's two connections, and nothing else.
    assert_eq!(shard_connections(&server).await, vec![2.0; SHARDS]);
    let (mentor, mentee) = calls.remove(0);
    mentor.close().await;
    mentee.close().await;
    let deadline = tokio::time::Instant::now() + T;
    while shard_connections(&server).await != vec![0.0, 2.0] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "shard 0 kept its connections"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The call on shard 1 goes on.
    let (mentor, mentee) = &calls[0];
    let before = mentee.stats().received.get(MediaKind::Camera).packets;
    mentee
        .wait_until(
            |s| s.received.get(MediaKind::Camera).packets > before + 30,
            T,
        )
        .await
        .expect("shard 1's call still carries video");
    mentor.close().await;
    mentee.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ice_tcp_call_reaches_the_second_shard() {
    let server = two_shards().await;
    // A first call takes the first shard.
    let first = server.create_session().await.expect("session");
    let (a, b) = server.join_both(&first).await.expect("both join");
    a.wait_connected(T).await.expect("first call connects");
    b.wait_connected(T).await.expect("first call connects");
    let session = server.create_session().await.expect("session");
    let ws = server.ws_url();
    let tcp_only = |name: &str| PeerOptions {
        transport: Transport::Tcp,
        ..PeerOptions::named(name)
    };
    let mentor = TestPeer::join(&ws, &token(&session, "mentor"), tcp_only("Ada"))
        .await
        .expect("mentor joins");
    let mentee = TestPeer::join(&ws, &token(&session, "mentee"), tcp_only("Grace"))
        .await
        .expect("mentee joins");
    mentor
        .wait_connected(T)
        .await
        .expect("mentor connects over TCP");
    mentee
        .wait_connected(T)
        .await
        .expect("mentee connects over TCP");
    let answer = mentor.wait_for_message("answer", T).await.expect("answer");
    assert_eq!(shard::of_ufrag(&ufrag(&answer), SHARDS), Some(1));
    media_flows_both_ways(&mentor, &mentee, T).await;
    assert_eq!(shard_connections(&server).await, vec![2.0, 2.0]);
    for peer in [mentor, mentee, a, b] {
        peer.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_few_calls_stay_on_the_first_shard() {
    let server = TestServer::start_with(|c| c.media.shards = Some(SHARDS))
        .await
        .expect("server");
    let mut peers = Vec::new();
    for _ in 0..3 {
        let session = server.create_session().await.expect("session");
        let (mentor, mentee) = server.join_both(&session).await.expect("both join");
        for peer in [&mentor, &mentee] {
            let answer = peer.wait_for_message("answer", T).await.expect("answer");
            assert_eq!(shard::of_ufrag(&ufrag(&answer), SHARDS), Some(0));
        }
        peers.extend([mentor, mentee]);
    }
    for peer in &peers {
        peer.wait_connected(T).await.expect("connects");
    }
    assert_eq!(shard_connections(&server).await, vec![6.0, 0.0]);
    for peer in peers {
        peer.close().await;
    }
}
