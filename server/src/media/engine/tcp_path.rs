//! The media loop's ICE-TCP entry: events from connection tasks in (what
//! goes out is queued on each connection's writer by `Engine::write_out`).

use std::time::Instant;

use tokio::sync::mpsc;

use super::Engine;
use crate::media::tcp::TcpEvent;

impl Engine {
    /// Routes a new connection and feeds it its first binding request,
    /// feeds a packet to its connection's peer, or forgets a closed one.
    pub(super) fn handle_tcp(&mut self, now: Instant, event: TcpEvent) {
        let (key, peer_addr, data) = match event {
            TcpEvent::Opened(opened) => {
                let peer_addr = opened.peer;
                match self.tcp.open(now, opened, self.routes.by_ufrag()) {
                    Ok((key, first)) => {
                        tracing::debug!(peer = %peer_addr, "ICE-TCP connection routed");
                        (key, peer_addr, first)
                    }
                    Err(e) => {
                        self.stats.counters.tcp_refused += 1;
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
        self.stats.counters.tcp_packets_in += 1;
        if let Some(transport) = self.tcp.transport(peer_addr) {
            self.feed(now, key, transport, data);
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
