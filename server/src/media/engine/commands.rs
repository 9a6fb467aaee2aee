//! Commands from rooms and the API: a participant's offer and candidates,
//! a connection leaving, a recording starting or stopping, questions about
//! counters and link quality.

use std::time::Instant;

use super::*;

#[cfg(test)]
mod tests;

impl Engine {
    /// Handles one command; true when it was the last (shutdown). Work on
    /// one connection runs guarded: a panic ends that connection only.
    pub(in crate::media) fn handle_command(&mut self, now: Instant, cmd: Command) -> bool {
        match cmd {
            Command::Offer {
                key,
                conn,
                sdp,
                reply,
            } => {
                // Whoever asked has gone (a cancelled probe, a closed
                // socket): a peer made now would have no one to remove it,
                // and their `Remove`, sent on the priority lane, may
                // already have passed this offer.
                if reply.is_closed() {
                    return false;
                }
                let result = self
                    .guarded(key, |engine| {
                        let result = engine.offer(now, key, conn, sdp);
                        if result.is_ok() {
                            engine.service(now, key, Fed::Other);
                        }
                        result
                    })
                    .unwrap_or_else(|| {
                        Err(MediaError::BadOffer(
                            "the server failed on this offer".into(),
                        ))
                    });
                let _ = reply.send(result);
            }
            Command::Candidate {
                key,
                conn,
                candidate,
            } => {
                self.guarded(key, |engine| {
                    engine.remote_candidate(key, conn, candidate);
                    // A new candidate schedules connectivity checks.
                    engine.touch(key);
                });
            }
            Command::Remove { key, conn, talk } => {
                let removed = self.guarded(key, |engine| engine.remove(key, conn));
                // After a panic the talk is unknown: no answer rather than 0.
                if let (Some(reply), Some(meter)) = (talk, removed) {
                    let _ = reply.send(meter.talk_ms());
                }
            }
            Command::Record { session, tap } => self.set_recorder(session, tap),
            Command::Caption { key, tap } => self.set_captioner(key, tap),
            Command::Counters(reply) => {
                let _ = reply.send(self.stats.counters);
            }
            Command::LowBandwidth { key, on } => {
                if let Some(p) = self.peers.get_mut(&key) {
                    p.downlink.low_bandwidth = on;
                }
            }
            Command::Quality { session, reply } => {
                // The caps on what each person sends are the other's
                // downlink's: whose link is slow is read off the sender.
                let slow_downlink = |receiver: Role| {
                    let key = PeerKey {
                        session,
                        role: receiver.other(),
                    };
                    self.peers.get(&key).is_some_and(|sender| {
                        [Slot::Camera, Slot::Screen].into_iter().any(|slot| {
                            let up = &sender.slots[slot.index()].up;
                            up.is_open() && up.cap.slow()
                        })
                    })
                };
                let slow = Role::ALL.map(slow_downlink);
                let out = [Role::Mentor, Role::Mentee]
                    .into_iter()
                    .filter_map(|role| {
                        let p = self.peers.get_mut(&PeerKey { session, role })?;
                        // The room asks every couple of seconds: one
                        // uplink window per ask, the worst stream's.
                        let uplink = p
                            .slots
                            .iter_mut()
                            .filter_map(|s| s.up.uplink.take())
                            .reduce(f64::max);
                        if let Some(l) = uplink {
                            p.quality.observe_uplink(l as f32);
                        }
                        let quality = crate::media::LinkQuality {
                            video_paused: p.downlink.video_gate.paused(),
                            slow: slow[role.index()],
                            ..p.quality
                        };
                        Some((role, quality))
                    })
                    .collect();
                let _ = reply.send(out);
            }
            Command::Shutdown => return true,
        }
        false
    }

    fn offer(
        &mut self,
        now: Instant,
        key: PeerKey,
        conn: ConnId,
        sdp: String,
    ) -> Result<String, MediaError> {
        let mut carried = TalkMeter::default();
        if let Some(existing) = self.peers.get_mut(&key) {
            if existing.conn == conn {
                return peer::renegotiate(
                    now,
                    &mut existing.pc,
                    sdp,
                    self.advertise,
                    self.tcp.local(),
                )
                .map_err(|e| MediaError::BadOffer(e.to_string()));
            }
            if existing.conn > conn {
                return Err(MediaError::Stale);
            }
            let old = existing.conn;
            // The same person on a newer connection (their `Remove` has
            // not come yet): what they said so far stays theirs.
            carried = TalkMeter::carried_from(&self.remove(key, old));
        }
        let mut built = peer::build(
            now,
            sdp,
            self.advertise,
            self.tcp.local(),
            self.routes.shard(),
        )
        .map_err(|e| MediaError::BadOffer(e.to_string()))?;
        let answer = std::mem::take(&mut built.answer_sdp);
        let taps = self.taps.get(&key.session).map_or((None, None), |t| {
            (t.recorder.clone(), t.captions[key.role.index()].clone())
        });
        let peer = Peer::new(conn, now, built, carried, taps);
        self.routes.add(key, &peer.addrs);
        self.peers.insert(key, peer);
        self.stats.connections(self.peers.len());
        self.touch(key);
        self.refresh_payload_maps(key);
        Ok(answer)
    }

    fn remote_candidate(&mut self, key: PeerKey, conn: ConnId, candidate: IceCandidate) {
        let Some(peer) = self.peers.get_mut(&key).filter(|p| p.conn == conn) else {
            return;
        };
        // mDNS (.local) candidates need a resolver Duet does not run; the
        // browser's other candidates and peer-reflexive discovery cover it.
        if candidate.candidate.is_empty() || candidate.candidate.contains(".local") {
            return;
        }
        let init = RTCIceCandidateInit {
            candidate: candidate.candidate,
            sdp_mid: candidate.sdp_mid,
            sdp_mline_index: candidate.sdp_mline_index,
            username_fragment: candidate.username_fragment,
            ..Default::default()
        };
        if let Err(e) = peer.pc.add_remote_candidate(init) {
            tracing::debug!(error = %e, "remote candidate refused");
        }
    }

    /// Closes and forgets `conn`'s connection for `key` if it is the
    /// current one; returns its talk (nothing when it was not).
    pub(super) fn remove(&mut self, key: PeerKey, conn: ConnId) -> TalkMeter {
        let Some(peer) = self.peers.get_mut(&key).filter(|p| p.conn == conn) else {
            return TalkMeter::default();
        };
        let _ = peer.pc.close();
        // Send what close() queued (DTLS close_notify) so the client learns
        // at once instead of waiting for ICE consent to expire.
        self.write_out(key);
        let Some(peer) = self.peers.remove(&key) else {
            return TalkMeter::default();
        };
        self.update_connected_call(key.session);
        self.tcp.remove_peer(key);
        self.routes.remove(key, &peer.addrs);
        self.stats.connections(self.peers.len());
        peer.talk
    }

    /// Starts or stops handing a session's packets to its recording; a
    /// connection made while it records (a late first offer) gets the tap
    /// too.
    fn set_recorder(&mut self, session: SessionId, tap: Option<RecordTap>) {
        let taps = self.taps.entry(session).or_default();
        taps.recorder = tap.clone();
        if taps.is_empty() {
            self.taps.remove(&session);
        }
        for role in Role::ALL {
            if let Some(peer) = self.peers.get_mut(&PeerKey { session, role }) {
                peer.recorder = tap.clone();
            }
        }
    }

    /// Starts or stops handing one participant's audio to captions; a
    /// connection they make meanwhile gets the tap too.
    fn set_captioner(&mut self, key: PeerKey, tap: Option<RecordTap>) {
        let taps = self.taps.entry(key.session).or_default();
        taps.captions[key.role.index()] = tap.clone();
        if taps.is_empty() {
            self.taps.remove(&key.session);
        }
        if let Some(peer) = self.peers.get_mut(&key) {
            peer.captioner = tap;
        }
    }
}
