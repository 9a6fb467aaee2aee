//! From what the model returned for one chunk to transcript segments: drop
//! what is not speech, join tokens into words, map times to the recording.
//!
//! Whisper invents text on silence and noise ("Thanks for watching!",
//! "[BLANK_AUDIO]"). The chunks hold only detected speech, which removes
//! most of it; what is left is dropped here by the model's own signals: the
//! probability it gives that a window holds no speech, and how sure it was
//! of the tokens it wrote.

use super::document::{Segment, Word};
use super::speech::Chunk;

/// One token as the model returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawToken {
    pub text: String,
    /// Probability of the token (0..1).
    pub p: f32,
    /// Log-probability of the token.
    pub logprob: f32,
    /// Seconds into the chunk.
    pub start_s: f64,
    pub end_s: f64,
    /// Control tokens (timestamps, `[_BEG_]`, end of text) carry no text.
    pub special: bool,
}

/// One segment as the model returned it, times in seconds into the chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSegment {
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
    /// The model's probability that the window held no speech.
    pub no_speech_prob: f32,
    pub tokens: Vec<RawToken>,
}

/// Limits below which a segment is dropped; [`Default`] is what Duet uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Confidence {
    /// Whisper's own rule: a window is silence when its no-speech
    /// probability is above this *and* the text's mean log-probability is
    /// below [`Confidence::silence_logprob`].
    pub no_speech: f32,
    pub silence_logprob: f32,
    /// Whatever the no-speech probability, text this unsure is a guess.
    pub min_logprob: f32,
}

impl Default for Confidence {
    fn default() -> Self {
        // Whisper's reference thresholds (no_speech 0.6, logprob −1.0) for
        // the silence rule; −1.5 on its own catches text the model made up
        // while the window still looked like speech.
        Self {
            no_speech: 0.6,
            silence_logprob: -1.0,
            min_logprob: -1.5,
        }
    }
}

/// Why a segment was left out (counted in the job's log, never its text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    Empty,
    NoSpeech,
    Unsure,
}

/// Mean log-probability of the text tokens (0 when there are none).
fn mean_logprob(tokens: &[RawToken]) -> f32 {
    let text: Vec<f32> = tokens
        .iter()
        .filter(|t| !t.special)
        .map(|t| t.logprob)
        .collect();
    match text.len() {
        0 => 0.0,
        n => text.iter().sum::<f32>() / n as f32,
    }
}

/// Whether a segment is kept, and why not.
pub fn judge(raw: &RawSegment, limits: &Confidence) -> Result<(), Dropped> {
    let text = raw.text.trim();
    // Bracketed or starred text is the model describing sound
    // ("[BLANK_AUDIO]", "(music)", "*laughs*"), not words anyone said.
    let described = |open: char, close: char| text.starts_with(open) && text.ends_with(close);
    if text.is_empty()
        || described('[', ']')
        || described('(', ')')
        || described('*', '*')
        || !text.chars().any(char::is_alphanumeric)
    {
        return Err(Dropped::Empty);
    }
    let logprob = mean_logprob(&raw.tokens);
    if raw.no_speech_prob > limits.no_speech && logprob < limits.silence_logprob {
        return Err(Dropped::NoSpeech);
    }
    if logprob < limits.min_logprob {
        return Err(Dropped::Unsure);
    }
    Ok(())
}

/// Who spoke a chunk.
#[derive(Debug, Clone, Copy)]
pub struct Speaker<'a> {
    pub role: &'a str,
    pub name: &'a str,
}

/// The chunk's kept segments, on the recording's clock. `offset_s` is
/// where the speaker's track starts on that clock (0 for Duet's WAVs,
/// which are already aligned). Dropped segments are counted in `dropped`.
pub fn to_segments(
    raw: Vec<RawSegment>,
    chunk: &Chunk,
    offset_s: f64,
    speaker: Speaker<'_>,
    limits: &Confidence,
    dropped: &mut usize,
) -> Vec<Segment> {
    let start = |t: f64| round_ms(chunk.start_on_track_s(t) + offset_s);
    let end = |t: f64| round_ms(chunk.to_track_s(t) + offset_s);
    let mut out = Vec::new();
    for seg in raw {
        if judge(&seg, limits).is_err() {
            *dropped += 1;
            continue;
        }
        let segment = |text: String, words: Vec<Word>, (from, to): (f64, f64)| Segment {
            role: speaker.role.to_string(),
            name: speaker.name.to_string(),
            start_s: words.first().map_or(start(from), |w| w.start_s),
            end_s: words.last().map_or(end(to), |w| w.end_s.max(w.start_s)),
            text,
            words,
        };
        let words = words(&seg.tokens);
        if words.is_empty() {
            out.push(segment(
                seg.text.trim().to_string(),
                Vec::new(),
                (seg.start_s, seg.end_s),
            ));
            continue;
        }
        // A segment the model ran across the silence between two turns
        // is split there: each turn keeps its own time on the recording.
        let mut groups: Vec<(usize, Vec<Word>)> = Vec::new();
        for w in words {
            let piece = chunk.piece_at(w.start_s);
            let start_s = start(w.start_s);
            let w = Word {
                start_s,
                end_s: end(w.end_s).max(start_s),
                ..w
            };
            match groups.last_mut() {
                Some((p, ws)) if *p == piece => ws.push(w),
                _ => groups.push((piece, vec![w])),
            }
        }
        let whole = groups.len() == 1;
        for (_, ws) in groups {
            let text = match whole {
                true => seg.text.trim().to_string(),
                false => ws
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            out.push(segment(text, ws, (seg.start_s, seg.end_s)));
        }
    }
    out
}

/// Joins sub-word tokens into words: a token that starts with a space (or
/// the first) starts a word. A word's confidence is its least sure token.
fn words(tokens: &[RawToken]) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::new();
    for t in tokens.iter().filter(|t| !t.special && !t.text.is_empty()) {
        let starts_word = t.text.starts_with(' ') || out.is_empty();
        match out.last_mut() {
            Some(w) if !starts_word => {
                w.text.push_str(&t.text);
                w.end_s = w.end_s.max(t.end_s);
                w.p = w.p.min(t.p);
            }
            _ => out.push(Word {
                text: t.text.trim_start().to_string(),
                start_s: t.start_s,
                end_s: t.end_s,
                p: t.p,
            }),
        }
    }
    out.retain(|w| !w.text.trim().is_empty());
    out
}

fn round_ms(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests;
