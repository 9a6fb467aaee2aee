//! Receiver-driven bitrate caps: how a sender learns about the *other*
//! participant's downlink.
//!
//! Each leg of a call has its own congestion feedback (transport-cc from
//! Duet to the sender), which only describes the sender's uplink. When the
//! receiver's downlink is the bottleneck — a mentee on hotel Wi-Fi — the
//! receiver's RTCP receiver reports show loss on the stream Duet sends it.
//! This turns that loss into a REMB cap sent upstream, following the
//! loss-based half of Google Congestion Control: above 10 % loss cut the
//! rate by half the loss fraction, below 2 % raise the cap by 8 % until it no
//! longer binds. Browsers honour REMB as an upper bound alongside their own
//! estimate.

use std::time::{Duration, Instant};

/// Never cap below this: audio-only quality video is still better than none.
pub const MIN_CAP_BPS: u64 = 100_000;

/// Fraction (of 256) above which the downlink counts as congested.
const HIGH_LOSS: u8 = 26; // ~10 %
/// Fraction (of 256) below which the downlink has room.
const LOW_LOSS: u8 = 5; // ~2 %

/// Resend a binding cap this often, as browsers expire REMB after a while.
pub const REMB_REFRESH: Duration = Duration::from_secs(1);

/// Incoming bitrate of one forwarded stream, measured between reports.
#[derive(Debug, Clone, Default)]
pub struct RateMeter {
    bytes: u64,
    since: Option<Instant>,
    last_bps: u64,
}

impl RateMeter {
    /// Counts one packet's bytes. Called per packet: arithmetic only.
    pub fn add(&mut self, bytes: usize) {
        self.bytes += bytes as u64;
    }

    /// Bits per second since the previous call (or the last known rate if
    /// too little time passed to tell).
    pub fn rate_bps(&mut self, now: Instant) -> u64 {
        let Some(since) = self.since else {
            self.since = Some(now);
            self.bytes = 0;
            return self.last_bps;
        };
        let elapsed = now.saturating_duration_since(since);
        if elapsed >= Duration::from_millis(200) {
            self.last_bps = self.bytes * 8 * 1000 / elapsed.as_millis().max(1) as u64;
            self.bytes = 0;
            self.since = Some(now);
        }
        self.last_bps
    }
}

/// The cap Duet currently asks one sender's stream to respect.
#[derive(Debug, Clone, Default)]
pub struct DownlinkCap {
    cap_bps: Option<u64>,
    last_sent: Option<Instant>,
}

impl DownlinkCap {
    pub fn cap_bps(&self) -> Option<u64> {
        self.cap_bps
    }

    /// Feeds one receiver report about the forwarded stream: `fraction_lost`
    /// as RTCP carries it (of 256), `incoming_bps` the rate the sender is
    /// producing. Returns the cap to send upstream now, if any.
    pub fn on_report(&mut self, now: Instant, fraction_lost: u8, incoming_bps: u64) -> Option<u64> {
        let before = self.cap_bps;
        if fraction_lost > HIGH_LOSS {
            let base = self
                .cap_bps
                .unwrap_or(incoming_bps)
                .min(incoming_bps.max(MIN_CAP_BPS));
            let keep = 1.0 - 0.5 * (f64::from(fraction_lost) / 256.0);
            self.cap_bps = Some(((base as f64 * keep) as u64).max(MIN_CAP_BPS));
        } else if fraction_lost < LOW_LOSS
            && let Some(cap) = self.cap_bps
        {
            let raised = cap + cap / 12 + 1;
            // Once the sender stays well under the cap, it no longer binds.
            self.cap_bps = if incoming_bps > 0 && raised > incoming_bps.saturating_mul(2) {
                None
            } else {
                Some(raised)
            };
        }
        let changed = self.cap_bps != before;
        let stale = self
            .last_sent
            .is_none_or(|t| now.saturating_duration_since(t) >= REMB_REFRESH);
        match self.cap_bps {
            Some(cap) if changed || stale => {
                self.last_sent = Some(now);
                Some(cap)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
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
                cap.on_report(t + Duration::from_secs(i), LOSS_0, 1_000_000),
                None
            );
        }
        assert_eq!(cap.cap_bps(), None);
    }

    #[test]
    fn heavy_loss_cuts_below_the_incoming_rate() {
        let mut cap = DownlinkCap::default();
        let sent = cap
            .on_report(Instant::now(), LOSS_20, 1_000_000)
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
            if let Some(c) = cap.on_report(t + Duration::from_millis(i * 100), 128, 1_000_000) {
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
        let first = cap.on_report(t, LOSS_20, 1_000_000).expect("cap");
        assert_eq!(
            cap.on_report(t + Duration::from_millis(100), LOSS_5, 1_000_000),
            None,
            "held, not due"
        );
        assert_eq!(
            cap.on_report(t + REMB_REFRESH, LOSS_5, 1_000_000),
            Some(first),
            "refreshed"
        );
    }

    #[test]
    fn recovery_raises_the_cap_until_it_lifts() {
        let mut cap = DownlinkCap::default();
        let t = Instant::now();
        cap.on_report(t, LOSS_20, 1_000_000).expect("cap");
        let mut lifted = false;
        for i in 1..40 {
            cap.on_report(t + Duration::from_secs(i), LOSS_0, 300_000);
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
}
