//! RTCP feedback between the two legs of a call: which packets a receiver
//! sent are keyframe requests, loss reports or estimates about which of
//! its slots, and what resuming paused video to it resets. Sending PLI and
//! REMB upstream is the slot's own (`engine::slots`).

use std::time::Instant;

use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::sender_report::SenderReport;

use super::Peer;
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

/// Video to `receiver` resumes after a pause: its outbound video streams
/// carry on without a gap, and each video stream `sender` sends starts
/// again from the floor cap with a fresh loss window and a keyframe, so the
/// picture comes back at once and at a rate the link just proved it has.
/// True when a keyframe request went upstream.
pub(super) fn resume_video(now: Instant, receiver: &mut Peer, sender: &mut Peer) -> bool {
    let mut asked = false;
    for slot in [Slot::Camera, Slot::Screen] {
        let i = slot.index();
        receiver.slots[i].down.continuity.rebase();
        if !sender.slots[i].up.is_open() {
            continue;
        }
        sender.slots[i].up.restart_at_floor();
        asked |= sender.request_keyframe(now, slot);
    }
    asked
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
