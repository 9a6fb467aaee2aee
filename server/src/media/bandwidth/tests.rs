use super::*;

const LOSS_20: Option<f64> = Some(0.2);
const LOSS_0: Option<f64> = Some(0.0);
const LOSS_5: Option<f64> = Some(0.05);

#[test]
fn no_loss_means_no_cap() {
    let mut cap = DownlinkCap::default();
    let t = Instant::now();
    for i in 0..10 {
        assert_eq!(
            cap.on_report(t + Duration::from_secs(i), LOSS_0, 1_000_000, None),
            None
        );
    }
    assert_eq!(cap.cap_bps(), None);
}

#[test]
fn heavy_loss_cuts_below_the_incoming_rate() {
    let mut cap = DownlinkCap::default();
    let sent = cap
        .on_report(Instant::now(), LOSS_20, 1_000_000, None)
        .expect("a cap");
    // 20 % loss keeps 90 % of the rate.
    assert!((890_000..=910_000).contains(&sent), "{sent}");
}

#[test]
fn repeated_loss_keeps_cutting_but_not_below_the_floor() {
    let mut cap = DownlinkCap::default();
    let t = Instant::now();
    let mut last = u64::MAX;
    for i in 0..60 {
        if let Some(c) = cap.on_report(
            t + Duration::from_millis(i * 100),
            Some(0.5),
            1_000_000,
            None,
        ) {
            assert!(c <= last);
            last = c;
        }
    }
    assert_eq!(cap.cap_bps(), Some(MIN_CAP_BPS));
}

#[test]
fn moderate_loss_holds_and_refreshes() {
    let mut cap = DownlinkCap::default();
    let t = Instant::now();
    cap.on_report(t, LOSS_20, 1_000_000, None).expect("cap");
    // Moderate loss from then on: once the smoothed loss is under 10 %
    // the cap holds, refreshed once a second, not repeated in between.
    let mut at = t;
    for _ in 0..20 {
        at += REMB_REFRESH;
        cap.on_report(at, LOSS_5, 1_000_000, None);
    }
    let held = cap.cap_bps().expect("a cap");
    assert_eq!(
        cap.on_report(at + Duration::from_millis(100), LOSS_5, 1_000_000, None),
        None,
        "held, not due"
    );
    assert_eq!(
        cap.on_report(at + REMB_REFRESH, LOSS_5, 1_000_000, None),
        Some(held),
        "refreshed"
    );
}

#[test]
fn recovery_raises_the_cap_until_it_lifts() {
    let mut cap = DownlinkCap::default();
    let t = Instant::now();
    cap.on_report(t, LOSS_20, 1_000_000, None).expect("cap");
    let mut lifted = false;
    for i in 1..40 {
        cap.on_report(t + Duration::from_secs(i), LOSS_0, 300_000, None);
        if cap.cap_bps().is_none() {
            lifted = true;
            break;
        }
    }
    assert!(lifted, "the cap lifts once the sender stays well under it");
}

#[test]
fn rate_meter_measures_bits_per_second() {
    let mut m = RateMeter::default();
    let t = Instant::now();
    assert_eq!(m.rate_bps(t), 0);
    for _ in 0..100 {
        m.add(1250);
    }
    assert_eq!(m.rate_bps(t + Duration::from_secs(1)), 1_000_000);
    assert_eq!(
        m.rate_bps(t + Duration::from_millis(1100)),
        1_000_000,
        "too soon: last rate"
    );
}

#[test]
fn a_receiver_in_low_bandwidth_mode_caps_the_sender_and_lifting_it_says_so() {
    let mut cap = DownlinkCap::default();
    let t = Instant::now();
    let low = Some(LOW_BANDWIDTH_BPS);
    assert_eq!(
        cap.on_report(t, LOSS_0, 1_000_000, low),
        Some(LOW_BANDWIDTH_BPS)
    );
    // Refreshed, not repeated on every report.
    assert_eq!(
        cap.on_report(t + Duration::from_millis(300), LOSS_0, 1_000_000, low),
        None
    );
    assert_eq!(
        cap.on_report(t + Duration::from_secs(2), LOSS_0, 1_000_000, low),
        Some(LOW_BANDWIDTH_BPS)
    );
    // Loss below the request does not raise it; heavy loss may go lower.
    let lower = cap
        .on_report(t + Duration::from_secs(3), Some(0.78), 140_000, low)
        .expect("a lower cap");
    assert!(lower < LOW_BANDWIDTH_BPS, "{lower}");
    // Off, and the loss gone: the cap is lifted at once, then silence.
    let mut off = DownlinkCap::default();
    off.on_report(t, LOSS_0, 1_000_000, low);
    assert_eq!(
        off.on_report(t + Duration::from_secs(1), LOSS_0, 1_000_000, None),
        Some(LIFTED_BPS)
    );
    assert_eq!(
        off.on_report(t + Duration::from_secs(3), LOSS_0, 1_000_000, None),
        None
    );
}

#[test]
fn reports_between_windows_only_refresh() {
    let mut cap = DownlinkCap::default();
    let t = Instant::now();
    let first = cap.on_report(t, LOSS_20, 1_000_000, None).expect("cut");
    // No window closed: nothing changes, a binding cap is refreshed.
    assert_eq!(
        cap.on_report(t + Duration::from_millis(300), None, 1_000_000, None),
        None
    );
    assert_eq!(
        cap.on_report(t + REMB_REFRESH, None, 1_000_000, None),
        Some(first)
    );
}

#[test]
fn the_floor_is_known_and_a_resume_starts_from_it() {
    let mut cap = DownlinkCap::default();
    let t = Instant::now();
    assert!(!cap.at_floor());
    cap.on_report(t, Some(0.5), 1_000_000, None);
    assert!(!cap.at_floor(), "one cut is not the floor");
    for i in 1..20 {
        cap.on_report(t + Duration::from_secs(i), Some(0.5), 1_000_000, None);
    }
    assert!(cap.at_floor());
    // Lifted altogether, then video resumes after a pause: the floor
    // again, sent with the very next report.
    let mut lifted = DownlinkCap::default();
    lifted.restart_at_floor();
    assert!(lifted.at_floor());
    assert_eq!(
        lifted.on_report(t, None, 1_000_000, None),
        Some(MIN_CAP_BPS)
    );
    // Sent at once even when the same floor went out a moment ago.
    cap.restart_at_floor();
    assert_eq!(
        cap.on_report(t + Duration::from_millis(19_100), None, 1_000_000, None),
        Some(MIN_CAP_BPS)
    );
}

#[test]
fn under_heavy_loss_the_cap_goes_straight_to_the_receiver_estimate() {
    let mut cap = DownlinkCap::default();
    let t = Instant::now();
    cap.on_receiver_estimate(t, 130_000, false);
    // 30 % downlink loss alone would keep 85 % of 450 kbit/s.
    assert_eq!(cap.on_report(t, Some(0.3), 450_000, None), Some(130_000));
    // A lower estimate follows at once; never below the floor.
    let t1 = t + Duration::from_millis(300);
    cap.on_receiver_estimate(t1, 40_000, false);
    assert_eq!(cap.on_report(t1, None, 300_000, None), Some(MIN_CAP_BPS));
    assert!(cap.at_floor());
}

#[test]
fn without_loss_a_receiver_estimate_caps_nothing() {
    // On a clean link Chromium's receive-side estimate of forwarded media
    // dips now and then; it must not talk the sender down.
    let mut cap = DownlinkCap::default();
    let t = Instant::now();
    for i in 0..10 {
        let at = t + Duration::from_millis(i * 600);
        cap.on_receiver_estimate(at, 90_000, false);
        assert_eq!(cap.on_report(at, LOSS_0, 450_000, None), None);
        assert_eq!(cap.on_report(at, LOSS_5, 450_000, None), None);
    }
    assert!(!cap.at_floor());
}

#[test]
fn a_stale_receiver_estimate_no_longer_binds() {
    let mut cap = DownlinkCap::default();
    let t = Instant::now();
    cap.on_receiver_estimate(t, 150_000, false);
    assert_eq!(cap.on_report(t, Some(0.2), 1_000_000, None), Some(150_000));
    // The estimates stop; the loss cap (90 % of 1 Mbit/s) is what is left.
    let late = t + RECEIVER_ESTIMATE_TTL + Duration::from_millis(1);
    let sent = cap
        .on_report(late, None, 1_000_000, None)
        .expect("the loss cap");
    assert!((890_000..=910_000).contains(&sent), "{sent}");
}

#[test]
fn a_queueing_downlink_takes_the_receiver_estimate_before_any_loss() {
    let mut cap = DownlinkCap::default();
    let t = Instant::now();
    cap.on_receiver_estimate(t, 130_000, true);
    assert_eq!(cap.on_report(t, None, 450_000, None), Some(130_000));
    // An estimate above what is sent caps nothing, queueing or not.
    let mut roomy = DownlinkCap::default();
    roomy.on_receiver_estimate(t, 600_000, true);
    assert_eq!(roomy.on_report(t, None, 450_000, None), None);
    // Once the queue drains the estimate keeps binding a while (the sender
    // would ramp straight back into the queue), then lets go.
    let t1 = t + Duration::from_secs(2);
    cap.on_receiver_estimate(t1, 160_000, false);
    assert_eq!(cap.on_report(t1, None, 130_000, None), Some(160_000));
    let t2 = t + RECEIVER_HOLD + Duration::from_millis(1);
    cap.on_receiver_estimate(t2, 170_000, false);
    assert_eq!(cap.on_report(t2, None, 160_000, None), Some(LIFTED_BPS));
}

#[test]
fn queue_delay_sees_a_growing_queue_but_not_jitter() {
    let mut q = QueueDelay::default();
    // 150 ms ± 60 ms of jitter, for a minute of reports: not a queue.
    for i in 0..120 {
        let jitter = if i % 2 == 0 { 0.06 } else { -0.06 };
        q.observe(0.15 + jitter);
        assert!(
            !q.building(),
            "jitter read as a queue at report {i}: {}",
            q.queueing_ms()
        );
    }
    // A queue fills towards 200 ms over a few seconds.
    for step in 1..=10 {
        q.observe(0.15 + 0.02 * f64::from(step));
    }
    assert!(q.building(), "{}", q.queueing_ms());
    // A longer path for good becomes the new baseline.
    for _ in 0..400 {
        q.observe(0.40);
    }
    assert!(!q.building(), "{}", q.queueing_ms());
}

#[test]
fn a_link_is_slow_while_its_own_cap_holds_video_under_good_quality() {
    let t = Instant::now();
    // A queueing downlink whose estimate binds at 200 kbit/s: slow.
    let mut narrow = DownlinkCap::default();
    narrow.on_receiver_estimate(t, 200_000, true);
    narrow.on_report(t, None, 450_000, None);
    assert!(narrow.slow());
    // Let go once the estimate stops binding: not slow any more.
    let later = t + RECEIVER_HOLD + Duration::from_millis(1);
    narrow.on_receiver_estimate(later, 200_000, false);
    narrow.on_report(later, None, 150_000, None);
    assert!(!narrow.slow());
    // A cap from loss that still leaves room for good video is not slow.
    let mut lossy = DownlinkCap::default();
    lossy.on_report(t, LOSS_20, 1_000_000, None);
    assert!(!lossy.slow());
    // The receiver's own low-bandwidth request says nothing of the link.
    let mut asked = DownlinkCap::default();
    assert_eq!(
        asked.on_report(t, LOSS_0, 450_000, Some(LOW_BANDWIDTH_BPS)),
        Some(LOW_BANDWIDTH_BPS)
    );
    assert!(!asked.slow());
    // And a clean link is never slow.
    assert!(!DownlinkCap::default().slow());
}
