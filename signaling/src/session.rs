//! One mentoring session's membership: who holds the mentor and mentee
//! places, and what each connection is told when that changes.
//!
//! Pure state machine in the quinn style: feed an [`Input`] with
//! [`Session::handle`], then drain [`Session::poll_output`] until it returns
//! `None`. No sockets, no clock (time is passed in), no randomness (the IO
//! layer hands in participant ids), so every order of events is testable.
//!
//! Invariants:
//! - at most one connection per role;
//! - a connection holds at most one place;
//! - once ended, nobody is admitted again.

use std::collections::VecDeque;

use crate::ids::{ConnId, LinkId, ParticipantId, Role, UnixMillis};
use crate::protocol::{
    ChatAuthor, EndReason, ErrorCode, IceServer, LeaveReason, MAX_CHAT_CHARS, MAX_NAME_CHARS,
    MediaState, ParticipantInfo, RecordingPolicy, RecordingStatus, ServerMessage, SessionInfo,
};

/// A join whose token the IO layer has already verified.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinRequest {
    pub conn: ConnId,
    pub participant: ParticipantId,
    pub role: Role,
    pub link: LinkId,
    pub name: String,
    /// STUN/TURN servers for this participant (TURN credentials are personal).
    pub ice_servers: Vec<IceServer>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Join(JoinRequest),
    Media {
        conn: ConnId,
        state: MediaState,
    },
    Chat {
        conn: ConnId,
        text: String,
    },
    /// The client said `leave`.
    Leave {
        conn: ConnId,
    },
    /// The socket closed or timed out without `leave`.
    Disconnected {
        conn: ConnId,
    },
    /// The session ends for everyone.
    End {
        reason: EndReason,
    },
}

// Outputs are moved once, on the signaling path; boxing the large message
// would cost an allocation per output for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send this message on that connection.
    Send { to: ConnId, msg: ServerMessage },
    /// Close that connection after sending what is queued for it.
    Close { conn: ConnId },
    /// The connection now holds the role's place: set up its media.
    Admitted {
        conn: ConnId,
        role: Role,
        participant: ParticipantId,
    },
    /// The connection no longer holds a place: tear down its media.
    Removed { conn: ConnId, role: Role },
}

#[derive(Debug, Clone, PartialEq)]
struct Occupant {
    conn: ConnId,
    link: LinkId,
    info: ParticipantInfo,
}

#[derive(Debug)]
pub struct Session {
    info: SessionInfo,
    /// What `joined` says about recording; kept current by the caller,
    /// which owns the consent machine.
    recording: RecordingStatus,
    places: [Option<Occupant>; 2],
    ended: Option<EndReason>,
    out: VecDeque<Output>,
}

impl Session {
    pub fn new(info: SessionInfo, recording_policy: RecordingPolicy) -> Self {
        Session {
            info,
            recording: RecordingStatus::off(recording_policy),
            places: [None, None],
            ended: None,
            out: VecDeque::new(),
        }
    }

    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    pub fn is_ended(&self) -> bool {
        self.ended.is_some()
    }

    /// Who holds the role's place now.
    pub fn participant(&self, role: Role) -> Option<&ParticipantInfo> {
        self.places[role.index()].as_ref().map(|o| &o.info)
    }

    /// The role held by this connection, if any.
    pub fn role_of(&self, conn: ConnId) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| self.places[r.index()].as_ref().map(|o| o.conn) == Some(conn))
    }

    /// The connection holding the role's place.
    pub fn conn_of(&self, role: Role) -> Option<ConnId> {
        self.places[role.index()].as_ref().map(|o| o.conn)
    }

    /// The recording state a participant joining now is told.
    pub fn set_recording(&mut self, status: RecordingStatus) {
        self.recording = status;
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    pub fn handle(&mut self, now: UnixMillis, input: Input) {
        match input {
            Input::Join(req) => self.join(req),
            Input::Media { conn, state } => self.media(conn, state),
            Input::Chat { conn, text } => self.chat(now, conn, text),
            Input::Leave { conn } => self.remove(conn, LeaveReason::Left),
            Input::Disconnected { conn } => self.remove(conn, LeaveReason::Disconnected),
            Input::End { reason } => self.end(reason),
        }
    }

    fn send(&mut self, to: ConnId, msg: ServerMessage) {
        self.out.push_back(Output::Send { to, msg });
    }

    fn refuse(&mut self, conn: ConnId, code: ErrorCode, message: &str) {
        self.send(conn, ServerMessage::error(code, message));
        self.out.push_back(Output::Close { conn });
    }

    fn join(&mut self, req: JoinRequest) {
        if self.ended.is_some() {
            return self.refuse(req.conn, ErrorCode::SessionEnded, "this session has ended");
        }
        if self.role_of(req.conn).is_some() {
            return self.send(
                req.conn,
                ServerMessage::error(ErrorCode::OutOfOrder, "this connection has already joined"),
            );
        }
        let name = clean_name(&req.name, req.role);
        let slot = req.role.index();
        if let Some(current) = &self.places[slot] {
            if current.link != req.link {
                return self.refuse(
                    req.conn,
                    ErrorCode::SessionFull,
                    "someone else is already in this session in that role",
                );
            }
            // The same link opened again (a second tab, a reload, a new
            // device): the newest wins and the old connection is told why.
            let old = current.conn;
            self.places[slot] = None;
            self.refuse(
                old,
                ErrorCode::Replaced,
                "you joined this session from another tab or device",
            );
            self.out.push_back(Output::Removed {
                conn: old,
                role: req.role,
            });
        }
        let info = ParticipantInfo {
            id: req.participant,
            role: req.role,
            name,
            media: MediaState::joined_default(),
        };
        let peer = self.participant(req.role.other()).cloned();
        self.places[slot] = Some(Occupant {
            conn: req.conn,
            link: req.link,
            info: info.clone(),
        });
        self.out.push_back(Output::Admitted {
            conn: req.conn,
            role: req.role,
            participant: req.participant,
        });
        self.send(
            req.conn,
            ServerMessage::Joined {
                you: info.clone(),
                peer,
                session: self.info.clone(),
                ice_servers: req.ice_servers,
                recording: self.recording.clone(),
            },
        );
        if let Some(other) = self.conn_of(req.role.other()) {
            self.send(other, ServerMessage::PeerJoined { peer: info });
        }
    }

    fn media(&mut self, conn: ConnId, state: MediaState) {
        let Some(role) = self.role_of(conn) else {
            return self.not_joined(conn);
        };
        let Some(occupant) = self.places[role.index()].as_mut() else {
            return;
        };
        occupant.info.media = state;
        let id = occupant.info.id;
        if let Some(other) = self.conn_of(role.other()) {
            self.send(
                other,
                ServerMessage::PeerMedia {
                    peer: id,
                    role,
                    audio: state.audio,
                    video: state.video,
                    screen: state.screen,
                },
            );
        }
    }

    fn chat(&mut self, now: UnixMillis, conn: ConnId, text: String) {
        let Some(role) = self.role_of(conn) else {
            return self.not_joined(conn);
        };
        let text = text.trim();
        if text.is_empty() {
            return self.send(
                conn,
                ServerMessage::error(ErrorCode::InvalidField, "a chat message cannot be empty"),
            );
        }
        if text.chars().count() > MAX_CHAT_CHARS {
            return self.send(
                conn,
                ServerMessage::error(
                    ErrorCode::InvalidField,
                    format!("a chat message can be at most {MAX_CHAT_CHARS} characters"),
                ),
            );
        }
        let Some(me) = self.participant(role) else {
            return;
        };
        let msg = ServerMessage::Chat {
            from: ChatAuthor {
                id: me.id,
                role,
                name: me.name.clone(),
            },
            text: text.to_string(),
            at: now.to_rfc3339(),
        };
        // The author gets it back too, so both logs show the server's time.
        if let Some(other) = self.conn_of(role.other()) {
            self.send(other, msg.clone());
        }
        self.send(conn, msg);
    }

    fn not_joined(&mut self, conn: ConnId) {
        self.send(
            conn,
            ServerMessage::error(
                ErrorCode::OutOfOrder,
                "this connection is not in the session",
            ),
        );
    }

    fn remove(&mut self, conn: ConnId, reason: LeaveReason) {
        let Some(role) = self.role_of(conn) else {
            // Already replaced or never admitted: nothing to undo.
            return;
        };
        let Some(gone) = self.places[role.index()].take() else {
            return;
        };
        self.out.push_back(Output::Removed { conn, role });
        if reason == LeaveReason::Left {
            self.out.push_back(Output::Close { conn });
        }
        if let Some(other) = self.conn_of(role.other()) {
            self.send(
                other,
                ServerMessage::PeerLeft {
                    peer: gone.info,
                    reason,
                },
            );
        }
    }

    fn end(&mut self, reason: EndReason) {
        if self.ended.is_some() {
            return;
        }
        self.ended = Some(reason);
        for role in Role::ALL {
            if let Some(o) = self.places[role.index()].take() {
                self.send(o.conn, ServerMessage::SessionEnded { reason });
                self.out.push_back(Output::Close { conn: o.conn });
                self.out.push_back(Output::Removed { conn: o.conn, role });
            }
        }
    }
}

/// Trims and bounds a display name; falls back to the role so nobody shows
/// up nameless.
fn clean_name(name: &str, role: Role) -> String {
    // Strip control characters before trimming, so whitespace they hid
    // ("\u{7} Ada") goes too, and trim again after the cap cuts a word.
    let visible: String = name.chars().filter(|c| !c.is_control()).collect();
    let capped: String = visible.trim().chars().take(MAX_NAME_CHARS).collect();
    let trimmed = capped.trim_end().to_string();
    if trimmed.is_empty() {
        match role {
            Role::Mentor => "Mentor".to_string(),
            Role::Mentee => "Mentee".to_string(),
        }
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests;
