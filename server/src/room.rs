//! One live session's task: the single owner of its two state machines,
//! [`Session`] (who is in the call) and [`Consent`] (whether it may be
//! recorded). WebSocket tasks send it commands through a channel; it sends
//! each connection what the machines say, tells the media plane when a
//! participant's connection must go, and starts and stops the recorder only
//! as the consent machine decides (see `room/recording.rs`). It also keeps
//! the call's timing and talk time and stores them (`room/history.rs`).

mod call_clock;
mod captions;
mod history;
mod link_quality;
mod recording;

use std::collections::{BTreeMap, HashMap, VecDeque};

use duet_signaling::consent::{Consent, ConsentEvent, ConsentInput, NoticeHash, RecordingId};
use duet_signaling::protocol::{
    NoticeTranslation, RecordingAction, RecordingPolicy, RecordingStatus, ServerMessage,
    SessionInfo,
};
use duet_signaling::session::{Input, JoinRequest, Output, Session};
use duet_signaling::{ConnId, Role, SessionId, UnixMillis};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{mpsc, oneshot};

use crate::clock::now_millis;
use crate::media::{MediaPlane, PeerKey, TalkReceipt};
use crate::metrics::Metrics;
use crate::policy::{Notice, effective_policy};
use crate::recorder::service::{ActiveRecording, Recorders};
use crate::sessions::RoomSnapshot;
use crate::store::Store;

/// What a room sends to one WebSocket task.
// Moved once through a bounded channel; boxing would allocate per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum ToSocket {
    /// The connection holds `role`'s place now; sent before its `joined`,
    /// so the socket is in its joined phase when the client answers.
    Admitted(Role),
    Message(ServerMessage),
    /// Close the socket once what came before is sent.
    Close,
}

/// How often consent events the store refused are tried again.
const UNSTORED_RETRY_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// What a room needs from the rest of the server.
#[derive(Clone)]
pub(crate) struct RoomDeps {
    pub media: MediaPlane,
    pub recorders: Recorders,
    pub store: Store,
    pub notice: Notice,
    /// The notice in other languages (language → text and hash).
    pub translations: BTreeMap<String, Notice>,
    /// Whether the deployment allows recording, as the room starts.
    pub recording_allowed: bool,
    pub metrics: Metrics,
    /// This node's hold on the session: consent events are stored only
    /// while it holds (`None`: unfenced, in tests of the room alone).
    pub fence: Option<crate::store::Fence>,
    /// Starts live captions' workers (off without a speech model).
    pub captioner: crate::captions::Captioner,
}

pub(crate) enum RoomCommand {
    Join {
        req: JoinRequest,
        outbound: mpsc::Sender<ToSocket>,
    },
    Input(Input),
    Recording {
        conn: ConnId,
        action: RecordingAction,
        notice_hash: Option<String>,
        discard: bool,
    },
    /// A person's captions action (`room/captions.rs`).
    Captions {
        conn: ConnId,
        action: duet_signaling::captions::CaptionsAction,
        translate: bool,
    },
    /// The deployment's policy changed (an admin, the console).
    Policy {
        recording_allowed: bool,
    },
    Snapshot(oneshot::Sender<RoomSnapshot>),
    /// A message for everyone connected (the server is draining).
    Broadcast(ServerMessage),
}

pub(crate) struct Room {
    id: SessionId,
    info: SessionInfo,
    session: Session,
    consent: Consent,
    conns: HashMap<ConnId, mpsc::Sender<ToSocket>>,
    deps: RoomDeps,
    active: Option<ActiveRecording>,
    joined_at: HashMap<Role, UnixMillis>,
    /// The session's own recording policy, before the deployment's.
    session_policy: RecordingPolicy,
    /// Consent events the store refused, oldest first: retried in order
    /// before any later event is stored, and no recording starts while one
    /// is waiting (see `room/recording.rs`).
    unstored: VecDeque<ConsentEvent>,
    /// Writer threads report a failure here: the room's own channel, so a
    /// recorder never calls back into the hub.
    failures: (
        mpsc::UnboundedSender<RecorderFailure>,
        mpsc::UnboundedReceiver<RecorderFailure>,
    ),
    /// The call's timing and talk, stored as it goes (`room/history.rs`).
    call: call_clock::CallClock,
    /// `call` starts from what earlier rooms of the session stored; until
    /// that was read, nothing is written.
    call_restored: bool,
    /// `call` changed since its row was last queued or written.
    call_dirty: bool,
    /// Connections that left and the talk the media plane owes for them.
    leaving: FuturesUnordered<tokio::time::Timeout<TalkReceipt>>,
    /// Each person's connection quality, as told to the pages.
    quality: link_quality::QualityWatch,
    /// Who reads captions and who agreed to be captioned.
    captions: duet_signaling::captions::Captions,
    caption_workers: captions::CaptionWorkers,
    /// What the caption workers heard.
    heard: (
        mpsc::UnboundedSender<crate::captions::Heard>,
        mpsc::UnboundedReceiver<crate::captions::Heard>,
    ),
}

/// A recording whose writer stopped on its own, and why.
type RecorderFailure = (RecordingId, crate::recorder::WriterStopped);

impl Room {
    /// `session_policy` is the session's own; the deployment's policy in
    /// `deps` may turn it off.
    pub(crate) fn new(info: SessionInfo, session_policy: RecordingPolicy, deps: RoomDeps) -> Room {
        let policy = effective_policy(deps.recording_allowed, session_policy);
        let translations = deps
            .translations
            .values()
            .map(|n| NoticeHash(n.hash.clone()))
            .collect();
        let consent = Consent::new(policy, NoticeHash(deps.notice.hash.clone()))
            .with_translations(translations);
        let mut session = Session::new(info.clone(), policy);
        session.set_recording(with_notice(consent.status(), &deps));
        Room {
            id: info.id,
            info,
            session,
            consent,
            conns: HashMap::new(),
            deps,
            active: None,
            joined_at: HashMap::new(),
            session_policy,
            unstored: VecDeque::new(),
            failures: mpsc::unbounded_channel(),
            call: Default::default(),
            call_restored: false,
            call_dirty: false,
            leaving: FuturesUnordered::new(),
            quality: Default::default(),
            captions: Default::default(),
            caption_workers: Default::default(),
            heard: mpsc::unbounded_channel(),
        }
    }

    /// Handles commands (and writer failures) until the room is idle:
    /// nobody holds a place, no socket is attached, no recording runs.
    /// Returns false when its channel closed. The hub, which owns the map of
    /// rooms, then decides whether it retires (`hub::run_room`).
    pub(crate) async fn run_until_idle(
        &mut self,
        commands: &mut mpsc::UnboundedReceiver<RoomCommand>,
    ) -> bool {
        let mut quality_tick = tokio::time::interval(link_quality::QUALITY_EVERY);
        quality_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Consent events the store refused are retried on their own, not
        // only when the next command comes: a quiet call may send none.
        let mut retry_tick = tokio::time::interval(UNSTORED_RETRY_EVERY);
        retry_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                // A failed writer first: it has already stopped writing.
                biased;
                Some((id, reason)) = self.failures.1.recv() => {
                    self.recorder_failed(now_millis(), id, reason);
                    self.apply_consent_outputs().await;
                }
                Some(heard) = self.heard.1.recv() => self.caption_heard(heard),
                Some(reply) = self.leaving.next(), if !self.leaving.is_empty() => {
                    self.talk_reported(reply);
                    self.queue_call_stats();
                }
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.step(cmd).await,
                    None => return false,
                },
                _ = quality_tick.tick(), if !self.conns.is_empty() => {
                    self.check_quality().await;
                }
                _ = retry_tick.tick(), if !self.unstored.is_empty() => {
                    self.apply_consent_outputs().await;
                }
            }
            if self.is_idle() {
                self.flush_call_stats().await;
                return true;
            }
        }
    }

    fn is_idle(&self) -> bool {
        let empty = Role::ALL
            .iter()
            .all(|r| self.session.participant(*r).is_none());
        // Not while consent events wait to be stored: a retired room
        // would lose them.
        (self.session.is_ended() || empty)
            && self.conns.is_empty()
            && self.active.is_none()
            && self.leaving.is_empty()
            && self.unstored.is_empty()
    }

    /// One command, and everything the two machines say in answer.
    pub(crate) async fn step(&mut self, cmd: RoomCommand) {
        let now = now_millis();
        let mut disconnected = None;
        let captions_before = self.captions.status();
        let admitted_before = self.joined_at.len();
        match cmd {
            RoomCommand::Join { req, outbound } => {
                // Once per room, before its first join counts.
                self.restore_call().await;
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
            RoomCommand::Captions {
                conn,
                action,
                translate,
            } => self.captions_action(now, conn, action, translate),
            RoomCommand::Policy { recording_allowed } => {
                self.policy_changed(now, recording_allowed)
            }
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
        // Mute, join and leave all change who is captioned.
        self.sync_captions();
        // A newcomer learns the captions' state unless it is the default
        // (nobody reads them): pages start from that, and clients that
        // know nothing of captions see no new message in a plain call.
        let status = self.captions.status();
        let newcomer = self.joined_at.len() > admitted_before && status != Default::default();
        if status != captions_before || newcomer {
            self.send_captions_status();
        }
        if let Some(conn) = disconnected {
            self.conns.remove(&conn);
        }
        self.queue_call_stats();
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.deps.metrics
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
            // While a leaver's talk is owed these figures lack it; the
            // view then shows the stored row, never written without it.
            call: if self.leaving.is_empty() {
                self.call.stats(self.id, now_millis())
            } else {
                None
            },
            recording_clock: self.active.as_ref().map(|a| (a.id, a.started_at_ms)),
        }
    }

    fn recording_status(&self) -> RecordingStatus {
        with_notice(self.consent.status(), &self.deps)
    }

    fn send(&mut self, to: ConnId, msg: ServerMessage) {
        let Some(tx) = self.conns.get(&to) else {
            return;
        };
        // A client that does not read its socket fills its queue; it is
        // closed rather than allowed to hold the room up.
        if tx.try_send(ToSocket::Message(msg)).is_err() {
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
                        let _ = tx.try_send(ToSocket::Close);
                    }
                }
                Output::Admitted {
                    conn,
                    role,
                    participant,
                } => {
                    if let Some(tx) = self.conns.get(&conn) {
                        // Cannot be full: nothing was sent to it before.
                        let _ = tx.try_send(ToSocket::Admitted(role));
                    }
                    tracing::info!(session = %self.id, %role, "participant joined");
                    self.deps.metrics.participants_connected.inc();
                    self.joined_at.insert(role, now);
                    self.call_joined(now, role);
                    self.consent
                        .handle(now, ConsentInput::Present { role, participant });
                    self.captions_present(role);
                }
                Output::Removed { conn, role } => {
                    tracing::info!(session = %self.id, %role, "participant left");
                    self.deps.metrics.participants_connected.dec();
                    self.joined_at.remove(&role);
                    let key = PeerKey {
                        session: self.id,
                        role,
                    };
                    let talk = self.deps.media.leave(key, conn);
                    self.call_left(now, role, talk);
                    self.consent.handle(now, ConsentInput::Absent { role });
                    self.captions_absent(now, role);
                }
            }
        }
    }
}

/// The consent machine's status with the notice text people must read,
/// in each language the operator wrote it in.
fn with_notice(mut status: RecordingStatus, deps: &RoomDeps) -> RecordingStatus {
    if status.policy == RecordingPolicy::Allowed {
        status.notice = Some(deps.notice.text.to_string());
        status.translations = deps
            .translations
            .iter()
            .map(|(language, n)| {
                let translation = NoticeTranslation {
                    notice: n.text.to_string(),
                    notice_hash: n.hash.clone(),
                };
                (language.clone(), translation)
            })
            .collect();
    }
    status
}

#[cfg(test)]
mod tests;
