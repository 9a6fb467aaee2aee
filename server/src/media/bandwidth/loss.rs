//! How much of what a receiver misses its own downlink lost.
//!
//! A receiver report counts the packets missing on *both* legs: what never
//! reached Duet is missing downstream too (forwarded sequence numbers keep
//! the sender's gaps). Capping the sender for its own uplink's loss would
//! double-count it (the sender's congestion control already sees that leg
//! through transport-cc): at 5 % random loss on each leg the receiver
//! reports ~10 %, enough to cut the sender to the floor for loss its
//! estimator rightly tolerates. So Duet remembers which sequence numbers it
//! actually sent on each outbound stream ([`SentLog`]), measures the
//! receiver's loss over windows of a second or more from the report's
//! cumulative counters ([`LossWindow`]; one report alone may cover a handful
//! of packets and say 50 % on a link that loses 5 %), and counts as the
//! downlink's loss only packets it sent that did not arrive
//! ([`downlink_loss`]). Sequence ranges, not time: a window and its count of
//! sent packets cover exactly the same packets.

use std::time::{Duration, Instant};

/// A loss window closes after at least this long…
pub const WINDOW: Duration = Duration::from_secs(1);
/// …and at least this many expected packets…
pub const MIN_PACKETS: u32 = 20;
/// …or as soon as it spans this many, so [`SentLog`] still covers it.
pub const MAX_PACKETS: u32 = 512;
/// Sequence numbers a [`SentLog`] remembers (a power of two).
const LOG_BITS: u64 = 1024;

/// Which sequence numbers of one outbound stream Duet sent, for the last
/// [`LOG_BITS`] of them. Per packet: a bit set, no allocation (128 bytes).
#[derive(Debug, Clone)]
pub struct SentLog {
    bits: [u64; (LOG_BITS / 64) as usize],
    /// Extended highest sequence number sent.
    highest: Option<u64>,
}

impl Default for SentLog {
    fn default() -> Self {
        SentLog {
            bits: [0; (LOG_BITS / 64) as usize],
            highest: None,
        }
    }
}

impl SentLog {
    fn bit(&mut self, ext: u64, on: bool) {
        let i = (ext % LOG_BITS) as usize;
        let (word, mask) = (i / 64, 1u64 << (i % 64));
        if on {
            self.bits[word] |= mask;
        } else {
            self.bits[word] &= !mask;
        }
    }

    fn is_set(&self, ext: u64) -> bool {
        let i = (ext % LOG_BITS) as usize;
        self.bits[i / 64] & (1u64 << (i % 64)) != 0
    }

    /// Duet sent the packet with sequence number `seq` (a resend counts once).
    pub fn sent(&mut self, seq: u16) {
        let ext = match self.highest {
            None => {
                // Far from zero, so wrapping backwards never underflows.
                let ext = (1u64 << 32) + u64::from(seq);
                self.highest = Some(ext);
                ext
            }
            Some(h) => {
                let delta = i64::from(seq.wrapping_sub(h as u16) as i16);
                let ext = h.wrapping_add_signed(delta);
                if delta > 0 {
                    // Forget what the ring held for the numbers skipped.
                    for skipped in (h + 1)..ext.min(h + LOG_BITS + 1) {
                        self.bit(skipped, false);
                    }
                    self.highest = Some(ext);
                } else if h - ext >= LOG_BITS {
                    return; // older than the log remembers
                }
                ext
            }
        };
        self.bit(ext, true);
    }

    /// How many of the sequence numbers in `(from, to]` Duet sent (low 16
    /// bits as a receiver report gives them, `to` at most one cycle behind
    /// the highest sent); `None` when the log no longer covers the range.
    pub fn count(&self, from: u32, to: u32) -> Option<u32> {
        let h = self.highest?;
        let len = u64::from(to.wrapping_sub(from));
        let behind = u64::from((h as u16).wrapping_sub(to as u16));
        let end = h.checked_sub(behind)?;
        if len == 0 || len > LOG_BITS || h - (end - len + 1) >= LOG_BITS {
            return None;
        }
        Some(((end - len + 1)..=end).filter(|&e| self.is_set(e)).count() as u32)
    }
}

/// What a receiver reported over one window: sequence numbers `(from, to]`
/// expected, and how many of them it lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLoss {
    pub from: u32,
    pub to: u32,
    pub lost: u32,
}

impl WindowLoss {
    pub fn expected(&self) -> u32 {
        self.to.wrapping_sub(self.from)
    }
}

/// The receiver's reports on one forwarded stream, cut into windows, from
/// the report blocks' cumulative counters (extended highest sequence
/// number, cumulative packets lost).
#[derive(Debug, Clone, Default)]
pub struct LossWindow {
    start: Option<(Instant, u32, u32)>,
}

impl LossWindow {
    /// One report block; the window it closes, if it closes one.
    pub fn observe(&mut self, now: Instant, highest: u32, total_lost: u32) -> Option<WindowLoss> {
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
        let long_enough = now.saturating_duration_since(at) >= WINDOW && expected >= MIN_PACKETS;
        if !long_enough && expected < MAX_PACKETS {
            return None;
        }
        self.start = Some((now, highest, total_lost));
        Some(WindowLoss {
            from: h0,
            to: highest,
            // Cumulative loss may go down (duplicates, late packets).
            lost: total_lost.saturating_sub(l0),
        })
    }
}

/// The downlink's own loss over a window: of the packets Duet sent in it
/// (`sent`), those the receiver did not get. The receiver got
/// `expected − lost`; the rest of what it expected never reached Duet.
pub fn downlink_loss(w: WindowLoss, sent: u32) -> f64 {
    if sent == 0 {
        return 0.0;
    }
    let received = w.expected().saturating_sub(w.lost);
    f64::from(sent.saturating_sub(received)) / f64::from(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_counts_what_was_sent_in_a_range() {
        let mut log = SentLog::default();
        // 100 numbers across a wrap, every tenth never sent (lost upstream).
        for i in 0u16..100 {
            if i % 10 != 3 {
                log.sent(65_500u16.wrapping_add(i));
            }
        }
        let (from, to) = (65_499u32, 65_500u32 + 99);
        assert_eq!(log.count(from, to), Some(90));
        // A late resend fills its gap; sending twice counts once.
        log.sent(65_503);
        log.sent(65_503);
        assert_eq!(log.count(from, to), Some(91));
        // Sub-ranges, and ranges the log no longer covers.
        assert_eq!(log.count(65_499, 65_509), Some(10));
        for i in 0u16..2000 {
            log.sent(100u16.wrapping_add(i));
        }
        assert_eq!(log.count(from, to), None, "forgotten");
        assert_eq!(log.count(2099 - 500, 2099), Some(500));
        assert_eq!(SentLog::default().count(1, 5), None);
    }

    #[test]
    fn a_window_spans_a_second_and_enough_packets() {
        let mut w = LossWindow::default();
        let t = Instant::now();
        assert_eq!(w.observe(t, 1000, 10), None, "opens");
        // A report 100 ms later with 3 of 6 lost does not speak alone.
        assert_eq!(w.observe(t + Duration::from_millis(100), 1006, 13), None);
        let closed = w.observe(t + WINDOW, 1100, 15).expect("closes");
        assert_eq!(
            closed,
            WindowLoss {
                from: 1000,
                to: 1100,
                lost: 5
            }
        );
        // Too few packets in a long quiet stretch: not yet; many at once: now.
        assert_eq!(w.observe(t + WINDOW * 3, 1105, 15), None);
        let big = w
            .observe(t + WINDOW * 3, 1100 + MAX_PACKETS, 15)
            .expect("closes");
        assert_eq!(big.expected(), MAX_PACKETS);
        // Cumulative loss going down is no loss; a restarted sequence opens
        // a new window.
        let late = w
            .observe(t + WINDOW * 5, 1100 + MAX_PACKETS + 30, 14)
            .expect("closes");
        assert_eq!(late.lost, 0);
        assert_eq!(w.observe(t + WINDOW * 6, 7, 0), None);
    }

    #[test]
    fn only_what_duet_sent_and_was_lost_is_the_downlinks() {
        // 100 expected: 5 never reached Duet, 95 sent, the receiver lost 10
        // in all, so 5 of the 95 Duet sent.
        let w = WindowLoss {
            from: 0,
            to: 100,
            lost: 10,
        };
        let down = downlink_loss(w, 95);
        assert!((down - 5.0 / 95.0).abs() < 1e-9, "{down}");
        // The uplink explains it all.
        assert_eq!(
            downlink_loss(
                WindowLoss {
                    from: 0,
                    to: 100,
                    lost: 20
                },
                80
            ),
            0.0
        );
        assert_eq!(downlink_loss(w, 0), 0.0);
    }
}
