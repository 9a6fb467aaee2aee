//! The registry of live rooms. A room exists while someone is connected to
//! its session; the hub starts it on the first join and forgets it when it
//! retires. The lock here guards only the map, never the media path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use duet_signaling::SessionId;
use duet_signaling::protocol::{EndReason, ParticipantInfo, RecordingPolicy, SessionInfo};
use duet_signaling::session::{Input, JoinRequest, Session};
use tokio::sync::{mpsc, oneshot};

use crate::media::MediaPlane;
use crate::room::{self, Outbound, RoomCommand};

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    rooms: Mutex<HashMap<SessionId, mpsc::UnboundedSender<RoomCommand>>>,
    media: MediaPlane,
}

impl Hub {
    pub fn new(media: MediaPlane) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                rooms: Mutex::new(HashMap::new()),
                media,
            }),
        }
    }

    fn rooms(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<SessionId, mpsc::UnboundedSender<RoomCommand>>> {
        self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands a verified join to the session's room, starting it if needed.
    pub fn join(
        &self,
        info: SessionInfo,
        policy: RecordingPolicy,
        req: JoinRequest,
        outbound: mpsc::Sender<Outbound>,
    ) {
        let id = info.id;
        let mut rooms = self.rooms();
        let tx = rooms.entry(id).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let session = Session::new(info, policy);
            tokio::spawn(room::run(
                id,
                session,
                rx,
                self.clone(),
                self.inner.media.clone(),
            ));
            tx
        });
        // Sent under the lock: a room only retires under it, after checking
        // its queue is empty, so nothing sent here is lost.
        let _ = tx.send(RoomCommand::Join { req, outbound });
    }

    /// Passes an input to a live room; does nothing if there is none.
    pub fn input(&self, id: SessionId, input: Input) {
        if let Some(tx) = self.rooms().get(&id) {
            let _ = tx.send(RoomCommand::Input(input));
        }
    }

    /// Who is in the session now.
    pub async fn participants(&self, id: SessionId) -> Vec<ParticipantInfo> {
        let (reply, rx) = oneshot::channel();
        let sent = match self.rooms().get(&id) {
            Some(tx) => tx.send(RoomCommand::Snapshot(reply)).is_ok(),
            None => false,
        };
        if !sent {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    pub fn end(&self, id: SessionId, reason: EndReason) {
        self.input(id, Input::End { reason });
    }

    /// Ends every live session and waits (up to `wait`) for their rooms to
    /// tell everyone and close.
    pub async fn end_all(&self, reason: EndReason, wait: Duration) {
        let ids: Vec<SessionId> = self.rooms().keys().copied().collect();
        for id in ids {
            self.end(id, reason);
        }
        let deadline = tokio::time::Instant::now() + wait;
        while !self.rooms().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn live_rooms(&self) -> usize {
        self.rooms().len()
    }

    /// Called by a room that has nobody left: removes it unless commands
    /// arrived meanwhile. Returns whether the room may stop.
    pub(crate) fn retire(
        &self,
        id: SessionId,
        queue: &mpsc::UnboundedReceiver<RoomCommand>,
    ) -> bool {
        let mut rooms = self.rooms();
        if !queue.is_empty() {
            return false;
        }
        rooms.remove(&id);
        true
    }
}
