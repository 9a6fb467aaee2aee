//! Duet's server: HTTP API, WebSocket signaling, the single-port SFU.
//!
//! Shape of a running server:
//! - `api` is the HTTP edge (one module per resource) and `ws` the
//!   signaling socket; both are thin and stateless.
//! - `hub` starts one `room` task per live session; the room owns that
//!   session's state machine (from `duet_signaling`) and is the only writer
//!   of it.
//! - `media` is one task that owns the UDP socket and every peer
//!   connection; rooms and sockets talk to it through a channel. ICE-TCP
//!   connections get a task each that feeds it.
//!
//! [`run`] takes its listeners and its shutdown signal from the caller, so
//! tests bind port 0 and stop the server when they like.

// No unwrap() or expect() outside tests: input, the network and the disk
// must never crash the server. Clippy refuses any new one.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod admin;
pub mod api;
pub mod captions;
pub mod cidr;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod datadir;
pub mod drain;
pub mod hub;
pub mod links;
pub mod media;
pub mod metrics;
pub mod pairs;
pub mod policy;
pub mod recorder;
pub mod reflection;
pub mod retention;
pub mod room;
pub mod serve;
pub mod sessions;
pub mod state;
pub mod store;
pub mod tls;
pub mod transcript;
pub mod turn;
pub mod ws;

#[cfg(test)]
mod tests_fuzz;

use std::future::Future;
use std::net::SocketAddr;

pub use config::Config;
pub use state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    DataDir(#[from] datadir::DataDirError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot bind {what} on {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("transcription.model: no model file at {0} (see `duet model download`)")]
    NoModel(String),
    #[error(
        "the link-signing secret stored in the database (duet_secrets) is damaged: expected 64 hex digits"
    )]
    BadSharedSecret,
    #[error("storage.url: {0}")]
    Storage(#[from] recorder::archive::ArchiveError),
}

/// The sockets a server runs on, bound before it starts.
pub struct Listeners {
    pub http: tokio::net::TcpListener,
    pub media: std::net::UdpSocket,
    /// ICE-TCP media, when `media.ice_tcp` is on.
    pub media_tcp: Option<std::net::TcpListener>,
}

impl Listeners {
    pub async fn bind(config: &Config) -> Result<Listeners, ServerError> {
        let http_addr = config.http.listen;
        let http = tokio::net::TcpListener::bind(http_addr)
            .await
            .map_err(|source| ServerError::Bind {
                what: "HTTP",
                addr: http_addr,
                source,
            })?;
        let media_addr = SocketAddr::new(config.media.bind, config.media.port);
        let media = std::net::UdpSocket::bind(media_addr).map_err(|source| ServerError::Bind {
            what: "media (UDP)",
            addr: media_addr,
            source,
        })?;
        let media_tcp = if config.media.ice_tcp {
            let addr = SocketAddr::new(config.media.bind, config.media.tcp_port);
            let listener =
                std::net::TcpListener::bind(addr).map_err(|source| ServerError::Bind {
                    what: "media (ICE-TCP)",
                    addr,
                    source,
                })?;
            Some(listener)
        } else {
            None
        };
        Ok(Listeners {
            http,
            media,
            media_tcp,
        })
    }
}

/// Runs the server until `shutdown` completes, then drains (see [`drain`]):
/// calls get the configured grace period, then every session ends and the
/// function returns once recordings are finished.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    run_with_signals(config, listeners, shutdown, std::future::pending()).await
}

/// [`run`], where `second` (a second signal) cuts the drain's grace period
/// short.
pub async fn run_with_signals(
    mut config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
    second: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    config.validate()?;
    // Before any file is opened, so every later open has the full limit.
    let limits = serve::ServeLimits::new(&config.http, serve::raise_nofile_limit());
    // Before anything else starts, so a wrong path fails fast and named.
    let tls = match (&config.http.tls_cert_file, &config.http.tls_key_file) {
        (Some(cert), Some(key)) => Some(tls::CertReloader::load(cert, key)?),
        _ => None,
    };
    let tls_config = tls.as_ref().map(|t| t.server_config()).transpose()?;
    datadir::ensure(&config.data_dir)?;
    let secret = datadir::signing_secret(&config.data_dir)?;
    let database = datadir::database(&config);
    tracing::info!(database = ?database, "opening the database");
    let store = store::Store::open_at(&database).await?;
    // Several nodes on one PostgreSQL database sign and check links with
    // one secret, kept there: the first node's own becomes everyone's.
    let secret = if store.backend() == store::Backend::Postgres {
        let shared = store
            .shared_secret("link_signing", &datadir::to_hex(&secret), clock::now_ms())
            .await?;
        datadir::parse_hex(&shared).ok_or(ServerError::BadSharedSecret)?
    } else {
        secret
    };
    let recordings = config.data_dir.join("recordings");
    std::fs::create_dir_all(&recordings)?;
    let archive = match &config.storage.url {
        Some(url) => {
            tracing::info!(storage = %url, "finished recordings go to the bucket");
            recorder::archive::Archive::open(url)?
        }
        None => recorder::archive::Archive::local(),
    };
    let metrics = metrics::Metrics::new(config.data_dir.clone());
    let model = config.transcription_model();
    if let Some(model) = &model
        && !model.is_file()
    {
        return Err(ServerError::NoModel(model.display().to_string()));
    }
    if model.is_some() && !transcript::engine::BUILT {
        tracing::warn!(
            "transcription.model is set, but this build has no transcription; it stays off"
        );
    }
    let transcriber = transcript::service::Transcriber::start(
        transcript::service::TranscriberSetup::new(
            &config.transcription,
            model.filter(|_| transcript::engine::BUILT),
            recordings.clone(),
        ),
        store.clone(),
        metrics.clone(),
    )
    .await?;
    // Discards a crash cut short are finished now; recordings it left open
    // are finalized (and queued for transcription) in the background, so
    // HTTP is up at once.
    let after: recorder::After = std::sync::Arc::new(transcriber.clone());
    recorder::recovery::start(
        recordings,
        store.clone(),
        Some(after.clone()),
        config.node_id(),
    )
    .await?;
    let advertise = media::advertised_ip(config.media.public_ip, config.media.bind);
    let media = media::MediaPlane::start(
        listeners.media,
        listeners.media_tcp,
        advertise,
        config.media.public_port,
        metrics.media.clone(),
        config.media.shard_count(),
        config.media.shard_fill,
    )?;
    let http_addr = listeners.http.local_addr()?;
    // Links without a public URL use the listen address: the bound one, so
    // `--listen 127.0.0.1:0` gives links with the real port.
    config.http.listen = http_addr;
    #[cfg(unix)]
    let reloads = tls::reload_on_sighup(tls.clone())?;
    tracing::info!(
        http = %http_addr,
        scheme = if tls.is_some() { "https" } else { "http" },
        media = %media.local_addr(),
        media_shards = media.shards(),
        media_tcp = %media.tcp_addr().map_or_else(|| "off".to_owned(), |a| a.to_string()),
        advertised = %advertise,
        max_connections = limits.max_connections,
        data = %config.data_dir.display(),
        "duet is running"
    );
    let policies = policy::Policies::load(&store, &config, clock::now_s() * 1000).await?;
    let cluster = cluster::Cluster::new(
        store.clone(),
        store::NodeAdvert {
            id: config.node_id(),
            media_addr: std::net::SocketAddr::new(
                advertise,
                config
                    .media
                    .public_port
                    .unwrap_or(media.local_addr().port()),
            )
            .to_string(),
            // Unset: the address HTTP is bound to, when that is one
            // address (not 0.0.0.0), else none (no pipe to this node).
            internal_url: config.internal_url.clone().unwrap_or_else(|| {
                if http_addr.ip().is_unspecified() {
                    String::new()
                } else {
                    format!("http://{http_addr}")
                }
            }),
        },
    );
    // Live before the first join: a node that cannot reach its database
    // does not start.
    cluster.heartbeat().await?;
    let state = AppState::new(
        config,
        state::Services {
            store,
            links: links::LinkSigner::new(secret),
            media: media.clone(),
            metrics,
            policies,
            transcriber,
            cluster: cluster.clone(),
            archive,
        },
    );
    let heartbeats = {
        let hub = state.hub().clone();
        // The lease ran out: this node may no longer hold calls, but the
        // deployment can (another node, or this one once its heartbeat
        // gets through again), so the pages reconnect at once.
        cluster.spawn(move || {
            let hub = hub.clone();
            tokio::spawn(async move {
                hub.end_all(
                    duet_signaling::protocol::EndReason::Moved,
                    std::time::Duration::from_secs(5),
                )
                .await;
            });
        })
    };
    let retention = retention::spawn(
        state.store().clone(),
        state.recorders().clone(),
        state.policies().clone(),
        state.config().retention.notes_days,
        state.config().node_id(),
    );
    let archiving = recorder::archive::sweep::spawn(recorder::archive::sweep::SweepSetup {
        root: state.recorders().root().to_path_buf(),
        store: state.store().clone(),
        archive: state.recorders().archive().clone(),
        transcribing: state.transcriber().enabled(),
        node: state.config().node_id(),
        node_lease: cluster::lease::LEASE,
        after: Some(after),
    });
    let app = api::app(state.clone());
    let drain = drain::drain(state.clone(), shutdown, second);
    let served = serve::serve(listeners.http, tls_config, app, limits, drain).await;
    #[cfg(unix)]
    reloads.abort();
    heartbeats.abort();
    if let Some(retention) = retention {
        retention.abort();
    }
    if let Some(archiving) = archiving {
        archiving.abort();
    }
    served?;
    media.shutdown();
    tracing::info!("duet stopped");
    Ok(())
}
