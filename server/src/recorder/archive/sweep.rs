//! The job that keeps the bucket up to date: every [`SWEEP_EVERY`] it
//! ships what recordings being written here gained (chunks), uploads
//! settled ones, trims the copies reads fetched back, and recovers from
//! their chunks the recordings of nodes that are gone. It works from the
//! data folder and the database, so anything that failed (the bucket was
//! down) is simply tried again, also after a restart.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use duet_signaling::consent::RecordingId;

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

/// What the job runs with.
pub struct SweepSetup {
    pub root: PathBuf,
    pub store: Store,
    pub archive: Archive,
    /// Whether transcripts are made (so a settled recording has one).
    pub transcribing: bool,
    /// This node's id: the recordings it writes are its to ship.
    pub node: String,
    /// A node whose heartbeat is this old is gone (`cluster::lease`).
    pub node_lease: Duration,
    /// The transcriber, for a recording recovered from chunks.
    pub after: Option<crate::recorder::After>,
}

/// Runs [`Sweeper::sweep`] every [`SWEEP_EVERY`] while the server runs;
/// only with a bucket.
pub fn spawn(setup: SweepSetup) -> Option<tokio::task::JoinHandle<()>> {
    if !setup.archive.is_bucket() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut sweeper = Sweeper::new(setup);
        let mut every = tokio::time::interval(SWEEP_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            sweeper.sweep().await;
        }
    }))
}

/// The job, with what it remembers between sweeps: the bytes of each
/// recording already shipped as chunks.
pub struct Sweeper {
    setup: SweepSetup,
    shipped: HashMap<String, BTreeMap<String, u64>>,
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub uploaded: usize,
    pub shipped_bytes: u64,
    pub recovered: usize,
}

impl Sweeper {
    pub fn new(setup: SweepSetup) -> Sweeper {
        Sweeper {
            setup,
            shipped: HashMap::new(),
        }
    }

    /// Ships what recordings being written gained, uploads settled ones,
    /// trims old copies, and recovers gone nodes' recordings.
    pub async fn sweep(&mut self) -> Swept {
        let mut swept = Swept::default();
        self.local(&mut swept).await;
        self.recover_orphans(&mut swept).await;
        swept
    }

    async fn local(&mut self, swept: &mut Swept) {
        let s = &self.setup;
        let Ok(mut entries) = tokio::fs::read_dir(&s.root).await else {
            return;
        };
        let mut dirs = Vec::new();
        while let Ok(Some(entry)) = entries.next_entry().await {
            dirs.push(entry.path());
        }
        let mut live = HashSet::new();
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
            let row = match s.store.recording(RecordingId(id)).await {
                Ok(row) => row,
                Err(e) => {
                    tracing::debug!(error = %e, "archive sweep: database unavailable");
                    return;
                }
            };
            let mine = row
                .as_ref()
                .is_some_and(|r| r.node == s.node || r.node.is_empty());
            if m.status == ManifestStatus::Recording {
                match &row {
                    Some(r) if r.status == RecordingRowStatus::Recording && mine => {
                        live.insert(id.to_string());
                        let shipped = self.shipped.entry(id.to_string()).or_default();
                        match s.archive.ship(&id.to_string(), &dir, shipped).await {
                            Ok(bytes) => swept.shipped_bytes += bytes,
                            Err(e) => {
                                tracing::warn!(recording = %id, error = %e, "could not ship a recording's new bytes; trying again")
                            }
                        }
                    }
                    // This node was gone long enough for another to recover
                    // the recording from its chunks: keep this copy aside.
                    Some(r) if !mine => set_aside(&s.root, &dir, &r.node).await,
                    _ => {}
                }
                continue;
            }
            // Finished here after another node had already recovered it
            // (this one was frozen past its lease): that one's is the
            // recording now.
            if let Some(r) = &row
                && !mine
            {
                set_aside(&s.root, &dir, &r.node).await;
                continue;
            }
            let finished_for = std::fs::metadata(dir.join(manifest::FILE_NAME))
                .and_then(|md| md.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .unwrap_or_default();
            let job = match s.store.transcription(id.to_string()).await {
                Ok(job) => job.map(|j| j.status),
                Err(e) => {
                    tracing::debug!(error = %e, "archive sweep: database unavailable");
                    return;
                }
            };
            let status = row.map(|r| r.status);
            if step(m.status, status, job, s.transcribing, finished_for) != Step::Upload {
                continue;
            }
            let started = std::time::Instant::now();
            match s.archive.upload(&id.to_string(), &dir).await {
                Ok(bytes) => {
                    swept.uploaded += 1;
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
        // Forget what was shipped of recordings no longer written here.
        self.shipped.retain(|id, _| live.contains(id));
    }

    /// Recovers the recordings of nodes that are gone, one node at a time
    /// (the `recover_recordings` chore): each is claimed in the database
    /// first, so only one node recovers it and its writer, if it comes
    /// back, leaves it alone.
    async fn recover_orphans(&mut self, swept: &mut Swept) {
        let s = &self.setup;
        let now_ms = crate::clock::now_ms();
        let lease_ms = i64::try_from(s.node_lease.as_millis()).unwrap_or(i64::MAX);
        match s
            .store
            .hold_chore("recover_recordings", &s.node, now_ms, now_ms + 3 * lease_ms)
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::debug!(error = %e, "archive sweep: database unavailable");
                return;
            }
        }
        let rows = match s
            .store
            .orphaned_recordings(&s.node, now_ms - lease_ms)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::debug!(error = %e, "archive sweep: database unavailable");
                return;
            }
        };
        for row in rows {
            let Ok(uuid) = uuid::Uuid::parse_str(&row.id) else {
                continue;
            };
            let id = RecordingId(uuid);
            match s.store.claim_recording(id, &row.node, &s.node).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(recording = %id, error = %e, "could not claim a gone node's recording");
                    continue;
                }
            }
            let dir = s.root.join(&row.id);
            match s.archive.reassemble(&row.id, &dir).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(recording = %id, node = %row.node, "a gone node's recording had no chunks in the bucket")
                }
                Err(e) => {
                    // Claimed but not rebuilt: recovery marks it
                    // interrupted without files rather than leave it open.
                    tracing::error!(recording = %id, error = %e, "could not reassemble a recording from its chunks");
                }
            }
            let (root, store, after) = (s.root.clone(), s.store.clone(), s.after.clone());
            let node = s.node.clone();
            let runtime = tokio::runtime::Handle::current();
            let gone = row.node.clone();
            let recovered = tokio::task::spawn_blocking(move || {
                crate::recorder::recovery::recover_one(
                    &root,
                    row,
                    &store,
                    &runtime,
                    after.as_ref(),
                    &node,
                );
            })
            .await;
            if recovered.is_ok() {
                swept.recovered += 1;
                tracing::warn!(recording = %id, node = %gone, "recovered a gone node's recording from its chunks");
            }
        }
    }
}

/// Moves a folder this node can no longer call its own (another node
/// recovered the recording from its chunks while it was gone) to
/// `recordings/superseded/`: it may hold a few seconds more than the
/// recovered one, so it is kept for the operator, never uploaded.
async fn set_aside(root: &Path, dir: &Path, now_writer: &str) {
    let aside = root.join("superseded");
    let Some(name) = dir.file_name() else {
        return;
    };
    let to = aside.join(name);
    let moved = async {
        tokio::fs::create_dir_all(&aside).await?;
        tokio::fs::rename(dir, &to).await
    };
    match moved.await {
        Ok(()) => tracing::warn!(
            recording = ?name,
            recovered_by = now_writer,
            kept = %to.display(),
            "another node recovered this recording while this node was gone; this copy is kept aside"
        ),
        Err(e) => tracing::error!(error = %e, "could not set aside a superseded recording"),
    }
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
