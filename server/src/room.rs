//! One live session's task: the single owner of its [`Session`] state
//! machine. WebSocket tasks send it inputs through a channel; it sends each
//! connection what the state machine says, and tells the media plane when a
//! participant's connection must go.

use std::collections::HashMap;

use duet_signaling::protocol::{ParticipantInfo, ServerMessage};
use duet_signaling::session::{Input, JoinRequest, Output, Session};
use duet_signaling::{ConnId, Role, SessionId, UnixMillis};
use tokio::sync::{mpsc, oneshot};

use crate::hub::Hub;
use crate::media::{MediaPlane, PeerKey};

/// What a room sends to one WebSocket task.
#[derive(Debug, Clone)]
pub enum Outbound {
    Message(ServerMessage),
    /// Close the socket once what came before is sent.
    Close,
}

pub(crate) enum RoomCommand {
    Join {
        req: JoinRequest,
        outbound: mpsc::Sender<Outbound>,
    },
    Input(Input),
    Snapshot(oneshot::Sender<Vec<ParticipantInfo>>),
}

pub(crate) fn now_millis() -> UnixMillis {
    let now = time::OffsetDateTime::now_utc();
    UnixMillis((now.unix_timestamp_nanos() / 1_000_000) as i64)
}

pub(crate) async fn run(
    id: SessionId,
    mut session: Session,
    mut commands: mpsc::UnboundedReceiver<RoomCommand>,
    hub: Hub,
    media: MediaPlane,
) {
    let mut conns: HashMap<ConnId, mpsc::Sender<Outbound>> = HashMap::new();
    loop {
        let Some(cmd) = commands.recv().await else {
            break;
        };
        let disconnected = match cmd {
            RoomCommand::Join { req, outbound } => {
                conns.insert(req.conn, outbound);
                session.handle(now_millis(), Input::Join(req));
                None
            }
            RoomCommand::Input(input) => {
                let gone = match &input {
                    Input::Disconnected { conn } => Some(*conn),
                    _ => None,
                };
                session.handle(now_millis(), input);
                gone
            }
            RoomCommand::Snapshot(reply) => {
                let people = Role::ALL
                    .into_iter()
                    .filter_map(|r| session.participant(r).cloned())
                    .collect();
                let _ = reply.send(people);
                None
            }
        };
        apply_outputs(id, &mut session, &mut conns, &media);
        if let Some(conn) = disconnected {
            conns.remove(&conn);
        }
        let empty = Role::ALL.iter().all(|r| session.participant(*r).is_none());
        if (session.is_ended() || empty) && conns.is_empty() && hub.retire(id, &commands) {
            break;
        }
    }
    tracing::debug!(session = %id, "room closed");
}

fn apply_outputs(
    id: SessionId,
    session: &mut Session,
    conns: &mut HashMap<ConnId, mpsc::Sender<Outbound>>,
    media: &MediaPlane,
) {
    while let Some(out) = session.poll_output() {
        match out {
            Output::Send { to, msg } => {
                let Some(tx) = conns.get(&to) else {
                    continue;
                };
                // A client that does not read its socket fills its queue;
                // it is closed rather than allowed to hold the room up.
                if tx.try_send(Outbound::Message(msg)).is_err() {
                    tracing::info!(session = %id, "closing a connection that stopped reading");
                    conns.remove(&to);
                    session.handle(now_millis(), Input::Disconnected { conn: to });
                }
            }
            Output::Close { conn } => {
                if let Some(tx) = conns.remove(&conn) {
                    let _ = tx.try_send(Outbound::Close);
                }
            }
            Output::Admitted { role, .. } => {
                tracing::info!(session = %id, %role, "participant joined");
            }
            Output::Removed { conn, role } => {
                tracing::info!(session = %id, %role, "participant left");
                media.remove(PeerKey { session: id, role }, conn);
            }
        }
    }
}
