//! Nodes and where each session lives: the only state several Duet nodes
//! share about calls. Each node heartbeats its row in `duet_nodes`; a
//! session is placed on one node at its first join by one statement, so
//! two people who join at once, through different nodes, always land on
//! the same one (LiveKit's room→node map was two steps and split rooms;
//! one `INSERT … ON CONFLICT` cannot).
//!
//! A placement carries a fencing epoch. It moves — the epoch going up by
//! one — only when its node's heartbeat is older than the lease, and the
//! node that lost it can no longer write for the session: writes that
//! must not come from a stale owner check the epoch in the same statement
//! ([`Store::holds`] and `consent.rs`).
//!
//! Times are the database caller's Unix milliseconds; nodes are expected
//! to keep their clocks in step (NTP), well within the lease.

use duet_signaling::SessionId;
use sqlx::Row;

use super::{Store, StoreError};

/// What a node says of itself at each heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAdvert {
    pub id: String,
    /// Where its media is (what its answers advertise), for the admin.
    pub media_addr: String,
    /// Where other nodes reach it (`DUET_INTERNAL_URL`).
    pub internal_url: String,
}

/// A node as stored, with how many sessions are placed on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    pub id: String,
    pub media_addr: String,
    pub internal_url: String,
    pub heartbeat_at_ms: i64,
    pub started_at_ms: i64,
    pub draining: bool,
    pub sessions: i64,
}

/// A session placed on a node now, for the admin's view of the nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldSession {
    pub node: String,
    pub session: String,
    pub title: String,
    pub placed_at_ms: i64,
}

/// Where a session lives, and the epoch of that placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPlacement {
    pub node: String,
    pub epoch: i64,
}

/// The right to write for a session: held by `node` while the session's
/// placement is at `epoch`. Writes that must not come from a node that
/// lost the session check it in the same statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub node: String,
    pub epoch: i64,
}

/// Live nodes: those whose heartbeat is at `live_since_ms` or later.
/// The least loaded of them that is not draining takes a new placement;
/// `$2`, the node asking, wins a tie (no pipe for the first person).
const PLACE: &str = "WITH candidate AS (
        SELECT n.id FROM duet_nodes n
        WHERE n.heartbeat_at_ms >= $3 AND n.draining = 0
        ORDER BY (SELECT count(*) FROM duet_placements p WHERE p.node_id = n.id),
                 CASE WHEN n.id = $2 THEN 0 ELSE 1 END,
                 n.id
        LIMIT 1
    )
    INSERT INTO duet_placements (session_id, node_id, epoch, placed_at_ms)
    SELECT $1, id, 1, $4 FROM candidate WHERE true
    ON CONFLICT (session_id) DO UPDATE SET
        node_id = excluded.node_id,
        epoch = duet_placements.epoch + 1,
        placed_at_ms = excluded.placed_at_ms
    WHERE duet_placements.node_id NOT IN
        (SELECT id FROM duet_nodes WHERE heartbeat_at_ms >= $3)
    RETURNING node_id, epoch";

/// A stored placement; one on no node (released, see [`Store::release`])
/// is none.
fn placement_from(row: Option<sqlx::any::AnyRow>) -> Result<Option<SessionPlacement>, StoreError> {
    let Some(r) = row else {
        return Ok(None);
    };
    let node: String = r.try_get(0)?;
    let epoch: i64 = r.try_get(1)?;
    Ok((!node.is_empty()).then_some(SessionPlacement { node, epoch }))
}

impl Store {
    /// Records that `node`, a process started at `started_ms`, is alive
    /// now (inserting it the first time). A draining process stays
    /// draining; a new process under the same id (the node restarted)
    /// starts out taking calls.
    pub async fn heartbeat(
        &self,
        node: &NodeAdvert,
        started_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut c = self.conn(super::Lane::Urgent).await?;
        sqlx::query(
            "INSERT INTO duet_nodes (id, media_addr, internal_url, heartbeat_at_ms, started_at_ms, draining)
             VALUES ($1, $2, $3, $4, $5, 0)
             ON CONFLICT (id) DO UPDATE SET
                media_addr = excluded.media_addr,
                internal_url = excluded.internal_url,
                heartbeat_at_ms = excluded.heartbeat_at_ms,
                draining = CASE WHEN duet_nodes.started_at_ms = excluded.started_at_ms
                                THEN duet_nodes.draining ELSE 0 END,
                started_at_ms = excluded.started_at_ms",
        )
        .bind(&node.id)
        .bind(&node.media_addr)
        .bind(&node.internal_url)
        .bind(now_ms)
        .bind(started_ms)
        .execute(&mut *c)
        .await?;
        Ok(())
    }

    /// Stops (or resumes) new placements on `node`: it is draining.
    pub async fn set_draining(&self, node: &str, draining: bool) -> Result<(), StoreError> {
        let mut c = self.normal().await?;
        sqlx::query("UPDATE duet_nodes SET draining = $2 WHERE id = $1")
            .bind(node)
            .bind(i64::from(draining))
            .execute(&mut *c)
            .await?;
        Ok(())
    }

    /// The internal URL `node` heartbeats with; `None` if it has none or
    /// is unknown.
    pub async fn node_internal_url(&self, node: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn(super::Lane::Urgent).await?;
        let url: Option<String> =
            sqlx::query_scalar("SELECT internal_url FROM duet_nodes WHERE id = $1")
                .bind(node)
                .fetch_optional(&mut *c)
                .await?;
        Ok(url.filter(|u| !u.is_empty()))
    }

    /// Every node that heartbeated since `since_ms`, by id.
    pub async fn nodes(&self, since_ms: i64) -> Result<Vec<NodeRow>, StoreError> {
        let mut c = self.normal().await?;
        let rows = sqlx::query(
            "SELECT n.id, n.media_addr, n.internal_url, n.heartbeat_at_ms, n.started_at_ms,
                    n.draining,
                    (SELECT count(*) FROM duet_placements p WHERE p.node_id = n.id)
             FROM duet_nodes n WHERE n.heartbeat_at_ms >= $1 ORDER BY n.id",
        )
        .bind(since_ms)
        .fetch_all(&mut *c)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(NodeRow {
                    id: r.try_get(0)?,
                    media_addr: r.try_get(1)?,
                    internal_url: r.try_get(2)?,
                    heartbeat_at_ms: r.try_get(3)?,
                    started_at_ms: r.try_get(4)?,
                    draining: r.try_get::<i64, _>(5)? != 0,
                    sessions: r.try_get(6)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The sessions placed on a node now (released ones are on none),
    /// newest first per node, at most `limit` in all: the console lists
    /// them under each node.
    pub async fn held_sessions(&self, limit: i64) -> Result<Vec<HeldSession>, StoreError> {
        let mut c = self.normal().await?;
        let rows = sqlx::query(
            "SELECT p.node_id, p.session_id, s.title, p.placed_at_ms
             FROM duet_placements p JOIN sessions s ON s.id = p.session_id
             WHERE p.node_id <> ''
             ORDER BY p.node_id, p.placed_at_ms DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *c)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(HeldSession {
                    node: r.try_get(0)?,
                    session: r.try_get(1)?,
                    title: r.try_get(2)?,
                    placed_at_ms: r.try_get(3)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Where `session` lives, placing it first if it lives nowhere, or
    /// moving it if its node's heartbeat is older than `live_since_ms`:
    /// to the least loaded live node that is not draining (`here`, the
    /// node asking, on a tie). One statement, so callers racing on any
    /// nodes all get the same answer. `None`: no live node can take it.
    pub async fn place(
        &self,
        session: SessionId,
        here: &str,
        now_ms: i64,
        live_since_ms: i64,
    ) -> Result<Option<SessionPlacement>, StoreError> {
        let id = session.0.to_string();
        let mut c = self.conn(super::Lane::Urgent).await?;
        // Twice at most: the holder may let the session go between the
        // two statements below (its room retired), and then the session
        // lives nowhere and must be placed anew.
        for _ in 0..2 {
            let placed = sqlx::query(PLACE)
                .bind(&id)
                .bind(here)
                .bind(live_since_ms)
                .bind(now_ms)
                .fetch_optional(&mut *c)
                .await?;
            if let Some(row) = placed {
                return placement_from(Some(row));
            }
            // Placed already on a live node (or nowhere to go): as stored.
            let row =
                sqlx::query("SELECT node_id, epoch FROM duet_placements WHERE session_id = $1")
                    .bind(&id)
                    .fetch_optional(&mut *c)
                    .await?;
            let stored = placement_from(row)?;
            if stored.is_some() {
                return Ok(stored);
            }
        }
        Ok(None)
    }

    /// Moves `session` from `from` to `to` with the next epoch, if it is
    /// still on `from`: for a node whose process is known to be gone. The
    /// new epoch, or `None` when it was not on `from` any more.
    pub async fn take_over(
        &self,
        session: SessionId,
        from: &str,
        to: &str,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut c = self.conn(super::Lane::Urgent).await?;
        let epoch: Option<i64> = sqlx::query_scalar(
            "UPDATE duet_placements SET node_id = $3, epoch = epoch + 1, placed_at_ms = $4
             WHERE session_id = $1 AND node_id = $2
             RETURNING epoch",
        )
        .bind(session.0.to_string())
        .bind(from)
        .bind(to)
        .bind(now_ms)
        .fetch_optional(&mut *c)
        .await?;
        Ok(epoch)
    }

    /// Where `session` lives, if anywhere; places nothing.
    pub async fn placement(
        &self,
        session: SessionId,
    ) -> Result<Option<SessionPlacement>, StoreError> {
        let mut c = self.normal().await?;
        let row = sqlx::query("SELECT node_id, epoch FROM duet_placements WHERE session_id = $1")
            .bind(session.0.to_string())
            .fetch_optional(&mut *c)
            .await?;
        placement_from(row)
    }

    /// Whether `node` still holds `session` at `epoch`.
    pub async fn holds(
        &self,
        session: SessionId,
        node: &str,
        epoch: i64,
    ) -> Result<bool, StoreError> {
        Ok(self.placement(session).await?
            == Some(SessionPlacement {
                node: node.into(),
                epoch,
            }))
    }

    /// The call ended on `node`: the session lives nowhere until its next
    /// join, which places it anew with the next epoch. Only the holder at
    /// `epoch` can let go.
    pub async fn release(
        &self,
        session: SessionId,
        node: &str,
        epoch: i64,
    ) -> Result<bool, StoreError> {
        // The row stays, on no node, so the epoch only ever goes up: a
        // node that held the session once can never match a later epoch.
        let mut c = self.normal().await?;
        let done = sqlx::query(
            "UPDATE duet_placements SET node_id = ''
             WHERE session_id = $1 AND node_id = $2 AND epoch = $3",
        )
        .bind(session.0.to_string())
        .bind(node)
        .bind(epoch)
        .execute(&mut *c)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests;
