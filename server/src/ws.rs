//! The signaling socket at `/api/v1/ws`: a thin edge that turns JSON frames
//! into `duet_signaling` types and back. Membership rules live in the room's
//! state machine; media lives in the media plane.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use duet_signaling::connection::ConnectionPhase;
use duet_signaling::protocol::{
    ClientMessage, ErrorCode, MAX_FRAME_BYTES, ServerMessage, SessionInfo, decode_client_message,
    encode_server_message,
};
use duet_signaling::session::{Input, JoinRequest};
use duet_signaling::{ConnId, LinkId, ParticipantId, SessionId};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use crate::clock::now_s;
use crate::links::LinkError;
use crate::media::limits::{CandidateBudget, TokenBucket, candidate_rate};
use crate::media::{IceFilter, MediaError, OfferRefusal, PeerKey, PendingOffer};
use crate::room::ToSocket;
use crate::state::AppState;

mod pipe;

/// Frames past this are cut off by the WebSocket layer itself; between
/// [`MAX_FRAME_BYTES`] and this, the client gets a `frame_too_large` error
/// and the connection lives on.
const HARD_FRAME_LIMIT: usize = 1024 * 1024;

/// Bytes read from the socket at a time. The WebSocket layer's default
/// (128 KiB, allocated per connection up front) was a fifth of what a call
/// cost in memory; signaling messages are a few KiB, and larger ones are
/// read in several pieces.
const READ_BUFFER: usize = 16 * 1024;

/// How many messages may wait for a slow client before it is dropped.
const OUTBOUND_QUEUE: usize = 256;

/// Opens the socket, unless the client's address already holds
/// `http.max_websockets_per_address` of them (`429 busy`): each is a
/// descriptor and a task, and one address must not take them all.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    axum::Extension(edge): axum::Extension<crate::api::edge::Edge>,
    crate::api::edge::ClientIp(ip): crate::api::edge::ClientIp,
) -> Response {
    let Some(slot) = edge.websocket_slot(ip) else {
        return crate::api::error::ApiError::Busy("too many signaling sockets from this address")
            .into_response();
    };
    ws.max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| async move {
            Connection::new(state, ip).run(socket).await;
            drop(slot);
        })
}

struct Connection {
    state: AppState,
    conn: ConnId,
    /// The client's address (behind trusted proxies), told to the node a
    /// socket is piped to.
    client_ip: std::net::IpAddr,
    /// The `join` frame as it came, for the node that holds the session
    /// when it is not this one.
    join_frame: Option<String>,
    /// Where the socket is in its life; `Joining` from handing `join` to
    /// the room until the room admits it or refuses.
    phase: ConnectionPhase,
    /// The session `join` was handed to (to tell it when the socket goes).
    session: Option<SessionId>,
    /// Set once the room admitted us.
    key: Option<PeerKey>,
    /// Handed to the room on join: once the room drops it, the socket
    /// closes (a client that stopped reading is cut off this way).
    outbound_tx: Option<mpsc::Sender<ToSocket>>,
    outbound_rx: mpsc::Receiver<ToSocket>,
    /// Candidate addresses the media plane may check.
    ice_filter: IceFilter,
    /// Candidates this connection may still trickle, and how fast.
    candidates: CandidateBudget,
    candidate_rate: TokenBucket,
    /// The offer the media plane is answering. Awaited alongside the next
    /// frame, never instead of it: a `recording` revoke sent while an
    /// answer is slow must act at once.
    pending_offer: Option<PendingOffer>,
}

enum Step {
    Continue,
    Close,
    /// The session lives on another node: copy this socket to the owner,
    /// connected and handed the `join` already, from now on.
    Pipe(Box<pipe::OwnerSocket>),
}

/// What became of a join whose session another node holds.
enum Owner {
    Piped(Box<pipe::OwnerSocket>),
    /// The owner's port refused the connection (its process is gone):
    /// this node took the session over, at this epoch.
    TakenOver(i64),
    /// Not reachable now: the client is told this and tries again.
    Unreachable(&'static str),
}

impl Connection {
    fn new(state: AppState, client_ip: std::net::IpAddr) -> Connection {
        let (outbound_tx, outbound_rx) = mpsc::channel(OUTBOUND_QUEUE);
        let ice_filter = state.media().ice_filter(&state.config().media.ice_deny);
        Connection {
            conn: state.next_conn_id(),
            client_ip,
            join_frame: None,
            ice_filter,
            candidates: CandidateBudget::default(),
            candidate_rate: candidate_rate(),
            state,
            phase: ConnectionPhase::AwaitingJoin,
            session: None,
            key: None,
            outbound_tx: Some(outbound_tx),
            outbound_rx,
            pending_offer: None,
        }
    }

    async fn run(mut self, socket: WebSocket) {
        let (mut sink, mut stream) = socket.split();
        let join_timeout = Duration::from_secs(self.state.config().signaling.join_timeout_s);
        let join_deadline = tokio::time::sleep(join_timeout);
        tokio::pin!(join_deadline);
        let mut replies: Vec<ServerMessage> = Vec::new();
        loop {
            let step = tokio::select! {
                frame = stream.next() => match frame {
                    Some(Ok(Message::Text(text))) => self.on_text(&text, &mut replies).await,
                    Some(Ok(Message::Binary(_))) => {
                        replies.push(ServerMessage::error(ErrorCode::BadMessage, "frames must be JSON text, not binary"));
                        Step::Continue
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Step::Continue,
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "websocket read error");
                        break;
                    }
                },
                out = self.outbound_rx.recv() => match out {
                    Some(ToSocket::Admitted(role)) => {
                        self.admitted(role);
                        Step::Continue
                    }
                    Some(ToSocket::Message(msg)) => {
                        self.on_room_message(&msg);
                        replies.push(msg);
                        Step::Continue
                    }
                    Some(ToSocket::Close) | None => Step::Close,
                },
                answer = answer_of(&mut self.pending_offer), if self.pending_offer.is_some() => {
                    self.pending_offer = None;
                    match answer {
                        Ok((sdp, facts)) => {
                            self.candidates.offered(&facts);
                            replies.push(ServerMessage::Answer { sdp });
                        }
                        Err(e) => replies.push(ServerMessage::error(media_error_code(&e), e.to_string())),
                    }
                    Step::Continue
                }
                _ = &mut join_deadline, if self.phase.awaits_join() => {
                    replies.push(ServerMessage::error(ErrorCode::Timeout, "no join message arrived in time"));
                    Step::Close
                }
            };
            for msg in replies.drain(..) {
                if sink
                    .send(Message::Text(Utf8Bytes::from(encode_server_message(&msg))))
                    .await
                    .is_err()
                {
                    self.finish();
                    return;
                }
            }
            if let Step::Pipe(owner) = step {
                self.state.metrics().joins_piped.inc();
                pipe::copy(sink, stream, *owner).await;
                return;
            }
            if let Step::Close = step {
                // Deliver what the room queued before its Close.
                while let Ok(out) = self.outbound_rx.try_recv() {
                    let ToSocket::Message(msg) = out else {
                        continue;
                    };
                    let _ = sink
                        .send(Message::Text(Utf8Bytes::from(encode_server_message(&msg))))
                        .await;
                }
                self.phase = ConnectionPhase::Closed;
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code: 1000,
                        reason: Utf8Bytes::from_static("bye"),
                    })))
                    .await;
                break;
            }
        }
        self.finish();
    }

    /// Reaches the node that holds `session`: a socket to it with the
    /// `join` sent, or, when its port refuses the connection (nothing
    /// listens there: its process died), the session taken over here at
    /// once rather than after its lease; the epoch fences off anything the
    /// old holder might still write.
    async fn reach_owner(&mut self, session: SessionId, node: &str) -> Owner {
        const BUSY: &str = "this call is held by another server node; try again in a moment";
        const UNREACHABLE: &str =
            "the server node holding this call cannot be reached right now; try again in a moment";
        let cluster = self.state.cluster();
        let url = match cluster.internal_url(node).await {
            Ok(Some(url)) => pipe::owner_ws_url(&url),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "reading a node's internal URL");
                None
            }
        };
        let Some(url) = url else {
            tracing::warn!(session = %session, owner = node, "a join reached a node that cannot pipe it to the session's node (no internal_url there)");
            return Owner::Unreachable(BUSY);
        };
        let join = self.join_frame.clone().unwrap_or_default();
        match pipe::connect(&url, self.client_ip, &join).await {
            Ok(socket) => Owner::Piped(Box::new(socket)),
            Err(e) if e.refused() => match cluster.take_over(session, node).await {
                Ok(Some(epoch)) => {
                    tracing::warn!(session = %session, from = node, epoch, "took over a session: its node refuses connections");
                    Owner::TakenOver(epoch)
                }
                // Moved meanwhile by another join: the next try is piped there.
                Ok(None) => Owner::Unreachable(BUSY),
                Err(e) => {
                    tracing::error!(error = %e, "taking over a session");
                    Owner::Unreachable(UNREACHABLE)
                }
            },
            Err(e) => {
                tracing::warn!(owner = %url, error = %e, "piping a join to the node that holds its session");
                Owner::Unreachable(UNREACHABLE)
            }
        }
    }

    /// The socket is gone: tell the room, if we were in one.
    fn finish(&mut self) {
        if let Some(session) = self.session {
            self.state
                .hub()
                .input(session, Input::Disconnected { conn: self.conn });
        }
    }

    fn admitted(&mut self, role: duet_signaling::Role) {
        if let Some(session) = self.session
            && self.phase == ConnectionPhase::Joining
        {
            self.phase = self.phase.admitted();
            self.key = Some(PeerKey { session, role });
        }
    }

    fn on_room_message(&mut self, msg: &ServerMessage) {
        // While joining, an error from the room is its refusal (a third
        // person, an ended session); the close follows.
        if let (ServerMessage::Error { code, .. }, ConnectionPhase::Joining) = (msg, self.phase) {
            self.state.metrics().join_failed(code.as_str());
        }
    }

    async fn on_text(&mut self, text: &str, replies: &mut Vec<ServerMessage>) -> Step {
        if text.len() > MAX_FRAME_BYTES {
            replies.push(ServerMessage::error(
                ErrorCode::FrameTooLarge,
                format!("frames may be at most {MAX_FRAME_BYTES} bytes"),
            ));
            return Step::Continue;
        }
        let msg = match decode_client_message(text) {
            Ok(msg) => msg,
            Err(e) => {
                replies.push(ServerMessage::error(e.code(), e.to_string()));
                return Step::Continue;
            }
        };
        if let Err((code, message)) = self.phase.check(&msg) {
            replies.push(ServerMessage::error(code, message));
            return Step::Continue;
        }
        match msg {
            ClientMessage::Join { token, name } => {
                self.join_frame = Some(text.to_owned());
                return self.join(&token, name, replies).await;
            }
            ClientMessage::Ping => replies.push(ServerMessage::Pong),
            ClientMessage::Offer { sdp } => self.offer(sdp, replies),
            ClientMessage::Answer { .. } => replies.push(ServerMessage::error(
                ErrorCode::OutOfOrder,
                "the server has not sent an offer to answer",
            )),
            ClientMessage::Candidate { candidate } => match candidate {
                Some(c) if c.is_end_of_candidates() => {}
                Some(c) if !c.is_well_formed() => replies.push(ServerMessage::error(
                    ErrorCode::BadSdp,
                    "that is not an ICE candidate line (candidate:<foundation> <component> ...)",
                )),
                Some(c) => self.candidate(c, replies),
                None => {}
            },
            ClientMessage::Media {
                audio,
                video,
                screen,
            } => self.to_room(Input::Media {
                conn: self.conn,
                state: duet_signaling::protocol::MediaState {
                    audio,
                    video,
                    screen,
                },
            }),
            ClientMessage::Chat { text } => self.to_room(Input::Chat {
                conn: self.conn,
                text,
            }),
            ClientMessage::Recording {
                action,
                notice_hash,
                discard,
            } => {
                if let Some(key) = self.key {
                    self.state.hub().recording(
                        key.session,
                        self.conn,
                        action,
                        notice_hash,
                        discard,
                    );
                }
            }
            ClientMessage::LowBandwidth { on } => {
                if let Some(key) = self.key {
                    self.state.media().set_low_bandwidth(key, on);
                }
            }
            ClientMessage::Captions { action, translate } => {
                if let Some(key) = self.key {
                    self.state
                        .hub()
                        .captions(key.session, self.conn, action, translate);
                }
            }
            ClientMessage::Leave => self.to_room(Input::Leave { conn: self.conn }),
        }
        Step::Continue
    }

    fn to_room(&self, input: Input) {
        if let Some(key) = self.key {
            self.state.hub().input(key.session, input);
        }
    }

    async fn join(
        &mut self,
        token: &str,
        name: Option<String>,
        replies: &mut Vec<ServerMessage>,
    ) -> Step {
        let metrics = self.state.metrics().clone();
        metrics.join_attempts.inc();
        let refuse = |replies: &mut Vec<ServerMessage>, code: ErrorCode, message: &str| {
            metrics.join_failed(code.as_str());
            replies.push(ServerMessage::error(code, message));
            Step::Close
        };
        // A draining node still pipes joins of sessions that live on
        // other nodes (a call that moved, a load balancer slow to notice),
        // and refuses only those that would run here (below).
        let now = now_s();
        let claims = match self.state.links().verify(token, now) {
            Ok(c) => c,
            Err(e @ LinkError::Invalid) => {
                return refuse(replies, ErrorCode::InvalidToken, &e.to_string());
            }
            Err(e @ LinkError::Expired) => {
                return refuse(replies, ErrorCode::TokenExpired, &e.to_string());
            }
        };
        let record = match self.state.store().session(claims.sid).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                return refuse(
                    replies,
                    ErrorCode::SessionEnded,
                    "this session no longer exists",
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "loading a session for a join");
                return refuse(
                    replies,
                    ErrorCode::Internal,
                    "the server could not load this session",
                );
            }
        };
        if record.ended_at.is_some() {
            return refuse(replies, ErrorCode::SessionEnded, "this session has ended");
        }
        if now >= record.expires_at {
            return refuse(
                replies,
                ErrorCode::TokenExpired,
                "this session's links have expired",
            );
        }
        let epoch = match self.state.cluster().place(record.id).await {
            Ok(crate::cluster::Placed::Here { epoch }) => epoch,
            // Held by another node: this socket is piped to it (`pipe`),
            // which checks the join again and runs the call.
            Ok(crate::cluster::Placed::Elsewhere { node }) => {
                match self.reach_owner(record.id, &node).await {
                    Owner::Piped(socket) => return Step::Pipe(socket),
                    Owner::TakenOver(epoch) => epoch,
                    Owner::Unreachable(message) => {
                        return refuse(replies, ErrorCode::Unavailable, message);
                    }
                }
            }
            Ok(crate::cluster::Placed::Nowhere) => {
                let message = if self.state.is_draining() {
                    "the server is shutting down; try again in a minute"
                } else {
                    "no server node can take this call right now; try again in a minute"
                };
                return refuse(replies, ErrorCode::Unavailable, message);
            }
            Err(e) => {
                tracing::error!(error = %e, "placing a session for a join");
                return refuse(
                    replies,
                    ErrorCode::Internal,
                    "the server could not place this session",
                );
            }
        };
        if self.state.is_draining() {
            return refuse(
                replies,
                ErrorCode::Unavailable,
                "the server is shutting down; try again in a minute",
            );
        }
        let participant = ParticipantId(uuid::Uuid::new_v4());
        let req = JoinRequest {
            conn: self.conn,
            participant,
            role: claims.role,
            link: LinkId(claims.lid),
            name: name.unwrap_or_else(|| record.name(claims.role).to_string()),
            ice_servers: self.state.ice_servers(&participant.0.to_string()),
        };
        let info = SessionInfo {
            id: record.id,
            title: record.title.clone(),
        };
        let Some(outbound) = self.outbound_tx.take() else {
            return refuse(
                replies,
                ErrorCode::OutOfOrder,
                "this connection has already asked to join",
            );
        };
        self.session = Some(record.id);
        self.phase = self.phase.join_sent();
        // The room applies the deployment's policy over the session's own.
        self.state
            .hub()
            .join(info, record.recording, req, outbound, epoch);
        Step::Continue
    }

    /// Queues the offer; its answer is sent when the media plane gives it
    /// (see `pending_offer`). One at a time, as before: a second offer
    /// before the first is answered is refused.
    fn offer(&mut self, sdp: String, replies: &mut Vec<ServerMessage>) {
        let Some(key) = self.key else {
            return;
        };
        if self.pending_offer.is_some() {
            replies.push(ServerMessage::error(
                ErrorCode::OutOfOrder,
                "the previous offer has not been answered yet",
            ));
            return;
        }
        match self
            .state
            .media()
            .offer(key, self.conn, sdp, &self.ice_filter)
        {
            Ok(pending) => self.pending_offer = Some(pending),
            Err(e) => replies.push(ServerMessage::error(media_error_code(&e), e.to_string())),
        }
    }

    /// A trickled candidate: within this connection's rate and budget, and
    /// to an allowed address, it goes to the media plane.
    fn candidate(
        &mut self,
        c: duet_signaling::protocol::IceCandidate,
        replies: &mut Vec<ServerMessage>,
    ) {
        let Some(key) = self.key else {
            return;
        };
        if !self.candidate_rate.take(std::time::Instant::now()) {
            replies.push(ServerMessage::error(
                ErrorCode::RateLimited,
                "candidates are coming too fast; this one was dropped",
            ));
            return;
        }
        if !self.candidates.take() {
            replies.push(ServerMessage::error(
                ErrorCode::TooManyCandidates,
                format!(
                    "a connection may have at most {} candidates; this one was dropped",
                    duet_signaling::protocol::MAX_CANDIDATES_PER_PEER
                ),
            ));
            return;
        }
        if let Err(e) = self
            .state
            .media()
            .candidate(key, self.conn, c, &self.ice_filter)
        {
            replies.push(ServerMessage::error(media_error_code(&e), e.to_string()));
        }
    }
}

/// The answer to the pending offer; never resolves when there is none
/// (the `select!` arm is disabled then anyway).
async fn answer_of(
    pending: &mut Option<PendingOffer>,
) -> Result<(String, crate::media::OfferFacts), MediaError> {
    match pending {
        Some(p) => p.answer().await,
        None => std::future::pending().await,
    }
}

/// The error code a client gets for a media plane refusal.
fn media_error_code(e: &MediaError) -> ErrorCode {
    match e {
        MediaError::BadOffer(_) | MediaError::Refused(OfferRefusal::DataChannel) => {
            ErrorCode::BadSdp
        }
        MediaError::Refused(OfferRefusal::TooLarge(_)) => ErrorCode::SdpTooLarge,
        MediaError::Refused(OfferRefusal::TooManyCandidates(_)) => ErrorCode::TooManyCandidates,
        MediaError::Busy => ErrorCode::Busy,
        MediaError::Stale => ErrorCode::Replaced,
        MediaError::Stopped => ErrorCode::Unavailable,
    }
}
