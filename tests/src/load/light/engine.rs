//! The light peers' media loop: one OS thread running one task that owns every light peer's
//! sans-IO connection (`rtc`'s `RTCPeerConnection`, with `rtc`'s default interceptors as the
//! webrtc peers have), its UDP socket, its timers and its media. It waits on all sockets at
//! once (one readiness future per socket in a `FuturesUnordered`, so a wake-up touches only
//! the sockets that have datagrams) and on one timer: the earliest of a heap holding each
//! peer's `rtc` deadline and its next audio and video tick. Signaling stays async per peer
//! (`LightPeer`) and talks to the loop by [`Command`]s; what the run measures is read from
//! each peer's [`PeerShared`] without going through the loop.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use rtc::interceptor::{Registry, Slot};
use rtc::media_stream::{MediaStreamTrack, MediaStreamTrackId};
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_twcc_sender_only, register_default_interceptors,
};
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCIceCandidate, RTCIceCandidateInit,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp;
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

use super::media::{AUDIO_TICK, AudioTrack, Negotiated, VideoTrack, new_ssrc};
use crate::feedback::{FORWARDER_SLOT, KeyframeRequestForwarder, is_keyframe_request};
use crate::ivf::IvfClip;
use crate::sender::{AUDIO_LEVEL_URI, media_engine, opus_codec, vp8_codec};
use crate::stats::MediaKind;

/// Datagrams read from one socket per wake-up at most, so one busy peer cannot hold up
/// the others (the socket stays ready and is read again on the next turn).
const READS_PER_WAKE: usize = 64;
/// Room kept in the receive block for one datagram.
const DATAGRAM_ROOM: usize = 2048;
/// The receive block datagrams are read into (and split off, without a copy).
const BLOCK: usize = 256 * 1024;
/// How far a deadline `rtc` reports as already passed, after it was handled, is put off: a
/// guard against spinning on one that does not move.
const STUCK_DEADLINE: Duration = Duration::from_millis(1);

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

/// A new peer: its id in the loop, what it shares, and its offer.
pub(crate) struct Added {
    pub(crate) id: usize,
    pub(crate) shared: Arc<PeerShared>,
    pub(crate) offer: String,
}

/// What the signaling side asks of the loop.
enum Command {
    /// A new peer sending `fixture`: socket, connection, tracks, host candidate, offer.
    Add {
        fixture: &'static str,
        reply: oneshot::Sender<anyhow::Result<Added>>,
    },
    /// The server's answer to the peer's offer.
    Answer {
        id: usize,
        sdp: String,
        reply: oneshot::Sender<anyhow::Result<()>>,
    },
    /// A candidate the server trickled (held until the answer is applied).
    Candidate {
        id: usize,
        candidate: RTCIceCandidateInit,
    },
    /// Closes the connection and forgets the peer.
    Close { id: usize },
}

/// Datagrams the loop failed to send: lost by the tool, not by Duet.
#[derive(Default)]
pub(crate) struct SendErrors {
    count: AtomicU64,
    /// The first one, to say what it was.
    first: Mutex<Option<String>>,
}

impl SendErrors {
    fn record(&self, to: SocketAddr, err: &io::Error) {
        if self.count.fetch_add(1, Ordering::Relaxed) == 0
            && let Ok(mut first) = self.first.lock()
        {
            *first = Some(format!("to {to}: {err}"));
        }
    }

    /// How many, and the first.
    pub(crate) fn get(&self) -> (u64, Option<String>) {
        let first = self.first.lock().ok().and_then(|f| f.clone());
        (self.count.load(Ordering::Relaxed), first)
    }
}

/// The handle to the media loop; the loop (and its thread) ends when the last handle is
/// dropped.
#[derive(Clone)]
pub(crate) struct LightDriver {
    tx: mpsc::UnboundedSender<Command>,
    send_errors: Arc<SendErrors>,
}

impl LightDriver {
    /// Starts the loop on its own thread.
    pub(crate) fn start() -> anyhow::Result<LightDriver> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the light peers' runtime")?;
        let (tx, rx) = mpsc::unbounded_channel();
        let send_errors = Arc::new(SendErrors::default());
        let errors = Arc::clone(&send_errors);
        std::thread::Builder::new()
            .name("duet-load-media".to_owned())
            .spawn(move || runtime.block_on(run(rx, errors)))
            .context("starting the light peers' thread")?;
        Ok(LightDriver { tx, send_errors })
    }

    fn send(&self, command: Command) -> anyhow::Result<()> {
        self.tx
            .send(command)
            .map_err(|_| anyhow!("the light peers' media loop has stopped"))
    }

    /// A new peer sending the clip `fixture`, with its offer.
    pub(crate) async fn add(&self, fixture: &'static str) -> anyhow::Result<Added> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Add { fixture, reply })?;
        rx.await
            .map_err(|_| anyhow!("the media loop dropped the request"))?
    }

    /// Applies the server's answer to peer `id`'s offer.
    pub(crate) async fn answer(&self, id: usize, sdp: String) -> anyhow::Result<()> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Answer { id, sdp, reply })?;
        rx.await
            .map_err(|_| anyhow!("the media loop dropped the request"))?
    }

    /// A server candidate for peer `id`.
    pub(crate) fn candidate(&self, id: usize, candidate: RTCIceCandidateInit) {
        let _ = self.send(Command::Candidate { id, candidate });
    }

    /// Closes peer `id` (again is fine).
    pub(crate) fn close(&self, id: usize) {
        let _ = self.send(Command::Close { id });
    }

    /// Datagrams the loop could not send, and the first error.
    pub(crate) fn send_errors(&self) -> (u64, Option<String>) {
        self.send_errors.get()
    }
}

/// What a timer entry is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// The connection's own deadline (`poll_timeout`).
    Rtc,
    Audio,
    Video,
}

/// One light peer, as the loop holds it.
struct Peer {
    pc: RTCPeerConnection,
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    shared: Arc<PeerShared>,
    /// Audio's and the camera's senders.
    senders: [RTCRtpSenderId; 2],
    negotiated: [Negotiated; 2],
    audio: AudioTrack,
    video: VideoTrack,
    /// Remote tracks by the kind of the m-line they arrived on.
    tracks: Vec<(MediaStreamTrackId, MediaKind)>,
    /// Whether media of each kind arrived yet.
    seen: [bool; 3],
    /// The deadline of this peer's live `Rtc` heap entry; entries at other times are stale.
    rtc_armed: Option<Instant>,
    /// Media ticks run from the moment the connection first connected.
    media_started: bool,
    answered: bool,
    pending_candidates: Vec<RTCIceCandidateInit>,
}

/// Every peer, the timer heap and the receive block.
struct MediaLoop {
    peers: Vec<Option<Peer>>,
    timers: BinaryHeap<Reverse<(Instant, usize, Timer)>>,
    block: BytesMut,
    /// Reused for a video frame's packets.
    frame: Vec<rtp::Packet>,
    send_errors: Arc<SendErrors>,
}

async fn readable(socket: Arc<UdpSocket>, id: usize) -> (usize, Arc<UdpSocket>) {
    // An error (never seen on UDP) reads as readable; the read then says what it is.
    let _ = socket.readable().await;
    (id, socket)
}

async fn run(mut rx: mpsc::UnboundedReceiver<Command>, send_errors: Arc<SendErrors>) {
    let mut lp = MediaLoop {
        peers: Vec::new(),
        timers: BinaryHeap::new(),
        block: BytesMut::new(),
        frame: Vec::new(),
        send_errors,
    };
    let mut sockets = FuturesUnordered::new();
    let sleep = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(sleep);
    let mut armed: Option<Instant> = None;
    loop {
        let next = lp.next_timer();
        if next != armed {
            if let Some(at) = next {
                sleep.as_mut().reset(at.into());
            }
            armed = next;
        }
        tokio::select! {
            biased;
            command = rx.recv() => match command {
                Some(command) => {
                    if let Some((id, socket)) = lp.command(command) {
                        sockets.push(readable(socket, id));
                    }
                }
                None => break,
            },
            Some((id, socket)) = sockets.next(), if !sockets.is_empty() => {
                if lp.read(id, &socket) {
                    sockets.push(readable(socket, id));
                }
            }
            () = &mut sleep, if armed.is_some() => armed = None,
        }
        lp.fire_timers(Instant::now());
    }
    for peer in lp.peers.iter_mut().flatten() {
        let _ = peer.pc.close();
    }
}

impl MediaLoop {
    fn next_timer(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _, _))| *at)
    }

    fn peer(&mut self, id: usize) -> Option<&mut Peer> {
        self.peers.get_mut(id).and_then(Option::as_mut)
    }

    /// Runs a command; a new peer's socket comes back to be waited on.
    fn command(&mut self, command: Command) -> Option<(usize, Arc<UdpSocket>)> {
        let now = Instant::now();
        match command {
            Command::Add { fixture, reply } => {
                let id = self.peers.len();
                match new_peer(now, fixture) {
                    Ok((peer, offer)) => {
                        let socket = Arc::clone(&peer.socket);
                        let shared = Arc::clone(&peer.shared);
                        self.peers.push(Some(peer));
                        self.flush(id, now, false);
                        let _ = reply.send(Ok(Added { id, shared, offer }));
                        return Some((id, socket));
                    }
                    Err(err) => {
                        let _ = reply.send(Err(err));
                    }
                }
            }
            Command::Answer { id, sdp, reply } => {
                let result = match self.peer(id) {
                    Some(peer) => peer.apply_answer(now, sdp),
                    None => Err(anyhow!("no light peer {id}")),
                };
                self.flush(id, now, false);
                let _ = reply.send(result);
            }
            Command::Candidate { id, candidate } => {
                if let Some(peer) = self.peer(id) {
                    if peer.answered {
                        if let Err(err) = peer.pc.add_remote_candidate(candidate) {
                            tracing::warn!("light peer {id}: a server candidate: {err}");
                        }
                    } else {
                        peer.pending_candidates.push(candidate);
                    }
                }
                self.flush(id, now, false);
            }
            Command::Close { id } => {
                if let Some(mut peer) = self.peers.get_mut(id).and_then(Option::take) {
                    let _ = peer.pc.close();
                    // Whatever the close queued (DTLS close_notify) goes out now.
                    while let Some(out) = peer.pc.poll_write() {
                        let _ = peer
                            .socket
                            .try_send_to(&out.message, out.transport.peer_addr);
                    }
                }
            }
        }
        None
    }

    /// Reads what peer `id`'s socket holds into its connection; false once the peer is gone
    /// (its socket is then no longer waited on).
    fn read(&mut self, id: usize, socket: &UdpSocket) -> bool {
        let now = Instant::now();
        let Some(peer) = self.peers.get_mut(id).and_then(Option::as_mut) else {
            return false;
        };
        for _ in 0..READS_PER_WAKE {
            if self.block.capacity() - self.block.len() < DATAGRAM_ROOM {
                self.block = BytesMut::with_capacity(BLOCK);
            }
            match socket.try_recv_buf_from(&mut self.block) {
                Ok((_, from)) => {
                    let message = self.block.split();
                    let msg = TaggedBytesMut {
                        now,
                        transport: TransportContext {
                            local_addr: peer.local,
                            peer_addr: from,
                            ecn: None,
                            transport_protocol: TransportProtocol::UDP,
                        },
                        message,
                    };
                    if let Err(err) = peer.pc.handle_read(msg) {
                        tracing::debug!("light peer {id}: a datagram: {err}");
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) => {
                    tracing::debug!("light peer {id}: reading: {err}");
                    break;
                }
            }
        }
        self.flush(id, now, false);
        true
    }

    /// Runs every timer due at `now`.
    fn fire_timers(&mut self, now: Instant) {
        while let Some(&Reverse((at, id, timer))) = self.timers.peek() {
            if at > now {
                return;
            }
            self.timers.pop();
            let Some(peer) = self.peers.get_mut(id).and_then(Option::as_mut) else {
                continue;
            };
            match timer {
                Timer::Rtc => {
                    if peer.rtc_armed != Some(at) {
                        continue; // stale: an earlier entry replaced it
                    }
                    peer.rtc_armed = None;
                    let due = peer.pc.poll_timeout().is_some_and(|t| t <= now);
                    if due && let Err(err) = peer.pc.handle_timeout(now) {
                        tracing::debug!("light peer {id}: a timeout: {err}");
                    }
                    self.flush(id, now, due);
                }
                Timer::Audio => {
                    peer.send_audio(now);
                    self.timers
                        .push(Reverse((at + AUDIO_TICK, id, Timer::Audio)));
                    self.flush(id, now, false);
                }
                Timer::Video => {
                    peer.send_video(now, &mut self.frame);
                    let next = at + peer.video.frame_interval();
                    self.timers.push(Reverse((next, id, Timer::Video)));
                    self.flush(id, now, false);
                }
            }
        }
    }

    /// Takes everything peer `id`'s connection has for us: events, received messages and
    /// datagrams to send; then arms its deadline. `handled` says a timeout was just handled
    /// (a deadline still in the past is then put off a little).
    fn flush(&mut self, id: usize, now: Instant, handled: bool) {
        let Some(peer) = self.peers.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        let mut connected = false;
        while let Some(event) = peer.pc.poll_event() {
            match event {
                RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                    connected |= state == RTCPeerConnectionState::Connected;
                    peer.shared.progress.send_modify(|p| p.state = state);
                }
                RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                    let kind = match usize::from(init.receiver_id) {
                        0 => MediaKind::Audio,
                        1 => MediaKind::Camera,
                        _ => MediaKind::Screen,
                    };
                    peer.tracks.push((init.track_id, kind));
                }
                _ => {}
            }
        }
        while let Some(msg) = peer.pc.poll_read() {
            match msg.message {
                RTCMessage::RtpPacket(track, packet) => peer.received(&track, &packet),
                RTCMessage::RtcpPacket(_, packets) => {
                    let n = packets
                        .iter()
                        .filter(|p| is_keyframe_request(p.as_ref()))
                        .count() as u64;
                    if n > 0 {
                        peer.video.request_keyframe();
                        peer.shared
                            .keyframe_requests
                            .fetch_add(n, Ordering::Relaxed);
                    }
                }
                _ => {}
            }
        }
        while let Some(out) = peer.pc.poll_write() {
            let to = out.transport.peer_addr;
            if let Err(err) = peer.socket.try_send_to(&out.message, to) {
                self.send_errors.record(to, &err);
            }
        }
        if connected && !peer.media_started {
            // Like the webrtc peers' send loops: the first tick as soon as connected.
            peer.media_started = true;
            self.timers.push(Reverse((now, id, Timer::Audio)));
            self.timers.push(Reverse((now, id, Timer::Video)));
        }
        if let Some(mut at) = peer.pc.poll_timeout() {
            if handled && at <= now {
                at = now + STUCK_DEADLINE;
            }
            if peer.rtc_armed.is_none_or(|armed| at < armed) {
                peer.rtc_armed = Some(at);
                self.timers.push(Reverse((at, id, Timer::Rtc)));
            }
        }
    }
}

impl Peer {
    fn apply_answer(&mut self, now: Instant, sdp: String) -> anyhow::Result<()> {
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

    fn send_audio(&mut self, now: Instant) {
        let sending = self.shared.sending(MediaKind::Audio);
        let sent_us = crate::latency::now_us();
        if let Some(packet) = self.audio.tick(self.negotiated[0], sending, sent_us) {
            self.write(now, 0, packet);
        }
    }

    fn send_video(&mut self, now: Instant, frame: &mut Vec<rtp::Packet>) {
        let sending = self.shared.sending(MediaKind::Camera);
        self.video.tick(self.negotiated[1], sending, frame);
        for packet in frame.drain(..) {
            self.write(now, 1, packet);
        }
    }

    fn received(&mut self, track: &MediaStreamTrackId, packet: &rtp::Packet) {
        if packet.payload.is_empty() {
            return; // padding, as the webrtc peers do not count it
        }
        let kind = self
            .tracks
            .iter()
            .find(|(t, _)| t == track)
            .map(|(_, k)| *k)
            .unwrap_or(
                if packet.header.payload_type == self.negotiated[0].payload_type {
                    MediaKind::Audio
                } else {
                    MediaKind::Camera
                },
            );
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

/// A track as the webrtc peers' (`sender::LocalTrack`): its own SSRC, a unique id.
fn local_track(kind: MediaKind, stream_id: &str, ssrc: u32) -> MediaStreamTrack {
    let (label, codec_kind, codec) = match kind {
        MediaKind::Audio => ("audio", RtpCodecKind::Audio, opus_codec()),
        MediaKind::Camera => ("camera", RtpCodecKind::Video, vp8_codec()),
        MediaKind::Screen => ("screen", RtpCodecKind::Video, vp8_codec()),
    };
    MediaStreamTrack::new(
        stream_id.to_owned(),
        format!("{label}-{}", uuid::Uuid::new_v4().simple()),
        label.to_owned(),
        codec_kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec,
            ..Default::default()
        }],
    )
}

/// A UDP host candidate for `addr`, as the server adds its own.
fn add_host_candidate(pc: &mut RTCPeerConnection, addr: SocketAddr) -> anyhow::Result<()> {
    let candidate = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".to_owned(),
            address: addr.ip().to_string(),
            port: addr.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()?;
    let init = RTCIceCandidate::from(&candidate).to_json()?;
    pc.add_local_candidate(init)?;
    Ok(())
}

/// A peer as the webrtc test peers are built (same codecs, interceptors and three
/// sendrecv m-lines with a track each), on its own socket on 127.0.0.1, with its offer
/// (its one host candidate inside) applied.
fn new_peer(now: Instant, fixture: &'static str) -> anyhow::Result<(Peer, String)> {
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
        let track = local_track(kind, &stream_id, ssrcs[kind.index()]);
        let id = pc
            .add_transceiver_from_track(track, None)
            .with_context(|| format!("adding the {kind:?} transceiver"))?;
        senders.push(RTCRtpSenderId::from(id));
    }
    add_host_candidate(&mut pc, local).context("adding the host candidate")?;
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
        tracks: Vec::new(),
        seen: [false; 3],
        rtc_armed: None,
        media_started: false,
        answered: false,
        pending_candidates: Vec::new(),
    };
    Ok((peer, sdp))
}
