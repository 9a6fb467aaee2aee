//! Where the media loop's datagrams come from: its own socket when it is
//! the only or the first shard (the front, `media::front`), else the
//! front's queue.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::Engine;
use super::recv_buffer::ReceiveBuffer;
use super::udp_batch::{BatchReceiver, RECV_BATCH};
use crate::media::front::{Dispatch, HandOver};

/// A datagram and who sent it.
pub(in crate::media) type Datagram = (SocketAddr, BytesMut);

pub(in crate::media) enum DatagramSource {
    /// The loop reads the socket itself, in batches; as the first of
    /// several shards, it hands the others their datagrams (`dispatch`).
    Socket {
        socket: Arc<UdpSocket>,
        batch: BatchReceiver,
        rx: ReceiveBuffer,
        dispatch: Option<Dispatch>,
    },
    /// The front (the first shard) hands this shard its datagrams.
    Front(mpsc::Receiver<Datagram>),
    /// The front is gone: nothing more arrives.
    Closed,
}

/// What woke the loop.
pub(super) enum Ready {
    Socket,
    Datagram(Datagram),
    Closed,
}

impl DatagramSource {
    /// Waits for input; cancel-safe (nothing is taken until it is ready).
    pub(super) async fn ready(&mut self) -> std::io::Result<Ready> {
        match self {
            DatagramSource::Socket { socket, .. } => {
                socket.readable().await.map(|()| Ready::Socket)
            }
            DatagramSource::Front(rx) => Ok(rx.recv().await.map_or(Ready::Closed, Ready::Datagram)),
            DatagramSource::Closed => std::future::pending().await,
        }
    }
}

impl Engine {
    /// Handles what woke the loop, and what else is already waiting, up to
    /// [`RECV_BATCH`] datagrams, before the loop polls its other sources
    /// again: under load one wake-up serves many datagrams, and timer
    /// deadlines are read once per batch.
    pub(super) fn take_input(&mut self, input: &mut DatagramSource, ready: Ready) {
        let now = Instant::now();
        match (ready, &mut *input) {
            (
                Ready::Socket,
                DatagramSource::Socket {
                    socket,
                    batch,
                    rx,
                    dispatch,
                },
            ) => {
                if let Some(dispatch) = dispatch.as_mut() {
                    dispatch.take_changes();
                }
                let own = self.routes.shard();
                let read = batch.recv(socket, |from, datagram| {
                    if let Some(dispatch) = dispatch.as_mut() {
                        match dispatch.hand_over(own, from, datagram, |d| rx.copy(d)) {
                            HandOver::Mine => {}
                            HandOver::Given => return,
                            HandOver::Dropped => {
                                self.stats.counters.shard_queue_full += 1;
                                return;
                            }
                        }
                    }
                    self.handle_datagram(now, from, rx.copy(datagram));
                });
                match read {
                    Ok(_) => {}
                    // Readiness was stale: nothing waiting after all.
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    // ICMP errors from a vanished peer surface here; the
                    // socket itself is fine.
                    Err(e) => tracing::debug!(error = %e, "media socket receive error"),
                }
            }
            (Ready::Datagram((from, data)), DatagramSource::Front(rx)) => {
                self.handle_datagram(now, from, data);
                for _ in 1..RECV_BATCH {
                    match rx.try_recv() {
                        Ok((from, data)) => self.handle_datagram(now, from, data),
                        Err(_) => break,
                    }
                }
            }
            (Ready::Closed, _) => {
                tracing::error!("the media front stopped: this shard receives nothing more");
                *input = DatagramSource::Closed;
            }
            _ => {}
        }
    }
}
