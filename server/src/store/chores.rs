//! Chores that must run once per deployment, not once per node (the
//! retention sweeps): a node does one only while it holds the chore's
//! lease in the database. One statement takes or renews it, so two nodes
//! asking at once never both get it; a holder that stops renewing (it
//! died) loses it when the lease runs out, and another node takes over.

use super::{Lane, Store, StoreError};

impl Store {
    /// Takes or renews the lease on chore `name` for `node` until
    /// `until_ms`, unless another node holds it past `now_ms`. True when
    /// `node` holds it now.
    pub async fn hold_chore(
        &self,
        name: &str,
        node: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut c = self.conn(Lane::Normal).await?;
        let held: Option<String> = sqlx::query_scalar(
            "INSERT INTO duet_chores (name, holder, until_ms) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE
                SET holder = excluded.holder, until_ms = excluded.until_ms
                WHERE duet_chores.holder = excluded.holder OR duet_chores.until_ms < $4
             RETURNING holder",
        )
        .bind(name)
        .bind(node)
        .bind(until_ms)
        .bind(now_ms)
        .fetch_optional(&mut *c)
        .await?;
        Ok(held.is_some())
    }
}

#[cfg(test)]
mod tests;
