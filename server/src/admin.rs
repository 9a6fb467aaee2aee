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

/// Failed logins allowed in a window, under three keys at once:
/// - a username from one client address (guessing from one place): 5 per
///   15 minutes. It is what usually locks, and it locks only that address,
///   so someone else's failures never lock the real admin out elsewhere;
/// - a client address over all usernames (trying many accounts): 20 per
///   15 minutes. Looser, because behind a reverse proxy without
///   `trusted_proxies` every admin shares the proxy's address;
/// - a username over all addresses (guessing spread over many addresses):
///   30 per hour, slower. It never locks the account out entirely: past it,
///   an address with no failures of its own for that username still gets
///   one attempt per [`USER_TRICKLE`] (for the username, over all such
///   addresses), so the real admin gets in after a short wait while an
///   attacker gets only a trickle of guesses.
pub const MAX_FAILURES_PER_USER_AND_ADDRESS: usize = 5;
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;
pub const MAX_FAILURES_PER_USER: usize = 30;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
pub const USER_FAILURE_WINDOW: Duration = Duration::from_secs(3600);
pub const USER_TRICKLE: Duration = Duration::from_secs(10);

/// One counter a login attempt is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLimit {
    pub key: String,
    pub max: usize,
    pub window: Duration,
    /// Past `max`, an attempt whose first limit (its own username and
    /// address) has no failures may still pass once per this interval.
    pub trickle: Option<Duration>,
}

/// The counters for a login of `username` (already checked with
/// [`check_username`], so keys stay short) from `client`. The first is the
/// one a successful login clears.
pub fn login_limits(username: &str, client: std::net::IpAddr) -> [LoginLimit; 3] {
    let user = username.to_lowercase();
    [
        LoginLimit {
            key: format!("user-address:{user}|{client}"),
            max: MAX_FAILURES_PER_USER_AND_ADDRESS,
            window: FAILURE_WINDOW,
            trickle: None,
        },
        LoginLimit {
            key: format!("address:{client}"),
            max: MAX_FAILURES_PER_ADDRESS,
            window: FAILURE_WINDOW,
            trickle: None,
        },
        LoginLimit {
            key: format!("user:{user}"),
            max: MAX_FAILURES_PER_USER,
            window: USER_FAILURE_WINDOW,
            trickle: Some(USER_TRICKLE),
        },
    ]
}

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

/// Counts failed logins per [`LoginLimit`] key; a key with too many
/// recent failures is refused until they age out (or, for a key with a
/// trickle, lets one attempt through per interval).
#[derive(Clone, Default)]
pub struct LoginLimiter {
    inner: Arc<Mutex<Counters>>,
}

#[derive(Default)]
struct Counters {
    failures: HashMap<String, Vec<Instant>>,
    /// Per trickled key: when its next attempt may pass.
    next_trickle: HashMap<String, Instant>,
}

/// `limit`'s failures still inside its window (older ones are dropped).
fn recent<'a>(
    failures: &'a mut HashMap<String, Vec<Instant>>,
    limit: &LoginLimit,
    now: Instant,
) -> &'a [Instant] {
    match failures.get_mut(&limit.key) {
        Some(times) => {
            times.retain(|t| now.saturating_duration_since(*t) < limit.window);
            times
        }
        None => &[],
    }
}

/// Keys kept before aged-out ones are forgotten.
const MAX_KEYS: usize = 10_000;

impl LoginLimiter {
    /// `Some(wait)` when any of `limits` has reached its maximum. An
    /// attempt let through by a trickle uses up that trickle's slot.
    pub fn locked(&self, limits: &[LoginLimit], now: Instant) -> Option<Duration> {
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Counters {
            failures,
            next_trickle,
        } = &mut *c;
        // Failures of this username from this very address: such an
        // attempt never gets the trickle.
        let own_clean = limits
            .first()
            .is_none_or(|l| recent(failures, l, now).is_empty());
        let mut wait = None;
        let mut trickles = Vec::new();
        for l in limits {
            let times = recent(failures, l, now);
            let (Some(first), true) = (times.first(), times.len() >= l.max) else {
                continue;
            };
            let w = l.window - now.saturating_duration_since(*first);
            match l.trickle {
                Some(every) if own_clean => {
                    let next = next_trickle.get(&l.key).copied().unwrap_or(now);
                    if next <= now {
                        trickles.push((l.key.clone(), now + every));
                    } else {
                        wait = wait.max(Some(next - now));
                    }
                }
                _ => wait = wait.max(Some(w)),
            }
        }
        if wait.is_none() {
            if next_trickle.len() > MAX_KEYS {
                next_trickle.retain(|_, next| *next > now);
            }
            next_trickle.extend(trickles);
        }
        wait
    }

    /// Counts an attempt as failed under each of `limits`.
    pub fn failed(&self, limits: &[LoginLimit], now: Instant) {
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        // Bound the map: forget keys whose failures have all aged out.
        if c.failures.len() > MAX_KEYS {
            c.failures.retain(|_, v| {
                v.iter()
                    .any(|t| now.saturating_duration_since(*t) < USER_FAILURE_WINDOW)
            });
        }
        for l in limits {
            c.failures.entry(l.key.clone()).or_default().push(now);
        }
    }

    /// Takes back one failure counted at `at` under each of `limits`: an
    /// attempt is counted before its password is checked (so concurrent
    /// guesses cannot outrun the limit), and undone when it succeeds.
    pub fn uncount(&self, limits: &[LoginLimit], at: Instant) {
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for l in limits {
            if let Some(times) = c.failures.get_mut(&l.key)
                && let Some(i) = times.iter().rposition(|t| *t == at)
            {
                times.remove(i);
            }
        }
    }

    /// Clears one key's failures (a successful login's own counter).
    pub fn succeeded(&self, limit: &LoginLimit) {
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        c.failures.remove(&limit.key);
    }
}

#[cfg(test)]
mod tests;
