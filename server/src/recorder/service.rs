//! Starting and stopping recordings.
//!
//! [`Recorders::start`] takes a [`RecordingGrant`] — which only the consent
//! state machine can produce — and additionally re-reads the stored consent
//! trail: it refuses to open a single file unless both participants' consent
//! events for this recording, to this notice, are in the database. Writing
//! without two stored consents is thus impossible by construction, not by
//! convention.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use tokio::sync::oneshot;

use duet_signaling::consent::{RecordingGrant, RecordingId};
use duet_signaling::protocol::SessionInfo;
use duet_signaling::{ParticipantId, Role};

use super::limits::Limits;
use super::manifest::{self, Manifest, ManifestParticipant, ManifestSession, ManifestStatus};
use super::tap::{self, RecordTap};
use super::writer::{self, Control, WriterJob};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError, StoredConsentEvent};

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("the consent trail does not hold both participants' consent for this recording")]
    NotConsented,
    #[error("could not create the recording: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not write the manifest: {0}")]
    Manifest(#[from] manifest::ManifestError),
    #[error("could not store the recording: {0}")]
    Store(#[from] StoreError),
}

/// Who is in the recording, for its manifest.
#[derive(Debug, Clone)]
pub struct RecordingContext {
    pub session: SessionInfo,
    pub participants: Vec<(Role, ParticipantId, String)>,
    pub notice_hash: String,
    /// The hashes of the notice's translations the room offered: a consent
    /// to one of them counts as a consent to the notice.
    pub translation_hashes: Vec<String>,
    pub started_at_ms: i64,
}

pub use super::FailureHook;

#[derive(Clone)]
pub struct Recorders {
    root: PathBuf,
    store: Store,
    /// Writer threads still running (writing or finalizing).
    running: Arc<AtomicUsize>,
    metrics: Metrics,
    limits: Limits,
    after: Option<super::After>,
    archive: super::archive::Archive,
    /// This node's id, stored as each recording's writer.
    node: String,
}

/// A recording being written. Dropping it does not stop it; `stop` does.
pub struct ActiveRecording {
    pub id: RecordingId,
    /// When the recording's clock started (unix ms): what a moment marked
    /// in the call is measured from.
    pub started_at_ms: i64,
    /// Where the media engine hands this recording's packets.
    pub tap: RecordTap,
    control: mpsc::Sender<Control>,
}

impl ActiveRecording {
    /// Stops writing at once (the writer checks before every packet) and
    /// finalizes the files; with `discard`, deletes them instead. Only a
    /// message: the writer's thread makes the discard durable (see
    /// [`super::discard`]) before it touches the files, so no disk sync
    /// runs on the caller's async task or delays the stop.
    pub fn stop(&self, discard: bool) {
        let _ = self.control.send(Control::Stop { discard });
    }
}

impl Recorders {
    pub fn new(root: PathBuf, store: Store, metrics: Metrics) -> Recorders {
        Recorders {
            root,
            store,
            running: Arc::new(AtomicUsize::new(0)),
            metrics,
            limits: Limits::default(),
            after: None,
            archive: super::archive::Archive::local(),
            node: String::new(),
        }
    }

    /// The node these recorders run on (`node.id`).
    pub fn with_node(mut self, node: String) -> Recorders {
        self.node = node;
        self
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Where finished recordings are kept (`storage.url`).
    pub fn with_archive(mut self, archive: super::archive::Archive) -> Recorders {
        self.archive = archive;
        self
    }

    pub fn archive(&self) -> &super::archive::Archive {
        &self.archive
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of a recording id read back from the database, holding
    /// at least its manifest and transcript when the recording exists:
    /// fetched from the bucket if it was uploaded there. A bucket that
    /// cannot be reached is logged; the folder then lacks the manifest,
    /// which callers already treat as "not found".
    pub async fn open(&self, id: &str) -> PathBuf {
        let dir = self.dir_of_str(id);
        if self.archive.is_bucket()
            && uuid::Uuid::parse_str(id).is_ok()
            && let Err(e) = self.archive.fetch_manifest(id, &dir).await
        {
            tracing::warn!(recording = id, error = %e, "could not fetch a recording from the bucket");
        }
        dir
    }

    /// `open`'s folder, also holding the file `name` (one the manifest
    /// lists), fetched from the bucket if needed.
    pub async fn open_file(&self, id: &str, dir: &Path, name: &str) {
        if let Err(e) = self.archive.fetch_file(id, dir, name).await {
            tracing::warn!(recording = id, file = name, error = %e, "could not fetch a recording's file from the bucket");
        }
    }

    /// What runs after each recording is finalized or before it is deleted.
    pub fn with_after(mut self, after: super::After) -> Recorders {
        self.after = Some(after);
        self
    }

    pub fn after(&self) -> Option<&super::After> {
        self.after.as_ref()
    }

    /// The size, length and free-space limits of every recording.
    pub fn with_limits(mut self, limits: Limits) -> Recorders {
        self.limits = limits;
        self
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn dir_of(&self, id: RecordingId) -> PathBuf {
        self.root.join(id.to_string())
    }

    /// The folder of a recording id read back from the database (a UUID
    /// string Duet wrote; anything else maps to a folder that cannot exist).
    pub fn dir_of_str(&self, id: &str) -> PathBuf {
        match uuid::Uuid::parse_str(id) {
            Ok(u) => self.dir_of(RecordingId(u)),
            Err(_) => self.root.join("invalid"),
        }
    }

    /// Checks the stored trail (one read, also copied into the manifest),
    /// then has the recording's own thread create its folder and first
    /// manifest, stores its row, and lets the thread start writing. The
    /// room awaits only the database and that thread, never a blocking pool.
    pub async fn start(
        &self,
        grant: RecordingGrant,
        ctx: RecordingContext,
        on_failure: FailureHook,
    ) -> Result<ActiveRecording, RecorderError> {
        let id = grant.id();
        let trail = self.store.recording_trail(id).await?;
        let accepted: Vec<&str> = std::iter::once(ctx.notice_hash.as_str())
            .chain(ctx.translation_hashes.iter().map(String::as_str))
            .collect();
        check_trail(&grant, &accepted, &trail)?;
        let queue = tap::queue(tap::QUEUE_PACKETS);
        let (control, control_rx) = mpsc::channel();
        let job = WriterJob {
            id,
            dir: self.dir_of(id),
            start: Instant::now(),
            started_at_ms: ctx.started_at_ms,
            manifest: first_manifest(id, &ctx, trail),
            packets: queue.rx,
            control: control_rx,
            dropped: queue.dropped,
            keyframes: queue.tap.keyframe_requests(),
            store: self.store.clone(),
            runtime: tokio::runtime::Handle::current(),
            on_failure,
            bytes_written: self.metrics.recording_bytes.clone(),
            limits: self.limits,
            after: self.after.clone(),
            node: self.node.clone(),
        };
        let (go, prepared) = self.spawn_writer(job)?;
        prepared
            .await
            .map_err(|_| std::io::Error::other("the recording thread ended early"))??;
        // Dropping `go` on this error makes the thread remove the folder.
        self.store
            .insert_recording(id, ctx.session.id, ctx.started_at_ms, &self.node)
            .await?;
        let _ = go.send(());
        tracing::info!(recording = %id, session = %ctx.session.id, "recording started");
        Ok(ActiveRecording {
            id,
            started_at_ms: ctx.started_at_ms,
            tap: queue.tap.clone(),
            control,
        })
    }

    /// The recording's thread: creates the folder and first manifest,
    /// reports that through the returned receiver, then writes once told to
    /// go (after the database row exists). A std thread, not the blocking
    /// pool, so that nothing queued there can delay or starve a recording.
    #[allow(clippy::type_complexity)]
    fn spawn_writer(
        &self,
        job: WriterJob,
    ) -> Result<
        (
            mpsc::SyncSender<()>,
            oneshot::Receiver<Result<(), RecorderError>>,
        ),
        RecorderError,
    > {
        let (go, go_rx) = mpsc::sync_channel::<()>(1);
        let root = self.root.clone();
        let (ready, prepared) = oneshot::channel();
        let running = Running::enter(self.running.clone(), self.metrics.recordings_active.clone());
        std::thread::Builder::new()
            .name("duet-recorder".into())
            .spawn(move || {
                let _running = running;
                let result = create_folder(&root, &job.dir, &job.manifest, &job.limits);
                let ok = result.is_ok();
                let _ = ready.send(result);
                if !ok {
                    return;
                }
                if go_rx.recv().is_err() {
                    // The row could not be stored: leave nothing behind.
                    let _ = std::fs::remove_dir_all(&job.dir);
                    return;
                }
                writer::run(job);
            })?;
        Ok((go, prepared))
    }

    /// Waits (up to `limit`) until every recording has finished writing
    /// its files, manifest and transcripts: at shutdown, so a clean stop is
    /// not mistaken for a crash at the next start.
    pub async fn wait_idle(&self, limit: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.running.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// Counts a recording thread as running (writing or finalizing) until the
/// thread ends, whichever way it ends.
struct Running {
    count: Arc<AtomicUsize>,
    gauge: prometheus_client::metrics::gauge::Gauge,
}

impl Running {
    fn enter(count: Arc<AtomicUsize>, gauge: prometheus_client::metrics::gauge::Gauge) -> Running {
        count.fetch_add(1, Ordering::SeqCst);
        gauge.inc();
        Running { count, gauge }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.gauge.dec();
        self.count.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Refuses when the disk is nearly full, then makes the folder (durably:
/// its parent is synced, and so is the parent of every folder above it
/// that this created, such as `recordings/` on the first recording) and
/// the first manifest.
fn create_folder(
    root: &Path,
    dir: &Path,
    manifest: &Manifest,
    limits: &Limits,
) -> Result<(), RecorderError> {
    if let Some(low) = limits.check_free_at(root) {
        return Err(std::io::Error::other(low.to_string()).into());
    }
    let parents = parents_to_sync(root, dir);
    std::fs::create_dir_all(dir)?;
    for parent in &parents {
        super::files::sync_dir(parent)?;
    }
    manifest::write(dir, manifest)?;
    Ok(())
}

/// Before `dir` is created: the folders whose entries creating it changes,
/// `root` first, then the parent of each missing folder above `dir`. A new
/// folder's name is durable only once its parent is synced.
fn parents_to_sync(root: &Path, dir: &Path) -> Vec<PathBuf> {
    let mut parents = vec![root.to_path_buf()];
    for missing in dir
        .ancestors()
        .skip(1)
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
    {
        let parent = match missing.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !parents.iter().any(|p| p == parent) {
            parents.push(parent.to_path_buf());
        }
    }
    parents
}

fn first_manifest(
    id: RecordingId,
    ctx: &RecordingContext,
    trail: Vec<StoredConsentEvent>,
) -> Manifest {
    Manifest {
        id: id.to_string(),
        session: ManifestSession {
            id: ctx.session.id.to_string(),
            title: ctx.session.title.clone(),
        },
        participants: ctx
            .participants
            .iter()
            .map(|(role, pid, name)| ManifestParticipant {
                role: role.as_str().to_string(),
                name: name.clone(),
                participant_id: pid.to_string(),
            })
            .collect(),
        notice_hash: ctx.notice_hash.clone(),
        status: ManifestStatus::Recording,
        started_at: crate::clock::rfc3339(ctx.started_at_ms / 1000),
        stopped_at: None,
        stop_reason: None,
        tracks: Vec::new(),
        transcripts: Vec::new(),
        talk_time: Default::default(),
        dropped_packets: 0,
        notes: Vec::new(),
        consent: trail,
        transcript: None,
        media_deleted: None,
    }
}

/// Both consents of this recording, by the granted participants, are in the
/// stored `trail`, from two different roles, each to the text it names,
/// and that text is one of the `accepted` ones: the notice or one of its
/// translations, as the room offered them.
pub(crate) fn check_trail(
    grant: &RecordingGrant,
    accepted: &[&str],
    trail: &[StoredConsentEvent],
) -> Result<(), RecorderError> {
    let stored = |role: Role, participant: ParticipantId, notice: &str| {
        trail.iter().any(|e| {
            e.action == "consent"
                && e.recording_id == grant.id().to_string()
                && e.role.as_deref() == Some(role.as_str())
                && e.participant_id.as_deref() == Some(participant.to_string().as_str())
                && e.notice_hash == notice
        })
    };
    let both = grant.consents().iter().all(|c| {
        accepted.contains(&c.notice.0.as_str()) && stored(c.role, c.participant, &c.notice.0)
    });
    let roles_differ = grant.consents()[0].role != grant.consents()[1].role;
    if both && roles_differ {
        Ok(())
    } else {
        tracing::error!(recording = %grant.id(), "refused to record: consents missing from the trail");
        Err(RecorderError::NotConsented)
    }
}

#[cfg(test)]
mod tests;
