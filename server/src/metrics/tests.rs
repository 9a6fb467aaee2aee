//! Tests of `metrics`.

use super::*;

#[test]
fn renders_duet_names_with_fixed_labels() {
    let m = Metrics::new(std::env::temp_dir());
    m.join_attempts.inc();
    m.join_failed("session_full");
    m.consent_event("consent");
    m.media.video_packets.inc_by(3);
    m.media.rtt.observe(0.02);
    let text = m.render();
    for line in [
        "duet_join_attempts_total 1",
        "duet_join_failures_total{reason=\"session_full\"} 1",
        "duet_consent_events_total{action=\"consent\"} 1",
        "duet_rtp_packets_forwarded_total{kind=\"video\"} 3",
        "duet_rtp_packets_forwarded_total{kind=\"audio\"} 0",
        "duet_rtp_red_packets_forwarded_total{as=\"red\"} 0",
        "duet_rtp_red_packets_forwarded_total{as=\"opus\"} 0",
        "duet_call_rtt_seconds_count 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let free = text
        .lines()
        .find_map(|l| l.strip_prefix("duet_data_disk_free_bytes "))
        .and_then(|v| v.parse::<u64>().ok())
        .expect("free disk gauge");
    assert!(free > 0);
    assert!(
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .all(|l| l.starts_with("duet_")),
        "every metric is duet_-prefixed:\n{text}"
    );
}

#[test]
fn the_heartbeat_reports_lag_and_a_stopped_loop() {
    use std::time::{Duration, Instant};
    let beat = super::Heartbeat::default();
    let t = Instant::now() + Duration::from_secs(1);
    beat.beat(t);
    let lag = beat.lag(t + Duration::from_secs(6)).expect("running");
    assert!(lag >= Duration::from_millis(5_990) && lag <= Duration::from_millis(6_010));
    beat.stop();
    assert_eq!(beat.lag(t), None);
}

#[test]
fn with_shards_the_heartbeat_answers_for_the_slowest_and_any_stopped() {
    use std::time::{Duration, Instant};
    let parent = super::Heartbeat::default();
    let (a, b) = (parent.child(), parent.child());
    let t = Instant::now() + Duration::from_secs(1);
    a.beat(t + Duration::from_secs(5));
    b.beat(t);
    // b is the slow one: 6 s since its last turn, 1 s since a's.
    let lag = parent.lag(t + Duration::from_secs(6)).expect("running");
    assert!(lag >= Duration::from_millis(5_990) && lag <= Duration::from_millis(6_010));
    b.stop();
    assert_eq!(parent.lag(t + Duration::from_secs(6)), None);
}

#[test]
fn each_shard_has_its_connection_gauge() {
    let metrics = super::Metrics::new(std::env::temp_dir());
    metrics.media.shard_connections(0).set(2);
    metrics.media.shard_connections(1).set(1);
    let text = metrics.render();
    assert!(
        text.contains("duet_media_shard_connections{shard=\"0\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("duet_media_shard_connections{shard=\"1\"} 1"),
        "{text}"
    );
}
