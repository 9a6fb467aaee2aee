//! Peer-connection events: local candidates, connection states, and the receive loop that
//! records every remote RTP payload under the m-line it arrived on.

use std::sync::{Arc, Mutex, Weak};

use rtc::rtp_transceiver::RTCRtpTransceiverId;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnectionEventHandler, RTCIceConnectionState, RTCIceGatheringState,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState,
};

use crate::media_peer::LocalCandidate;
use crate::stats::{MediaKind, PeerStats};
use crate::tasks::TaskSet;

/// A remote track and the SSRC its media arrives with.
pub(crate) type RemoteTrack = (Arc<dyn TrackRemote>, u32);

/// State shared with the event handler and the background tasks.
pub(crate) struct Shared {
    pub(crate) stats: Arc<watch::Sender<PeerStats>>,
    pub(crate) gathering: watch::Sender<RTCIceGatheringState>,
    /// Transceiver id of each of our three m-lines, by kind.
    pub(crate) transceivers: Mutex<Vec<(RTCRtpTransceiverId, MediaKind)>>,
    /// Remote track and its SSRC, per kind, once media arrived.
    pub(crate) remote: Mutex<[Option<RemoteTrack>; 3]>,
    pub(crate) tasks: Weak<TaskSet>,
}

impl Shared {
    pub(crate) fn kind_of(&self, id: RTCRtpTransceiverId) -> Option<MediaKind> {
        let ids = self.transceivers.lock().ok()?;
        ids.iter().find(|(t, _)| *t == id).map(|(_, k)| *k)
    }

    /// For media on an m-line we did not create (server renegotiation): audio is audio, the
    /// first such video is the camera, the next the screen.
    fn fallback_kind(&self, is_audio: bool) -> MediaKind {
        if is_audio {
            return MediaKind::Audio;
        }
        let camera_taken = self
            .remote
            .lock()
            .map(|r| r[MediaKind::Camera.index()].is_some())
            .unwrap_or(false);
        if camera_taken {
            MediaKind::Screen
        } else {
            MediaKind::Camera
        }
    }

    fn set_remote(&self, kind: MediaKind, track: &Arc<dyn TrackRemote>, ssrc: u32) {
        if let Ok(mut remote) = self.remote.lock() {
            remote[kind.index()] = Some((Arc::clone(track), ssrc));
        }
    }
}

pub(crate) struct Handler {
    pub(crate) shared: Arc<Shared>,
    pub(crate) candidates: mpsc::UnboundedSender<LocalCandidate>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json()
            && !init.candidate.is_empty()
        {
            let _ = self.candidates.send(Some(init));
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.candidates.send(None);
        }
        self.shared.gathering.send_replace(state);
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        self.shared.stats.send_modify(|s| s.ice_state = state);
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.shared
            .stats
            .send_modify(|s| s.connection_state = state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        if let Some(tasks) = self.shared.tasks.upgrade() {
            tasks.spawn(receive_loop(track, Arc::clone(&self.shared)));
        }
    }
}

async fn receive_loop(track: Arc<dyn TrackRemote>, shared: Arc<Shared>) {
    let is_audio = track.kind().await == RtpCodecKind::Audio;
    let mut kind = None;
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnOpen(init) => {
                let k = shared
                    .kind_of(init.receiver_id.into())
                    .unwrap_or_else(|| shared.fallback_kind(is_audio));
                shared.set_remote(k, &track, init.ssrc);
                kind = Some(k);
            }
            TrackRemoteEvent::OnRtpPacket(packet) => {
                let k = match kind {
                    Some(k) => k,
                    None => {
                        let k = shared.fallback_kind(is_audio);
                        shared.set_remote(k, &track, packet.header.ssrc);
                        kind = Some(k);
                        k
                    }
                };
                let arrived_us = crate::latency::now_us();
                let ssrc = packet.header.ssrc;
                let latency = (k == MediaKind::Audio)
                    .then(|| crate::tone::sent_us(&packet.payload))
                    .flatten()
                    .map(|sent| u32::try_from(arrived_us.saturating_sub(sent)).unwrap_or(u32::MAX));
                shared.stats.send_modify(|s| {
                    let stream = s.received.get_mut(k);
                    stream.record(k, ssrc, &packet.payload);
                    if let Some(us) = latency {
                        stream.latency_us.push(us);
                    }
                });
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
}
