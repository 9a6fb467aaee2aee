//! One recording cycle of one call, as two people would run it: request,
//! both consent, record a while, one of them revokes. Each step is timed
//! from the message sent to the status both people are sent back, which
//! the room sends only after it stored the step's consent events: so these
//! are upper bounds on the time to store them. When the data folder is
//! known, the time from the revoke to the last write to the recording's
//! track files is timed too (the writer stopped).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, anyhow};
use serde_json::{Value, json};

use crate::TestPeer;
use crate::consent_flow::recording;

/// How long any one step may take before the cycle counts as failed.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// Track files are flushed at least every 500 ms while written: unchanged
/// for longer than this, the writer has stopped.
const QUIET: Duration = Duration::from_millis(1200);
/// Fine enough to time a stop that takes a few milliseconds.
const POLL: Duration = Duration::from_millis(2);

/// The times of one cycle, in milliseconds.
#[derive(Clone, Debug, Default)]
pub struct CycleTimes {
    /// `request` sent → the other person sees `requested` (one event stored).
    pub request_ms: f64,
    /// Second `consent` sent → both see `recording` (two consents and the
    /// start stored, and the recorder started).
    pub consent_ms: f64,
    /// `revoke` sent → the other person sees `off`.
    pub revoke_ms: f64,
    /// `revoke` sent → the last write to the track files.
    pub writer_stopped_ms: Option<f64>,
}

/// Runs one cycle; `index` picks who asks and who revokes, so both roles
/// do both over a run.
pub async fn run(
    peers: &[TestPeer; 2],
    session: &str,
    index: usize,
    record_for: Duration,
    recordings: Option<&Path>,
) -> anyhow::Result<CycleTimes> {
    let requester = &peers[index % 2];
    let other = &peers[1 - index % 2];
    let mut times = CycleTimes::default();

    let mark = other.signal().message_count();
    let t = Instant::now();
    requester.send_json(&recording("request"))?;
    let requested = wait_state(other, "requested", mark).await?;
    times.request_ms = ms(t.elapsed());
    let hash = requested["notice_hash"]
        .as_str()
        .ok_or_else(|| anyhow!("no notice hash in {requested}"))?
        .to_owned();

    let consent = json!({"type": "recording", "action": "consent", "notice_hash": hash});
    requester.send_json(&consent)?;
    let marks = [requester, other].map(|p| p.signal().message_count());
    let t = Instant::now();
    other.send_json(&consent)?;
    wait_state(requester, "recording", marks[0]).await?;
    wait_state(other, "recording", marks[1]).await?;
    times.consent_ms = ms(t.elapsed());

    let folder = match recordings {
        Some(dir) => find_folder(dir, session).await,
        None => None,
    };
    tokio::time::sleep(record_for).await;

    let revoker = &peers[(index / 2) % 2];
    let told = &peers[1 - (index / 2) % 2];
    let mark = told.signal().message_count();
    // The writer usually stops before the other person is told, so the
    // track files are watched from before the revoke is sent, alongside
    // the wait for `off`, not after it.
    let before = folder.as_deref().map(track_bytes);
    let t = Instant::now();
    let told_off = async {
        revoker.send_json(&recording("revoke"))?;
        wait_state(told, "off", mark).await?;
        anyhow::Ok(t.elapsed())
    };
    let watch = async {
        match (folder.as_deref(), before) {
            (Some(folder), Some(size)) => last_write_after(folder, size, t).await,
            _ => None,
        }
    };
    let (told_off, stopped) = tokio::join!(told_off, watch);
    times.revoke_ms = ms(told_off?);
    times.writer_stopped_ms = stopped.map(ms);
    Ok(times)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Waits for a `recording` message with `state` among the messages after
/// the first `mark` of the peer's log (taken before the step's message was
/// sent, so a fast answer is not missed).
async fn wait_state(peer: &TestPeer, state: &str, mark: usize) -> anyhow::Result<Value> {
    let is_it = |m: &Value| m["type"] == "recording" && m["state"] == state;
    let log = peer
        .signal()
        .wait_messages(STEP_TIMEOUT, |log| log.iter().skip(mark).any(is_it))
        .await
        .with_context(|| format!("waiting for recording state {state}"))?;
    log.into_iter()
        .skip(mark)
        .find(is_it)
        .ok_or_else(|| anyhow!("recording state {state} vanished from the log"))
}

/// The recording folder whose manifest names `session` and that is still
/// being written (the newest such folder).
async fn find_folder(recordings: &Path, session: &str) -> Option<PathBuf> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let mut newest: Option<(SystemTime, PathBuf)> = None;
        for entry in std::fs::read_dir(recordings).ok()?.flatten() {
            let manifest = entry.path().join("manifest.json");
            let Ok(text) = std::fs::read_to_string(&manifest) else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if value["session"]["id"] != session || value["status"] != "recording" {
                continue;
            }
            let modified = entry.metadata().and_then(|m| m.modified()).ok()?;
            if newest.as_ref().is_none_or(|(t, _)| modified > *t) {
                newest = Some((modified, entry.path()));
            }
        }
        if let Some((_, path)) = newest {
            return Some(path);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Total size of the track files (Ogg and WebM) in `folder`.
fn track_bytes(folder: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.ends_with(".ogg") || name.ends_with(".webm")
        })
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// Polls the track files (last seen at `size` bytes) until they have not
/// grown for [`QUIET`]; returns the time from `since` to the last growth
/// seen, to within one [`POLL`] (zero if none).
async fn last_write_after(folder: &Path, mut size: u64, since: Instant) -> Option<Duration> {
    let mut last_change = since;
    let deadline = since + STEP_TIMEOUT;
    while last_change.elapsed() < QUIET {
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(POLL).await;
        let now = track_bytes(folder);
        if now != size {
            size = now;
            last_change = Instant::now();
        }
    }
    Some(last_change.duration_since(since))
}
