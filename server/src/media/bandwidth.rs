//! Receiver-driven bitrate caps: how a sender learns about the *other*
//! participant's downlink.
//!
//! Each leg of a call has its own congestion feedback (transport-cc from
//! Duet to the sender), which only describes the sender's uplink. When the
//! receiver's downlink is the bottleneck — a mentee on hotel Wi-Fi — the
//! receiver's RTCP receiver reports show loss on the stream Duet sends it.
//! This turns that loss — measured over windows of a second or more, and
//! only the downlink's share of it ([`loss`]) — into a REMB cap sent
//! upstream, following the loss-based half of Google Congestion Control:
//! above 10 % cut the rate by half the loss fraction, below 2 % raise the
//! cap by 8 % until it no longer binds. Browsers honour REMB as an upper
//! bound alongside their own estimate. Below the floor, video to that
//! receiver pauses altogether ([`video_gate`]).

use std::time::{Duration, Instant};

pub mod loss;
pub mod video_gate;

/// Never cap below this: audio-only quality video is still better than none.
pub const MIN_CAP_BPS: u64 = 100_000;

/// Downlink loss above which the downlink counts as congested.
const HIGH_LOSS: f64 = 0.10;
/// Downlink loss below which the downlink has room.
const LOW_LOSS: f64 = 0.02;

/// Resend a binding cap this often, as browsers expire REMB after a while.
pub const REMB_REFRESH: Duration = Duration::from_secs(1);

/// The cap on each video stream a receiver in low-bandwidth mode gets:
/// low-resolution video, with room left for audio on a poor link.
pub const LOW_BANDWIDTH_BPS: u64 = 150_000;

/// Sent once when a cap is lifted, so the sender need not wait for the
/// last cap to expire: far above any video stream, so no limit at all.
pub const LIFTED_BPS: u64 = 50_000_000;

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
    /// The loss-driven cap.
    cap_bps: Option<u64>,
    /// What was last sent (the lower of the loss cap and the receiver's
    /// own request), and when.
    sent_bps: Option<u64>,
    last_sent: Option<Instant>,
}

impl DownlinkCap {
    pub fn cap_bps(&self) -> Option<u64> {
        self.cap_bps
    }

    /// Whether loss has pushed the cap down to [`MIN_CAP_BPS`].
    pub fn at_floor(&self) -> bool {
        self.cap_bps.is_some_and(|c| c <= MIN_CAP_BPS)
    }

    /// Video to the receiver resumes after a pause: start again from the
    /// floor (raised by clean reports as usual), sent with the next report.
    pub fn restart_at_floor(&mut self) {
        self.cap_bps = Some(MIN_CAP_BPS);
        self.last_sent = None;
    }

    /// Feeds one receiver report about the forwarded stream: `downlink_loss`
    /// (0–1) when a loss window closed with it (see [`loss::LossWindow`]),
    /// `incoming_bps` the rate the sender is producing, `requested` the
    /// receiver's own cap (low-bandwidth mode). Returns the cap to send
    /// upstream now, if any (a changed cap, or a refresh of a binding one).
    pub fn on_report(
        &mut self,
        now: Instant,
        downlink_loss: Option<f64>,
        incoming_bps: u64,
        requested: Option<u64>,
    ) -> Option<u64> {
        let loss = downlink_loss.filter(|l| l.is_finite());
        if let Some(loss) = loss
            && loss > HIGH_LOSS
        {
            let base = self
                .cap_bps
                .unwrap_or(incoming_bps)
                .min(incoming_bps.max(MIN_CAP_BPS));
            let keep = 1.0 - 0.5 * loss.min(1.0);
            self.cap_bps = Some(((base as f64 * keep) as u64).max(MIN_CAP_BPS));
        } else if let Some(loss) = loss
            && loss < LOW_LOSS
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
        let effective = match (self.cap_bps, requested) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let changed = effective != self.sent_bps;
        let stale = self
            .last_sent
            .is_none_or(|t| now.saturating_duration_since(t) >= REMB_REFRESH);
        let send = match effective {
            Some(cap) if changed || stale => Some(cap),
            // Lifted: say so once rather than leave the old cap to expire.
            None if changed => Some(LIFTED_BPS),
            _ => None,
        };
        self.sent_bps = effective;
        if send.is_some() {
            self.last_sent = Some(now);
        }
        send
    }
}

#[cfg(test)]
mod tests;
