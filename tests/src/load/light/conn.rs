//! One light peer as the media loop ([`super::engine`]) holds it: its sans-IO connection,
//! built as the webrtc test peers are (same codecs, `rtc`'s default interceptors with
//! transport-wide sequence numbers on what it sends, three sendrecv m-lines with a track
//! each, one host candidate on its own UDP socket), its two media tracks, and
//! [`PeerShared`], the switches and counters the load run reads while the loop runs.

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use bytes::Bytes;
use rtc::interceptor::{Registry, Slot};
use rtc::media_stream::MediaStreamTrackId;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_twcc_sender_only, register_default_interceptors,
};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp;
use rtc::rtp_transceiver::RTCRtpSenderId;
use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::media::{AudioTrack, Negotiated, VideoTrack, new_ssrc};
use crate::feedback::{FORWARDER_SLOT, KeyframeRequestForwarder};
use crate::ivf::IvfClip;
use crate::sender::{AUDIO_LEVEL_URI, media_engine};
use crate::stats::MediaKind;

/// Where a peer's connection stands, and which kinds of media it has received: what joining
/// waits on. Changes a few times per peer, so it is a watch.
#[derive(Clone, Debug)]
pub(crate) struct Progress {
    pub(crate) state: RTCPeerConnectionState,
    /// Whether media of each kind ([`MediaKind::index`]) arrived.
    pub(crate) received: [bool; 3],
}

/// One light peer's switches and counters, shared by the loop and the load run.
pub(crate) struct PeerShared {
    sending: [AtomicBool; 3],
    sent: [AtomicU64; 3],
    /// Media packets received (empty payloads not counted), per kind.
    received: [AtomicU64; 3],
    /// Received audio: for each packet that carried a send stamp, in arrival order,
    /// microseconds from sending to receiving ([`crate::latency`]).
    latency_us: Mutex<Vec<u32>>,
    keyframe_requests: AtomicU64,
    progress: watch::Sender<Progress>,
}

impl PeerShared {
    fn new() -> PeerShared {
        let shared = PeerShared {
            sending: Default::default(),
            sent: Default::default(),
            received: Default::default(),
            latency_us: Mutex::new(Vec::new()),
            keyframe_requests: AtomicU64::new(0),
            progress: watch::channel(Progress {
                state: RTCPeerConnectionState::New,
                received: [false; 3],
            })
            .0,
        };
        // As a webrtc test peer: audio and camera on, the screen off.
        shared.set_sending(MediaKind::Audio, true);
        shared.set_sending(MediaKind::Camera, true);
        shared
    }

    pub(crate) fn set_sending(&self, kind: MediaKind, on: bool) {
        self.sending[kind.index()].store(on, Ordering::Relaxed);
    }

    fn sending(&self, kind: MediaKind) -> bool {
        self.sending[kind.index()].load(Ordering::Relaxed)
    }

    /// RTP packets handed to the connection, per kind.
    pub(crate) fn sent(&self) -> [u64; 3] {
        self.sent.each_ref().map(|c| c.load(Ordering::Relaxed))
    }

    /// Media packets received, per kind.
    pub(crate) fn received(&self) -> [u64; 3] {
        self.received.each_ref().map(|c| c.load(Ordering::Relaxed))
    }

    /// Latency samples of received audio so far.
    pub(crate) fn latency_samples(&self) -> usize {
        self.latency_us.lock().map(|l| l.len()).unwrap_or(0)
    }

    /// The latency samples (µs) numbered `window`, as far as there are.
    pub(crate) fn latency_us(&self, window: Range<usize>) -> Vec<u32> {
        self.latency_us
            .lock()
            .map(|l| l.get(window).unwrap_or_default().to_vec())
            .unwrap_or_default()
    }

    pub(crate) fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    pub(super) fn set_state(&self, state: RTCPeerConnectionState) {
        self.progress.send_modify(|p| p.state = state);
    }

    pub(super) fn count_keyframe_requests(&self, n: u64) {
        self.keyframe_requests.fetch_add(n, Ordering::Relaxed);
    }

    fn count_received(&self, kind: MediaKind, latency_us: Option<u32>, first: bool) {
        self.received[kind.index()].fetch_add(1, Ordering::Relaxed);
        if let Some(us) = latency_us
            && let Ok(mut l) = self.latency_us.lock()
        {
            l.push(us);
        }
        if first {
            self.progress
                .send_modify(|p| p.received[kind.index()] = true);
        }
    }
}

/// One light peer, as the loop holds it.
pub(super) struct Peer {
    pub(super) pc: RTCPeerConnection,
    pub(super) socket: Arc<UdpSocket>,
    pub(super) local: SocketAddr,
    pub(super) shared: Arc<PeerShared>,
    /// Audio's and the camera's senders.
    pub(super) senders: [RTCRtpSenderId; 2],
    pub(super) negotiated: [Negotiated; 2],
    pub(super) audio: AudioTrack,
    pub(super) video: VideoTrack,
    /// When the next audio packet and the next video frame are due, once media started.
    pub(super) next_audio: Instant,
    pub(super) next_video: Instant,
    /// Remote tracks by the kind of the m-line they arrived on.
    pub(super) tracks: Vec<(MediaStreamTrackId, MediaKind)>,
    /// The kind of each remote SSRC seen (found once by its track).
    pub(super) ssrcs: Vec<(u32, MediaKind)>,
    /// Whether media of each kind arrived yet.
    pub(super) seen: [bool; 3],
    /// The deadline of this peer's live `Rtc` heap entry; entries at other times are stale.
    pub(super) rtc_armed: Option<Instant>,
    /// A timeout was handled in this pass.
    pub(super) timed_out: bool,
    /// Something happened to the connection in this pass: it is flushed at the pass's end.
    pub(super) dirty: bool,
    /// What happened was more than media written: a datagram read, a timeout or a command,
    /// which may raise events, deliver messages and move the connection's deadline. A
    /// flush after writes alone only takes the datagrams to send (each look at events,
    /// messages or the deadline walks the whole of `rtc`'s pipeline).
    pub(super) stirred: bool,
    /// Media ticks run from the moment the connection first connected.
    pub(super) media_started: bool,
    pub(super) answered: bool,
    pub(super) pending_candidates: Vec<RTCIceCandidateInit>,
}

impl Peer {
    pub(super) fn apply_answer(&mut self, now: Instant, sdp: String) -> anyhow::Result<()> {
        let answer = RTCSessionDescription::answer(sdp).context("parsing the answer")?;
        self.pc
            .set_remote_description(now, answer)
            .context("set_remote_description(answer)")?;
        self.answered = true;
        for candidate in std::mem::take(&mut self.pending_candidates) {
            self.pc
                .add_remote_candidate(candidate)
                .context("adding a server candidate")?;
        }
        for (i, &id) in self.senders.iter().enumerate() {
            let Some(mut sender) = self.pc.rtp_sender(id) else {
                continue;
            };
            let params = &sender.get_parameters().rtp_parameters;
            self.negotiated[i] = Negotiated {
                payload_type: params.codecs.first().map_or(0, |c| c.payload_type),
                audio_level_id: params
                    .header_extensions
                    .iter()
                    .find(|e| e.uri == AUDIO_LEVEL_URI)
                    .and_then(|e| u8::try_from(e.id).ok())
                    .unwrap_or(0),
            };
        }
        Ok(())
    }

    fn write(&mut self, now: Instant, line: usize, packet: rtp::Packet) {
        let kind = MediaKind::ALL[line];
        self.shared.sent[kind.index()].fetch_add(1, Ordering::Relaxed);
        if let Some(mut sender) = self.pc.rtp_sender(self.senders[line])
            && let Err(err) = sender.write_rtp(now, packet)
        {
            tracing::debug!("light peer: writing {kind:?}: {err}");
        }
    }

    pub(super) fn send_audio(&mut self, now: Instant) {
        let sending = self.shared.sending(MediaKind::Audio);
        let sent_us = crate::latency::now_us();
        if let Some(packet) = self.audio.tick(self.negotiated[0], sending, sent_us) {
            self.write(now, 0, packet);
        }
    }

    pub(super) fn send_video(&mut self, now: Instant, frame: &mut Vec<rtp::Packet>) {
        let sending = self.shared.sending(MediaKind::Camera);
        self.video.tick(self.negotiated[1], sending, frame);
        for packet in frame.drain(..) {
            self.write(now, 1, packet);
        }
    }

    pub(super) fn received(&mut self, track: &MediaStreamTrackId, packet: &rtp::Packet) {
        if packet.payload.is_empty() {
            return; // padding, as the webrtc peers do not count it
        }
        let ssrc = packet.header.ssrc;
        let kind = match self.ssrcs.iter().find(|(s, _)| *s == ssrc) {
            Some(&(_, kind)) => kind,
            None => {
                let by_track = self.tracks.iter().find(|(t, _)| t == track);
                let kind = match by_track {
                    Some(&(_, kind)) => kind,
                    None if packet.header.payload_type == self.negotiated[0].payload_type => {
                        MediaKind::Audio
                    }
                    None => MediaKind::Camera,
                };
                self.ssrcs.push((ssrc, kind));
                kind
            }
        };
        let latency = (kind == MediaKind::Audio)
            .then(|| crate::tone::sent_us(&packet.payload))
            .flatten()
            .map(|sent| {
                let arrived = crate::latency::now_us();
                u32::try_from(arrived.saturating_sub(sent)).unwrap_or(u32::MAX)
            });
        let first = !std::mem::replace(&mut self.seen[kind.index()], true);
        self.shared.count_received(kind, latency, first);
    }
}

/// A peer as the webrtc test peers are built (same codecs, interceptors and three
/// sendrecv m-lines with a track each), on its own socket on 127.0.0.1, with its offer
/// (its one host candidate inside) applied.
pub(super) fn new_peer(now: Instant, fixture: &'static str) -> anyhow::Result<(Peer, String)> {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).context("binding UDP")?;
    socket.set_nonblocking(true)?;
    let local = socket.local_addr()?;
    let socket = Arc::new(UdpSocket::from_std(socket)?);

    let mut engine = media_engine()?;
    let registry = register_default_interceptors(Registry::new(), &mut engine)?;
    let registry = configure_twcc_sender_only(registry, &mut engine)?.with(
        Slot::from(FORWARDER_SLOT),
        KeyframeRequestForwarder::default(),
    );
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(engine)
        .with_interceptor_registry(registry)
        .build(now)
        .context("building the peer connection")?;

    let stream_id = format!("stream-{}", uuid::Uuid::new_v4().simple());
    let ssrcs = MediaKind::ALL.map(|_| new_ssrc());
    let mut senders = Vec::new();
    for kind in MediaKind::ALL {
        let track = crate::sender::media_track(kind, &stream_id, ssrcs[kind.index()]);
        let id = pc
            .add_transceiver_from_track(track, None)
            .with_context(|| format!("adding the {kind:?} transceiver"))?;
        senders.push(RTCRtpSenderId::from(id));
    }
    duet_server::media::inproc::add_host_candidate(&mut pc, local, false)
        .context("adding the host candidate")?;
    let offer = pc.create_offer(None).context("create_offer")?;
    let sdp = offer.sdp.clone();
    pc.set_local_description(now, offer)
        .context("set_local_description(offer)")?;

    let clip = IvfClip::fixture(fixture)?;
    let tone: Arc<Vec<Bytes>> = crate::tone::opus_tone_frames()?;
    let peer = Peer {
        pc,
        socket,
        local,
        shared: Arc::new(PeerShared::new()),
        senders: [senders[0], senders[1]],
        negotiated: Default::default(),
        audio: AudioTrack::new(ssrcs[0], tone)?,
        video: VideoTrack::new(ssrcs[1], clip)?,
        next_audio: now,
        next_video: now,
        tracks: Vec::new(),
        ssrcs: Vec::new(),
        seen: [false; 3],
        rtc_armed: None,
        timed_out: false,
        dirty: false,
        stirred: false,
        media_started: false,
        answered: false,
        pending_candidates: Vec::new(),
    };
    Ok((peer, sdp))
}
