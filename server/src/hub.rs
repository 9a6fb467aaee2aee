//! The registry of live rooms. A room exists while someone is connected to
//! its session (or its recording is being finalized); the hub starts it on
//! the first join and forgets it when it retires. The lock here guards only
//! the map, never the media path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use duet_signaling::consent::RecordingId;
use duet_signaling::protocol::{
    EndReason, RecordingAction, RecordingPolicy, ServerMessage, SessionInfo,
};
use duet_signaling::session::{Input, JoinRequest};
use duet_signaling::{ConnId, SessionId};
use tokio::sync::{mpsc, oneshot};

use crate::media::MediaPlane;
use crate::metrics::Metrics;
use crate::policy::Policies;
use crate::recorder::service::Recorders;
use crate::room::{Outbound, Room, RoomCommand, RoomDeps, RoomSnapshot};
use crate::store::Store;

type Rooms = HashMap<SessionId, mpsc::UnboundedSender<RoomCommand>>;

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    rooms: Mutex<Rooms>,
    media: MediaPlane,
    recorders: Recorders,
    store: Store,
    policies: Policies,
    metrics: Metrics,
}

impl Hub {
    pub fn new(
        media: MediaPlane,
        recorders: Recorders,
        store: Store,
        policies: Policies,
        metrics: Metrics,
    ) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                rooms: Mutex::new(HashMap::new()),
                media,
                recorders,
                store,
                policies,
                metrics,
            }),
        }
    }

    fn rooms(&self) -> MutexGuard<'_, Rooms> {
        self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn deps(&self) -> RoomDeps {
        RoomDeps {
            hub: self.clone(),
            media: self.inner.media.clone(),
            recorders: self.inner.recorders.clone(),
            store: self.inner.store.clone(),
            // New rooms take the notice as it is now; a room keeps the one
            // it started with, which its consents refer to.
            notice: self.inner.policies.current().notice,
            metrics: self.inner.metrics.clone(),
        }
    }

    fn send(&self, id: SessionId, cmd: RoomCommand) -> bool {
        match self.rooms().get(&id) {
            Some(tx) => tx.send(cmd).is_ok(),
            None => false,
        }
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
        let deps = self.deps();
        let mut rooms = self.rooms();
        let tx = rooms.entry(id).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(Room::new(info, policy, deps).run(rx));
            tx
        });
        // Sent under the lock: a room only retires under it, after checking
        // its queue is empty, so nothing sent here is lost.
        let _ = tx.send(RoomCommand::Join { req, outbound });
    }

    /// Passes an input to a live room; does nothing if there is none.
    pub fn input(&self, id: SessionId, input: Input) {
        self.send(id, RoomCommand::Input(input));
    }

    /// A participant's `recording` message.
    pub fn recording(
        &self,
        id: SessionId,
        conn: ConnId,
        action: RecordingAction,
        notice_hash: Option<String>,
        discard: bool,
    ) {
        self.send(
            id,
            RoomCommand::Recording {
                conn,
                action,
                notice_hash,
                discard,
            },
        );
    }

    /// A recording's writer stopped on its own.
    pub fn recorder_failed(&self, id: SessionId, recording: RecordingId, reason: String) {
        self.send(
            id,
            RoomCommand::RecorderFailed {
                id: recording,
                reason,
            },
        );
    }

    /// Who is in the session now and its recording state; `None` when no
    /// room is live.
    pub async fn snapshot(&self, id: SessionId) -> Option<RoomSnapshot> {
        let (reply, rx) = oneshot::channel();
        if !self.send(id, RoomCommand::Snapshot(reply)) {
            return None;
        }
        rx.await.ok()
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

    /// Tells everyone in every live session the same thing.
    pub fn broadcast(&self, msg: &ServerMessage) {
        for tx in self.rooms().values() {
            let _ = tx.send(RoomCommand::Broadcast(msg.clone()));
        }
    }

    /// Waits until no session is live, or `until` passes.
    pub async fn wait_empty(&self, until: tokio::time::Instant) {
        while !self.rooms().is_empty() && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
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
