//! Shared harness for Duet's end-to-end tests: a Rust WebRTC peer that joins sessions over
//! the signaling WebSocket, sends deterministic Opus/VP8 media, and records what it sent and
//! received so tests can check payloads arrive intact.
//!
//! * [`TestPeer`] — the participant (WebSocket signaling + [`MediaPeer`]).
//! * [`MediaPeer`] — the WebRTC side alone, for direct peer-to-peer wiring.
//! * [`SignalClient`] — the raw signaling socket with a full message log.
//! * [`PeerStats`] / [`MediaKind`] — what was sent and received, per m-line, and the RTCP
//!   that arrived ([`RtcpStats`]).
//! * [`LossyRelay`] — a UDP relay between a peer and the server that drops chosen RTP packets.
//!
//! Everything binds to 127.0.0.1: run tests that use it inside a loopback-only network
//! namespace (`unshare --net -- sh -c 'ip link set lo up && exec cargo test ...'`).

pub mod admin_client;
pub mod binary_server;
pub mod candidates;
pub mod consent_flow;
mod events;
pub mod feedback;
pub mod harness;
pub mod impair;
pub mod ivf;
pub mod latency;
pub mod load;
pub mod media_check;
pub mod media_peer;
mod options;
pub mod peer;
pub mod relay;
pub mod rtcp_stats;
pub mod s3;
pub mod sender;
pub mod signal;
pub mod soak;
pub mod speech;
pub mod stats;
pub mod tasks;
pub mod tone;
pub mod vp8;

pub use media_peer::{LocalCandidate, MediaPeer, PeerOptions};
pub use options::Transport;
pub use peer::{JoinRefused, TestPeer};
pub use relay::{DropPolicy, LossyRelay, RelayStats};
pub use signal::SignalClient;
pub use stats::{MediaKind, PeerStats, PerKind, RtcpCounts, RtcpStats, StreamStats};
