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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub session: ManifestSession,
    pub participants: Vec<ManifestParticipant>,
    /// SHA-256 of the notice both consented to.
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
}

impl Manifest {
    /// Every file of the recording a client may download.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        std::iter::once(FILE_NAME)
            .chain(self.tracks.iter().map(|t| t.file.as_str()))
            .chain(self.transcripts.iter().map(|t| t.file.as_str()))
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

pub fn read(dir: &Path) -> Result<Manifest, ManifestError> {
    let bytes = std::fs::read(dir.join(FILE_NAME))?;
    Ok(serde_json::from_slice(&bytes)?)
}

#[cfg(test)]
mod tests;
