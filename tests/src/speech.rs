//! Known speech for transcription tests: sentences spoken by `espeak-ng`
//! (Debian), resampled to 48 kHz by `ffmpeg`, encoded to 20 ms Opus frames
//! that a test peer sends as if someone talked; and the word error rate to
//! judge a transcript against what was said.

use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;

/// `text` spoken by espeak-ng (voice `voice`, e.g. `en-us` or `en-gb`) as
/// Opus frames, and how long it lasts in seconds.
pub fn speak(text: &str, voice: &str) -> anyhow::Result<(Arc<Vec<Bytes>>, f64)> {
    let dir = tempfile::tempdir()?;
    let wav = dir.path().join("speech.wav");
    let status = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .context("running espeak-ng (apt install espeak-ng)")?;
    if !status.success() {
        bail!("espeak-ng failed: {status}");
    }
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&wav)
        .args(["-ar", "48000", "-ac", "1", "-f", "s16le", "-"])
        .output()
        .context("running ffmpeg")?;
    if !out.status.success() {
        bail!("ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let pcm: Vec<i16> = out
        .stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let seconds = pcm.len() as f64 / f64::from(crate::tone::SAMPLE_RATE);
    let frames = crate::tone::encode_pcm(&pcm, opus::Application::Voip)?;
    Ok((Arc::new(frames), seconds))
}

/// The multilingual Whisper model (base) for translated captions:
/// `DUET_TEST_WHISPER_MULTILINGUAL_MODEL`, else the file
/// `tests/fixtures/whisper/fetch-model.sh --model base` makes (tests/run.sh
/// runs it). Missing, the test fails with what to run.
pub fn multilingual_test_model() -> std::path::PathBuf {
    let path = std::env::var_os("DUET_TEST_WHISPER_MULTILINGUAL_MODEL")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| std::path::PathBuf::from(h).join(".cache/duet-models/ggml-base.bin"))
        })
        .unwrap_or_default();
    assert!(
        path.is_file(),
        "no multilingual Whisper model at {}: run tests/fixtures/whisper/fetch-model.sh --model base (tests/run.sh does)",
        path.display()
    );
    path
}

/// The Whisper model the tests use: `DUET_TEST_WHISPER_MODEL`, else the
/// file `tests/fixtures/whisper/fetch-model.sh` makes (tests/run.sh runs
/// it). Missing, the test fails with what to run: a transcription test
/// must never pass without a model.
pub fn test_model() -> std::path::PathBuf {
    let path = std::env::var_os("DUET_TEST_WHISPER_MODEL")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| std::path::PathBuf::from(h).join(".cache/duet-models/ggml-tiny.en.bin"))
        })
        .unwrap_or_default();
    assert!(
        path.is_file(),
        "no Whisper model at {}: run tests/fixtures/whisper/fetch-model.sh (tests/run.sh does)",
        path.display()
    );
    path
}

/// Lower-case words without punctuation, small numbers written out (the
/// model writes "4" for "four"), as word error rates are usually counted.
pub fn words(text: &str) -> Vec<String> {
    const SMALL: [&str; 21] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .map(|w| match w.parse::<usize>() {
            Ok(n) if n < SMALL.len() => SMALL[n].to_string(),
            _ => w,
        })
        .collect()
}

/// Word error rate of `heard` against `said`: (substitutions + deletions +
/// insertions) / words said, by edit distance over words.
pub fn word_error_rate(said: &str, heard: &str) -> f64 {
    let (a, b) = (words(said), words(heard));
    if a.is_empty() {
        return if b.is_empty() { 0.0 } else { 1.0 };
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, wa) in a.iter().enumerate() {
        let mut row = vec![i + 1; b.len() + 1];
        for (j, wb) in b.iter().enumerate() {
            let cost = usize::from(wa != wb);
            row[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    prev[b.len()] as f64 / a.len() as f64
}

#[cfg(test)]
mod tests;
