//! Talk time: how long each person spoke, from a simple energy-based voice
//! activity detector over 16 kHz mono s16 audio.
//!
//! The audio is cut into 20 ms frames; a frame is speech when its RMS level
//! is above −45 dBFS. Why −45: a voice through a browser's WebRTC capture
//! chain (automatic gain control, noise suppression) sits around −30 to
//! −15 dBFS RMS while voiced, and the residual room noise after noise
//! suppression, or Opus comfort noise during DTX, stays below −55 dBFS.
//! −45 dBFS sits in the middle of that gap, with ~15 dB of margin for quiet
//! speakers and for noisy rooms, and is well above the silence the
//! transcoder writes for gaps (exact zeros).
//!
//! Pauses between words up to 200 ms (the hangover) are bridged and count as
//! talking; bursts shorter than 100 ms (clicks, a cough, a keyboard) are
//! dropped. The detector is pure and incremental: feed it samples as they
//! are written, then [`TalkDetector::finish`].

/// Samples per second of the audio the detector expects.
pub const SAMPLE_RATE: u32 = 16_000;
/// Samples per analysis frame: 20 ms at 16 kHz.
pub const FRAME: usize = 320;
const FRAME_S: f64 = FRAME as f64 / SAMPLE_RATE as f64;

/// Segment-list length above which neighbouring segments get merged more
/// coarsely, so a long session's timeline stays small.
const MAX_SEGMENTS: usize = 4096;

/// Tunables of the detector; [`Default`] is what Duet uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TalkConfig {
    /// Frame RMS above this level (dB relative to full scale) is speech.
    pub threshold_dbfs: f64,
    /// Non-speech frames bridged inside one segment (10 = 200 ms).
    pub hangover_frames: u64,
    /// Segments shorter than this many frames are ignored (5 = 100 ms).
    pub min_segment_frames: u64,
    /// Segments closer than this (seconds) share one entry of the timeline.
    pub merge_gap_s: f64,
}

impl Default for TalkConfig {
    fn default() -> Self {
        Self {
            threshold_dbfs: -45.0,
            hangover_frames: 10,
            min_segment_frames: 5,
            merge_gap_s: 0.3,
        }
    }
}

/// Who talked how much: the result for one speaker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TalkStats {
    /// Seconds of speech (segments, with their bridged pauses).
    pub speech_seconds: f64,
    /// When the speaker talked, as (start, end) seconds from the start of
    /// the audio, ascending. A coarse timeline: segments closer than
    /// [`TalkConfig::merge_gap_s`] share one entry (and the gap doubles when
    /// the list grows past a few thousand entries), so the entries may cover
    /// more than `speech_seconds`.
    pub segments: Vec<(f64, f64)>,
}

/// Incremental energy-based voice activity detector.
#[derive(Debug, Clone)]
pub struct TalkDetector {
    config: TalkConfig,
    /// Sum of squares above which a whole frame counts as speech.
    frame_energy_threshold: f64,
    pending: [i16; FRAME],
    pending_len: usize,
    /// Index of the next complete frame.
    frame: u64,
    /// Open segment: (first speech frame, last speech frame).
    open: Option<(u64, u64)>,
    speech_frames: u64,
    merge_gap_s: f64,
    segments: Vec<(f64, f64)>,
}

impl Default for TalkDetector {
    fn default() -> Self {
        Self::new(TalkConfig::default())
    }
}

impl TalkDetector {
    pub fn new(config: TalkConfig) -> Self {
        let rms = 32768.0 * 10f64.powf(config.threshold_dbfs / 20.0);
        Self {
            config,
            frame_energy_threshold: rms * rms * FRAME as f64,
            pending: [0; FRAME],
            pending_len: 0,
            frame: 0,
            open: None,
            speech_frames: 0,
            merge_gap_s: config.merge_gap_s,
            segments: Vec::new(),
        }
    }

    /// Feeds the next samples (any chunk size).
    pub fn push(&mut self, mut samples: &[i16]) {
        if self.pending_len > 0 {
            let take = (FRAME - self.pending_len).min(samples.len());
            self.pending[self.pending_len..self.pending_len + take]
                .copy_from_slice(&samples[..take]);
            self.pending_len += take;
            samples = &samples[take..];
            if self.pending_len < FRAME {
                return;
            }
            let frame = self.pending;
            self.pending_len = 0;
            self.frame_done(&frame);
        }
        let mut frames = samples.chunks_exact(FRAME);
        for frame in &mut frames {
            self.frame_done(frame);
        }
        let rest = frames.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// Feeds `n` samples of digital silence.
    pub fn push_silence(&mut self, mut n: u64) {
        const ZEROS: [i16; 4 * FRAME] = [0; 4 * FRAME];
        while n > 0 {
            let chunk = n.min(ZEROS.len() as u64) as usize;
            self.push(&ZEROS[..chunk]);
            n -= chunk as u64;
        }
    }

    /// Closes the open segment and returns the totals. A trailing partial
    /// frame (under 20 ms) is not analysed.
    pub fn finish(mut self) -> TalkStats {
        self.close();
        TalkStats {
            speech_seconds: self.speech_frames as f64 * FRAME_S,
            segments: self.segments,
        }
    }

    fn frame_done(&mut self, frame: &[i16]) {
        let energy: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        let i = self.frame;
        self.frame += 1;
        let hangover = self.config.hangover_frames;
        if energy > self.frame_energy_threshold {
            self.open = match self.open {
                Some((start, last)) if i - last - 1 <= hangover => Some((start, i)),
                Some(_) => {
                    self.close();
                    Some((i, i))
                }
                None => Some((i, i)),
            };
        } else if matches!(self.open, Some((_, last)) if i - last > hangover) {
            self.close();
        }
    }

    fn close(&mut self) {
        let Some((start, last)) = self.open.take() else {
            return;
        };
        let frames = last - start + 1;
        if frames < self.config.min_segment_frames {
            return;
        }
        self.speech_frames += frames;
        let (s, e) = (start as f64 * FRAME_S, (last + 1) as f64 * FRAME_S);
        match self.segments.last_mut() {
            Some(prev) if s - prev.1 < self.merge_gap_s => prev.1 = e,
            _ => self.segments.push((s, e)),
        }
        if self.segments.len() > MAX_SEGMENTS {
            self.merge_gap_s *= 2.0;
            let gap = self.merge_gap_s;
            let old = std::mem::take(&mut self.segments);
            for (s, e) in old {
                match self.segments.last_mut() {
                    Some(prev) if s - prev.1 < gap => prev.1 = e,
                    _ => self.segments.push((s, e)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
