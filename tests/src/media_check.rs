//! Checking recorded files with the tools the media world trusts: ffprobe
//! for codec and playability, packet timestamps for durations (live-written
//! files carry no duration header), and a WAV reader for energy over time.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

/// `ffprobe -show_streams -show_format` as JSON.
pub fn ffprobe(path: &Path) -> anyhow::Result<Value> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .context("running ffprobe (install ffmpeg)")?;
    if !out.status.success() {
        bail!(
            "ffprobe failed on {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// The first stream's codec name.
pub fn codec(path: &Path) -> anyhow::Result<String> {
    let v = ffprobe(path)?;
    Ok(v["streams"][0]["codec_name"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Span of packet timestamps: what a player would play.
pub fn duration(path: &Path) -> anyhow::Result<Duration> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "0",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .context("running ffprobe")?;
    let times: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    let (Some(min), Some(max)) = (
        times.iter().copied().reduce(f64::min),
        times.iter().copied().reduce(f64::max),
    ) else {
        bail!("no packets in {}", path.display());
    };
    Ok(Duration::from_secs_f64((max - min).max(0.0)))
}

/// Decodes the whole file; errors if ffmpeg reports any.
pub fn decodes_cleanly(path: &Path) -> anyhow::Result<()> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .context("running ffmpeg")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || !stderr.trim().is_empty() {
        bail!("{} does not decode cleanly: {stderr}", path.display());
    }
    Ok(())
}

/// A 16-bit mono WAV: its sample rate and samples.
pub fn read_wav(path: &Path) -> anyhow::Result<(u32, Vec<i16>)> {
    let bytes = std::fs::read(path)?;
    if bytes.len() < 44 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        bail!("{} is not a WAV file", path.display());
    }
    let channels = u16::from_le_bytes([bytes[22], bytes[23]]);
    let rate = u32::from_le_bytes([bytes[24], bytes[25], bytes[26], bytes[27]]);
    let bits = u16::from_le_bytes([bytes[34], bytes[35]]);
    if channels != 1 || bits != 16 {
        bail!("{} is {channels} channels of {bits} bits", path.display());
    }
    let samples = bytes[44..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    Ok((rate, samples))
}

/// RMS of each `window` of samples.
pub fn rms_windows(samples: &[i16], window: usize) -> Vec<f64> {
    samples
        .chunks(window)
        .map(|c| {
            let sum: f64 = c.iter().map(|s| f64::from(*s).powi(2)).sum();
            (sum / c.len().max(1) as f64).sqrt()
        })
        .collect()
}

/// Seconds where sound starts and ends (windows of 10 ms above `threshold`).
pub fn sound_span(rate: u32, samples: &[i16], threshold: f64) -> Option<(f64, f64)> {
    let window = (rate / 100) as usize;
    let loud: Vec<usize> = rms_windows(samples, window)
        .iter()
        .enumerate()
        .filter(|(_, r)| **r > threshold)
        .map(|(i, _)| i)
        .collect();
    Some((
        *loud.first()? as f64 / 100.0,
        (*loud.last()? + 1) as f64 / 100.0,
    ))
}
