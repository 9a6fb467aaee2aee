//! Short-lived TURN credentials by the TURN REST scheme that coturn
//! implements with `use-auth-secret` (draft-uberti-behave-turn-rest):
//! username `<unix expiry>:<user>`, password base64(HMAC-SHA1(secret,
//! username)). The TURN server checks the expiry and recomputes the HMAC, so
//! Duet and coturn share one secret and nothing else.

use hmac::{Hmac, Mac};
use sha1::Sha1;

use base64::Engine as _;
use duet_signaling::protocol::IceServer;

use crate::config::TurnConfig;

/// One participant's credentials, valid until `expires_at` (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnCredential {
    pub username: String,
    pub credential: String,
}

pub fn rest_credential(secret: &str, user: &str, expires_at: i64) -> TurnCredential {
    let username = format!("{expires_at}:{user}");
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(username.as_bytes());
    let credential = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    TurnCredential {
        username,
        credential,
    }
}

/// The TURN entry for a participant's `joined.ice_servers`, when the
/// deployment has a TURN server with a shared secret.
pub fn ice_server_for(config: &TurnConfig, user: &str, now_s: i64) -> Option<IceServer> {
    let secret = config.shared_secret.as_deref()?;
    if config.urls.is_empty() {
        return None;
    }
    let ttl = i64::try_from(config.credential_ttl_s).unwrap_or(i64::MAX);
    let cred = rest_credential(secret, user, now_s.saturating_add(ttl));
    Some(IceServer {
        urls: config.urls.clone(),
        username: Some(cred.username),
        credential: Some(cred.credential),
    })
}

#[cfg(test)]
mod tests;
