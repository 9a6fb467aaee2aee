//! 1:1 calls in virtual time: sans-IO `rtc` peers that offer as Duet's web
//! client does, relayed through Duet's real engine (`media::inproc`) with
//! no sockets. Datagrams are delivered at once (or dropped, as the test
//! says); every timer fires at its deadline. Shared by the in-process
//! benchmark (`benches/engine.rs`) and the engine's virtual-time tests
//! (`tests/engine_virtual.rs`), which include this file by path.
//!
//! The relay in the middle is a [`Relay`]: Duet's engine by default, or
//! (for the benchmark's comparison, built with `--features compare-str0m`)
//! a str0m SFU (`str0m_relay`), driven by the same peers and the same
//! packet schedule.

#![allow(dead_code)] // Each includer uses its own part.

#[cfg(feature = "compare-str0m")]
pub mod str0m_relay;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use duet_server::media::inproc::{InProcessEngine, add_host_candidate};
use duet_signaling::{ConnId, Role, SessionId};
use rtc::interceptor::Registry;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::RTCPeerConnectionBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine,
};
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};

/// What sits between the peers: a media server without sockets or a clock
/// of its own, handed datagrams and the time.
pub trait Relay {
    /// A datagram it sends.
    type Datagram: AsRef<[u8]>;

    /// `role`'s offer in `session`, on connection `conn`: the answer.
    fn offer(
        &mut self,
        now: Instant,
        session: SessionId,
        role: Role,
        conn: ConnId,
        sdp: String,
    ) -> anyhow::Result<String>;
    /// A datagram that arrived from `from`.
    fn receive(&mut self, now: Instant, from: SocketAddr, data: BytesMut);
    /// When it next wants `handle_timeouts`.
    fn next_wake(&mut self) -> Instant;
    fn handle_timeouts(&mut self, now: Instant);
    /// Moves what it sent since the last call into `out` (destination,
    /// datagram).
    fn take_sent(&mut self, out: &mut Vec<(SocketAddr, Self::Datagram)>);
    /// RTP packets it forwarded (retransmissions included, if it counts
    /// them).
    fn forwarded(&self) -> u64;
}

impl Relay for InProcessEngine {
    type Datagram = BytesMut;

    fn offer(
        &mut self,
        now: Instant,
        session: SessionId,
        role: Role,
        conn: ConnId,
        sdp: String,
    ) -> anyhow::Result<String> {
        Ok(InProcessEngine::offer(self, now, session, role, conn, sdp)?)
    }

    fn receive(&mut self, now: Instant, from: SocketAddr, data: BytesMut) {
        InProcessEngine::receive(self, now, from, data);
    }

    fn next_wake(&mut self) -> Instant {
        InProcessEngine::next_wake(self)
    }

    fn handle_timeouts(&mut self, now: Instant) {
        InProcessEngine::handle_timeouts(self, now);
    }

    fn take_sent(&mut self, out: &mut Vec<(SocketAddr, BytesMut)>) {
        InProcessEngine::take_sent(self, out);
    }

    fn forwarded(&self) -> u64 {
        self.counters().rtp_forwarded
    }
}

/// What the includer wants to know of the engine's own work: called
/// around every call into the engine.
pub trait Meter {
    fn enter(&mut self) {}
    fn exit(&mut self) {}
}

/// Measures nothing.
pub struct NoMeter;

impl Meter for NoMeter {}

/// A video payload's size: audio payloads are 100 bytes.
pub const VIDEO_PAYLOAD: usize = 1000;

/// One browser stand-in: an `rtc` connection with `rtc`'s default
/// interceptors (NACK, reports, congestion feedback, as a browser has)
/// that offers audio, camera and screen as Duet's web client does, and
/// sends on the first two.
pub struct Peer {
    pub pc: RTCPeerConnection,
    pub addr: SocketAddr,
    pub session: SessionId,
    pub role: Role,
    pub connected: bool,
    audio: Sender,
    video: Sender,
    /// RTP packets it received (forwarded by Duet).
    pub received: u64,
    /// Sequence numbers of the video packets it received, in order.
    pub video_seqs: Vec<u16>,
}

struct Sender {
    id: RTCRtpSenderId,
    ssrc: u32,
    payload_type: u8,
    seq: u16,
    timestamp: u32,
}

const OPUS_FMTP: &str = "minptime=10;useinbandfec=1";

fn peer(
    addr: SocketAddr,
    session: SessionId,
    role: Role,
    ssrc_base: u32,
    now: Instant,
) -> Result<Peer, rtc::shared::error::Error> {
    let mut media = MediaEngine::default();
    media.register_default_codecs()?;
    let registry = register_default_interceptors(Registry::new(), &mut media)?;
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .build(now)?;
    let codec = |mime: &str, clock_rate, channels, fmtp: &str| RTCRtpCodec {
        mime_type: mime.to_owned(),
        clock_rate,
        channels,
        sdp_fmtp_line: fmtp.to_owned(),
        rtcp_feedback: vec![],
    };
    let mut track = |kind, name: &str, ssrc, codec: RTCRtpCodec| {
        let encoding = RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec,
            ..Default::default()
        };
        pc.add_track(MediaStreamTrack::new(
            "sim".to_owned(),
            name.to_owned(),
            name.to_owned(),
            kind,
            vec![encoding],
        ))
    };
    let audio = track(
        RtpCodecKind::Audio,
        "audio",
        ssrc_base,
        codec(MIME_TYPE_OPUS, 48000, 2, OPUS_FMTP),
    )?;
    let video = track(
        RtpCodecKind::Video,
        "camera",
        ssrc_base + 1,
        codec(MIME_TYPE_VP8, 90000, 0, ""),
    )?;
    pc.add_transceiver_from_kind(RtpCodecKind::Video, None)?;
    add_host_candidate(&mut pc, addr, false)?;
    let sender = |id, ssrc| Sender {
        id,
        ssrc,
        payload_type: 0,
        seq: 0,
        timestamp: 0,
    };
    Ok(Peer {
        pc,
        addr,
        session,
        role,
        connected: false,
        audio: sender(audio, ssrc_base),
        video: sender(video, ssrc_base + 1),
        received: 0,
        video_seqs: Vec::new(),
    })
}

/// Decides, per datagram Duet sends to peer `index`, whether the network
/// loses it.
pub type Loss = Box<dyn FnMut(usize, &[u8]) -> bool>;

/// The engine (or another [`Relay`]), every call's two peers, and virtual
/// time.
pub struct Sim<M: Meter, R: Relay = InProcessEngine> {
    pub now: Instant,
    pub engine: R,
    engine_addr: SocketAddr,
    pub peers: Vec<Peer>,
    by_addr: HashMap<SocketAddr, usize>,
    pub meter: M,
    /// The engine's receive block, as its socket loop keeps one (see
    /// `engine::recv_buffer`): datagrams are copied into it.
    block: BytesMut,
    sent: Vec<(SocketAddr, R::Datagram)>,
    /// Times the engine's timers woke it.
    pub wakeups: u64,
    /// Losses on the way from Duet to the peers.
    pub loss: Option<Loss>,
    next_conn: u64,
    next_addr: u32,
}

impl<M: Meter> Sim<M> {
    /// Calls through Duet's engine.
    pub fn new(meter: M) -> anyhow::Result<Sim<M>> {
        Sim::with_relay(meter, |addr| Ok(InProcessEngine::new(addr)?))
    }
}

impl<M: Meter, R: Relay> Sim<M, R> {
    /// Calls through the relay `make` builds for its advertised address.
    pub fn with_relay(
        meter: M,
        make: impl FnOnce(SocketAddr) -> anyhow::Result<R>,
    ) -> anyhow::Result<Sim<M, R>> {
        let engine_addr = SocketAddr::from(([10, 1, 0, 1], 3478));
        Ok(Sim {
            now: Instant::now(),
            engine: make(engine_addr)?,
            engine_addr,
            peers: Vec::new(),
            by_addr: HashMap::new(),
            meter,
            block: BytesMut::new(),
            sent: Vec::new(),
            wakeups: 0,
            loss: None,
            next_conn: 0,
            next_addr: 0,
        })
    }

    /// Runs `f` on the engine, between the meter's enter and exit.
    fn engine<T>(&mut self, f: impl FnOnce(&mut R, &mut BytesMut) -> T) -> T {
        self.meter.enter();
        let out = f(&mut self.engine, &mut self.block);
        self.meter.exit();
        out
    }

    /// Call `n`'s mentor and mentee join: indexes `2n` and `2n + 1` when
    /// calls are added in order.
    pub fn add_call(&mut self, n: u32) -> anyhow::Result<SessionId> {
        let session = SessionId(uuid::Uuid::from_u128(u128::from(n) + 1));
        for role in [Role::Mentor, Role::Mentee] {
            let index = self.peers.len();
            let p = self.offer(session, role, index)?;
            self.peers.push(p);
        }
        Ok(session)
    }

    /// Peer `index` joins again on a new connection from a new address (a
    /// reload, a network change), as its page would.
    pub fn rejoin(&mut self, index: usize) -> anyhow::Result<()> {
        let (session, role) = (self.peers[index].session, self.peers[index].role);
        let old = self.peers[index].addr;
        self.by_addr.remove(&old);
        self.peers[index] = self.offer(session, role, index)?;
        Ok(())
    }

    fn offer(&mut self, session: SessionId, role: Role, index: usize) -> anyhow::Result<Peer> {
        self.next_addr += 1;
        let [_, _, hi, lo] = self.next_addr.to_be_bytes();
        let addr = SocketAddr::from(([10, 0, hi, lo], 40_000));
        let ssrc_base = 1000 * self.next_addr;
        let mut p = peer(addr, session, role, ssrc_base, self.now)?;
        let offer = p.pc.create_offer(None)?;
        p.pc.set_local_description(self.now, offer.clone())?;
        let now = self.now;
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        let answer = self.engine(|e, _| e.offer(now, session, role, conn, offer.sdp))?;
        p.pc.set_remote_description(now, RTCSessionDescription::answer(answer)?)?;
        self.by_addr.insert(addr, index);
        Ok(p)
    }

    /// Runs until every peer is connected, for 30 s of virtual time at most.
    pub fn connect_all(&mut self) -> anyhow::Result<()> {
        let deadline = self.now + Duration::from_secs(30);
        while !self.peers.iter().all(|p| p.connected) {
            anyhow::ensure!(self.now < deadline, "calls did not connect within 30 s");
            let step = self.now + Duration::from_millis(50);
            self.run_until(step, None);
        }
        Ok(())
    }

    /// Moves datagrams both ways until nobody has anything to send.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..self.peers.len() {
                while let Some(out) = self.peers[i].pc.poll_write() {
                    moved = true;
                    let (from, now) = (self.peers[i].addr, self.now);
                    self.engine(|e, block| {
                        if block.capacity() - block.len() < 4096 {
                            *block = BytesMut::with_capacity(512 * 1024);
                        }
                        block.extend_from_slice(&out.message);
                        e.receive(now, from, block.split());
                    });
                }
                let p = &mut self.peers[i];
                while let Some(event) = p.pc.poll_event() {
                    if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) = event {
                        p.connected = state == RTCPeerConnectionState::Connected;
                    }
                }
                while let Some(TaggedRTCMessage { message, .. }) = p.pc.poll_read() {
                    if let RTCMessage::RtpPacket(_, packet) = message {
                        p.received += 1;
                        if packet.payload.len() == VIDEO_PAYLOAD {
                            p.video_seqs.push(packet.header.sequence_number);
                        }
                    }
                }
            }
            let mut sent = std::mem::take(&mut self.sent);
            self.engine(|e, _| e.take_sent(&mut sent));
            for (to, data) in &sent {
                moved = true;
                let Some(&i) = self.by_addr.get(to) else {
                    continue;
                };
                if let Some(loss) = &mut self.loss
                    && loss(i, data.as_ref())
                {
                    continue;
                }
                let msg = TaggedBytesMut {
                    now: self.now,
                    transport: TransportContext {
                        local_addr: *to,
                        peer_addr: self.engine_addr,
                        ecn: None,
                        transport_protocol: TransportProtocol::UDP,
                    },
                    message: BytesMut::from(data.as_ref()),
                };
                let _ = self.peers[i].pc.handle_read(msg);
            }
            // The engine's datagrams are freed on its side, as the socket
            // loop frees them once sent.
            self.engine(|_, _| sent.clear());
            self.sent = sent;
            if !moved {
                return;
            }
        }
    }

    /// Advances virtual time to `until`, firing every timer on the way.
    pub fn run_until(&mut self, until: Instant, mut media: Option<&mut Media>) {
        loop {
            let engine_at = self.engine(|e, _| e.next_wake());
            let peers_at = self
                .peers
                .iter_mut()
                .filter_map(|p| p.pc.poll_timeout())
                .min();
            let media_at = media.as_ref().map(|m| m.next);
            let next = [Some(engine_at), peers_at, media_at, Some(until)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(until);
            if next >= until {
                self.now = until;
                return;
            }
            self.now = self.now.max(next);
            let now = self.now;
            if engine_at <= now {
                self.wakeups += 1;
                self.engine(|e, _| e.handle_timeouts(now));
            }
            for p in &mut self.peers {
                if p.pc.poll_timeout().is_some_and(|at| at <= now) {
                    let _ = p.pc.handle_timeout(now);
                }
            }
            if let Some(m) = media.as_deref_mut()
                && m.next <= now
            {
                m.send(now, &mut self.peers);
            }
            self.pump();
        }
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration, media: Option<&mut Media>) {
        let until = self.now + d;
        self.run_until(until, media);
    }

    pub fn received(&self) -> u64 {
        self.peers.iter().map(|p| p.received).sum()
    }
}

/// Every peer's media: a tick every 20 ms sends audio (100 bytes); every
/// 66.7 ms (15 fps) a video frame of three packets of [`VIDEO_PAYLOAD`]
/// bytes, the load tool's 320x240 shape.
pub struct Media {
    next: Instant,
    tick: u64,
    audio: Bytes,
    video: Bytes,
}

impl Media {
    const TICK: Duration = Duration::from_millis(20);

    pub fn new(now: Instant) -> Media {
        let mut video = vec![0u8; VIDEO_PAYLOAD];
        // VP8 payload descriptor (start of partition), then a frame header.
        video[0] = 0x10;
        Media {
            next: now,
            tick: 0,
            audio: Bytes::from(vec![0x78u8; 100]),
            video: Bytes::from(video),
        }
    }

    fn send(&mut self, now: Instant, peers: &mut [Peer]) {
        // 15 frames/s on a 50/s tick: frames on ticks 0, 4, 7, 10, 14, ...
        let frame = self.tick == 0 || (self.tick * 15) / 50 != ((self.tick - 1) * 15) / 50;
        for p in peers.iter_mut() {
            send(now, &mut p.pc, &mut p.audio, self.audio.clone(), 960, true);
            if frame {
                for k in 0..3 {
                    let last = k == 2;
                    let step = if last { 6000 } else { 0 };
                    send(now, &mut p.pc, &mut p.video, self.video.clone(), step, last);
                }
            }
        }
        self.tick += 1;
        self.next = now + Self::TICK;
    }
}

fn send(
    now: Instant,
    pc: &mut RTCPeerConnection,
    s: &mut Sender,
    payload: Bytes,
    ts_step: u32,
    marker: bool,
) {
    let Some(mut sender) = pc.rtp_sender(s.id) else {
        return;
    };
    if s.payload_type == 0 {
        s.payload_type = sender
            .get_parameters()
            .rtp_parameters
            .codecs
            .first()
            .map(|c| c.payload_type)
            .unwrap_or(0);
    }
    s.seq = s.seq.wrapping_add(1);
    let packet = rtc::rtp::packet::Packet {
        header: rtc::rtp::header::Header {
            version: 2,
            marker,
            payload_type: s.payload_type,
            sequence_number: s.seq,
            timestamp: s.timestamp,
            ssrc: s.ssrc,
            ..Default::default()
        },
        payload,
    };
    s.timestamp = s.timestamp.wrapping_add(ts_step);
    let _ = sender.write_rtp(now, packet);
}
