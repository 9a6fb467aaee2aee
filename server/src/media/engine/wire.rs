//! Where the engine's datagrams go: the shared UDP socket, or a list the
//! caller drains (the in-process benchmark and virtual-time tests drive
//! the engine without sockets, see `media::inproc`).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::net::UdpSocket;

pub(in crate::media) enum Wire {
    Udp(Arc<UdpSocket>),
    Memory(Vec<(SocketAddr, BytesMut)>),
}

impl Wire {
    /// Sends one datagram; false when the socket refused it (a full send
    /// buffer, or an error from the network stack).
    pub(super) fn send(&mut self, to: SocketAddr, data: BytesMut) -> bool {
        match self {
            Wire::Udp(socket) => socket.try_send_to(&data, to).is_ok(),
            Wire::Memory(sent) => {
                sent.push((to, data));
                true
            }
        }
    }
}

/// For `media::inproc`, which drives the engine on a `Wire::Memory`.
impl super::Engine {
    /// Moves what was sent since the last call into `out`.
    pub(in crate::media) fn take_sent(&mut self, out: &mut Vec<(SocketAddr, BytesMut)>) {
        if let Wire::Memory(sent) = &mut self.wire {
            out.append(sent);
        }
    }

    pub(in crate::media) fn counters(&self) -> super::Counters {
        self.counters
    }

    pub(in crate::media) fn connections(&self) -> usize {
        self.peers.len()
    }
}
