//! Signed join links.
//!
//! A token is `base64url(claims JSON) "." base64url(HMAC-SHA256(claims))`,
//! signed with the deployment's secret (`<data>/secret.key`). The claims
//! carry the session, the role, the expiry and a link id (so two links for
//! one role are told apart). Links put the token in the URL fragment
//! (`/join#<token>`), which browsers never send to servers, so it stays out
//! of proxies' access logs and `Referer` headers.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use duet_signaling::{Role, SessionId};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Format version.
    pub v: u8,
    pub sid: SessionId,
    pub role: Role,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Link id: random, per link.
    pub lid: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not valid: it was not issued by this server or has been altered")]
    Invalid,
    #[error("this link has expired")]
    Expired,
}

#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(..)")
    }
}

impl LinkSigner {
    pub fn new(key: [u8; 32]) -> Self {
        LinkSigner { key }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length; a 32-byte key cannot fail.
        match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
        }
    }

    pub fn sign(&self, claims: &Claims) -> String {
        self.sign_body(&serde_json::to_vec(claims).unwrap_or_default())
    }

    fn sign_body(&self, body: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(body);
        let sig = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(body),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// The signed body of a token, once its signature holds.
    fn verified_body(&self, token: &str) -> Result<Vec<u8>, LinkError> {
        if token.len() > 1024 {
            return Err(LinkError::Invalid);
        }
        let (body_b64, sig_b64) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let body = URL_SAFE_NO_PAD
            .decode(body_b64)
            .map_err(|_| LinkError::Invalid)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig_b64)
            .map_err(|_| LinkError::Invalid)?;
        let mut mac = self.mac();
        mac.update(&body);
        mac.verify_slice(&sig).map_err(|_| LinkError::Invalid)?;
        Ok(body)
    }

    /// Checks signature first (so nothing unauthenticated is parsed as
    /// claims), then expiry against `now_s` (Unix seconds).
    pub fn verify(&self, token: &str, now_s: i64) -> Result<Claims, LinkError> {
        let body = self.verified_body(token)?;
        let claims: Claims = serde_json::from_slice(&body).map_err(|_| LinkError::Invalid)?;
        if claims.v != 1 {
            return Err(LinkError::Invalid);
        }
        if now_s >= claims.exp {
            return Err(LinkError::Expired);
        }
        Ok(claims)
    }

    pub fn sign_pair(&self, claims: &PairClaims) -> String {
        self.sign_body(&serde_json::to_vec(claims).unwrap_or_default())
    }

    /// Like [`LinkSigner::verify`] for a pair token of kind `kind`. A join
    /// token never passes as a pair token nor the other way round: each
    /// lacks the other's required fields, and `typ` tells a personal link
    /// from a calendar feed.
    pub fn verify_pair(
        &self,
        token: &str,
        kind: PairTokenKind,
        now_s: i64,
    ) -> Result<PairClaims, LinkError> {
        let body = self.verified_body(token)?;
        let claims: PairClaims = serde_json::from_slice(&body).map_err(|_| LinkError::Invalid)?;
        if claims.v != 1 || claims.typ != kind {
            return Err(LinkError::Invalid);
        }
        if now_s >= claims.exp {
            return Err(LinkError::Expired);
        }
        Ok(claims)
    }
}

/// What a pair token opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairTokenKind {
    /// The person's pair home and API access as their role.
    Personal,
    /// Their calendar feed only (it sits in calendar apps' settings, so it
    /// must open nothing else).
    Feed,
}

/// What a valid personal link or feed token says. Revocation is not in
/// the token: the link row named by `lid` must still be live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairClaims {
    pub v: u8,
    pub typ: PairTokenKind,
    pub pid: crate::pairs::PairId,
    pub role: Role,
    pub exp: i64,
    pub lid: String,
}

/// The browser link to a person's pair home.
pub fn pair_url(base_url: &str, token: &str) -> String {
    format!("{base_url}/pair#{token}")
}

/// The browser link for a token.
pub fn join_url(base_url: &str, token: &str) -> String {
    format!("{base_url}/join#{token}")
}

/// A fresh random link id.
pub fn new_link_id() -> String {
    let bytes: [u8; 9] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests;
