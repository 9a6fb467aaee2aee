//! Where the engine's datagrams go: the shared UDP socket, or a list the
//! caller drains (the in-process benchmark and virtual-time tests drive
//! the engine without sockets, see `media::inproc`).

use std::net::{SocketAddr, UdpSocket};

use bytes::BytesMut;

pub(in crate::media) enum Wire {
    /// Datagrams wait in `pending` until the loop's turn ends, then leave
    /// in batches (`udp_batch::send_all`), on this engine's own handle of
    /// the media socket.
    Udp {
        socket: UdpSocket,
        pending: Vec<(SocketAddr, BytesMut)>,
    },
    Memory(Vec<(SocketAddr, BytesMut)>),
}

impl Wire {
    pub(in crate::media) fn udp(socket: UdpSocket) -> Wire {
        Wire::Udp {
            socket,
            pending: Vec::with_capacity(256),
        }
    }

    /// Queues one datagram to send at the end of the turn.
    pub(super) fn send(&mut self, to: SocketAddr, data: BytesMut) {
        match self {
            Wire::Udp { pending, .. } => pending.push((to, data)),
            Wire::Memory(sent) => sent.push((to, data)),
        }
    }

    /// Sends what was queued; returns how many datagrams the socket refused
    /// (a full send buffer, or an error from the network stack).
    pub(super) fn flush(&mut self) -> u64 {
        match self {
            Wire::Udp { socket, pending } if !pending.is_empty() => {
                super::udp_batch::send_all(socket, pending)
            }
            _ => 0,
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
}
