//! The job that moves settled recordings to the bucket, and trims the
//! copies reads fetched back. It looks at the data folder every
//! [`SWEEP_EVERY`], so a recording that could not be uploaded (the bucket
//! was down) is simply tried again, also after a restart.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{Archive, COPY_MARK, is_copy};
use crate::recorder::manifest::{self, ManifestStatus};
use crate::store::{JobStatus, RecordingRowStatus, Store};

/// How often the data folder is looked at.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// A finished recording whose transcription was never queued (the queue
/// write failed) is uploaded anyway after this long.
const NO_JOB_GRACE: Duration = Duration::from_secs(3600);

/// A copy's media files (not its manifest and transcript) are removed
/// this long after it was fetched: the bucket still has them.
const COPY_KEPT: Duration = Duration::from_secs(3600);

/// What to do with a local recording folder now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Upload,
    /// Not settled yet (writing, or a transcript is being made).
    Wait,
}

/// Whether a recording is settled: finalized on disk and in the database,
/// and its transcript made, failed or not wanted. Pure, so it is tested
/// on its own.
pub fn step(
    manifest: ManifestStatus,
    row: Option<RecordingRowStatus>,
    job: Option<JobStatus>,
    transcribing: bool,
    finished_for: Duration,
) -> Step {
    if manifest == ManifestStatus::Recording {
        return Step::Wait;
    }
    match row {
        Some(RecordingRowStatus::Complete | RecordingRowStatus::Interrupted) => {}
        // Still recording in the database, deleted (its folder is going),
        // or not stored yet.
        _ => return Step::Wait,
    }
    match job {
        Some(JobStatus::Pending | JobStatus::Running) => Step::Wait,
        Some(JobStatus::Done | JobStatus::Failed | JobStatus::Cancelled) => Step::Upload,
        None if transcribing && finished_for < NO_JOB_GRACE => Step::Wait,
        None => Step::Upload,
    }
}

/// Runs [`sweep_once`] every [`SWEEP_EVERY`] while the server runs; only
/// with a bucket.
pub fn spawn(
    root: PathBuf,
    store: Store,
    archive: Archive,
    transcribing: bool,
) -> Option<tokio::task::JoinHandle<()>> {
    if !archive.is_bucket() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            sweep_once(&root, &store, &archive, transcribing).await;
        }
    }))
}

/// Uploads every settled recording under `root`, and trims old copies.
/// Returns how many recordings went up.
pub async fn sweep_once(
    root: &Path,
    store: &Store,
    archive: &Archive,
    transcribing: bool,
) -> usize {
    let mut uploaded = 0;
    let Ok(mut entries) = tokio::fs::read_dir(root).await else {
        return 0;
    };
    let mut dirs = Vec::new();
    while let Ok(Some(entry)) = entries.next_entry().await {
        dirs.push(entry.path());
    }
    for dir in dirs {
        let Some(id) = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| uuid::Uuid::parse_str(n).ok())
        else {
            continue;
        };
        if is_copy(&dir) {
            trim_copy(&dir).await;
            continue;
        }
        let Ok(m) = manifest::read(&dir) else {
            continue;
        };
        let finished_for = std::fs::metadata(dir.join(manifest::FILE_NAME))
            .and_then(|md| md.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .unwrap_or_default();
        let row = match store
            .recording(duet_signaling::consent::RecordingId(id))
            .await
        {
            Ok(row) => row.map(|r| r.status),
            Err(e) => {
                tracing::debug!(error = %e, "archive sweep: database unavailable");
                return uploaded;
            }
        };
        let job = match store.transcription(id.to_string()).await {
            Ok(job) => job.map(|j| j.status),
            Err(e) => {
                tracing::debug!(error = %e, "archive sweep: database unavailable");
                return uploaded;
            }
        };
        if step(m.status, row, job, transcribing, finished_for) != Step::Upload {
            continue;
        }
        let started = std::time::Instant::now();
        match archive.upload(&id.to_string(), &dir).await {
            Ok(bytes) => {
                uploaded += 1;
                tracing::info!(
                    recording = %id,
                    bytes,
                    seconds = started.elapsed().as_secs_f64(),
                    "recording uploaded to the bucket; local files removed"
                );
            }
            Err(e) => {
                tracing::warn!(recording = %id, error = %e, "could not upload a recording; trying again later");
            }
        }
    }
    uploaded
}

/// Removes a copy's media files once it is old: its manifest, transcript
/// and mark stay, so listings need no download.
async fn trim_copy(dir: &Path) {
    let age = std::fs::metadata(dir.join(COPY_MARK))
        .and_then(|md| md.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or_default();
    if age < COPY_KEPT {
        return;
    }
    let Ok(m) = manifest::read(dir) else {
        return;
    };
    let media = m
        .tracks
        .iter()
        .map(|t| t.file.as_str())
        .chain(m.transcripts.iter().map(|t| t.file.as_str()));
    for name in media {
        if let Err(e) = tokio::fs::remove_file(dir.join(name)).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::debug!(error = %e, "could not trim a fetched copy");
        }
    }
}

#[cfg(test)]
mod tests;
