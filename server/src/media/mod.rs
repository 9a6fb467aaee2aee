//! The media plane: a selective forwarding unit for 1:1 calls on one UDP
//! port (and one TCP port for ICE-TCP), driving webrtc-rs's sans-IO `rtc`
//! core.
//!
//! - [`engine`]: the loop that owns the socket and every connection.
//! - [`tcp`]: the ICE-TCP listener and its connection tasks, which feed
//!   the loop through a channel.
//! - [`peer`]: building a connection and its fixed three streams.
//! - [`forward`]: forwarding decisions as plain, unit-tested code.
//! - [`bandwidth`]: receiver-driven bitrate caps (loss on the downlink
//!   becomes REMB to the sender), and pausing video to a receiver whose
//!   downlink cannot carry even the lowest cap.
//! - [`audio_loss`]: each sender hears the loss its audio meets end to
//!   end, so its Opus FEC is tuned as in a direct call.
//! - [`red`]: redundant audio (RFC 2198), forwarded as it came or as its
//!   primary Opus frame.
//! - [`nack_history`]: answering NACKs from the last second of each
//!   outbound video stream; [`nack_timer`]: asking for them, woken only
//!   while something may be missing.
//! - [`demux`]: finding a datagram's connection on the shared socket.
//! - [`talk`]: each participant's talk time from the audio-level header
//!   extension, counted on the packet path without decoding.
//!
//! - [`limits`]: bounds on offers and candidates, checked before the loop.
//! - [`ice_filter`]: addresses the server never sends ICE checks to.
//! - [`inproc`]: the engine driven without sockets, in the caller's time
//!   (the in-process benchmark, tests in virtual time).
//! - [`fault`]: test-only ways to make one connection's path panic, or a
//!   session's offer answers slow.
//!
//! Other tasks talk to the loop through [`MediaPlane`], a cheap handle over
//! two channels: a bounded one for what clients ask (offers, candidates,
//! questions), which answers "busy" when full, and one for the server's own
//! few orders (a connection leaving, a recording starting or stopping),
//! which must never be dropped.

mod audio_loss;
pub mod bandwidth;
pub mod demux;
mod engine;
#[doc(hidden)]
pub mod fault;
pub mod forward;
mod front;
pub mod ice_filter;
#[doc(hidden)]
pub mod inproc;
pub mod limits;
pub mod nack_history;
pub mod nack_timer;
mod opus_params;
mod peer;
pub mod placement;
pub mod red;
pub mod rtcp_tap;
pub mod shard;
mod sockbuf;
mod supervise;
pub mod talk;
mod tcp;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fuzz;

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use duet_signaling::protocol::IceCandidate;
use duet_signaling::{ConnId, Role, SessionId};
use tokio::sync::{mpsc, oneshot};

use crate::recorder::tap::RecordTap;

pub use engine::Counters;
pub use ice_filter::IceFilter;
pub use limits::{OfferFacts, OfferRefusal};

/// Client requests waiting for the media loop at most; past this, "busy".
const REQUEST_QUEUE: usize = 256;

/// How long an offer may wait for room in the queue and for its answer: a
/// loop this late is overloaded or stuck, and the client should retry.
const OFFER_WAIT: Duration = Duration::from_secs(10);

/// A participant's link quality, both ways: the loss on what Duet sends
/// them (their receiver reports, less what never reached Duet from the
/// other person), the loss on what they send Duet (gaps Duet sees), and the
/// round trip.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct LinkQuality {
    /// Fraction of packets lost on their downlink, smoothed over windows.
    pub loss: f32,
    /// Fraction of their packets that never reached Duet (after
    /// retransmission), smoothed over windows.
    pub uplink_loss: f32,
    pub rtt_ms: Option<f32>,
    /// Whether any report arrived yet.
    #[serde(skip)]
    pub reported: bool,
    /// Whether Duet holds back the other person's video from this
    /// participant, their downlink being too weak for it
    /// (`bandwidth::video_gate`).
    #[serde(skip)]
    pub video_paused: bool,
    /// Whether their downlink holds the other person's video below what
    /// good video needs (`bandwidth::SLOW_LINK_BPS`).
    #[serde(skip)]
    pub slow: bool,
}

impl LinkQuality {
    /// Folds in one receiver report's round trip.
    pub fn observe_rtt(&mut self, rtt_ms: f32) {
        self.rtt_ms = Some(self.rtt_ms.map_or(rtt_ms, |r| 0.7 * r + 0.3 * rtt_ms));
        self.reported = true;
    }

    /// Folds in one window of loss on their downlink.
    pub fn observe_loss(&mut self, loss: f32) {
        self.loss = if self.reported {
            0.7 * self.loss + 0.3 * loss
        } else {
            loss
        };
        self.reported = true;
    }

    /// Folds in one window of loss on their uplink.
    pub fn observe_uplink(&mut self, loss: f32) {
        self.uplink_loss = 0.5 * self.uplink_loss + 0.5 * loss;
        self.reported = true;
    }

    /// The worse of the two directions: either way, the call suffers.
    pub fn worst_loss(&self) -> f32 {
        self.loss.max(self.uplink_loss)
    }

    /// `good`, `fair`, `poor`, or `unknown` before any report: what an admin
    /// watching a live session needs at a glance.
    pub fn rating(&self) -> &'static str {
        let rtt = self.rtt_ms.unwrap_or(0.0);
        if !self.reported {
            "unknown"
        } else if self.worst_loss() < 0.02 && rtt < 300.0 {
            "good"
        } else if self.worst_loss() < 0.08 && rtt < 600.0 {
            "fair"
        } else {
            "poor"
        }
    }
}

/// One participant's place in one session: the unit the media plane keys
/// connections by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerKey {
    pub session: SessionId,
    pub role: Role,
}

impl PeerKey {
    pub fn other(self) -> PeerKey {
        PeerKey {
            session: self.session,
            role: self.role.other(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("the offer could not be used: {0}")]
    BadOffer(String),
    #[error(transparent)]
    Refused(#[from] OfferRefusal),
    #[error("the media server is busy; try again in a moment")]
    Busy,
    #[error("a newer connection has taken this place")]
    Stale,
    #[error("the media plane has stopped")]
    Stopped,
}

pub(crate) enum Command {
    Offer {
        key: PeerKey,
        conn: ConnId,
        sdp: String,
        reply: oneshot::Sender<Result<String, MediaError>>,
    },
    Candidate {
        key: PeerKey,
        conn: ConnId,
        candidate: IceCandidate,
    },
    Remove {
        key: PeerKey,
        conn: ConnId,
        /// Answered with the connection's talk time in milliseconds
        /// (0 when `conn` is not the current connection).
        talk: Option<oneshot::Sender<u64>>,
    },
    /// Start (`Some`) or stop (`None`) handing a session's packets to a
    /// recorder.
    Record {
        session: SessionId,
        tap: Option<RecordTap>,
    },
    /// Start (`Some`) or stop (`None`) handing one participant's audio to
    /// captions.
    Caption {
        key: PeerKey,
        tap: Option<RecordTap>,
    },
    Counters(oneshot::Sender<Counters>),
    /// The participant asked for low-bandwidth mode (on or off): the other
    /// participant's video sent to them is capped.
    LowBandwidth {
        key: PeerKey,
        on: bool,
    },
    Quality {
        session: SessionId,
        reply: oneshot::Sender<Vec<(Role, LinkQuality)>>,
    },
    Shutdown,
}

/// An offer in the loop's queue: await [`PendingOffer::answer`].
pub struct PendingOffer {
    session: SessionId,
    rx: oneshot::Receiver<Result<String, MediaError>>,
    facts: OfferFacts,
    deadline: tokio::time::Instant,
}

impl PendingOffer {
    /// The server's answer, or `Busy` once [`OFFER_WAIT`] has passed since
    /// the offer was queued (a loop this late is overloaded or stuck).
    pub async fn answer(&mut self) -> Result<(String, OfferFacts), MediaError> {
        if let Some(delay) = fault::answer_delay(self.session) {
            tokio::time::sleep(delay).await;
        }
        let answer = tokio::time::timeout_at(self.deadline, &mut self.rx)
            .await
            .map_err(|_| MediaError::Busy)?
            .map_err(|_| MediaError::Stopped)??;
        Ok((answer, self.facts.clone()))
    }
}

/// The answer to [`MediaPlane::leave`]: the participant and their talk
/// time on the connection in milliseconds, or `None` when the media plane
/// stopped (or the connection failed) before answering.
pub struct TalkReceipt {
    key: PeerKey,
    rx: oneshot::Receiver<u64>,
}

impl Future for TalkReceipt {
    type Output = (PeerKey, Option<u64>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let key = self.key;
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|answer| (key, answer.ok()))
    }
}

/// One media loop's two inboxes, as the handle holds them.
#[derive(Clone)]
struct ShardLink {
    /// Offers, candidates and questions: bounded, so a flood of client
    /// input waits here (or is refused) instead of piling up in memory.
    requests: mpsc::Sender<Command>,
    /// Removals, recording taps and shutdown: a handful per connection and
    /// consent-critical (a stop must land), so never refused.
    control: mpsc::UnboundedSender<Command>,
}

/// A cheap, cloneable handle to the media loops (one per shard, see
/// [`shard`]); each command goes to the shard of its session.
#[derive(Clone)]
pub struct MediaPlane {
    shards: Arc<[ShardLink]>,
    /// Which shard each session is on: taken on the control path only
    /// (commands), never by the packet path.
    placement: Arc<std::sync::Mutex<placement::ShardPlacement>>,
    local_addr: SocketAddr,
    tcp_addr: Option<SocketAddr>,
    advertise_ip: IpAddr,
}

impl MediaPlane {
    /// Starts `shards` media loops behind `socket` (at least one; with
    /// more, the first reads the socket for all of them, see [`front`],
    /// and sessions fill it with `fill_first` calls before spreading, see
    /// [`placement`]),
    /// advertising `ip` in every answer, with `public_port` or else the
    /// socket's own port. With `tcp`, answers also offer a passive ICE-TCP
    /// candidate: `ip` and the listener's own port.
    pub fn start(
        socket: std::net::UdpSocket,
        tcp: Option<std::net::TcpListener>,
        ip: IpAddr,
        public_port: Option<u16>,
        metrics: crate::metrics::MediaMetrics,
        shards: usize,
        fill_first: usize,
    ) -> std::io::Result<MediaPlane> {
        let shards = shards.clamp(1, shard::MAX_SHARDS);
        match sockbuf::enlarge(&socket) {
            Ok(sizes) if sizes.recv < sockbuf::RECV_BUFFER => tracing::warn!(
                granted = sizes.recv,
                wanted = sockbuf::RECV_BUFFER,
                "media socket receive buffer is small: raise net.core.rmem_max \
                 (or run with CAP_NET_ADMIN), or expect drops under load"
            ),
            Ok(sizes) => {
                tracing::debug!(recv = sizes.recv, send = sizes.send, "media socket buffers")
            }
            Err(e) => tracing::warn!(error = %e, "media socket buffers could not be sized"),
        }
        socket.set_nonblocking(true)?;
        let local_addr = socket.local_addr()?;
        let advertise = SocketAddr::new(ip, public_port.unwrap_or(local_addr.port()));
        let mut links = Vec::with_capacity(shards);
        let mut inboxes = Vec::with_capacity(shards);
        for _ in 0..shards {
            let (requests, requests_rx) = mpsc::channel(REQUEST_QUEUE);
            let (control, control_rx) = mpsc::unbounded_channel();
            links.push(ShardLink { requests, control });
            inboxes.push(engine::Inbox {
                control: control_rx,
                requests: requests_rx,
            });
        }
        let (tcp_addr, mut tcp_events) = match tcp {
            Some(listener) => {
                listener.set_nonblocking(true)?;
                let listener = tokio::net::TcpListener::from_std(listener)?;
                let addr = listener.local_addr()?;
                let (senders, receivers): (Vec<_>, Vec<_>) = (0..shards)
                    .map(|_| mpsc::channel(tcp::EVENT_QUEUE))
                    .map(|(tx, rx)| (tx, Some(rx)))
                    .unzip();
                tcp::spawn_acceptor(listener, tcp::TcpRoutes::new(senders));
                (Some(addr), receivers)
            }
            None => (None, (0..shards).map(|_| None).collect()),
        };
        let advertise_tcp = tcp_addr.map(|a| SocketAddr::new(ip, a.port()));
        let placement =
            placement::ShardPlacement::new(shards, fill_first, std::time::Instant::now());
        let plane = MediaPlane {
            shards: links.into(),
            placement: Arc::new(std::sync::Mutex::new(placement)),
            local_addr,
            tcp_addr,
            advertise_ip: ip,
        };
        if shards == 1 {
            // One loop reads the socket itself, on the server's runtime.
            let (inbox, tcp_events) = (inboxes.remove(0), tcp_events.remove(0));
            let output = socket.try_clone()?;
            let socket = Arc::new(tokio::net::UdpSocket::from_std(socket)?);
            let input = engine::DatagramSource::Socket {
                batch: engine::udp_batch::BatchReceiver::new(&socket)?,
                socket,
                rx: engine::ReceiveBuffer::default(),
                dispatch: None,
            };
            let heartbeat = metrics.heartbeat.clone();
            let engine = engine::Engine::new(advertise, advertise_tcp, metrics);
            supervise::spawn(engine.run(input, output, inbox, tcp_events), heartbeat);
            return Ok(plane);
        }
        // Each shard on a thread of its own; the first is the front.
        let (changes, changes_rx) = mpsc::unbounded_channel();
        let mut feeds = vec![None];
        let mut engines = Vec::with_capacity(shards);
        for (index, (inbox, tcp_events)) in inboxes.into_iter().zip(tcp_events).enumerate() {
            let mut metrics = metrics.clone();
            metrics.heartbeat = metrics.heartbeat.child();
            let output = socket.try_clone()?;
            let engine = engine::Engine::new(advertise, advertise_tcp, metrics.clone())
                .into_shard(index, changes.clone());
            let input = if index == 0 {
                None
            } else {
                let (feed, datagrams) = mpsc::channel(front::SHARD_QUEUE);
                feeds.push(Some(feed));
                Some(engine::DatagramSource::Front(datagrams))
            };
            engines.push((
                index,
                engine,
                input,
                output,
                inbox,
                tcp_events,
                metrics.heartbeat,
            ));
        }
        drop(changes);
        // The socket and the routing go to the first shard, the front.
        let mut front = Some((socket, front::Dispatch::new(feeds, changes_rx)));
        for (index, engine, input, output, inbox, tcp_events, heartbeat) in engines {
            let runtime = supervise::runtime()?;
            let input = match (input, front.take()) {
                (Some(input), unused) => {
                    front = unused;
                    input
                }
                (None, Some((socket, dispatch))) => {
                    // Registered with the front's own runtime, which polls it.
                    let _in_runtime = runtime.enter();
                    let socket = Arc::new(tokio::net::UdpSocket::from_std(socket)?);
                    engine::DatagramSource::Socket {
                        batch: engine::udp_batch::BatchReceiver::new(&socket)?,
                        socket,
                        rx: engine::ReceiveBuffer::default(),
                        dispatch: Some(dispatch),
                    }
                }
                (None, None) => engine::DatagramSource::Closed,
            };
            let run = engine.run(input, output, inbox, tcp_events);
            supervise::spawn_thread(format!("duet-media-{index}"), runtime, run, heartbeat)?;
        }
        Ok(plane)
    }

    /// How many media loops (shards) carry the calls.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    fn link(&self, session: SessionId) -> &ShardLink {
        let shard = self
            .placement
            .lock()
            // ShardPlacement is a plain map: a panic elsewhere cannot leave it
            // half-changed.
            .unwrap_or_else(|e| e.into_inner())
            .shard(session, std::time::Instant::now());
        // `start` makes at least one; placement never names one beyond.
        &self.shards[shard.min(self.shards.len() - 1)]
    }

    /// The address put in the server's ICE candidates.
    pub fn advertised_ip(&self) -> IpAddr {
        self.advertise_ip
    }

    /// The deny list `deny` (`media.ice_deny`) as it applies to this plane.
    pub fn ice_filter(&self, deny: &[String]) -> IceFilter {
        IceFilter::new(deny, self.advertise_ip)
    }

    fn request(&self, session: SessionId, cmd: Command) -> Result<(), MediaError> {
        self.link(session)
            .requests
            .try_send(cmd)
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => MediaError::Busy,
                mpsc::error::TrySendError::Closed(_) => MediaError::Stopped,
            })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The ICE-TCP listener's address, when ICE-TCP is on.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

    /// Queues a client's offer for the loop and returns, at once, a
    /// [`PendingOffer`] that yields the server's answer (with its candidates
    /// in it), and what the limits need to know of the offer. The offer is
    /// checked and its denied candidates removed here, in the caller's task,
    /// so nothing oversized reaches the loop.
    ///
    /// Queued before returning, so a candidate handed over after this call
    /// reaches the loop after the offer; not awaited here, so the caller can
    /// keep reading its socket (a revoke must not wait behind an answer).
    /// `Busy` when the queue is full: the client retries the offer.
    pub fn offer(
        &self,
        key: PeerKey,
        conn: ConnId,
        sdp: String,
        filter: &IceFilter,
    ) -> Result<PendingOffer, MediaError> {
        let mut facts = limits::check_offer(&sdp)?;
        let (sdp, denied) = filter.filter_sdp(&sdp);
        facts.candidates = facts.candidates.saturating_sub(denied);
        let (reply, rx) = oneshot::channel();
        self.request(
            key.session,
            Command::Offer {
                key,
                conn,
                sdp,
                reply,
            },
        )?;
        Ok(PendingOffer {
            session: key.session,
            rx,
            facts,
            deadline: tokio::time::Instant::now() + OFFER_WAIT,
        })
    }

    /// Hands a trickled candidate to the loop unless `filter` denies its
    /// address. `Busy` when the loop's queue is full.
    pub fn candidate(
        &self,
        key: PeerKey,
        conn: ConnId,
        candidate: IceCandidate,
        filter: &IceFilter,
    ) -> Result<(), MediaError> {
        if !filter.allows_candidate(&candidate.candidate) {
            tracing::debug!("remote candidate dropped: address not allowed");
            return Ok(());
        }
        self.request(
            key.session,
            Command::Candidate {
                key,
                conn,
                candidate,
            },
        )
    }

    /// Tears down `conn`'s connection for `key`, if it is still the current one.
    pub fn remove(&self, key: PeerKey, conn: ConnId) {
        let _ = self.link(key.session).control.send(Command::Remove {
            key,
            conn,
            talk: None,
        });
    }

    /// Tears down `conn`'s connection for `key` like [`Self::remove`], and
    /// answers how long the participant talked on it (see [`talk`]). Call
    /// when the participant leaves; the talk is read once, at the end, so
    /// the packet path never sends anything for it.
    pub fn leave(&self, key: PeerKey, conn: ConnId) -> TalkReceipt {
        let (reply, rx) = oneshot::channel();
        // A stopped loop drops the command, and with it `reply`: the
        // receipt then resolves at once, with no answer.
        let _ = self.link(key.session).control.send(Command::Remove {
            key,
            conn,
            talk: Some(reply),
        });
        TalkReceipt { key, rx }
    }

    /// Starts feeding a session's packets to a recording.
    pub fn record(&self, session: SessionId, tap: RecordTap) {
        let _ = self.link(session).control.send(Command::Record {
            session,
            tap: Some(tap),
        });
    }

    /// Starts (`Some`) or stops feeding one participant's audio to their
    /// captions.
    pub fn caption(&self, key: PeerKey, tap: Option<RecordTap>) {
        let _ = self
            .link(key.session)
            .control
            .send(Command::Caption { key, tap });
    }

    /// Stops feeding a session's packets to its recording.
    pub fn stop_recording(&self, session: SessionId) {
        let _ = self
            .link(session)
            .control
            .send(Command::Record { session, tap: None });
    }

    /// Every shard's counters, summed.
    pub async fn counters(&self) -> Result<Counters, MediaError> {
        let mut total = Counters::default();
        for link in self.shards.iter() {
            let (reply, rx) = oneshot::channel();
            link.requests
                .try_send(Command::Counters(reply))
                .map_err(|e| match e {
                    mpsc::error::TrySendError::Full(_) => MediaError::Busy,
                    mpsc::error::TrySendError::Closed(_) => MediaError::Stopped,
                })?;
            total.add(&rx.await.map_err(|_| MediaError::Stopped)?);
        }
        Ok(total)
    }

    /// How each participant's link to Duet is doing, from the receiver
    /// reports they send (empty when the media plane has stopped).
    pub async fn quality(&self, session: SessionId) -> Vec<(Role, LinkQuality)> {
        let (reply, rx) = oneshot::channel();
        if self
            .request(session, Command::Quality { session, reply })
            .is_err()
        {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// Low-bandwidth mode for the participant `key`: the other person's
    /// video to them is capped at [`bandwidth::LOW_BANDWIDTH_BPS`] per
    /// stream (asked of the sender by REMB). Best effort: a full queue
    /// drops it, and the page sends it again with its next `joined`.
    pub fn set_low_bandwidth(&self, key: PeerKey, on: bool) {
        let _ = self.request(key.session, Command::LowBandwidth { key, on });
    }

    pub fn shutdown(&self) {
        for link in self.shards.iter() {
            let _ = link.control.send(Command::Shutdown);
        }
    }
}

/// The one address put in ICE candidates: the configured public IP, else
/// the bound address, else the machine's first address of the bound family
/// that is not loopback (loopback only when there is nothing else).
///
/// One address, because the ICE agent matches each datagram to a local
/// candidate by address, and a socket bound to the wildcard cannot tell
/// which of several addresses a datagram was sent to.
pub fn advertised_ip(public_ip: Option<IpAddr>, bind: IpAddr) -> IpAddr {
    if let Some(ip) = public_ip {
        return ip;
    }
    if !bind.is_unspecified() {
        return bind;
    }
    let outside = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ip())
        .find(|ip| ip.is_ipv4() == bind.is_ipv4() && !ip.is_loopback());
    outside.unwrap_or(match bind {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    })
}
