//! The life of one signaling connection, before and after `join`.

use crate::protocol::{ClientMessage, ErrorCode};

/// Where a WebSocket connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionPhase {
    /// Connected; the only useful message now is `join`.
    AwaitingJoin,
    /// `join` was sent on to the session; its answer (`joined`, or a
    /// refusal that closes the socket) has not come yet.
    Joining,
    /// Admitted to a session as mentor or mentee.
    Joined,
    /// Left, replaced, refused or ended: nothing more is accepted.
    Closed,
}

impl ConnectionPhase {
    /// Whether `msg` may be handled in this phase; the error to send if not.
    pub fn check(self, msg: &ClientMessage) -> Result<(), (ErrorCode, &'static str)> {
        use ClientMessage as M;
        match (self, msg) {
            (_, M::Ping) => Ok(()),
            (ConnectionPhase::AwaitingJoin, M::Join { .. }) => Ok(()),
            (ConnectionPhase::AwaitingJoin, _) => {
                Err((ErrorCode::OutOfOrder, "send \"join\" with your token first"))
            }
            (ConnectionPhase::Joining, M::Join { .. }) => Err((
                ErrorCode::OutOfOrder,
                "this connection has already asked to join",
            )),
            (ConnectionPhase::Joining, _) => Err((
                ErrorCode::OutOfOrder,
                "wait for \"joined\" before sending more",
            )),
            (ConnectionPhase::Joined, M::Join { .. }) => {
                Err((ErrorCode::OutOfOrder, "this connection has already joined"))
            }
            (ConnectionPhase::Joined, _) => Ok(()),
            (ConnectionPhase::Closed, _) => Err((
                ErrorCode::OutOfOrder,
                "this connection has left the session",
            )),
        }
    }

    /// `join` was handed to the session.
    pub fn join_sent(self) -> ConnectionPhase {
        match self {
            ConnectionPhase::AwaitingJoin => ConnectionPhase::Joining,
            other => other,
        }
    }

    /// The session admitted this connection.
    pub fn admitted(self) -> ConnectionPhase {
        match self {
            ConnectionPhase::Joining => ConnectionPhase::Joined,
            other => other,
        }
    }

    /// Whether a `join` must still arrive (the join timeout runs).
    pub fn awaits_join(self) -> bool {
        self == ConnectionPhase::AwaitingJoin
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{MediaState, RecordingAction};

    fn every_message() -> Vec<ClientMessage> {
        let m = MediaState::default();
        vec![
            ClientMessage::Join {
                token: "t".into(),
                name: None,
            },
            ClientMessage::Offer { sdp: "v=0".into() },
            ClientMessage::Answer { sdp: "v=0".into() },
            ClientMessage::Candidate { candidate: None },
            ClientMessage::Media {
                audio: m.audio,
                video: m.video,
                screen: m.screen,
            },
            ClientMessage::Chat { text: "hi".into() },
            ClientMessage::Recording {
                action: RecordingAction::Request,
                notice_hash: None,
                discard: false,
            },
            ClientMessage::Leave,
            ClientMessage::Ping,
        ]
    }

    #[test]
    fn before_join_only_join_and_ping_pass() {
        for msg in every_message() {
            let ok = ConnectionPhase::AwaitingJoin.check(&msg).is_ok();
            let expected = matches!(msg, ClientMessage::Join { .. } | ClientMessage::Ping);
            assert_eq!(ok, expected, "{msg:?}");
        }
    }

    #[test]
    fn after_join_everything_but_join_passes() {
        for msg in every_message() {
            let ok = ConnectionPhase::Joined.check(&msg).is_ok();
            assert_eq!(ok, !matches!(msg, ClientMessage::Join { .. }), "{msg:?}");
        }
    }

    #[test]
    fn while_joining_only_ping_passes() {
        for msg in every_message() {
            let res = ConnectionPhase::Joining.check(&msg);
            assert_eq!(res.is_ok(), matches!(msg, ClientMessage::Ping), "{msg:?}");
            if let Err((code, _)) = res {
                assert_eq!(code, ErrorCode::OutOfOrder);
            }
        }
    }

    #[test]
    fn the_phases_follow_join_then_admission_and_never_go_back() {
        use ConnectionPhase::*;
        assert_eq!(AwaitingJoin.join_sent(), Joining);
        assert_eq!(Joining.admitted(), Joined);
        // Admission without a join sent, or twice, changes nothing.
        assert_eq!(AwaitingJoin.admitted(), AwaitingJoin);
        assert_eq!(Joined.join_sent(), Joined);
        assert_eq!(Closed.admitted(), Closed);
        assert_eq!(Closed.join_sent(), Closed);
        assert!(AwaitingJoin.awaits_join());
        assert!(!Joining.awaits_join() && !Joined.awaits_join() && !Closed.awaits_join());
    }

    #[test]
    fn closed_accepts_only_ping() {
        for msg in every_message() {
            let res = ConnectionPhase::Closed.check(&msg);
            assert_eq!(res.is_ok(), matches!(msg, ClientMessage::Ping), "{msg:?}");
            if let Err((code, _)) = res {
                assert_eq!(code, ErrorCode::OutOfOrder);
            }
        }
    }
}
