//! [`LoadReport`]: what a load run measured, as JSON (serde) and as a human summary.

use std::fmt::Write as _;

use serde::Serialize;

/// Everything one load run measured.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// Calls (sessions) run, two peers each.
    pub calls: usize,
    /// What each publisher sent: video size and frame rate (`320x240@15`, `640x480@30`).
    pub shape: String,
    /// Which peers ran the calls: `webrtc` (webrtc-rs, several tasks each) or `light`
    /// (sans-IO, one media thread for all).
    pub peers: String,
    /// Ramp-up over which the calls joined, seconds.
    pub ramp_up_s: f64,
    /// Length of the measurement window, seconds (as measured).
    pub window_s: f64,
    /// One entry per direction and kind of every call (4 per call).
    pub streams: Vec<StreamReport>,
    /// Packets sent in the window, all streams.
    pub total_sent: u64,
    /// Of those, packets that arrived.
    pub total_received: u64,
    /// Packets sent in the window that never arrived, all streams.
    pub total_lost: u64,
    /// `total_lost / total_sent` (0 when nothing was sent).
    pub loss_ratio: f64,
    /// Packets the peers received during the window (what Duet forwarded).
    pub forwarded_packets: u64,
    /// `forwarded_packets / window_s`.
    pub forwarded_packets_per_s: f64,
    /// Time from the start of `join` to the first received camera packet, per peer.
    pub join_to_first_video_ms: Percentiles,
    /// Receive time minus send time of every stamped (audio) packet in the window, all
    /// streams together: what the two peers' WebRTC stacks and Duet added.
    pub added_latency_ms: Percentiles,
    /// The highest per-stream p99 of added latency.
    pub added_latency_worst_stream_p99_ms: f64,
    /// Duet's own costs, when its pid was given.
    pub server: Option<ServerReport>,
    /// The load tool's own CPU use over the window.
    pub tool: ToolReport,
}

/// One direction of one media kind of one call.
#[derive(Clone, Debug, Serialize)]
pub struct StreamReport {
    /// Call index, from 0.
    pub call: usize,
    /// Session id.
    pub session: String,
    /// Sending role (`mentor` / `mentee`).
    pub from: String,
    /// Receiving role.
    pub to: String,
    /// `audio` or `camera`.
    pub kind: String,
    /// RTP packets sent in the window.
    pub sent: u64,
    /// Of those, packets received.
    pub received: u64,
    /// `sent - received`, saturating.
    pub lost: u64,
    /// Packets received during the window, for the forwarded rate.
    pub received_in_window: u64,
    /// Added latency of this stream's packets in the window (audio carries the stamps;
    /// empty for video).
    pub latency_ms: Percentiles,
}

/// Percentiles of a sample, milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Percentiles {
    /// Values measured.
    pub count: usize,
    /// Median (nearest rank).
    pub p50: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Largest value.
    pub max: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values` (all zero when empty).
    pub fn of(values: &[f64]) -> Percentiles {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let rank = |p: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            let n = sorted.len();
            let idx = ((p / 100.0) * n as f64).ceil() as usize;
            sorted[idx.clamp(1, n) - 1]
        };
        Percentiles {
            count: sorted.len(),
            p50: rank(50.0),
            p99: rank(99.0),
            max: sorted.last().copied().unwrap_or(0.0),
        }
    }
}

/// Duet's CPU and memory over the run.
#[derive(Clone, Debug, Serialize)]
pub struct ServerReport {
    /// The pid measured.
    pub pid: u32,
    /// utime + stime spent during the window, microseconds (`duet_user_us +
    /// duet_system_us`).
    pub cpu_us: u64,
    /// `cpu_us / forwarded_packets`.
    pub cpu_us_per_packet: f64,
    /// Of `cpu_us`, utime: Duet's own code.
    pub duet_user_us: u64,
    /// Of `cpu_us`, stime: the kernel working for Duet (system calls such as socket I/O).
    pub duet_system_us: u64,
    /// `duet_user_us / forwarded_packets`.
    pub duet_user_us_per_packet: f64,
    /// `duet_system_us / forwarded_packets`.
    pub duet_system_us_per_packet: f64,
    /// CPU use over the window, percent of one core.
    pub cpu_percent: f64,
    /// VmRSS before any call joined, KiB.
    pub rss_before_kib: u64,
    /// VmRSS at the end of the window, KiB.
    pub rss_end_kib: u64,
    /// `(rss_end - rss_before) / calls`, KiB.
    pub rss_per_call_kib: f64,
    /// The same for anonymous memory alone (`RssAnon`: heap and stacks),
    /// KiB. VmRSS also counts the binary's code, paged in once as the first
    /// call runs it (about 3 MiB), which no later call adds to.
    pub anon_per_call_kib: f64,
    /// What an idle call costs; absent when the idle window was skipped (`--idle 0`).
    /// Flattened, so its fields sit beside the others under `server`.
    #[serde(flatten)]
    pub idle: Option<IdleCost>,
}

/// Duet's CPU over the idle window: every call connected (ICE consent and RTCP keep
/// running), no media sent. The target is what one such call costs, a share of a core.
/// `/proc` counts CPU in 10 ms ticks, so one call over 5 s reads in steps of 0.2 % per
/// call: more calls or a longer window resolve the 0.1 % target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IdleCost {
    /// utime + stime over the idle window, microseconds.
    pub idle_cpu_us: u64,
    /// Length of the idle window, seconds (as measured).
    pub idle_window_s: f64,
    /// Percent of one core per call while idle:
    /// `idle_cpu_us / (idle_window_s * 1e6) * 100 / calls`.
    pub idle_percent_per_call: f64,
    /// The server with no call at all, measured before the first joined.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub empty: Option<EmptyCost>,
    /// What one idle call adds to the server: the idle window's share of a core less the
    /// empty server's, per call. Its own timers (metrics, heartbeats) are not the call's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_percent_per_call_above_empty: Option<f64>,
}

/// Duet's CPU before any call joined, over a window as long as the idle one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EmptyCost {
    /// utime + stime over the empty window, microseconds.
    pub empty_cpu_us: u64,
    /// Length of the empty window, seconds (as measured).
    pub empty_window_s: f64,
}

/// `cpu_us` over `window_s` seconds as a percent of one core; a degenerate window
/// reads finite (JSON has no NaN).
fn percent_of_core(cpu_us: u64, window_s: f64) -> f64 {
    cpu_us as f64 / (window_s.max(1e-3) * 1e6) * 100.0
}

impl IdleCost {
    /// The cost of `calls` idle calls that took `cpu_us` over `window_s` seconds.
    pub fn new(cpu_us: u64, window_s: f64, calls: usize) -> IdleCost {
        // Neither a zero-length window nor zero calls is measured (both are skipped or
        // refused earlier); the floors only keep a stray one finite, as JSON needs.
        let per_call = percent_of_core(cpu_us, window_s) / calls.max(1) as f64;
        IdleCost {
            idle_cpu_us: cpu_us,
            idle_window_s: window_s,
            idle_percent_per_call: per_call,
            empty: None,
            idle_percent_per_call_above_empty: None,
        }
    }

    /// The same, with what the server spent before any call joined taken off.
    /// Never below zero: the empty window can read higher by a tick.
    pub fn above(self, empty: EmptyCost, calls: usize) -> IdleCost {
        let idle = percent_of_core(self.idle_cpu_us, self.idle_window_s);
        let base = percent_of_core(empty.empty_cpu_us, empty.empty_window_s);
        IdleCost {
            empty: Some(empty),
            idle_percent_per_call_above_empty: Some((idle - base).max(0.0) / calls.max(1) as f64),
            ..self
        }
    }
}

/// The load tool's own CPU over the window.
#[derive(Clone, Debug, Serialize)]
pub struct ToolReport {
    /// utime + stime, microseconds.
    pub cpu_us: u64,
    /// Percent of one core.
    pub cpu_percent: f64,
}

impl LoadReport {
    /// Streams that received nothing in the window.
    pub fn silent_streams(&self) -> Vec<&StreamReport> {
        self.streams.iter().filter(|s| s.received == 0).collect()
    }

    /// A few lines for people.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "duet-load: {} calls of {} ({} peers, {} streams), {:.1} s window after {:.1} s \
             ramp-up",
            self.calls,
            self.shape,
            self.peers,
            self.streams.len(),
            self.window_s,
            self.ramp_up_s
        );
        let _ = writeln!(
            out,
            "  forwarded: {} packets, {:.0} packets/s",
            self.forwarded_packets, self.forwarded_packets_per_s
        );
        let _ = writeln!(
            out,
            "  loss: {} of {} packets ({:.3} %)",
            self.total_lost,
            self.total_sent,
            self.loss_ratio * 100.0
        );
        for s in self
            .streams
            .iter()
            .filter(|s| s.lost > 0 || s.received == 0)
        {
            let _ = writeln!(
                out,
                "    call {} {} -> {} {}: sent {}, received {}, lost {}",
                s.call, s.from, s.to, s.kind, s.sent, s.received, s.lost
            );
        }
        let j = &self.join_to_first_video_ms;
        let _ = writeln!(
            out,
            "  join to first video: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} peers)",
            j.p50, j.p99, j.max, j.count
        );
        let l = &self.added_latency_ms;
        let _ = writeln!(
            out,
            "  added latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} packets); \
             worst stream p99 {:.2} ms",
            l.p50, l.p99, l.max, l.count, self.added_latency_worst_stream_p99_ms
        );
        match &self.server {
            Some(s) => {
                let _ = writeln!(
                    out,
                    "  duet (pid {}): {:.1} µs CPU per forwarded packet \
                     (user {:.1} µs, kernel {:.1} µs), {:.1} % CPU, \
                     RSS {} -> {} KiB ({:.0} KiB per call, {:.0} KiB of it anonymous)",
                    s.pid,
                    s.cpu_us_per_packet,
                    s.duet_user_us_per_packet,
                    s.duet_system_us_per_packet,
                    s.cpu_percent,
                    s.rss_before_kib,
                    s.rss_end_kib,
                    s.rss_per_call_kib,
                    s.anon_per_call_kib
                );
                if let Some(idle) = &s.idle {
                    let _ = writeln!(
                        out,
                        "  duet idle: {:.4} % of a core per call ({} µs CPU over {:.1} s, \
                         every call connected, no media)",
                        idle.idle_percent_per_call, idle.idle_cpu_us, idle.idle_window_s
                    );
                }
            }
            None => {
                let _ = writeln!(out, "  duet: no --server-pid, CPU and RSS not measured");
            }
        }
        let _ = writeln!(out, "  load tool: {:.1} % CPU", self.tool.cpu_percent);
        out
    }
}

#[cfg(test)]
mod tests;
