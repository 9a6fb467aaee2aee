//! `manifest.json`: what a recording holds, from whom, under which consent.
//!
//! Written when a recording starts, rewritten whenever a track starts and
//! when it ends, always atomically (temporary file, fsync, rename, fsync of
//! the folder), so a crash or a power loss leaves either the old or the new
//! manifest, never half of one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::StoredConsentEvent;

pub const FILE_NAME: &str = "manifest.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManifestStatus {
    Recording,
    Complete,
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestSession {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestParticipant {
    pub role: String,
    pub name: String,
    pub participant_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestTrack {
    pub file: String,
    pub role: String,
    /// `audio`, `camera` or `screen`.
    pub kind: String,
    /// `opus`, `vp8` or `vp9`.
    pub codec: String,
    /// When the track's first packet arrived, on the recording's clock.
    pub start_offset_s: f64,
    pub duration_s: f64,
    pub packets: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestTranscript {
    pub role: String,
    /// 16 kHz mono WAV aligned on the recording's clock.
    pub file: String,
    /// Seconds of speech found by the voice detector.
    pub talk_seconds: f64,
    /// When this person spoke, as `[start, end]` seconds on the
    /// recording's clock (the detector's coarse regions): the reflection
    /// page's "who spoke when" lane. Empty in manifests written before it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub speech: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub session: ManifestSession,
    pub participants: Vec<ManifestParticipant>,
    /// SHA-256 of the notice in force. Each consent in `consent` names the
    /// text its person read: this notice, or the operator's translation of it.
    pub notice_hash: String,
    pub status: ManifestStatus,
    pub started_at: String,
    #[serde(default)]
    pub stopped_at: Option<String>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    pub tracks: Vec<ManifestTrack>,
    #[serde(default)]
    pub transcripts: Vec<ManifestTranscript>,
    /// Seconds of speech per role: who talked how much.
    #[serde(default)]
    pub talk_time: BTreeMap<String, f64>,
    /// Packets the recorder could not keep up with (the call was not
    /// affected); non-zero means the files have gaps.
    #[serde(default)]
    pub dropped_packets: u64,
    #[serde(default)]
    pub notes: Vec<String>,
    /// The consent trail of this recording, as stored.
    #[serde(default)]
    pub consent: Vec<StoredConsentEvent>,
    /// The transcript, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<ManifestTranscriptFiles>,
    /// Set when the audio and video were deleted and the transcript kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_deleted: Option<MediaDeleted>,
}

/// The transcript's files and what made them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestTranscriptFiles {
    pub language: Option<String>,
    /// The model file's name.
    pub model: String,
    /// `transcript.json`, `transcript.vtt`, `transcript.md`.
    pub files: Vec<String>,
    pub segments: usize,
}

/// Who deleted a recording's media (keeping its transcript), and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaDeleted {
    pub at: String,
    /// `mentor`, `mentee` or `admin` (`participant` in manifests written
    /// before deletions named the role).
    pub by: String,
}

impl Manifest {
    /// Every file of the recording a client may download (once the media
    /// was deleted: the manifest and the transcript).
    pub fn files(&self) -> impl Iterator<Item = &str> {
        let media = self.media_deleted.is_none();
        std::iter::once(FILE_NAME)
            .chain(
                self.tracks
                    .iter()
                    .filter(move |_| media)
                    .map(|t| t.file.as_str()),
            )
            .chain(
                self.transcripts
                    .iter()
                    .filter(move |_| media)
                    .map(|t| t.file.as_str()),
            )
            .chain(
                self.transcript
                    .iter()
                    .flat_map(|t| t.files.iter().map(String::as_str)),
            )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("manifest is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

pub fn write(dir: &Path, manifest: &Manifest) -> Result<(), ManifestError> {
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&serde_json::to_vec_pretty(manifest)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, dir.join(FILE_NAME))?;
    // The rename (and any track file created since the last write) is on
    // the disk only once the folder itself is synced.
    super::files::sync_dir(dir)?;
    Ok(())
}

/// Changes a finished recording's manifest (read, change, write) with no
/// other such change in between: the transcriber and a media deletion may
/// both edit it.
pub fn update(dir: &Path, change: impl FnOnce(&mut Manifest)) -> Result<Manifest, ManifestError> {
    static EDITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = EDITING.lock().unwrap_or_else(|p| p.into_inner());
    let mut m = read(dir)?;
    change(&mut m);
    write(dir, &m)?;
    Ok(m)
}

pub fn read(dir: &Path) -> Result<Manifest, ManifestError> {
    let bytes = std::fs::read(dir.join(FILE_NAME))?;
    Ok(serde_json::from_slice(&bytes)?)
}

#[cfg(test)]
mod tests;
