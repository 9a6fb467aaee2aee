//! Recording consent: the rules that decide when media may be written.
//!
//! Pure state machine, like [`crate::session`]: feed [`ConsentInput`]s with
//! [`Consent::handle`], drain [`ConsentOutput`]s with [`Consent::poll_output`].
//!
//! The rules:
//! - recording is possible only when the session's policy allows it;
//! - either participant may request it, and only while both are present;
//! - it starts only when **both** have consented, in this request, to the
//!   notice text that was shown (its hash), while both are present;
//! - either may decline (the request ends) or revoke (recording stops at
//!   once, optionally discarding what was written);
//! - a participant leaving or dropping ends any request or recording; a new
//!   recording needs a new request and two new consents;
//! - the deployment turning recording off ends any request or recording.
//!
//! Order: whenever writing must stop, `Stop` is the first output of that
//! input, before any event to store, so a slow database never delays it.
//!
//! Structural guarantee: the recorder can only be started with a
//! [`RecordingGrant`], and the only way to obtain one is this machine's
//! transition to recording. A grant carries the two consents it rests on.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::ids::{ParticipantId, Role, UnixMillis};
use crate::protocol::{ErrorCode, RecordingPolicy, RecordingState, RecordingStatus};

/// Identifies one request and, if it is granted, the recording it leads to.
/// Supplied by the IO layer (a fresh UUID) so this machine stays pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordingId(pub uuid::Uuid);

impl std::fmt::Display for RecordingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a consent was given to: the hash of the notice text shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NoticeHash(pub String);

/// One participant's yes, as it must be stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub role: Role,
    pub participant: ParticipantId,
    pub at: UnixMillis,
    pub notice: NoticeHash,
}

/// Permission to write media for one recording. It has no public
/// constructor: only [`Consent`] makes one, when both participants have
/// consented.
#[derive(Debug, PartialEq, Eq)]
pub struct RecordingGrant {
    id: RecordingId,
    consents: [ConsentRecord; 2],
}

impl RecordingGrant {
    pub fn id(&self) -> RecordingId {
        self.id
    }

    /// The mentor's and the mentee's consent, in that order.
    pub fn consents(&self) -> &[ConsentRecord; 2] {
        &self.consents
    }
}

/// Every consent event, stored append-only and shown in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    Request,
    Consent,
    Decline,
    Revoke,
    Discard,
    Start,
    Stop,
    Interruption,
    /// A finished recording's audio and video were deleted and its
    /// transcript kept.
    DeleteMedia,
}

impl ConsentAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentAction::Request => "request",
            ConsentAction::Consent => "consent",
            ConsentAction::Decline => "decline",
            ConsentAction::Revoke => "revoke",
            ConsentAction::Discard => "discard",
            ConsentAction::Start => "start",
            ConsentAction::Stop => "stop",
            ConsentAction::Interruption => "interruption",
            ConsentAction::DeleteMedia => "delete_media",
        }
    }
}

/// One entry of the audit trail, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEvent {
    pub recording: RecordingId,
    pub action: ConsentAction,
    /// Who acted; `None` for the server's own actions (start, stop after a
    /// departure or a disk error).
    pub actor: Option<(Role, ParticipantId)>,
    pub at: UnixMillis,
    pub notice: NoticeHash,
    /// Why, for stops and interruptions.
    pub detail: Option<String>,
}

/// Why writing stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    Revoked {
        by: Role,
        discard: bool,
    },
    ParticipantLeft(Role),
    /// The recorder could not write (disk full, I/O error).
    WriteFailed(String),
    SessionEnded,
    /// Recording was turned off by the deployment's policy.
    PolicyOff,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentInput {
    /// A participant is in the call (joined or rejoined).
    Present {
        role: Role,
        participant: ParticipantId,
    },
    /// A participant left or dropped.
    Absent {
        role: Role,
    },
    Request {
        role: Role,
        id: RecordingId,
    },
    /// `notice`: the hash the client saw, when it says; otherwise the one
    /// the server showed.
    Consent {
        role: Role,
        notice: Option<NoticeHash>,
    },
    Decline {
        role: Role,
    },
    Revoke {
        role: Role,
        discard: bool,
    },
    /// The recorder stopped on its own (disk full, write error).
    RecorderFailed {
        reason: String,
    },
    /// The session ends for everyone.
    End,
    /// The deployment's policy changed for this session (an admin turned
    /// recording off or on). Anything but `Allowed` ends any request or
    /// recording at once.
    Policy(RecordingPolicy),
}

#[derive(Debug, PartialEq, Eq)]
pub enum ConsentOutput {
    /// Store this event (append-only) before acting on what follows.
    Event(ConsentEvent),
    /// Start writing media. Only ever emitted after the two consent events
    /// it rests on.
    Start(RecordingGrant),
    /// Stop writing at once and finalize the files.
    Stop { id: RecordingId, reason: StopReason },
    /// Delete what was written for this recording.
    Discard { id: RecordingId },
    /// Tell both participants the new state.
    Broadcast(RecordingStatus),
    /// Tell one participant why their action was refused.
    Refuse {
        role: Role,
        code: ErrorCode,
        message: &'static str,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Off,
    Requested {
        id: RecordingId,
        by: Role,
        consents: Vec<ConsentRecord>,
    },
    Recording {
        id: RecordingId,
        by: Role,
    },
}

#[derive(Debug)]
pub struct Consent {
    policy: RecordingPolicy,
    notice: NoticeHash,
    /// The same notice in other languages, as the operator wrote them: a
    /// consent to any of these is a consent to the notice.
    translations: Vec<NoticeHash>,
    present: [Option<ParticipantId>; 2],
    state: State,
    out: VecDeque<ConsentOutput>,
}

impl Consent {
    /// `notice` is the hash of the notice text this deployment shows now.
    pub fn new(policy: RecordingPolicy, notice: NoticeHash) -> Consent {
        Consent {
            policy,
            notice,
            translations: Vec::new(),
            present: [None, None],
            state: State::Off,
            out: VecDeque::new(),
        }
    }

    /// The hashes of the notice's translations (one text per language,
    /// written by the operator). A person may consent to the one they were
    /// shown; their consent and its event keep that text's hash.
    pub fn with_translations(mut self, translations: Vec<NoticeHash>) -> Consent {
        self.translations = translations;
        self
    }

    pub fn poll_output(&mut self) -> Option<ConsentOutput> {
        self.out.pop_front()
    }

    pub fn is_recording(&self) -> bool {
        matches!(self.state, State::Recording { .. })
    }

    /// The state as both participants see it (the caller adds the notice
    /// text, which this machine knows only by its hash).
    pub fn status(&self) -> RecordingStatus {
        let (state, consented, requested_by) = match &self.state {
            State::Off => (RecordingState::Off, Vec::new(), None),
            State::Requested { consents, by, .. } => (
                RecordingState::Requested,
                consents.iter().map(|c| c.role).collect(),
                Some(*by),
            ),
            State::Recording { by, .. } => {
                (RecordingState::Recording, Role::ALL.to_vec(), Some(*by))
            }
        };
        RecordingStatus {
            state,
            policy: self.policy,
            consented,
            requested_by,
            notice: None,
            notice_hash: Some(self.notice.0.clone()),
            translations: Default::default(),
        }
    }

    pub fn handle(&mut self, now: UnixMillis, input: ConsentInput) {
        match input {
            ConsentInput::Present { role, participant } => {
                // Someone new in a held role (a rejoin without a departure
                // first): whoever consented before is gone.
                if self.present[role.index()].is_some_and(|p| p != participant) {
                    self.present[role.index()] = None;
                    self.end_everything(now, StopReason::ParticipantLeft(role));
                }
                self.present[role.index()] = Some(participant);
            }
            ConsentInput::Absent { role } => {
                self.present[role.index()] = None;
                self.end_everything(now, StopReason::ParticipantLeft(role));
            }
            ConsentInput::Request { role, id } => self.request(now, role, id),
            ConsentInput::Consent { role, notice } => self.consent(now, role, notice),
            ConsentInput::Decline { role } => self.decline(now, role),
            ConsentInput::Revoke { role, discard } => self.revoke(now, role, discard),
            ConsentInput::RecorderFailed { reason } => {
                self.end_everything(now, StopReason::WriteFailed(reason));
            }
            ConsentInput::End => {
                self.end_everything(now, StopReason::SessionEnded);
                // Nobody is in the call any more: nothing can be requested.
                self.present = [None, None];
            }
            ConsentInput::Policy(policy) => self.set_policy(now, policy),
        }
    }

    fn set_policy(&mut self, now: UnixMillis, policy: RecordingPolicy) {
        if policy == self.policy {
            return;
        }
        self.policy = policy;
        if policy != RecordingPolicy::Allowed && self.state != State::Off {
            // Broadcasts the new status, policy included.
            return self.end_everything(now, StopReason::PolicyOff);
        }
        self.broadcast();
    }

    fn refuse(&mut self, role: Role, code: ErrorCode, message: &'static str) {
        self.out.push_back(ConsentOutput::Refuse {
            role,
            code,
            message,
        });
    }

    fn event(
        &mut self,
        now: UnixMillis,
        id: RecordingId,
        action: ConsentAction,
        actor: Option<Role>,
        detail: Option<String>,
    ) {
        let notice = self.notice.clone();
        self.event_on(now, id, action, actor, detail, notice);
    }

    /// An event about `notice`: a consent names the text its person read.
    fn event_on(
        &mut self,
        now: UnixMillis,
        id: RecordingId,
        action: ConsentAction,
        actor: Option<Role>,
        detail: Option<String>,
        notice: NoticeHash,
    ) {
        let actor = actor.and_then(|r| self.present[r.index()].map(|p| (r, p)));
        self.out.push_back(ConsentOutput::Event(ConsentEvent {
            recording: id,
            action,
            actor,
            at: now,
            notice,
            detail,
        }));
    }

    fn broadcast(&mut self) {
        let status = self.status();
        self.out.push_back(ConsentOutput::Broadcast(status));
    }

    fn both_present(&self) -> bool {
        self.present.iter().all(Option::is_some)
    }

    fn request(&mut self, now: UnixMillis, role: Role, id: RecordingId) {
        if self.policy != RecordingPolicy::Allowed {
            return self.refuse(
                role,
                ErrorCode::RecordingUnavailable,
                "recording is off for this session",
            );
        }
        if self.present[role.index()].is_none() {
            return self.refuse(role, ErrorCode::OutOfOrder, "you are not in the call");
        }
        if !self.both_present() {
            return self.refuse(
                role,
                ErrorCode::RecordingUnavailable,
                "recording needs both people in the call",
            );
        }
        if self.state != State::Off {
            return self.refuse(
                role,
                ErrorCode::OutOfOrder,
                "a recording is already requested or running",
            );
        }
        self.state = State::Requested {
            id,
            by: role,
            consents: Vec::with_capacity(2),
        };
        self.event(now, id, ConsentAction::Request, Some(role), None);
        self.broadcast();
    }

    fn consent(&mut self, now: UnixMillis, role: Role, notice: Option<NoticeHash>) {
        let Some(participant) = self.present[role.index()] else {
            return self.refuse(role, ErrorCode::OutOfOrder, "you are not in the call");
        };
        let notice = notice.unwrap_or_else(|| self.notice.clone());
        if notice != self.notice && !self.translations.contains(&notice) {
            return self.refuse(
                role,
                ErrorCode::RecordingUnavailable,
                "the recording notice has changed; read it again before consenting",
            );
        }
        let State::Requested { id, by, consents } = &mut self.state else {
            return self.refuse(
                role,
                ErrorCode::OutOfOrder,
                "there is no recording request to consent to",
            );
        };
        if consents.iter().any(|c| c.role == role) {
            return self.refuse(role, ErrorCode::OutOfOrder, "you have already consented");
        }
        let (id, by) = (*id, *by);
        consents.push(ConsentRecord {
            role,
            participant,
            at: now,
            notice: notice.clone(),
        });
        let complete = consents.len() == 2;
        self.event_on(now, id, ConsentAction::Consent, Some(role), None, notice);
        if complete && self.both_present() {
            let State::Requested { consents, .. } =
                std::mem::replace(&mut self.state, State::Recording { id, by })
            else {
                return;
            };
            let mut ordered = consents;
            ordered.sort_by_key(|c| c.role);
            let [first, second]: [ConsentRecord; 2] = match ordered.try_into() {
                Ok(pair) => pair,
                Err(_) => return,
            };
            self.event(now, id, ConsentAction::Start, None, None);
            self.out.push_back(ConsentOutput::Start(RecordingGrant {
                id,
                consents: [first, second],
            }));
        }
        self.broadcast();
    }

    fn decline(&mut self, now: UnixMillis, role: Role) {
        let id = match self.state {
            State::Requested { id, .. } => id,
            // A decline that crossed the second consent is still a no: it
            // stops like a revoke that keeps what was written.
            State::Recording { .. } => return self.revoke(now, role, false),
            State::Off => {
                return self.refuse(
                    role,
                    ErrorCode::OutOfOrder,
                    "there is no recording request to decline",
                );
            }
        };
        self.state = State::Off;
        self.event(now, id, ConsentAction::Decline, Some(role), None);
        self.broadcast();
    }

    fn revoke(&mut self, now: UnixMillis, role: Role, discard: bool) {
        match self.state {
            State::Recording { id, .. } => {
                self.state = State::Off;
                // Stop first: storing the events below may be slow, and a
                // "no" must not wait for the database to take effect.
                self.out.push_back(ConsentOutput::Stop {
                    id,
                    reason: StopReason::Revoked { by: role, discard },
                });
                self.event(now, id, ConsentAction::Revoke, Some(role), None);
                self.event(
                    now,
                    id,
                    ConsentAction::Stop,
                    None,
                    Some(format!("revoked by the {role}")),
                );
                if discard {
                    self.event(now, id, ConsentAction::Discard, Some(role), None);
                    self.out.push_back(ConsentOutput::Discard { id });
                }
                self.broadcast();
            }
            // Withdrawing before recording began is a decline.
            State::Requested { .. } => self.decline(now, role),
            State::Off => self.refuse(role, ErrorCode::OutOfOrder, "nothing is being recorded"),
        }
    }

    fn end_everything(&mut self, now: UnixMillis, reason: StopReason) {
        match std::mem::replace(&mut self.state, State::Off) {
            State::Off => {}
            State::Requested { id, .. } => {
                self.event(
                    now,
                    id,
                    ConsentAction::Decline,
                    None,
                    Some(describe(&reason)),
                );
                self.broadcast();
            }
            State::Recording { id, .. } => {
                let detail = describe(&reason);
                self.out.push_back(ConsentOutput::Stop { id, reason });
                self.event(now, id, ConsentAction::Interruption, None, Some(detail));
                self.broadcast();
            }
        }
    }
}

fn describe(reason: &StopReason) -> String {
    match reason {
        StopReason::Revoked { by, .. } => format!("revoked by the {by}"),
        StopReason::ParticipantLeft(role) => format!("the {role} left the call"),
        StopReason::WriteFailed(why) => format!("writing failed: {why}"),
        StopReason::SessionEnded => "the session ended".to_string(),
        StopReason::PolicyOff => "policy: recording was turned off on this server".to_string(),
    }
}

#[cfg(test)]
mod tests;
