//! The in-process benchmark of Duet's media engine: N 1:1 calls whose
//! peers are sans-IO `rtc` connections, relayed through Duet's real engine
//! (`media::inproc`) with no sockets and in virtual time, so only the
//! engine's own work is measured: CPU and heap allocations per forwarded
//! packet, the cost of an idle call per second, and the engine's heap per
//! call.
//!
//! Run with `cargo bench -p duet-server --bench engine` (release build);
//! `CALLS="1 8 64"` picks the loads, `SECONDS=10` the virtual length of
//! each phase. Prints a Markdown table (docs/benchmarks.md).
//!
//! Each peer sends 320x240-like traffic: Opus every 20 ms (100 bytes) and
//! VP8 at 15 frames/s, 3 packets of 1,000 bytes per frame (the load tool's
//! shape). Datagrams are delivered at once; the engine's timers fire at
//! their deadlines exactly.

// A benchmark's report is its output.
#![allow(clippy::print_stdout)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use duet_server::media::inproc::InProcessEngine;
use duet_signaling::{ConnId, Role, SessionId};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::RTCPeerConnectionBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine,
};
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate};
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};

/// Counts heap allocations made while `COUNTING` is on (inside the
/// engine's calls only).
struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOC_BYTES: AtomicU64 = AtomicU64::new(0);
/// Allocated minus freed while counting: the engine's heap.
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            ALLOC_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
            LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            ALLOC_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
            LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// The engine's share of the run: wall time inside its calls (one thread,
/// nothing else runs) and its allocations.
#[derive(Default, Clone, Copy)]
struct Spent {
    time: Duration,
    allocs: u64,
    alloc_bytes: u64,
}

impl Spent {
    fn since(self, before: Spent) -> Spent {
        Spent {
            time: self.time - before.time,
            allocs: self.allocs - before.allocs,
            alloc_bytes: self.alloc_bytes - before.alloc_bytes,
        }
    }
}

/// One browser stand-in: an `rtc` connection that offers audio, camera
/// and screen as Duet's web client does, and sends on the first two.
struct Peer {
    pc: RTCPeerConnection,
    addr: SocketAddr,
    connected: bool,
    audio: Sender,
    video: Sender,
    /// RTP packets it received (forwarded by Duet).
    received: u64,
}

struct Sender {
    id: RTCRtpSenderId,
    ssrc: u32,
    payload_type: u8,
    seq: u16,
    timestamp: u32,
}

const OPUS_FMTP: &str = "minptime=10;useinbandfec=1";

fn peer(addr: SocketAddr, ssrc_base: u32, now: Instant) -> Result<Peer, rtc::shared::error::Error> {
    let mut media = MediaEngine::default();
    media.register_default_codecs()?;
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
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
            "bench".to_owned(),
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
    let host = CandidateHostConfig {
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
    pc.add_local_candidate(RTCIceCandidate::from(&host).to_json()?)?;
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
        connected: false,
        audio: sender(audio, ssrc_base),
        video: sender(video, ssrc_base + 1),
        received: 0,
    })
}

/// Every call's two peers, the engine, and virtual time.
struct Sim {
    now: Instant,
    engine: InProcessEngine,
    engine_addr: SocketAddr,
    peers: Vec<Peer>,
    by_addr: HashMap<SocketAddr, usize>,
    spent: Spent,
    /// The engine's receive block, as its socket loop keeps one (see
    /// `engine::recv_buffer`): datagrams are copied into it.
    block: BytesMut,
    sent: Vec<(SocketAddr, BytesMut)>,
}

impl Sim {
    /// Runs `f` on the engine, counting its time and allocations.
    fn engine<T>(&mut self, f: impl FnOnce(&mut InProcessEngine, &mut BytesMut) -> T) -> T {
        let allocs = ALLOCS.load(Ordering::Relaxed);
        let bytes = ALLOC_BYTES.load(Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
        let start = Instant::now();
        let out = f(&mut self.engine, &mut self.block);
        self.spent.time += start.elapsed();
        COUNTING.store(false, Ordering::Relaxed);
        self.spent.allocs += ALLOCS.load(Ordering::Relaxed) - allocs;
        self.spent.alloc_bytes += ALLOC_BYTES.load(Ordering::Relaxed) - bytes;
        out
    }

    fn add_call(&mut self, n: u32) -> anyhow::Result<()> {
        let session = SessionId(uuid::Uuid::from_u128(u128::from(n) + 1));
        for (i, role) in [Role::Mentor, Role::Mentee].into_iter().enumerate() {
            let index = self.peers.len();
            let addr = SocketAddr::from(([10, 0, (index >> 8) as u8, index as u8], 40_000));
            let mut p = peer(addr, 1000 * (index as u32 + 1), self.now)?;
            let offer = p.pc.create_offer(None)?;
            p.pc.set_local_description(self.now, offer.clone())?;
            let now = self.now;
            let conn = ConnId(u64::from(n) * 2 + i as u64);
            let answer = self.engine(|e, _| e.offer(now, session, role, conn, offer.sdp))?;
            p.pc.set_remote_description(now, RTCSessionDescription::answer(answer)?)?;
            self.by_addr.insert(addr, index);
            self.peers.push(p);
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
                    if let RTCMessage::RtpPacket(..) = message {
                        p.received += 1;
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
                let msg = TaggedBytesMut {
                    now: self.now,
                    transport: TransportContext {
                        local_addr: *to,
                        peer_addr: self.engine_addr,
                        ecn: None,
                        transport_protocol: TransportProtocol::UDP,
                    },
                    message: BytesMut::from(&data[..]),
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
    fn run_until(&mut self, until: Instant, mut media: Option<&mut Media>) {
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

    fn received(&self) -> u64 {
        self.peers.iter().map(|p| p.received).sum()
    }
}

/// Every peer's media: a tick every 20 ms sends audio; every 66.7 ms
/// (15 fps) a video frame of three packets.
struct Media {
    next: Instant,
    tick: u64,
    audio: Bytes,
    video: Bytes,
}

impl Media {
    const TICK: Duration = Duration::from_millis(20);

    fn new(now: Instant) -> Media {
        let mut video = vec![0u8; 1000];
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
        // 15 frames/s on a 50/s tick: frames on ticks 0, 3, 7, 10, 13, ...
        let frame = self.tick == 0 || (self.tick * 15) / 50 != ((self.tick - 1) * 15) / 50;
        for p in peers.iter_mut() {
            send(now, &mut p.pc, &mut p.audio, self.audio.clone(), 960, true);
            if frame {
                for k in 0..3 {
                    send(
                        now,
                        &mut p.pc,
                        &mut p.video,
                        self.video.clone(),
                        if k == 2 { 6000 } else { 0 },
                        k == 2,
                    );
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

struct Row {
    calls: u32,
    forwarded: u64,
    media: Spent,
    idle: Spent,
    idle_seconds: f64,
    heap_per_call: f64,
}

fn measure(calls: u32, seconds: u64) -> anyhow::Result<Row> {
    let now = Instant::now();
    let engine_addr = SocketAddr::from(([10, 1, 0, 1], 3478));
    let mut sim = Sim {
        now,
        engine: InProcessEngine::new(engine_addr)?,
        engine_addr,
        peers: Vec::new(),
        by_addr: HashMap::new(),
        spent: Spent::default(),
        block: BytesMut::new(),
        sent: Vec::new(),
    };
    LIVE_BYTES.store(0, Ordering::Relaxed);
    for n in 0..calls {
        sim.add_call(n)?;
    }
    let deadline = now + Duration::from_secs(30);
    while !sim.peers.iter().all(|p| p.connected) {
        anyhow::ensure!(sim.now < deadline, "calls did not connect within 30 s");
        let step = sim.now + Duration::from_millis(50);
        sim.run_until(step, None);
    }
    // Settle the handshakes' tail, then an idle window: connected, no media.
    let settle = sim.now + Duration::from_secs(2);
    sim.run_until(settle, None);
    let before = sim.spent;
    let idle_end = sim.now + Duration::from_secs(seconds);
    sim.run_until(idle_end, None);
    let idle = sim.spent.since(before);
    // Media: warm up a second (streams open, maps built), then measure.
    let mut media = Media::new(sim.now);
    let warm = sim.now + Duration::from_secs(1);
    sim.run_until(warm, Some(&mut media));
    let (before, received) = (sim.spent, sim.received());
    let end = sim.now + Duration::from_secs(seconds);
    sim.run_until(end, Some(&mut media));
    let forwarded = sim.received() - received;
    anyhow::ensure!(forwarded > 0, "nothing was forwarded");
    let c = sim.engine.counters();
    anyhow::ensure!(c.rtp_forwarded > 0, "the engine forwarded nothing");
    Ok(Row {
        calls,
        forwarded,
        media: sim.spent.since(before),
        idle,
        idle_seconds: seconds as f64,
        heap_per_call: LIVE_BYTES.load(Ordering::Relaxed) as f64 / f64::from(calls),
    })
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // useful either: the loads come from the environment.
    let calls: Vec<u32> = std::env::var("CALLS")
        .unwrap_or_else(|_| "1 8 64".to_owned())
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let seconds: u64 = std::env::var("SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    println!(
        "| calls | forwarded pkt/s | engine µs/pkt | allocs/pkt | alloc bytes/pkt | idle call % of a core | idle allocs/call/s | engine heap KiB/call |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in calls {
        let r = measure(n, seconds)?;
        let pkts = r.forwarded as f64;
        let idle_per_call = r.idle.time.as_secs_f64() / (r.idle_seconds * f64::from(r.calls));
        println!(
            "| {} | {:.0} | {:.2} | {:.1} | {:.0} | {:.4} % | {:.0} | {:.0} |",
            r.calls,
            pkts / seconds as f64,
            r.media.time.as_secs_f64() * 1e6 / pkts,
            r.media.allocs as f64 / pkts,
            r.media.alloc_bytes as f64 / pkts,
            idle_per_call * 100.0,
            r.idle.allocs as f64 / (r.idle_seconds * f64::from(r.calls)),
            r.heap_per_call / 1024.0,
        );
    }
    Ok(())
}
