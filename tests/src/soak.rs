//! The soak mode of `duet-load` (`--soak`, driven by `tests/soak.sh`): N
//! calls held for a long time while each runs recording cycles (request,
//! both consent, record, revoke) one after another, with Duet's memory,
//! descriptors, threads and live-state gauges sampled throughout.
//!
//! It reports, besides the timeline:
//! - the consent path's times per step ([`cycle`]): p50/p99 of request →
//!   `requested`, consent → `recording`, revoke → `off` (each an upper
//!   bound on storing that step's consent events), and revoke → last write
//!   to the track files (the writer stopped), when the data folder is given;
//! - media-loop lag, as the added latency of audio over the run (send to
//!   receive through Duet, both ends in this process), p50/p99;
//! - RSS growth over the second half (flat memory is near zero), and
//!   descriptors and threads before, at peak and after;
//! - whether every live-state gauge (sessions, participants, recordings,
//!   connected calls) and the descriptor count returned to their baseline
//!   once the calls ended.

pub mod cycle;
pub mod server;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::future::{join_all, try_join_all};
use serde::Serialize;

use crate::MediaKind;
use crate::load::{self, LoadConfig, Percentiles};
use server::{LIVE_GAUGES, ServerSample};

/// How long the calls get, once they end, to be cleaned up everywhere.
const SETTLE: Duration = Duration::from_secs(20);
/// Descriptors may differ from the baseline by this much afterwards
/// (log files, the SQLite WAL, a pooled connection).
const FD_SLACK: usize = 8;

#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// Calls, duration, ramp-up and shape as for a load run; `server_pid`
    /// is required.
    pub load: LoadConfig,
    /// Duet's data folder, for timing the writer's stop from its files.
    pub data_dir: Option<PathBuf>,
    /// How long each recording runs before it is revoked.
    pub record_for: Duration,
    /// Pause between one call's cycles.
    pub pause: Duration,
    /// How often the server is sampled.
    pub sample_every: Duration,
}

#[derive(Clone, Debug, Serialize)]
pub struct SoakReport {
    pub calls: usize,
    pub duration_s: f64,
    pub cycles: usize,
    pub failed_cycles: usize,
    pub first_failure: Option<String>,
    pub request_ms: Percentiles,
    pub consent_ms: Percentiles,
    pub revoke_ms: Percentiles,
    pub writer_stopped_ms: Percentiles,
    /// Added latency of audio through Duet over the run.
    pub media_lag_ms: Percentiles,
    pub rss_slope_kib_per_min: f64,
    pub baseline: ServerSample,
    pub peak_rss_kib: u64,
    pub peak_fds: usize,
    pub peak_threads: usize,
    pub after: ServerSample,
    /// Gauges (and descriptors) not back at their baseline after the calls.
    pub not_at_baseline: Vec<String>,
    pub timeline: Vec<ServerSample>,
}

/// Runs the soak; `progress` gets a line per step and per sample.
pub async fn run(cfg: &SoakConfig, progress: impl Fn(&str)) -> anyhow::Result<SoakReport> {
    let pid = cfg.load.server_pid.context("the soak needs --server-pid")?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()?;
    let base = &cfg.load.base_url;
    let t0 = Instant::now();
    let baseline = server::sample(&client, base, pid, t0).await?;
    progress(&format!("baseline: {}", line(&baseline)));

    let mut load = cfg.load.clone();
    load.recording = "allowed";
    let started = Instant::now();
    let progress_ref: &dyn Fn(&str) = &progress;
    let calls = try_join_all((0..load.calls).map(|i| {
        let at = started + load.ramp_up.mul_f64(i as f64 / load.calls as f64);
        load::start_call(&load, &client, i, at, progress_ref)
    }))
    .await?;
    progress(&format!(
        "{} calls up; soaking for {:.0} s",
        calls.len(),
        load.duration.as_secs_f64()
    ));

    let marks: Vec<[usize; 2]> = calls
        .iter()
        .map(|c| c.peers.each_ref().map(audio_samples))
        .collect();
    let until = Instant::now() + load.duration;
    let recordings = cfg.data_dir.as_ref().map(|d| d.join("recordings"));
    let cycles = join_all(calls.iter().map(|call| async {
        let mut out = Vec::new();
        let mut i = call.index;
        while Instant::now() + cfg.record_for < until {
            let times = cycle::run(
                &call.peers,
                &call.session,
                i,
                cfg.record_for,
                recordings.as_deref(),
            );
            out.push(
                times
                    .await
                    .map_err(|e| format!("call {}: {e:#}", call.index)),
            );
            i += 1;
            tokio::time::sleep(
                cfg.pause
                    .min(until.saturating_duration_since(Instant::now())),
            )
            .await;
        }
        out
    }));
    let sampler = async {
        let mut timeline = vec![baseline.clone()];
        while Instant::now() < until {
            tokio::time::sleep(
                cfg.sample_every
                    .min(until.saturating_duration_since(Instant::now())),
            )
            .await;
            match server::sample(&client, base, pid, t0).await {
                Ok(s) => {
                    progress_ref(&format!("{:>6.0} s: {}", s.t_s, line(&s)));
                    timeline.push(s);
                }
                Err(e) => progress_ref(&format!("sampling failed: {e:#}")),
            }
        }
        timeline
    };
    let (cycles, timeline) = tokio::join!(cycles, sampler);
    let media_lag = media_lag(&calls, &marks);

    progress("ending the calls");
    join_all(calls.iter().flat_map(|c| c.peers.iter()).map(|p| p.leave())).await;
    join_all(
        calls
            .iter()
            .map(|c| load::end_session(&load, &client, &c.session)),
    )
    .await;
    for call in &calls {
        for peer in &call.peers {
            peer.close().await;
        }
    }
    drop(calls);
    let (after, not_at_baseline) = settle(&client, base, pid, t0, &baseline).await?;
    progress(&format!("after: {}", line(&after)));
    Ok(report(
        cfg,
        cycles.into_iter().flatten().collect(),
        media_lag,
        timeline,
        baseline,
        after,
        not_at_baseline,
    ))
}

fn line(s: &ServerSample) -> String {
    let gauges: Vec<String> = s
        .gauges
        .iter()
        .map(|(k, v)| format!("{}={v}", k.trim_start_matches("duet_")))
        .collect();
    format!(
        "rss {} KiB, {} fds, {} threads, {}",
        s.rss_kib,
        s.fds,
        s.threads,
        gauges.join(" ")
    )
}

fn audio_samples(peer: &crate::TestPeer) -> usize {
    peer.watch_stats()
        .borrow()
        .received
        .get(MediaKind::Audio)
        .latency_us
        .len()
}

/// Added latency of the audio received since `marks`, over every peer.
fn media_lag(calls: &[load::Call], marks: &[[usize; 2]]) -> Percentiles {
    let mut all = Vec::new();
    for (call, mark) in calls.iter().zip(marks) {
        for (peer, &from) in call.peers.iter().zip(mark) {
            let rx = peer.watch_stats();
            let stats = rx.borrow();
            let samples = &stats.received.get(MediaKind::Audio).latency_us;
            all.extend(
                samples
                    .get(from..)
                    .unwrap_or_default()
                    .iter()
                    .map(|&us| f64::from(us) / 1000.0),
            );
        }
    }
    Percentiles::of(&all)
}

/// Waits until every live gauge is back at its baseline and descriptors
/// are near theirs, or [`SETTLE`] passes; returns the last sample and what
/// is still off.
async fn settle(
    client: &reqwest::Client,
    base: &str,
    pid: u32,
    t0: Instant,
    baseline: &ServerSample,
) -> anyhow::Result<(ServerSample, Vec<String>)> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let s = server::sample(client, base, pid, t0).await?;
        let mut off: Vec<String> = LIVE_GAUGES
            .iter()
            .filter(|g| s.gauges.get(**g) != baseline.gauges.get(**g))
            .map(|g| {
                format!(
                    "{g}: {:?} (baseline {:?})",
                    s.gauges.get(*g),
                    baseline.gauges.get(*g)
                )
            })
            .collect();
        if s.fds > baseline.fds + FD_SLACK {
            off.push(format!(
                "open descriptors: {} (baseline {})",
                s.fds, baseline.fds
            ));
        }
        if off.is_empty() || Instant::now() > deadline {
            return Ok((s, off));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn report(
    cfg: &SoakConfig,
    cycles: Vec<Result<cycle::CycleTimes, String>>,
    media_lag_ms: Percentiles,
    timeline: Vec<ServerSample>,
    baseline: ServerSample,
    after: ServerSample,
    not_at_baseline: Vec<String>,
) -> SoakReport {
    let ok: Vec<&cycle::CycleTimes> = cycles.iter().filter_map(|c| c.as_ref().ok()).collect();
    let of = |f: fn(&cycle::CycleTimes) -> Option<f64>| {
        Percentiles::of(&ok.iter().filter_map(|c| f(c)).collect::<Vec<_>>())
    };
    SoakReport {
        calls: cfg.load.calls,
        duration_s: cfg.load.duration.as_secs_f64(),
        cycles: cycles.len(),
        failed_cycles: cycles.len() - ok.len(),
        first_failure: cycles.iter().find_map(|c| c.as_ref().err().cloned()),
        request_ms: of(|c| Some(c.request_ms)),
        consent_ms: of(|c| Some(c.consent_ms)),
        revoke_ms: of(|c| Some(c.revoke_ms)),
        writer_stopped_ms: of(|c| c.writer_stopped_ms),
        media_lag_ms,
        rss_slope_kib_per_min: server::rss_slope_kib_per_min(&timeline),
        peak_rss_kib: timeline.iter().map(|s| s.rss_kib).max().unwrap_or(0),
        peak_fds: timeline.iter().map(|s| s.fds).max().unwrap_or(0),
        peak_threads: timeline.iter().map(|s| s.threads).max().unwrap_or(0),
        baseline,
        after,
        not_at_baseline,
        timeline,
    }
}

impl SoakReport {
    /// A short human summary.
    pub fn summary(&self) -> String {
        let p = |p: &Percentiles| format!("p50 {:.1} / p99 {:.1} ms (n={})", p.p50, p.p99, p.count);
        let mut out = String::new();
        let mut add = |k: &str, v: String| out.push_str(&format!("{k:<32} {v}\n"));
        add(
            "calls, duration",
            format!("{}, {:.0} s", self.calls, self.duration_s),
        );
        add(
            "recording cycles (failed)",
            format!("{} ({})", self.cycles, self.failed_cycles),
        );
        if let Some(f) = &self.first_failure {
            add("first failure", f.clone());
        }
        add("request -> requested", p(&self.request_ms));
        add("consent -> recording", p(&self.consent_ms));
        add("revoke -> off", p(&self.revoke_ms));
        add("revoke -> writer stopped", p(&self.writer_stopped_ms));
        add("media lag (audio added latency)", p(&self.media_lag_ms));
        add(
            "RSS KiB baseline/peak/after",
            format!(
                "{} / {} / {}",
                self.baseline.rss_kib, self.peak_rss_kib, self.after.rss_kib
            ),
        );
        add(
            "RSS slope, 2nd half",
            format!("{:+.1} KiB/min", self.rss_slope_kib_per_min),
        );
        add(
            "fds baseline/peak/after",
            format!(
                "{} / {} / {}",
                self.baseline.fds, self.peak_fds, self.after.fds
            ),
        );
        add(
            "threads baseline/peak/after",
            format!(
                "{} / {} / {}",
                self.baseline.threads, self.peak_threads, self.after.threads
            ),
        );
        let gauges: BTreeMap<_, _> = self.after.gauges.iter().collect();
        add("gauges after", format!("{gauges:?}"));
        add(
            "back to baseline",
            if self.not_at_baseline.is_empty() {
                "yes".to_owned()
            } else {
                format!("NO: {}", self.not_at_baseline.join("; "))
            },
        );
        out
    }
}
