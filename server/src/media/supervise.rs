//! Watching the media loop from outside. Panics on one connection's path
//! are caught inside the loop (see `engine::guard`); this catches the loop
//! itself ending by a panic outside those paths. The loop then holds no
//! connection any more, so the server says it is not ready (`/readyz`
//! 503) and an orchestrator replaces it, rather than accepting calls it
//! cannot carry.

use std::future::Future;

use crate::metrics::Heartbeat;

pub(super) fn spawn(run: impl Future<Output = ()> + Send + 'static, heartbeat: Heartbeat) {
    let task = tokio::spawn(run);
    tokio::spawn(async move {
        match task.await {
            Ok(()) => heartbeat.stop(),
            Err(e) if e.is_panic() => {
                heartbeat.stop();
                tracing::error!(
                    "the media loop panicked and stopped: calls cannot continue; \
                     /readyz now answers 503 so this instance gets replaced"
                );
            }
            Err(e) => {
                heartbeat.stop();
                tracing::error!(error = %e, "the media loop was cancelled");
            }
        }
    });
}
