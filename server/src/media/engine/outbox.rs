//! What the engine's connections produced to send over UDP, until the loop
//! that owns the socket sends it at the end of its turn, in batches
//! (`Engine::run`, `udp_batch::send_all`), or the caller takes it (the
//! in-process benchmark and virtual-time tests drive the engine without
//! sockets, see `media::inproc`). The engine itself never touches a
//! socket.

use std::net::SocketAddr;

use bytes::BytesMut;

/// Datagrams waiting to leave: (destination, datagram).
pub(super) struct Outbox {
    datagrams: Vec<(SocketAddr, BytesMut)>,
}

impl Outbox {
    pub(super) fn new() -> Outbox {
        Outbox {
            datagrams: Vec::with_capacity(256),
        }
    }

    /// Queues one datagram to send at the end of the turn.
    pub(super) fn push(&mut self, to: SocketAddr, datagram: BytesMut) {
        self.datagrams.push((to, datagram));
    }

    /// What waits to be sent, for the socket loop (which empties it).
    pub(super) fn queued(&mut self) -> &mut Vec<(SocketAddr, BytesMut)> {
        &mut self.datagrams
    }
}

/// For `media::inproc`, which drives the engine without a socket.
impl super::Engine {
    /// Moves what was sent since the last call into `out`.
    pub(in crate::media) fn take_sent(&mut self, out: &mut Vec<(SocketAddr, BytesMut)>) {
        out.append(self.outbox.queued());
    }

    pub(in crate::media) fn counters(&self) -> super::Counters {
        self.stats.counters
    }
}
