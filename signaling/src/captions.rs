//! Live captions' consent: who reads captions, and whose speech may be
//! recognized for them.
//!
//! A person turns captions on for themselves, and that is also their
//! agreement to be captioned: they asked for it. The other person is then
//! asked, and only a speaker who agreed is ever captioned. Turning captions
//! off withdraws both, so when either person turns them off or leaves,
//! nothing of theirs is recognized and nothing reaches their page; an
//! agreement given to them ends too, so captions turned on again ask
//! again. A newcomer
//! joining a call where captions are on is asked at once.
//!
//! Whether a speaker is muted is not this machine's business: the room
//! recognizes a speaker only while [`Captions::captioned`] holds *and*
//! their microphone is on.

use serde::{Deserialize, Serialize};

use crate::Role;

/// What a person does about captions (`{"type":"captions","action":...}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptionsAction {
    /// Read captions (and be captioned).
    On,
    /// Stop reading captions and being captioned.
    Off,
    /// Agree to be captioned, asked by the other person.
    Accept,
    /// Refuse to be captioned, asked by the other person.
    Decline,
}

/// One person's captions, as both pages see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PersonCaptions {
    /// Reads captions.
    pub on: bool,
    /// Agreed to be captioned (always, while `on`).
    pub agreed: bool,
    /// Asked by the other person and has not answered yet.
    pub asked: bool,
    /// Reads the other person's captions translated into English.
    pub translate: bool,
}

/// Both people's captions (`{"type":"captions",...}` to both pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CaptionsStatus {
    pub mentor: PersonCaptions,
    pub mentee: PersonCaptions,
}

impl CaptionsStatus {
    pub fn of(&self, role: Role) -> &PersonCaptions {
        match role {
            Role::Mentor => &self.mentor,
            Role::Mentee => &self.mentee,
        }
    }
}

/// What an action changed, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptionsEvent {
    TurnedOn {
        by: Role,
        translate: bool,
    },
    Accepted {
        by: Role,
    },
    Declined {
        by: Role,
    },
    TurnedOff {
        by: Role,
    },
    /// Left the call: what they had agreed to ends with it.
    Left {
        by: Role,
    },
}

impl CaptionsEvent {
    /// The audit log's action name.
    pub fn action(&self) -> &'static str {
        match self {
            CaptionsEvent::TurnedOn { .. } => "captions_on",
            CaptionsEvent::Accepted { .. } => "captions_accept",
            CaptionsEvent::Declined { .. } => "captions_decline",
            CaptionsEvent::TurnedOff { .. } => "captions_off",
            CaptionsEvent::Left { .. } => "captions_left",
        }
    }

    pub fn by(&self) -> Role {
        match *self {
            CaptionsEvent::TurnedOn { by, .. }
            | CaptionsEvent::Accepted { by }
            | CaptionsEvent::Declined { by }
            | CaptionsEvent::TurnedOff { by }
            | CaptionsEvent::Left { by } => by,
        }
    }
}

/// An action that does not apply now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CaptionsRefused {
    #[error("nobody asked you to be captioned")]
    NotAsked,
}

/// The captions of one session.
#[derive(Debug, Clone, Default)]
pub struct Captions {
    status: CaptionsStatus,
}

impl Captions {
    pub fn status(&self) -> CaptionsStatus {
        self.status
    }

    fn person(&mut self, role: Role) -> &mut PersonCaptions {
        match role {
            Role::Mentor => &mut self.status.mentor,
            Role::Mentee => &mut self.status.mentee,
        }
    }

    /// Whether `role`'s speech may be recognized: they agreed, and
    /// somebody reads captions.
    pub fn captioned(&self, role: Role) -> bool {
        self.status.of(role).agreed && Role::ALL.iter().any(|r| self.status.of(*r).on)
    }

    /// Who reads captions now.
    pub fn readers(&self) -> impl Iterator<Item = Role> + '_ {
        Role::ALL.into_iter().filter(|r| self.status.of(*r).on)
    }

    /// Whether `speaker`'s captions are wanted in English: the other
    /// person reads them and asked for a translation.
    pub fn translated(&self, speaker: Role) -> bool {
        let other = self.status.of(speaker.other());
        other.on && other.translate
    }

    /// `role` acts; `present` says whether the other person is in the
    /// call (nobody to ask otherwise: they are asked when they join).
    pub fn act(
        &mut self,
        role: Role,
        action: CaptionsAction,
        translate: bool,
        other_present: bool,
    ) -> Result<Option<CaptionsEvent>, CaptionsRefused> {
        let other = role.other();
        match action {
            CaptionsAction::On => {
                let me = self.person(role);
                let was_on = me.on && me.translate == translate;
                *me = PersonCaptions {
                    on: true,
                    agreed: true,
                    asked: false,
                    translate,
                };
                let them = self.person(other);
                if other_present && !them.agreed {
                    them.asked = true;
                }
                Ok((!was_on).then_some(CaptionsEvent::TurnedOn {
                    by: role,
                    translate,
                }))
            }
            CaptionsAction::Off => {
                let me = self.person(role);
                let had = me.on || me.agreed;
                *me = PersonCaptions::default();
                self.nobody_asks(other);
                Ok(had.then_some(CaptionsEvent::TurnedOff { by: role }))
            }
            CaptionsAction::Accept => {
                let me = self.person(role);
                if !me.asked {
                    return Err(CaptionsRefused::NotAsked);
                }
                me.asked = false;
                me.agreed = true;
                Ok(Some(CaptionsEvent::Accepted { by: role }))
            }
            CaptionsAction::Decline => {
                let me = self.person(role);
                if !me.asked {
                    return Err(CaptionsRefused::NotAsked);
                }
                me.asked = false;
                Ok(Some(CaptionsEvent::Declined { by: role }))
            }
        }
    }

    /// `role` joined the call: asked at once if the other reads captions.
    pub fn present(&mut self, role: Role) {
        let asking = self.status.of(role.other()).on;
        let me = self.person(role);
        if asking && !me.agreed {
            me.asked = true;
        }
    }

    /// `role` left the call: everything they turned on or agreed to ends.
    pub fn absent(&mut self, role: Role) -> Option<CaptionsEvent> {
        let me = self.person(role);
        let had = me.on || me.agreed;
        *me = PersonCaptions::default();
        self.nobody_asks(role.other());
        had.then_some(CaptionsEvent::Left { by: role })
    }

    /// The one who asked `role` stopped reading captions: the question
    /// is moot, and the agreement it got ends with it (captions turned on
    /// again ask again).
    fn nobody_asks(&mut self, role: Role) {
        let them = self.person(role);
        if !them.on {
            *them = PersonCaptions::default();
        }
    }
}

#[cfg(test)]
mod tests;
