//! One live session's task: the single owner of its two state machines,
//! [`Session`] (who is in the call) and [`Consent`] (whether it may be
//! recorded). WebSocket tasks send it commands through a channel; it sends
//! each connection what the machines say, tells the media plane when a
//! participant's connection must go, and starts and stops the recorder only
//! as the consent machine decides (see `room/recording.rs`).

mod recording;

use std::collections::HashMap;
use std::sync::Arc;

use duet_signaling::consent::{Consent, ConsentInput, NoticeHash, RecordingId};
use duet_signaling::protocol::{
    ParticipantInfo, RecordingAction, RecordingPolicy, RecordingStatus, ServerMessage, SessionInfo,
};
use duet_signaling::session::{Input, JoinRequest, Output, Session};
use duet_signaling::{ConnId, Role, SessionId, UnixMillis};
use tokio::sync::{mpsc, oneshot};

use crate::hub::Hub;
use crate::media::{MediaPlane, PeerKey};
use crate::metrics::Metrics;
use crate::recorder::service::{ActiveRecording, Recorders};
use crate::store::Store;

/// What a room sends to one WebSocket task.
// Moved once through a bounded channel; boxing would allocate per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Outbound {
    Message(ServerMessage),
    /// Close the socket once what came before is sent.
    Close,
}

/// The deployment's recording notice, and its hash that consents refer to.
#[derive(Debug, Clone)]
pub struct Notice {
    pub text: Arc<str>,
    pub hash: String,
}

impl Notice {
    pub fn new(text: &str) -> Notice {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(text.as_bytes());
        Notice {
            text: Arc::from(text),
            hash: digest.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

/// What a room needs from the rest of the server.
#[derive(Clone)]
pub(crate) struct RoomDeps {
    pub hub: Hub,
    pub media: MediaPlane,
    pub recorders: Recorders,
    pub store: Store,
    pub notice: Notice,
    pub metrics: Metrics,
}

/// A live session as the API shows it.
#[derive(Debug, Clone)]
pub struct RoomSnapshot {
    pub participants: Vec<ParticipantInfo>,
    pub recording: RecordingStatus,
    /// When each connected participant joined (this connection).
    pub since: Vec<(Role, UnixMillis)>,
    /// Filled in by the API from the media plane, not by the room.
    pub quality: Vec<(Role, crate::media::LinkQuality)>,
}

pub(crate) enum RoomCommand {
    Join {
        req: JoinRequest,
        outbound: mpsc::Sender<Outbound>,
    },
    Input(Input),
    Recording {
        conn: ConnId,
        action: RecordingAction,
        notice_hash: Option<String>,
        discard: bool,
    },
    RecorderFailed {
        id: RecordingId,
        reason: String,
    },
    Snapshot(oneshot::Sender<RoomSnapshot>),
    /// A message for everyone connected (the server is draining).
    Broadcast(ServerMessage),
}

pub(crate) fn now_millis() -> UnixMillis {
    let now = time::OffsetDateTime::now_utc();
    UnixMillis((now.unix_timestamp_nanos() / 1_000_000) as i64)
}

pub(crate) struct Room {
    id: SessionId,
    info: SessionInfo,
    session: Session,
    consent: Consent,
    conns: HashMap<ConnId, mpsc::Sender<Outbound>>,
    deps: RoomDeps,
    active: Option<ActiveRecording>,
    joined_at: HashMap<Role, UnixMillis>,
}

impl Room {
    pub(crate) fn new(info: SessionInfo, policy: RecordingPolicy, deps: RoomDeps) -> Room {
        let consent = Consent::new(policy, NoticeHash(deps.notice.hash.clone()));
        let mut session = Session::new(info.clone(), policy);
        session.set_recording(with_notice(consent.status(), &deps.notice));
        Room {
            id: info.id,
            info,
            session,
            consent,
            conns: HashMap::new(),
            deps,
            active: None,
            joined_at: HashMap::new(),
        }
    }

    pub(crate) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<RoomCommand>) {
        self.deps.metrics.sessions_active.inc();
        while let Some(cmd) = commands.recv().await {
            let now = now_millis();
            let mut disconnected = None;
            match cmd {
                RoomCommand::Join { req, outbound } => {
                    self.conns.insert(req.conn, outbound);
                    self.session.handle(now, Input::Join(req));
                }
                RoomCommand::Input(input) => {
                    if let Input::Disconnected { conn } = &input {
                        disconnected = Some(*conn);
                    }
                    if matches!(input, Input::End { .. }) {
                        // Ends any recording as "the session ended", before
                        // the departures below would call it an interruption.
                        self.consent.handle(now, ConsentInput::End);
                    }
                    self.session.handle(now, input);
                }
                RoomCommand::Recording {
                    conn,
                    action,
                    notice_hash,
                    discard,
                } => self.recording_action(now, conn, action, notice_hash, discard),
                RoomCommand::RecorderFailed { id, reason } => self.recorder_failed(now, id, reason),
                RoomCommand::Snapshot(reply) => {
                    let _ = reply.send(self.snapshot());
                }
                RoomCommand::Broadcast(msg) => {
                    let conns: Vec<ConnId> = self.conns.keys().copied().collect();
                    for conn in conns {
                        self.send(conn, msg.clone());
                    }
                }
            }
            self.apply_session_outputs(now);
            self.apply_consent_outputs().await;
            if let Some(conn) = disconnected {
                self.conns.remove(&conn);
            }
            let empty = Role::ALL
                .iter()
                .all(|r| self.session.participant(*r).is_none());
            if (self.session.is_ended() || empty)
                && self.conns.is_empty()
                && self.active.is_none()
                && self.deps.hub.retire(self.id, &commands)
            {
                break;
            }
        }
        self.deps.metrics.sessions_active.dec();
        tracing::debug!(session = %self.id, "room closed");
    }

    fn snapshot(&self) -> RoomSnapshot {
        RoomSnapshot {
            participants: Role::ALL
                .into_iter()
                .filter_map(|r| self.session.participant(r).cloned())
                .collect(),
            recording: self.recording_status(),
            since: self.joined_at.iter().map(|(r, t)| (*r, *t)).collect(),
            quality: Vec::new(),
        }
    }

    fn recording_status(&self) -> RecordingStatus {
        with_notice(self.consent.status(), &self.deps.notice)
    }

    fn send(&mut self, to: ConnId, msg: ServerMessage) {
        let Some(tx) = self.conns.get(&to) else {
            return;
        };
        // A client that does not read its socket fills its queue; it is
        // closed rather than allowed to hold the room up.
        if tx.try_send(Outbound::Message(msg)).is_err() {
            tracing::info!(session = %self.id, "closing a connection that stopped reading");
            self.conns.remove(&to);
            self.session
                .handle(now_millis(), Input::Disconnected { conn: to });
        }
    }

    fn send_to_role(&mut self, role: Role, msg: ServerMessage) {
        if let Some(conn) = self.session.conn_of(role) {
            self.send(conn, msg);
        }
    }

    fn apply_session_outputs(&mut self, now: UnixMillis) {
        while let Some(out) = self.session.poll_output() {
            match out {
                Output::Send { to, msg } => self.send(to, msg),
                Output::Close { conn } => {
                    if let Some(tx) = self.conns.remove(&conn) {
                        let _ = tx.try_send(Outbound::Close);
                    }
                }
                Output::Admitted {
                    role, participant, ..
                } => {
                    tracing::info!(session = %self.id, %role, "participant joined");
                    self.deps.metrics.participants_connected.inc();
                    self.joined_at.insert(role, now);
                    self.consent
                        .handle(now, ConsentInput::Present { role, participant });
                }
                Output::Removed { conn, role } => {
                    tracing::info!(session = %self.id, %role, "participant left");
                    self.deps.metrics.participants_connected.dec();
                    self.joined_at.remove(&role);
                    self.deps.media.remove(
                        PeerKey {
                            session: self.id,
                            role,
                        },
                        conn,
                    );
                    self.consent.handle(now, ConsentInput::Absent { role });
                }
            }
        }
    }
}

/// The consent machine's status with the notice text people must read.
fn with_notice(mut status: RecordingStatus, notice: &Notice) -> RecordingStatus {
    if status.policy == RecordingPolicy::Allowed {
        status.notice = Some(notice.text.to_string());
    }
    status
}
