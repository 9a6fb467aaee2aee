//! [`SignalClient`]: a WebSocket client for Duet's signaling that keeps every server message,
//! plus the JSON shapes shared by the protocol (ICE servers, candidates).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use webrtc::peer_connection::{RTCIceCandidateInit, RTCIceServer};

use crate::tasks::{TaskSet, wait_watch};

/// A connected signaling WebSocket.
///
/// Every frame the server sends is kept, in order, as JSON: text frames that are not JSON are
/// kept as `{"type":"_unparsed","raw":TEXT}`, binary frames as `{"type":"_binary","len":N}`.
pub struct SignalClient {
    out: mpsc::UnboundedSender<Message>,
    log: Arc<watch::Sender<Vec<Value>>>,
    /// `Some(description)` once the socket closed (close code and reason, or the error).
    closed: Arc<watch::Sender<Option<String>>>,
    tasks: TaskSet,
}

impl SignalClient {
    /// Connects to `url` (e.g. `ws://127.0.0.1:8080/api/v1/ws`). The receiver yields every
    /// server message as it arrives; drop it if only the log is wanted.
    pub async fn connect(
        url: &str,
    ) -> anyhow::Result<(SignalClient, mpsc::UnboundedReceiver<Value>)> {
        let (ws, _response) = tokio_tungstenite::connect_async(url)
            .await
            .with_context(|| format!("connecting the WebSocket {url}"))?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let (in_tx, in_rx) = mpsc::unbounded_channel::<Value>();
        let log = Arc::new(watch::channel(Vec::new()).0);
        let closed = Arc::new(watch::channel(None).0);
        let tasks = TaskSet::default();

        let writer_closed = Arc::clone(&closed);
        tasks.spawn(async move {
            while let Some(msg) = out_rx.recv().await {
                let is_close = matches!(msg, Message::Close(_));
                if let Err(err) = sink.send(msg).await {
                    writer_closed.send_if_modified(|c| set_once(c, format!("write failed: {err}")));
                    return;
                }
                if is_close {
                    return;
                }
            }
        });

        let reader_log = Arc::clone(&log);
        let reader_closed = Arc::clone(&closed);
        tasks.spawn(async move {
            let reason = loop {
                let value = match stream.next().await {
                    Some(Ok(Message::Text(text))) => serde_json::from_str::<Value>(text.as_str())
                        .unwrap_or_else(|_| json!({"type": "_unparsed", "raw": text.as_str()})),
                    Some(Ok(Message::Binary(data))) => {
                        json!({"type": "_binary", "len": data.len()})
                    }
                    Some(Ok(Message::Close(frame))) => {
                        break match frame {
                            Some(f) => {
                                format!("closed by server: {} {}", u16::from(f.code), f.reason)
                            }
                            None => "closed by server".to_owned(),
                        };
                    }
                    Some(Ok(_)) => continue, // ping/pong/raw frames
                    Some(Err(err)) => break format!("read failed: {err}"),
                    None => break "connection ended".to_owned(),
                };
                reader_log.send_modify(|log| log.push(value.clone()));
                let _ = in_tx.send(value);
            };
            reader_closed.send_if_modified(|c| set_once(c, reason));
        });

        Ok((
            SignalClient {
                out,
                log,
                closed,
                tasks,
            },
            in_rx,
        ))
    }

    /// Sends a JSON value as one text frame.
    pub fn send_json(&self, value: &Value) -> anyhow::Result<()> {
        self.send_raw(&value.to_string())
    }

    /// Sends arbitrary text as one text frame (malformed JSON included).
    pub fn send_raw(&self, text: &str) -> anyhow::Result<()> {
        self.send_frame(Message::text(text))
    }

    /// Sends any WebSocket frame (binary, oversized, ...).
    pub fn send_frame(&self, msg: Message) -> anyhow::Result<()> {
        self.out
            .send(msg)
            .map_err(|_| anyhow!("the signaling socket is closed"))
    }

    /// Every server message received so far.
    pub fn messages(&self) -> Vec<Value> {
        self.log.borrow().clone()
    }

    /// Number of server messages received so far (a cursor for [`Self::wait_for_message_after`]).
    pub fn message_count(&self) -> usize {
        self.log.borrow().len()
    }

    /// Server messages of one type received so far.
    pub fn messages_of_type(&self, ty: &str) -> Vec<Value> {
        self.log
            .borrow()
            .iter()
            .filter(|m| msg_type(m) == Some(ty))
            .cloned()
            .collect()
    }

    /// The first message of type `ty` ever received, waiting up to `timeout` for it.
    pub async fn wait_for_message(&self, ty: &str, timeout: Duration) -> anyhow::Result<Value> {
        self.wait_for_message_after(ty, 0, timeout).await
    }

    /// The first message of type `ty` at log position `since` or later.
    pub async fn wait_for_message_after(
        &self,
        ty: &str,
        since: usize,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let find = |log: &[Value]| {
            log.iter()
                .skip(since)
                .find(|m| msg_type(m) == Some(ty))
                .cloned()
        };
        let mut rx = self.log.subscribe();
        let what = format!("waiting for a {ty:?} message");
        let log = wait_watch(&mut rx, timeout, &what, |log| find(log).is_some()).await?;
        find(&log).ok_or_else(|| anyhow!("{what}: vanished"))
    }

    /// Waits until `cond` holds for the whole message log.
    pub async fn wait_messages<F>(
        &self,
        timeout: Duration,
        mut cond: F,
    ) -> anyhow::Result<Vec<Value>>
    where
        F: FnMut(&[Value]) -> bool,
    {
        let mut rx = self.log.subscribe();
        wait_watch(&mut rx, timeout, "waiting on the message log", |log| {
            cond(log)
        })
        .await
    }

    /// Whether the socket has closed (either side) or failed.
    pub fn is_closed(&self) -> bool {
        self.closed.borrow().is_some()
    }

    /// Why the socket closed, once it has.
    pub fn close_reason(&self) -> Option<String> {
        self.closed.borrow().clone()
    }

    /// Waits for the socket to close; returns the reason.
    pub async fn wait_closed(&self, timeout: Duration) -> anyhow::Result<String> {
        let mut rx = self.closed.subscribe();
        let reason = wait_watch(
            &mut rx,
            timeout,
            "waiting for the WebSocket to close",
            |c| c.is_some(),
        )
        .await?;
        Ok(reason.unwrap_or_default())
    }

    /// Sends a normal close frame; the socket counts as closed from here on.
    pub fn close(&self) {
        let _ = self.send_frame(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        })));
        self.closed
            .send_if_modified(|c| set_once(c, "closed by client".to_owned()));
    }

    /// Drops the connection without a close frame.
    pub fn abort(&self) {
        self.tasks.abort_all();
        self.closed
            .send_if_modified(|c| set_once(c, "aborted by client".to_owned()));
    }
}

fn set_once(slot: &mut Option<String>, reason: String) -> bool {
    if slot.is_some() {
        return false;
    }
    *slot = Some(reason);
    true
}

/// The `"type"` of a message.
pub fn msg_type(msg: &Value) -> Option<&str> {
    msg.get("type").and_then(Value::as_str)
}

/// Parses `joined.ice_servers` (`urls` as a string or a list; `username`/`credential`
/// optional). Entries without URLs are skipped.
pub fn ice_servers_from_json(value: &Value) -> Vec<RTCIceServer> {
    let Some(list) = value.as_array() else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|server| {
            let urls: Vec<String> = match server.get("urls").or_else(|| server.get("url")) {
                Some(Value::String(url)) => vec![url.clone()],
                Some(Value::Array(urls)) => urls
                    .iter()
                    .filter_map(|u| u.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            if urls.is_empty() {
                return None;
            }
            let text = |key: &str| {
                server
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            Some(RTCIceServer {
                urls,
                username: text("username"),
                credential: text("credential"),
            })
        })
        .collect()
}

/// An `RTCIceCandidateInit` as browsers serialise it.
pub fn candidate_to_json(candidate: &RTCIceCandidateInit) -> Value {
    json!({
        "candidate": candidate.candidate,
        "sdpMid": candidate.sdp_mid,
        "sdpMLineIndex": candidate.sdp_mline_index,
        "usernameFragment": candidate.username_fragment,
    })
}

/// Parses a `candidate` message's `candidate` field; `None` for `null` (end of candidates) or
/// an empty candidate string.
pub fn candidate_from_json(value: &Value) -> Option<RTCIceCandidateInit> {
    let candidate = value.get("candidate")?.as_str()?;
    if candidate.is_empty() {
        return None;
    }
    Some(RTCIceCandidateInit {
        candidate: candidate.to_owned(),
        sdp_mid: value
            .get("sdpMid")
            .and_then(Value::as_str)
            .map(str::to_owned),
        sdp_mline_index: value
            .get("sdpMLineIndex")
            .and_then(Value::as_u64)
            .and_then(|i| u16::try_from(i).ok()),
        username_fragment: value
            .get("usernameFragment")
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..Default::default()
    })
}
