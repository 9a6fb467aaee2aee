//! Driving the recording consent flow from two test peers, as two people
//! clicking "record" and "I agree".

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::TestPeer;

const T: Duration = Duration::from_secs(20);

/// A `recording` message with `action`.
pub fn recording(action: &str) -> Value {
    json!({"type": "recording", "action": action})
}

/// Waits until the peer's latest `recording` message has `state`; returns it.
pub async fn wait_state(peer: &TestPeer, state: &str) -> Value {
    let log = peer
        .signal()
        .wait_messages(T, |log| {
            log.iter()
                .rev()
                .find(|m| m["type"] == "recording")
                .is_some_and(|m| m["state"] == state)
        })
        .await
        .unwrap_or_else(|e| panic!("recording state {state}: {e}"));
    log.into_iter()
        .rev()
        .find(|m| m["type"] == "recording")
        .unwrap_or_default()
}

/// `requester` asks, both consent to the notice shown; returns when both
/// are told the recording runs.
pub async fn start_recording(requester: &TestPeer, other: &TestPeer) -> Instant {
    requester.send_json(&recording("request")).expect("request");
    let requested = wait_state(other, "requested").await;
    assert!(
        requested["notice"]
            .as_str()
            .is_some_and(|n| n.contains("recorded")),
        "{requested}"
    );
    let hash = requested["notice_hash"]
        .as_str()
        .expect("notice hash")
        .to_string();
    for peer in [requester, other] {
        peer.send_json(&json!({"type":"recording","action":"consent","notice_hash":hash}))
            .expect("consent");
    }
    wait_state(requester, "recording").await;
    wait_state(other, "recording").await;
    Instant::now()
}
