//! The light peers' media loop: one OS thread running one task that owns every light peer's
//! sans-IO connection (`rtc`'s `RTCPeerConnection`, with `rtc`'s default interceptors as the
//! webrtc peers have), its UDP socket (Duet tells peers apart by address), its timers and
//! its media. It works in passes at most [`TICK`] apart (see [`run`]): what arrived on any
//! socket, the timers due (a heap of each peer's `rtc` deadline and its next media tick),
//! then one flush per peer touched. Each peer is a [`Peer`] (`conn.rs`). Signaling stays
//! async per peer (`LightPeer`) and talks to the loop by [`Command`]s; what the run
//! measures is read from each peer's [`PeerShared`] without going through the loop.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use bytes::BytesMut;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtp;
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tokio::net::UdpSocket;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};

use super::conn::{Peer, PeerShared, new_peer};
use super::media::AUDIO_TICK;
use crate::feedback::is_keyframe_request;
use crate::stats::MediaKind;

/// The most the loop sleeps between two passes.
const TICK: Duration = Duration::from_millis(1);
/// Datagrams read from one socket per pass at most, so one busy peer cannot hold up the
/// others (the socket stays ready and is read again in the next pass).
const READS_PER_PASS: usize = 64;
/// Room for one datagram: more than any on a 1500-byte MTU path.
const MAX_DATAGRAM: usize = 2048;
/// How far a deadline `rtc` still reports as passed after it was handled is put off: a
/// guard against spinning on one that does not move.
const STUCK_DEADLINE: Duration = Duration::from_millis(1);

/// A new peer: its id in the loop, what it shares, and its offer.
pub(crate) struct Added {
    pub(crate) id: usize,
    pub(crate) shared: Arc<PeerShared>,
    pub(crate) offer: String,
}

/// What the signaling side asks of the loop.
enum Command {
    /// A new peer sending `fixture`: socket, connection, tracks, host candidate, offer.
    Add {
        fixture: &'static str,
        reply: oneshot::Sender<anyhow::Result<Added>>,
    },
    /// The server's answer to the peer's offer.
    Answer {
        id: usize,
        sdp: String,
        reply: oneshot::Sender<anyhow::Result<()>>,
    },
    /// A candidate the server trickled (held until the answer is applied).
    Candidate {
        id: usize,
        candidate: RTCIceCandidateInit,
    },
    /// Closes the connection and forgets the peer.
    Close { id: usize },
}

/// Datagrams the loop failed to send: lost by the tool, not by Duet.
#[derive(Default)]
pub(crate) struct SendErrors {
    count: AtomicU64,
    /// The first one, to say what it was.
    first: Mutex<Option<String>>,
}

impl SendErrors {
    fn record(&self, to: SocketAddr, err: &io::Error) {
        if self.count.fetch_add(1, Ordering::Relaxed) == 0
            && let Ok(mut first) = self.first.lock()
        {
            *first = Some(format!("to {to}: {err}"));
        }
    }

    /// How many, and the first.
    pub(crate) fn get(&self) -> (u64, Option<String>) {
        let first = self.first.lock().ok().and_then(|f| f.clone());
        (self.count.load(Ordering::Relaxed), first)
    }
}

/// The handle to the media loop; the loop (and its thread) ends when the last handle is
/// dropped.
#[derive(Clone)]
pub(crate) struct LightDriver {
    tx: mpsc::UnboundedSender<Command>,
    send_errors: Arc<SendErrors>,
}

impl LightDriver {
    /// Starts the loop on its own thread.
    pub(crate) fn start() -> anyhow::Result<LightDriver> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the light peers' runtime")?;
        let (tx, rx) = mpsc::unbounded_channel();
        let send_errors = Arc::new(SendErrors::default());
        let errors = Arc::clone(&send_errors);
        std::thread::Builder::new()
            .name("duet-load-media".to_owned())
            .spawn(move || runtime.block_on(run(rx, errors)))
            .context("starting the light peers' thread")?;
        Ok(LightDriver { tx, send_errors })
    }

    fn send(&self, command: Command) -> anyhow::Result<()> {
        self.tx
            .send(command)
            .map_err(|_| anyhow!("the light peers' media loop has stopped"))
    }

    /// A new peer sending the clip `fixture`, with its offer.
    pub(crate) async fn add(&self, fixture: &'static str) -> anyhow::Result<Added> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Add { fixture, reply })?;
        rx.await
            .map_err(|_| anyhow!("the media loop dropped the request"))?
    }

    /// Applies the server's answer to peer `id`'s offer.
    pub(crate) async fn answer(&self, id: usize, sdp: String) -> anyhow::Result<()> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Answer { id, sdp, reply })?;
        rx.await
            .map_err(|_| anyhow!("the media loop dropped the request"))?
    }

    /// A server candidate for peer `id`.
    pub(crate) fn candidate(&self, id: usize, candidate: RTCIceCandidateInit) {
        let _ = self.send(Command::Candidate { id, candidate });
    }

    /// Closes peer `id` (again is fine).
    pub(crate) fn close(&self, id: usize) {
        let _ = self.send(Command::Close { id });
    }

    /// Datagrams the loop could not send, and the first error.
    pub(crate) fn send_errors(&self) -> (u64, Option<String>) {
        self.send_errors.get()
    }
}

/// What a timer entry is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// The connection's own deadline (`poll_timeout`).
    Rtc,
    /// The next audio packet or video frame, whichever is due first.
    Media,
}

/// Every peer, the timer heap and the receive block.
struct MediaLoop {
    peers: Vec<Option<Peer>>,
    timers: BinaryHeap<Reverse<(Instant, usize, Timer)>>,
    /// Peers to flush at the end of the pass.
    dirty: Vec<usize>,
    /// What a datagram is read into, then copied out of at its size. Not a large block
    /// that datagrams are split off: a fresh one every few hundred datagrams costs a page
    /// fault per 4 KiB as the kernel fills it, far more than the copy.
    scratch: Box<[u8; MAX_DATAGRAM]>,
    /// Reused for a video frame's packets.
    frame: Vec<rtp::Packet>,
    send_errors: Arc<SendErrors>,
}

async fn readable(socket: Arc<UdpSocket>, id: usize) -> (usize, Arc<UdpSocket>) {
    // An error (never seen on UDP) reads as readable; the read then says what it is.
    let _ = socket.readable().await;
    (id, socket)
}

/// The loop: passes at most [`TICK`] apart. A pass runs the commands that came, reads every
/// socket that became readable, fires the timers due, then flushes each peer that any of it
/// touched once (one drain of its datagrams, one look at its deadline). Between passes the
/// thread sleeps, whatever arrives, until the next timer or the next tick, then lets the
/// runtime collect the sockets' readiness in one go: under load that is one wake-up for many
/// datagrams instead of one each.
async fn run(mut rx: mpsc::UnboundedReceiver<Command>, send_errors: Arc<SendErrors>) {
    let mut lp = MediaLoop {
        peers: Vec::new(),
        timers: BinaryHeap::new(),
        dirty: Vec::new(),
        scratch: Box::new([0; MAX_DATAGRAM]),
        frame: Vec::new(),
        send_errors,
    };
    let mut sockets = FuturesUnordered::new();
    let mut again = Vec::new();
    loop {
        loop {
            match rx.try_recv() {
                Ok(command) => {
                    if let Some((id, socket)) = lp.command(command) {
                        sockets.push(readable(socket, id));
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    for peer in lp.peers.iter_mut().flatten() {
                        let _ = peer.pc.close();
                    }
                    return;
                }
            }
        }
        while let Some(Some((id, socket))) = sockets.next().now_or_never() {
            if lp.read(id, &socket) {
                again.push((id, socket));
            }
        }
        // Waited on again from the next pass: a socket left readable (a full batch) must
        // not keep this one going.
        for (id, socket) in again.drain(..) {
            sockets.push(readable(socket, id));
        }
        let now = Instant::now();
        lp.fire_timers(now);
        lp.flush_dirty(now);

        let wake = lp.next_timer().map_or(now + TICK, |at| at.min(now + TICK));
        let left = wake.saturating_duration_since(Instant::now());
        if !left.is_zero() {
            std::thread::sleep(left);
        }
        // The runtime polls its IO driver (without waiting) before it resumes this task.
        tokio::task::yield_now().await;
    }
}

impl MediaLoop {
    fn next_timer(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Peer `id` is to be flushed at the end of the pass; `stirred` as [`Peer::stirred`].
    fn mark(dirty: &mut Vec<usize>, id: usize, peer: &mut Peer, stirred: bool) {
        peer.stirred |= stirred;
        if !std::mem::replace(&mut peer.dirty, true) {
            dirty.push(id);
        }
    }

    /// Runs a command; a new peer's socket comes back to be waited on.
    fn command(&mut self, command: Command) -> Option<(usize, Arc<UdpSocket>)> {
        let now = Instant::now();
        match command {
            Command::Add { fixture, reply } => {
                let id = self.peers.len();
                match new_peer(now, fixture) {
                    Ok((mut peer, offer)) => {
                        let socket = Arc::clone(&peer.socket);
                        let shared = Arc::clone(&peer.shared);
                        Self::mark(&mut self.dirty, id, &mut peer, true);
                        self.peers.push(Some(peer));
                        let _ = reply.send(Ok(Added { id, shared, offer }));
                        return Some((id, socket));
                    }
                    Err(err) => {
                        let _ = reply.send(Err(err));
                    }
                }
            }
            Command::Answer { id, sdp, reply } => {
                let result = match self.peers.get_mut(id).and_then(Option::as_mut) {
                    Some(peer) => {
                        Self::mark(&mut self.dirty, id, peer, true);
                        peer.apply_answer(now, sdp)
                    }
                    None => Err(anyhow!("no light peer {id}")),
                };
                let _ = reply.send(result);
            }
            Command::Candidate { id, candidate } => {
                if let Some(peer) = self.peers.get_mut(id).and_then(Option::as_mut) {
                    Self::mark(&mut self.dirty, id, peer, true);
                    if peer.answered {
                        if let Err(err) = peer.pc.add_remote_candidate(candidate) {
                            tracing::warn!("light peer {id}: a server candidate: {err}");
                        }
                    } else {
                        peer.pending_candidates.push(candidate);
                    }
                }
            }
            Command::Close { id } => {
                if let Some(mut peer) = self.peers.get_mut(id).and_then(Option::take) {
                    let _ = peer.pc.close();
                    // Whatever the close queued (DTLS close_notify) goes out now.
                    while let Some(out) = peer.pc.poll_write() {
                        let _ = peer
                            .socket
                            .try_send_to(&out.message, out.transport.peer_addr);
                    }
                }
            }
        }
        None
    }

    /// Hands what peer `id`'s socket holds to its connection; false once the peer is gone
    /// (its socket is then no longer waited on).
    fn read(&mut self, id: usize, socket: &UdpSocket) -> bool {
        let now = Instant::now();
        let Some(peer) = self.peers.get_mut(id).and_then(Option::as_mut) else {
            return false;
        };
        for _ in 0..READS_PER_PASS {
            match socket.try_recv_from(&mut self.scratch[..]) {
                Ok((n, from)) => {
                    let message = BytesMut::from(&self.scratch[..n]);
                    let msg = TaggedBytesMut {
                        now,
                        transport: TransportContext {
                            local_addr: peer.local,
                            peer_addr: from,
                            ecn: None,
                            transport_protocol: TransportProtocol::UDP,
                        },
                        message,
                    };
                    if let Err(err) = peer.pc.handle_read(msg) {
                        tracing::debug!("light peer {id}: a datagram: {err}");
                    }
                    Self::mark(&mut self.dirty, id, peer, true);
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) => {
                    tracing::debug!("light peer {id}: reading: {err}");
                    break;
                }
            }
        }
        true
    }

    /// Runs every timer due at `now`.
    fn fire_timers(&mut self, now: Instant) {
        while let Some(&Reverse((at, id, timer))) = self.timers.peek() {
            if at > now {
                return;
            }
            self.timers.pop();
            let Some(peer) = self.peers.get_mut(id).and_then(Option::as_mut) else {
                continue;
            };
            let stirred = match timer {
                Timer::Rtc => {
                    if peer.rtc_armed != Some(at) {
                        continue; // stale: an earlier entry replaced it
                    }
                    peer.rtc_armed = None;
                    if peer.pc.poll_timeout().is_some_and(|t| t <= now) {
                        if let Err(err) = peer.pc.handle_timeout(now) {
                            tracing::debug!("light peer {id}: a timeout: {err}");
                        }
                        peer.timed_out = true;
                    }
                    true
                }
                Timer::Media => {
                    if peer.next_audio <= now {
                        peer.send_audio(now);
                        peer.next_audio += AUDIO_TICK;
                    }
                    if peer.next_video <= now {
                        peer.send_video(now, &mut self.frame);
                        peer.next_video += peer.video.frame_interval();
                    }
                    let next = peer.next_audio.min(peer.next_video);
                    self.timers.push(Reverse((next, id, Timer::Media)));
                    false
                }
            };
            Self::mark(&mut self.dirty, id, peer, stirred);
        }
    }

    fn flush_dirty(&mut self, now: Instant) {
        let mut dirty = std::mem::take(&mut self.dirty);
        for id in dirty.drain(..) {
            self.flush(id, now);
        }
        self.dirty = dirty;
    }

    /// Takes everything peer `id`'s connection has for us: events, received messages and
    /// datagrams to send; then arms its deadline.
    fn flush(&mut self, id: usize, now: Instant) {
        let Some(peer) = self.peers.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        peer.dirty = false;
        let stirred = std::mem::take(&mut peer.stirred);
        let mut connected = false;
        while stirred && let Some(event) = peer.pc.poll_event() {
            match event {
                RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                    connected |= state == RTCPeerConnectionState::Connected;
                    peer.shared.set_state(state);
                }
                RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                    let kind = match usize::from(init.receiver_id) {
                        0 => MediaKind::Audio,
                        1 => MediaKind::Camera,
                        _ => MediaKind::Screen,
                    };
                    peer.tracks.push((init.track_id, kind));
                }
                _ => {}
            }
        }
        while stirred && let Some(msg) = peer.pc.poll_read() {
            match msg.message {
                RTCMessage::RtpPacket(track, packet) => peer.received(&track, &packet),
                RTCMessage::RtcpPacket(_, packets) => {
                    let n = packets
                        .iter()
                        .filter(|p| is_keyframe_request(p.as_ref()))
                        .count() as u64;
                    if n > 0 {
                        peer.video.request_keyframe();
                        peer.shared.count_keyframe_requests(n);
                    }
                }
                _ => {}
            }
        }
        while let Some(out) = peer.pc.poll_write() {
            let to = out.transport.peer_addr;
            if let Err(err) = peer.socket.try_send_to(&out.message, to) {
                self.send_errors.record(to, &err);
            }
        }
        if connected && !peer.media_started {
            // Like the webrtc peers' send loops: the first tick as soon as connected.
            peer.media_started = true;
            peer.next_audio = now;
            peer.next_video = now;
            self.timers.push(Reverse((now, id, Timer::Media)));
        }
        // Writing media moves no deadline earlier: the armed one stands.
        if !stirred && peer.rtc_armed.is_some() {
            return;
        }
        if let Some(mut at) = peer.pc.poll_timeout() {
            if std::mem::take(&mut peer.timed_out) && at <= now {
                at = now + STUCK_DEADLINE;
            }
            if peer.rtc_armed.is_none_or(|armed| at < armed) {
                peer.rtc_armed = Some(at);
                self.timers.push(Reverse((at, id, Timer::Rtc)));
            }
        }
    }
}
