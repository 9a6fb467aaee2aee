//! What the soak reads from Duet itself: memory, descriptors and threads
//! from `/proc/<pid>`, and the live-state gauges from `/metrics`.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use crate::load::procstat;

/// Gauges that count live state; after the calls end, each must be back
/// where it was before they started.
pub const LIVE_GAUGES: [&str; 4] = [
    "duet_sessions_active",
    "duet_participants_connected",
    "duet_recordings_active",
    "duet_calls_connected",
];

/// One reading of the server.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServerSample {
    /// Seconds since the soak started.
    pub t_s: f64,
    pub rss_kib: u64,
    /// Open file descriptors (`/proc/<pid>/fd`).
    pub fds: usize,
    /// Threads of the process (`/proc/<pid>/task`): the runtime's workers
    /// plus its blocking pool (the store, recording writers, file streams).
    pub threads: usize,
    /// The [`LIVE_GAUGES`], as `/metrics` gives them.
    pub gauges: BTreeMap<String, f64>,
}

/// Reads `/proc/<pid>` and `<base_url>/metrics`.
pub async fn sample(
    client: &reqwest::Client,
    base_url: &str,
    pid: u32,
    since: Instant,
) -> anyhow::Result<ServerSample> {
    let proc = procstat::sample(Some(pid))?;
    let count = |dir: &str| -> anyhow::Result<usize> {
        Ok(std::fs::read_dir(format!("/proc/{pid}/{dir}"))
            .with_context(|| format!("reading /proc/{pid}/{dir}"))?
            .count())
    };
    let text = client
        .get(format!("{base_url}/metrics"))
        .send()
        .await
        .context("GET /metrics")?
        .text()
        .await
        .context("reading /metrics")?;
    Ok(ServerSample {
        t_s: since.elapsed().as_secs_f64(),
        rss_kib: proc.rss_kib,
        fds: count("fd")?,
        threads: count("task")?,
        gauges: gauges(&text),
    })
}

/// The [`LIVE_GAUGES`] from Prometheus text (unlabelled lines only).
pub fn gauges(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(' ')?;
            LIVE_GAUGES
                .contains(&name)
                .then(|| Some((name.to_owned(), value.trim().parse().ok()?)))
                .flatten()
        })
        .collect()
}

/// Growth of RSS over the second half of the samples, in KiB per minute
/// (least squares): near zero when memory is flat once warmed up.
pub fn rss_slope_kib_per_min(samples: &[ServerSample]) -> f64 {
    let half = &samples[samples.len() / 2..];
    if half.len() < 2 {
        return 0.0;
    }
    let n = half.len() as f64;
    let mean_t = half.iter().map(|s| s.t_s).sum::<f64>() / n;
    let mean_r = half.iter().map(|s| s.rss_kib as f64).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for s in half {
        num += (s.t_s - mean_t) * (s.rss_kib as f64 - mean_r);
        den += (s.t_s - mean_t).powi(2);
    }
    if den == 0.0 { 0.0 } else { num / den * 60.0 }
}

#[cfg(test)]
mod tests;
