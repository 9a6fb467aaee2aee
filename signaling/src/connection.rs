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
mod tests;
