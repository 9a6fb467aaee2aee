//! ICE over TCP (RFC 6544, passive side): the one listening socket and a
//! task per connection, outside the media loop.
//!
//! Each connection task unframes what arrives (RFC 4571: a two-byte length
//! before every packet) and hands packets to the media loop as
//! [`TcpEvent`]s; the loop answers by queueing packets on the connection's
//! bounded writer queue, never by writing to the socket itself. The loop
//! decides which peer connection a TCP connection belongs to (by the
//! USERNAME of its first binding request) and when it is proven.
//!
//! Hostile input is cheap to refuse: at most [`MAX_UNPROVEN`] connections
//! may exist before ICE has answered one of their binding requests, a
//! connection must open with a binding request within [`HANDSHAKE`], frames
//! are at most [`MAX_FRAME`] bytes, and anything that is not STUN, DTLS or
//! RTP closes the connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use rtc::shared::tcp_framing::{FRAMING_HEADER_LEN, frame_packet_to};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::demux;

/// Connections that have not yet been answered by ICE (so have not shown
/// they know a connection's password). More are refused at accept.
pub(super) const MAX_UNPROVEN: usize = 64;
/// How long a new connection has to send its first binding request.
pub(super) const HANDSHAKE: Duration = Duration::from_secs(5);
/// Larger than any packet WebRTC sends on a 1500-byte path, with room to
/// spare; a bigger frame is not media.
pub(super) const MAX_FRAME: usize = 8 * 1024;
/// Packets queued toward one connection; beyond this the media loop drops
/// (media tolerates loss; a stalled loop would hurt every call).
pub(super) const WRITE_QUEUE: usize = 256;
/// A connection whose socket accepts nothing for this long is dead.
const WRITE_STALL: Duration = Duration::from_secs(10);
/// Bytes gathered from the queue into one write.
const WRITE_BATCH: usize = 32 * 1024;
/// Frames are read into blocks this large and split off them.
const READ_BLOCK: usize = 64 * 1024;
/// Bound on events waiting for the media loop; readers wait when it is full.
pub(super) const EVENT_QUEUE: usize = 1024;

/// What connection tasks tell the media loop. `id` tells a connection from
/// an earlier one from the same address.
pub(super) enum TcpEvent {
    Opened(Opened),
    Packet {
        peer: SocketAddr,
        id: u64,
        data: BytesMut,
    },
    Closed {
        peer: SocketAddr,
        id: u64,
    },
}

/// A connection that opened with a binding request carrying a USERNAME.
pub(super) struct Opened {
    pub peer: SocketAddr,
    pub id: u64,
    pub first: BytesMut,
    /// Dropping it closes the connection (after what is queued is written).
    pub writer: mpsc::Sender<BytesMut>,
    /// Counts against [`MAX_UNPROVEN`] until ICE answers on the connection.
    pub permit: OwnedSemaphorePermit,
}

#[derive(Debug, thiserror::Error)]
pub(super) enum FrameError {
    #[error("frame of {0} bytes")]
    Size(usize),
    #[error("connection closed in the middle of a frame")]
    Truncated,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Where each connection's events go: the media loop of the shard its
/// first binding request names (`media::shard`), shard 0 when it names
/// none (which refuses it, as it knows no such ufrag).
#[derive(Clone)]
pub(super) struct TcpRoutes(Arc<[mpsc::Sender<TcpEvent>]>);

impl TcpRoutes {
    pub(super) fn new(shards: Vec<mpsc::Sender<TcpEvent>>) -> TcpRoutes {
        TcpRoutes(shards.into())
    }

    fn for_first(&self, first: &[u8]) -> Option<&mpsc::Sender<TcpEvent>> {
        let shard = demux::stun_local_ufrag(first)
            .and_then(|ufrag| super::shard::of_ufrag(ufrag, self.0.len()))
            .unwrap_or(0);
        self.0.get(shard)
    }

    /// Resolves once the media loops have stopped.
    async fn closed(&self) {
        for events in self.0.iter() {
            events.closed().await;
        }
    }
}

/// Accepts ICE-TCP connections until the media loops stop.
pub(super) fn spawn_acceptor(listener: TcpListener, routes: TcpRoutes) {
    tokio::spawn(accept_loop(listener, routes));
}

async fn accept_loop(listener: TcpListener, routes: TcpRoutes) {
    let unproven = Arc::new(Semaphore::new(MAX_UNPROVEN));
    let mut next_id = 0u64;
    loop {
        let accepted = tokio::select! {
            _ = routes.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, or a connection reset before
                // accept: pause so the loop cannot spin.
                tracing::debug!(error = %e, "ICE-TCP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&unproven).try_acquire_owned() else {
            tracing::debug!(%peer, "ICE-TCP connection refused: too many unproven connections");
            continue;
        };
        // Small packets must not wait for Nagle.
        let _ = stream.set_nodelay(true);
        next_id += 1;
        tokio::spawn(serve(stream, peer, next_id, routes.clone(), permit));
    }
}

async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    routes: TcpRoutes,
    permit: OwnedSemaphorePermit,
) {
    let (read, write) = stream.into_split();
    let mut frames = FrameReader::new(read);
    let refused = match tokio::time::timeout(HANDSHAKE, frames.next()).await {
        Ok(Ok(Some(first)))
            if demux::is_binding_request(&first) && demux::stun_local_ufrag(&first).is_some() =>
        {
            Ok(first)
        }
        Ok(Ok(Some(_))) => Err("did not open with a binding request".to_owned()),
        Ok(Ok(None)) => Err("closed by the client".to_owned()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no binding request in time".to_owned()),
    };
    let first = match refused {
        Ok(first) => first,
        Err(reason) => {
            tracing::debug!(%peer, %reason, "ICE-TCP connection closed before routing");
            return;
        }
    };
    let Some(events) = routes.for_first(&first).cloned() else {
        return;
    };
    let (writer, queue) = mpsc::channel(WRITE_QUEUE);
    let mut writing = tokio::spawn(write_frames(write, queue));
    let opened = Opened {
        peer,
        id,
        first,
        writer,
        permit,
    };
    if events.send(TcpEvent::Opened(opened)).await.is_err() {
        writing.abort();
        return;
    }
    loop {
        tokio::select! {
            frame = frames.next() => match frame {
                Ok(Some(data)) if demux::is_media_plane_packet(&data) => {
                    if events.send(TcpEvent::Packet { peer, id, data }).await.is_err() {
                        break;
                    }
                }
                Ok(Some(_)) => {
                    tracing::debug!(%peer, "ICE-TCP connection closed: not STUN, DTLS or RTP");
                    break;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "ICE-TCP connection closed");
                    break;
                }
            },
            // The media loop let go of the connection (peer removed,
            // refused, timed out) or the socket failed to take writes.
            _ = &mut writing => break,
        }
    }
    let _ = events.send(TcpEvent::Closed { peer, id }).await;
    writing.abort();
}

/// Writes queued packets, framed, batching what is already queued into one
/// write. Returns when the queue closes (after writing what it held) or
/// the socket fails or stalls; dropping the write half sends FIN.
async fn write_frames(mut socket: OwnedWriteHalf, mut queue: mpsc::Receiver<BytesMut>) {
    let mut out = Vec::with_capacity(WRITE_BATCH);
    while let Some(packet) = queue.recv().await {
        out.clear();
        push_frame(&mut out, &packet);
        while out.len() < WRITE_BATCH {
            match queue.try_recv() {
                Ok(packet) => push_frame(&mut out, &packet),
                Err(_) => break,
            }
        }
        match tokio::time::timeout(WRITE_STALL, socket.write_all(&out)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}

/// Appends `packet` with its RFC 4571 length to `out`; a packet too large
/// to frame is skipped (the media loop never queues one).
fn push_frame(out: &mut Vec<u8>, packet: &[u8]) {
    let start = out.len();
    out.resize(start + FRAMING_HEADER_LEN + packet.len(), 0);
    if frame_packet_to(packet, &mut out[start..]).is_none() {
        out.truncate(start);
    }
}

/// Reads RFC 4571 frames. rtc's `TcpFrameDecoder` copies every packet out
/// of its buffer and cannot refuse an oversized frame before buffering it;
/// this reads into large blocks and splits each frame off without copying,
/// as the UDP path does with datagrams.
struct FrameReader<R> {
    io: R,
    buf: BytesMut,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    fn new(io: R) -> Self {
        FrameReader {
            io,
            buf: BytesMut::new(),
        }
    }

    /// The next frame's packet; `None` at a clean end of stream. Cancel-safe:
    /// bytes read stay in the buffer.
    async fn next(&mut self) -> Result<Option<BytesMut>, FrameError> {
        loop {
            if let Some(frame) = split_frame(&mut self.buf)? {
                return Ok(Some(frame));
            }
            if self.buf.capacity() - self.buf.len() < FRAMING_HEADER_LEN + MAX_FRAME {
                self.buf.reserve(READ_BLOCK);
            }
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(FrameError::Truncated)
                };
            }
        }
    }
}

/// Splits one whole frame's packet off the front of `buf`, if there is one.
pub(super) fn split_frame(buf: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
    if buf.len() < FRAMING_HEADER_LEN {
        return Ok(None);
    }
    let len = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
    if len == 0 || len > MAX_FRAME {
        return Err(FrameError::Size(len));
    }
    if buf.len() < FRAMING_HEADER_LEN + len {
        return Ok(None);
    }
    buf.advance(FRAMING_HEADER_LEN);
    Ok(Some(buf.split_to(len)))
}

#[cfg(test)]
mod tests;
