//! Prometheus metrics, all named `duet_*`, served at `/metrics`.
//!
//! Counters are atomics: the media loop bumps its own without a lock, and a
//! scrape only reads. Label sets are fixed and small (a media kind, an
//! error code, a consent action); no metric carries a session, a name or
//! an address.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = [(&'static str, &'static str); 1];
/// A media shard's index, as a label (`media::shard`).
type ShardLabel = [(&'static str, String); 1];

/// Everything the server counts. Cheap to clone (all handles are shared).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    data_dir: PathBuf,
    pub sessions_active: Gauge,
    pub participants_connected: Gauge,
    pub join_attempts: Counter,
    /// Joins handed to the node that holds their session (`ws/pipe.rs`).
    pub joins_piped: Counter,
    join_failures: Family<Labels, Counter>,
    consent_events: Family<Labels, Counter>,
    pub recordings_active: Gauge,
    pub recording_bytes: Counter,
    pub draining: Gauge,
    disk_free: Gauge<u64, AtomicU64>,
    pub media: MediaMetrics,
    transcription: TranscriptionMetrics,
}

/// What the transcriber counts: jobs by outcome, the speech it heard, and
/// how long that took (the real-time factor is their ratio).
#[derive(Clone)]
struct TranscriptionMetrics {
    jobs: Family<Labels, Counter>,
    speech_seconds: Counter<f64, AtomicU64>,
    busy_seconds: Counter<f64, AtomicU64>,
    real_time_factor: Histogram,
}

/// What the media loop counts, with each labelled counter taken out of its
/// family once, so the packet path never looks a label up.
#[derive(Clone)]
pub struct MediaMetrics {
    pub calls_connected: Gauge,
    pub time_to_connect: Histogram,
    pub audio_packets: Counter,
    pub audio_bytes: Counter,
    pub video_packets: Counter,
    pub video_bytes: Counter,
    /// Redundant audio (RED) forwarded as it came, and as its primary Opus
    /// frame to a receiver that did not take RED (`media::red`).
    pub red_as_red: Counter,
    pub red_as_opus: Counter,
    pub nacks: Counter,
    pub plis: Counter,
    pub loss: Histogram,
    pub rtt: Histogram,
    /// When the media loop last turned (see [`Heartbeat`]).
    pub heartbeat: Heartbeat,
    /// Seconds since the loop last turned, read at each scrape.
    pub loop_lag: Gauge<f64, AtomicU64>,
    /// Connections ended because handling them panicked.
    pub peer_panics: Counter,
    /// Peer connections each media shard holds (see [`Self::shard_connections`]).
    shard_connections: Family<ShardLabel, Gauge>,
}

impl MediaMetrics {
    /// The gauge of connections on media shard `shard`, taken out of its
    /// family once by that shard's loop.
    pub fn shard_connections(&self, shard: usize) -> Gauge {
        self.shard_connections
            .get_or_create(&[("shard", shard.to_string())])
            .clone()
    }
}

/// The media loop's pulse: it stamps every turn, and it turns at least once
/// a second even when idle, so a stale stamp means it is stuck or gone.
#[derive(Clone)]
pub struct Heartbeat(Arc<HeartbeatInner>);

struct HeartbeatInner {
    base: Instant,
    /// Milliseconds after `base` of the last turn.
    last_ms: AtomicU64,
    stopped: AtomicBool,
    /// With several media loops (shards), each beats a child of its own
    /// and this one speaks for the slowest of them: one stuck shard must
    /// not hide behind a healthy one.
    children: Mutex<Vec<Heartbeat>>,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat(Arc::new(HeartbeatInner {
            base: Instant::now(),
            last_ms: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            children: Mutex::new(Vec::new()),
        }))
    }
}

impl Heartbeat {
    /// A turn of the loop at `now`.
    pub fn beat(&self, now: Instant) {
        let ms = now.saturating_duration_since(self.0.base).as_millis();
        self.0
            .last_ms
            .store(u64::try_from(ms).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The loop has ended for good.
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::Relaxed);
    }

    /// A heartbeat for one of several loops; from now on [`Self::lag`]
    /// answers for the slowest child.
    pub fn child(&self) -> Heartbeat {
        let child = Heartbeat::default();
        self.children().push(child.clone());
        child
    }

    fn children(&self) -> std::sync::MutexGuard<'_, Vec<Heartbeat>> {
        // A panic while holding it cannot leave the list half-changed.
        self.0.children.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long ago the loop last turned; `None` once it has stopped. With
    /// children, the longest of theirs, `None` once any has stopped.
    pub fn lag(&self, now: Instant) -> Option<Duration> {
        {
            let children = self.children();
            if !children.is_empty() {
                return children
                    .iter()
                    .try_fold(Duration::ZERO, |worst, c| Some(worst.max(c.lag(now)?)));
            }
        }
        if self.0.stopped.load(Ordering::Relaxed) {
            return None;
        }
        let last = Duration::from_millis(self.0.last_ms.load(Ordering::Relaxed));
        Some(now.saturating_duration_since(self.0.base + last))
    }
}

impl Metrics {
    pub fn new(data_dir: PathBuf) -> Metrics {
        let mut r = Registry::with_prefix("duet");
        let sessions_active = Gauge::default();
        r.register(
            "sessions_active",
            "Sessions with a room open (someone joined and it has not closed)",
            sessions_active.clone(),
        );
        let participants_connected = Gauge::default();
        r.register(
            "participants_connected",
            "Participants admitted to a session and still connected to signaling",
            participants_connected.clone(),
        );
        let join_attempts = Counter::default();
        r.register(
            "join_attempts",
            "Join messages received",
            join_attempts.clone(),
        );
        let joins_piped = Counter::default();
        r.register(
            "joins_piped",
            "Joins whose session lives on another node, piped to it",
            joins_piped.clone(),
        );
        let join_failures = Family::<Labels, Counter>::default();
        r.register(
            "join_failures",
            "Joins refused, by reason (the error code sent to the client)",
            join_failures.clone(),
        );
        let consent_events = Family::<Labels, Counter>::default();
        r.register(
            "consent_events",
            "Consent events stored in the trail, by action",
            consent_events.clone(),
        );
        let recordings_active = Gauge::default();
        r.register(
            "recordings_active",
            "Recordings being written or finalized",
            recordings_active.clone(),
        );
        let recording_bytes = Counter::default();
        r.register(
            "recording_bytes_written",
            "Media bytes written to recording files",
            recording_bytes.clone(),
        );
        let draining = Gauge::default();
        r.register(
            "draining",
            "1 while the server is shutting down and refusing joins",
            draining.clone(),
        );
        let disk_free = Gauge::<u64, AtomicU64>::default();
        r.register(
            "data_disk_free_bytes",
            "Free space for Duet in the file system of the data folder",
            disk_free.clone(),
        );
        let media = MediaMetrics::register(&mut r);
        let transcription = TranscriptionMetrics::register(&mut r);
        Metrics {
            registry: Arc::new(r),
            data_dir,
            sessions_active,
            participants_connected,
            join_attempts,
            joins_piped,
            join_failures,
            consent_events,
            recordings_active,
            recording_bytes,
            draining,
            disk_free,
            media,
            transcription,
        }
    }

    /// A transcript was written: `speech_s` of speech in `took`.
    pub fn transcription_done(&self, speech_s: f64, took: Duration) {
        let t = &self.transcription;
        t.jobs.get_or_create(&[("outcome", "done")]).inc();
        t.speech_seconds.inc_by(speech_s);
        t.busy_seconds.inc_by(took.as_secs_f64());
        if speech_s > 0.0 {
            t.real_time_factor.observe(took.as_secs_f64() / speech_s);
        }
    }

    /// A job ended otherwise: `failed` or `cancelled`.
    pub fn transcription_ended(&self, outcome: &'static str) {
        self.transcription
            .jobs
            .get_or_create(&[("outcome", outcome)])
            .inc();
    }

    pub fn join_failed(&self, code: &'static str) {
        self.join_failures.get_or_create(&[("reason", code)]).inc();
    }

    pub fn consent_event(&self, action: &'static str) {
        self.consent_events
            .get_or_create(&[("action", action)])
            .inc();
    }

    /// The Prometheus text format, with the free disk space read now.
    pub fn render(&self) -> String {
        if let Ok(s) = rustix::fs::statvfs(&self.data_dir) {
            self.disk_free.set(s.f_bavail.saturating_mul(s.f_frsize));
        }
        // A stopped loop shows as lagging forever.
        let lag = self.media.heartbeat.lag(Instant::now());
        self.media
            .loop_lag
            .set(lag.map_or(f64::INFINITY, |l| l.as_secs_f64()));
        let mut out = String::with_capacity(8 * 1024);
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl TranscriptionMetrics {
    fn register(r: &mut Registry) -> TranscriptionMetrics {
        let jobs = Family::<Labels, Counter>::default();
        r.register(
            "transcription_jobs",
            "Transcription jobs ended, by outcome (done, failed, cancelled)",
            jobs.clone(),
        );
        let speech_seconds = Counter::<f64, AtomicU64>::default();
        r.register(
            "transcription_speech_seconds",
            "Seconds of speech transcribed",
            speech_seconds.clone(),
        );
        let busy_seconds = Counter::<f64, AtomicU64>::default();
        r.register(
            "transcription_busy_seconds",
            "Wall-clock seconds spent transcribing",
            busy_seconds.clone(),
        );
        // 0.01 (100x faster than real time) to ~10 (10x slower).
        let real_time_factor = Histogram::new(exponential_buckets(0.01, 2.0, 11));
        r.register(
            "transcription_real_time_factor",
            "Per job: seconds spent per second of speech (below 1 is faster than real time)",
            real_time_factor.clone(),
        );
        TranscriptionMetrics {
            jobs,
            speech_seconds,
            busy_seconds,
            real_time_factor,
        }
    }
}

impl MediaMetrics {
    fn register(r: &mut Registry) -> MediaMetrics {
        let calls_connected = Gauge::default();
        r.register(
            "calls_connected",
            "Calls whose two participants both have media connected",
            calls_connected.clone(),
        );
        // 50 ms to ~26 s.
        let time_to_connect = Histogram::new(exponential_buckets(0.05, 2.0, 10));
        r.register(
            "time_to_connect_seconds",
            "From a participant's offer to its media being connected (ICE and DTLS)",
            time_to_connect.clone(),
        );
        let packets = Family::<Labels, Counter>::default();
        r.register(
            "rtp_packets_forwarded",
            "RTP packets forwarded to the other participant, by kind",
            packets.clone(),
        );
        let bytes = Family::<Labels, Counter>::default();
        r.register(
            "rtp_bytes_forwarded",
            "RTP payload bytes forwarded to the other participant, by kind",
            bytes.clone(),
        );
        let red = Family::<Labels, Counter>::default();
        r.register(
            "rtp_red_packets_forwarded",
            "Redundant audio (RED) packets forwarded, as they came (as=red) or as their primary Opus frame to a receiver without RED (as=opus)",
            red.clone(),
        );
        let nacks = Counter::default();
        r.register(
            "nacks",
            "NACK feedback packets received from participants",
            nacks.clone(),
        );
        let plis = Counter::default();
        r.register(
            "plis",
            "Keyframe requests (PLI/FIR) relayed to senders",
            plis.clone(),
        );
        let loss = Histogram::new([0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]);
        r.register(
            "call_loss_ratio",
            "Loss that receivers report on forwarded video, per receiver report",
            loss.clone(),
        );
        // 1 ms to ~2 s.
        let rtt = Histogram::new(exponential_buckets(0.001, 2.0, 12));
        r.register(
            "call_rtt_seconds",
            "Round-trip time between Duet and a participant, from receiver reports",
            rtt.clone(),
        );
        let loop_lag = Gauge::<f64, AtomicU64>::default();
        r.register(
            "media_loop_lag_seconds",
            "Seconds since the media loop last turned (it turns at least once a second; +Inf once it stopped)",
            loop_lag.clone(),
        );
        let shard_connections = Family::<ShardLabel, Gauge>::default();
        r.register(
            "media_shard_connections",
            "Peer connections (one per participant) held by each media shard",
            shard_connections.clone(),
        );
        let peer_panics = Counter::default();
        r.register(
            "media_peer_panics",
            "Media connections ended because handling them panicked (the other calls go on)",
            peer_panics.clone(),
        );
        let kind = |family: &Family<Labels, Counter>, k: &'static str| {
            family.get_or_create(&[("kind", k)]).clone()
        };
        // Each lookup in a function of its own: the guard it returns must
        // be gone before the next one (a second, inserting lookup in the
        // same expression waits for it forever).
        let sent_as = |family: &Family<Labels, Counter>, a: &'static str| {
            family.get_or_create(&[("as", a)]).clone()
        };
        MediaMetrics {
            calls_connected,
            time_to_connect,
            audio_packets: kind(&packets, "audio"),
            audio_bytes: kind(&bytes, "audio"),
            video_packets: kind(&packets, "video"),
            video_bytes: kind(&bytes, "video"),
            red_as_red: sent_as(&red, "red"),
            red_as_opus: sent_as(&red, "opus"),
            nacks,
            plis,
            loss,
            rtt,
            heartbeat: Heartbeat::default(),
            loop_lag,
            peer_panics,
            shard_connections,
        }
    }
}

#[cfg(test)]
mod tests;
