//! The room's side of live captions: it applies each person's captions
//! action to the consent machine (`duet_signaling::captions`), keeps one
//! caption worker (`crate::captions`) running for exactly each speaker
//! who is captioned and not muted, and sends what the workers hear to
//! the pages that read captions. Every change of consent goes to the
//! audit log; the words themselves are stored nowhere.

use duet_signaling::captions::{CaptionsAction, CaptionsEvent};
use duet_signaling::protocol::{ErrorCode, ServerMessage};
use duet_signaling::{ConnId, Role, UnixMillis};

use super::Room;
use crate::captions::{CaptionWorker, CaptionsError, Heard};
use crate::media::PeerKey;

/// The room's captions: the workers it runs, and the speakers the cap
/// refused (not tried again until captions change).
#[derive(Default)]
pub(super) struct CaptionWorkers {
    running: [Option<CaptionWorker>; 2],
    refused: [bool; 2],
}

impl Room {
    /// A person's captions action, from their page.
    pub(super) fn captions_action(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        action: CaptionsAction,
        translate: bool,
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
        let refuse =
            |message: String| ServerMessage::error(ErrorCode::CaptionsUnavailable, message);
        if matches!(action, CaptionsAction::On | CaptionsAction::Accept)
            && !self.deps.captioner.available()
        {
            return self.send(conn, refuse(CaptionsError::Off.to_string()));
        }
        if action == CaptionsAction::On && translate && !self.deps.captioner.translates() {
            return self.send(
                conn,
                refuse("this server's speech model knows only English, so captions cannot be translated".into()),
            );
        }
        let other_present = self.session.participant(role.other()).is_some();
        match self.captions.act(role, action, translate, other_present) {
            Ok(event) => {
                if let Some(event) = event {
                    self.audit_captions(now, event);
                }
                // A new choice: a speaker the cap refused is tried again.
                self.caption_workers.refused = [false; 2];
            }
            Err(e) => self.send(conn, refuse(e.to_string())),
        }
    }

    /// Someone joined: asked at once if the other reads captions.
    pub(super) fn captions_present(&mut self, role: Role) {
        self.captions.present(role);
    }

    /// Someone left: what they turned on or agreed to ends now.
    pub(super) fn captions_absent(&mut self, now: UnixMillis, role: Role) {
        if let Some(event) = self.captions.absent(role) {
            self.audit_captions(now, event);
        }
        self.caption_workers.refused = [false; 2];
    }

    /// Starts and stops workers so that exactly the speakers who are
    /// captioned now, and not muted, are recognized. Cheap: run after
    /// every command.
    pub(super) fn sync_captions(&mut self) {
        for role in Role::ALL {
            let i = role.index();
            let key = PeerKey {
                session: self.id,
                role,
            };
            let speaking = self
                .session
                .participant(role)
                .is_some_and(|p| p.media.audio);
            let wanted = self.captions.captioned(role) && speaking;
            let translate = self.captions.translated(role);
            let running = &self.caption_workers.running[i];
            match running {
                Some(w) if wanted && w.translate == translate => continue,
                None if !wanted => continue,
                Some(_) => {
                    // Stopped before anything else: the tap first, so no
                    // more of their audio leaves the media path.
                    self.deps.media.caption(key, None);
                    self.caption_workers.running[i] = None;
                }
                None => {}
            }
            if !wanted || self.caption_workers.refused[i] {
                continue;
            }
            match self
                .deps
                .captioner
                .start(self.id, role, translate, self.heard.0.clone())
            {
                Ok(worker) => {
                    self.deps.media.caption(key, Some(worker.tap.clone()));
                    self.caption_workers.running[i] = Some(worker);
                }
                Err(e) => {
                    tracing::warn!(session = %self.id, %role, error = %e, "captions could not start");
                    self.caption_workers.refused[i] = true;
                    let readers: Vec<Role> = self.captions.readers().collect();
                    for reader in readers {
                        self.send_to_role(
                            reader,
                            ServerMessage::error(ErrorCode::CaptionsUnavailable, e.to_string()),
                        );
                    }
                }
            }
        }
    }

    /// Both pages learn the captions' state.
    pub(super) fn send_captions_status(&mut self) {
        let msg = ServerMessage::Captions {
            status: self.captions.status(),
            translation: self.deps.captioner.available() && self.deps.captioner.translates(),
        };
        for role in Role::ALL {
            self.send_to_role(role, msg.clone());
        }
    }

    /// A worker heard something: to every page that reads captions, if
    /// the worker is still the speaker's.
    pub(super) fn caption_heard(&mut self, heard: Heard) {
        let i = heard.role.index();
        let current = self.caption_workers.running[i]
            .as_ref()
            .is_some_and(|w| w.id == heard.worker);
        if !current || !self.captions.captioned(heard.role) {
            return;
        }
        let text = match heard.text {
            Ok(text) => text,
            Err(reason) => {
                // The worker stopped: so does the tap, and it is not
                // tried again until captions change.
                self.deps.media.caption(
                    PeerKey {
                        session: self.id,
                        role: heard.role,
                    },
                    None,
                );
                self.caption_workers.running[i] = None;
                self.caption_workers.refused[i] = true;
                let readers: Vec<Role> = self.captions.readers().collect();
                for reader in readers {
                    self.send_to_role(
                        reader,
                        ServerMessage::error(ErrorCode::CaptionsUnavailable, reason.clone()),
                    );
                }
                return;
            }
        };
        let name = self
            .session
            .participant(heard.role)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let msg = ServerMessage::Caption {
            role: heard.role,
            name,
            line: heard.line,
            text,
            is_final: heard.is_final,
            translated: heard.translated,
        };
        let readers: Vec<Role> = self.captions.readers().collect();
        for reader in readers {
            self.send_to_role(reader, msg.clone());
        }
    }

    /// Consent to captions goes to the append-only audit log: who, what,
    /// which session, when.
    fn audit_captions(&self, now: UnixMillis, event: CaptionsEvent) {
        let by = event.by();
        let name = self
            .session
            .participant(by)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let actor = format!("{by}:{name}");
        let detail = match event {
            CaptionsEvent::TurnedOn {
                translate: true, ..
            } => Some("translated into English".to_string()),
            _ => None,
        };
        let store = self.deps.store.clone();
        let session = self.id.to_string();
        let at_ms = now.0;
        tokio::spawn(async move {
            if let Err(e) = store
                .audit(at_ms, &actor, event.action(), Some(session), detail)
                .await
            {
                tracing::error!(error = %e, "could not store a captions event in the audit log");
            }
        });
    }
}
