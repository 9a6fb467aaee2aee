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

use crate::links::LinkError;
use crate::media::{MediaError, PeerKey};
use crate::room::Outbound;
use crate::state::{AppState, now_s};

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
            Connection::new(state).run(socket).await;
            drop(slot);
        })
}

struct Connection {
    state: AppState,
    conn: ConnId,
    phase: ConnectionPhase,
    /// Set once `join` was handed to a room, before it answers.
    pending: Option<SessionId>,
    /// Set once the room admitted us.
    key: Option<PeerKey>,
    /// Handed to the room on join: once the room drops it, the socket
    /// closes (a client that stopped reading is cut off this way).
    outbound_tx: Option<mpsc::Sender<Outbound>>,
    outbound_rx: mpsc::Receiver<Outbound>,
}

enum Step {
    Continue,
    Close,
}

impl Connection {
    fn new(state: AppState) -> Connection {
        let (outbound_tx, outbound_rx) = mpsc::channel(OUTBOUND_QUEUE);
        Connection {
            conn: state.next_conn_id(),
            state,
            phase: ConnectionPhase::AwaitingJoin,
            pending: None,
            key: None,
            outbound_tx: Some(outbound_tx),
            outbound_rx,
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
                    Some(Outbound::Message(msg)) => {
                        self.on_room_message(&msg);
                        replies.push(msg);
                        Step::Continue
                    }
                    Some(Outbound::Close) | None => Step::Close,
                },
                _ = &mut join_deadline, if self.phase == ConnectionPhase::AwaitingJoin && self.pending.is_none() => {
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
            if let Step::Close = step {
                // Deliver what the room queued before its Close.
                while let Ok(Outbound::Message(msg)) = self.outbound_rx.try_recv() {
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

    /// The socket is gone: tell the room, if we were in one.
    fn finish(&mut self) {
        if let Some(session) = self.pending.or(self.key.map(|k| k.session)) {
            self.state
                .hub()
                .input(session, Input::Disconnected { conn: self.conn });
        }
    }

    fn on_room_message(&mut self, msg: &ServerMessage) {
        match (msg, self.pending) {
            (ServerMessage::Joined { you, session, .. }, Some(_)) => {
                self.phase = ConnectionPhase::Joined;
                self.key = Some(PeerKey {
                    session: session.id,
                    role: you.role,
                });
            }
            // The room refused the join (a third person, an ended session).
            (ServerMessage::Error { code, .. }, Some(_)) if self.key.is_none() => {
                self.state.metrics().join_failed(code.as_str());
            }
            _ => {}
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
        if self.pending.is_some() && self.key.is_none() && !matches!(msg, ClientMessage::Ping) {
            replies.push(ServerMessage::error(
                ErrorCode::OutOfOrder,
                "wait for \"joined\" before sending more",
            ));
            return Step::Continue;
        }
        match msg {
            ClientMessage::Join { token, name } => return self.join(&token, name, replies).await,
            ClientMessage::Ping => replies.push(ServerMessage::Pong),
            ClientMessage::Offer { sdp } => self.offer(sdp, replies).await,
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
                Some(c) => {
                    if let Some(key) = self.key {
                        self.state.media().candidate(key, self.conn, c);
                    }
                }
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
        if self.state.is_draining() {
            return refuse(
                replies,
                ErrorCode::Unavailable,
                "the server is shutting down; try again in a minute",
            );
        }
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
        // The deployment can forbid recording whatever the session says.
        let policy = crate::sessions::effective_policy(
            self.state.policies().current().recording_allowed,
            record.recording,
        );
        let Some(outbound) = self.outbound_tx.take() else {
            return refuse(
                replies,
                ErrorCode::OutOfOrder,
                "this connection has already asked to join",
            );
        };
        self.pending = Some(record.id);
        self.state.hub().join(info, policy, req, outbound);
        Step::Continue
    }

    async fn offer(&mut self, sdp: String, replies: &mut Vec<ServerMessage>) {
        let Some(key) = self.key else {
            return;
        };
        match self.state.media().offer(key, self.conn, sdp).await {
            Ok(answer) => replies.push(ServerMessage::Answer { sdp: answer }),
            Err(e @ MediaError::BadOffer(_)) => {
                replies.push(ServerMessage::error(ErrorCode::BadSdp, e.to_string()))
            }
            Err(e @ MediaError::Stale) => {
                replies.push(ServerMessage::error(ErrorCode::Replaced, e.to_string()))
            }
            Err(e @ MediaError::Stopped) => {
                replies.push(ServerMessage::error(ErrorCode::Unavailable, e.to_string()))
            }
        }
    }
}
