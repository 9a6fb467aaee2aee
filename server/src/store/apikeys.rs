//! API keys: only a SHA-256 of each key is stored. Keys are 256 random bits,
//! so a fast hash is enough (no password stretching needed).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::{Store, StoreError};

/// A new random API key, as shown once to the operator.
pub fn new_api_key() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("duet_{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub fn hash_api_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// Stores the hash of `key`; returns the key's id.
    pub fn add_api_key_blocking(&self, key: &str, now_s: i64) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let hash = hash_api_key(key);
        self.block_on(async {
            sqlx::query("INSERT INTO api_keys (id, key_hash, created_at) VALUES ($1, $2, $3)")
                .bind(&id)
                .bind(hash)
                .bind(now_s)
                .execute(&mut *self.normal().await?)
                .await?;
            Ok(())
        })?;
        Ok(id)
    }

    pub async fn api_key_exists(&self, key: &str) -> Result<bool, StoreError> {
        let found = sqlx::query("SELECT id FROM api_keys WHERE key_hash = $1")
            .bind(hash_api_key(key))
            .fetch_optional(&mut *self.normal().await?)
            .await?;
        Ok(found.is_some())
    }
}
