//! The speech recognizer: whisper.cpp through `whisper-rs`, behind the
//! `transcription` cargo feature (on by default). Without the feature the
//! engine refuses to load, and the server says transcription is off.
//!
//! Calls block: they run on the transcription threads, never on tokio's.

use super::segments::RawSegment;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("this build of Duet has no transcription (cargo feature `transcription`)")]
    NotBuilt,
    #[error("could not load the model {path}: {reason}")]
    Load { path: String, reason: String },
    #[error("speech recognition failed: {0}")]
    Run(String),
    #[error("cancelled")]
    Cancelled,
}

/// What one call recognized.
#[derive(Debug, Clone, Default)]
pub struct Recognized {
    pub segments: Vec<RawSegment>,
    /// The language the model used (configured, or detected), ISO 639-1.
    pub language: Option<String>,
}

/// A loaded speech-recognition model. Loaded once and shared: each call
/// makes its own decoding state, so calls on several threads do not
/// interfere.
pub struct Recognizer {
    #[cfg(feature = "transcription")]
    model: whisper::Model,
    threads: i32,
}

impl Recognizer {
    /// Loads a ggml model; `threads` per call.
    #[cfg(feature = "transcription")]
    pub fn load(model: &std::path::Path, threads: usize) -> Result<Self, EngineError> {
        Ok(Self {
            model: whisper::load(model)?,
            threads: threads.clamp(1, 64) as i32,
        })
    }

    /// Without the feature: never loads, so transcription stays off.
    #[cfg(not(feature = "transcription"))]
    pub fn load(_model: &std::path::Path, _threads: usize) -> Result<Self, EngineError> {
        Err(EngineError::NotBuilt)
    }

    /// Whether the model knows languages besides English.
    pub fn is_multilingual(&self) -> bool {
        #[cfg(feature = "transcription")]
        return whisper::is_multilingual(&self.model);
        #[cfg(not(feature = "transcription"))]
        return false;
    }

    /// Recognizes 16 kHz mono audio in [-1, 1]. `language`: ISO 639-1, or
    /// `None` to detect it (multilingual models; English-only ones ignore
    /// it). `cancel` stops it after the current encoder or decoder pass.
    pub fn transcribe(
        &self,
        audio: &[f32],
        language: Option<&str>,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<Recognized, EngineError> {
        if audio.is_empty() {
            return Ok(Recognized::default());
        }
        #[cfg(feature = "transcription")]
        return whisper::transcribe(&self.model, self.threads, audio, language, cancel);
        #[cfg(not(feature = "transcription"))]
        {
            let _ = (language, cancel, self.threads);
            Err(EngineError::NotBuilt)
        }
    }
}

/// One caption worker's decoding state, made once and used for each of
/// its lines: making a fresh one per line (buffers of tens of MB) cost as
/// much as recognizing a short line.
pub struct CaptionState {
    #[cfg(feature = "transcription")]
    state: whisper_rs::WhisperState,
}

impl Recognizer {
    /// A decoding state for [`Recognizer::caption`].
    pub fn caption_state(&self) -> Result<CaptionState, EngineError> {
        #[cfg(feature = "transcription")]
        return Ok(CaptionState {
            state: self
                .model
                .create_state()
                .map_err(|e| EngineError::Run(e.to_string()))?,
        });
        #[cfg(not(feature = "transcription"))]
        Err(EngineError::NotBuilt)
    }

    /// Live captions: the text of a few seconds of speech (16 kHz mono in
    /// [-1, 1]), translated into English when `translate` and the model
    /// is multilingual. Cheaper than [`Recognizer::transcribe`]: no word
    /// times, one segment, the language detected.
    pub fn caption(
        &self,
        state: &mut CaptionState,
        audio: &[f32],
        translate: bool,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<String, EngineError> {
        if audio.is_empty() {
            return Ok(String::new());
        }
        #[cfg(feature = "transcription")]
        return whisper::caption(
            &self.model,
            &mut state.state,
            self.threads,
            audio,
            translate,
            cancel,
        );
        #[cfg(not(feature = "transcription"))]
        {
            let _ = (state, translate, cancel, self.threads);
            Err(EngineError::NotBuilt)
        }
    }
}

/// Whether this build can transcribe at all.
pub const BUILT: bool = cfg!(feature = "transcription");

#[cfg(feature = "transcription")]
mod whisper {
    use std::ffi::c_void;
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};

    use whisper_rs::{
        DtwMode, DtwModelPreset, DtwParameters, FullParams, SamplingStrategy, WhisperContext,
        WhisperContextParameters,
    };

    use super::super::models::ModelFamily;
    use super::super::segments::{RawSegment, RawToken};
    use super::{EngineError, Recognized};

    /// The loaded model: the context all decoding states share.
    pub(super) type Model = WhisperContext;

    fn preset(family: ModelFamily) -> DtwModelPreset {
        match family {
            ModelFamily::TinyEn => DtwModelPreset::TinyEn,
            ModelFamily::Tiny => DtwModelPreset::Tiny,
            ModelFamily::BaseEn => DtwModelPreset::BaseEn,
            ModelFamily::Base => DtwModelPreset::Base,
            ModelFamily::SmallEn => DtwModelPreset::SmallEn,
            ModelFamily::Small => DtwModelPreset::Small,
            ModelFamily::MediumEn => DtwModelPreset::MediumEn,
            ModelFamily::Medium => DtwModelPreset::Medium,
            ModelFamily::LargeV1 => DtwModelPreset::LargeV1,
            ModelFamily::LargeV2 => DtwModelPreset::LargeV2,
            ModelFamily::LargeV3 => DtwModelPreset::LargeV3,
            ModelFamily::LargeV3Turbo => DtwModelPreset::LargeV3Turbo,
        }
    }

    /// whisper.cpp asks this after every encoder and decoder pass; `data`
    /// points at the job's cancel flag, alive until `full` returns.
    /// (whisper-rs 0.16's safe wrapper for this callback misreads the
    /// closure it stores, so the raw one is used.)
    unsafe extern "C" fn should_abort(data: *mut c_void) -> bool {
        // SAFETY: `data` is the `&AtomicBool` given in `transcribe`, which
        // outlives the `full` call that invokes this.
        let flag = unsafe { &*(data as *const AtomicBool) };
        flag.load(Ordering::Relaxed)
    }

    pub(super) fn load(model: &Path) -> Result<Model, EngineError> {
        // Silences whisper.cpp's own logging (whisper-rs is built
        // without a log backend): at debug level it prints every
        // decoded token, and transcripts never go to a log.
        whisper_rs::install_logging_hooks();
        let mut params = WhisperContextParameters::default();
        let name = model.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Word times by alignment (DTW) need the attention heads of the
        // exact model; an unknown model falls back to the decoder's
        // timestamps rather than wrong heads.
        if let Some(family) = ModelFamily::from_file_name(name) {
            params.dtw_parameters = DtwParameters {
                mode: DtwMode::ModelPreset {
                    model_preset: preset(family),
                },
                ..DtwParameters::default()
            };
        }
        WhisperContext::new_with_params(model, params).map_err(|e| EngineError::Load {
            path: model.display().to_string(),
            reason: e.to_string(),
        })
    }

    pub(super) fn is_multilingual(model: &Model) -> bool {
        model.is_multilingual()
    }

    /// What transcripts and captions decode with alike: greedy, no
    /// context carried between calls, nothing printed, blanks and
    /// non-speech tokens suppressed, and `cancel` as the abort flag.
    /// `cancel` must outlive the `full` call these parameters go to.
    fn base_params<'a, 'b>(threads: i32, cancel: &AtomicBool) -> FullParams<'a, 'b> {
        let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        p.set_n_threads(threads);
        p.set_no_context(true);
        p.set_print_special(false);
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_timestamps(false);
        p.set_suppress_blank(true);
        p.set_suppress_nst(true);
        p.set_no_speech_thold(0.6);
        // SAFETY: both callers pass a `cancel` that outlives their
        // `state.full`, the only call that can invoke the callback.
        unsafe {
            p.set_abort_callback(Some(should_abort));
            p.set_abort_callback_user_data(cancel as *const AtomicBool as *mut c_void);
        }
        p
    }

    /// Whisper needs at least a second of audio; a shorter stretch is
    /// padded with silence to this many samples.
    const MIN_SAMPLES: usize = 17_600;

    pub(super) fn caption(
        model: &Model,
        state: &mut whisper_rs::WhisperState,
        threads: i32,
        audio: &[f32],
        translate: bool,
        cancel: &AtomicBool,
    ) -> Result<String, EngineError> {
        let multilingual = model.is_multilingual();
        let mut p = base_params(threads, cancel);
        p.set_language(if multilingual { None } else { Some("en") });
        p.set_translate(multilingual && translate);
        p.set_single_segment(true);
        p.set_no_timestamps(true);
        // No decoding again at higher temperatures when the model is
        // unsure: for a line shown once and replaced soon, the first guess
        // is worth more than a better one seconds later (measured: the
        // fallback made some lines 3 s late).
        p.set_temperature_inc(0.0);
        // A caption line is a sentence or two.
        p.set_max_tokens(96);
        // The encoder's window cut to the audio (50 frames a second, and a
        // margin): a caption is a few seconds, and encoding 30 s for it
        // made each one cost several times as much.
        let seconds = audio.len().max(MIN_SAMPLES) as f64 / 16_000.0;
        p.set_audio_ctx((((seconds + 1.0) * 50.0).ceil() as i32).min(1500));
        let padded;
        let audio = if audio.len() < MIN_SAMPLES {
            let mut a = audio.to_vec();
            a.resize(MIN_SAMPLES, 0.0);
            padded = a;
            &padded[..]
        } else {
            audio
        };
        let ran = state.full(p, audio);
        if cancel.load(Ordering::Relaxed) {
            return Err(EngineError::Cancelled);
        }
        ran.map_err(|e| EngineError::Run(e.to_string()))?;
        let mut text = String::new();
        for seg in state.as_iter() {
            if seg.no_speech_probability() > 0.6 {
                continue;
            }
            let part = seg
                .to_str_lossy()
                .map_err(|e| EngineError::Run(e.to_string()))?;
            text.push_str(part.trim());
            text.push(' ');
        }
        Ok(text.trim().to_string())
    }

    pub(super) fn transcribe(
        model: &Model,
        threads: i32,
        audio: &[f32],
        language: Option<&str>,
        cancel: &AtomicBool,
    ) -> Result<Recognized, EngineError> {
        let multilingual = model.is_multilingual();
        let mut state = model
            .create_state()
            .map_err(|e| EngineError::Run(e.to_string()))?;
        let mut p = base_params(threads, cancel);
        p.set_language(if multilingual { language } else { Some("en") });
        p.set_translate(false);
        p.set_token_timestamps(true);
        p.set_logprob_thold(-1.0);
        let ran = state.full(p, audio);
        if cancel.load(Ordering::Relaxed) {
            return Err(EngineError::Cancelled);
        }
        ran.map_err(|e| EngineError::Run(e.to_string()))?;
        let eot = model.token_eot();
        let mut segments = Vec::new();
        for seg in state.as_iter() {
            let text = seg
                .to_str_lossy()
                .map_err(|e| EngineError::Run(e.to_string()))?
                .into_owned();
            let mut tokens = Vec::new();
            for i in 0..seg.n_tokens() {
                let Some(tok) = seg.get_token(i) else {
                    continue;
                };
                let d = tok.token_data();
                let special = d.id >= eot;
                let start_cs = if d.t_dtw >= 0 { d.t_dtw } else { d.t0 };
                tokens.push(RawToken {
                    text: tok
                        .to_str_lossy()
                        .map(|t| t.into_owned())
                        .unwrap_or_default(),
                    p: d.p,
                    logprob: d.plog,
                    start_s: start_cs.max(0) as f64 / 100.0,
                    end_s: d.t1.max(start_cs).max(0) as f64 / 100.0,
                    special,
                });
            }
            segments.push(RawSegment {
                start_s: seg.start_timestamp().max(0) as f64 / 100.0,
                end_s: seg.end_timestamp().max(0) as f64 / 100.0,
                text,
                no_speech_prob: seg.no_speech_probability(),
                tokens,
            });
        }
        let language =
            whisper_rs::get_lang_str(state.full_lang_id_from_state()).map(str::to_string);
        Ok(Recognized { segments, language })
    }
}
