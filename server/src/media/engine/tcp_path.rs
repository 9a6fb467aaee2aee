//! The media loop's ICE-TCP entry and exit: events from connection tasks
//! in, packets to their writer queues out.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::BytesMut;
use tokio::sync::mpsc;

use super::Engine;
use super::tcp_conns::Sent;
use crate::media::PeerKey;
use crate::media::tcp::TcpEvent;

impl Engine {
    /// Routes a new connection and feeds it its first binding request,
    /// feeds a packet to its connection's peer, or forgets a closed one.
    pub(super) fn handle_tcp(&mut self, now: Instant, event: TcpEvent) {
        let (key, peer_addr, data) = match event {
            TcpEvent::Opened(opened) => {
                let peer_addr = opened.peer;
                match self.tcp.open(now, opened, &self.by_ufrag) {
                    Ok((key, first)) => {
                        tracing::debug!(peer = %peer_addr, "ICE-TCP connection routed");
                        (key, peer_addr, first)
                    }
                    Err(e) => {
                        self.counters.tcp_refused += 1;
                        tracing::debug!(peer = %peer_addr, reason = %e, "ICE-TCP connection refused");
                        return;
                    }
                }
            }
            TcpEvent::Packet { peer, id, data } => match self.tcp.route(peer, id) {
                Some(key) => (key, peer, data),
                None => return,
            },
            TcpEvent::Closed { peer, id } => {
                self.tcp.close(peer, id);
                return;
            }
        };
        self.counters.tcp_packets_in += 1;
        if let Some(transport) = self.tcp.transport(peer_addr) {
            self.feed(now, key, transport, data);
        }
    }

    /// Queues a packet on a TCP connection; a full queue drops it.
    pub(super) fn send_tcp(&mut self, key: PeerKey, to: SocketAddr, packet: BytesMut) {
        if self.tcp.send(key, to, packet) == Sent::Dropped {
            self.counters.tcp_dropped += 1;
        }
    }
}

/// The next ICE-TCP event; never, when ICE-TCP is off or has stopped.
pub(super) async fn next_tcp_event(
    events: &mut Option<mpsc::Receiver<TcpEvent>>,
) -> Option<TcpEvent> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}
