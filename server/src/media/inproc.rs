//! The media engine without sockets or a clock of its own: the caller
//! hands it datagrams and the time, and drains what it sends. The
//! in-process benchmark (`cargo bench -p duet-server --bench engine`) and
//! tests in virtual time drive Duet's real engine through this, with
//! sans-IO `rtc` peers on the other end.
//!
//! Not part of Duet's outward surface: the server itself always runs the
//! engine on its UDP socket (`MediaPlane`).

use std::net::SocketAddr;
use std::time::Instant;

use bytes::BytesMut;
use duet_signaling::{ConnId, Role, SessionId};
use tokio::sync::oneshot;

use super::engine::Engine;
/// A host candidate for `addr` on a peer connection (UDP, or passive
/// ICE-TCP), as the server adds its own: for the peers that drive it.
pub use super::peer::add_host_candidate;
use super::{Command, Counters, MediaError, PeerKey};
use crate::recorder::tap::RecordTap;

pub struct InProcessEngine {
    engine: Engine,
}

impl InProcessEngine {
    /// An engine whose answers name `advertise` as the server's address.
    pub fn new(advertise: SocketAddr) -> std::io::Result<InProcessEngine> {
        let metrics = crate::metrics::Metrics::new(std::env::temp_dir()).media;
        let engine = Engine::new(advertise, None, metrics);
        Ok(InProcessEngine { engine })
    }

    /// `role`'s offer in `session`, as the room hands it over: the answer.
    pub fn offer(
        &mut self,
        now: Instant,
        session: SessionId,
        role: Role,
        conn: ConnId,
        sdp: String,
    ) -> Result<String, MediaError> {
        let (reply, mut answer) = oneshot::channel();
        let key = PeerKey { session, role };
        self.engine.handle_command(
            now,
            Command::Offer {
                key,
                conn,
                sdp,
                reply,
            },
        );
        answer.try_recv().map_err(|_| MediaError::Stopped)?
    }

    /// A datagram that arrived from `from`.
    pub fn receive(&mut self, now: Instant, from: SocketAddr, data: BytesMut) {
        self.engine.handle_datagram(now, from, data);
    }

    /// When the engine next wants `handle_timeouts`.
    pub fn next_wake(&mut self) -> Instant {
        self.engine.flush_timeouts();
        self.engine.next_wake()
    }

    pub fn handle_timeouts(&mut self, now: Instant) {
        self.engine.handle_timeouts(now);
    }

    /// Moves what the engine sent since the last call into `out`
    /// (destination, datagram).
    pub fn take_sent(&mut self, out: &mut Vec<(SocketAddr, BytesMut)>) {
        self.engine.take_sent(out);
    }

    pub fn counters(&self) -> Counters {
        self.engine.counters()
    }

    /// Starts (`Some`) or stops handing `session`'s packets to a recording,
    /// as the room does when both participants consented.
    pub fn record(&mut self, now: Instant, session: SessionId, tap: Option<RecordTap>) {
        self.engine
            .handle_command(now, Command::Record { session, tap });
    }

    /// `role` in `session` turns low-bandwidth mode on or off, as its page
    /// asks.
    pub fn set_low_bandwidth(&mut self, now: Instant, session: SessionId, role: Role, on: bool) {
        let key = PeerKey { session, role };
        self.engine
            .handle_command(now, Command::LowBandwidth { key, on });
    }
}
