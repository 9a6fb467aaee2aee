//! The registry of live rooms. A room exists while someone is connected to
//! its session (or its recording is being finalized); the hub starts it on
//! the first join and forgets it when it retires. The lock here guards only
//! the map, never the media path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use duet_signaling::protocol::{
    EndReason, RecordingAction, RecordingPolicy, ServerMessage, SessionInfo,
};
use duet_signaling::session::{Input, JoinRequest};
use duet_signaling::{ConnId, SessionId};
use tokio::sync::{mpsc, oneshot};

use crate::cluster::Cluster;
use crate::media::MediaPlane;
use crate::metrics::Metrics;
use crate::policy::Policies;
use crate::recorder::service::Recorders;
use crate::room::{Room, RoomCommand, RoomDeps, ToSocket};
use crate::sessions::RoomSnapshot;
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
    /// Where sessions live; a retired room lets its placement go.
    cluster: Cluster,
    captioner: crate::captions::Captioner,
}

impl Hub {
    /// Also starts following the policy: every change reaches every live
    /// room (needs a tokio runtime).
    pub fn new(
        media: MediaPlane,
        recorders: Recorders,
        store: Store,
        policies: Policies,
        metrics: Metrics,
        cluster: Cluster,
        captioner: crate::captions::Captioner,
    ) -> Hub {
        let changes = policies.subscribe();
        let hub = Hub {
            inner: Arc::new(Inner {
                rooms: Mutex::new(HashMap::new()),
                media,
                recorders,
                store,
                policies,
                metrics,
                cluster,
                captioner,
            }),
        };
        tokio::spawn(follow_policy(Arc::downgrade(&hub.inner), changes));
        hub
    }

    /// Tells every live room the deployment's policy now.
    fn policy_changed(&self) {
        let recording_allowed = self.inner.policies.current().recording_allowed;
        for tx in self.rooms().values() {
            let _ = tx.send(RoomCommand::Policy { recording_allowed });
        }
    }

    fn rooms(&self) -> MutexGuard<'_, Rooms> {
        self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Read under the map lock (in `join`), so a room either starts with a
    /// policy change or is in the map when the change is sent to rooms.
    fn deps(&self, fence: crate::store::Fence) -> RoomDeps {
        let policy = self.inner.policies.current();
        RoomDeps {
            media: self.inner.media.clone(),
            recorders: self.inner.recorders.clone(),
            store: self.inner.store.clone(),
            // New rooms take the notice as it is now; a room keeps the one
            // it started with, which its consents refer to.
            notice: policy.notice,
            translations: policy.translations,
            recording_allowed: policy.recording_allowed,
            metrics: self.inner.metrics.clone(),
            fence: Some(fence),
            captioner: self.inner.captioner.clone(),
        }
    }

    fn send(&self, id: SessionId, cmd: RoomCommand) -> bool {
        match self.rooms().get(&id) {
            Some(tx) => tx.send(cmd).is_ok(),
            None => false,
        }
    }

    /// Hands a verified join to the session's room, starting it if needed.
    /// `policy` is the session's own; the room applies the deployment's.
    /// `epoch`: this node's placement of the session, which a new room's
    /// consent events are fenced by.
    pub fn join(
        &self,
        info: SessionInfo,
        policy: RecordingPolicy,
        req: JoinRequest,
        outbound: mpsc::Sender<ToSocket>,
        epoch: i64,
    ) {
        let id = info.id;
        let mut rooms = self.rooms();
        let tx = rooms.entry(id).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let fence = crate::store::Fence {
                node: self.inner.cluster.node_id().to_owned(),
                epoch,
            };
            let room = Room::new(info, policy, self.deps(fence));
            tokio::spawn(run_room(Arc::downgrade(&self.inner), id, room, rx));
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

    /// A person's captions action.
    pub fn captions(
        &self,
        id: SessionId,
        conn: ConnId,
        action: duet_signaling::captions::CaptionsAction,
        translate: bool,
    ) {
        self.send(
            id,
            RoomCommand::Captions {
                conn,
                action,
                translate,
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

    /// Removes an idle room unless commands arrived meanwhile. Returns
    /// whether it was removed (and its task may end).
    fn retire(&self, id: SessionId, queue: &mpsc::UnboundedReceiver<RoomCommand>) -> bool {
        let mut rooms = self.rooms();
        if !queue.is_empty() {
            return false;
        }
        rooms.remove(&id);
        true
    }
}

/// Passes each policy change on to the live rooms, until the hub is gone.
async fn follow_policy(
    hub: std::sync::Weak<Inner>,
    mut changes: tokio::sync::watch::Receiver<u64>,
) {
    while changes.changed().await.is_ok() {
        let Some(inner) = hub.upgrade() else { return };
        Hub { inner }.policy_changed();
    }
}

/// A room's task: runs it until it is idle, then retires it unless
/// something arrived meanwhile. Only the hub adds rooms to its map and
/// removes them, under its lock.
async fn run_room(
    hub: std::sync::Weak<Inner>,
    id: SessionId,
    mut room: Room,
    mut commands: mpsc::UnboundedReceiver<RoomCommand>,
) {
    let metrics = room.metrics().clone();
    metrics.sessions_active.inc();
    while room.run_until_idle(&mut commands).await {
        let Some(inner) = hub.upgrade() else { break };
        if (Hub {
            inner: inner.clone(),
        })
        .retire(id, &commands)
        {
            inner.cluster.release(id);
            break;
        }
    }
    metrics.sessions_active.dec();
    tracing::debug!(session = %id, "room closed");
}
