//! What one recording may take of the disk: a size cap, a length cap, and
//! a floor of free space below which nothing is written (see
//! `[recording]` in the configuration). The rules are pure functions of
//! numbers the writer measures, so they are tested without a disk.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use crate::config::RecordingConfig;

const MB: u64 = 1024 * 1024;

/// The caps of one recording; `None` or 0 means no cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: Option<u64>,
    pub max_duration: Option<Duration>,
    pub min_free_bytes: u64,
}

impl From<&RecordingConfig> for Limits {
    fn from(c: &RecordingConfig) -> Limits {
        Limits {
            max_bytes: (c.max_size_mb > 0).then(|| c.max_size_mb.saturating_mul(MB)),
            max_duration: (c.max_duration_min > 0)
                .then(|| Duration::from_secs(c.max_duration_min.saturating_mul(60))),
            min_free_bytes: c.min_free_mb.saturating_mul(MB),
        }
    }
}

impl Default for Limits {
    /// The configuration's defaults: never "no limits" by omission.
    fn default() -> Limits {
        Limits::from(&RecordingConfig::default())
    }
}

/// Why a recording stopped at a limit; the text is what the manifest and
/// the log say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitReached {
    #[error("the recording reached its maximum size ({} MB, recording.max_size_mb)", .0 / MB)]
    Size(u64),
    #[error("the recording reached its maximum length ({} min, recording.max_duration_min)", .0.as_secs() / 60)]
    Duration(Duration),
    #[error("the disk is almost full: {} MB free, below recording.min_free_mb ({} MB)", .free / MB, .min / MB)]
    LowSpace { free: u64, min: u64 },
}

impl LimitReached {
    /// Whether the stop is a fault (the files are then `interrupted`)
    /// rather than a cap the recording simply reached (`complete`).
    pub fn is_fault(&self) -> bool {
        matches!(self, LimitReached::LowSpace { .. })
    }
}

impl Limits {
    /// Whether a recording `elapsed` long whose files hold `bytes` must
    /// stop.
    pub fn check(&self, bytes: u64, elapsed: Duration) -> Option<LimitReached> {
        if let Some(max) = self.max_bytes
            && bytes >= max
        {
            return Some(LimitReached::Size(max));
        }
        match self.max_duration {
            Some(max) if elapsed >= max => Some(LimitReached::Duration(max)),
            _ => None,
        }
    }

    /// Whether `free` bytes are too few to go on (or to start).
    pub fn check_free(&self, free: u64) -> Option<LimitReached> {
        (self.min_free_bytes > 0 && free < self.min_free_bytes).then_some(LimitReached::LowSpace {
            free,
            min: self.min_free_bytes,
        })
    }

    /// [`Limits::check_free`] for the file system holding `dir`. A file
    /// system that cannot be asked is not a reason to refuse: the writer
    /// still stops on the first failed write.
    pub fn check_free_at(&self, dir: &Path) -> Option<LimitReached> {
        if self.min_free_bytes == 0 {
            return None;
        }
        free_bytes(dir).ok().and_then(|free| self.check_free(free))
    }
}

/// Bytes available to an unprivileged writer in the file system of `dir`.
pub fn free_bytes(dir: &Path) -> io::Result<u64> {
    let s = rustix::fs::statvfs(dir)?;
    Ok(s.f_bavail.saturating_mul(s.f_frsize))
}

/// A writer that counts the bytes it passes on: the size of a track file
/// without asking the file system.
pub struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W> Counted<W> {
    pub fn new(inner: W) -> Counted<W> {
        Counted { inner, bytes: 0 }
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests;
