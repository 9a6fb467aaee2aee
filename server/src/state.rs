//! What every handler shares: configuration, storage, link signing, the
//! room registry, the media plane and the recorders. Cheap to clone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use duet_signaling::ConnId;
use duet_signaling::protocol::IceServer;

use crate::clock::now_s;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::hub::Hub;
use crate::links::LinkSigner;
use crate::media::MediaPlane;
use crate::metrics::Metrics;
use crate::policy::Policies;
use crate::recorder::service::Recorders;
use crate::store::{Store, hash_api_key};
use crate::transcript::service::Transcriber;

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
    transcriber: Transcriber,
    /// Hashes of the keys from the config (and `DUET_API_KEY`).
    config_key_hashes: Vec<String>,
    next_conn: AtomicU64,
    draining: AtomicBool,
    metrics: Metrics,
    policies: Policies,
    /// Connectivity-check connections alive now.
    probes: Arc<AtomicUsize>,
    login_limiter: crate::admin::LoginLimiter,
    cluster: Cluster,
}

/// Most connectivity checks alive at once: each is a real connection on
/// the media plane, and the page is open to anyone.
const MAX_PROBES: usize = 32;

/// One running connectivity check; dropping it frees the place.
pub struct ProbeGuard(Arc<AtomicUsize>);

impl Drop for ProbeGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the server started before serving, for [`AppState::new`].
pub struct Services {
    pub store: Store,
    pub links: LinkSigner,
    pub media: MediaPlane,
    pub metrics: Metrics,
    pub policies: Policies,
    pub transcriber: Transcriber,
    pub cluster: Cluster,
    /// Where finished recordings are kept (`storage.url`).
    pub archive: crate::recorder::archive::Archive,
}

impl AppState {
    pub fn new(config: Config, services: Services) -> AppState {
        let Services {
            store,
            links,
            media,
            metrics,
            policies,
            transcriber,
            cluster,
            archive,
        } = services;
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
        )
        .with_limits((&config.recording).into())
        .with_after(std::sync::Arc::new(transcriber.clone()))
        .with_archive(archive)
        .with_node(config.node_id());
        AppState {
            inner: Arc::new(Inner {
                hub: Hub::new(
                    media.clone(),
                    recorders.clone(),
                    store.clone(),
                    policies.clone(),
                    metrics.clone(),
                    cluster.clone(),
                    crate::captions::Captioner::new(
                        Some(transcriber.clone()),
                        config.captions.max_speakers(),
                    ),
                ),
                cluster,
                policies,
                metrics,
                recorders,
                transcriber,
                config,
                store,
                links,
                media,
                config_key_hashes,
                next_conn: AtomicU64::new(1),
                draining: AtomicBool::new(false),
                probes: Arc::new(AtomicUsize::new(0)),
                login_limiter: Default::default(),
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

    pub fn cluster(&self) -> &Cluster {
        &self.inner.cluster
    }

    pub fn media(&self) -> &MediaPlane {
        &self.inner.media
    }

    pub fn recorders(&self) -> &Recorders {
        &self.inner.recorders
    }

    pub fn transcriber(&self) -> &Transcriber {
        &self.inner.transcriber
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

    /// A place for one more connectivity check, unless too many run.
    pub fn start_probe(&self) -> Option<ProbeGuard> {
        let probes = &self.inner.probes;
        let taken = probes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < MAX_PROBES).then_some(n + 1)
            })
            .is_ok();
        taken.then(|| ProbeGuard(Arc::clone(probes)))
    }

    /// Appends to the admin audit log.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: Option<String>,
        detail: Option<String>,
    ) -> Result<(), crate::store::StoreError> {
        self.inner
            .store
            .audit(now_s() * 1000, actor, action, target, detail)
            .await
    }

    pub fn login_limiter(&self) -> &crate::admin::LoginLimiter {
        &self.inner.login_limiter
    }

    pub fn policies(&self) -> &Policies {
        &self.inner.policies
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
