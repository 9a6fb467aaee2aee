//! The media loop's view of ICE-TCP connections: which peer connection
//! each belongs to, and its writer queue. Kept apart from the UDP maps
//! (`by_addr`, `by_probe`): a TCP connection is routed once, when it opens,
//! and an address means a different thing on each transport.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::shared::tcp_framing::MAX_FRAMED_PACKET_SIZE;
use rtc::shared::{TransportContext, TransportProtocol};
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use crate::media::PeerKey;
use crate::media::demux;
use crate::media::tcp::{HANDSHAKE, Opened};

/// TCP connections one peer connection may hold (one per local address a
/// client dials from, and a spare for reconnects).
const MAX_PER_PEER: usize = 8;
/// How often unproven connections are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

struct TcpConn {
    id: u64,
    key: PeerKey,
    writer: mpsc::Sender<BytesMut>,
    /// Until ICE answers a binding request on this connection (it checked
    /// MESSAGE-INTEGRITY first): the permit and when the connection opened.
    unproven: Option<(OwnedSemaphorePermit, Instant)>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum Refused {
    #[error("no peer connection has this ufrag")]
    UnknownUfrag,
    #[error("the peer connection has too many TCP connections")]
    TooMany,
}

/// Whether a packet bound for a TCP connection was queued.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Sent {
    Queued,
    /// The queue is full (or the packet too large to frame): dropped.
    Dropped,
    /// No such connection (e.g. a client's `tcptype active` candidate,
    /// which nothing can be sent to).
    NoConnection,
}

pub(super) struct TcpConns {
    /// `advertised IP:TCP port`: the local candidate's address, which every
    /// packet must claim to arrive on. `None` when ICE-TCP is off.
    local: Option<SocketAddr>,
    /// By the client's address: with one listening socket, the client's
    /// address alone identifies a connection.
    conns: HashMap<SocketAddr, TcpConn>,
    next_sweep: Instant,
}

impl TcpConns {
    pub(super) fn new(local: Option<SocketAddr>) -> TcpConns {
        TcpConns {
            local,
            conns: HashMap::new(),
            next_sweep: Instant::now(),
        }
    }

    /// The ICE-TCP candidate's address, when ICE-TCP is on.
    pub(super) fn local(&self) -> Option<SocketAddr> {
        self.local
    }

    /// Routes a new connection by its first binding request's USERNAME.
    /// On success, gives the peer and the request to feed it.
    pub(super) fn open(
        &mut self,
        now: Instant,
        opened: Opened,
        by_ufrag: &HashMap<String, PeerKey>,
    ) -> Result<(PeerKey, BytesMut), Refused> {
        let key = demux::stun_local_ufrag(&opened.first)
            .and_then(|ufrag| by_ufrag.get(ufrag))
            .copied()
            .ok_or(Refused::UnknownUfrag)?;
        if self.conns.values().filter(|c| c.key == key).count() >= MAX_PER_PEER {
            return Err(Refused::TooMany);
        }
        // Replaces a connection from the same address whose close has not
        // arrived yet; its `Closed` then carries another id and is ignored.
        self.conns.insert(
            opened.peer,
            TcpConn {
                id: opened.id,
                key,
                writer: opened.writer,
                unproven: Some((opened.permit, now)),
            },
        );
        Ok((key, opened.first))
    }

    /// The peer a packet from connection `id` at `peer` goes to.
    pub(super) fn route(&self, peer: SocketAddr, id: u64) -> Option<PeerKey> {
        self.conns.get(&peer).filter(|c| c.id == id).map(|c| c.key)
    }

    /// How a packet from `peer` is handed to its peer connection: as
    /// received on the TCP candidate's address.
    pub(super) fn transport(&self, peer: SocketAddr) -> Option<TransportContext> {
        Some(TransportContext {
            local_addr: self.local?,
            peer_addr: peer,
            ecn: None,
            transport_protocol: TransportProtocol::TCP,
        })
    }

    pub(super) fn close(&mut self, peer: SocketAddr, id: u64) {
        if self.conns.get(&peer).is_some_and(|c| c.id == id) {
            self.conns.remove(&peer);
        }
    }

    /// Queues `packet` from `key`'s connection toward `to`, never waiting.
    pub(super) fn send(&mut self, key: PeerKey, to: SocketAddr, packet: BytesMut) -> Sent {
        let Some(conn) = self.conns.get_mut(&to).filter(|c| c.key == key) else {
            return Sent::NoConnection;
        };
        if packet.len() > MAX_FRAMED_PACKET_SIZE {
            return Sent::Dropped;
        }
        // A binding success: ICE checked this connection's request, so it
        // no longer counts as unproven.
        if conn.unproven.is_some() && packet.starts_with(&[0x01, 0x01]) {
            conn.unproven = None;
        }
        match conn.writer.try_send(packet) {
            Ok(()) => Sent::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => Sent::Dropped,
            // The connection task has ended; its `Closed` is on the way.
            Err(mpsc::error::TrySendError::Closed(_)) => Sent::NoConnection,
        }
    }

    /// Closes every connection of a removed peer (after what is queued,
    /// such as DTLS close_notify, is written).
    pub(super) fn remove_peer(&mut self, key: PeerKey) {
        self.conns.retain(|_, c| c.key != key);
    }

    /// Closes connections ICE has not answered within [`HANDSHAKE`] of
    /// opening: a forged or stale USERNAME, or a client that gave up.
    pub(super) fn sweep(&mut self, now: Instant) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + SWEEP_EVERY;
        self.conns.retain(|peer, c| {
            let keep = c
                .unproven
                .as_ref()
                .is_none_or(|(_, opened)| now.saturating_duration_since(*opened) < HANDSHAKE);
            if !keep {
                tracing::debug!(%peer, "ICE-TCP connection closed: ICE never answered it");
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests;
