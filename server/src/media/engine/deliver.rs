//! Routing what one participant's connection produced ([`Drained`]) to the
//! other participant's: media forwarded to its outbound streams, keyframe
//! requests relayed upstream, estimates and loss reports turned into
//! bitrate caps for the sender and into pausing or resuming video to the
//! receiver (`bandwidth::video_gate`). Also keeps the payload-type maps
//! between the two legs current.

use std::time::Instant;

use rtc::rtp;

use super::drain::{Drained, SlotSet};
use super::feedback::{LossReport, resume_video};
use super::slots::map_slots;
use super::{Counters, Engine, Peer};
use crate::media::bandwidth::video_gate::GateChange;
use crate::media::forward::{Slot, forward_header};
use crate::media::{PeerKey, red};
use crate::metrics::MediaMetrics;
use duet_signaling::{Role, SessionId};

impl Engine {
    /// Hands what draining `from`'s connection produced (`out`, emptied) to
    /// `to`'s connection, and says what it wrote into it.
    pub(super) fn deliver(
        &mut self,
        now: Instant,
        from: PeerKey,
        to: PeerKey,
        out: &mut Drained,
    ) -> WrittenInto {
        let [Some(src), Some(dst)] = self.peers.get_disjoint_mut([&from, &to]) else {
            self.stats.counters.rtp_dropped += out.media.len() as u64;
            out.clear();
            return WrittenInto::Media(0);
        };
        // Keyframe requests, caps and loss reports may write RTCP.
        let media_only =
            out.keyframes.is_empty() && out.estimates.is_empty() && out.losses.is_empty();
        let mut pass = Delivery {
            now,
            src,
            dst,
            counters: &mut self.stats.counters,
            metrics: &self.stats.metrics,
            media_written: 0,
        };
        for (slot, packet) in out.media.drain(..) {
            pass.forward(slot, packet);
        }
        pass.relay_keyframes(&mut out.keyframes);
        for (slot, bps) in out.estimates.drain(..) {
            pass.on_estimate(slot, bps);
        }
        for report in out.losses.drain(..) {
            // A report's pace: a few a second per connection.
            match pass.on_loss(report) {
                Some(GateChange::Paused) => {
                    tracing::info!(session = %from.session, role = %from.role, "video to a weak downlink paused");
                }
                Some(GateChange::Resumed) => {
                    tracing::info!(session = %from.session, role = %from.role, "video to a recovered downlink resumed");
                }
                None => {}
            }
        }
        if media_only {
            WrittenInto::Media(pass.media_written)
        } else {
            WrittenInto::Other
        }
    }

    pub(super) fn update_connected_call(&mut self, session: SessionId) {
        let up = |role: Role| {
            self.peers
                .get(&PeerKey { session, role })
                .is_some_and(|p| p.connected)
        };
        let both_up = up(Role::Mentor) && up(Role::Mentee);
        self.stats.call_up(session, both_up);
    }

    pub(super) fn refresh_payload_maps_if_needed(&mut self, key: PeerKey) {
        let needs = self
            .peers
            .get(&key)
            .is_some_and(|p| p.slots.iter().any(|s| s.up.needs_payload_map()));
        if needs {
            self.refresh_payload_maps(key);
        }
    }

    /// Recomputes payload-type maps in both directions between `key` and
    /// the other participant (after a track opens or a peer arrives).
    pub(super) fn refresh_payload_maps(&mut self, key: PeerKey) {
        let [Some(a), Some(b)] = self.peers.get_disjoint_mut([&key, &key.other()]) else {
            return;
        };
        map_slots(a, b);
        map_slots(b, a);
    }
}

/// One delivery from `src`'s connection to `dst`'s: `src` sent the media,
/// and its feedback is about the streams `dst` sends.
struct Delivery<'a> {
    now: Instant,
    src: &'a mut Peer,
    dst: &'a mut Peer,
    counters: &'a mut Counters,
    metrics: &'a MediaMetrics,
    /// RTP packets `rtc` took into `dst`'s connection.
    media_written: usize,
}

/// What a delivery wrote into the other participant's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WrittenInto {
    /// Only this many RTP packets.
    Media(usize),
    /// RTCP too, or it may have.
    Other,
}

impl Delivery<'_> {
    /// Forwards one packet to `dst`'s outbound stream on its slot. Called
    /// per packet: no allocation.
    fn forward(&mut self, slot: Slot, mut packet: rtp::Packet) {
        let (now, src, dst) = (self.now, &mut *self.src, &mut *self.dst);
        // Video to a downlink too weak for it is held back
        // (`bandwidth::video_gate`); audio always goes on.
        if slot.is_video() && dst.downlink.video_gate.paused() {
            self.counters.video_held_back += 1;
            return;
        }
        let i = slot.index();
        // Redundant audio to a receiver that did not take it (or numbers
        // the Opus inside differently): its primary frame alone.
        let up = &src.slots[i].up;
        let red = slot == Slot::Audio && up.red == Some(packet.header.payload_type);
        let unwrap = red && up.pt_map.map(packet.header.payload_type).is_none();
        if unwrap {
            let Some((inner, primary)) = red::unwrap(&packet.payload) else {
                self.counters.rtp_dropped += 1;
                return;
            };
            packet.header.payload_type = inner;
            packet.payload = primary;
        }
        // Judged before the rewrite strips the extensions, counted only
        // once delivered: talk time is what the other person could hear.
        let talk = if slot == Slot::Audio {
            src.talk.observe(&packet.header)
        } else {
            0
        };
        let down = &mut dst.slots[i].down;
        let leg = down.leg(dst.connected, &src.slots[i].up.pt_map);
        if forward_header(now, slot, &mut packet.header, leg).is_err() {
            self.counters.rtp_dropped += 1;
            return;
        }
        let payload_len = packet.payload.len() as u64;
        let seq = packet.header.sequence_number;
        let sent = dst
            .pc
            .rtp_sender(down.outbound.sender)
            .map(|mut s| s.write_rtp(now, packet));
        if !matches!(sent, Some(Ok(()))) {
            self.counters.rtp_dropped += 1;
            return;
        }
        down.sent.sent(seq);
        src.talk.count(talk);
        self.media_written += 1;
        self.counters.rtp_forwarded += 1;
        let m = self.metrics;
        let (packets, bytes) = if slot.is_video() {
            (&m.video_packets, &m.video_bytes)
        } else {
            (&m.audio_packets, &m.audio_bytes)
        };
        packets.inc();
        bytes.inc_by(payload_len);
        if unwrap {
            m.red_as_opus.inc();
        } else if red {
            m.red_as_red.inc();
        }
    }

    /// `src` asked for keyframes of streams that `dst` sends: asked of
    /// `dst` now, or when its track opens (not while video to `src` is
    /// paused: a keyframe then would reach nobody).
    fn relay_keyframes(&mut self, keyframes: &mut SlotSet) {
        let video_paused = self.src.downlink.video_gate.paused();
        for slot in keyframes.take() {
            if video_paused {
                continue;
            }
            let dst = &mut *self.dst;
            if dst.slots[slot.index()]
                .up
                .request_keyframe_or_wait(self.now, &mut dst.pc)
            {
                self.counters.keyframe_requests_relayed += 1;
                self.metrics.plis.inc();
            }
        }
    }

    /// `src` estimated its downlink (REMB) for video `dst` sends: `dst` is
    /// capped by it when it binds.
    fn on_estimate(&mut self, slot: Slot, bps: u64) {
        let building = self.src.downlink.queue_delay.building();
        self.dst.slots[slot.index()]
            .up
            .cap
            .on_receiver_estimate(self.now, bps, building);
        if self
            .dst
            .cap_bitrate(self.now, slot, None, self.src.downlink.low_bandwidth)
        {
            self.counters.bitrate_caps_sent += 1;
        }
    }

    /// `src` reported loss on a stream `dst` sends: `dst`'s video bitrate
    /// capped, and video to `src` paused or resumed (the change returned).
    fn on_loss(&mut self, report: LossReport) -> Option<GateChange> {
        let (now, src, dst) = (self.now, &mut *self.src, &mut *self.dst);
        let slot = report.slot;
        if slot == Slot::Audio {
            // Counts both legs: `dst`'s Opus FEC is tuned by it.
            dst.downstream_audio_loss.report(now, report.fraction_lost);
        }
        // What Duet sent `src` on that stream, to tell its losses apart.
        let sent = &src.slots[slot.index()].down.sent;
        let loss = dst.slots[slot.index()].up.window_loss(now, report, sent);
        if let Some(l) = loss {
            src.quality.observe_loss(l as f32);
        }
        let change = if slot.is_video() {
            if dst.cap_bitrate(now, slot, loss, src.downlink.low_bandwidth) {
                self.counters.bitrate_caps_sent += 1;
            }
            let at_floor = dst.slots[slot.index()].up.cap.at_floor();
            loss.and_then(|l| {
                src.downlink
                    .video_gate
                    .on_video_window(now, slot, l, at_floor)
            })
        } else {
            loss.and_then(|l| src.downlink.video_gate.on_audio_window(now, l))
        };
        let change = change.or_else(|| src.downlink.video_gate.on_report(now));
        match change {
            Some(GateChange::Paused) => self.counters.video_pauses += 1,
            Some(GateChange::Resumed) => {
                self.counters.video_resumes += 1;
                if resume_video(now, src, dst) {
                    self.counters.keyframe_requests_relayed += 1;
                    self.metrics.plis.inc();
                }
            }
            None => {}
        }
        change
    }
}
