use super::*;

const LOSS_20: u8 = 51;
const LOSS_0: u8 = 0;
const LOSS_5: u8 = 13;

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
        if let Some(c) = cap.on_report(t + Duration::from_millis(i * 100), 128, 1_000_000, None) {
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
    let first = cap.on_report(t, LOSS_20, 1_000_000, None).expect("cap");
    assert_eq!(
        cap.on_report(t + Duration::from_millis(100), LOSS_5, 1_000_000, None),
        None,
        "held, not due"
    );
    assert_eq!(
        cap.on_report(t + REMB_REFRESH, LOSS_5, 1_000_000, None),
        Some(first),
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
        .on_report(t + Duration::from_secs(3), 200, 140_000, low)
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
fn the_uplink_loss_is_told_apart_from_the_downlinks() {
    let mut m = LossMeter::default();
    // 100 packets, every tenth missing, across a sequence wrap.
    for i in 0u16..100 {
        if i % 10 != 3 {
            m.add(65_500u16.wrapping_add(i));
        }
    }
    let up = m.fraction_since_last();
    assert!((up - 0.10).abs() < 0.011, "{up}");
    // Nothing since: nothing lost; a late retransmission is not a loss.
    assert_eq!(m.fraction_since_last(), 0.0);
    m.add(65_503);
    assert_eq!(m.fraction_since_last(), 0.0);
    // Reordered and duplicated packets never count as loss.
    let mut r = LossMeter::default();
    for s in [1u16, 3, 2, 4, 4, 5] {
        r.add(s);
    }
    assert_eq!(r.fraction_since_last(), 0.0);

    // 5 % lost on each leg: the receiver reports ~9.75 %; the downlink's
    // own share is 5 %, under the cap's 10 % threshold.
    let total = (0.0975f64 * 256.0).round() as u8;
    let down = downlink_fraction(total, 0.05);
    assert!((12..=14).contains(&down), "{down}");
    assert_eq!(downlink_fraction(total, 0.0), total);
    assert_eq!(downlink_fraction(10, 0.2), 0, "the uplink explains it all");
    assert_eq!(downlink_fraction(255, f64::NAN), 255);
}
