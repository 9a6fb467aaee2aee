//! What the media loop reports to `/metrics` beyond plain counters: time to
//! connect, calls with both sides connected, and the loss and round-trip
//! time that receiver reports state.

use std::collections::HashSet;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use duet_signaling::SessionId;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;

use crate::media::LinkQuality;
use crate::metrics::MediaMetrics;

/// Sessions whose two connections are both up, mirrored in a gauge.
#[derive(Default)]
pub(super) struct ConnectedCalls {
    calls: HashSet<SessionId>,
}

impl ConnectedCalls {
    pub(super) fn update(&mut self, metrics: &MediaMetrics, session: SessionId, both_up: bool) {
        // Counted up and down, not set: every shard's engine keeps the
        // same gauge, each for its own sessions.
        if both_up {
            if self.calls.insert(session) {
                metrics.calls_connected.inc();
            }
        } else if self.calls.remove(&session) {
            metrics.calls_connected.dec();
        }
    }
}

/// A connection came up for the first time since its offer at `offered`.
pub(super) fn first_connect(metrics: &MediaMetrics, offered: Instant, now: Instant) {
    metrics
        .time_to_connect
        .observe(now.saturating_duration_since(offered).as_secs_f64());
}

/// Counts NACKs and records loss and round-trip time from one RTCP packet
/// a participant sent about what Duet forwards to it, in the metrics and in
/// that participant's link quality.
pub(super) fn observe_rtcp(
    metrics: &MediaMetrics,
    quality: &mut LinkQuality,
    packet: &dyn rtc::rtcp::Packet,
) -> Option<f64> {
    let any = packet.as_any();
    if any.is::<TransportLayerNack>() {
        metrics.nacks.inc();
        return None;
    }
    let reports = if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
        &rr.reports
    } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
        &sr.reports
    } else {
        return None;
    };
    let now = ntp_middle_32(SystemTime::now());
    let mut last_rtt = None;
    for report in reports {
        let loss = f64::from(report.fraction_lost) / 256.0;
        metrics.loss.observe(loss);
        let rtt = round_trip_s(now, report.last_sender_report, report.delay);
        if let Some(rtt) = rtt {
            metrics.rtt.observe(rtt);
            last_rtt = Some(rtt);
        }
        // The report's loss counts both legs; the downlink's own share
        // comes from the loss windows (`bandwidth::loss`).
        if let Some(rtt) = rtt {
            quality.observe_rtt((rtt * 1000.0) as f32);
        }
    }
    last_rtt
}

/// RFC 3550 section 6.4.1: RTT = arrival - LSR - DLSR, all in the middle 32
/// bits of NTP time (1/65536 s). No report of ours yet (LSR 0), or a result
/// that went negative through clock steps, gives nothing.
pub(super) fn round_trip_s(now_mid32: u32, lsr: u32, dlsr: u32) -> Option<f64> {
    if lsr == 0 {
        return None;
    }
    let rtt = now_mid32.wrapping_sub(lsr).wrapping_sub(dlsr);
    // More than a minute is a wrapped negative value, not a round trip.
    (rtt < 60 << 16).then(|| f64::from(rtt) / 65536.0)
}

/// The middle 32 bits of the NTP timestamp of `t`.
fn ntp_middle_32(t: SystemTime) -> u32 {
    const NTP_UNIX_OFFSET_S: u64 = 2_208_988_800;
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs().wrapping_add(NTP_UNIX_OFFSET_S);
    let frac16 = (u64::from(d.subsec_nanos()) << 16) / 1_000_000_000;
    ((secs << 16) | frac16) as u32
}

#[cfg(test)]
mod tests;
