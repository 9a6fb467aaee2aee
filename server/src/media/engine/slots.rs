//! One slot of a connection (audio, camera or screen), both ways: what the
//! participant sends Duet on it ([`Upstream`]) and what Duet sends them on
//! it, the other participant's media ([`Downstream`]). Also what the
//! recorder is handed for each packet, and the payload-type and codec maps
//! between the two participants.

use std::time::Instant;

use duet_signaling::Role;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtp_transceiver::{RTCRtpReceiverId, RTCRtpSenderId};

use super::Peer;
use super::feedback::LossReport;
use crate::media::bandwidth::loss::{LossWindow, SentLog, downlink_loss};
use crate::media::bandwidth::uplink::UplinkLoss;
use crate::media::bandwidth::{DownlinkCap, LOW_BANDWIDTH_BPS, RateMeter};
use crate::media::forward::{KeyframeThrottle, Leg, PayloadMap, Slot, StreamContinuity};
use crate::media::peer::{self, Outbound, Pc};
use crate::media::red;
use crate::recorder::tap::{RecordedPacket, TrackCodec, TrackKind};

/// A participant's track on one slot, once it opened.
pub(super) struct Inbound {
    pub track_id: String,
    pub receiver: RTCRtpReceiverId,
    pub ssrc: u32,
}

/// One slot of a participant's connection.
pub(super) struct StreamSlot {
    pub up: Upstream,
    pub down: Downstream,
}

impl StreamSlot {
    pub(super) fn new(outbound: Outbound) -> StreamSlot {
        StreamSlot {
            up: Upstream::default(),
            down: Downstream {
                outbound,
                continuity: StreamContinuity::default(),
                sent: SentLog::default(),
            },
        }
    }
}

/// What the participant sends Duet on a slot, and what Duet keeps about
/// it for the other participant's sake.
#[derive(Default)]
pub(super) struct Upstream {
    /// The track, once it opened.
    track: Option<Inbound>,
    /// Codec of each payload type, for the recorder.
    codecs: Vec<(u8, TrackCodec)>,
    /// The payload type of redundant audio (RED) on it, if the participant
    /// negotiated it (`media::red`; the audio slot only).
    pub red: Option<u8>,
    /// From its payload types to the other participant's outbound stream's.
    pub pt_map: PayloadMap,
    keyframe: KeyframeThrottle,
    /// The other participant asked for a keyframe before the track opened:
    /// asked upstream once it opens.
    keyframe_pending: bool,
    /// Its bitrate, for the cap.
    meter: RateMeter,
    /// The other participant's loss on it, over windows of a second or more.
    loss_window: LossWindow,
    /// The cap the other participant's downlink puts on it.
    pub cap: DownlinkCap,
    /// What never reached Duet of it.
    pub uplink: UplinkLoss,
}

impl Upstream {
    /// The track opened; true when a keyframe request was waiting for it.
    pub(super) fn open(&mut self, track: Inbound) -> bool {
        self.track = Some(track);
        // The payload maps are rebuilt for it.
        self.pt_map = PayloadMap::default();
        std::mem::take(&mut self.keyframe_pending)
    }

    pub(super) fn is_open(&self) -> bool {
        self.track.is_some()
    }

    pub(super) fn is_track(&self, track_id: &str) -> bool {
        self.track.as_ref().is_some_and(|t| t.track_id == track_id)
    }

    /// Open, but its payload maps not built yet.
    pub(super) fn needs_payload_map(&self) -> bool {
        self.track.is_some() && self.pt_map.is_empty()
    }

    /// One packet of it arrived. Called per packet: arithmetic only.
    pub(super) fn on_packet(&mut self, payload_len: usize, seq: u16) {
        self.meter.add(payload_len);
        self.uplink.on_packet(seq);
    }

    /// Sends a PLI upstream on `pc`, throttled; true when one went.
    pub(super) fn request_keyframe(&mut self, now: Instant, pc: &mut Pc) -> bool {
        let Some(track) = &self.track else {
            return false;
        };
        if !self.keyframe.allow(now) {
            return false;
        }
        let pli = PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc: track.ssrc,
        };
        pc.rtp_receiver(track.receiver)
            .map(|mut r| r.write_rtcp(now, vec![Box::new(pli)]).is_ok())
            .unwrap_or(false)
    }

    /// The other participant wants a keyframe of it: asked upstream now,
    /// or when the track opens if it has not yet (both sides came up at
    /// once). True when a request went now.
    pub(super) fn request_keyframe_or_wait(&mut self, now: Instant, pc: &mut Pc) -> bool {
        if self.request_keyframe(now, pc) {
            return true;
        }
        if self.track.is_none() {
            self.keyframe_pending = true;
        }
        false
    }

    /// Feeds the other participant's downlink loss on it (when a window
    /// closed) into its cap, and sends a REMB upstream on `pc` when the cap
    /// says so. `low_bandwidth`: the receiver asked for low-bandwidth mode.
    pub(super) fn cap_bitrate(
        &mut self,
        now: Instant,
        pc: &mut Pc,
        slot: Slot,
        downlink_loss: Option<f64>,
        low_bandwidth: bool,
    ) -> bool {
        let Some(track) = &self.track else {
            return false;
        };
        let rate = self.meter.rate_bps(now);
        let requested = low_bandwidth.then_some(LOW_BANDWIDTH_BPS);
        let Some(cap) = self.cap.on_report(now, downlink_loss, rate, requested) else {
            return false;
        };
        // Once a second per capped stream at most: a report's pace, not a packet's.
        tracing::debug!(slot = ?slot, cap_bps = cap, downlink_loss = ?downlink_loss, "bitrate cap sent upstream");
        let remb = ReceiverEstimatedMaximumBitrate {
            sender_ssrc: 0,
            bitrate: cap as f32,
            ssrcs: vec![track.ssrc],
        };
        pc.rtp_receiver(track.receiver)
            .map(|mut r| r.write_rtcp(now, vec![Box::new(remb)]).is_ok())
            .unwrap_or(false)
    }

    /// The downlink's loss over the window `report` closes, if it closes
    /// one, counted among the packets Duet sent the reporting receiver
    /// (`sent`). A window the log no longer covers decides nothing.
    pub(super) fn window_loss(
        &mut self,
        now: Instant,
        report: LossReport,
        sent: &SentLog,
    ) -> Option<f64> {
        self.loss_window
            .observe(now, report.highest, report.total_lost)
            .and_then(|w| sent.count(w.from, w.to).map(|n| downlink_loss(w, n)))
    }

    /// Video to the receiver resumes after a pause: a fresh loss window,
    /// and the cap from the floor.
    pub(super) fn restart_at_floor(&mut self) {
        self.loss_window = LossWindow::default();
        self.cap.restart_at_floor();
    }

    /// Rebuilds its codec and payload-type maps toward the other
    /// participant's outbound stream on the same slot.
    fn remap(&mut self, slot: Slot, pc: &mut Pc, dst_pc: &mut Pc, dst_sender: RTCRtpSenderId) {
        let Some(track) = &self.track else {
            return;
        };
        let inbound = peer::receiver_codecs(pc, track.receiver);
        if slot == Slot::Audio {
            self.red = inbound
                .iter()
                .find(|(_, key)| red::is_red(key))
                .map(|(pt, _)| *pt);
        }
        self.codecs = inbound
            .iter()
            .map(|(pt, key)| {
                (
                    *pt,
                    TrackCodec::from_mime(key.split(';').next().unwrap_or("")),
                )
            })
            .collect();
        let outbound = peer::sender_codecs(dst_pc, dst_sender);
        self.pt_map = PayloadMap::build(&inbound, &outbound);
    }

    /// The recorder's view of one of its packets.
    pub(super) fn recorded(
        &self,
        role: Role,
        slot: Slot,
        packet: &rtc::rtp::Packet,
        now: Instant,
    ) -> RecordedPacket {
        recorded(role, slot, &self.codecs, self.red, packet, now)
    }
}

/// What Duet sends the participant on a slot: the other participant's
/// media, whatever connection it comes from.
pub(super) struct Downstream {
    pub outbound: Outbound,
    /// Sequence and timestamp continuity across changes of the other
    /// participant's connection.
    pub continuity: StreamContinuity,
    /// Which sequence numbers Duet sent: the downlink's loss is counted
    /// among those only.
    pub sent: SentLog,
}

impl Downstream {
    /// This stream as the forwarding decision needs it, for media mapped
    /// by `payload_map`.
    pub(super) fn leg<'a>(&'a mut self, connected: bool, payload_map: &'a PayloadMap) -> Leg<'a> {
        Leg {
            connected,
            payload_map,
            continuity: &mut self.continuity,
            ssrc: self.outbound.ssrc,
        }
    }
}

/// The recorder's view of a packet: header fields and a refcounted payload.
/// Redundant audio (RED) is recorded as its primary Opus frame, a slice of
/// the same payload; a RED payload that does not parse is not recorded.
pub(super) fn recorded(
    role: Role,
    slot: Slot,
    codecs: &[(u8, TrackCodec)],
    inbound_red: Option<u8>,
    packet: &rtc::rtp::Packet,
    now: Instant,
) -> RecordedPacket {
    let mut pt = packet.header.payload_type;
    let mut payload = packet.payload.clone();
    if slot == Slot::Audio && inbound_red == Some(pt) {
        match red::unwrap(&packet.payload) {
            Some((inner, primary)) => {
                pt = inner;
                payload = primary;
            }
            // No codec of this slot has payload type 128.
            None => pt = 128,
        }
    }
    let codec = codecs
        .iter()
        .find(|(p, _)| *p == pt)
        .map_or(TrackCodec::Other, |(_, c)| *c);
    RecordedPacket {
        role,
        kind: match slot {
            Slot::Audio => TrackKind::Audio,
            Slot::Camera => TrackKind::Camera,
            Slot::Screen => TrackKind::Screen,
        },
        codec,
        seq: packet.header.sequence_number,
        timestamp: packet.header.timestamp,
        marker: packet.header.marker,
        payload,
        arrival: now,
    }
}

/// Rebuilds `src`'s payload maps toward `dst`'s outbound streams.
pub(super) fn map_slots(src: &mut Peer, dst: &mut Peer) {
    for slot in Slot::ALL {
        let i = slot.index();
        let dst_sender = dst.slots[i].down.outbound.sender;
        src.slots[i]
            .up
            .remap(slot, &mut src.pc, &mut dst.pc, dst_sender);
    }
}

#[cfg(test)]
mod tests;
