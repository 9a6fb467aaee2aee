//! The room's half of consent-gated recording: turning participants'
//! `recording` messages into consent inputs, and carrying out what the
//! consent machine decides, in order.
//!
//! Order matters: a `Stop` is always the first output of its input, and is
//! carried out at once (no await), before any event of it is stored; every
//! consent event is stored (or, if the store refuses it, kept to retry)
//! before the next output is acted on. Kept events are retried in order
//! before any later one is stored, and a `Start` is refused while one is
//! waiting. The recorder itself re-reads the stored trail before opening
//! any file.

use duet_signaling::consent::{ConsentInput, ConsentOutput, RecordingId, StopReason};
use duet_signaling::protocol::{
    ErrorCode, RecordingAction, RecordingPolicy, RecordingState, ServerMessage,
};
use duet_signaling::{ConnId, Role, UnixMillis};

use super::Room;

/// Consent events a room keeps waiting for a failing store. A few are made
/// per minute at most; past this the store is plainly gone, and further
/// events are logged and dropped rather than held without bound.
const MAX_UNSTORED: usize = 256;
use crate::clock::now_millis;
use crate::policy::effective_policy;
use crate::recorder::WriterStopped;
use crate::recorder::limits::LimitReached;
use crate::recorder::service::RecordingContext;

impl Room {
    pub(super) fn recording_action(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        action: RecordingAction,
        notice_hash: Option<String>,
        discard: bool,
    ) {
        let Some(role) = self.session.role_of(conn) else {
            return self.send(
                conn,
                ServerMessage::error(
                    ErrorCode::OutOfOrder,
                    "this connection is not in the session",
                ),
            );
        };
        let input = match action {
            RecordingAction::Request => ConsentInput::Request {
                role,
                id: RecordingId(uuid::Uuid::new_v4()),
            },
            RecordingAction::Consent => ConsentInput::Consent {
                role,
                notice: notice_hash.map(duet_signaling::consent::NoticeHash),
            },
            RecordingAction::Decline => ConsentInput::Decline { role },
            RecordingAction::Revoke => ConsentInput::Revoke { role, discard },
        };
        self.consent.handle(now, input);
    }

    /// The writer stopped on its own (a write error, a cap, a full disk).
    pub(super) fn recorder_failed(
        &mut self,
        now: UnixMillis,
        id: RecordingId,
        stopped: WriterStopped,
    ) {
        if self.active.as_ref().map(|a| a.id) != Some(id) {
            return;
        }
        tracing::warn!(session = %self.id, recording = %id, reason = %stopped, "recording stopped by its writer");
        self.consent.handle(
            now,
            ConsentInput::RecorderFailed {
                reason: stopped.to_string(),
            },
        );
        self.tell_both(writer_stopped_message(&stopped));
    }

    /// The deployment's policy changed: recording off ends a request or a
    /// recording at once, and both people are told why.
    pub(super) fn policy_changed(&mut self, now: UnixMillis, recording_allowed: bool) {
        let policy = effective_policy(recording_allowed, self.session_policy);
        let before = self.consent.status().state;
        self.consent.handle(now, ConsentInput::Policy(policy));
        if policy == RecordingPolicy::Allowed {
            return;
        }
        match before {
            RecordingState::Recording => self.tell_both(
                "Recording stopped: the administrator turned recording off on this server. \
                 What was recorded until now is kept. The call goes on.",
            ),
            RecordingState::Requested => self.tell_both(
                "The recording request was closed: the administrator turned recording off \
                 on this server. The call goes on.",
            ),
            RecordingState::Off => {}
        }
    }

    fn tell_both(&mut self, message: &'static str) {
        for role in Role::ALL {
            self.send_to_role(
                role,
                ServerMessage::error(ErrorCode::RecordingUnavailable, message),
            );
        }
    }

    pub(super) async fn apply_consent_outputs(&mut self) {
        // A stop acts before anything that may wait on the database: the
        // events an earlier failure left waiting, stored next, could take
        // as long as the database does to answer.
        let mut pending = std::collections::VecDeque::new();
        let mut stopped = false;
        while let Some(out) = self.consent.poll_output() {
            if let ConsentOutput::Stop { id, reason } = &out {
                self.stop_writer(*id, reason);
                stopped = true;
            }
            pending.push_back(out);
        }
        // And both people hear it stopped now, not once the database
        // answers (their pages say so again with the broadcast below).
        if stopped {
            self.broadcast_recording_status();
        }
        // Events an earlier failure left waiting go first, in order.
        self.store_unstored().await;
        // The outputs in their order; those the steps below cause come
        // after them, as the machine queued them.
        while let Some(out) = pending.pop_front().or_else(|| self.consent.poll_output()) {
            match out {
                ConsentOutput::Event(event) => {
                    if self.unstored.len() >= MAX_UNSTORED {
                        tracing::error!(session = %self.id, action = event.action.as_str(), "dropped a consent event: too many wait to be stored");
                    } else {
                        self.unstored.push_back(event);
                    }
                    self.store_unstored().await;
                }
                ConsentOutput::Start(grant) => {
                    if !self.unstored.is_empty() {
                        self.consent.handle(
                            now_millis(),
                            ConsentInput::RecorderFailed {
                                reason: "the consent trail could not be stored".into(),
                            },
                        );
                        continue;
                    }
                    let ctx = self.recording_context(&grant);
                    let failures = self.failures.0.clone();
                    let hook = Box::new(move |id, reason| {
                        let _ = failures.send((id, reason));
                    });
                    match self.deps.recorders.start(grant, ctx, hook).await {
                        Ok(active) => {
                            self.deps.media.record(self.id, active.tap.clone());
                            self.active = Some(active);
                        }
                        Err(e) => {
                            tracing::error!(session = %self.id, error = %e, "recording did not start");
                            self.tell_both(
                                "Recording could not start: the server could not store or write it. \
                                 Nothing was recorded. The call goes on.",
                            );
                            self.consent.handle(
                                now_millis(),
                                ConsentInput::RecorderFailed {
                                    reason: e.to_string(),
                                },
                            );
                        }
                    }
                }
                // Done above when it was pending; a no-op then.
                ConsentOutput::Stop { id, reason } => self.stop_writer(id, &reason),
                // The files go with the stop that precedes it (a revoke with
                // discard), which tells the writer to delete them.
                ConsentOutput::Discard { .. } => {}
                ConsentOutput::Broadcast(_) => self.broadcast_recording_status(),
                ConsentOutput::Refuse {
                    role,
                    code,
                    message,
                } => {
                    self.send_to_role(role, ServerMessage::error(code, message));
                }
            }
        }
    }

    /// Tells both people the recording's state now.
    fn broadcast_recording_status(&mut self) {
        let status = self.recording_status();
        self.session.set_recording(status.clone());
        for role in Role::ALL {
            self.send_to_role(role, ServerMessage::Recording(status.clone()));
        }
    }

    /// Stops the writer of recording `id` if it is the one running.
    fn stop_writer(&mut self, id: RecordingId, reason: &StopReason) {
        if self.active.as_ref().map(|a| a.id) == Some(id) {
            // The writer first: it checks before every packet, so nothing
            // more is written from here on.
            let discard = matches!(reason, StopReason::Revoked { discard: true, .. });
            if let Some(active) = self.active.take() {
                active.stop(discard);
            }
            self.deps.media.stop_recording(self.id);
            tracing::info!(session = %self.id, recording = %id, ?reason, "recording stopped");
        }
    }

    /// Stores waiting consent events oldest first, stopping at the first
    /// the store refuses so that the trail never holds them out of order;
    /// the rest are tried again before the next event is stored.
    async fn store_unstored(&mut self) {
        while let Some(event) = self.unstored.front() {
            let stored = match &self.deps.fence {
                Some(fence) => {
                    self.deps
                        .store
                        .append_consent_fenced(self.id, event, fence)
                        .await
                }
                None => self.deps.store.append_consent(self.id, event).await,
            };
            match stored {
                Ok(_) => {
                    self.deps.metrics.consent_event(event.action.as_str());
                    self.unstored.pop_front();
                }
                // Another node holds the session now (this one lost its
                // lease): this node may not add to its trail, ever, so the
                // event is not kept to retry. The room is being ended.
                Err(e @ crate::store::StoreError::Fenced { .. }) => {
                    tracing::error!(session = %self.id, error = %e, action = event.action.as_str(), "a consent event this node may no longer store");
                    self.unstored.pop_front();
                }
                Err(e) => {
                    tracing::error!(session = %self.id, error = %e, waiting = self.unstored.len(), "could not store a consent event; kept to retry");
                    return;
                }
            }
        }
    }

    fn recording_context(
        &self,
        grant: &duet_signaling::consent::RecordingGrant,
    ) -> RecordingContext {
        let participants = grant
            .consents()
            .iter()
            .map(|c| {
                let name = self
                    .session
                    .participant(c.role)
                    .map(|p| p.name.clone())
                    .unwrap_or_default();
                (c.role, c.participant, name)
            })
            .collect();
        RecordingContext {
            session: self.info.clone(),
            participants,
            notice_hash: self.deps.notice.hash.clone(),
            translation_hashes: self
                .deps
                .translations
                .values()
                .map(|n| n.hash.clone())
                .collect(),
            started_at_ms: now_millis().0,
        }
    }
}

/// What both people read when the writer stopped on its own.
fn writer_stopped_message(stopped: &WriterStopped) -> &'static str {
    match stopped {
        WriterStopped::Limit(LimitReached::Size(_))
        | WriterStopped::Limit(LimitReached::Duration(_)) => {
            "Recording stopped: it reached the longest or largest recording this server allows. \
             What was recorded is kept. The call goes on; you can ask to record again."
        }
        WriterStopped::Limit(LimitReached::LowSpace { .. }) => {
            "Recording stopped: the server's disk is almost full. \
             What was recorded until now is kept. The call goes on."
        }
        WriterStopped::Failed(_) => {
            "Recording stopped: the server could not write it (is its disk full?). \
             What was recorded until now is kept. The call goes on."
        }
    }
}
