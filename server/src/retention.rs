//! Recordings do not outlive their purpose: with `retention.recordings_days`
//! set, a background job deletes finished recordings older than that, and
//! each deletion is recorded in the consent trail (actor `server`). With
//! `retention.notes_days` set, pairs' notes and messages not changed for
//! that long are deleted the same way (they have no trail).
//!
//! With several nodes on one database, one node at a time does it: the
//! one holding the `retention` chore's lease (`store::chores`), so no
//! recording is deleted twice and the trail records each deletion once.

use std::time::Duration;

use crate::policy::Policies;
use crate::recorder::deletion::{self, DeleteError, Deleter};
use crate::recorder::service::Recorders;
use crate::store::{Store, StoreError};

/// How often the job looks for expired recordings.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Deletes every finished recording that started more than `days` days
/// before `now_ms`; returns how many. A recording whose files cannot be
/// deleted is logged and tried again at the next sweep.
pub async fn sweep(
    store: &Store,
    recorders: &Recorders,
    days: u32,
    now_ms: i64,
) -> Result<usize, StoreError> {
    if days == 0 {
        return Ok(0);
    }
    let cutoff = now_ms.saturating_sub(i64::from(days) * DAY_MS);
    let mut deleted = 0;
    for row in store.recordings_started_before(cutoff).await? {
        let by = Deleter {
            actor: "server",
            detail: format!("deleted after the {days}-day retention period"),
        };
        match deletion::delete(store, recorders, &row, by, now_ms).await {
            Ok(()) => deleted += 1,
            Err(DeleteError::Store(e)) => return Err(e),
            Err(e) => {
                tracing::warn!(recording = %row.id, error = %e, "retention could not delete a recording")
            }
        }
    }
    Ok(deleted)
}

/// Deletes pairs' notes and messages last changed more than `days` days
/// before `now_ms`; returns how many.
pub async fn sweep_notes(store: &Store, days: u32, now_ms: i64) -> Result<usize, StoreError> {
    if days == 0 {
        return Ok(0);
    }
    store
        .expire_pair_content(now_ms.saturating_sub(i64::from(days) * DAY_MS))
        .await
}

/// The lease outlasts two sweeps, so its holder keeps it while it runs,
/// and another node takes over within two hours of its death.
const LEASE: Duration = Duration::from_secs(2 * 3600 + 600);

/// Runs [`sweep`] and [`sweep_notes`] now and then every hour, for as long
/// as the server runs, with the recordings' retention period the policy has
/// at each sweep, whenever this node (`node`) holds the chore's lease.
pub fn spawn(
    store: Store,
    recorders: Recorders,
    policies: Policies,
    notes_days: u32,
    node: String,
) -> Option<tokio::task::JoinHandle<()>> {
    Some(tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            let days = policies.current().retention_days;
            let now_ms = crate::clock::now_s() * 1000;
            let until_ms = now_ms.saturating_add(LEASE.as_millis() as i64);
            match store.hold_chore("retention", &node, now_ms, until_ms).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!("retention: another node holds the chore");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "retention: could not take the chore's lease");
                    continue;
                }
            }
            match sweep(&store, &recorders, days, now_ms).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, days, "retention: deleted expired recordings"),
                Err(e) => tracing::error!(error = %e, "retention sweep failed"),
            }
            match sweep_notes(&store, notes_days, now_ms).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    deleted = n,
                    days = notes_days,
                    "retention: deleted old notes and messages"
                ),
                Err(e) => tracing::error!(error = %e, "notes retention sweep failed"),
            }
        }
    }))
}

#[cfg(test)]
mod tests;
