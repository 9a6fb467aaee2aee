//! Admin accounts: argon2id password hashes, console session tokens, and a
//! limit on failed logins so passwords cannot be guessed at speed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub const MIN_PASSWORD_LEN: usize = 12;

/// How long a console login lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// Failed logins allowed in a window: per username (guessing one account's
/// password), and per client address (trying many accounts). The address
/// limit is looser because behind a reverse proxy every admin shares the
/// proxy's address, and one person's typos must not lock out the others.
pub const MAX_FAILURES_PER_USER: usize = 5;
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("usernames are 1 to 64 letters, digits, '.', '-', '_' or '@'")]
    BadUsername,
    #[error("passwords must be at least {MIN_PASSWORD_LEN} characters")]
    ShortPassword,
    #[error("could not hash the password: {0}")]
    Hash(String),
}

pub fn check_username(username: &str) -> Result<(), AdminError> {
    let ok = (1..=64).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok {
        Ok(())
    } else {
        Err(AdminError::BadUsername)
    }
}

pub fn hash_password(password: &str) -> Result<String, AdminError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AdminError::ShortPassword);
    }
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| AdminError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AdminError::Hash(e.to_string()))
}

/// Whether `password` matches the stored hash. A malformed hash matches
/// nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A fresh random token (console session cookie, CSRF token).
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Counts failed logins per username and per client address; a key with
/// too many recent failures is refused until they age out.
#[derive(Clone, Default)]
pub struct LoginLimiter {
    failures: Arc<Mutex<HashMap<String, Vec<Instant>>>>,
}

impl LoginLimiter {
    /// `Some(wait)` when any of `keys` has reached its limit of failures.
    pub fn locked(&self, keys: &[(String, usize)], now: Instant) -> Option<Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter()
            .filter_map(|(k, max)| {
                let times = map.get_mut(k)?;
                times.retain(|t| now.saturating_duration_since(*t) < FAILURE_WINDOW);
                (times.len() >= *max)
                    .then(|| {
                        times
                            .first()
                            .map(|t| FAILURE_WINDOW - now.saturating_duration_since(*t))
                    })
                    .flatten()
            })
            .max()
    }

    pub fn failed(&self, keys: &[(String, usize)], now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bound the map: forget keys whose failures have all aged out.
        if map.len() > 10_000 {
            map.retain(|_, v| {
                v.iter()
                    .any(|t| now.saturating_duration_since(*t) < FAILURE_WINDOW)
            });
        }
        for (k, _) in keys {
            map.entry(k.clone()).or_default().push(now);
        }
    }

    pub fn succeeded(&self, username_key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(username_key);
    }
}

#[cfg(test)]
mod tests;
