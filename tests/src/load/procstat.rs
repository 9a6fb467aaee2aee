//! CPU time and resident memory of a process, read from `/proc`.

use std::time::Duration;

use anyhow::{Context, anyhow};

/// Clock ticks per second for `/proc/<pid>/stat` times. Linux exposes `USER_HZ` to user space,
/// which is 100 on every architecture Duet runs on.
pub const USER_HZ: u64 = 100;

/// One reading of a process's CPU time and memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcSample {
    /// User + system CPU time so far.
    pub cpu: Duration,
    /// Resident set size (`VmRSS`) in KiB.
    pub rss_kib: u64,
}

/// `/proc/<pid>`, or `/proc/self` for `None`.
fn proc_dir(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("/proc/{pid}"),
        None => "/proc/self".to_owned(),
    }
}

/// Reads CPU time and RSS of `pid` (`None`: this process).
pub fn sample(pid: Option<u32>) -> anyhow::Result<ProcSample> {
    let dir = proc_dir(pid);
    let stat = std::fs::read_to_string(format!("{dir}/stat"))
        .with_context(|| format!("reading {dir}/stat"))?;
    let status = std::fs::read_to_string(format!("{dir}/status"))
        .with_context(|| format!("reading {dir}/status"))?;
    Ok(ProcSample {
        cpu: cpu_time(&stat)?,
        rss_kib: vm_rss_kib(&status)?,
    })
}

/// utime + stime from the text of `/proc/<pid>/stat`.
pub fn cpu_time(stat: &str) -> anyhow::Result<Duration> {
    let (utime, stime) = cpu_ticks(stat)?;
    let ticks = utime + stime;
    Ok(Duration::from_secs(ticks / USER_HZ)
        + Duration::from_nanos((ticks % USER_HZ) * 1_000_000_000 / USER_HZ))
}

/// (utime, stime) in clock ticks from the text of `/proc/<pid>/stat`.
pub fn cpu_ticks(stat: &str) -> anyhow::Result<(u64, u64)> {
    // The command name (field 2) is in parentheses and may hold spaces or parentheses: the
    // fields that follow start after the *last* `)`. After it, field 3 (state) is index 0, so
    // utime (field 14) is index 11 and stime (field 15) index 12.
    let rest = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or_else(|| anyhow!("no `)` in /proc stat line"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize, name: &str| -> anyhow::Result<u64> {
        fields
            .get(i)
            .ok_or_else(|| anyhow!("/proc stat line has no {name}"))?
            .parse()
            .with_context(|| format!("parsing {name}"))
    };
    Ok((field(11, "utime")?, field(12, "stime")?))
}

/// `VmRSS` in KiB from the text of `/proc/<pid>/status`.
pub fn vm_rss_kib(status: &str) -> anyhow::Result<u64> {
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .ok_or_else(|| anyhow!("no VmRSS in /proc status"))?;
    let mut parts = line.split_whitespace();
    let value: u64 = parts
        .next()
        .ok_or_else(|| anyhow!("empty VmRSS"))?
        .parse()
        .context("parsing VmRSS")?;
    match parts.next() {
        None | Some("kB") => Ok(value),
        Some(unit) => Err(anyhow!("unexpected VmRSS unit {unit:?}")),
    }
}

#[cfg(test)]
mod tests;
