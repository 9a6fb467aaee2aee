//! Running the media loops (a task on the server's runtime, or threads of
//! their own when there are several shards) and watching them from outside. Panics on one connection's path
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

/// A runtime for one media thread: its own, so a shard's loop never waits
/// behind the server's other tasks, and nothing moves it between cores.
pub(super) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Runs `run` on `runtime` in a thread of its own (a shard or the front),
/// stopping `heartbeat` when it ends, as [`spawn`] does for a task.
pub(super) fn spawn_thread(
    name: String,
    runtime: tokio::runtime::Runtime,
    run: impl Future<Output = ()> + Send + 'static,
    heartbeat: Heartbeat,
) -> std::io::Result<()> {
    std::thread::Builder::new().name(name).spawn(move || {
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(run)));
        heartbeat.stop();
        if outcome.is_err() {
            tracing::error!(
                "a media thread panicked and stopped: its calls cannot continue; \
                 /readyz now answers 503 so this instance gets replaced"
            );
        }
    })?;
    Ok(())
}
