//! [`MediaPeer`]: one WebRTC peer connection with Duet's three media sections, real media in
//! both directions and a record of every payload. No signaling: [`crate::TestPeer`] adds the
//! WebSocket, and a test can also wire two `MediaPeer`s to each other directly.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use std::time::Duration;

use anyhow::{Context, anyhow};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::ice::network_type::NetworkType;
use rtc::interceptor::{Registry, Slot};
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_twcc_sender_only, register_default_interceptors,
};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, RTCConfigurationBuilder, RTCIceCandidateInit,
    RTCIceGatheringState, RTCIceServer, RTCIceTransportPolicy, RTCSessionDescription,
    SettingEngineBuilder,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::candidates::{rewrite_candidate, rewrite_sdp_candidates, tcp_passive_candidates};
use crate::events::{Handler, Shared};
use crate::feedback::{FORWARDER_SLOT, KeyframeRequestForwarder, RtcpCounter};
use crate::ivf::IvfClip;
use crate::sender::{self, LocalTrack, SendContext, SendControl, media_engine};
use crate::stats::{MediaKind, PeerStats};
use crate::tasks::{TaskSet, wait_watch};
use crate::tone;

pub use crate::options::{PeerOptions, Transport};

/// How long to wait for ICE gathering when candidates go into the SDP.
const GATHER_TIMEOUT: Duration = Duration::from_secs(15);

/// A local ICE candidate as it is trickled: `None` marks the end of candidates.
pub type LocalCandidate = Option<RTCIceCandidateInit>;

/// One peer connection with audio, camera and screen transceivers (all sendrecv, in that
/// order), bound to 127.0.0.1 only.
pub struct MediaPeer {
    pc: Arc<dyn PeerConnection>,
    shared: Arc<Shared>,
    control: Arc<SendControl>,
    locals: Vec<LocalTrack>,
    senders: Vec<Arc<dyn RtpSender>>,
    candidates: Mutex<Option<mpsc::UnboundedReceiver<LocalCandidate>>>,
    rewrite_remote: Option<SocketAddr>,
    transport: Transport,
    tasks: Arc<TaskSet>,
}

impl MediaPeer {
    /// Builds the connection, its three transceivers and the (idle until connected) media
    /// loops. `ice_servers` as from `joined.ice_servers`; empty is fine on loopback.
    pub async fn new(
        ice_servers: Vec<RTCIceServer>,
        opts: &PeerOptions,
    ) -> anyhow::Result<MediaPeer> {
        let (stats, _) = watch::channel(PeerStats::default());
        let stats = Arc::new(stats);
        let stream_id = format!("stream-{}", uuid::Uuid::new_v4().simple());
        let locals: Vec<LocalTrack> = MediaKind::ALL
            .into_iter()
            .map(|kind| LocalTrack::new(kind, &stream_id))
            .collect();
        let ssrcs = MediaKind::ALL.map(|kind| locals[kind.index()].ssrc);

        let mut engine = media_engine()?;
        // Like a browser, stamp outgoing packets with transport-wide sequence
        // numbers so the server can send congestion feedback.
        let registry = register_default_interceptors(Registry::new(), &mut engine)?;
        let registry = configure_twcc_sender_only(registry, &mut engine)?.with(
            Slot::from(FORWARDER_SLOT),
            KeyframeRequestForwarder::counting(RtcpCounter::new(Arc::clone(&stats), ssrcs)),
        );
        // Tests run in a namespace with only `lo`: gather loopback, no mDNS (`.local` names and
        // the multicast socket are useless there).
        let mut settings = SettingEngineBuilder::new()
            .with_include_loopback_candidate(true)
            .with_multicast_dns_mode(MulticastDnsMode::Disabled);
        let loopback = vec!["127.0.0.1:0".to_owned()];
        let (udp_addrs, tcp_addrs) = match opts.transport {
            Transport::Udp => (loopback, Vec::new()),
            Transport::Tcp => {
                settings = settings.with_network_types(vec![NetworkType::Tcp4]);
                (Vec::new(), loopback)
            }
        };
        let settings = settings.build();
        let policy = if opts.relay_only {
            RTCIceTransportPolicy::Relay
        } else {
            RTCIceTransportPolicy::All
        };
        let config = RTCConfigurationBuilder::new()
            .with_ice_servers(ice_servers)
            .with_ice_transport_policy(policy)
            .build();

        let (gathering, _) = watch::channel(RTCIceGatheringState::New);
        let tasks = Arc::new(TaskSet::default());
        let shared = Arc::new(Shared {
            stats,
            gathering,
            transceivers: Mutex::new(Vec::new()),
            remote: Mutex::new([None, None, None]),
            tasks: Arc::downgrade(&tasks),
        });
        let (cand_tx, cand_rx) = mpsc::unbounded_channel();
        let handler = Arc::new(Handler {
            shared: Arc::clone(&shared),
            candidates: cand_tx,
        });

        // A concrete address, not a wildcard: webrtc expands `0.0.0.0` to every interface
        // *except* loopback, which leaves nothing inside the test namespace.
        let pc = PeerConnectionBuilder::new()
            .with_configuration(config)
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .with_handler(handler)
            .with_udp_addrs(udp_addrs)
            .with_tcp_addrs(tcp_addrs)
            .build()
            .await
            .context("building the peer connection")?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);

        let control = Arc::new(SendControl::default());
        if opts.quiet {
            control.quiet();
        }
        control.set_voice_bit(opts.voice_bit);
        control.set_enabled(MediaKind::Audio, opts.send_audio);
        control.set_enabled(MediaKind::Camera, opts.send_video);
        let mut senders = Vec::new();
        for local in &locals {
            let kind = local.kind;
            let transceiver = pc
                .add_transceiver_from_track(Arc::clone(&local.track) as Arc<dyn TrackLocal>, None)
                .await
                .with_context(|| format!("adding the {kind:?} transceiver"))?;
            let sender = transceiver
                .sender()
                .await?
                .ok_or_else(|| anyhow!("the {kind:?} transceiver has no sender"))?;
            if let Ok(mut ids) = shared.transceivers.lock() {
                ids.push((transceiver.id(), kind));
            }
            senders.push(sender);
        }

        let peer = MediaPeer {
            pc,
            shared,
            control,
            locals,
            senders,
            candidates: Mutex::new(Some(cand_rx)),
            rewrite_remote: opts.rewrite_server_candidates,
            transport: opts.transport,
            tasks,
        };
        peer.start_media(opts.video_fixture)?;
        Ok(peer)
    }

    fn start_media(&self, video_fixture: &str) -> anyhow::Result<()> {
        let frames = tone::opus_tone_frames()?;
        let clip = IvfClip::fixture(video_fixture)?;
        for local in &self.locals {
            let ctx = || SendContext {
                local: local.clone(),
                control: Arc::clone(&self.control),
                stats: Arc::clone(&self.shared.stats),
            };
            self.tasks.spawn(sender::keyframe_request_loop(ctx()));
            match local.kind {
                MediaKind::Audio => self
                    .tasks
                    .spawn(sender::audio_loop(ctx(), Arc::clone(&frames))),
                _ => self
                    .tasks
                    .spawn(sender::video_loop(ctx(), Arc::clone(&clip))),
            }
        }
        Ok(())
    }

    /// Sends `frames` (20 ms Opus frames) once on the audio line, starting
    /// at the next tick, then silence.
    pub fn play_audio(&self, frames: Arc<Vec<Bytes>>) {
        self.control.play(frames);
    }

    /// The underlying connection, for anything this API does not cover.
    pub fn connection(&self) -> &Arc<dyn PeerConnection> {
        &self.pc
    }

    /// Creates and applies an offer; returns its SDP (with every candidate when `gather_all`).
    pub async fn create_offer(&self, gather_all: bool) -> anyhow::Result<String> {
        let offer = self.pc.create_offer(None).await.context("create_offer")?;
        self.pc
            .set_local_description(offer)
            .await
            .context("set_local_description(offer)")?;
        self.local_sdp(gather_all).await
    }

    /// Applies a remote offer, creates and applies the answer; returns the answer SDP.
    pub async fn accept_offer(&self, sdp: &str, gather_all: bool) -> anyhow::Result<String> {
        let offer =
            RTCSessionDescription::offer(self.remote_sdp(sdp)).context("parsing the offer")?;
        self.pc
            .set_remote_description(offer)
            .await
            .context("set_remote_description(offer)")?;
        let answer = self.pc.create_answer(None).await.context("create_answer")?;
        self.pc
            .set_local_description(answer)
            .await
            .context("set_local_description(answer)")?;
        self.refresh_payload_types().await?;
        self.local_sdp(gather_all).await
    }

    /// Applies the remote answer to our offer.
    pub async fn apply_answer(&self, sdp: &str) -> anyhow::Result<()> {
        let sdp = self.remote_sdp(sdp);
        let answer = RTCSessionDescription::answer(sdp.clone()).context("parsing the answer")?;
        self.pc
            .set_remote_description(answer)
            .await
            .context("set_remote_description(answer)")?;
        if self.transport == Transport::Tcp {
            // webrtc 0.21 dials only the passive candidates given to add_ice_candidate.
            for candidate in tcp_passive_candidates(&sdp) {
                let init = RTCIceCandidateInit {
                    candidate,
                    ..Default::default()
                };
                self.pc
                    .add_ice_candidate(init)
                    .await
                    .context("add_ice_candidate(tcp passive)")?;
            }
        }
        self.refresh_payload_types().await
    }

    /// Whether a remote description has been applied (candidates can be added).
    pub async fn has_remote_description(&self) -> bool {
        self.pc.remote_description().await.is_some()
    }

    /// A remote SDP as it is applied: with its candidates rewritten when
    /// [`PeerOptions::rewrite_server_candidates`] is set.
    fn remote_sdp(&self, sdp: &str) -> String {
        match self.rewrite_remote {
            Some(addr) => rewrite_sdp_candidates(sdp, addr),
            None => sdp.to_owned(),
        }
    }

    /// Adds a remote ICE candidate (rewritten when [`PeerOptions::rewrite_server_candidates`]
    /// is set).
    pub async fn add_remote_candidate(
        &self,
        mut candidate: RTCIceCandidateInit,
    ) -> anyhow::Result<()> {
        if let Some(addr) = self.rewrite_remote {
            candidate.candidate = rewrite_candidate(&candidate.candidate, addr);
        }
        self.pc
            .add_ice_candidate(candidate)
            .await
            .context("add_ice_candidate")
    }

    /// The stream of local candidates as gathered (`None` = end of candidates). Can be taken
    /// once.
    pub fn take_local_candidates(&self) -> Option<mpsc::UnboundedReceiver<LocalCandidate>> {
        self.candidates.lock().ok()?.take()
    }

    /// Fills in what webrtc 0.21 leaves out of a gathered candidate (`sdpMid` is `""`,
    /// `usernameFragment` absent) from the local description: the first m-line's mid, index 0
    /// (everything is bundled on it) and our ICE ufrag — what a browser would send.
    pub async fn complete_candidate(
        &self,
        mut candidate: RTCIceCandidateInit,
    ) -> RTCIceCandidateInit {
        let Some(desc) = self.pc.local_description().await else {
            return candidate;
        };
        let attr = |name: &str| {
            desc.sdp
                .lines()
                .skip_while(|l| !l.starts_with("m="))
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
        };
        if candidate.sdp_mid.as_deref().is_none_or(str::is_empty)
            && let Some(mid) = attr("a=mid:")
        {
            candidate.sdp_mid = Some(mid);
            candidate.sdp_mline_index = Some(0);
        }
        if candidate.username_fragment.is_none() {
            candidate.username_fragment = attr("a=ice-ufrag:");
        }
        candidate
    }

    async fn local_sdp(&self, gather_all: bool) -> anyhow::Result<String> {
        if gather_all {
            let mut rx = self.shared.gathering.subscribe();
            wait_watch(&mut rx, GATHER_TIMEOUT, "ICE gathering", |s| {
                *s == RTCIceGatheringState::Complete
            })
            .await?;
        }
        let desc = self
            .pc
            .local_description()
            .await
            .ok_or_else(|| anyhow!("no local description"))?;
        Ok(desc.sdp)
    }

    /// Reads each sender's negotiated payload type (sending starts once it is known) and the
    /// audio-level extension's id (audio carries levels once it is known).
    async fn refresh_payload_types(&self) -> anyhow::Result<()> {
        for (local, sender) in self.locals.iter().zip(&self.senders) {
            let params = sender.get_parameters().await?;
            if let Some(codec) = params.rtp_parameters.codecs.first() {
                self.control
                    .set_payload_type(local.kind, codec.payload_type);
            }
            if local.kind == MediaKind::Audio {
                let id = params
                    .rtp_parameters
                    .header_extensions
                    .iter()
                    .find(|e| e.uri == sender::AUDIO_LEVEL_URI)
                    .and_then(|e| u8::try_from(e.id).ok())
                    .unwrap_or(0);
                self.control.set_audio_level_id(id);
            }
        }
        Ok(())
    }

    /// Starts or stops sending one kind (the screen m-line is off by default).
    pub fn set_sending(&self, kind: MediaKind, on: bool) {
        self.control.set_enabled(kind, on);
    }

    /// From now on, every audio packet's RTP timestamp jumps `ticks` ahead
    /// of the last one's on top of its 20 ms (0 to stop): a misbehaving or
    /// hostile sender.
    pub fn set_audio_timestamp_jump(&self, ticks: u32) {
        self.control.set_audio_timestamp_jump(ticks);
    }

    /// Our SSRC for `kind`.
    pub fn local_ssrc(&self, kind: MediaKind) -> u32 {
        self.locals[kind.index()].ssrc
    }

    /// SSRC of the remote media received as `kind`, once some arrived.
    pub fn remote_ssrc(&self, kind: MediaKind) -> Option<u32> {
        let remote = self.shared.remote.lock().ok()?;
        remote[kind.index()].as_ref().map(|(_, ssrc)| *ssrc)
    }

    /// Sends an RTCP PLI for the remote track received as `kind` (media SSRC = its SSRC).
    pub async fn send_pli_for(&self, kind: MediaKind) -> anyhow::Result<()> {
        let (track, media_ssrc) = {
            let remote = self
                .shared
                .remote
                .lock()
                .map_err(|_| anyhow!("state poisoned"))?;
            remote[kind.index()]
                .clone()
                .ok_or_else(|| anyhow!("no remote {kind:?} track received yet"))?
        };
        let pli = PictureLossIndication {
            sender_ssrc: self.local_ssrc(kind),
            media_ssrc,
        };
        track
            .write_rtcp(vec![Box::new(pli)])
            .await
            .context("writing the PLI")?;
        self.shared
            .stats
            .send_modify(|s| *s.plis_sent.get_mut(kind) += 1);
        Ok(())
    }

    /// Sends a PLI for the remote camera track.
    pub async fn send_pli(&self) -> anyhow::Result<()> {
        self.send_pli_for(MediaKind::Camera).await
    }

    /// PLI + FIR received about our camera sender.
    pub fn keyframe_requests_received(&self) -> u64 {
        *self.stats().keyframe_requests.get(MediaKind::Camera)
    }

    /// A snapshot of everything observed so far.
    pub fn stats(&self) -> PeerStats {
        self.shared.stats.borrow().clone()
    }

    /// A receiver that sees every stats update.
    pub fn watch_stats(&self) -> watch::Receiver<PeerStats> {
        self.shared.stats.subscribe()
    }

    /// Waits until `cond` holds for the stats; the error carries the last snapshot.
    pub async fn wait_until<F>(&self, cond: F, timeout: Duration) -> anyhow::Result<PeerStats>
    where
        F: FnMut(&PeerStats) -> bool,
    {
        let mut rx = self.shared.stats.subscribe();
        wait_watch(&mut rx, timeout, "waiting on peer stats", cond).await
    }

    /// Waits for the peer connection to reach `connected`.
    pub async fn wait_connected(&self, timeout: Duration) -> anyhow::Result<()> {
        self.wait_until(|s| s.connected(), timeout)
            .await
            .map(|_| ())
    }

    /// Closes the connection and stops every task.
    pub async fn close(&self) {
        let _ = self.pc.close().await;
        self.tasks.abort_all();
    }
}

impl Drop for MediaPeer {
    fn drop(&mut self) {
        self.tasks.abort_all();
        let pc = Arc::clone(&self.pc);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = pc.close().await;
            });
        }
    }
}
