//! Who may do what with a pair: the one table every pair call of the API
//! goes through, kept pure so it can be read and tested in one place.
//!
//! Three kinds of caller reach a pair:
//! - an **admin** (API key or console): runs the pair (creates it, issues
//!   and revokes links, ends or deletes it, schedules for it) and sees its
//!   outline (people, schedule, past calls with their numbers), but never
//!   what the two people wrote: agenda, actions, notes, messages and the
//!   agreement belong to the pair;
//! - a **person** with their personal link: everything in their own pair,
//!   as their role, and nothing of any other pair;
//! - a **call** credential, the join token of one of the pair's calls: the
//!   in-call side panel's needs (agenda, actions, that call's notes), for
//!   as long as the join token is valid. It cannot read messages, change
//!   the schedule or export, so a join link forwarded to a third person
//!   does not open the whole relationship.
//!
//! Private notes are decided further down, per note ([`note_visible_to`]):
//! only their author ever gets them, whoever else asks.

use duet_signaling::{Role, SessionId};

/// Who is asking, once their credential has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Admin { actor: String },
    Person { role: Role },
    Call { role: Role, session: SessionId },
}

impl Caller {
    /// The person's role, for the kinds that are one of the two people.
    pub fn role(&self) -> Option<Role> {
        match self {
            Caller::Admin { .. } => None,
            Caller::Person { role } | Caller::Call { role, .. } => Some(*role),
        }
    }

    /// How the caller is named in the admin audit log and in logs.
    pub fn actor(&self) -> String {
        match self {
            Caller::Admin { actor } => actor.clone(),
            Caller::Person { role } | Caller::Call { role, .. } => format!("pair-{role}"),
        }
    }
}

/// Everything one can do with a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// The outline: title, people, schedule, past calls.
    ReadOutline,
    /// Issue or revoke links, edit, end, delete.
    Manage,
    /// Create, move, skip or cancel scheduled sessions.
    Schedule,
    /// Change one's own name or time zone.
    EditSelf,
    /// Mint a join token for the current or next session.
    Join,
    ReadAgenda,
    EditAgenda,
    ReadActions,
    EditActions,
    ReadNotes,
    WriteNotes,
    ReadMessages,
    WriteMessages,
    ReadAgreement,
    EditAgreement,
    /// Download one's own view of everything.
    Export,
}

/// Why an operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("only an admin may do this")]
    AdminOnly,
    #[error("only the pair's mentor and mentee may see or change this")]
    PeopleOnly,
    #[error("open your pair home from your personal link to do this")]
    PersonalLinkOnly,
    #[error("this pair has ended; it can be read and exported, not changed")]
    Ended,
}

/// Whether `caller` may do `op` on a pair that has ended or not. The
/// caller's credential has already been tied to this pair.
pub fn check(caller: &Caller, op: Operation, pair_ended: bool) -> Result<(), Denied> {
    use Operation::*;
    let content = matches!(
        op,
        ReadAgenda
            | EditAgenda
            | ReadActions
            | EditActions
            | ReadNotes
            | WriteNotes
            | ReadMessages
            | WriteMessages
            | ReadAgreement
            | EditAgreement
            | Export
    );
    match caller {
        Caller::Admin { .. } if content => return Err(Denied::PeopleOnly),
        Caller::Admin { .. } if matches!(op, EditSelf | Join) => return Err(Denied::PeopleOnly),
        Caller::Admin { .. } => {}
        Caller::Person { .. } if op == Manage => return Err(Denied::AdminOnly),
        Caller::Person { .. } => {}
        Caller::Call { .. } => match op {
            ReadOutline | ReadAgenda | EditAgenda | ReadActions | EditActions | ReadNotes
            | WriteNotes => {}
            Manage => return Err(Denied::AdminOnly),
            _ => return Err(Denied::PersonalLinkOnly),
        },
    }
    // An ended pair keeps its history readable (and deletable by an
    // admin), but nothing new is planned or written in it.
    let changes = matches!(
        op,
        Schedule
            | EditSelf
            | Join
            | EditAgenda
            | EditActions
            | WriteNotes
            | WriteMessages
            | EditAgreement
    );
    if pair_ended && changes {
        return Err(Denied::Ended);
    }
    Ok(())
}

/// A note's visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Its author alone, ever.
    Private,
    /// Both people of the pair.
    Shared,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Shared => "shared",
        }
    }

    pub fn parse(s: &str) -> Option<Visibility> {
        match s {
            "private" => Some(Visibility::Private),
            "shared" => Some(Visibility::Shared),
            _ => None,
        }
    }
}

/// Whether a note by `author` with `visibility` may be shown to `viewer`.
/// Admins have no role and so never reach here: notes are only ever read
/// on behalf of one of the two people. The store's query applies the same
/// rule in SQL; a test holds the two to each other.
pub fn note_visible_to(author: Role, visibility: Visibility, viewer: Role) -> bool {
    author == viewer || visibility == Visibility::Shared
}

/// Whether `viewer` may change or delete a note by `author`: its author
/// only, shared or not (the other person may read a shared note, not
/// rewrite it).
pub fn note_editable_by(author: Role, viewer: Role) -> bool {
    author == viewer
}

#[cfg(test)]
mod tests;
