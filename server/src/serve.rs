//! The one HTTP server loop, for plain HTTP and HTTPS, with the limits that
//! keep slow or hoarding clients from starving the rest of the server.
//!
//! `axum::serve` has no header timeout, no idle timeout and no connection
//! cap: a black-box run held 1,500 half-sent requests open for a minute,
//! each a file descriptor that a recording then could not open. So Duet
//! runs its own accept loop over hyper's HTTP/1.1 connection:
//!
//! - a permit from a semaphore is taken *before* each accept, so at most
//!   `max_connections` descriptors are ever HTTP's (WebSockets included:
//!   the permit lives in the connection's IO, which the upgrade keeps);
//!   further clients wait in the kernel's backlog;
//! - hyper's `header_read_timeout` closes a connection whose request head
//!   does not arrive in time, also between keep-alive requests;
//! - a watchdog closes a connection on which no byte has moved either way
//!   for the idle timeout: a stalled body, or a download nobody reads. It
//!   stops watching once the connection is upgraded to a WebSocket.
//!
//! TLS handshakes run in the connection's own task (with their own time
//! limit), so one silent client never holds up the accept loop.

#[cfg(test)]
mod tests;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::api::ClientAddr;
use crate::config::HttpConfig;

/// The limits one server loop enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl ServeLimits {
    /// The configured limits, with the connection cap lowered to what the
    /// descriptor limit `nofile` (when known) leaves room for.
    pub fn new(http: &HttpConfig, nofile: Option<u64>) -> ServeLimits {
        ServeLimits {
            header_timeout: Duration::from_secs(http.header_timeout_s),
            idle_timeout: Duration::from_secs(http.idle_timeout_s),
            max_connections: connection_cap(http.max_connections, nofile),
        }
    }
}

/// At most three quarters of the descriptor limit go to HTTP, so the
/// database, the media sockets and every recording's files always find
/// descriptors, however many clients connect.
pub fn connection_cap(configured: usize, nofile: Option<u64>) -> usize {
    let cap = match nofile {
        Some(limit) => {
            let share = usize::try_from(limit / 4 * 3).unwrap_or(usize::MAX);
            configured.min(share)
        }
        None => configured,
    };
    cap.max(1)
}

/// Raises the soft limit on open descriptors to the hard one (the soft
/// default, often 1024, is far below what a busy server needs) and returns
/// the soft limit now in force; `None` when there is no limit.
pub fn raise_nofile_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => return limit.maximum,
            Err(e) => tracing::warn!(error = %e, "could not raise the open file limit"),
        }
    }
    limit.current
}

/// Serves `app` on `listener` (over TLS when `tls` is given) until
/// `shutdown` completes; then stops accepting, lets open requests finish
/// and returns once every connection has closed or been upgraded.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let acceptor = tls.map(TlsAcceptor::from);
    // Connections wait on `stop`'s receivers closing; the loop waits on
    // every clone of `done` being dropped.
    let (stop, stop_rx) = watch::channel(());
    let (done, done_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.map_err(io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let conn = Connection {
            app: app.clone(),
            peer,
            limits,
            stop: stop.clone(),
            _done: done_rx.clone(),
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                None => conn.run(tcp, permit).await,
                Some(acceptor) => {
                    if let Some(tls) = crate::tls::handshake(&acceptor, tcp, peer).await {
                        conn.run(tls, permit).await;
                    }
                }
            }
        });
    }
    drop((listener, stop_rx, done_rx));
    tracing::debug!("HTTP: no longer accepting; waiting for open requests");
    done.closed().await;
    Ok(())
}

/// As axum's own loop does: a client that gave up is routine; any other
/// error (such as running out of descriptors) would repeat at once, so
/// wait a moment before accepting again.
async fn accept_error(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting an HTTP connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One accepted connection, before its IO is known (plain or TLS).
struct Connection {
    app: Router,
    peer: SocketAddr,
    limits: ServeLimits,
    stop: watch::Sender<()>,
    _done: watch::Receiver<()>,
}

impl Connection {
    async fn run<I>(self, io: I, permit: OwnedSemaphorePermit)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Activity::new();
        let io = Tracked {
            inner: io,
            activity: activity.clone(),
            _permit: permit,
        };
        let peer = self.peer;
        // The peer address is kept for the limits and the audit log.
        let service = self
            .app
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(ClientAddr(peer)));
                req.map(Body::new)
            });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout);
        let conn = builder
            .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
            .with_upgrades();
        let mut conn = pin!(conn);
        let mut stopping = pin!(self.stop.closed());
        let mut stopped = false;
        let idle = self.limits.idle_timeout;
        let mut watchdog = pin!(tokio::time::sleep(idle));
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "HTTP connection ended with an error");
                    }
                    return;
                }
                () = &mut stopping, if !stopped => {
                    stopped = true;
                    conn.as_mut().graceful_shutdown();
                }
                () = &mut watchdog => {
                    let next = activity.last() + idle;
                    if next <= Instant::now() {
                        tracing::debug!("closing an HTTP connection on which nothing moved");
                        return;
                    }
                    watchdog.as_mut().reset(next);
                }
            }
        }
    }
}

/// When bytes last moved on a connection, shared between its IO and its
/// watchdog.
#[derive(Clone)]
struct Activity {
    start: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A connection's IO that notes every byte moved and holds the
/// connection's place under the cap for as long as the socket is open.
struct Tracked<I> {
    inner: I,
    activity: Activity,
    _permit: OwnedSemaphorePermit,
}

impl<I: AsyncRead + Unpin> AsyncRead for Tracked<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Tracked<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
