//! The media engine of one shard: every peer connection of its calls, fed
//! datagrams, ICE-TCP packets, commands and timers by the shard's loop
//! (`engine::shard_loop`, the only part that touches a socket), so nothing
//! on the packet path takes a lock. ICE-TCP packets arrive from connection
//! tasks over a channel and leave through each connection's bounded queue
//! (see `media::tcp`).
//!
//! Each input concerns one connection: it is fed to it, then that
//! connection is *serviced*: drained of its events, its inbound media and
//! its participant's RTCP (`engine::drain`), which comes out as values for
//! the other participant's connection that `engine::deliver` routes there;
//! what each connection has to send goes to the outbox (`write_out`, the
//! one write-out loop), which the shard's loop sends at the end of its turn.
//! Buffers used per packet are reused, not reallocated.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::BytesMut;
use duet_signaling::ConnId;
use duet_signaling::protocol::IceCandidate;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use rustc_hash::FxHashMap;
use tokio::sync::mpsc;

use super::audio_loss::DownstreamAudioLoss;
use super::bandwidth::QueueDelay;
use super::bandwidth::video_gate::VideoGate;
use super::forward::Slot;
use super::front::RouteChange;
use super::peer::{self, BuiltPeer, Outbound, Pc};
use super::talk::TalkMeter;
use super::{Command, MediaError, PeerKey};
use crate::metrics::MediaMetrics;
use crate::recorder::tap::RecordTap;
use duet_signaling::{Role, SessionId};

mod call_metrics;
mod commands;
mod deliver;
mod drain;
mod events;
mod feedback;
mod guard;
mod input;
mod outbox;
pub(super) mod recv_buffer;
mod routing;
mod shard_loop;
mod slots;
mod stats;
mod tcp_conns;
mod tcp_path;
#[cfg(test)]
mod tests_fuzz;
mod timers;
pub(super) mod udp_batch;

use deliver::WrittenInto;
use drain::Drained;
pub(super) use input::{Datagram, DatagramSource};
use outbox::Outbox;
pub(super) use recv_buffer::ReceiveBuffer;
use routing::{PeerAddrs, Routing};
pub(super) use shard_loop::Inbox;
use slots::{Inbound, StreamSlot};
pub use stats::Counters;
use stats::Stats;
use tcp_conns::{Sent, TcpConns};
use timers::{PeerTimer, Timers};

/// One participant's connection on this engine.
struct Peer {
    conn: ConnId,
    /// When its offer arrived, until it first connects (time to connect).
    offered: Option<Instant>,
    /// As this participant's receiver reports state it.
    quality: crate::media::LinkQuality,
    pc: Pc,
    /// Audio, camera and screen, each both ways.
    slots: [StreamSlot; 3],
    /// The other participant's loss on this peer's audio, which Duet's
    /// reports to this peer state (`media::audio_loss`).
    downstream_audio_loss: DownstreamAudioLoss,
    /// What Duet sends this participant, as their link carries it.
    downlink: Downlink,
    /// How long this participant talked to the other: voiced audio that
    /// was delivered (see `media::talk`).
    talk: TalkMeter,
    /// Set while this session is being recorded.
    recorder: Option<RecordTap>,
    /// Set while this participant's speech is captioned: their audio
    /// goes there too (`captions`).
    captioner: Option<RecordTap>,
    connected: bool,
    /// The addresses it is known by (`engine::routing`).
    addrs: PeerAddrs,
    /// Its place among the engine's timers.
    timer: PeerTimer,
}

impl Peer {
    /// A new connection for `conn`, offered at `now`: what it said so far
    /// on an earlier connection is `talk`, and `taps` are the recorder's
    /// and the captioner's while there are any.
    fn new(
        conn: ConnId,
        now: Instant,
        built: BuiltPeer,
        talk: TalkMeter,
        (recorder, captioner): (Option<RecordTap>, Option<RecordTap>),
    ) -> Peer {
        Peer {
            conn,
            offered: Some(now),
            quality: Default::default(),
            pc: built.pc,
            slots: built.outbound.map(StreamSlot::new),
            downstream_audio_loss: built.downstream_audio_loss,
            downlink: Downlink::default(),
            talk,
            recorder,
            captioner,
            connected: false,
            addrs: PeerAddrs::new(built.ufrag),
            timer: PeerTimer::default(),
        }
    }

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

/// One participant's downlink (what Duet sends them), as Duet judges it.
#[derive(Default)]
struct Downlink {
    /// Whether it is queueing, from their receiver reports' round trips.
    queue_delay: QueueDelay,
    /// They asked for low-bandwidth mode: the other participant's video to
    /// them is capped (`bandwidth::LOW_BANDWIDTH_BPS`).
    low_bandwidth: bool,
    /// Whether the other participant's video goes to them: paused while
    /// their downlink cannot carry it.
    video_gate: VideoGate,
}

pub(super) struct Engine {
    /// The one candidate address in every answer. Datagrams are handed to
    /// connections as received on it, whatever the socket is bound to (the
    /// wildcard, or a private address behind a 1:1 NAT).
    advertise: SocketAddr,
    /// Keyed by ids the server made: Fx, as no client picks these keys.
    peers: FxHashMap<PeerKey, Peer>,
    /// Which connection a datagram belongs to.
    routes: Routing,
    /// ICE-TCP connections, by the client's address.
    tcp: TcpConns,
    /// Sessions being recorded or captioned, and where their packets go.
    taps: FxHashMap<SessionId, SessionTaps>,
    /// UDP datagrams to send at the end of the loop's turn.
    outbox: Outbox,
    /// What the connection being serviced produced for the other
    /// participant's: lent to each drain, so its vectors keep their
    /// capacity.
    drained: Drained,
    timers: Timers,
    stats: Stats,
}

/// What a connection was just handed, as far as it decides how much of
/// the connection must be swept afterwards: after RTP it has nothing of
/// its own to send (`drain`) and its reads are already through its
/// pipeline (`Peer::next_read`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fed {
    /// An RTP packet (RFC 5761: RTP/RTCP version bits, and a second byte
    /// outside RTCP's packet types 192–223).
    Rtp,
    /// Anything else: RTCP, ICE, DTLS, a timer, a command.
    Other,
}

impl Fed {
    fn of(datagram: &[u8]) -> Fed {
        match datagram {
            [128..=191, 192..=223, ..] => Fed::Other,
            [128..=191, _, ..] => Fed::Rtp,
            _ => Fed::Other,
        }
    }
}

/// Where a session's packets go besides the other participant.
#[derive(Debug, Default)]
struct SessionTaps {
    recorder: Option<RecordTap>,
    /// Per role (`Role::index`): that person's audio, to be captioned.
    captions: [Option<RecordTap>; 2],
}

impl SessionTaps {
    fn is_empty(&self) -> bool {
        self.recorder.is_none() && self.captions.iter().all(Option::is_none)
    }
}

impl Engine {
    /// `advertise_tcp` is the ICE-TCP candidate's address, when ICE-TCP is on.
    pub(super) fn new(
        advertise: SocketAddr,
        advertise_tcp: Option<SocketAddr>,
        metrics: MediaMetrics,
    ) -> Engine {
        Engine {
            advertise,
            peers: FxHashMap::default(),
            routes: Routing::default(),
            tcp: TcpConns::new(advertise_tcp),
            taps: FxHashMap::default(),
            outbox: Outbox::new(),
            drained: Drained::default(),
            timers: Timers::new(Instant::now()),
            stats: Stats::new(metrics),
        }
    }

    /// Makes this engine shard `shard` of several, telling the front
    /// through `routes` which addresses are its own.
    pub(super) fn into_shard(
        mut self,
        shard: usize,
        routes: mpsc::UnboundedSender<RouteChange>,
    ) -> Engine {
        self.routes.set_shard(shard, routes);
        self.stats.set_shard(shard);
        self
    }

    pub(in crate::media) fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: BytesMut,
    ) {
        self.stats.counters.datagrams_in += 1;
        let Some(key) = self.routes.route(&data, from) else {
            self.stats.counters.datagrams_unknown += 1;
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
        let fed = Fed::of(&data);
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
            engine.service(now, key, fed);
        });
        self.stats.maybe_report(now, self.peers.len());
    }

    /// Drains `key`'s connection, hands what it produced to the other
    /// participant, and sends what that one then has to send. Writing into
    /// a connection never makes it read or raise events (those were drained
    /// when its own packets and timers were handled), so the other side
    /// only needs its writes sent.
    fn service(&mut self, now: Instant, key: PeerKey, fed: Fed) {
        // Taken for the pass (a panic midway leaves a fresh one behind).
        let mut out = std::mem::take(&mut self.drained);
        out.clear();
        self.drain(now, key, &mut out, fed);
        self.touch(key);
        if !out.is_empty() {
            let other = key.other();
            // Delivering runs `rtc` on the other participant's connection:
            // a panic there is theirs, so it closes theirs, not `key`'s
            // (this runs under `key`'s guard).
            self.guarded(other, |engine| {
                match engine.deliver(now, key, other, &mut out) {
                    WrittenInto::Media(packets) => engine.write_out_media(other, packets),
                    WrittenInto::Other => {
                        engine.write_out(other);
                    }
                }
                engine.touch(other);
            });
        }
        out.clear();
        self.drained = out;
    }

    /// Takes everything `key`'s connection has to send: UDP datagrams to
    /// the outbox (noting the addresses they prove for routing), TCP
    /// packets to their connection's queue. Returns how many.
    fn write_out(&mut self, key: PeerKey) -> usize {
        self.write_out_at_most(key, usize::MAX)
    }

    /// After only `packets` RTP packets were written into `key`'s
    /// connection: each leaves it as one datagram at most (SRTP; Duet's
    /// chain has no pacer and no FEC), and nothing else can be waiting
    /// there, since every read, timer and command writes out in full. So
    /// that many `poll_write`s take everything, and the one more that
    /// would find the queue empty, a sweep of the whole write pipeline, is
    /// left out. Builds with debug assertions (every test) make it and
    /// fail if it found something.
    fn write_out_media(&mut self, key: PeerKey, packets: usize) {
        self.write_out_at_most(key, packets);
        if cfg!(debug_assertions) {
            let left = self.write_out(key);
            debug_assert_eq!(left, 0, "rtc had more to send than the media written");
        }
    }

    fn write_out_at_most(&mut self, key: PeerKey, most: usize) -> usize {
        let Some(peer) = self.peers.get_mut(&key) else {
            return 0;
        };
        let mut written = 0;
        while written < most
            && let Some(out) = peer.pc.poll_write()
        {
            written += 1;
            let to = out.transport.peer_addr;
            if out.transport.transport_protocol == TransportProtocol::TCP {
                if self.tcp.send(key, to, out.message) == Sent::Dropped {
                    self.stats.counters.tcp_dropped += 1;
                }
                continue;
            }
            self.routes.on_send(key, &mut peer.addrs, to, &out.message);
            self.outbox.push(to, out.message);
        }
        written
    }

    /// Closes every connection (the loop is stopping).
    fn close_all(&mut self) {
        for (_, mut peer) in self.peers.drain() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| peer.pc.close()));
        }
    }
}

#[cfg(test)]
mod fed_tests {
    use super::Fed;

    #[test]
    fn rtp_is_told_from_rtcp_and_everything_else() {
        // Opus (111) and VP8 (96), with and without the marker bit.
        for second in [96, 111, 0x80 | 96, 0x80 | 111] {
            assert_eq!(Fed::of(&[0x80, second, 0, 1]), Fed::Rtp, "{second}");
        }
        // Sender and receiver reports, transport and payload feedback.
        for rtcp in [200, 201, 205, 206] {
            assert_eq!(Fed::of(&[0x81, rtcp, 0, 7]), Fed::Other, "{rtcp}");
        }
        // STUN, DTLS, too short to tell, nothing.
        for other in [&[0x00, 0x01, 0, 0][..], &[22, 254, 253], &[0x80], &[]] {
            assert_eq!(Fed::of(other), Fed::Other, "{other:?}");
        }
    }
}
