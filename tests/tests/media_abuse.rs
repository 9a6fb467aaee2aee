//! Abuse of the media edge must not reach other calls: floods of ICE
//! candidates (trickled on a call, or in anonymous `/check/offer` probes),
//! a panic on one connection's path, candidates pointing at denied
//! addresses, data-channel and oversize offers.
//!
//! Opens peer connections: the test script runs it in a loopback-only
//! network namespace.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use duet_signaling::{Role, SessionId};
use duet_tests::harness::{TestServer, client, token};
use duet_tests::{MediaKind, MediaPeer, PeerOptions, PeerStats, TestPeer};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);
/// How long each audio rate is measured over.
const RATE_WINDOW: Duration = Duration::from_secs(5);
/// Candidates in a probe offer that fits under the 32 KiB size cap: more
/// than the 50 allowed.
const MANY: u32 = 200;

fn got_audio(s: &PeerStats) -> bool {
    s.received.get(MediaKind::Audio).packets >= 50
}

fn audio_received(peers: &(TestPeer, TestPeer)) -> u64 {
    peers.0.stats().received.get(MediaKind::Audio).packets
        + peers.1.stats().received.get(MediaKind::Audio).packets
}

/// Audio packets a second the call's two participants receive together.
async fn audio_rate(call: &(TestPeer, TestPeer), window: Duration) -> f64 {
    let before = audio_received(call);
    tokio::time::sleep(window).await;
    (audio_received(call) - before) as f64 / window.as_secs_f64()
}

/// A call with audio flowing both ways.
async fn flowing_call(server: &TestServer) -> ((TestPeer, TestPeer), Value) {
    let session = server.create_session().await.expect("session");
    let call = server.join_both(&session).await.expect("join");
    for peer in [&call.0, &call.1] {
        peer.wait_connected(T).await.expect("connected");
        peer.wait_until(got_audio, T).await.expect("audio flows");
    }
    (call, session)
}

/// A real offer (three m-lines, no candidates) from a webrtc-rs peer.
async fn plain_offer() -> String {
    let peer = MediaPeer::new(Vec::new(), &PeerOptions::named("probe"))
        .await
        .expect("peer");
    let sdp = peer.create_offer(false).await.expect("offer");
    peer.close().await;
    sdp.split_inclusive('\n')
        .filter(|l| !l.starts_with("a=candidate:") && !l.starts_with("a=end-of-candidates"))
        .collect()
}

async fn check_offer(server: &TestServer, sdp: &str) -> (u16, Value) {
    let resp = client()
        .post(server.url("/api/v1/check/offer"))
        .json(&json!({ "sdp": sdp }))
        .send()
        .await
        .expect("check offer");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn flood_candidate(i: u32) -> String {
    format!(
        "candidate:{i} 1 udp 2122260223 10.{}.{}.{} {} typ host",
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        i & 0xff,
        1024 + (i % 60000)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_flood_leaves_another_call_flowing() {
    let server = TestServer::start().await.expect("server");
    let (victim, _) = flowing_call(&server).await;
    let (attacker, _) = flowing_call(&server).await;
    // Five-second windows and a 60 % floor: long enough and loose enough
    // for a loaded two-core machine, while a flood that starved the media
    // loop would still fail it.
    let before = audio_rate(&victim, RATE_WINDOW).await;
    assert!(before > 50.0, "the victim call carries audio: {before}/s");

    // Four anonymous probes with 20,000 candidates each (refused by size)...
    let offer = plain_offer().await;
    let mut huge = offer.clone();
    for i in 0..20_000 {
        huge.push_str(&format!("a={}\r\n", flood_candidate(i)));
    }
    let probes: Vec<_> = (0..4)
        .map(|_| {
            let (url, sdp) = (server.url("/api/v1/check/offer"), huge.clone());
            tokio::spawn(async move {
                let resp = client().post(url).json(&json!({ "sdp": sdp })).send().await;
                resp.map(|r| r.status().as_u16()).unwrap_or(0)
            })
        })
        .collect();
    // ...four under the 32 KiB cap with more than 50 candidates each, so
    // the count cap is what refuses them...
    let mut many = offer.clone();
    for i in 0..MANY {
        many.push_str(&format!("a={}\r\n", flood_candidate(i)));
    }
    assert!(many.len() <= 32 * 1024, "{} bytes", many.len());
    let counted: Vec<_> = (0..4)
        .map(|_| {
            let (url, sdp) = (server.url("/api/v1/check/offer"), many.clone());
            tokio::spawn(async move {
                let resp = client().post(url).json(&json!({ "sdp": sdp })).send().await;
                match resp {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let body: Value = r.json().await.unwrap_or_default();
                        (status, body["error"]["code"].as_str().map(str::to_string))
                    }
                    Err(_) => (0, None),
                }
            })
        })
        .collect();
    // ...and thousands trickled on a call.
    let trickle = tokio::spawn(async move {
        for i in 0..5_000 {
            let c = json!({"type": "candidate", "candidate": {
                "candidate": flood_candidate(i), "sdpMid": "0", "sdpMLineIndex": 0}});
            if attacker.0.send_json(&c).is_err() {
                break;
            }
            if i % 500 == 0 {
                tokio::task::yield_now().await;
            }
        }
        attacker
    });

    let during = audio_rate(&victim, RATE_WINDOW).await;
    let attacker = trickle.await.expect("trickle");
    let mut statuses = Vec::new();
    for probe in probes {
        statuses.push(probe.await.expect("probe"));
    }
    let mut counted_answers = Vec::new();
    for probe in counted {
        counted_answers.push(probe.await.expect("probe"));
    }
    let after = audio_rate(&victim, RATE_WINDOW).await;
    assert!(
        during >= 0.6 * before && after >= 0.6 * before,
        "the other call's audio: {before:.0}/s before, {during:.0}/s during, {after:.0}/s after"
    );
    assert_eq!(statuses, [413; 4], "oversize probe offers are refused");
    for answer in &counted_answers {
        assert_eq!(
            (answer.0, answer.1.as_deref()),
            (400, Some("too_many_candidates")),
            "probes with {MANY} candidates are refused by the count cap"
        );
    }
    // The attacker was told, and its excess never reached the media plane.
    let refused = attacker
        .0
        .signal()
        .wait_messages(T, |log| {
            log.iter().any(|m| {
                m["type"] == "error"
                    && (m["code"] == "too_many_candidates" || m["code"] == "rate_limited")
            })
        })
        .await;
    assert!(refused.is_ok(), "the flooding client got no error");
    server.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_on_one_connection_ends_only_that_connection() {
    let server = TestServer::start().await.expect("server");
    let (victim, _) = flowing_call(&server).await;
    let (faulty, faulty_session) = flowing_call(&server).await;
    let before = audio_rate(&victim, Duration::from_secs(2)).await;

    let sid: uuid::Uuid = faulty_session["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("session id");
    duet_server::media::fault::panic_on_next_packet(SessionId(sid), Role::Mentor);

    let metrics = || async {
        client()
            .get(server.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !metrics().await.contains("duet_media_peer_panics_total 1") {
        assert!(Instant::now() < deadline, "the injected panic never fired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = audio_rate(&victim, Duration::from_secs(3)).await;
    assert!(
        after >= 0.7 * before,
        "the other call's audio: {before:.0}/s before, {after:.0}/s after the panic"
    );
    let ready = client()
        .get(server.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status().as_u16(), 200, "the server stays ready");
    assert!(metrics().await.contains("duet_media_loop_lag_seconds"));
    // The faulty participant's connection was closed, as after a failure.
    faulty
        .0
        .wait_until(|s| !s.connected(), T)
        .await
        .expect("the faulty connection is closed");
    server.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_connectivity_checks_go_to_denied_addresses() {
    let server = TestServer::start_with(|c| c.media.ice_deny.push("127.0.0.2/32".into()))
        .await
        .expect("server");
    let denied = tokio::net::UdpSocket::bind("127.0.0.2:0")
        .await
        .expect("bind");
    let allowed = tokio::net::UdpSocket::bind("127.0.0.3:0")
        .await
        .expect("bind");
    let line = |n: u32, addr: SocketAddr| {
        format!(
            "a=candidate:{n} 1 udp 2122260223 {} {} typ host\r\n",
            addr.ip(),
            addr.port()
        )
    };
    let mut sdp = plain_offer().await;
    sdp.push_str(&line(1, denied.local_addr().expect("addr")));
    sdp.push_str(&line(2, allowed.local_addr().expect("addr")));
    let (status, body) = check_offer(&server, &sdp).await;
    assert_eq!(status, 200, "{body}");

    let mut buf = [0u8; 1500];
    tokio::time::timeout(Duration::from_secs(5), allowed.recv_from(&mut buf))
        .await
        .expect("the allowed candidate gets a connectivity check")
        .expect("recv");
    let stray = tokio::time::timeout(Duration::from_secs(2), denied.recv_from(&mut buf)).await;
    assert!(stray.is_err(), "a check went to the denied address");
    server.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_channel_and_oversize_offers_are_refused() {
    let server = TestServer::start().await.expect("server");
    let offer = plain_offer().await;
    let data_channel = format!(
        "{offer}m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
         a=mid:9\r\na=sctp-port:5000\r\n"
    );
    let oversize = format!("{offer}{}", "a=x-padding:0123456789abcdef\r\n".repeat(1500));

    let (status, body) = check_offer(&server, &data_channel).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("data channel"), "{body}");
    let (status, body) = check_offer(&server, &oversize).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "sdp_too_large");

    // The same on a call's signaling socket.
    let session = server.create_session().await.expect("session");
    let peer = TestPeer::join(
        &server.ws_url(),
        &token(&session, "mentor"),
        PeerOptions::named("Ada"),
    )
    .await
    .expect("join");
    for (sdp, code) in [(&data_channel, "bad_sdp"), (&oversize, "sdp_too_large")] {
        peer.send_json(&json!({"type": "offer", "sdp": sdp}))
            .expect("send");
        peer.signal()
            .wait_messages(T, |log| {
                log.iter()
                    .any(|m| m["type"] == "error" && m["code"] == code)
            })
            .await
            .unwrap_or_else(|e| panic!("no {code} error: {e}"));
    }
    server.stop().await.expect("stop");
}
