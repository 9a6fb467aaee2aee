//! The packet path after `rtc` has a connection's input: drain what it
//! produced (events, media, feedback), hand media and feedback to the other
//! participant's connection, and keep the payload-type maps between the two
//! legs current.

use std::time::Instant;

use super::*;

impl Engine {
    pub(super) fn drain(&mut self, now: Instant, key: PeerKey) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        let mut connection_changed = false;
        // Every poll_* call of an `rtc` connection sweeps its whole handler
        // pipeline, so each kind is asked until empty once, in the order
        // one can feed the next: events (which may release reads), reads,
        // then writes (nothing here turns a write into a read). Only an
        // event earns another round of events and reads.
        loop {
            let mut raised = false;
            while let Some(event) = peer.pc.poll_event() {
                raised = true;
                let was_connected = peer.connected;
                handle_event(
                    peer,
                    key,
                    event,
                    &mut self.keyframe_buf,
                    &mut self.opened_keyframes,
                );
                if peer.connected != was_connected {
                    connection_changed = true;
                    if let Some(offered) = peer.offered.take().filter(|_| peer.connected) {
                        call_metrics::first_connect(&self.metrics, offered, now);
                    }
                }
            }
            while let Some(TaggedRTCMessage { message, .. }) = peer.pc.poll_read() {
                match message {
                    RTCMessage::RtpPacket(track_id, packet) => {
                        match peer.slot_of_track(&track_id) {
                            Some(slot) => {
                                let up = &mut peer.slots[slot.index()].up;
                                up.on_packet(packet.payload.len(), packet.header.sequence_number);
                                if let Some(tap) = &peer.recorder {
                                    let rec = up.recorded(key.role, slot, &packet, now);
                                    if tap.wants_keyframe(key.role, rec.kind) {
                                        self.own_keyframes.push(slot);
                                    }
                                    tap.offer(rec);
                                }
                                self.forward_buf.push((slot, packet));
                            }
                            None => self.counters.rtp_dropped += 1,
                        }
                    }
                    RTCMessage::RtcpPacket(_, packets) => {
                        for p in &packets {
                            if let Some(rtt) = call_metrics::observe_rtcp(
                                &self.metrics,
                                &mut peer.quality,
                                p.as_ref(),
                            ) {
                                peer.queue_delay.observe(rtt);
                            }
                            let outbound = peer.outbound();
                            if let Some(slot) = keyframe_request_slot(p.as_ref(), &outbound) {
                                self.keyframe_buf.push(slot);
                            }
                            collect_loss(p.as_ref(), &outbound, &mut self.loss_buf);
                            collect_estimate(p.as_ref(), &outbound, &mut self.estimate_buf);
                        }
                    }
                    _ => {}
                }
            }
            if !raised {
                break;
            }
        }
        // The recorder asked this sender for keyframes.
        for slot in self.own_keyframes.drain(..) {
            peer.request_keyframe(now, slot);
        }
        // The other participant asked before this track opened.
        for slot in self.opened_keyframes.drain(..) {
            if peer.request_keyframe(now, slot) {
                self.counters.keyframe_requests_relayed += 1;
                self.metrics.plis.inc();
            }
        }
        self.flush_writes(key);
        if !self.forward_buf.is_empty() || !self.keyframe_buf.is_empty() {
            self.refresh_payload_maps_if_needed(key);
        }
        if connection_changed {
            self.update_connected_call(key.session);
        }
    }

    /// Hands `from`'s inbound media to `to`'s outbound streams and relays
    /// `from`'s keyframe requests (about `to`'s media it receives) upstream.
    pub(super) fn deliver(&mut self, now: Instant, from: PeerKey, to: PeerKey) {
        let [Some(src), Some(dst)] = self.peers.get_disjoint_mut([&from, &to]) else {
            self.counters.rtp_dropped += self.forward_buf.len() as u64;
            self.forward_buf.clear();
            self.keyframe_buf.clear();
            self.loss_buf.clear();
            self.estimate_buf.clear();
            return;
        };
        for (slot, mut packet) in self.forward_buf.drain(..) {
            // Video to a downlink too weak for it is held back
            // (`bandwidth::video_gate`); audio always goes on.
            if slot.is_video() && dst.video_gate.paused() {
                self.counters.video_held_back += 1;
                continue;
            }
            let i = slot.index();
            // Redundant audio to a receiver that did not take it (or numbers
            // the Opus inside differently): its primary frame alone.
            let up = &src.slots[i].up;
            let red = slot == Slot::Audio && up.red == Some(packet.header.payload_type);
            let unwrap = red && up.pt_map.map(packet.header.payload_type).is_none();
            if unwrap {
                match red::unwrap(&packet.payload) {
                    Some((inner, primary)) => {
                        packet.header.payload_type = inner;
                        packet.payload = primary;
                    }
                    None => {
                        self.counters.rtp_dropped += 1;
                        continue;
                    }
                }
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
                continue;
            }
            let payload_len = packet.payload.len() as u64;
            let seq = packet.header.sequence_number;
            let sent = dst
                .pc
                .rtp_sender(down.outbound.sender)
                .map(|mut s| s.write_rtp(now, packet));
            match sent {
                Some(Ok(())) => {
                    down.sent.sent(seq);
                    src.talk.count(talk);
                    self.counters.rtp_forwarded += 1;
                    let (packets, bytes) = if slot.is_video() {
                        (&self.metrics.video_packets, &self.metrics.video_bytes)
                    } else {
                        (&self.metrics.audio_packets, &self.metrics.audio_bytes)
                    };
                    packets.inc();
                    bytes.inc_by(payload_len);
                    if unwrap {
                        self.metrics.red_as_opus.inc();
                    } else if red {
                        self.metrics.red_as_red.inc();
                    }
                }
                _ => self.counters.rtp_dropped += 1,
            }
        }
        // `src` asked for keyframes of streams that `dst` sends (not while
        // its video is paused: a keyframe then would reach nobody).
        let video_paused = src.video_gate.paused();
        for slot in self.keyframe_buf.drain(..) {
            if video_paused {
                continue;
            }
            let up = &mut dst.slots[slot.index()].up;
            if up.request_keyframe_or_wait(now, &mut dst.pc) {
                self.counters.keyframe_requests_relayed += 1;
                self.metrics.plis.inc();
            }
        }
        // `src` estimated its downlink (REMB) for video `dst` sends: cap
        // `dst` by it when it binds.
        let low_bandwidth = src.low_bandwidth;
        for (slot, bps) in self.estimate_buf.drain(..) {
            let building = src.queue_delay.building();
            dst.slots[slot.index()]
                .up
                .cap
                .on_receiver_estimate(now, bps, building);
            if dst.cap_bitrate(now, slot, None, low_bandwidth) {
                self.counters.bitrate_caps_sent += 1;
            }
        }
        // `src` reported loss on streams `dst` sends: cap `dst`'s video
        // bitrate, and pause or resume video to `src`.
        for report in self.loss_buf.drain(..) {
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
                if dst.cap_bitrate(now, slot, loss, low_bandwidth) {
                    self.counters.bitrate_caps_sent += 1;
                }
                let at_floor = dst.slots[slot.index()].up.cap.at_floor();
                loss.and_then(|l| src.video_gate.on_video_window(now, slot, l, at_floor))
            } else {
                loss.and_then(|l| src.video_gate.on_audio_window(now, l))
            };
            // A report's pace: a few a second per connection.
            match change.or_else(|| src.video_gate.on_report(now)) {
                Some(GateChange::Paused) => {
                    self.counters.video_pauses += 1;
                    tracing::info!(session = %from.session, role = %from.role, "video to a weak downlink paused");
                }
                Some(GateChange::Resumed) => {
                    self.counters.video_resumes += 1;
                    if resume_video(now, src, dst) {
                        self.counters.keyframe_requests_relayed += 1;
                        self.metrics.plis.inc();
                    }
                    tracing::info!(session = %from.session, role = %from.role, "video to a recovered downlink resumed");
                }
                None => {}
            }
        }
    }

    pub(super) fn update_connected_call(&mut self, session: SessionId) {
        let up = |role: Role| {
            self.peers
                .get(&PeerKey { session, role })
                .is_some_and(|p| p.connected)
        };
        let both_up = up(Role::Mentor) && up(Role::Mentee);
        self.connected_calls.update(&self.metrics, session, both_up);
    }

    fn refresh_payload_maps_if_needed(&mut self, key: PeerKey) {
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
