//! The load tool behind `duet-load`: N sessions created through the API, N 1:1 calls of
//! peers sending looped pre-encoded VP8 from the IVF fixture and 20 ms Opus, and what Duet
//! spent forwarding them. The peers are [`TestPeer`]s (webrtc-rs, the default) or, with
//! [`PeerKind::Light`], sans-IO peers all driven by one media thread of the tool, cheap
//! enough that the tool is not what limits a run ([`peers`], [`light`]).
//!
//! A run:
//! 1. reads Duet's RSS (when its pid is given) before anything joins and, with an idle
//!    window, Duet's CPU over as long with no call (the empty server, taken off the idle
//!    cost in step 6);
//! 2. creates the sessions and joins both parties of each call, spread over the ramp-up,
//!    timing each peer from the start of `join` to its first received camera packet;
//! 3. pauses every sender and lets in-flight packets land, so the window starts from a
//!    quiet baseline;
//! 4. resumes sending and measures for `duration`: packets received (forwarded by Duet),
//!    Duet's utime and stime (user and kernel CPU, reported apart and summed) and RSS,
//!    and the tool's own CPU;
//! 5. pauses every sender again, waits for in-flight packets, and counts per stream what
//!    was sent in the window and never arrived;
//! 6. with every call still connected and nothing sent, measures Duet's CPU over the idle
//!    window (`idle`): what calls cost when nobody speaks. It comes last so that the
//!    media window starts when it always did (tests/bench.sh times its profiles by that).
//!
//! Added latency: every audio packet carries its send time ([`crate::latency`]); the
//! receiving peer notes arrival minus send time, on the same clock (peers and tool are one
//! process). Nothing is subtracted: it is the senders' and receivers' WebRTC stacks plus
//! Duet. Percentiles are per stream and over every sample of the window.

pub(crate) mod light;
pub mod peers;
pub mod procstat;
pub mod report;

use std::fmt;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use futures_util::future::{join_all, try_join_all};
use serde_json::{Value, json};

use crate::{MediaKind, TestPeer};
use light::LightPeer;
pub use peers::PeerKind;
use peers::{Counts, LoadPeer};
use procstat::ProcSample;
pub use report::{
    EmptyCost, IdleCost, LoadReport, Percentiles, ServerReport, StreamReport, ToolReport,
};

/// How long a call has, after its start, to connect and receive both kinds of media.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long in-flight packets get to land after the senders pause.
pub const DRAIN: Duration = Duration::from_secs(1);
/// How often progress is reported during the window.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// The two parties of a call, in peer order.
const ROLES: [&str; 2] = ["mentor", "mentee"];
/// The kinds every party sends.
const KINDS: [MediaKind; 2] = [MediaKind::Audio, MediaKind::Camera];

/// The media each publisher sends, besides 20 ms Opus (50 packets/s).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Shape {
    /// 320x240 VP8 at 15 fps (about 95 packets/s with the audio).
    #[default]
    Small,
    /// 640x480 VP8 at 30 fps (about 160 packets/s with the audio).
    Large,
}

impl Shape {
    /// The names `--shape` takes.
    pub const NAMES: [&'static str; 2] = ["320x240", "640x480"];

    /// `320x240` or `640x480` (a `@fps` suffix is allowed).
    pub fn parse(text: &str) -> Option<Shape> {
        match text.split('@').next()? {
            "320x240" | "small" => Some(Shape::Small),
            "640x480" | "large" => Some(Shape::Large),
            _ => None,
        }
    }

    /// Size and frame rate, as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Small => "320x240@15",
            Shape::Large => "640x480@30",
        }
    }

    /// The clip in `tests/fixtures/`.
    pub fn fixture(self) -> &'static str {
        match self {
            Shape::Small => crate::ivf::DEFAULT_VIDEO_FIXTURE,
            Shape::Large => crate::ivf::LARGE_VIDEO_FIXTURE,
        }
    }
}

/// What to run against which Duet.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// Duet's HTTP base, e.g. `http://127.0.0.1:8080` (no trailing slash needed).
    pub base_url: String,
    /// The signaling WebSocket, e.g. `ws://127.0.0.1:8080/api/v1/ws`.
    pub ws_url: String,
    /// An API key accepted by Duet (for creating sessions).
    pub api_key: String,
    /// Number of 1:1 calls (sessions).
    pub calls: usize,
    /// Length of the measurement window.
    pub duration: Duration,
    /// Time over which the calls are started, evenly spread.
    pub ramp_up: Duration,
    /// Duet's pid, for CPU and RSS; `None` skips them.
    pub server_pid: Option<u32>,
    /// What each publisher sends.
    pub shape: Shape,
    /// The sessions' recording policy: `off`, or `allowed` for the soak's
    /// recording cycles.
    pub recording: &'static str,
    /// Length of the idle window (every call connected, no media) after the media window;
    /// zero, or no `server_pid`, skips it.
    pub idle: Duration,
    /// Which peers run the calls.
    pub peers: PeerKind,
}

impl LoadConfig {
    /// A config for the Duet at `base_url` (WebSocket URL derived from it), 1 call, 10 s,
    /// no ramp-up, no server pid, no idle window (tests that build on this stay as short
    /// as they were; `duet-load` asks for one by default).
    pub fn new(base_url: &str, api_key: &str) -> LoadConfig {
        let base_url = base_url.trim_end_matches('/').to_owned();
        LoadConfig {
            ws_url: ws_url_for(&base_url),
            base_url,
            api_key: api_key.to_owned(),
            calls: 1,
            duration: Duration::from_secs(10),
            ramp_up: Duration::ZERO,
            server_pid: None,
            shape: Shape::Small,
            recording: "off",
            idle: Duration::ZERO,
            peers: PeerKind::Webrtc,
        }
    }
}

/// `http://host:port` → `ws://host:port/api/v1/ws` (`https` → `wss`).
pub fn ws_url_for(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let rest = base
        .strip_prefix("https://")
        .map(|r| format!("wss://{r}"))
        .or_else(|| base.strip_prefix("http://").map(|r| format!("ws://{r}")))
        .unwrap_or_else(|| format!("ws://{base}"));
    format!("{rest}/api/v1/ws")
}

/// A peer that was not connected during the idle window. The idle cost of calls that
/// dropped is not the cost of idle calls, so the run fails rather than report it.
#[derive(Debug)]
pub struct IdleDisconnect {
    /// Call index, from 0.
    pub call: usize,
    /// `mentor` or `mentee`.
    pub role: &'static str,
    /// Its peer-connection state when seen.
    pub state: String,
    /// How far into the idle window it was seen.
    pub after: Duration,
}

impl fmt::Display for IdleDisconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "call {} {}: peer connection {} after {:.1} s of the idle window",
            self.call,
            self.role,
            self.state,
            self.after.as_secs_f64()
        )
    }
}

impl std::error::Error for IdleDisconnect {}

/// The first peer of `calls` that is not connected, `after` into the idle window.
fn first_disconnected<P: LoadPeer>(calls: &[Call<P>], after: Duration) -> Option<IdleDisconnect> {
    calls.iter().find_map(|call| {
        call.peers.iter().zip(ROLES).find_map(|(peer, role)| {
            peer.disconnected().map(|state| IdleDisconnect {
                call: call.index,
                role,
                state,
                after,
            })
        })
    })
}

/// Duet's CPU over `cfg.idle` with every sender paused; `None` when there is no pid or no
/// window. Consent checks and RTCP keep running in the peers (pausing stops only media),
/// so this is an idle call as a client would hold it. Checks every peer each second and
/// at the end, and fails with [`IdleDisconnect`] if one was not connected.
async fn measure_idle<P: LoadPeer>(
    cfg: &LoadConfig,
    calls: &[Call<P>],
    empty: Option<EmptyCost>,
    progress: &impl Fn(&str),
) -> anyhow::Result<Option<IdleCost>> {
    let Some(pid) = cfg.server_pid.filter(|_| !cfg.idle.is_zero()) else {
        return Ok(None);
    };
    let sample =
        || procstat::sample(Some(pid)).with_context(|| format!("reading Duet's pid {pid}"));
    if let Some(gone) = first_disconnected(calls, Duration::ZERO) {
        return Err(gone.into());
    }
    progress(&format!(
        "idle for {:.0} s: every call connected, no media",
        cfg.idle.as_secs_f64()
    ));
    let s0 = sample()?;
    let t0 = Instant::now();
    while t0.elapsed() < cfg.idle {
        let left = cfg.idle.saturating_sub(t0.elapsed());
        tokio::time::sleep(left.min(PROGRESS_EVERY)).await;
        if let Some(gone) = first_disconnected(calls, t0.elapsed()) {
            return Err(gone.into());
        }
    }
    let window = t0.elapsed();
    let s1 = sample()?;
    let mut cost = IdleCost::new(
        micros(s1.cpu.saturating_sub(s0.cpu).total()),
        window.as_secs_f64(),
        calls.len(),
    );
    if let Some(empty) = empty {
        cost = cost.above(empty, calls.len());
    }
    progress(&format!(
        "idle: {} µs of Duet CPU, {:.4} % of a core per call ({:.4} % above the empty server)",
        cost.idle_cpu_us,
        cost.idle_percent_per_call,
        cost.idle_percent_per_call_above_empty.unwrap_or(f64::NAN)
    ));
    Ok(Some(cost))
}

/// Duet's CPU over as long as the idle window, before any call joined; `None` when
/// there is no pid or no idle window.
async fn measure_empty(
    cfg: &LoadConfig,
    progress: &impl Fn(&str),
) -> anyhow::Result<Option<EmptyCost>> {
    let Some(pid) = cfg.server_pid.filter(|_| !cfg.idle.is_zero()) else {
        return Ok(None);
    };
    progress(&format!(
        "empty server for {:.0} s: no call yet",
        cfg.idle.as_secs_f64()
    ));
    let sample =
        || procstat::sample(Some(pid)).with_context(|| format!("reading Duet's pid {pid}"));
    let s0 = sample()?;
    let t0 = Instant::now();
    tokio::time::sleep(cfg.idle).await;
    let window = t0.elapsed();
    let s1 = sample()?;
    Ok(Some(EmptyCost {
        empty_cpu_us: micros(s1.cpu.saturating_sub(s0.cpu).total()),
        empty_window_s: window.as_secs_f64(),
    }))
}

/// One running call.
pub(crate) struct Call<P = TestPeer> {
    pub(crate) index: usize,
    pub(crate) session: String,
    /// Mentor, mentee.
    pub(crate) peers: [P; 2],
    /// Join start to first received camera packet, per peer.
    first_video: [Duration; 2],
}

fn snapshot<P: LoadPeer>(calls: &[Call<P>]) -> Vec<[Counts; 2]> {
    calls
        .iter()
        .map(|c| [c.peers[0].counts(), c.peers[1].counts()])
        .collect()
}

fn total_received(snap: &[[Counts; 2]]) -> u64 {
    snap.iter()
        .flat_map(|pair| pair.iter())
        .map(|c| c.received.iter().sum::<u64>())
        .sum()
}

fn set_sending<P: LoadPeer>(calls: &[Call<P>], on: bool) {
    for call in calls {
        for peer in &call.peers {
            for kind in KINDS {
                peer.set_sending(kind, on);
            }
        }
    }
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Audio => "audio",
        MediaKind::Camera => "camera",
        MediaKind::Screen => "screen",
    }
}

fn sample_opt(pid: Option<u32>) -> anyhow::Result<Option<ProcSample>> {
    pid.map(|pid| procstat::sample(Some(pid)).with_context(|| format!("reading Duet's pid {pid}")))
        .transpose()
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// `us / packets`, 0 when nothing was forwarded (an empty window costs nothing per packet
/// rather than NaN, which JSON cannot carry).
fn per_packet(us: u64, packets: u64) -> f64 {
    if packets > 0 {
        us as f64 / packets as f64
    } else {
        0.0
    }
}

/// Duet's costs from its samples `[before any call joined, window start, window end]`.
/// User and kernel time are converted apart, each exactly (whole clock ticks), so they add
/// up to `cpu_us`.
fn server_report(
    pid: u32,
    [before, s0, s1]: [ProcSample; 3],
    forwarded: u64,
    window_s: f64,
    calls: usize,
) -> ServerReport {
    let cpu = s1.cpu.saturating_sub(s0.cpu);
    let cpu_us = micros(cpu.total());
    let user_us = micros(cpu.user);
    let system_us = micros(cpu.system);
    ServerReport {
        pid,
        cpu_us,
        cpu_us_per_packet: per_packet(cpu_us, forwarded),
        duet_user_us: user_us,
        duet_system_us: system_us,
        duet_user_us_per_packet: per_packet(user_us, forwarded),
        duet_system_us_per_packet: per_packet(system_us, forwarded),
        cpu_percent: cpu_us as f64 / 1e6 / window_s * 100.0,
        rss_before_kib: before.rss_kib,
        rss_end_kib: s1.rss_kib,
        rss_per_call_kib: (s1.rss_kib as f64 - before.rss_kib as f64) / calls as f64,
        anon_per_call_kib: (s1.anon_kib as f64 - before.anon_kib as f64) / calls as f64,
        idle: None,
    }
}

/// Creates the sessions, runs the calls and measures; see the module docs. `progress` gets
/// one line at each step and about once a second during the window.
pub async fn run(cfg: &LoadConfig, progress: impl Fn(&str)) -> anyhow::Result<LoadReport> {
    match cfg.peers {
        PeerKind::Webrtc => run_with::<TestPeer>(cfg, &progress).await,
        PeerKind::Light => run_with::<LightPeer>(cfg, &progress).await,
    }
}

async fn run_with<P: LoadPeer>(
    cfg: &LoadConfig,
    progress: &dyn Fn(&str),
) -> anyhow::Result<LoadReport> {
    anyhow::ensure!(cfg.calls > 0, "at least one call is needed");
    let driver = P::driver()?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .context("building the HTTP client")?;
    let server_before = sample_opt(cfg.server_pid)?;
    let empty = measure_empty(cfg, &progress).await?;

    progress(&format!(
        "starting {} calls over {:.1} s",
        cfg.calls,
        cfg.ramp_up.as_secs_f64()
    ));
    let started = Instant::now();
    let setups = (0..cfg.calls).map(|index| {
        let delay = cfg.ramp_up.mul_f64(index as f64 / cfg.calls as f64);
        start_call_with::<P>(&driver, cfg, &client, index, started + delay, progress)
    });
    let calls = try_join_all(setups).await?;
    progress(&format!(
        "all {} calls connected and receiving after {:.1} s",
        calls.len(),
        started.elapsed().as_secs_f64()
    ));

    let result = measure(cfg, &calls, server_before, empty, &progress).await;
    if let Some(note) = P::driver_note(&driver) {
        progress(&note);
    }

    // Leave and end the sessions whatever happened; failures here change no measurement.
    join_all(calls.iter().flat_map(|c| c.peers.iter()).map(|p| p.leave())).await;
    join_all(calls.iter().map(|c| end_session(cfg, &client, &c.session))).await;
    result
}

async fn measure<P: LoadPeer>(
    cfg: &LoadConfig,
    calls: &[Call<P>],
    server_before: Option<ProcSample>,
    empty: Option<EmptyCost>,
    progress: &impl Fn(&str),
) -> anyhow::Result<LoadReport> {
    // Quiet baseline: nothing in flight when the window's counts start.
    set_sending(calls, false);
    tokio::time::sleep(DRAIN).await;
    let base = snapshot(calls);
    let server0 = sample_opt(cfg.server_pid)?;
    let tool0 = procstat::sample(None).context("reading /proc/self")?;
    let t0 = Instant::now();
    set_sending(calls, true);
    progress(&format!(
        "measuring for {:.0} s",
        cfg.duration.as_secs_f64()
    ));

    let base_received = total_received(&base);
    let mut last = (t0, base_received);
    while t0.elapsed() < cfg.duration {
        let left = cfg.duration.saturating_sub(t0.elapsed());
        tokio::time::sleep(left.min(PROGRESS_EVERY)).await;
        let now = Instant::now();
        let received = total_received(&snapshot(calls));
        let rate = (received - last.1.min(received)) as f64
            / now.duration_since(last.0).as_secs_f64().max(1e-3);
        progress(&format!(
            "{:>5.1}/{:.0} s: {} packets forwarded, {:.0} packets/s",
            now.duration_since(t0).as_secs_f64(),
            cfg.duration.as_secs_f64(),
            received.saturating_sub(base_received),
            rate
        ));
        last = (now, received);
    }

    let end = snapshot(calls);
    let window = t0.elapsed();
    let server1 = sample_opt(cfg.server_pid)?;
    let tool1 = procstat::sample(None).context("reading /proc/self")?;

    set_sending(calls, false);
    progress("stopping senders, waiting for packets in flight");
    tokio::time::sleep(DRAIN).await;
    let fin = snapshot(calls);
    let idle = measure_idle(cfg, calls, empty, progress).await?;

    let mut streams = Vec::new();
    let mut all_latency_ms = Vec::new();
    for (c, call) in calls.iter().enumerate() {
        for from in 0..2 {
            let to = 1 - from;
            for kind in KINDS {
                let k = kind.index();
                let sent = fin[c][from].sent[k].saturating_sub(base[c][from].sent[k]);
                let received = fin[c][to].received[k].saturating_sub(base[c][to].received[k]);
                let received_in_window =
                    end[c][to].received[k].saturating_sub(base[c][to].received[k]);
                let window = base[c][to].latency_samples[k]..end[c][to].latency_samples[k];
                let latency_ms = call.peers[to].latency_ms(kind, window);
                all_latency_ms.extend_from_slice(&latency_ms);
                streams.push(StreamReport {
                    call: call.index,
                    session: call.session.clone(),
                    from: ROLES[from].to_owned(),
                    to: ROLES[to].to_owned(),
                    kind: kind_name(kind).to_owned(),
                    sent,
                    received,
                    lost: sent.saturating_sub(received),
                    received_in_window,
                    latency_ms: Percentiles::of(&latency_ms),
                });
            }
        }
    }
    let total_sent: u64 = streams.iter().map(|s| s.sent).sum();
    let total_received: u64 = streams.iter().map(|s| s.received).sum();
    let total_lost: u64 = streams.iter().map(|s| s.lost).sum();
    let forwarded: u64 = streams.iter().map(|s| s.received_in_window).sum();
    let window_s = window.as_secs_f64().max(1e-3);

    let first_video: Vec<f64> = calls
        .iter()
        .flat_map(|c| c.first_video.iter())
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();

    let server = match (cfg.server_pid, server_before, server0, server1) {
        (Some(pid), Some(before), Some(s0), Some(s1)) => Some(ServerReport {
            idle,
            ..server_report(pid, [before, s0, s1], forwarded, window_s, calls.len())
        }),
        _ => None,
    };
    let tool_cpu_us = micros(tool1.cpu.saturating_sub(tool0.cpu).total());

    let worst_stream_p99 = streams
        .iter()
        .filter(|s| s.latency_ms.count > 0)
        .map(|s| s.latency_ms.p99)
        .fold(0.0, f64::max);
    Ok(LoadReport {
        calls: calls.len(),
        shape: cfg.shape.name().to_owned(),
        peers: cfg.peers.name().to_owned(),
        ramp_up_s: cfg.ramp_up.as_secs_f64(),
        window_s,
        streams,
        total_sent,
        total_received,
        total_lost,
        loss_ratio: if total_sent > 0 {
            total_lost as f64 / total_sent as f64
        } else {
            0.0
        },
        forwarded_packets: forwarded,
        forwarded_packets_per_s: forwarded as f64 / window_s,
        join_to_first_video_ms: Percentiles::of(&first_video),
        added_latency_ms: Percentiles::of(&all_latency_ms),
        added_latency_worst_stream_p99_ms: worst_stream_p99,
        server,
        tool: ToolReport {
            cpu_us: tool_cpu_us,
            cpu_percent: tool_cpu_us as f64 / 1e6 / window_s * 100.0,
        },
    })
}

/// Creates a session at `at`, joins both parties as [`TestPeer`]s and waits until each
/// receives both kinds.
pub(crate) async fn start_call(
    cfg: &LoadConfig,
    client: &reqwest::Client,
    index: usize,
    at: Instant,
    progress: &dyn Fn(&str),
) -> anyhow::Result<Call> {
    start_call_with(&(), cfg, client, index, at, progress).await
}

/// [`start_call`] with any kind of peer.
async fn start_call_with<P: LoadPeer>(
    driver: &P::Driver,
    cfg: &LoadConfig,
    client: &reqwest::Client,
    index: usize,
    at: Instant,
    progress: &dyn Fn(&str),
) -> anyhow::Result<Call<P>> {
    tokio::time::sleep_until(at.into()).await;
    let session = create_session(cfg, client, index)
        .await
        .with_context(|| format!("creating the session of call {index}"))?;
    let id = session["id"].as_str().unwrap_or_default().to_owned();
    let (mentor, mentee) = tokio::try_join!(
        join_peer::<P>(driver, cfg, &session, index, ROLES[0]),
        join_peer::<P>(driver, cfg, &session, index, ROLES[1]),
    )?;
    let call = Call {
        index,
        session: id,
        peers: [mentor.0, mentee.0],
        first_video: [mentor.1, mentee.1],
    };
    progress(&format!(
        "call {index} up: first video after {:.0} ms (mentor), {:.0} ms (mentee)",
        call.first_video[0].as_secs_f64() * 1000.0,
        call.first_video[1].as_secs_f64() * 1000.0
    ));
    Ok(call)
}

/// Joins as `role`, waits for the first camera packet (timed from the start of `join`), then
/// for audio too.
async fn join_peer<P: LoadPeer>(
    driver: &P::Driver,
    cfg: &LoadConfig,
    session: &Value,
    index: usize,
    role: &str,
) -> anyhow::Result<(P, Duration)> {
    let token = session["tokens"][role]
        .as_str()
        .ok_or_else(|| anyhow!("the session has no {role} token: {session}"))?;
    let started = Instant::now();
    let peer = P::join(driver, cfg, token, &format!("load-{index}-{role}"))
        .await
        .with_context(|| format!("call {index}: {role} joining"))?;
    peer.wait_video(SETUP_TIMEOUT)
        .await
        .with_context(|| format!("call {index}: {role} waiting for video"))?;
    let first_video = started.elapsed();
    peer.wait_audio(SETUP_TIMEOUT)
        .await
        .with_context(|| format!("call {index}: {role} waiting for audio"))?;
    Ok((peer, first_video))
}

async fn create_session(
    cfg: &LoadConfig,
    client: &reqwest::Client,
    index: usize,
) -> anyhow::Result<Value> {
    let resp = client
        .post(format!("{}/api/v1/sessions", cfg.base_url))
        .bearer_auth(&cfg.api_key)
        .json(&json!({
            "title": format!("duet-load call {index}"),
            "mentor": {"name": format!("Load mentor {index}")},
            "mentee": {"name": format!("Load mentee {index}")},
            "recording": cfg.recording,
        }))
        .send()
        .await?;
    let status = resp.status();
    if status.as_u16() != 201 {
        let body = resp.text().await.unwrap_or_default();
        anyhow::bail!("POST /api/v1/sessions answered {status}: {body}");
    }
    Ok(resp.json().await?)
}

/// Ends a session (best effort).
pub(crate) async fn end_session(cfg: &LoadConfig, client: &reqwest::Client, id: &str) {
    if id.is_empty() {
        return;
    }
    let result = client
        .delete(format!("{}/api/v1/sessions/{id}", cfg.base_url))
        .bearer_auth(&cfg.api_key)
        .send()
        .await;
    if let Err(err) = result {
        tracing::warn!("ending session {id}: {err}");
    }
}

#[cfg(test)]
mod tests;
