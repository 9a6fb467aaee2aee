//! CPU time and resident memory of a process, read from `/proc`.

use std::fmt;
use std::num::ParseIntError;
use std::time::Duration;

/// Clock ticks per second for `/proc/<pid>/stat` times. Linux exposes `USER_HZ` to user space,
/// which is 100 on every architecture Duet runs on.
pub const USER_HZ: u64 = 100;

/// Why a `/proc` reading failed.
#[derive(Debug)]
pub enum ProcError {
    /// A `/proc` file could not be read (the process exited, or no permission).
    Read {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The stat line has no `)` closing the command name, so its fields cannot be found.
    NoCommandName,
    /// The line ends before this field.
    MissingField(&'static str),
    /// This field is not an unsigned integer.
    BadNumber {
        /// The field (`utime`, `stime`, `VmRSS`, `RssAnon`).
        field: &'static str,
        /// Why it did not parse.
        source: ParseIntError,
    },
    /// `/proc/<pid>/status` has no such line (kernel threads have no `VmRSS`).
    NoStatusLine(&'static str),
    /// A memory line of `/proc/<pid>/status` is in a unit other than `kB`.
    StatusUnit { field: &'static str, unit: String },
}

impl fmt::Display for ProcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcError::Read { path, .. } => write!(f, "reading {path}"),
            ProcError::NoCommandName => f.write_str("no `)` in /proc stat line"),
            ProcError::MissingField(name) => write!(f, "/proc line has no {name}"),
            ProcError::BadNumber { field, .. } => write!(f, "parsing {field}"),
            ProcError::NoStatusLine(field) => write!(f, "no {field} in /proc status"),
            ProcError::StatusUnit { field, unit } => write!(f, "unexpected {field} unit {unit:?}"),
        }
    }
}

impl std::error::Error for ProcError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProcError::Read { source, .. } => Some(source),
            ProcError::BadNumber { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A process's CPU time, user and kernel apart: the load report shows both, because a
/// packet's cost is partly Duet's own code (user) and partly the socket calls it makes
/// (kernel), and the two call for different fixes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// `utime`: time in user mode.
    pub user: Duration,
    /// `stime`: time in the kernel on the process's behalf (system calls, page faults).
    pub system: Duration,
}

impl CpuTimes {
    /// User + kernel.
    pub fn total(self) -> Duration {
        self.user + self.system
    }

    /// Time spent since `earlier`, each part on its own. Saturating: a sample of another
    /// process that reused the pid must not panic the report.
    pub fn saturating_sub(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// One reading of a process's CPU time and memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcSample {
    /// User and system CPU time so far.
    pub cpu: CpuTimes,
    /// Resident set size (`VmRSS`) in KiB.
    pub rss_kib: u64,
    /// Of it, anonymous memory (`RssAnon`: heap and stacks), in KiB; the
    /// rest is mostly the binary's code, paged in as it first runs.
    pub anon_kib: u64,
}

/// `/proc/<pid>`, or `/proc/self` for `None`.
fn proc_dir(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("/proc/{pid}"),
        None => "/proc/self".to_owned(),
    }
}

fn read(path: String) -> Result<String, ProcError> {
    std::fs::read_to_string(&path).map_err(|source| ProcError::Read { path, source })
}

/// Reads CPU time and RSS of `pid` (`None`: this process).
pub fn sample(pid: Option<u32>) -> Result<ProcSample, ProcError> {
    let dir = proc_dir(pid);
    let stat = read(format!("{dir}/stat"))?;
    let status = read(format!("{dir}/status"))?;
    Ok(ProcSample {
        cpu: cpu_times(&stat)?,
        rss_kib: vm_rss_kib(&status)?,
        anon_kib: status_kib(&status, "RssAnon")?,
    })
}

/// Clock ticks as a duration. Exact: `USER_HZ` divides a second's nanoseconds, so user and
/// system converted apart still add up to the converted total.
fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_secs(ticks / USER_HZ)
        + Duration::from_nanos((ticks % USER_HZ) * 1_000_000_000 / USER_HZ)
}

/// utime and stime, apart, from the text of `/proc/<pid>/stat`.
pub fn cpu_times(stat: &str) -> Result<CpuTimes, ProcError> {
    let (utime, stime) = cpu_ticks(stat)?;
    Ok(CpuTimes {
        user: ticks_to_duration(utime),
        system: ticks_to_duration(stime),
    })
}

/// utime + stime from the text of `/proc/<pid>/stat`.
pub fn cpu_time(stat: &str) -> Result<Duration, ProcError> {
    cpu_times(stat).map(CpuTimes::total)
}

/// (utime, stime) in clock ticks from the text of `/proc/<pid>/stat`.
pub fn cpu_ticks(stat: &str) -> Result<(u64, u64), ProcError> {
    // The command name (field 2) is in parentheses and may hold spaces or parentheses: the
    // fields that follow start after the *last* `)`. After it, field 3 (state) is index 0, so
    // utime (field 14) is index 11 and stime (field 15) index 12.
    let rest = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or(ProcError::NoCommandName)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize, name: &'static str| -> Result<u64, ProcError> {
        fields
            .get(i)
            .ok_or(ProcError::MissingField(name))?
            .parse()
            .map_err(|source| ProcError::BadNumber {
                field: name,
                source,
            })
    };
    Ok((field(11, "utime")?, field(12, "stime")?))
}

/// `VmRSS` in KiB from the text of `/proc/<pid>/status`.
pub fn vm_rss_kib(status: &str) -> Result<u64, ProcError> {
    status_kib(status, "VmRSS")
}

/// The memory line `field` (`VmRSS`, `RssAnon`, ...) in KiB from the text of
/// `/proc/<pid>/status`.
pub fn status_kib(status: &str, field: &'static str) -> Result<u64, ProcError> {
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .ok_or(ProcError::NoStatusLine(field))?;
    let mut parts = line.split_whitespace();
    let value: u64 = parts
        .next()
        .ok_or(ProcError::MissingField(field))?
        .parse()
        .map_err(|source| ProcError::BadNumber { field, source })?;
    match parts.next() {
        None | Some("kB") => Ok(value),
        Some(unit) => Err(ProcError::StatusUnit {
            field,
            unit: unit.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests;
