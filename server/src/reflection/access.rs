//! Who may open a recording, and how much of it.
//!
//! The two people of the recorded session reach all of it, with the join
//! token of that session or, when the session is a call of their pair,
//! with their personal link. Administrators reach what
//! `recording.admin_access` grants. Anyone else reaches nothing, and is
//! told "no such recording", so ids cannot be probed.

use duet_signaling::SessionId;

use crate::config::AdminAccess;
use crate::pairs::PairId;

/// A checked credential, before it is tied to a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Admin,
    /// A join token: one session.
    Session(SessionId),
    /// A personal link: every call of one pair.
    Pair(PairId),
}

/// How much of a recording a caller reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// Media, transcript, metadata and trail.
    Full,
    /// The row, the manifest's facts and the trail: no audio, video or
    /// transcript text.
    Metadata,
}

/// What `cred` reaches of a recording of `session`, a call of `pair` (if
/// any); `None` when the recording is not theirs.
pub fn reach(
    cred: Credential,
    session: SessionId,
    pair: Option<PairId>,
    admin: AdminAccess,
) -> Option<Reach> {
    match cred {
        Credential::Admin => Some(match admin {
            AdminAccess::Full => Reach::Full,
            AdminAccess::Metadata => Reach::Metadata,
        }),
        Credential::Session(s) => (s == session).then_some(Reach::Full),
        Credential::Pair(p) => (pair == Some(p)).then_some(Reach::Full),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (SessionId, SessionId, PairId, PairId) {
        (
            SessionId(uuid::Uuid::new_v4()),
            SessionId(uuid::Uuid::new_v4()),
            PairId(uuid::Uuid::new_v4()),
            PairId(uuid::Uuid::new_v4()),
        )
    }

    #[test]
    fn the_two_people_reach_all_of_their_own_recording() {
        let (s, _, p, _) = ids();
        let full = AdminAccess::Full;
        assert_eq!(
            reach(Credential::Session(s), s, None, full),
            Some(Reach::Full)
        );
        assert_eq!(
            reach(Credential::Pair(p), s, Some(p), full),
            Some(Reach::Full)
        );
        // The setting is about administrators only.
        let meta = AdminAccess::Metadata;
        assert_eq!(
            reach(Credential::Session(s), s, Some(p), meta),
            Some(Reach::Full)
        );
    }

    #[test]
    fn nobody_else_reaches_anything() {
        let (s, other, p, other_pair) = ids();
        let full = AdminAccess::Full;
        assert_eq!(reach(Credential::Session(other), s, Some(p), full), None);
        assert_eq!(reach(Credential::Pair(other_pair), s, Some(p), full), None);
        // A personal link opens its pair's calls, not a call outside any pair.
        assert_eq!(reach(Credential::Pair(p), s, None, full), None);
    }

    #[test]
    fn admins_reach_what_the_setting_grants() {
        let (s, _, _, _) = ids();
        assert_eq!(
            reach(Credential::Admin, s, None, AdminAccess::Full),
            Some(Reach::Full)
        );
        assert_eq!(
            reach(Credential::Admin, s, None, AdminAccess::Metadata),
            Some(Reach::Metadata)
        );
    }
}
