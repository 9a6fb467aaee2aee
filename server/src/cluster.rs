//! This node among others sharing one database: its heartbeat, its lease,
//! and the sessions placed on it (`store/placement.rs` has the rules the
//! database applies). One node with embedded SQLite runs the same code and
//! places every session on itself.
//!
//! A join asks [`Cluster::place`] where its session lives: here (with the
//! placement's epoch, which the room's writes may be fenced by), on another
//! node, or nowhere for now. A room that retires lets its placement go. The
//! heartbeat task renews the lease every [`lease::HEARTBEAT_EVERY`]; when
//! the lease runs out ([`lease::Lease`]) the node forgets what it held and
//! tells the server to stop its calls, before any other node may take them.

pub mod lease;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use duet_signaling::SessionId;

use crate::clock::now_ms;
use crate::store::{NodeAdvert, Store, StoreError};
use lease::{LEASE, Lease, LeaseState};

/// Where a session lives, as a join sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed {
    /// On this node, at this epoch.
    Here { epoch: i64 },
    /// On another live node.
    Elsewhere { node: String },
    /// Nowhere for now: no live node can take it, or this node's lease
    /// is not held (it lost touch with the database).
    Nowhere,
}

#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    advert: NodeAdvert,
    /// When this process started: a restart under the same id is a new
    /// node to the others (no longer draining).
    started_ms: i64,
    lease: Mutex<Lease>,
    /// The sessions placed here, with their epochs.
    held: Mutex<HashMap<SessionId, i64>>,
    /// Sessions whose placement here is being let go: a join of one waits
    /// until it is, or the release would clear the placement it gets.
    releasing: Mutex<std::collections::HashSet<SessionId>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Milliseconds of [`LEASE`], for the database's comparisons.
fn lease_ms() -> i64 {
    i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX)
}

impl Cluster {
    pub fn new(store: Store, advert: NodeAdvert) -> Cluster {
        Cluster {
            inner: Arc::new(Inner {
                store,
                advert,
                started_ms: now_ms(),
                lease: Mutex::new(Lease::default()),
                held: Mutex::new(HashMap::new()),
                releasing: Mutex::new(std::collections::HashSet::new()),
            }),
        }
    }

    pub fn node_id(&self) -> &str {
        &self.inner.advert.id
    }

    pub fn lease_state(&self) -> LeaseState {
        lock(&self.inner.lease).state()
    }

    /// One heartbeat; the lease's new state when it changed. Serving
    /// starts after the first one got through, so a join finds this node
    /// live.
    pub async fn heartbeat(&self) -> Result<Option<LeaseState>, StoreError> {
        let sent = Instant::now();
        let inner = &self.inner;
        inner
            .store
            .heartbeat(&inner.advert, inner.started_ms, now_ms())
            .await?;
        let changed = lock(&self.inner.lease).renewed(sent, Instant::now());
        if changed == Some(LeaseState::Lost) {
            self.forget_all();
        }
        Ok(changed)
    }

    /// Where `session` lives, placing it (here, if this node is the least
    /// loaded) when it lives nowhere or on a dead node.
    pub async fn place(&self, session: SessionId) -> Result<Placed, StoreError> {
        if !lock(&self.inner.lease).held_at(Instant::now()) {
            return Ok(Placed::Nowhere);
        }
        // A room of this session just retired here: its release lands
        // first, so this join places the session anew (a higher epoch)
        // rather than getting a placement the release then clears.
        let waiting_since = Instant::now();
        while lock(&self.inner.releasing).contains(&session)
            && waiting_since.elapsed() < std::time::Duration::from_secs(3)
        {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let now = now_ms();
        let placed = self
            .inner
            .store
            .place(session, self.node_id(), now, now - lease_ms())
            .await?;
        Ok(match placed {
            Some(p) if p.node == self.node_id() => {
                lock(&self.inner.held).insert(session, p.epoch);
                Placed::Here { epoch: p.epoch }
            }
            Some(p) => Placed::Elsewhere { node: p.node },
            None => Placed::Nowhere,
        })
    }

    /// Takes `session` over from `from`, whose process is gone (its port
    /// refuses connections), without waiting for its lease: the epoch goes
    /// up, so nothing `from` could still write counts. `None` when the
    /// session is no longer on `from`.
    pub async fn take_over(
        &self,
        session: SessionId,
        from: &str,
    ) -> Result<Option<i64>, StoreError> {
        if !lock(&self.inner.lease).held_at(Instant::now()) {
            return Ok(None);
        }
        let epoch = self
            .inner
            .store
            .take_over(session, from, self.node_id(), now_ms())
            .await?;
        if let Some(epoch) = epoch {
            lock(&self.inner.held).insert(session, epoch);
        }
        Ok(epoch)
    }

    /// The session's room retired: its placement here is let go, in the
    /// background (a failure only leaves it to move at the next join once
    /// this node is gone, or to stay here while it lives).
    pub fn release(&self, session: SessionId) {
        let Some(epoch) = lock(&self.inner.held).remove(&session) else {
            return;
        };
        lock(&self.inner.releasing).insert(session);
        let cluster = self.clone();
        tokio::spawn(async move {
            let store = &cluster.inner.store;
            if let Err(e) = store.release(session, cluster.node_id(), epoch).await {
                tracing::warn!(session = %session, error = %e, "letting a placement go");
            }
            lock(&cluster.inner.releasing).remove(&session);
        });
    }

    /// Where the other nodes reach `node` (its `internal_url`), if it
    /// said.
    pub async fn internal_url(&self, node: &str) -> Result<Option<String>, StoreError> {
        self.inner.store.node_internal_url(node).await
    }

    /// This node is draining: no new session is placed here. Best effort
    /// (the database may be what is failing); logged when it fails.
    pub async fn start_draining(&self) {
        if let Err(e) = self.inner.store.set_draining(self.node_id(), true).await {
            tracing::warn!(node = self.node_id(), error = %e, "marking this node as draining");
        }
    }

    /// Whether another node is live and takes calls: then a draining
    /// node's calls move there instead of ending. False when the database
    /// cannot say.
    pub async fn others_take_calls(&self) -> bool {
        let since = now_ms().saturating_sub(lease_ms());
        match self.inner.store.nodes(since).await {
            Ok(nodes) => nodes.iter().any(|n| n.id != self.node_id() && !n.draining),
            Err(e) => {
                tracing::warn!(error = %e, "looking for other nodes to move calls to");
                false
            }
        }
    }

    fn forget_all(&self) {
        lock(&self.inner.held).clear();
    }

    /// Heartbeats until the process ends. `on_lost` runs when the lease
    /// runs out: the server stops its calls there.
    pub fn spawn(&self, on_lost: impl Fn() + Send + 'static) -> tokio::task::JoinHandle<()> {
        let cluster = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(lease::HEARTBEAT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tick.tick().await;
                // First the clock: after a pause the lease may be gone
                // already, and that must be acted on before anything else.
                let expired = lock(&cluster.inner.lease).poll(Instant::now());
                // Never longer than a beat: a database that does not
                // answer must not keep the lease from being looked at.
                let result = match expired {
                    Some(_) => Ok(Some(LeaseState::Lost)),
                    None => tokio::time::timeout(lease::HEARTBEAT_EVERY, cluster.heartbeat())
                        .await
                        .unwrap_or_else(|_| Err(StoreError::Busy)),
                };
                match result {
                    Ok(Some(LeaseState::Lost)) => {
                        cluster.forget_all();
                        tracing::error!(
                            node = cluster.node_id(),
                            "lost the lease (no heartbeat reached the database in time): stopping this node's calls"
                        );
                        on_lost();
                    }
                    Ok(Some(state)) => {
                        tracing::info!(node = cluster.node_id(), ?state, "lease");
                        failing = false;
                    }
                    Ok(None) => failing = false,
                    Err(e) => {
                        if !failing {
                            tracing::warn!(node = cluster.node_id(), error = %e, "heartbeat failed");
                        }
                        failing = true;
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests;
