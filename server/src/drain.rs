//! Shutting down without cutting people off mid-sentence.
//!
//! On the first signal the server drains: `/readyz` turns 503 and joins are
//! refused (load balancers and people go elsewhere), everyone in a call is
//! told how long it may go on, and calls continue until they end on their
//! own or `shutdown.grace_period_s` passes. A second signal cuts the grace
//! short. Either way every session then ends with `session_ended`, and
//! recordings finish their files before the process exits. When another
//! node of the deployment takes calls, the reason is `moved`: the clients
//! reconnect at once and the call goes on there.

use std::future::Future;
use std::time::Duration;

use duet_signaling::protocol::{EndReason, ServerMessage};

use crate::state::AppState;

/// How long participants get to hear `session_ended` before sockets close.
pub const SHUTDOWN_NOTICE: Duration = Duration::from_secs(3);

/// How long shutdown waits for recordings to finish their files.
pub const RECORDING_FINALIZE: Duration = Duration::from_secs(5);

/// Completes when the server may stop serving HTTP: after `first`, the
/// grace period (or `second`), the end of every session and of every
/// recording's files.
pub async fn drain(
    state: AppState,
    first: impl Future<Output = ()>,
    second: impl Future<Output = ()>,
) {
    first.await;
    let grace_s = state.config().shutdown.grace_period_s;
    state.start_draining();
    // No new placements here from now: joins of new sessions through any
    // node go to the others.
    state.cluster().start_draining().await;
    let live = state.hub().live_rooms();
    tracing::info!(
        live_sessions = live,
        grace_s,
        "draining: refusing new joins, letting calls finish"
    );
    if grace_s > 0 && live > 0 {
        state.hub().broadcast(&ServerMessage::ServerDraining {
            grace_s,
            message: format!(
                "This server is restarting. Your call can go on for up to {}; then it ends and you can rejoin from the same link in a minute.",
                human_duration(grace_s)
            ),
        });
        let until = tokio::time::Instant::now() + Duration::from_secs(grace_s);
        tokio::select! {
            _ = state.hub().wait_empty(until) => {}
            _ = second => tracing::info!("second signal: ending calls now"),
        }
    }
    // Another node takes calls: they move there (the clients reconnect at
    // once, and their joins are placed on a node that is not draining).
    let reason = if state.hub().live_rooms() > 0 && state.cluster().others_take_calls().await {
        EndReason::Moved
    } else {
        EndReason::ServerShutdown
    };
    tracing::info!(
        live_sessions = state.hub().live_rooms(),
        moved = reason == EndReason::Moved,
        "shutting down: ending live sessions"
    );
    state.hub().end_all(reason, SHUTDOWN_NOTICE).await;
    // Recordings stopped by the ending finish their files first.
    state.recorders().wait_idle(RECORDING_FINALIZE).await;
}

fn human_duration(s: u64) -> String {
    match s {
        1 => "1 second".into(),
        s if s < 120 => format!("{s} seconds"),
        s => format!("{} minutes", s / 60),
    }
}

#[cfg(test)]
mod tests;
