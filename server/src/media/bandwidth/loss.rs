//! How much of what a receiver misses its own downlink lost.
//!
//! A receiver report counts the packets missing on *both* legs: what never
//! reached Duet is missing downstream too. Capping the sender for its own
//! uplink's loss would double-count it (the sender's congestion control
//! already sees that leg through transport-cc): at 5 % random loss on each
//! leg the receiver reports ~10 %, enough to cut the sender to the floor for
//! loss its estimator rightly tolerates. So Duet counts what reaches it of
//! each inbound stream ([`LossMeter`]), measures the receiver's loss over
//! windows of a second or more from the report's cumulative counters
//! ([`LossWindow`]; one report alone may cover a handful of packets and say
//! 50 % on a link that loses 5 %), and keeps the downlink's share
//! ([`downlink_loss`]).

use std::time::{Duration, Instant};

/// A loss window closes after at least this long…
pub const WINDOW: Duration = Duration::from_secs(1);
/// …and at least this many expected packets.
pub const MIN_PACKETS: u32 = 20;

/// Loss on one inbound stream as Duet receives it (the sender's uplink),
/// from sequence numbers, between two reads. Per packet: arithmetic only.
#[derive(Debug, Clone, Default)]
pub struct LossMeter {
    /// Extended highest sequence number seen.
    highest: Option<u64>,
    received: u64,
    at_read: (u64, u64),
}

impl LossMeter {
    /// One packet with RTP sequence number `seq` arrived (a retransmission
    /// counts: it was recovered).
    pub fn add(&mut self, seq: u16) {
        self.received += 1;
        match self.highest {
            None => {
                self.highest = Some(u64::from(seq));
                // The first packet counts as expected and received.
                self.at_read = (u64::from(seq).saturating_sub(1), 0);
            }
            Some(h) => {
                let delta = seq.wrapping_sub(h as u16) as i16;
                if delta > 0 {
                    self.highest = Some(h + delta as u64);
                }
            }
        }
    }

    /// Fraction of packets lost since the previous read (0 when nothing was
    /// expected, or duplicates outnumber the gaps).
    pub fn fraction_since_last(&mut self) -> f64 {
        let Some(h) = self.highest else {
            return 0.0;
        };
        let expected = h.saturating_sub(self.at_read.0);
        let received = self.received.saturating_sub(self.at_read.1);
        self.at_read = (h, self.received);
        if expected == 0 {
            return 0.0;
        }
        (expected.saturating_sub(received) as f64 / expected as f64).clamp(0.0, 1.0)
    }
}

/// The receiver's loss on one forwarded stream over a window, from the
/// report blocks' cumulative counters (extended highest sequence number,
/// cumulative packets lost).
#[derive(Debug, Clone, Default)]
pub struct LossWindow {
    start: Option<(Instant, u32, u32)>,
}

impl LossWindow {
    /// One report block; the window's loss (0–1) when this report closes it.
    pub fn observe(&mut self, now: Instant, highest: u32, total_lost: u32) -> Option<f64> {
        let Some((at, h0, l0)) = self.start else {
            self.start = Some((now, highest, total_lost));
            return None;
        };
        let expected = highest.wrapping_sub(h0);
        // A sender that restarted its sequence (a new connection) starts a
        // new window rather than a huge or negative one.
        if expected > 1 << 20 {
            self.start = Some((now, highest, total_lost));
            return None;
        }
        if now.saturating_duration_since(at) < WINDOW || expected < MIN_PACKETS {
            return None;
        }
        self.start = Some((now, highest, total_lost));
        // Cumulative loss may go down (duplicates, late packets): no loss.
        let lost = total_lost.saturating_sub(l0);
        Some((f64::from(lost) / f64::from(expected)).clamp(0.0, 1.0))
    }
}

/// The downlink's own loss: the receiver's `total` over both legs, less
/// what was already lost on the uplink (`upstream`), as independent losses
/// compose: `1 − total = (1 − up)(1 − down)`.
pub fn downlink_loss(total: f64, upstream: f64) -> f64 {
    let clean = |v: f64, max: f64| {
        if v.is_finite() {
            v.clamp(0.0, max)
        } else {
            0.0
        }
    };
    let total = clean(total, 1.0);
    let up = clean(upstream, 0.99);
    (1.0 - (1.0 - total) / (1.0 - up)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uplink_loss_is_counted_from_sequence_numbers() {
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
    }

    #[test]
    fn a_window_spans_a_second_and_enough_packets() {
        let mut w = LossWindow::default();
        let t = Instant::now();
        assert_eq!(w.observe(t, 1000, 10), None, "opens");
        // A report 100 ms later with 3 of 6 lost does not speak alone.
        assert_eq!(w.observe(t + Duration::from_millis(100), 1006, 13), None);
        // A second later, 5 of 100 lost.
        let loss = w.observe(t + WINDOW, 1100, 15).expect("closes");
        assert!((loss - 0.05).abs() < 1e-9, "{loss}");
        // Too few packets in a long quiet stretch: not yet.
        assert_eq!(w.observe(t + WINDOW * 3, 1105, 15), None);
        // Cumulative loss going down (late packets) is no loss; a restarted
        // sequence opens a new window.
        let loss = w.observe(t + WINDOW * 4, 1130, 14).expect("closes");
        assert_eq!(loss, 0.0);
        assert_eq!(w.observe(t + WINDOW * 5, 7, 0), None);
    }

    #[test]
    fn the_downlinks_share_is_what_the_uplink_does_not_explain() {
        // 5 % on each leg: the receiver sees ~9.75 %; the downlink's 5 %.
        let down = downlink_loss(0.0975, 0.05);
        assert!((down - 0.05).abs() < 1e-3, "{down}");
        assert!((downlink_loss(0.2, 0.0) - 0.2).abs() < 1e-12);
        assert_eq!(downlink_loss(0.04, 0.2), 0.0, "the uplink explains it all");
        assert_eq!(downlink_loss(f64::NAN, 0.1), 0.0);
        assert_eq!(downlink_loss(1.0, f64::INFINITY), 1.0);
    }
}
