use super::*;

#[test]
fn reads_the_live_gauges() {
    let text = "# HELP duet_sessions_active x\n# TYPE duet_sessions_active gauge\n\
                duet_sessions_active 3\nduet_calls_connected 2\n\
                duet_join_failures_total{reason=\"x\"} 1\nduet_recordings_active 0\n";
    let g = gauges(text);
    assert_eq!(g.get("duet_sessions_active"), Some(&3.0));
    assert_eq!(g.get("duet_calls_connected"), Some(&2.0));
    assert_eq!(g.get("duet_recordings_active"), Some(&0.0));
    assert_eq!(g.len(), 3);
}

#[test]
fn slope_of_flat_and_growing_memory() {
    let at = |t: f64, rss: u64| ServerSample {
        t_s: t,
        rss_kib: rss,
        ..Default::default()
    };
    let flat: Vec<_> = (0..10).map(|i| at(i as f64 * 60.0, 1000)).collect();
    assert_eq!(rss_slope_kib_per_min(&flat), 0.0);
    let growing: Vec<_> = (0..10)
        .map(|i| at(i as f64 * 60.0, 1000 + 50 * i))
        .collect();
    assert!((rss_slope_kib_per_min(&growing) - 50.0).abs() < 1e-9);
}
