//! Duet's signaling layer: the WebSocket protocol's types and the pure state
//! machines behind it.
//!
//! Nothing here does IO or reads a clock. The server feeds events in
//! (`handle`) and drains what follows (`poll_output`); time arrives as an
//! argument. That keeps every rule about who may join, who is told what and
//! when, testable without sockets or sleeps.
//!
//! - [`protocol`]: messages on the wire and their error codes.
//! - [`captions`]: live captions' consent: who reads captions and whose
//!   speech may be recognized.
//! - [`connection`]: what one socket may send before and after `join`.
//! - [`consent`]: recording consent: when media may be written, and the
//!   audit trail of every request, consent, decline, revoke and stop.
//! - [`session`]: admission of one mentor and one mentee, replacement on
//!   rejoin, peer events, chat relay, mute state.

// No unwrap() or expect() outside tests: input, the network and the disk
// must never crash the server. Clippy refuses any new one.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod captions;
pub mod connection;
pub mod consent;
pub mod ids;
pub mod protocol;
pub mod quality;
pub mod session;

pub use ids::{ConnId, LinkId, ParticipantId, Role, SessionId, UnixMillis};
