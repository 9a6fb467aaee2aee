//! Secrets every node of a deployment must share, kept in the database
//! they share: the first node to start puts its own there, and every node,
//! that one included, uses what the database holds. So a deployment that
//! grows from one node keeps its links valid (the first node's secret
//! wins), and nodes need no secret file mounted in common.

use super::{Lane, Store, StoreError};

impl Store {
    /// The secret called `name`: `candidate` if none was stored yet (it is
    /// stored now), else the one stored first. One statement, then a read,
    /// so nodes starting at once all end up with the same one.
    pub async fn shared_secret(
        &self,
        name: &str,
        candidate: &str,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let mut c = self.conn(Lane::Urgent).await?;
        sqlx::query(
            "INSERT INTO duet_secrets (name, value, created_at_ms) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .bind(now_ms)
        .execute(&mut *c)
        .await?;
        let value: String = sqlx::query_scalar("SELECT value FROM duet_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *c)
            .await?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[tokio::test]
    async fn the_first_secret_stored_is_everyones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_for_test(dir.path()).await;
        let first = store
            .shared_secret("link_signing", "aa", 1)
            .await
            .expect("first");
        assert_eq!(first, "aa");
        let second = store
            .shared_secret("link_signing", "bb", 2)
            .await
            .expect("second");
        assert_eq!(second, "aa", "a later node adopts the stored one");
        let other = store.shared_secret("other", "cc", 3).await.expect("other");
        assert_eq!(other, "cc", "each name its own");
    }
}
