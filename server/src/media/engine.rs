//! The media loop: one task owns the shared UDP socket and every peer
//! connection, so nothing on the packet path takes a lock. ICE-TCP packets
//! arrive from connection tasks over a channel and leave through each
//! connection's bounded queue (see `media::tcp`).
//!
//! Each turn: take a datagram, a TCP packet, a command or a timer; feed it
//! to the one connection it concerns; then *service* that connection —
//! drain what it wants to send, its events and its inbound media — and hand
//! media and keyframe requests to the other participant's connection, which
//! is serviced in turn. Buffers used per packet are reused, not reallocated.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use duet_signaling::ConnId;
use duet_signaling::protocol::IceCandidate;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tokio::sync::mpsc;

use super::audio_loss::DownstreamAudioLoss;
use super::bandwidth::QueueDelay;
use super::bandwidth::video_gate::VideoGate;
use super::forward::Slot;
use super::front::{RouteChange, ShardClaims};
use super::peer::{self, Outbound, Pc};
use super::talk::TalkMeter;
use super::tcp::TcpEvent;
use super::{Command, MediaError, PeerKey};
use crate::metrics::MediaMetrics;
use crate::recorder::tap::RecordTap;
use duet_signaling::{Role, SessionId};

mod call_metrics;
mod commands;
mod deliver;
mod drain;
mod feedback;
pub(super) mod recv_buffer;

mod events;
mod guard;
mod input;
mod pinning;
mod slots;
mod tcp_conns;
mod tcp_path;
#[cfg(test)]
mod tests_fuzz;
mod timers;
pub(super) mod udp_batch;
mod wire;

use drain::Drained;
pub(super) use input::{Datagram, DatagramSource};
use pinning::{note_probe, pin_if_answered};
pub(super) use recv_buffer::ReceiveBuffer;
use slots::{Inbound, StreamSlot};
use tcp_conns::{Sent, TcpConns};
use tcp_path::next_tcp_event;
pub(super) use wire::Wire;

struct Peer {
    conn: ConnId,
    /// When its offer arrived, until it first connects (time to connect).
    offered: Option<Instant>,
    /// As this participant's receiver reports state it.
    quality: crate::media::LinkQuality,
    pc: Pc,
    ufrag: String,
    /// Audio, camera and screen, each both ways.
    slots: [StreamSlot; 3],
    /// The other participant's loss on this peer's audio, which Duet's
    /// reports to this peer state (`media::audio_loss`).
    downstream_audio_loss: DownstreamAudioLoss,
    /// Whether this peer's downlink is queueing, from its receiver reports'
    /// round trips (what it receives from Duet).
    queue_delay: QueueDelay,
    /// This participant asked for low-bandwidth mode: the other
    /// participant's video to them is capped (`bandwidth::LOW_BANDWIDTH_BPS`).
    low_bandwidth: bool,
    /// Whether the other participant's video goes to this one: paused
    /// while this participant's downlink cannot carry it.
    video_gate: VideoGate,
    /// How long this participant talked to the other: voiced audio that
    /// was delivered (see `media::talk`).
    talk: TalkMeter,
    /// Set while this session is being recorded.
    recorder: Option<RecordTap>,
    pinned: Vec<SocketAddr>,
    /// Addresses this connection sent STUN binding requests to.
    probed: Vec<SocketAddr>,
    connected: bool,
    /// Its next timer deadline as last read (in `Engine::timers`).
    deadline: Option<Instant>,
    /// Serviced since its deadline was last read (listed in `Engine::dirty`).
    dirty: bool,
}

impl Peer {
    /// Duet's outgoing stream on each slot.
    fn outbound(&self) -> [Outbound; 3] {
        self.slots.each_ref().map(|s| s.down.outbound)
    }

    /// The slot whose inbound track is `track_id`.
    fn slot_of_track(&self, track_id: &str) -> Option<Slot> {
        Slot::ALL
            .into_iter()
            .find(|s| self.slots[s.index()].up.is_track(track_id))
    }

    /// Sends a PLI upstream for this peer's inbound `slot`, throttled.
    fn request_keyframe(&mut self, now: Instant, slot: Slot) -> bool {
        self.slots[slot.index()]
            .up
            .request_keyframe(now, &mut self.pc)
    }

    /// Feeds the receiver's downlink loss on this peer's inbound `slot` into
    /// its cap and sends a REMB upstream when the cap says so.
    fn cap_bitrate(
        &mut self,
        now: Instant,
        slot: Slot,
        downlink_loss: Option<f64>,
        low_bandwidth: bool,
    ) -> bool {
        self.slots[slot.index()].up.cap_bitrate(
            now,
            &mut self.pc,
            slot,
            downlink_loss,
            low_bandwidth,
        )
    }
}

/// Counters for tests, logs and (later) metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    pub datagrams_in: u64,
    pub datagrams_unknown: u64,
    pub rtp_forwarded: u64,
    pub rtp_dropped: u64,
    pub keyframe_requests_relayed: u64,
    pub bitrate_caps_sent: u64,
    /// Times video to a receiver was paused for a weak downlink, and
    /// resumed.
    pub video_pauses: u64,
    pub video_resumes: u64,
    /// Video packets not forwarded because video to their receiver was
    /// paused.
    pub video_held_back: u64,
    /// Packets received on ICE-TCP connections.
    pub tcp_packets_in: u64,
    /// ICE-TCP connections whose first binding request named no peer
    /// connection, or whose peer connection had too many.
    pub tcp_refused: u64,
    /// Packets dropped because an ICE-TCP connection's queue was full.
    pub tcp_dropped: u64,
    /// UDP datagrams the socket refused to send (a full send buffer, or an
    /// error from the network stack).
    pub udp_send_failed: u64,
    /// Datagrams the front (first shard) dropped because the queue to
    /// their shard was full.
    pub shard_queue_full: u64,
}

impl Counters {
    /// Adds another shard's counters to these.
    pub fn add(&mut self, other: &Counters) {
        let Counters {
            datagrams_in,
            datagrams_unknown,
            rtp_forwarded,
            rtp_dropped,
            keyframe_requests_relayed,
            bitrate_caps_sent,
            video_pauses,
            video_resumes,
            video_held_back,
            tcp_packets_in,
            tcp_refused,
            tcp_dropped,
            udp_send_failed,
            shard_queue_full,
        } = *other;
        self.datagrams_in += datagrams_in;
        self.datagrams_unknown += datagrams_unknown;
        self.rtp_forwarded += rtp_forwarded;
        self.rtp_dropped += rtp_dropped;
        self.keyframe_requests_relayed += keyframe_requests_relayed;
        self.bitrate_caps_sent += bitrate_caps_sent;
        self.video_pauses += video_pauses;
        self.video_resumes += video_resumes;
        self.video_held_back += video_held_back;
        self.tcp_packets_in += tcp_packets_in;
        self.tcp_refused += tcp_refused;
        self.tcp_dropped += tcp_dropped;
        self.udp_send_failed += udp_send_failed;
        self.shard_queue_full += shard_queue_full;
    }
}

pub(super) struct Engine {
    wire: Wire,
    /// The one candidate address in every answer. Datagrams are handed to
    /// connections as received on it, whatever the socket is bound to (the
    /// wildcard, or a private address behind a 1:1 NAT).
    advertise: SocketAddr,
    peers: HashMap<PeerKey, Peer>,
    by_ufrag: HashMap<String, PeerKey>,
    by_addr: HashMap<SocketAddr, PeerKey>,
    /// Sessions being recorded, and where their packets go.
    recordings: HashMap<SessionId, RecordTap>,
    /// Where each connection sent its own binding requests: the answers
    /// carry no USERNAME, and a browser that nominates with USE-CANDIDATE
    /// is not answered (so not pinned) until one of them got through.
    /// Only STUN responses are routed this way; ICE checks their
    /// MESSAGE-INTEGRITY.
    by_probe: HashMap<SocketAddr, PeerKey>,
    /// ICE-TCP connections, by the client's address.
    tcp: TcpConns,
    /// What the connection being serviced produced for the other
    /// participant's: lent to each drain, so its vectors keep their
    /// capacity.
    drained: Drained,
    timeout_keys: Vec<PeerKey>,
    /// Connection deadlines, earliest first (see `engine::timers`).
    timers: timers::TimerHeap,
    /// Connections serviced since their deadlines were last read.
    dirty: Vec<PeerKey>,
    /// The loop wakes at least this often (ICE-TCP sweep, reports).
    idle_wake: Instant,
    /// Where the timer grid starts (`timers::on_grid`).
    timer_origin: Instant,
    counters: Counters,
    last_report: Instant,
    metrics: MediaMetrics,
    connected_calls: call_metrics::ConnectedCalls,
    /// This engine's shard, and the front it tells which addresses are
    /// its own (`media::front`).
    claims: ShardClaims,
    /// Connections on this shard, for `/metrics`.
    shard_connections: prometheus_client::metrics::gauge::Gauge,
}

/// The loop's two inboxes (see `MediaPlane`).
pub(super) struct Inbox {
    pub control: mpsc::UnboundedReceiver<Command>,
    pub requests: mpsc::Receiver<Command>,
}

/// Client requests handled after each turn at most, so neither packets nor
/// requests can starve the other.
const REQUESTS_PER_TURN: usize = 4;

const IDLE_WAKEUP: Duration = Duration::from_secs(1);

impl Engine {
    /// `advertise_tcp` is the ICE-TCP candidate's address, when ICE-TCP is on.
    pub(super) fn new(
        wire: Wire,
        advertise: SocketAddr,
        advertise_tcp: Option<SocketAddr>,
        metrics: MediaMetrics,
    ) -> std::io::Result<Engine> {
        Ok(Engine {
            wire,
            advertise,
            tcp: TcpConns::new(advertise_tcp),
            peers: HashMap::new(),
            by_ufrag: HashMap::new(),
            by_addr: HashMap::new(),
            recordings: HashMap::new(),
            by_probe: HashMap::new(),
            drained: Drained::default(),
            timeout_keys: Vec::with_capacity(16),
            timers: timers::TimerHeap::new(),
            dirty: Vec::with_capacity(64),
            idle_wake: Instant::now() + IDLE_WAKEUP,
            timer_origin: Instant::now(),
            counters: Counters::default(),
            last_report: Instant::now(),
            shard_connections: metrics.shard_connections(0),
            metrics,
            connected_calls: Default::default(),
            claims: ShardClaims::default(),
        })
    }

    /// Makes this engine shard `shard` of several, telling the front
    /// through `routes` which addresses are its own.
    pub(super) fn into_shard(
        mut self,
        shard: usize,
        routes: mpsc::UnboundedSender<RouteChange>,
    ) -> Engine {
        self.claims = ShardClaims {
            shard,
            routes: Some(routes),
        };
        self.shard_connections = self.metrics.shard_connections(shard);
        self
    }

    /// Serves datagrams from `input` (sending on this engine's `Wire`),
    /// commands from `inbox` and ICE-TCP connections' events.
    pub(super) async fn run(
        mut self,
        mut input: DatagramSource,
        mut inbox: Inbox,
        mut tcp_events: Option<mpsc::Receiver<TcpEvent>>,
    ) {
        let sleep = tokio::time::sleep_until(self.idle_wake.into());
        tokio::pin!(sleep);
        loop {
            self.metrics.heartbeat.beat(Instant::now());
            // What the last turn produced leaves now, in batches.
            self.counters.udp_send_failed += self.wire.flush();
            self.flush_timeouts();
            let next = tokio::time::Instant::from_std(self.next_wake());
            if sleep.deadline() != next {
                sleep.as_mut().reset(next);
            }
            let stop = tokio::select! {
                biased;
                // The server's own orders: few, and a recording's stop must
                // land at once.
                cmd = inbox.control.recv() => match cmd {
                    Some(Command::Shutdown) | None => true,
                    Some(cmd) => self.handle_command(Instant::now(), cmd),
                },
                // Before the socket: under a flood the socket is always
                // ready and would otherwise win every select. Deadlines are
                // kept at the timer's millisecond resolution: handling an
                // "at once" deadline at once sent the first ICE checks before
                // the client had the answer, and the retry comes 200 ms later.
                _ = &mut sleep => { self.handle_timeouts(Instant::now()); false }
                ready = input.ready() => {
                    match ready {
                        Ok(ready) => self.take_input(&mut input, ready),
                        Err(e) => tracing::debug!(error = %e, "media socket receive error"),
                    }
                    false
                }
                event = next_tcp_event(&mut tcp_events) => {
                    match event {
                        Some(event) => self.handle_tcp(Instant::now(), event),
                        // The acceptor and every connection task are gone.
                        None => tcp_events = None,
                    }
                    false
                }
                // Client requests last: a burst of offers or candidates
                // waits behind the packets of every call.
                Some(cmd) = inbox.requests.recv() => self.handle_command(Instant::now(), cmd),
            };
            // ...and still gets a few turns' worth under a packet flood.
            if stop || self.take_requests(&mut inbox.requests) {
                break;
            }
        }
        for (_, mut peer) in self.peers.drain() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| peer.pc.close()));
        }
        self.wire.flush();
        tracing::info!(counters = ?self.counters, "media plane stopped");
    }

    /// Handles up to [`REQUESTS_PER_TURN`] waiting client requests; true
    /// when one of them was the last (shutdown).
    fn take_requests(&mut self, requests: &mut mpsc::Receiver<Command>) -> bool {
        for _ in 0..REQUESTS_PER_TURN {
            match requests.try_recv() {
                Ok(cmd) => {
                    if self.handle_command(Instant::now(), cmd) {
                        return true;
                    }
                }
                Err(_) => break,
            }
        }
        false
    }

    pub(in crate::media) fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: BytesMut,
    ) {
        self.counters.datagrams_in += 1;
        let key = super::demux::route(&data, from, &self.by_ufrag, &self.by_addr, &self.by_probe);
        let Some(key) = key else {
            self.counters.datagrams_unknown += 1;
            return;
        };
        let transport = TransportContext {
            local_addr: self.advertise,
            peer_addr: from,
            ecn: None,
            transport_protocol: TransportProtocol::UDP,
        };
        self.feed(now, key, transport, data);
    }

    /// Hands one received packet to `key`'s connection and services it. A
    /// panic in there ends that connection only.
    fn feed(&mut self, now: Instant, key: PeerKey, transport: TransportContext, data: BytesMut) {
        self.guarded(key, |engine| {
            let Some(peer) = engine.peers.get_mut(&key) else {
                return;
            };
            super::fault::maybe_panic(key);
            let msg = TaggedBytesMut {
                now,
                transport,
                message: data,
            };
            if let Err(e) = peer.pc.handle_read(msg) {
                tracing::trace!(error = %e, "packet refused by peer connection");
            }
            engine.service(now, key);
        });
        self.maybe_report(now);
    }

    /// Drains `key`'s connection, hands what it produced to the other
    /// participant, and sends what that one then has to send. Writing into
    /// a connection never makes it read or raise events (those were drained
    /// when its own packets and timers were handled), so the other side
    /// only needs its writes sent.
    fn service(&mut self, now: Instant, key: PeerKey) {
        // Taken for the pass (a panic midway leaves a fresh one behind).
        let mut out = std::mem::take(&mut self.drained);
        out.clear();
        self.drain(now, key, &mut out);
        self.touch(key);
        if !out.is_empty() {
            let other = key.other();
            // Delivering runs `rtc` on the other participant's connection:
            // a panic there is theirs, so it closes theirs, not `key`'s
            // (this runs under `key`'s guard).
            self.guarded(other, |engine| {
                engine.deliver(now, key, other, &mut out);
                engine.write_out(other);
                engine.touch(other);
            });
        }
        out.clear();
        self.drained = out;
    }

    /// Sends everything `key`'s connection has queued.
    fn write_out(&mut self, key: PeerKey) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        while let Some(out) = peer.pc.poll_write() {
            let to = out.transport.peer_addr;
            if out.transport.transport_protocol == TransportProtocol::TCP {
                if self.tcp.send(key, to, out.message) == Sent::Dropped {
                    self.counters.tcp_dropped += 1;
                }
                continue;
            }
            let pinned =
                pin_if_answered(&mut self.by_addr, &mut peer.pinned, key, to, &out.message);
            let probed = note_probe(&mut self.by_probe, &mut peer.probed, key, to, &out.message);
            if pinned || probed {
                self.claims.announce(to, true);
            }
            self.wire.send(to, out.message);
        }
    }

    fn maybe_report(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_report) >= Duration::from_secs(30) {
            self.last_report = now;
            tracing::debug!(peers = self.peers.len(), counters = ?self.counters, "media plane");
        }
    }
}
