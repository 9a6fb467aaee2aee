//! One captioned speaker's thread: Opus packets in, decoded to 16 kHz,
//! cut into utterances, recognized, text out.
//!
//! Recognition takes a good part of a second, and packets queue
//! meanwhile. The thread always empties the queue before it recognizes
//! again, and then recognizes only the latest interim: a speaker is never
//! captioned further and further behind, only with fewer interim lines.
//! Interims are on a budget: each one re-reads the whole sentence so far,
//! so after one that took `t`, the next waits `INTERIM_BUDGET × t`; a long
//! sentence gets fewer guesses, and a final never waits long behind one.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use duet_signaling::{Role, SessionId};
use tokio::sync::mpsc;

use super::utterance::{Cut, UtteranceConfig, Utterances};
use super::{Heard, Slot};
use crate::recorder::talk::{FRAME, SAMPLE_RATE};
use crate::recorder::tap::{RecordedPacket, TrackCodec, TrackKind};
use crate::transcript::engine::{CaptionState, Recognizer};

/// How long the thread waits for a packet before it looks at the stop
/// flag again.
const POLL: Duration = Duration::from_millis(100);
/// The longest Opus packet (120 ms) at 16 kHz.
const MAX_PACKET_SAMPLES: usize = SAMPLE_RATE as usize * 120 / 1000;
/// After an interim that took `t`, no other before `t` times this: the
/// thread spends at most a third of its time on guesses.
const INTERIM_BUDGET: u32 = 3;
/// A pause longer than this (5 s) between two packets is not filled in.
const MAX_GAP_SAMPLES: usize = SAMPLE_RATE as usize * 5;

pub(super) struct CaptionJob {
    pub session: SessionId,
    pub role: Role,
    pub worker: u64,
    pub translate: bool,
    pub packets: Receiver<RecordedPacket>,
    /// Its model, loaded here (on this thread) the first time.
    pub transcriber: crate::transcript::service::Transcriber,
    pub out: mpsc::UnboundedSender<Heard>,
    pub stop: Arc<AtomicBool>,
    /// Its place under the cap, given back when the thread ends.
    pub _slot: Slot,
}

/// Captions' nice value: below every call's threads (nice 0), so the
/// media loop always wins a contended core, but above the transcriber's
/// `SCHED_IDLE`, which on a busy machine can wait for seconds, where a
/// caption must come within a second or two.
const NICE: libc::c_int = 10;

pub(super) fn run(job: CaptionJob) {
    // SAFETY: a plain system call on the calling thread (`0` is the
    // calling thread on Linux); no memory is shared.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) };
    let engine = job
        .transcriber
        .engine()
        .and_then(|e| Ok((e.caption_state().map_err(|e| e.to_string())?, e)));
    let (state, engine) = match engine {
        Ok(both) => both,
        Err(e) => {
            let _ = job.out.send(Heard {
                session: job.session,
                role: job.role,
                worker: job.worker,
                line: 0,
                text: Err(format!("the speech model could not be loaded: {e}")),
                is_final: true,
                translated: false,
            });
            return;
        }
    };
    let mut decoder = match opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "captions: no Opus decoder");
            return;
        }
    };
    let mut listener = Listener::new(engine, state);
    listener.warm_up();
    let mut pcm = vec![0i16; MAX_PACKET_SAMPLES];
    loop {
        if job.stop.load(Ordering::Relaxed) {
            break;
        }
        let packet = match job.packets.recv_timeout(POLL) {
            Ok(p) => p,
            Err(RecvTimeoutError::Timeout) => {
                // Nothing arrives while the browser's DTX sends nothing
                // for silence: that is silence, and it ends the line.
                listener.quiet();
                listener.recognize(&job);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        listener.hear(&mut decoder, &mut pcm, &packet);
        // Everything queued meanwhile first, then recognition.
        loop {
            match job.packets.try_recv() {
                Ok(p) => listener.hear(&mut decoder, &mut pcm, &p),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    listener.recognize(&job);
                    return;
                }
            }
        }
        listener.recognize(&job);
    }
}

/// The speaker's utterances and what is due for recognition.
struct Listener {
    utterances: Utterances,
    /// Samples decoded but not yet a whole 20 ms frame.
    partial: Vec<i16>,
    finals: VecDeque<Vec<i16>>,
    interim_due: bool,
    line: u64,
    cancel: AtomicBool,
    engine: Arc<Recognizer>,
    state: CaptionState,
    /// The last packet's RTP timestamp (48 kHz) and length at 16 kHz, and
    /// the silence already put in since it (`quiet`): a jump in
    /// timestamps is silence the sender did not send (DTX).
    last: Option<(u32, usize)>,
    filled: usize,
    /// When the last packet came: with no packet since, the time since
    /// is silence (DTX sends nothing), however long recognition took.
    heard_at: std::time::Instant,
    /// No interim before this (the budget above).
    next_interim: std::time::Instant,
}

impl Listener {
    fn new(engine: Arc<Recognizer>, state: CaptionState) -> Listener {
        Listener {
            utterances: Utterances::new(UtteranceConfig::default()),
            partial: Vec::with_capacity(FRAME * 8),
            finals: VecDeque::new(),
            interim_due: false,
            line: 0,
            cancel: AtomicBool::new(false),
            engine,
            state,
            last: None,
            filled: 0,
            heard_at: std::time::Instant::now(),
            next_interim: std::time::Instant::now(),
        }
    }

    fn hear(&mut self, decoder: &mut opus::Decoder, pcm: &mut [i16], packet: &RecordedPacket) {
        if packet.kind != TrackKind::Audio || packet.codec != TrackCodec::Opus {
            return;
        }
        let n = match decoder.decode(&packet.payload, pcm, false) {
            Ok(n) => n.min(pcm.len()),
            // A damaged packet is a gap in the captions, nothing more.
            Err(_) => return,
        };
        if let Some((ts, len)) = self.last {
            let since = packet.timestamp.wrapping_sub(ts) as usize / 3;
            // Beyond a few seconds it is a reordered packet or a new
            // stream, not a pause.
            if since < MAX_GAP_SAMPLES {
                let gap = since.saturating_sub(len).saturating_sub(self.filled);
                self.push(&vec![0; gap]);
            }
        }
        self.last = Some((packet.timestamp, n));
        self.filled = 0;
        self.heard_at = std::time::Instant::now();
        self.push(&pcm[..n]);
    }

    /// One recognition of a second of silence, before anyone speaks: the
    /// model's first pass in a process costs many times a usual one (up
    /// to seconds on a busy machine), and the first line must not pay it.
    /// What arrives meanwhile waits in the queue.
    fn warm_up(&mut self) {
        let silence = vec![0.0; SAMPLE_RATE as usize];
        let started = std::time::Instant::now();
        let _ = self
            .engine
            .caption(&mut self.state, &silence, false, &self.cancel);
        tracing::debug!(
            seconds = started.elapsed().as_secs_f64(),
            "captions: warmed up"
        );
    }

    /// No packet for a while: the time since the last one is silence,
    /// while someone was speaking (the part not filled in yet).
    fn quiet(&mut self) {
        if !self.utterances.speaking() {
            return;
        }
        let waited = self.heard_at.elapsed().as_millis() as usize * SAMPLE_RATE as usize / 1000;
        let samples = waited.saturating_sub(self.filled).min(MAX_GAP_SAMPLES);
        self.filled += samples;
        self.push(&vec![0; samples]);
    }

    fn push(&mut self, samples: &[i16]) {
        self.partial.extend_from_slice(samples);
        let whole = self.partial.len() / FRAME * FRAME;
        for frame in self.partial[..whole].chunks_exact(FRAME) {
            match self.utterances.push(frame) {
                Some(Cut::Interim) => self.interim_due = true,
                Some(Cut::Final(audio)) => {
                    self.finals.push_back(audio);
                    self.interim_due = false;
                }
                None => {}
            }
        }
        self.partial.drain(..whole);
    }

    /// Recognizes the finals due, then the latest interim.
    fn recognize(&mut self, job: &CaptionJob) {
        while let Some(audio) = self.finals.pop_front() {
            self.say(job, &audio, true);
            self.line += 1;
        }
        let now = std::time::Instant::now();
        if self.interim_due && self.utterances.speaking() && now >= self.next_interim {
            self.interim_due = false;
            let audio = self.utterances.current().to_vec();
            self.say(job, &audio, false);
            self.next_interim = std::time::Instant::now() + now.elapsed() * INTERIM_BUDGET;
        }
    }

    fn say(&mut self, job: &CaptionJob, audio: &[i16], is_final: bool) {
        if job.stop.load(Ordering::Relaxed) {
            return;
        }
        let samples: Vec<f32> = audio.iter().map(|&s| f32::from(s) / 32768.0).collect();
        let started = std::time::Instant::now();
        let recognized =
            self.engine
                .caption(&mut self.state, &samples, job.translate, &self.cancel);
        tracing::debug!(
            seconds = started.elapsed().as_secs_f64(),
            audio_s = audio.len() as f64 / f64::from(SAMPLE_RATE),
            is_final,
            "captions: recognized"
        );
        let text = match recognized {
            Ok(text) => clean(&text),
            Err(e) => {
                tracing::warn!(session = %job.session, role = %job.role, error = %e, "captions: recognition failed");
                return;
            }
        };
        if text.is_empty() && !is_final {
            return;
        }
        let _ = job.out.send(Heard {
            session: job.session,
            role: job.role,
            worker: job.worker,
            line: self.line,
            text: Ok(text),
            is_final,
            translated: job.translate,
        });
    }
}

/// What the model says for noise rather than words: `[BLANK_AUDIO]`,
/// `(music)`, `*cough*`. Dropped, so a caption is only ever words.
fn clean(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut starred = false;
    for c in text.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth = depth.saturating_sub(1),
            '*' => starred = !starred,
            _ if depth == 0 && !starred => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn noise_tags_are_not_captions() {
        assert_eq!(clean(" [BLANK_AUDIO]"), "");
        assert_eq!(clean("(music) Hello there. *cough*"), "Hello there.");
        assert_eq!(clean("  two   spaces "), "two spaces");
    }
}
