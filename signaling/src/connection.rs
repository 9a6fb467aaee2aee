//! The life of one signaling connection, before and after `join`.

use crate::protocol::{ClientMessage, ErrorCode};

/// Where a WebSocket connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionPhase {
    /// Connected; the only useful message now is `join`.
    AwaitingJoin,
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
