//! Counts of the RTCP a test peer receives, by type and by the local sender it is about.
//!
//! What counts as one, per type:
//!
//! * `receiver_reports` — one per *report block*, whether it came in a receiver report (PT 201)
//!   or a sender report (PT 200); attributed by the block's SSRC, whose fraction lost is kept
//!   (`last_fraction_lost`, `max_fraction_lost`).
//! * `twcc` — one per transport-wide congestion control feedback (RTPFB FMT 15). It covers every
//!   stream on the transport, so it only ever counts in the total.
//! * `remb` — one per REMB (PSFB FMT 15); in each kind whose SSRC it lists.
//! * `nacks` — one per generic NACK (RTPFB FMT 1), attributed by its media SSRC;
//!   `nacked_seqs` adds up the sequence numbers they ask for.
//! * `plis` — one per PLI (PSFB FMT 1), attributed by its media SSRC.
//! * `firs` — one per FIR (PSFB FMT 4); in each kind one of its entries names.
//!
//! Compound packets are taken apart first. Feedback whose SSRC is not one of ours counts in
//! the total only.

use rtc::rtcp;
use rtc::rtcp::compound_packet::CompoundPacket;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;

use crate::stats::{MediaKind, PerKind};

/// How many RTCP packets of each type arrived (see the module docs for what counts as one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtcpCounts {
    /// Report blocks, from receiver reports and sender reports.
    pub receiver_reports: u64,
    /// The fraction lost (/256) the latest report block stated, and the
    /// highest any stated.
    pub last_fraction_lost: u8,
    pub max_fraction_lost: u8,
    /// Transport-wide congestion control feedback (total only).
    pub twcc: u64,
    /// Receiver estimated maximum bitrate.
    pub remb: u64,
    /// The bitrate (bit/s) the latest REMB stated; 0 before any.
    pub last_remb_bps: u64,
    /// Generic NACKs.
    pub nacks: u64,
    /// Sequence numbers asked for by those NACKs.
    pub nacked_seqs: u64,
    /// Picture loss indications.
    pub plis: u64,
    /// Full intra requests.
    pub firs: u64,
}

/// RTCP received from the remote, per kind of our sender it is about, and in total.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtcpStats {
    /// Feedback about our sender of each kind.
    pub by_kind: PerKind<RtcpCounts>,
    /// All feedback, whatever (or whoever) it is about.
    pub total: RtcpCounts,
    /// Individual RTCP packets of any type (compound packets taken apart).
    pub packets: u64,
}

impl RtcpStats {
    /// Feedback about our sender of `kind`.
    pub fn get(&self, kind: MediaKind) -> &RtcpCounts {
        self.by_kind.get(kind)
    }

    /// Records one inbound RTCP packet. `kind_of` maps an SSRC to the kind of our sender using
    /// it (`None` for anyone else's).
    pub fn record(
        &mut self,
        packet: &dyn rtcp::Packet,
        kind_of: &dyn Fn(u32) -> Option<MediaKind>,
    ) {
        let any = packet.as_any();
        if let Some(compound) = any.downcast_ref::<CompoundPacket>() {
            for inner in &compound.0 {
                self.record(inner.as_ref(), kind_of);
            }
            return;
        }
        self.packets += 1;
        if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
            for block in &rr.reports {
                self.report_block(block, kind_of);
            }
        } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
            for block in &sr.reports {
                self.report_block(block, kind_of);
            }
        } else if any.is::<TransportLayerCc>() {
            self.bump([None], |c| c.twcc += 1);
        } else if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
            let bps = remb.bitrate.max(0.0) as u64;
            self.bump(remb.ssrcs.iter().map(|s| kind_of(*s)), |c| {
                c.remb += 1;
                c.last_remb_bps = bps;
            });
        } else if let Some(nack) = any.downcast_ref::<TransportLayerNack>() {
            let seqs: u64 = nack
                .nacks
                .iter()
                .map(|pair| pair.packet_list().len() as u64)
                .sum();
            self.bump([kind_of(nack.media_ssrc)], |c| {
                c.nacks += 1;
                c.nacked_seqs += seqs;
            });
        } else if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
            self.bump([kind_of(pli.media_ssrc)], |c| c.plis += 1);
        } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
            self.bump(fir.fir.iter().map(|e| kind_of(e.ssrc)), |c| c.firs += 1);
        }
    }

    fn report_block(
        &mut self,
        block: &rtcp::reception_report::ReceptionReport,
        kind_of: &dyn Fn(u32) -> Option<MediaKind>,
    ) {
        let fraction = block.fraction_lost;
        self.bump([kind_of(block.ssrc)], |c| {
            c.receiver_reports += 1;
            c.last_fraction_lost = fraction;
            c.max_fraction_lost = c.max_fraction_lost.max(fraction);
        });
    }

    /// Applies `add` to the total once and to each distinct kind in `kinds` once.
    fn bump<I, F>(&mut self, kinds: I, add: F)
    where
        I: IntoIterator<Item = Option<MediaKind>>,
        F: Fn(&mut RtcpCounts),
    {
        add(&mut self.total);
        let mut seen = [false; 3];
        for kind in kinds.into_iter().flatten() {
            if !std::mem::replace(&mut seen[kind.index()], true) {
                add(self.by_kind.get_mut(kind));
            }
        }
    }
}

/// Maps our three senders' SSRCs (in [`MediaKind::ALL`] order) to their kinds.
pub fn kind_of_ssrc(ssrcs: &[u32; 3], ssrc: u32) -> Option<MediaKind> {
    MediaKind::ALL
        .into_iter()
        .find(|kind| ssrcs[kind.index()] == ssrc)
}

#[cfg(test)]
mod tests;
