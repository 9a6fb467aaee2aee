//! `/metrics` after a real call: the counters an operator watches moved,
//! and the text is Prometheus's format with `duet_` names only.
//!
//! Opens peer connections: the test script runs it in a loopback-only
//! network namespace.

use std::collections::HashMap;
use std::time::Duration;

use duet_tests::consent_flow::start_recording;
use duet_tests::harness::{TestServer, client};
use duet_tests::{JoinRefused, MediaKind, PeerOptions, TestPeer};

const T: Duration = Duration::from_secs(20);

/// Every sample line, `name{labels}` to value.
async fn scrape(server: &TestServer) -> HashMap<String, f64> {
    let resp = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(resp.status().as_u16(), 200);
    let content_type = resp.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = resp.text().await.expect("body");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').expect("name value");
            assert!(name.starts_with("duet_"), "{l}");
            (name.to_string(), value.parse::<f64>().expect("a number"))
        })
        .collect()
}

fn get(m: &HashMap<String, f64>, name: &str) -> f64 {
    m.get(name).copied().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_call_moves_the_counters_operators_watch() {
    let server = TestServer::start().await.expect("server");
    let before = scrape(&server).await;
    assert_eq!(get(&before, "duet_sessions_active"), 0.0);
    assert_eq!(get(&before, "duet_join_attempts_total"), 0.0);
    assert!(get(&before, "duet_data_disk_free_bytes") > 0.0);

    let session = server.create_recordable_session().await.expect("session");
    let (mentor, mentee) = server.join_both(&session).await.expect("both join");
    mentor.wait_connected(T).await.expect("mentor connected");
    mentee.wait_connected(T).await.expect("mentee connected");
    for peer in [&mentor, &mentee] {
        peer.wait_until(|s| s.received.get(MediaKind::Camera).packets > 20, T)
            .await
            .expect("media flows");
    }
    start_recording(&mentor, &mentee).await;
    // A forged link is a failed join, counted by reason.
    match TestPeer::join(&server.ws_url(), "forged", PeerOptions::named("Eve")).await {
        Err(e) => assert!(e.downcast_ref::<JoinRefused>().is_some(), "{e}"),
        Ok(_) => panic!("a forged token joined"),
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let m = scrape(&server).await;
    assert_eq!(get(&m, "duet_sessions_active"), 1.0);
    assert_eq!(get(&m, "duet_participants_connected"), 2.0);
    assert_eq!(get(&m, "duet_calls_connected"), 1.0);
    assert_eq!(get(&m, "duet_join_attempts_total"), 3.0);
    assert_eq!(
        get(&m, "duet_join_failures_total{reason=\"invalid_token\"}"),
        1.0
    );
    assert_eq!(get(&m, "duet_time_to_connect_seconds_count"), 2.0);
    for kind in ["audio", "video"] {
        let packets = format!("duet_rtp_packets_forwarded_total{{kind=\"{kind}\"}}");
        let bytes = format!("duet_rtp_bytes_forwarded_total{{kind=\"{kind}\"}}");
        assert!(get(&m, &packets) > 40.0, "{packets}: {}", get(&m, &packets));
        assert!(get(&m, &bytes) > get(&m, &packets), "{bytes}");
    }
    assert!(
        get(&m, "duet_plis_total") >= 1.0,
        "keyframe requests on join"
    );
    assert_eq!(get(&m, "duet_recordings_active"), 1.0);
    assert!(get(&m, "duet_recording_bytes_written_total") > 0.0);
    for (action, n) in [("request", 1.0), ("consent", 2.0), ("start", 1.0)] {
        let name = format!("duet_consent_events_total{{action=\"{action}\"}}");
        assert_eq!(get(&m, &name), n, "{name}");
    }
    assert!(
        get(&m, "duet_call_loss_ratio_count") >= 1.0,
        "receiver reports reach the loss histogram"
    );
    assert_eq!(get(&m, "duet_draining"), 0.0);

    mentor.leave().await.expect("mentor leaves");
    mentee.leave().await.expect("mentee leaves");
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let m = scrape(&server).await;
        if get(&m, "duet_participants_connected") == 0.0
            && get(&m, "duet_calls_connected") == 0.0
            && get(&m, "duet_recordings_active") == 0.0
            && get(&m, "duet_sessions_active") == 0.0
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gauges did not return to zero: {m:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let server = TestServer::start_with(|c| c.metrics.enabled = false)
        .await
        .expect("server");
    let resp = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(resp.status().as_u16(), 404);
}
