//! The load tool as a correctness check: two calls against an in-process Duet for a few
//! seconds must lose nothing, and every stream must deliver packets. No timing is asserted.
//!
//! Opens peer connections: the test script runs it in a loopback-only network namespace.

use std::sync::Mutex;
use std::time::Duration;

use duet_tests::harness::{API_KEY, TestServer};
use duet_tests::load::{self, LoadConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_calls_under_the_load_tool_lose_nothing() {
    let server = TestServer::start().await.expect("server");
    let mut cfg = LoadConfig::new(&server.url(""), API_KEY);
    assert_eq!(cfg.ws_url, server.ws_url());
    cfg.calls = 2;
    cfg.duration = Duration::from_secs(3);
    cfg.ramp_up = Duration::from_millis(500);
    // The server runs in this process: its CPU includes the peers', which is fine for a
    // check that the numbers are filled in.
    cfg.server_pid = Some(std::process::id());

    let lines = Mutex::new(Vec::<String>::new());
    let report = load::run(&cfg, |line| {
        eprintln!("[load] {line}");
        if let Ok(mut lines) = lines.lock() {
            lines.push(line.to_owned());
        }
    })
    .await
    .expect("load run");
    eprintln!("{}", report.summary());

    assert_eq!(report.calls, 2);
    assert_eq!(
        report.streams.len(),
        8,
        "2 calls x 2 parties x audio+camera"
    );
    for s in &report.streams {
        assert!(
            s.sent > 0 && s.received > 0 && s.received_in_window > 0,
            "stream delivered nothing: {s:?}"
        );
    }
    assert_eq!(report.total_lost, 0, "lost packets: {:#?}", report.streams);
    assert!(report.forwarded_packets > 0);
    assert!(report.forwarded_packets_per_s > 0.0);
    assert!(report.window_s >= 3.0);
    assert_eq!(report.join_to_first_video_ms.count, 4);
    assert!(report.join_to_first_video_ms.p50 > 0.0);
    assert!(report.join_to_first_video_ms.p99 >= report.join_to_first_video_ms.p50);
    // Audio carries send stamps: 2 calls x 2 directions of 50 packets/s for 3 s.
    assert!(
        report.added_latency_ms.count >= 400,
        "latency samples: {:?}",
        report.added_latency_ms
    );
    assert!(report.added_latency_ms.p99 >= report.added_latency_ms.p50);
    assert!(report.added_latency_worst_stream_p99_ms >= report.added_latency_ms.p50);
    assert!(
        report
            .streams
            .iter()
            .filter(|s| s.kind == "audio")
            .all(|s| s.latency_ms.count > 0)
    );
    assert_eq!(report.shape, "320x240@15");
    assert_eq!(report.peers, "webrtc", "the default peers");
    let duet = report.server.as_ref().expect("server measured");
    assert!(duet.cpu_us > 0 && duet.cpu_us_per_packet > 0.0);
    assert!(duet.rss_end_kib > 0);
    assert!(report.tool.cpu_us > 0);
    assert!(
        lines.lock().map(|l| l.len()).unwrap_or(0) >= 5,
        "progress was reported"
    );

    let json = serde_json::to_value(&report).expect("serializes");
    for key in [
        "streams",
        "total_lost",
        "forwarded_packets_per_s",
        "join_to_first_video_ms",
        "added_latency_ms",
        "shape",
        "server",
        "tool",
    ] {
        assert!(json.get(key).is_some(), "JSON lacks {key}");
    }
    server.stop().await.expect("server stops");
}

/// The same with the cheap peers (`--peers light`): media flows both ways on every stream,
/// nothing is lost, audio carries its latency stamps, and the report says which peers ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_calls_of_light_peers_lose_nothing() {
    let server = TestServer::start().await.expect("server");
    let mut cfg = LoadConfig::new(&server.url(""), API_KEY);
    cfg.peers = load::PeerKind::Light;
    cfg.calls = 2;
    cfg.duration = Duration::from_secs(3);
    cfg.ramp_up = Duration::from_millis(500);

    let report = load::run(&cfg, |line| eprintln!("[load] {line}"))
        .await
        .expect("load run");
    eprintln!("{}", report.summary());

    assert_eq!(report.peers, "light");
    assert_eq!(report.streams.len(), 8);
    for s in &report.streams {
        assert!(
            s.sent > 0 && s.received > 0 && s.received_in_window > 0,
            "stream delivered nothing: {s:?}"
        );
    }
    assert_eq!(report.total_lost, 0, "lost packets: {:#?}", report.streams);
    assert_eq!(report.join_to_first_video_ms.count, 4);
    assert!(
        report.added_latency_ms.count >= 400,
        "latency samples: {:?}",
        report.added_latency_ms
    );
    assert!(
        report
            .streams
            .iter()
            .filter(|s| s.kind == "audio")
            .all(|s| s.latency_ms.count > 0)
    );
    // 15 fps video in several packets a frame, 50 audio packets a second.
    let camera: u64 = report
        .streams
        .iter()
        .filter(|s| s.kind == "camera")
        .map(|s| s.sent)
        .sum();
    assert!(camera >= 4 * 3 * 15, "camera packets sent: {camera}");
    server.stop().await.expect("server stops");
}
