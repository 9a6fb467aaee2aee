//! One transcription job: a finished recording's speaker WAVs in, its
//! transcript files out (`transcript.json`, `.vtt`, `.md`), listed in the
//! manifest.
//!
//! Consent: the job only reads audio that was recorded with both people's
//! consent, and writes into the recording's own folder, so whatever
//! deletes the recording deletes the transcript. A cancel (the recording
//! is being deleted) is checked before each model call and again before
//! any file is written, and files are written under temporary names and
//! renamed, so a deleted recording never gets a transcript back.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::document::Transcript;
use super::engine::{EngineError, Recognizer};
use super::segments::{self, Confidence, Speaker};
use super::speech::{self, SpeechConfig};
use crate::recorder::manifest::{self, ManifestTranscriptFiles};
use crate::recorder::wav::HEADER_LEN;

pub const JSON_FILE: &str = "transcript.json";
pub const VTT_FILE: &str = "transcript.vtt";
pub const MD_FILE: &str = "transcript.md";

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("the recording has no manifest: {0}")]
    Manifest(#[from] manifest::ManifestError),
    #[error("the recording has no transcription audio (it may have been deleted)")]
    NoAudio,
    #[error("reading {file}: {error}")]
    Audio { file: String, error: std::io::Error },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("writing the transcript: {0}")]
    Write(std::io::Error),
}

impl JobError {
    pub fn is_cancel(&self) -> bool {
        matches!(self, JobError::Engine(EngineError::Cancelled))
    }
}

/// What a finished job did, for the metrics and the log (no text).
#[derive(Debug, Clone)]
pub struct JobReport {
    pub language: Option<String>,
    pub segments: usize,
    /// Segments left out as silence or guesses.
    pub dropped: usize,
    /// Seconds of speech the model heard.
    pub speech_s: f64,
    /// Seconds of recording covered.
    pub audio_s: f64,
    pub elapsed: Duration,
}

/// How a job runs.
pub struct JobSettings<'a> {
    pub engine: &'a Recognizer,
    /// File name of the model, for the transcript's record.
    pub model_name: &'a str,
    /// ISO 639-1, or `None` to detect it per speaker.
    pub language: Option<&'a str>,
    pub cancel: &'a AtomicBool,
}

/// Transcribes the recording in `dir`; `progress` hears 0..1 as the
/// speech is worked through.
pub fn run(
    dir: &Path,
    settings: &JobSettings<'_>,
    progress: &mut dyn FnMut(f64),
) -> Result<JobReport, JobError> {
    let started = Instant::now();
    let m = manifest::read(dir)?;
    if m.transcripts.is_empty() {
        return Err(JobError::NoAudio);
    }
    let config = SpeechConfig::default();
    // Plan every speaker first, so progress counts all the speech.
    let mut planned = Vec::new();
    let mut audio_s: f64 = 0.0;
    for t in &m.transcripts {
        let samples = read_wav(&dir.join(&t.file)).map_err(|error| JobError::Audio {
            file: t.file.clone(),
            error,
        })?;
        audio_s = audio_s.max(samples.len() as f64 / 16_000.0);
        let regions = speech::speech_regions(&samples, &config);
        let chunks = speech::plan_chunks(&regions, &config);
        let name = m
            .participants
            .iter()
            .find(|p| p.role == t.role)
            .map_or_else(|| t.role.clone(), |p| p.name.clone());
        planned.push((t.role.clone(), name, samples, chunks));
    }
    let total: f64 = planned
        .iter()
        .flat_map(|(_, _, _, chunks)| chunks.iter().map(|c| c.speech_s()))
        .sum();
    let mut done_s = 0.0;
    let mut dropped = 0;
    let mut speakers = Vec::new();
    let mut languages: Vec<(String, f64)> = Vec::new();
    let limits = Confidence::default();
    for (role, name, samples, chunks) in &planned {
        let mut language = settings.language.map(str::to_string);
        let mut segments = Vec::new();
        for chunk in chunks {
            if settings.cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled.into());
            }
            let heard = settings.engine.transcribe(
                &chunk.audio(samples),
                language.as_deref(),
                settings.cancel,
            )?;
            // The first chunk decides a speaker's language when it is
            // detected, so one person's transcript does not switch
            // language on a short or unclear turn.
            if language.is_none() {
                language = heard.language.clone();
            }
            let speaker = Speaker { role, name };
            segments.extend(segments::to_segments(
                heard.segments,
                chunk,
                0.0,
                speaker,
                &limits,
                &mut dropped,
            ));
            done_s += chunk.speech_s();
            progress(if total > 0.0 { done_s / total } else { 1.0 });
        }
        if let Some(l) = &language {
            let spoken: f64 = chunks.iter().map(|c| c.speech_s()).sum();
            languages.push((l.clone(), spoken));
        }
        speakers.push(segments);
    }
    // The language of the most speech names the transcript's.
    let language = languages
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(l, _)| l.clone())
        .or_else(|| settings.language.map(str::to_string));
    let transcript = Transcript::new(language.clone(), settings.model_name.to_string(), speakers);
    if settings.cancel.load(Ordering::Relaxed) {
        return Err(EngineError::Cancelled.into());
    }
    write_files(dir, &transcript, &m.session.title, settings.cancel)?;
    Ok(JobReport {
        language,
        segments: transcript.segments.len(),
        dropped,
        speech_s: total,
        audio_s,
        elapsed: started.elapsed(),
    })
}

/// The three files, each written under a temporary name, synced and
/// renamed; then the manifest lists them. Nothing is created if the
/// folder is gone (the recording was deleted meanwhile).
fn write_files(
    dir: &Path,
    transcript: &Transcript,
    title: &str,
    cancel: &AtomicBool,
) -> Result<(), JobError> {
    let json = serde_json::to_vec_pretty(transcript)
        .map_err(|e| JobError::Write(std::io::Error::other(e)))?;
    let files: [(&str, Vec<u8>); 3] = [
        (JSON_FILE, json),
        (VTT_FILE, transcript.to_vtt().into_bytes()),
        (MD_FILE, transcript.to_markdown(title).into_bytes()),
    ];
    for (name, bytes) in &files {
        if cancel.load(Ordering::Relaxed) {
            return Err(EngineError::Cancelled.into());
        }
        let tmp = dir.join(format!(".{name}.tmp"));
        // Only inside the existing folder: if the recording was deleted,
        // this fails, and nothing recreates the folder.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(JobError::Write)?;
        f.write_all(bytes).map_err(JobError::Write)?;
        f.sync_all().map_err(JobError::Write)?;
        std::fs::rename(&tmp, dir.join(name)).map_err(JobError::Write)?;
    }
    manifest::update(dir, |m| {
        m.transcript = Some(ManifestTranscriptFiles {
            language: transcript.language.clone(),
            model: transcript.model.clone(),
            files: files.iter().map(|(n, _)| n.to_string()).collect(),
            segments: transcript.segments.len(),
        });
    })
    .map_err(|e| JobError::Write(std::io::Error::other(e)))?;
    Ok(())
}

/// A Duet transcription WAV (16 kHz mono s16le, canonical 44-byte header)
/// as samples.
fn read_wav(path: &Path) -> std::io::Result<Vec<i16>> {
    let bytes = std::fs::read(path)?;
    let data = bytes.get(HEADER_LEN as usize..).unwrap_or(&[]);
    Ok(data
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect())
}
