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

pub mod api;
pub mod cli;
pub mod config;
pub mod datadir;
pub mod hub;
pub mod links;
pub mod media;
pub mod recorder;
pub mod room;
pub mod sessions;
pub mod state;
pub mod store;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use duet_signaling::protocol::EndReason;

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
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
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

/// How long participants get to hear `session_ended` before sockets close.
const SHUTDOWN_NOTICE: Duration = Duration::from_secs(3);

/// How long shutdown waits for recordings to finish their files (the
/// process watchdog allows 9.5 s in all).
const RECORDING_FINALIZE: Duration = Duration::from_secs(5);

/// Runs the server until `shutdown` completes, then tells every participant
/// the session ended, closes their sockets and returns.
pub async fn run(
    mut config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    config.validate()?;
    datadir::ensure(&config.data_dir)?;
    let secret = datadir::signing_secret(&config.data_dir)?;
    let store = store::Store::open(&datadir::database_path(&config.data_dir))?;
    let recordings = config.data_dir.join("recordings");
    std::fs::create_dir_all(&recordings)?;
    {
        // Recordings a crash left open are finalized before anyone joins.
        let (store, runtime) = (store.clone(), tokio::runtime::Handle::current());
        tokio::task::spawn_blocking(move || {
            recorder::recovery::recover(&recordings, &store, &runtime)
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    }
    let advertise = media::advertised_ip(config.media.public_ip, config.media.bind);
    let media = media::MediaPlane::start(
        listeners.media,
        listeners.media_tcp,
        advertise,
        config.media.public_port,
    )?;
    let http_addr = listeners.http.local_addr()?;
    // Links without a public URL use the listen address: the bound one, so
    // `--listen 127.0.0.1:0` gives links with the real port.
    config.http.listen = http_addr;
    tracing::info!(
        http = %http_addr,
        media = %media.local_addr(),
        media_tcp = %media.tcp_addr().map_or_else(|| "off".to_owned(), |a| a.to_string()),
        advertised = %advertise,
        data = %config.data_dir.display(),
        "duet is running"
    );
    let state = AppState::new(config, store, links::LinkSigner::new(secret), media.clone());
    let app = api::app(state.clone());
    let stopping = state.clone();
    axum::serve(listeners.http, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: ending live sessions");
            stopping.start_draining();
            stopping
                .hub()
                .end_all(EndReason::ServerShutdown, SHUTDOWN_NOTICE)
                .await;
            // Recordings stopped by the ending finish their files first.
            stopping.recorders().wait_idle(RECORDING_FINALIZE).await;
        })
        .await?;
    media.shutdown();
    tracing::info!("duet stopped");
    Ok(())
}
