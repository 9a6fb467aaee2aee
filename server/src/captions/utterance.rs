//! When to recognize a captioned speaker: their 16 kHz audio cut into
//! utterances by an energy voice detector (the same −45 dBFS rule as talk
//! time, `recorder::talk`), so the model only ever hears speech — never
//! the silence it invents text on, and never a muted or quiet line it
//! would cost a core to listen to.
//!
//! While someone speaks, the utterance so far is offered for an interim
//! caption every [`UtteranceConfig::interim_every_frames`]; after a pause
//! of [`UtteranceConfig::end_silence_frames`] (or at the length cap) the
//! whole utterance is final. Pure: feed 20 ms frames, read what to
//! recognize.

use crate::recorder::talk::FRAME;

/// Tunables; [`Default`] is what Duet uses. Lengths in 20 ms frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UtteranceConfig {
    /// Frame RMS above this (dB relative to full scale) is speech.
    pub threshold_dbfs: f64,
    /// Silence that ends an utterance (30 = 600 ms: longer than a pause
    /// between words, short enough that a line is final soon after).
    pub end_silence_frames: usize,
    /// An interim caption of the utterance so far this often (50 = 1 s),
    /// so text shows while a long sentence is still being said.
    pub interim_every_frames: usize,
    /// An utterance this long is cut and made final (600 = 12 s): the
    /// model's cost grows with it, and a caption line must stay short.
    pub max_frames: usize,
    /// Audio kept from before the first voiced frame (15 = 300 ms), so
    /// a soft onset is not cut.
    pub pre_roll_frames: usize,
    /// Utterances with fewer voiced frames are dropped (10 = 200 ms: a
    /// click, a cough).
    pub min_voiced_frames: usize,
}

impl Default for UtteranceConfig {
    fn default() -> Self {
        UtteranceConfig {
            threshold_dbfs: -45.0,
            end_silence_frames: 30,
            interim_every_frames: 50,
            max_frames: 600,
            pre_roll_frames: 15,
            min_voiced_frames: 10,
        }
    }
}

/// What a frame led to.
#[derive(Debug, Clone, PartialEq)]
pub enum Cut {
    /// Recognize [`Utterances::current`] for an interim caption.
    Interim,
    /// A whole utterance: recognize it for a final caption.
    Final(Vec<i16>),
}

/// The detector and the utterance being said.
#[derive(Debug, Clone)]
pub struct Utterances {
    config: UtteranceConfig,
    /// Recent frames while nobody speaks (the pre-roll), or the
    /// utterance while someone does.
    audio: Vec<i16>,
    speaking: bool,
    voiced: usize,
    silent_run: usize,
    since_interim: usize,
}

impl Utterances {
    pub fn new(config: UtteranceConfig) -> Utterances {
        Utterances {
            config,
            audio: Vec::with_capacity(config.max_frames * FRAME),
            speaking: false,
            voiced: 0,
            silent_run: 0,
            since_interim: 0,
        }
    }

    /// The utterance so far (empty while nobody speaks).
    pub fn current(&self) -> &[i16] {
        if self.speaking { &self.audio } else { &[] }
    }

    /// Whether someone is speaking now.
    pub fn speaking(&self) -> bool {
        self.speaking
    }

    /// Forgets the utterance (the speaker muted: nothing of it is
    /// recognized).
    pub fn reset(&mut self) {
        self.audio.clear();
        self.speaking = false;
        self.voiced = 0;
        self.silent_run = 0;
        self.since_interim = 0;
    }

    /// One 20 ms frame ([`FRAME`] samples; a shorter one is taken as is).
    pub fn push(&mut self, frame: &[i16]) -> Option<Cut> {
        let voiced = rms_dbfs(frame) > self.config.threshold_dbfs;
        if !self.speaking {
            if voiced {
                // The pre-roll held in `audio` starts the utterance.
                self.audio.extend_from_slice(frame);
                self.speaking = true;
                self.voiced = 1;
                self.silent_run = 0;
                self.since_interim = 0;
                return None;
            }
            self.audio.extend_from_slice(frame);
            let keep = self.config.pre_roll_frames * FRAME;
            if self.audio.len() > keep {
                self.audio.drain(..self.audio.len() - keep);
            }
            return None;
        }
        self.audio.extend_from_slice(frame);
        self.since_interim += 1;
        if voiced {
            self.voiced += 1;
            self.silent_run = 0;
        } else {
            self.silent_run += 1;
        }
        let frames = self.audio.len() / FRAME;
        if self.silent_run >= self.config.end_silence_frames || frames >= self.config.max_frames {
            return self.finish();
        }
        if voiced
            && self.since_interim >= self.config.interim_every_frames
            && self.voiced >= self.config.min_voiced_frames
        {
            self.since_interim = 0;
            return Some(Cut::Interim);
        }
        None
    }

    /// The utterance is over: final if it held enough speech.
    fn finish(&mut self) -> Option<Cut> {
        let enough = self.voiced >= self.config.min_voiced_frames;
        // The trailing silence is not worth the model's time.
        let keep =
            self.audio.len() - (self.silent_run.saturating_sub(5) * FRAME).min(self.audio.len());
        self.audio.truncate(keep);
        let audio = std::mem::replace(
            &mut self.audio,
            Vec::with_capacity(self.config.max_frames * FRAME),
        );
        self.reset();
        enough.then_some(Cut::Final(audio))
    }
}

/// A frame's RMS level in dB relative to full scale (−inf for silence).
fn rms_dbfs(frame: &[i16]) -> f64 {
    if frame.is_empty() {
        return f64::NEG_INFINITY;
    }
    let sum: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / frame.len() as f64).sqrt();
    20.0 * (rms / 32768.0).log10()
}

#[cfg(test)]
mod tests;
