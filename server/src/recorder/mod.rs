//! Consent-gated recording: one file per participant and track in its
//! native codec (Opus in Ogg, VP8/VP9 in WebM), written live so a crash
//! leaves playable files, then transcription-ready WAVs with talk time.
//!
//! - [`service`] starts recordings, only with a `RecordingGrant` from the
//!   consent machine and both consents in the stored trail.
//! - [`tap`] is where the media engine hands packets over, never blocking.
//! - [`writer`] is the thread that writes one recording; [`finalize`]
//!   completes it; [`recovery`] completes what a crash interrupted.
//! - [`ogg`], [`frames`], [`webm`]: the containers, pure over `Write`;
//!   [`webm_cues`] indexes a finished WebM for seeking;
//!   [`probe`] reads them back; [`wav`] and [`talk`] make transcripts and
//!   talk time; [`manifest`] and [`files`] describe what is on disk;
//!   [`archive`] moves settled recordings to object storage.

/// Called from a recording's thread when it stopped writing on its own (a
/// write error, a cap, a nearly full disk). Here, not in `service`, so
/// that the writer does not import the service that starts it.
pub type FailureHook = Box<dyn FnOnce(duet_signaling::consent::RecordingId, WriterStopped) + Send>;

/// What happens to a recording after it is written, done by another part
/// of the server (the transcriber). A trait here, so the recorder does not
/// import what it hands recordings to.
pub trait AfterRecording: Send + Sync {
    /// The recording was finalized (complete or interrupted). Called on a
    /// blocking thread (the writer's or recovery's), never on tokio's.
    fn finished(&self, id: duet_signaling::consent::RecordingId);
    /// The recording is about to be deleted: stop working on it, and
    /// resolve (true) once nothing touches its folder any more.
    fn deleting<'a>(
        &'a self,
        id: duet_signaling::consent::RecordingId,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>>;
}

/// Shared handle to what runs after a recording.
pub type After = std::sync::Arc<dyn AfterRecording>;

/// Why a writer stopped on its own: the room tells people which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriterStopped {
    /// Writing failed (an I/O error).
    #[error("{0}")]
    Failed(String),
    /// A size or length cap, or the free-space floor.
    #[error("{0}")]
    Limit(#[from] limits::LimitReached),
}

pub mod archive;
pub mod deletion;
pub mod discard;
pub mod files;
mod finalize;
pub mod frames;
pub mod limits;
pub mod manifest;
pub mod mix;
pub mod ogg;
pub mod probe;
pub mod recovery;
pub mod service;
pub mod talk;
pub mod tap;
pub mod wav;
pub mod webm;
pub mod webm_cues;
mod writer;
