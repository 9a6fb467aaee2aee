//! What every handler shares: configuration, storage, link signing, the
//! room registry, the media plane and the recorders. Cheap to clone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use duet_signaling::ConnId;
use duet_signaling::protocol::IceServer;

use crate::config::Config;
use crate::hub::Hub;
use crate::links::LinkSigner;
use crate::media::MediaPlane;
use crate::metrics::Metrics;
use crate::recorder::service::Recorders;
use crate::room::Notice;
use crate::store::{Store, hash_api_key};

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: Store,
    links: LinkSigner,
    hub: Hub,
    media: MediaPlane,
    recorders: Recorders,
    /// Hashes of the keys from the config (and `DUET_API_KEY`).
    config_key_hashes: Vec<String>,
    next_conn: AtomicU64,
    draining: AtomicBool,
    metrics: Metrics,
}

impl AppState {
    pub fn new(
        config: Config,
        store: Store,
        links: LinkSigner,
        media: MediaPlane,
        metrics: Metrics,
    ) -> AppState {
        let config_key_hashes = config
            .auth
            .api_keys
            .iter()
            .map(|k| hash_api_key(k))
            .collect();
        let recorders = Recorders::new(
            config.data_dir.join("recordings"),
            store.clone(),
            metrics.clone(),
        );
        let notice = Notice::new(&config.recording.notice);
        AppState {
            inner: Arc::new(Inner {
                hub: Hub::new(
                    media.clone(),
                    recorders.clone(),
                    store.clone(),
                    notice,
                    metrics.clone(),
                ),
                metrics,
                recorders,
                config,
                store,
                links,
                media,
                config_key_hashes,
                next_conn: AtomicU64::new(1),
                draining: AtomicBool::new(false),
            }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn links(&self) -> &LinkSigner {
        &self.inner.links
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    pub fn media(&self) -> &MediaPlane {
        &self.inner.media
    }

    pub fn recorders(&self) -> &Recorders {
        &self.inner.recorders
    }

    pub fn next_conn_id(&self) -> ConnId {
        ConnId(self.inner.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::Relaxed)
    }

    pub fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::Relaxed);
        self.inner.metrics.draining.set(1);
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Whether `key` is one of the configured keys (compared by hash, so
    /// the comparison's timing says nothing about the key).
    pub fn is_config_api_key(&self, key: &str) -> bool {
        let hash = hash_api_key(key);
        self.inner.config_key_hashes.contains(&hash)
    }

    /// STUN/TURN servers for a participant's `joined` message: the fixed
    /// ones from the config, then TURN with credentials made for `user`.
    pub fn ice_servers(&self, user: &str) -> Vec<IceServer> {
        let config = &self.inner.config;
        let mut servers: Vec<IceServer> = config
            .media
            .ice_servers
            .iter()
            .map(|s| IceServer {
                urls: s.urls.clone(),
                username: s.username.clone(),
                credential: s.credential.clone(),
            })
            .collect();
        servers.extend(crate::turn::ice_server_for(&config.turn, user, now_s()));
        servers
    }
}

/// Now, in Unix seconds.
pub fn now_s() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
