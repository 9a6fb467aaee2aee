//! What one engine counts and reports: plain [`Counters`] (tests, logs and
//! the admin API read them), the `/metrics` it feeds, and the periodic log
//! line.

use std::time::{Duration, Instant};

use duet_signaling::SessionId;
use prometheus_client::metrics::gauge::Gauge;

use super::call_metrics::ConnectedCalls;
use crate::metrics::MediaMetrics;

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

/// How often the engine logs its counters at debug level.
const REPORT_EVERY: Duration = Duration::from_secs(30);

/// One engine's counters and metrics.
pub(super) struct Stats {
    pub counters: Counters,
    pub metrics: MediaMetrics,
    /// Sessions with both connections up, for `/metrics`.
    connected_calls: ConnectedCalls,
    /// Connections on this shard, for `/metrics`.
    shard_connections: Gauge,
    last_report: Instant,
}

impl Stats {
    pub(super) fn new(metrics: MediaMetrics) -> Stats {
        Stats {
            counters: Counters::default(),
            shard_connections: metrics.shard_connections(0),
            metrics,
            connected_calls: ConnectedCalls::default(),
            last_report: Instant::now(),
        }
    }

    /// Reports as shard `shard` of several.
    pub(super) fn set_shard(&mut self, shard: usize) {
        self.shard_connections = self.metrics.shard_connections(shard);
    }

    /// This engine now holds `n` connections.
    pub(super) fn connections(&self, n: usize) {
        self.shard_connections.set(n as i64);
    }

    /// Whether both of `session`'s connections are up.
    pub(super) fn call_up(&mut self, session: SessionId, both_up: bool) {
        self.connected_calls.update(&self.metrics, session, both_up);
    }

    /// Logs the counters every [`REPORT_EVERY`] (with `peers`, the
    /// connections held).
    pub(super) fn maybe_report(&mut self, now: Instant, peers: usize) {
        if now.saturating_duration_since(self.last_report) >= REPORT_EVERY {
            self.last_report = now;
            tracing::debug!(peers, counters = ?self.counters, "media plane");
        }
    }
}
