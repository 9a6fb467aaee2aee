//! Limits per client at the HTTP edge, shared by every handler through an
//! `Extension`: who the client is behind trusted proxies ([`ClientIp`]),
//! how many WebSockets one address holds, and how many recording streams
//! one credential holds. The caps stop one participant or one address from
//! hoarding descriptors and blocking threads that calls and recordings
//! need.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use super::ClientAddr;
use super::client_ip::client_ip;
use crate::cidr::{Cidr, parse_all};
use crate::config::HttpConfig;

#[cfg(test)]
mod tests;

#[derive(Clone)]
pub struct Edge {
    inner: Arc<Inner>,
}

struct Inner {
    trusted: Vec<Cidr>,
    websockets: Slots<IpAddr>,
    max_websockets: usize,
    downloads: Slots<[u8; 32]>,
    max_downloads: usize,
}

impl Edge {
    pub fn new(http: &HttpConfig) -> Edge {
        // `Config::validate` refused bad entries before the server started.
        let trusted = parse_all(&http.trusted_proxies).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "http.trusted_proxies ignored");
            Vec::new()
        });
        Edge {
            inner: Arc::new(Inner {
                trusted,
                websockets: Slots::default(),
                max_websockets: http.max_websockets_per_address,
                downloads: Slots::default(),
                max_downloads: http.max_downloads_per_credential,
            }),
        }
    }

    /// A place for one more WebSocket from `ip`, unless it holds the most.
    pub fn websocket_slot(&self, ip: IpAddr) -> Option<HeldPlace<IpAddr>> {
        self.inner
            .websockets
            .try_take(ip, self.inner.max_websockets)
    }

    /// A place for one more recording stream by the request's credential
    /// (bearer token or console cookie), unless it holds the most.
    pub fn download_slot(&self, headers: &HeaderMap) -> Option<HeldPlace<[u8; 32]>> {
        let credential = super::auth::bearer_of(headers)
            .or_else(|| super::auth::session_cookie(headers))
            .unwrap_or("");
        // Hashed, so the map never holds a usable credential.
        let key: [u8; 32] = Sha256::digest(credential.as_bytes()).into();
        self.inner.downloads.try_take(key, self.inner.max_downloads)
    }
}

/// Counters per key with a cap; a [`HeldPlace`] gives its place back on drop.
pub struct Slots<K> {
    held: Arc<Mutex<HashMap<K, usize>>>,
}

impl<K> Default for Slots<K> {
    fn default() -> Self {
        Slots {
            held: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl<K: Hash + Eq + Clone> Slots<K> {
    pub fn try_take(&self, key: K, max: usize) -> Option<HeldPlace<K>> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let n = held.entry(key.clone()).or_insert(0);
        if *n >= max {
            if *n == 0 {
                held.remove(&key);
            }
            return None;
        }
        *n += 1;
        Some(HeldPlace {
            held: Arc::clone(&self.held),
            key,
        })
    }

    /// How many places `key` holds now.
    pub fn held(&self, key: &K) -> usize {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(key).copied().unwrap_or(0)
    }
}

/// One place under a [`Slots`] cap, held until dropped.
pub struct HeldPlace<K: Hash + Eq> {
    held: Arc<Mutex<HashMap<K, usize>>>,
    key: K,
}

impl<K: Hash + Eq> Drop for HeldPlace<K> {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                // The map holds only keys in use, so it cannot grow
                // without bound.
                held.remove(&self.key);
            }
        }
    }
}

/// The client's own address: the TCP peer, or behind a trusted proxy the
/// rightmost `X-Forwarded-For` hop that is not one. `0.0.0.0` when the
/// request came without a peer (a router called directly in a test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(ConnectInfo(ClientAddr(peer))) = parts.extensions.get::<ConnectInfo<ClientAddr>>()
        else {
            return Ok(ClientIp(IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
        };
        let trusted = parts
            .extensions
            .get::<Edge>()
            .map_or(&[][..], |e| &e.inner.trusted[..]);
        let hops = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        let hops: Vec<&str> = hops.collect();
        Ok(ClientIp(client_ip(peer.ip(), hops.into_iter(), trusted)))
    }
}
