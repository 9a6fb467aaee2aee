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
//! cap by 8 % until it no longer binds. The delay-based half comes from the
//! receiver itself: a browser that gets media without transport-cc runs
//! its own receive-side estimate and sends it as REMB; once the downlink
//! queues or loses packets that estimate joins the cap, so the cap goes
//! straight to what the link carries. Browsers honour REMB as an upper
//! bound alongside their own estimate. Below the floor, video to that
//! receiver pauses altogether ([`video_gate`]).

use std::time::{Duration, Instant};

pub mod loss;
pub mod uplink;
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

/// A cap the downlink itself imposes (loss, or the receiver's estimate)
/// at or below this makes the link "slow" for the person on it: their view
/// of the other person is small and soft (`duet_signaling::quality`).
/// Good video at the sizes a call page shows wants 500 kbit/s or more;
/// under 300 even a 360p picture looks poor.
pub const SLOW_LINK_BPS: u64 = 300_000;

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

/// A receiver's own estimate of its downlink (its REMB) is trusted this
/// long; browsers send one every second or so, and sooner when it drops.
pub const RECEIVER_ESTIMATE_TTL: Duration = Duration::from_secs(3);

/// How long the receiver's estimate keeps binding after the last sign of
/// trouble on the downlink.
pub const RECEIVER_HOLD: Duration = Duration::from_secs(10);

/// Smoothed round trip above its baseline from which a receiver's
/// downlink counts as queueing: well above what jitter adds once smoothed
/// (±30 ms a leg in the `rtt-*` test scenarios), well below the 200 ms a
/// home router's buffer holds.
pub const QUEUE_BUILDING_MS: f64 = 60.0;

/// Whether a receiver's downlink is building a queue, from the round trips
/// its receiver reports give (RFC 3550 LSR/DLSR): the smoothed round trip
/// against the lowest seen, which creeps up so a path that got longer (a
/// new network) becomes the new baseline within half a minute or so.
#[derive(Debug, Clone, Default)]
pub struct QueueDelay {
    smoothed_ms: Option<f64>,
    base_ms: Option<f64>,
}

impl QueueDelay {
    /// One round trip from a receiver report.
    pub fn observe(&mut self, rtt_s: f64) {
        if !rtt_s.is_finite() || rtt_s < 0.0 {
            return;
        }
        let ms = rtt_s * 1000.0;
        let smoothed = self.smoothed_ms.map_or(ms, |p| p + 0.3 * (ms - p));
        self.smoothed_ms = Some(smoothed);
        self.base_ms = Some(match self.base_ms {
            Some(b) if b <= smoothed => b + 0.01 * (smoothed - b),
            _ => smoothed,
        });
    }

    /// Queueing delay now: the smoothed round trip above the baseline.
    pub fn queueing_ms(&self) -> f64 {
        match (self.smoothed_ms, self.base_ms) {
            (Some(s), Some(b)) => s - b,
            _ => 0.0,
        }
    }

    pub fn building(&self) -> bool {
        self.queueing_ms() > QUEUE_BUILDING_MS
    }
}

/// The cap Duet currently asks one sender's stream to respect.
#[derive(Debug, Clone, Default)]
pub struct DownlinkCap {
    /// The loss-driven cap.
    cap_bps: Option<u64>,
    /// The receiver's latest estimate of what its downlink carries, when
    /// it came, and whether its downlink was queueing then.
    receiver_bps: Option<(u64, Instant, bool)>,
    /// The receiver's estimate binds until then: trouble on the downlink
    /// started it, and each sign of trouble since keeps it a while longer.
    receiver_binds_until: Option<Instant>,
    /// What was last sent (the lower of the loss cap and the receiver's
    /// own request), and when.
    sent_bps: Option<u64>,
    last_sent: Option<Instant>,
    /// The part of the last cap the downlink itself imposed (loss, or the
    /// receiver's estimate while it binds): what the link carries, as far
    /// as Duet can tell, unlike a receiver's own low-bandwidth request.
    link_bps: Option<u64>,
}

impl DownlinkCap {
    pub fn cap_bps(&self) -> Option<u64> {
        self.cap_bps
    }

    /// Whether the downlink holds this stream at or below [`SLOW_LINK_BPS`].
    pub fn slow(&self) -> bool {
        self.link_bps.is_some_and(|bps| bps <= SLOW_LINK_BPS)
    }

    /// Whether loss, or the receiver's own estimate, has pushed the cap
    /// down to [`MIN_CAP_BPS`].
    pub fn at_floor(&self) -> bool {
        self.cap_bps.is_some_and(|c| c <= MIN_CAP_BPS)
            || (self.cap_bps.is_some() && self.sent_bps.is_some_and(|c| c <= MIN_CAP_BPS))
    }

    /// The receiver's browser estimated its downlink (REMB, from the delay
    /// of what Duet forwards it: it sees a queue build before packets are
    /// lost). Relayed to the sender by the next [`DownlinkCap::on_report`]
    /// while the downlink queues or loss holds the cap.
    /// `queueing`: the receiver's round trips show its downlink queueing
    /// ([`QueueDelay`]).
    pub fn on_receiver_estimate(&mut self, now: Instant, bps: u64, queueing: bool) {
        self.receiver_bps = Some((bps, now, queueing));
    }

    /// The receiver's estimate when it binds and is fresh, never below the
    /// floor (below it, pausing video is the answer, not a lower cap).
    ///
    /// It starts to bind only below what the sender sends and while the
    /// downlink shows trouble (its round trips queueing, or loss holding
    /// the cap), and keeps binding [`RECEIVER_HOLD`] after the last of it.
    /// Chromium estimates from the arrival times of what Duet forwards,
    /// whose spacing the sender's pacer and Duet's own scheduling also
    /// shape, and on a clean link it reads that jitter as congestion now
    /// and then, each time cutting 15 % that it wins back at 8 % a second:
    /// trusted alone it talked the sender down to the floor on a clean
    /// loopback. On a narrow downlink the queue shows in the round trip
    /// before packets drop, and the estimate is then the best guess of
    /// what the link carries, so the cap goes there at once instead of
    /// halving towards it while audio is lost with the video.
    fn receiver_cap(&mut self, now: Instant, incoming_bps: u64) -> Option<u64> {
        let (bps, at, queueing) = self.receiver_bps?;
        if now.saturating_duration_since(at) > RECEIVER_ESTIMATE_TTL {
            self.receiver_bps = None;
            return None;
        }
        let trouble = queueing || self.cap_bps.is_some();
        if trouble && bps < incoming_bps {
            self.receiver_binds_until = Some(now + RECEIVER_HOLD);
        }
        // Held for a while after the trouble: a sender let go the moment
        // the queue drains ramps straight back into it.
        let binds = self.receiver_binds_until.is_some_and(|t| now < t);
        binds.then_some(bps.max(MIN_CAP_BPS))
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
    /// upstream now, if any (a changed cap, or a refresh of a binding one):
    /// the lowest of the loss cap, the request and the receiver's own
    /// estimate while loss holds the cap.
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
        let receiver = self.receiver_cap(now, incoming_bps);
        self.link_bps = [self.cap_bps, receiver].into_iter().flatten().min();
        let effective = [self.link_bps, requested].into_iter().flatten().min();
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
