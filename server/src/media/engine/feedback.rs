//! RTCP feedback between the two legs of a call: keyframe requests relayed
//! upstream (throttled), and receivers' loss reports turned into bitrate
//! caps for the sender and into pausing and resuming video to a receiver
//! (`bandwidth::video_gate`).

use std::time::Instant;

use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::sender_report::SenderReport;

use super::Peer;
use crate::media::bandwidth::loss::{LossWindow, SentLog, downlink_loss};
use crate::media::forward::Slot;
use crate::media::peer::Outbound;

/// Which of our outbound video slots an RTCP packet asks a keyframe for.
pub(super) fn keyframe_request_slot(
    packet: &dyn rtc::rtcp::Packet,
    outbound: &[Outbound; 3],
) -> Option<Slot> {
    let any = packet.as_any();
    let media_ssrc = if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
        pli.media_ssrc
    } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
        fir.fir.first()?.ssrc
    } else {
        return None;
    };
    [Slot::Camera, Slot::Screen]
        .into_iter()
        .find(|s| outbound[s.index()].ssrc == media_ssrc)
}

/// What one report block says about an outbound stream: its extended
/// highest sequence number and cumulative packets lost.
#[derive(Debug, Clone, Copy)]
pub(super) struct LossReport {
    pub slot: Slot,
    pub highest: u32,
    pub total_lost: u32,
    /// The fraction lost since the receiver's previous report (/256).
    pub fraction_lost: u8,
}

/// Loss that a receiver report states about our outbound streams (video
/// for the caps, audio to judge a downlink while its video is paused).
pub(super) fn collect_loss(
    packet: &dyn rtc::rtcp::Packet,
    outbound: &[Outbound; 3],
    out: &mut Vec<LossReport>,
) {
    let any = packet.as_any();
    let reports = if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
        &rr.reports
    } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
        &sr.reports
    } else {
        return;
    };
    for report in reports {
        if let Some(slot) = Slot::ALL
            .into_iter()
            .find(|s| outbound[s.index()].ssrc == report.ssrc)
        {
            out.push(LossReport {
                slot,
                highest: report.last_sequence_number,
                total_lost: report.total_lost,
                fraction_lost: report.fraction_lost,
            });
        }
    }
}

/// A receiver's own estimate of its downlink (REMB) about a video stream
/// we send it: `(slot, bits per second)`.
pub(super) fn collect_estimate(
    packet: &dyn rtc::rtcp::Packet,
    outbound: &[Outbound; 3],
    out: &mut Vec<(Slot, u64)>,
) {
    let Some(remb) = packet
        .as_any()
        .downcast_ref::<ReceiverEstimatedMaximumBitrate>()
    else {
        return;
    };
    if !remb.bitrate.is_finite() || remb.bitrate <= 0.0 {
        return;
    }
    // Saturating float-to-int: a REMB mantissa and exponent can say more
    // than any link carries.
    let bps = remb.bitrate as u64;
    for slot in [Slot::Camera, Slot::Screen] {
        if remb.ssrcs.contains(&outbound[slot.index()].ssrc) {
            out.push((slot, bps));
        }
    }
}

/// The downlink's loss over the window `report` closes, if it closes one:
/// `sender`'s window for the slot (it sends what the reporting receiver
/// gets), counted among the packets Duet sent the receiver (`sent`). A
/// window the log no longer covers decides nothing.
pub(super) fn window_loss(
    now: Instant,
    sender: &mut Peer,
    report: LossReport,
    sent: &SentLog,
) -> Option<f64> {
    sender.loss_windows[report.slot.index()]
        .observe(now, report.highest, report.total_lost)
        .and_then(|w| sent.count(w.from, w.to).map(|n| downlink_loss(w, n)))
}

/// Feeds a video stream's downlink loss (when a window closed) into
/// `peer`'s cap for its inbound `slot` and sends a REMB upstream when the
/// cap says so. `low_bandwidth`: the receiver asked for low-bandwidth mode.
pub(super) fn cap_bitrate(
    now: Instant,
    peer: &mut Peer,
    slot: Slot,
    downlink_loss: Option<f64>,
    low_bandwidth: bool,
) -> bool {
    let i = slot.index();
    let Some(inbound) = &peer.inbound[i] else {
        return false;
    };
    let rate = peer.meters[i].rate_bps(now);
    let requested = low_bandwidth.then_some(crate::media::bandwidth::LOW_BANDWIDTH_BPS);
    let Some(cap) = peer.caps[i].on_report(now, downlink_loss, rate, requested) else {
        return false;
    };
    // Once a second per capped stream at most: a report's pace, not a packet's.
    tracing::debug!(slot = ?slot, cap_bps = cap, downlink_loss = ?downlink_loss, "bitrate cap sent upstream");
    let remb = ReceiverEstimatedMaximumBitrate {
        sender_ssrc: 0,
        bitrate: cap as f32,
        ssrcs: vec![inbound.ssrc],
    };
    let receiver = inbound.receiver;
    peer.pc
        .rtp_receiver(receiver)
        .map(|mut r| r.write_rtcp(now, vec![Box::new(remb)]).is_ok())
        .unwrap_or(false)
}

/// Video to `receiver` resumes after a pause: its outbound video streams
/// carry on without a gap, and each video stream `sender` sends starts
/// again from the floor cap with a fresh loss window and a keyframe, so the
/// picture comes back at once and at a rate the link just proved it has.
/// True when a keyframe request went upstream.
pub(super) fn resume_video(now: Instant, receiver: &mut Peer, sender: &mut Peer) -> bool {
    let mut asked = false;
    for slot in [Slot::Camera, Slot::Screen] {
        let i = slot.index();
        receiver.continuity[i].rebase();
        if sender.inbound[i].is_none() {
            continue;
        }
        sender.loss_windows[i] = LossWindow::default();
        sender.caps[i].restart_at_floor();
        asked |= request_keyframe(now, sender, slot);
    }
    asked
}

/// Sends a PLI upstream for `peer`'s inbound `slot`, throttled.
pub(super) fn request_keyframe(now: Instant, peer: &mut Peer, slot: Slot) -> bool {
    let i = slot.index();
    let Some(inbound) = &peer.inbound[i] else {
        return false;
    };
    if !peer.keyframe[i].allow(now) {
        return false;
    }
    let pli = PictureLossIndication {
        sender_ssrc: 0,
        media_ssrc: inbound.ssrc,
    };
    let receiver = inbound.receiver;
    peer.pc
        .rtp_receiver(receiver)
        .map(|mut r| r.write_rtcp(now, vec![Box::new(pli)]).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbound() -> [Outbound; 3] {
        let out = |ssrc| Outbound {
            sender: Default::default(),
            ssrc,
        };
        [out(1), out(2), out(3)]
    }

    fn remb(bitrate: f32, ssrcs: Vec<u32>) -> ReceiverEstimatedMaximumBitrate {
        ReceiverEstimatedMaximumBitrate {
            sender_ssrc: 9,
            bitrate,
            ssrcs,
        }
    }

    #[test]
    fn a_receiver_estimate_names_our_video_streams_only() {
        let mut out = Vec::new();
        collect_estimate(&remb(250_000.0, vec![2, 3, 1, 77]), &outbound(), &mut out);
        // Camera and screen; not audio (ssrc 1), not a stream we never sent.
        assert_eq!(out, vec![(Slot::Camera, 250_000), (Slot::Screen, 250_000)]);
    }

    #[test]
    fn a_nonsense_estimate_is_ignored_and_a_huge_one_saturates() {
        let mut out = Vec::new();
        for bad in [f32::NAN, f32::INFINITY, -1.0, 0.0] {
            collect_estimate(&remb(bad, vec![2]), &outbound(), &mut out);
        }
        assert!(out.is_empty(), "{out:?}");
        collect_estimate(&remb(f32::MAX, vec![2]), &outbound(), &mut out);
        assert_eq!(out, vec![(Slot::Camera, u64::MAX)]);
    }
}
