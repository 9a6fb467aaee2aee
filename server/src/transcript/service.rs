//! The transcriber: a few threads, at the lowest scheduling priority and
//! outside the tokio runtime, that take jobs from the database one at a
//! time and run them. Transcription must never cost a call a packet: the
//! media loop and tokio's workers always win the CPU over these threads.
//!
//! Jobs are queued when a recording is finalized (complete or
//! interrupted, also at start-up recovery), through the hook the recorder
//! calls ([`crate::recorder::AfterRecording`]). Deleting a recording
//! cancels its job and waits for it to stop before any file goes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use duet_signaling::consent::RecordingId;

use super::engine::Recognizer;
use super::job::{self, JobSettings};
use crate::clock::now_ms;
use crate::config::TranscriptionConfig;
use crate::metrics::Metrics;
use crate::store::{JobStatus, Store};

/// How often a worker looks for jobs when nobody woke it.
const IDLE_POLL: Duration = Duration::from_secs(30);
/// Progress is stored at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// What the transcriber was set up with.
#[derive(Debug, Clone)]
pub struct TranscriberSetup {
    /// Unset: transcription is off.
    pub model: Option<PathBuf>,
    pub threads: usize,
    pub jobs: usize,
    /// `None`: detect.
    pub language: Option<String>,
    pub recordings: PathBuf,
}

impl TranscriberSetup {
    pub fn new(config: &TranscriptionConfig, model: Option<PathBuf>, recordings: PathBuf) -> Self {
        Self {
            model,
            threads: config.threads,
            jobs: config.jobs,
            language: (config.language != "auto").then(|| config.language.clone()),
            recordings,
        }
    }
}

#[derive(Clone)]
pub struct Transcriber {
    inner: Arc<Inner>,
}

struct Inner {
    setup: TranscriberSetup,
    store: Store,
    metrics: Metrics,
    runtime: tokio::runtime::Handle,
    /// The model, loaded by the first job that needs it.
    engine: OnceLock<Result<Arc<Recognizer>, String>>,
    /// Set (and notified) when a job was queued.
    bell: (Mutex<bool>, Condvar),
    /// Cancel flags of the jobs running now, by recording id.
    running: Mutex<HashMap<String, Arc<AtomicBool>>>,
}

impl Transcriber {
    /// Starts the worker threads when a model is configured (jobs a stop
    /// cut short are pending again first); otherwise a transcriber that
    /// says transcription is off.
    pub async fn start(
        setup: TranscriberSetup,
        store: Store,
        metrics: Metrics,
    ) -> std::io::Result<Transcriber> {
        let workers = if setup.model.is_some() { setup.jobs } else { 0 };
        if workers > 0 {
            match store.resume_transcriptions().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "resuming transcriptions a stop cut short"),
                Err(e) => tracing::warn!(error = %e, "could not resume transcription jobs"),
            }
        }
        let runtime = tokio::runtime::Handle::current();
        let t = Transcriber {
            inner: Arc::new(Inner {
                setup,
                store,
                metrics,
                runtime,
                engine: OnceLock::new(),
                bell: (Mutex::new(false), Condvar::new()),
                running: Mutex::new(HashMap::new()),
            }),
        };
        for n in 0..workers {
            let worker = t.clone();
            std::thread::Builder::new()
                .name(format!("duet-transcribe-{n}"))
                .spawn(move || worker.work())?;
        }
        Ok(t)
    }

    /// Whether new recordings are transcribed.
    pub fn enabled(&self) -> bool {
        self.inner.setup.model.is_some()
    }

    /// Whether the model knows languages besides English, without loading
    /// it: from the loaded model if a job loaded it, else from its file
    /// name (whisper.cpp's English-only models are `*.en.bin`).
    pub fn multilingual(&self) -> bool {
        match self.inner.engine.get() {
            Some(Ok(engine)) => engine.is_multilingual(),
            Some(Err(_)) => false,
            None => self
                .model_name()
                .is_some_and(|n| !n.contains(".en.") && !n.ends_with(".en")),
        }
    }

    /// The model's file name, when transcription is on.
    pub fn model_name(&self) -> Option<String> {
        let model = self.inner.setup.model.as_ref()?;
        Some(model.file_name()?.to_string_lossy().into_owned())
    }

    /// Queues `id` for transcription (nothing when off) and wakes a worker.
    pub async fn queue(&self, id: &str) -> Result<(), crate::store::StoreError> {
        if !self.enabled() {
            return Ok(());
        }
        self.inner
            .store
            .queue_transcription(id.to_string(), now_ms())
            .await?;
        self.ring();
        Ok(())
    }

    fn ring(&self) {
        let (lock, wake) = &self.inner.bell;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
    }

    /// Cancels `id`'s job if one runs, and waits (up to `wait`) until it
    /// stopped. Returns false if it still ran after that.
    pub async fn cancel(&self, id: &str, wait: Duration) -> bool {
        let flag = self.running_flag(id);
        let Some(flag) = flag else {
            return true;
        };
        flag.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if self.running_flag(id).is_none() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.running_flag(id).is_none()
    }

    fn running_flag(&self, id: &str) -> Option<Arc<AtomicBool>> {
        let running = self.inner.running.lock().unwrap_or_else(|p| p.into_inner());
        running.get(id).cloned()
    }

    /// One worker: lowest priority, then jobs until the process ends.
    fn work(self) {
        lower_priority();
        let inner = &self.inner;
        loop {
            let claimed = inner
                .runtime
                .block_on(inner.store.claim_transcription(now_ms()));
            match claimed {
                Ok(Some(job)) => self.run_one(&job.recording_id),
                Ok(None) => self.sleep(),
                Err(e) => {
                    tracing::warn!(error = %e, "could not read transcription jobs");
                    self.sleep();
                }
            }
        }
    }

    fn sleep(&self) {
        let (lock, wake) = &self.inner.bell;
        let mut rung = lock.lock().unwrap_or_else(|p| p.into_inner());
        if !*rung {
            rung = wake
                .wait_timeout(rung, IDLE_POLL)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        *rung = false;
    }

    pub(crate) fn engine(&self) -> Result<Arc<Recognizer>, String> {
        let inner = &self.inner;
        inner
            .engine
            .get_or_init(|| {
                let Some(model) = &inner.setup.model else {
                    return Err("transcription is off (no model configured)".into());
                };
                let started = Instant::now();
                let loaded = Recognizer::load(model, inner.setup.threads)
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                match &loaded {
                    Ok(_) => tracing::info!(model = %model.display(), seconds = started.elapsed().as_secs_f64(), "transcription model loaded"),
                    Err(e) => tracing::error!(error = %e, "transcription model could not be loaded"),
                }
                loaded
            })
            .clone()
    }

    fn run_one(&self, id: &str) {
        let inner = &self.inner;
        let cancel = Arc::new(AtomicBool::new(false));
        inner
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), cancel.clone());
        let result = self.engine().and_then(|engine| {
            let dir = inner.setup.recordings.join(id);
            let model_name = self.model_name().unwrap_or_default();
            let settings = JobSettings {
                engine: &engine,
                model_name: &model_name,
                language: inner.setup.language.as_deref(),
                cancel: &cancel,
            };
            let mut last = Instant::now();
            let mut progress = |p: f64| {
                if last.elapsed() >= PROGRESS_EVERY {
                    last = Instant::now();
                    let stored = inner
                        .runtime
                        .block_on(inner.store.set_transcription_progress(id.to_string(), p));
                    if let Err(e) = stored {
                        tracing::debug!(error = %e, "could not store transcription progress");
                    }
                }
            };
            job::run(&dir, &settings, &mut progress).map_err(|e| {
                if e.is_cancel() {
                    "cancelled".to_string()
                } else {
                    e.to_string()
                }
            })
        });
        let (status, language, error) = match &result {
            Ok(report) => {
                let rtf = report.elapsed.as_secs_f64() / report.speech_s.max(0.001);
                inner
                    .metrics
                    .transcription_done(report.speech_s, report.elapsed);
                tracing::info!(
                    recording = id,
                    segments = report.segments,
                    dropped = report.dropped,
                    speech_s = report.speech_s,
                    audio_s = report.audio_s,
                    seconds = report.elapsed.as_secs_f64(),
                    real_time_factor = rtf,
                    "transcript written"
                );
                (JobStatus::Done, report.language.clone(), None)
            }
            Err(_) if cancel.load(Ordering::Relaxed) => {
                tracing::info!(recording = id, "transcription cancelled");
                inner.metrics.transcription_ended("cancelled");
                (JobStatus::Cancelled, None, None)
            }
            Err(e) => {
                tracing::warn!(recording = id, error = %e, "transcription failed");
                inner.metrics.transcription_ended("failed");
                (JobStatus::Failed, None, Some(e.clone()))
            }
        };
        let stored = inner.runtime.block_on(inner.store.finish_transcription(
            id.to_string(),
            status,
            language,
            error,
            now_ms(),
        ));
        if let Err(e) = stored {
            tracing::warn!(recording = id, error = %e, "could not store a transcription's end");
        }
        inner
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

impl crate::recorder::AfterRecording for Transcriber {
    fn finished(&self, id: RecordingId) {
        if !self.enabled() {
            return;
        }
        let queued = self.inner.runtime.block_on(self.queue(&id.to_string()));
        if let Err(e) = queued {
            tracing::error!(recording = %id, error = %e, "could not queue a transcription");
        }
    }

    fn deleting<'a>(
        &'a self,
        id: RecordingId,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        Box::pin(async move { self.cancel(&id.to_string(), Duration::from_secs(30)).await })
    }
}

/// The calling thread (and the threads whisper.cpp starts from it, which
/// inherit this) runs only when nothing else wants the CPU: `SCHED_IDLE`,
/// and nice 19 where that is refused.
pub(crate) fn lower_priority() {
    // SAFETY: plain system calls on the calling thread with a valid,
    // initialized parameter; no memory is shared.
    let idle = unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param)
    };
    if idle != 0 {
        // SAFETY: as above; `0` is the calling thread on Linux.
        let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
        tracing::debug!("SCHED_IDLE refused; transcription runs at nice 19");
    }
}
