//! Live captions: a captioned speaker's audio recognized on this server,
//! as they speak, with the transcription model.
//!
//! The room decides who is captioned (`duet_signaling::captions`, and the
//! speaker's microphone being on); for each such speaker it starts a
//! [`CaptionWorker`] here and hands the media plane the worker's tap. The
//! media path only offers each of that speaker's audio packets to a
//! bounded queue (never waiting, as for the recorder); a thread at a low
//! priority (nice 10: below the calls, above the transcriber's idle
//! threads, because a caption cannot wait for an idle core) decodes them,
//! cuts utterances
//! ([`utterance`]) and recognizes them, and sends the room the text. A
//! call never loses a packet to captions: when recognition falls behind,
//! the queue drops audio, not the call.
//!
//! Nothing here is stored: captions go to the pages and are gone.
//!
//! Cost is capped per server: at most `captions.max_speakers` workers at
//! once ([`Captioner::start`] says when the cap is reached).

pub mod utterance;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use duet_signaling::{Role, SessionId};
use tokio::sync::mpsc;

use crate::recorder::tap::{self, RecordTap};
use crate::transcript::service::Transcriber;

/// Speakers captioned at once per core by default. Measured with tiny.en
/// (docs/benchmarks.md, "Live captions"): a captioned speaker costs 0.36
/// of a core while they talk and nothing while they listen; in a
/// conversation each talks about half the time, so two per core keep
/// captions to about a third of the machine, the rest for the calls.
pub const SPEAKERS_PER_CORE: usize = 2;

/// The default cap: [`SPEAKERS_PER_CORE`] per core.
pub fn default_max_speakers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()) * SPEAKERS_PER_CORE
}

/// Audio packets that may wait for recognition: about 20 s of a voice.
const QUEUE_PACKETS: usize = 1024;

/// What a worker heard, for the room to send to the pages that read
/// captions.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    pub session: SessionId,
    pub role: Role,
    /// Which worker: a stopped worker's last words are dropped.
    pub worker: u64,
    /// The speaker's lines, counted from 0; an interim line is replaced
    /// by the next text with the same number.
    pub line: u64,
    /// What was said; an error when recognition cannot run at all (the
    /// model failed to load), after which the worker stops.
    pub text: Result<String, String>,
    pub is_final: bool,
    pub translated: bool,
}

/// Why captions cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptionsError {
    #[error("captions are off on this server (no speech model is set up)")]
    Off,
    #[error(
        "this server is captioning as many speakers as it can ({0}); try again when a call ends"
    )]
    Full(usize),
    #[error("captions could not start: {0}")]
    Start(String),
}

/// Starts caption workers; one per server, shared by all rooms.
#[derive(Clone)]
pub struct Captioner {
    transcriber: Option<Transcriber>,
    max_speakers: usize,
    running: Arc<AtomicUsize>,
    next_worker: Arc<std::sync::atomic::AtomicU64>,
}

impl Captioner {
    /// Captions use `transcriber`'s model; without one (or with a cap of
    /// 0) they are off.
    pub fn new(transcriber: Option<Transcriber>, max_speakers: usize) -> Captioner {
        Captioner {
            transcriber: transcriber.filter(|t| t.enabled()),
            max_speakers,
            running: Arc::default(),
            next_worker: Arc::default(),
        }
    }

    /// Off: captions cannot be turned on in any call.
    pub fn off() -> Captioner {
        Captioner::new(None, 0)
    }

    pub fn available(&self) -> bool {
        self.transcriber.is_some() && self.max_speakers > 0
    }

    /// Whether the model can translate into English (multilingual).
    pub fn translates(&self) -> bool {
        self.transcriber
            .as_ref()
            .is_some_and(Transcriber::multilingual)
    }

    /// Speakers captioned now, on this server.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Starts recognizing `role`'s speech in `session`, sending what it
    /// hears to `out`. The worker runs until the returned handle is
    /// dropped.
    pub fn start(
        &self,
        session: SessionId,
        role: Role,
        translate: bool,
        out: mpsc::UnboundedSender<Heard>,
    ) -> Result<CaptionWorker, CaptionsError> {
        let Some(transcriber) = &self.transcriber else {
            return Err(CaptionsError::Off);
        };
        if self.max_speakers == 0 {
            return Err(CaptionsError::Off);
        }
        let taken = self
            .running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_speakers).then_some(n + 1)
            });
        if taken.is_err() {
            return Err(CaptionsError::Full(self.max_speakers));
        }
        let slot = Slot(self.running.clone());
        let queue = tap::queue(QUEUE_PACKETS);
        let stop = Arc::new(AtomicBool::new(false));
        let id = self.next_worker.fetch_add(1, Ordering::Relaxed);
        let job = worker::CaptionJob {
            session,
            role,
            worker: id,
            translate,
            packets: queue.rx,
            transcriber: transcriber.clone(),
            out,
            stop: stop.clone(),
            _slot: slot,
        };
        std::thread::Builder::new()
            .name("duet-captions".into())
            .spawn(move || worker::run(job))
            .map_err(|e| CaptionsError::Start(format!("no thread: {e}")))?;
        Ok(CaptionWorker {
            id,
            translate,
            tap: queue.tap,
            stop,
        })
    }
}

/// One place under the cap, given back when the worker's thread ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A running worker: its tap for the media plane. Dropping it stops the
/// worker (at once between recognitions, or cutting one short).
pub struct CaptionWorker {
    pub id: u64,
    pub translate: bool,
    pub tap: RecordTap,
    stop: Arc<AtomicBool>,
}

impl Drop for CaptionWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
