//! [`LightPeer`]: the load tool's cheap peer (`--peers light`). Its media runs on the
//! tool's one media thread ([`engine`]) with every other light peer's: a sans-IO `rtc`
//! connection per peer, built as the webrtc test peers are (same codecs, default
//! interceptors with NACK, reports and transport-wide sequence numbers, three m-lines),
//! sending the same media ([`media`]) and counted the same way. Only signaling is async
//! per peer: `join`, the offer with its host candidate, the answer, `leave`.

mod conn;
pub(crate) mod engine;
pub(crate) mod media;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::signal::{SignalClient, candidate_from_json, msg_type};
use crate::tasks::{TaskSet, wait_watch};
use conn::{PeerShared, Progress};
pub(crate) use engine::LightDriver;

/// One participant whose media the [`LightDriver`]'s loop runs.
pub(crate) struct LightPeer {
    id: usize,
    driver: LightDriver,
    shared: Arc<PeerShared>,
    signal: Arc<SignalClient>,
    errors: Arc<Mutex<Vec<String>>>,
    tasks: TaskSet,
}

impl LightPeer {
    /// Joins with `token` as `name`, sends the offer (its candidate inside) and applies the
    /// answer as it comes. Returns once the offer is sent.
    pub(crate) async fn join(
        driver: &LightDriver,
        ws_url: &str,
        token: &str,
        name: &str,
        fixture: &'static str,
    ) -> anyhow::Result<LightPeer> {
        let (signal, mut incoming) = SignalClient::connect(ws_url).await?;
        let signal = Arc::new(signal);
        signal.send_json(&json!({"type": "join", "token": token, "name": name}))?;
        crate::peer::wait_joined(&signal, &mut incoming).await?;
        let added = driver.add(fixture).await?;
        let peer = LightPeer {
            id: added.id,
            driver: driver.clone(),
            shared: added.shared,
            signal,
            errors: Arc::new(Mutex::new(Vec::new())),
            tasks: TaskSet::default(),
        };
        peer.signal
            .send_json(&json!({"type": "offer", "sdp": added.offer}))?;
        peer.tasks.spawn(negotiation_loop(
            peer.driver.clone(),
            peer.id,
            incoming,
            Arc::clone(&peer.errors),
        ));
        Ok(peer)
    }

    /// Waits until `cond` holds for the peer's progress; the error names any negotiation
    /// error met on the way.
    pub(crate) async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        cond: impl FnMut(&Progress) -> bool,
    ) -> anyhow::Result<()> {
        let mut rx = self.shared.progress();
        match wait_watch(&mut rx, timeout, what, cond).await {
            Ok(_) => Ok(()),
            Err(err) => match self.negotiation_errors() {
                errors if errors.is_empty() => Err(err),
                errors => Err(err.context(format!("negotiation errors: {errors:?}"))),
            },
        }
    }

    /// Its counters.
    pub(crate) fn shared(&self) -> &PeerShared {
        &self.shared
    }

    /// Sends `{"type":"leave"}`, closes the socket and the connection.
    pub(crate) fn leave(&self) {
        let _ = self.signal.send_json(&json!({"type": "leave"}));
        self.signal.close();
        self.tasks.abort_all();
        self.driver.close(self.id);
    }

    /// Errors met applying the server's answer and candidates.
    pub(crate) fn negotiation_errors(&self) -> Vec<String> {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Drop for LightPeer {
    fn drop(&mut self) {
        self.driver.close(self.id);
    }
}

/// Hands the server's answer and candidates to the loop. Duet does not renegotiate with a
/// 1:1 call's peers; an offer from it is logged and left unanswered.
async fn negotiation_loop(
    driver: LightDriver,
    id: usize,
    mut incoming: mpsc::UnboundedReceiver<Value>,
    errors: Arc<Mutex<Vec<String>>>,
) {
    let record = |err: String| {
        tracing::warn!("light peer {id}: {err}");
        if let Ok(mut errors) = errors.lock() {
            errors.push(err);
        }
    };
    while let Some(msg) = incoming.recv().await {
        let sdp = msg.get("sdp").and_then(Value::as_str);
        match (msg_type(&msg), sdp) {
            (Some("answer"), Some(sdp)) => {
                if let Err(err) = driver.answer(id, sdp.to_owned()).await {
                    record(format!("applying the answer: {err:#}"));
                }
            }
            (Some("candidate"), _) => {
                if let Some(c) = msg.get("candidate").and_then(candidate_from_json) {
                    driver.candidate(id, c);
                }
            }
            (Some("offer"), _) => {
                record("the server offered; light peers do not renegotiate".to_owned());
            }
            _ => {}
        }
    }
}
