//! Draining a connection after `rtc` had its input: its events, the media
//! it received and the RTCP its participant sent. What concerns the other
//! participant comes out as values ([`Drained`]) that `engine::deliver`
//! routes to their connection; what concerns this one (keyframes asked of
//! it by the recorder, or by the other participant before its track
//! opened) is done here.

use std::time::Instant;

use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::sansio::Protocol;

use super::feedback::{LossReport, collect_estimate, collect_loss, keyframe_request_slot};
use super::{Counters, Engine, Fed, Peer, call_metrics, events};
use crate::media::PeerKey;
use crate::media::forward::Slot;
use crate::metrics::MediaMetrics;

/// A set of slots, without allocating.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct SlotSet([bool; 3]);

impl SlotSet {
    pub(super) fn insert(&mut self, slot: Slot) {
        self.0[slot.index()] = true;
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0 == [false; 3]
    }

    /// The slots in the set, emptying it.
    pub(super) fn take(&mut self) -> impl Iterator<Item = Slot> + use<> {
        let set = std::mem::take(&mut self.0);
        Slot::ALL.into_iter().filter(move |s| set[s.index()])
    }
}

/// What draining one participant's connection produced for the other
/// participant's. The engine keeps one and lends it to each drain, so the
/// vectors keep their capacity: nothing is allocated per packet.
#[derive(Default)]
pub(super) struct Drained {
    /// Media this participant sent, to forward.
    pub media: Vec<(Slot, rtc::rtp::Packet)>,
    /// Keyframes this participant wants of the other's streams.
    pub keyframes: SlotSet,
    /// Loss this participant reported on the streams Duet sends it.
    pub losses: Vec<LossReport>,
    /// This participant's own estimates of its downlink (REMB) for the
    /// video Duet sends it: `(slot, bits per second)`.
    pub estimates: Vec<(Slot, u64)>,
}

impl Drained {
    pub(super) fn is_empty(&self) -> bool {
        self.media.is_empty()
            && self.keyframes.is_empty()
            && self.losses.is_empty()
            && self.estimates.is_empty()
    }

    pub(super) fn clear(&mut self) {
        self.media.clear();
        self.keyframes = SlotSet::default();
        self.losses.clear();
        self.estimates.clear();
    }
}

impl Engine {
    /// Drains `key`'s connection, just `fed`, into `out` and sends what it
    /// has to send.
    pub(super) fn drain(&mut self, now: Instant, key: PeerKey, out: &mut Drained, fed: Fed) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        let stats = &mut self.stats;
        let Drain { changed, wrote } =
            peer.drain(now, key, fed, &stats.metrics, &mut stats.counters, out);
        if fed == Fed::Rtp && !wrote {
            self.expect_nothing_to_write(key);
        } else {
            self.write_out(key);
        }
        if !out.media.is_empty() || !out.keyframes.is_empty() {
            self.refresh_payload_maps_if_needed(key);
        }
        if changed {
            self.update_connected_call(key.session);
        }
    }

    /// After it read an RTP packet, a connection has nothing of its own to
    /// send unless Duet wrote into it: `rtc`'s interceptors and Duet's
    /// answer RTCP and timers, never media (they only note what arrived).
    /// So the `poll_write` that would find out, a sweep of the connection's
    /// whole pipeline and about a third of the write-outs per forwarded
    /// packet, is skipped. Builds with debug assertions (every test) still
    /// sweep and fail if it found anything, so an `rtc` upgrade that
    /// changes this is caught.
    fn expect_nothing_to_write(&mut self, key: PeerKey) {
        if cfg!(debug_assertions) {
            let written = self.write_out(key);
            debug_assert_eq!(written, 0, "rtc had something to send after reading RTP");
        }
    }
}

/// What draining a connection found out.
struct Drain {
    /// It went up or down.
    changed: bool,
    /// Duet wrote into it (a keyframe request of its own streams).
    wrote: bool,
}

impl Peer {
    /// Takes everything `rtc` has for the engine from this connection, just
    /// `fed`: what is for the other participant goes into `out`.
    fn drain(
        &mut self,
        now: Instant,
        key: PeerKey,
        fed: Fed,
        metrics: &MediaMetrics,
        counters: &mut Counters,
        out: &mut Drained,
    ) -> Drain {
        let mut changed = false;
        let mut wrote = false;
        // Keyframes of this peer's own streams: the recorder's, and the
        // other participant's asked before a track opened.
        let mut for_recorder = SlotSet::default();
        let mut opened = SlotSet::default();
        // Every poll_* call of an `rtc` connection sweeps its whole handler
        // pipeline, so each kind is asked until empty once, in the order
        // one can feed the next: events (which may release reads), reads,
        // then writes (nothing here turns a write into a read). Only an
        // event earns another round of events and reads.
        loop {
            let mut raised = false;
            while let Some(event) = self.pc.poll_event() {
                raised = true;
                let was_connected = self.connected;
                events::handle_event(self, key, event, &mut out.keyframes, &mut opened);
                if self.connected != was_connected {
                    changed = true;
                    if let Some(offered) = self.offered.take().filter(|_| self.connected) {
                        call_metrics::first_connect(metrics, offered, now);
                    }
                }
            }
            while let Some(TaggedRTCMessage { message, .. }) = self.next_read(fed) {
                match message {
                    RTCMessage::RtpPacket(track_id, packet) => {
                        match self.slot_of_track(&track_id) {
                            Some(slot) => {
                                self.on_media(now, key, slot, &packet, &mut for_recorder);
                                out.media.push((slot, packet));
                            }
                            None => counters.rtp_dropped += 1,
                        }
                    }
                    RTCMessage::RtcpPacket(_, packets) => {
                        for p in &packets {
                            self.on_rtcp(p.as_ref(), metrics, out);
                        }
                    }
                    _ => {}
                }
            }
            if !raised {
                break;
            }
        }
        if fed == Fed::Rtp && cfg!(debug_assertions) {
            // Checked in every test build: a read the queue alone missed.
            debug_assert!(
                self.pc.poll_read().is_none(),
                "rtc had a read left in its pipeline after an RTP packet"
            );
        }
        for slot in for_recorder.take() {
            wrote |= self.request_keyframe(now, slot);
        }
        for slot in opened.take() {
            if self.request_keyframe(now, slot) {
                wrote = true;
                counters.keyframe_requests_relayed += 1;
                metrics.plis.inc();
            }
        }
        Drain { changed, wrote }
    }

    /// The next message `rtc` has for the engine. `poll_read` sweeps the
    /// connection's whole read pipeline (every handler, every interceptor)
    /// before it looks at the queue, every time, even to say it is empty.
    /// After an RTP packet that sweep finds nothing: reading a datagram
    /// already ran it through the pipeline to the end, and an event that
    /// releases reads runs them through too (`poll_event`). So after RTP
    /// the media queue is read directly; Duet refuses data channels
    /// (`media::limits`), so it is the only queue. Timers and commands
    /// may leave reads inside the pipeline, so after them it is swept.
    fn next_read(&mut self, fed: Fed) -> Option<TaggedRTCMessage> {
        match fed {
            Fed::Rtp => self.pc.poll_media_read(),
            Fed::Other => self.pc.poll_read(),
        }
    }

    /// One packet of this participant's media on `slot`: counted, and
    /// offered to the recorder when the session is recorded (which may
    /// want a keyframe of it).
    fn on_media(
        &mut self,
        now: Instant,
        key: PeerKey,
        slot: Slot,
        packet: &rtc::rtp::Packet,
        for_recorder: &mut SlotSet,
    ) {
        let up = &mut self.slots[slot.index()].up;
        up.on_packet(packet.payload.len(), packet.header.sequence_number);
        let captioner = self.captioner.as_ref().filter(|_| slot == Slot::Audio);
        if self.recorder.is_none() && captioner.is_none() {
            return;
        }
        // A refcounted view of the payload: a clone copies no bytes.
        let rec = up.recorded(key.role, slot, packet, now);
        if let Some(tap) = captioner {
            tap.offer(rec.clone());
        }
        if let Some(tap) = &self.recorder {
            if tap.wants_keyframe(key.role, rec.kind) {
                for_recorder.insert(slot);
            }
            tap.offer(rec);
        }
    }

    /// One RTCP packet this participant sent about what Duet sends it:
    /// round trips and loss for its link quality; keyframe requests, loss
    /// reports and estimates for the other participant's streams.
    fn on_rtcp(&mut self, p: &dyn rtc::rtcp::Packet, metrics: &MediaMetrics, out: &mut Drained) {
        if let Some(rtt) = call_metrics::observe_rtcp(metrics, &mut self.quality, p) {
            self.downlink.queue_delay.observe(rtt);
        }
        let outbound = self.outbound();
        if let Some(slot) = keyframe_request_slot(p, &outbound) {
            out.keyframes.insert(slot);
        }
        collect_loss(p, &outbound, &mut out.losses);
        collect_estimate(p, &outbound, &mut out.estimates);
    }
}
