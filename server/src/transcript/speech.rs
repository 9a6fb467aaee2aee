//! What the model hears: the speech regions of one speaker's track, packed
//! into chunks of up to ~28 s, with a map from chunk time back to the
//! recording's clock.
//!
//! Why not hand Whisper the whole track: on a mostly silent track (one
//! person listens for minutes) it drops whole lines and its timestamps
//! drift by many seconds, and it invents text on silence. Why not one call
//! per region: every call pays a full 30-s encoder pass, so a talk made of
//! short turns would cost many times its length. Packing regions into
//! chunks, with a short silence between them so words do not run
//! together, gives the model clean speech at nearly one pass per 30 s.

use crate::recorder::talk::{SAMPLE_RATE, TalkConfig, TalkDetector};

/// Tunables of the planner; [`Default`] is what Duet uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeechConfig {
    /// Audio kept before and after each detected region, so soft onsets
    /// and word endings below the detector's threshold are not cut.
    pub pad_s: f64,
    /// Regions closer than this are one region (a pause inside a turn).
    pub join_gap_s: f64,
    /// A chunk holds regions up to this length in all; a single longer
    /// region is a chunk of its own (the model walks it in 30-s windows).
    pub max_chunk_s: f64,
    /// Silence put between two regions inside one chunk.
    pub separator_s: f64,
}

impl Default for SpeechConfig {
    fn default() -> Self {
        Self {
            pad_s: 0.3,
            join_gap_s: 1.0,
            max_chunk_s: 28.0,
            separator_s: 0.5,
        }
    }
}

/// A stretch of the track, in samples from its start (16 kHz).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub start: usize,
    pub end: usize,
}

impl Region {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Where speech is in `samples`: the voice detector's regions, padded,
/// joined across short pauses, clipped to the track.
pub fn speech_regions(samples: &[i16], config: &SpeechConfig) -> Vec<Region> {
    let mut detector = TalkDetector::new(TalkConfig {
        merge_gap_s: config.join_gap_s,
        ..TalkConfig::default()
    });
    detector.push(samples);
    let pad = seconds_to_samples(config.pad_s);
    let join = seconds_to_samples(config.join_gap_s);
    let mut regions: Vec<Region> = Vec::new();
    for (start_s, end_s) in detector.finish().segments {
        let start = seconds_to_samples(start_s).saturating_sub(pad);
        let end = (seconds_to_samples(end_s) + pad).min(samples.len());
        if start >= end {
            continue;
        }
        match regions.last_mut() {
            Some(last) if start <= last.end + join => last.end = last.end.max(end),
            _ => regions.push(Region { start, end }),
        }
    }
    regions
}

/// One piece of a chunk: `len` samples taken from the track at `source`,
/// placed at `at` in the chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub source: usize,
    pub at: usize,
    pub len: usize,
}

/// Audio for one model call, and how its times map back to the track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub pieces: Vec<Piece>,
    /// Samples in the chunk, separators included.
    pub len: usize,
}

impl Chunk {
    /// The chunk's audio as the model takes it: f32 in [-1, 1].
    pub fn audio(&self, track: &[i16]) -> Vec<f32> {
        let mut out = vec![0.0f32; self.len];
        for p in &self.pieces {
            let from = track.get(p.source..p.source + p.len).unwrap_or(&[]);
            for (o, s) in out[p.at..].iter_mut().zip(from) {
                *o = f32::from(*s) / 32768.0;
            }
        }
        out
    }

    /// Seconds on the track for `t` seconds into the chunk. A time inside
    /// a separator belongs to the end of the piece before it (the model
    /// puts a segment's end a little late more often than early).
    pub fn to_track_s(&self, t: f64) -> f64 {
        let at = seconds_to_samples(t.max(0.0));
        let piece = self
            .pieces
            .iter()
            .rev()
            .find(|p| p.at <= at)
            .or(self.pieces.first());
        match piece {
            Some(p) => {
                let into = at.saturating_sub(p.at).min(p.len);
                samples_to_seconds(p.source + into)
            }
            None => t,
        }
    }

    /// Which piece `t` seconds into the chunk belongs to, for the start of
    /// something: a time in a separator belongs to the piece after it (a
    /// segment that starts in the silence starts with the next turn).
    pub fn piece_at(&self, t: f64) -> usize {
        let at = seconds_to_samples(t.max(0.0));
        let mut index = 0;
        for (i, p) in self.pieces.iter().enumerate() {
            if p.at <= at {
                index = i;
            }
            if at >= p.at + p.len && i + 1 < self.pieces.len() {
                index = i + 1;
            }
        }
        index
    }

    /// Seconds on the track for `t` seconds into the chunk, as the start
    /// of something: in a separator, the start of the next piece.
    pub fn start_on_track_s(&self, t: f64) -> f64 {
        let i = self.piece_at(t);
        match self.pieces.get(i) {
            Some(p) if seconds_to_samples(t.max(0.0)) < p.at => samples_to_seconds(p.source),
            _ => self.to_track_s(t),
        }
    }

    /// Seconds of the track's audio in this chunk (separators excluded).
    pub fn speech_s(&self) -> f64 {
        samples_to_seconds(self.pieces.iter().map(|p| p.len).sum())
    }
}

/// Packs regions, in order, into chunks of at most
/// [`SpeechConfig::max_chunk_s`].
pub fn plan_chunks(regions: &[Region], config: &SpeechConfig) -> Vec<Chunk> {
    let max = seconds_to_samples(config.max_chunk_s);
    let gap = seconds_to_samples(config.separator_s);
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut current = Chunk {
        pieces: Vec::new(),
        len: 0,
    };
    for r in regions {
        let at = if current.pieces.is_empty() {
            0
        } else {
            current.len + gap
        };
        if !current.pieces.is_empty() && at + r.len() > max {
            chunks.push(std::mem::replace(
                &mut current,
                Chunk {
                    pieces: Vec::new(),
                    len: 0,
                },
            ));
            current.pieces.push(Piece {
                source: r.start,
                at: 0,
                len: r.len(),
            });
            current.len = r.len();
            continue;
        }
        current.pieces.push(Piece {
            source: r.start,
            at,
            len: r.len(),
        });
        current.len = at + r.len();
    }
    if !current.pieces.is_empty() {
        chunks.push(current);
    }
    chunks
}

fn seconds_to_samples(s: f64) -> usize {
    (s * f64::from(SAMPLE_RATE)).round().max(0.0) as usize
}

fn samples_to_seconds(n: usize) -> f64 {
    n as f64 / f64::from(SAMPLE_RATE)
}

#[cfg(test)]
mod tests;
