//! [`TestPeer`]: a [`MediaPeer`] that joins a Duet session over the signaling WebSocket as
//! the offerer, trickles (or bundles) its candidates and answers server renegotiations.

use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::media_peer::{MediaPeer, PeerOptions};
use crate::signal::{
    SignalClient, candidate_from_json, candidate_to_json, ice_servers_from_json, msg_type,
};
use crate::tasks::TaskSet;

/// How long `join` waits for `joined`.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(15);

/// The server refused `join` with an `error` message. `TestPeer::join` returns it inside the
/// `anyhow::Error`; get it back with `err.downcast_ref::<JoinRefused>()`.
#[derive(Clone, Debug)]
pub struct JoinRefused {
    /// `error.code`, e.g. `session_full`.
    pub code: String,
    /// `error.message`.
    pub message: String,
    /// The whole error message.
    pub raw: Value,
}

impl std::fmt::Display for JoinRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "join refused: {} ({})", self.code, self.message)
    }
}

impl std::error::Error for JoinRefused {}

/// A WebRTC participant speaking Duet's signaling. Dereferences to its [`MediaPeer`] for
/// media, stats and keyframe requests.
pub struct TestPeer {
    media: Arc<MediaPeer>,
    signal: Arc<SignalClient>,
    joined: Value,
    errors: Arc<Mutex<Vec<String>>>,
    tasks: TaskSet,
}

impl Deref for TestPeer {
    type Target = MediaPeer;
    fn deref(&self) -> &MediaPeer {
        &self.media
    }
}

impl TestPeer {
    /// Connects, joins with `token`, builds the peer connection with the server's ICE servers
    /// and sends the offer. Returns once the offer is sent; use
    /// [`MediaPeer::wait_connected`] to wait for media.
    ///
    /// Fails with a [`JoinRefused`] inside if the server answers `join` with `error`.
    pub async fn join(ws_url: &str, token: &str, opts: PeerOptions) -> anyhow::Result<TestPeer> {
        let (signal, mut incoming) = SignalClient::connect(ws_url).await?;
        let signal = Arc::new(signal);
        signal.send_json(&json!({"type": "join", "token": token, "name": opts.name}))?;
        let joined = wait_joined(&signal, &mut incoming).await?;

        let ice_servers = ice_servers_from_json(&joined["ice_servers"]);
        let media = Arc::new(MediaPeer::new(ice_servers, &opts).await?);
        let candidates = media.take_local_candidates();
        let sdp = media.create_offer(!opts.trickle).await?;
        signal.send_json(&json!({"type": "offer", "sdp": sdp}))?;

        let peer = TestPeer {
            media,
            signal,
            joined,
            errors: Arc::new(Mutex::new(Vec::new())),
            tasks: TaskSet::default(),
        };
        if opts.trickle
            && let Some(mut candidates) = candidates
        {
            let signal = Arc::clone(&peer.signal);
            let media = Arc::clone(&peer.media);
            peer.tasks.spawn(async move {
                while let Some(candidate) = candidates.recv().await {
                    let value = match candidate {
                        Some(c) => candidate_to_json(&media.complete_candidate(c).await),
                        None => Value::Null,
                    };
                    if signal
                        .send_json(&json!({"type": "candidate", "candidate": value}))
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
        peer.tasks.spawn(negotiation_loop(
            Arc::clone(&peer.media),
            Arc::clone(&peer.signal),
            incoming,
            !opts.trickle,
            Arc::clone(&peer.errors),
        ));
        Ok(peer)
    }

    /// The server's `joined` message.
    pub fn joined(&self) -> &Value {
        &self.joined
    }

    /// The media side.
    pub fn media(&self) -> &MediaPeer {
        &self.media
    }

    /// The signaling socket.
    pub fn signal(&self) -> &SignalClient {
        &self.signal
    }

    /// Every server message received, `joined` included.
    pub fn messages(&self) -> Vec<Value> {
        self.signal.messages()
    }

    /// The first message of type `ty` ever received, waiting up to `timeout`.
    pub async fn wait_for_message(&self, ty: &str, timeout: Duration) -> anyhow::Result<Value> {
        self.signal.wait_for_message(ty, timeout).await
    }

    /// Sends any JSON value as a text frame.
    pub fn send_json(&self, value: &Value) -> anyhow::Result<()> {
        self.signal.send_json(value)
    }

    /// Sends arbitrary text as a text frame.
    pub fn send_raw(&self, text: &str) -> anyhow::Result<()> {
        self.signal.send_raw(text)
    }

    /// Whether the signaling socket has closed.
    pub fn is_closed(&self) -> bool {
        self.signal.is_closed()
    }

    /// Waits for the signaling socket to close; returns the reason.
    pub async fn wait_closed(&self, timeout: Duration) -> anyhow::Result<String> {
        self.signal.wait_closed(timeout).await
    }

    /// Errors met while applying the server's answers, offers and candidates.
    pub fn negotiation_errors(&self) -> Vec<String> {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Sends `{"type":"leave"}`, then closes the socket and the peer connection.
    pub async fn leave(&self) -> anyhow::Result<()> {
        let sent = self.signal.send_json(&json!({"type": "leave"}));
        self.close().await;
        sent
    }

    /// Closes the socket (with a close frame) and the peer connection, without `leave`.
    pub async fn close(&self) {
        self.signal.close();
        self.tasks.abort_all();
        self.media.close().await;
    }
}

/// Waits for `joined` (its message) or the server's `error` ([`JoinRefused`]); the light
/// load peers join through this too.
pub(crate) async fn wait_joined(
    signal: &SignalClient,
    incoming: &mut mpsc::UnboundedReceiver<Value>,
) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + JOIN_TIMEOUT;
    loop {
        let msg = match tokio::time::timeout_at(deadline, incoming.recv()).await {
            Ok(Some(msg)) => msg,
            Ok(None) => {
                // The reader ends just before it records why; give it a moment to do so.
                let why = signal
                    .wait_closed(Duration::from_secs(1))
                    .await
                    .unwrap_or_else(|_| "unknown".to_owned());
                bail!("the signaling socket closed before `joined` ({why})");
            }
            Err(_) => bail!(
                "no `joined` within {JOIN_TIMEOUT:?}: {:?}",
                signal.messages()
            ),
        };
        match msg_type(&msg) {
            Some("joined") => return Ok(msg),
            Some("error") => {
                let text = |k: &str| msg.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                return Err(anyhow!(JoinRefused {
                    code: text("code"),
                    message: text("message"),
                    raw: msg.clone(),
                }));
            }
            _ => continue, // kept in the log
        }
    }
}

/// Applies what the server sends: answers to our offer, its own offers (renegotiation) and
/// its candidates (held until a remote description exists).
async fn negotiation_loop(
    media: Arc<MediaPeer>,
    signal: Arc<SignalClient>,
    mut incoming: mpsc::UnboundedReceiver<Value>,
    gather_all: bool,
    errors: Arc<Mutex<Vec<String>>>,
) {
    let mut pending = Vec::new();
    let record = |err: anyhow::Error| {
        tracing::warn!("test peer negotiation: {err:#}");
        if let Ok(mut errors) = errors.lock() {
            errors.push(format!("{err:#}"));
        }
    };
    while let Some(msg) = incoming.recv().await {
        let sdp = msg.get("sdp").and_then(Value::as_str);
        let result: anyhow::Result<()> = match (msg_type(&msg), sdp) {
            (Some("answer"), Some(sdp)) => media.apply_answer(sdp).await,
            (Some("offer"), Some(sdp)) => match media.accept_offer(sdp, gather_all).await {
                Ok(answer) => signal.send_json(&json!({"type": "answer", "sdp": answer})),
                Err(err) => Err(err),
            },
            (Some("candidate"), _) => {
                if let Some(candidate) = msg.get("candidate").and_then(candidate_from_json) {
                    pending.push(candidate);
                }
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(err) = result {
            record(err);
        }
        if !pending.is_empty() && media.has_remote_description().await {
            for candidate in pending.drain(..) {
                if let Err(err) = media
                    .add_remote_candidate(candidate)
                    .await
                    .context("adding a server candidate")
                {
                    record(err);
                }
            }
        }
    }
}
