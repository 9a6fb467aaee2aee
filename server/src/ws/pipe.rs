//! A signaling socket whose session lives on another node: this node
//! opens a WebSocket to the owner's internal address, hands it the client's
//! `join` as it came, and from then on copies frames both ways until
//! either side closes. Everything else — the join's checks, the room, the
//! answer that advertises the owner's own media address — happens on the
//! owner; media goes straight to it. So the load balancer in front of the
//! nodes stays plain round-robin.
//!
//! The owner sees this node as the client's address, with the client's
//! real one in `X-Forwarded-For`; it believes it when the nodes' internal
//! addresses are in its `http.trusted_proxies`, as the operating guide
//! says, so its limits per address count clients, not nodes.

use std::net::IpAddr;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The socket to the owner.
pub(super) type OwnerSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The owner's signaling endpoint under its internal URL.
pub(super) fn owner_ws_url(internal_url: &str) -> Option<String> {
    let rest = internal_url.trim_end_matches('/').strip_prefix("http://")?;
    Some(format!("ws://{rest}/api/v1/ws"))
}

#[derive(Debug, thiserror::Error)]
pub(super) enum PipeError {
    #[error("the owner's WebSocket: {0}")]
    Owner(#[from] tungstenite::Error),
}

impl PipeError {
    /// The owner's port refused the connection: no process listens there.
    pub(super) fn refused(&self) -> bool {
        matches!(self, PipeError::Owner(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused)
    }
}

/// Connects to the owner at `url` and sends it `join`; the socket to it.
pub(super) async fn connect(
    url: &str,
    client_ip: IpAddr,
    join: &str,
) -> Result<OwnerSocket, PipeError> {
    let mut request = url.into_client_request()?;
    if let Ok(value) = client_ip.to_string().parse() {
        request.headers_mut().insert("x-forwarded-for", value);
    }
    let (mut owner, _) = tokio_tungstenite::connect_async(request).await?;
    owner
        .send(tungstenite::Message::text(join.to_owned()))
        .await?;
    Ok(owner)
}

/// Copies frames between the client and the owner until one side closes,
/// then closes the other.
pub(super) async fn copy(
    mut to_client: SplitSink<WebSocket, Message>,
    mut from_client: SplitStream<WebSocket>,
    owner: OwnerSocket,
) {
    let (mut to_owner, mut from_owner) = owner.split();
    loop {
        tokio::select! {
            frame = from_client.next() => {
                let out = match frame {
                    Some(Ok(Message::Text(t))) => tungstenite::Message::text(t.as_str().to_owned()),
                    Some(Ok(Message::Binary(b))) => tungstenite::Message::binary(b),
                    // Each side keeps its own connection alive.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                };
                if to_owner.send(out).await.is_err() {
                    break;
                }
            }
            frame = from_owner.next() => {
                let out = match frame {
                    Some(Ok(tungstenite::Message::Text(t))) => Message::Text(Utf8Bytes::from(t.as_str())),
                    Some(Ok(tungstenite::Message::Binary(b))) => Message::Binary(b),
                    Some(Ok(tungstenite::Message::Close(frame))) => {
                        // The owner's reason (a refusal, the end) reaches the client.
                        let close = frame.map(|f| CloseFrame {
                            code: f.code.into(),
                            reason: Utf8Bytes::from(f.reason.as_str()),
                        });
                        let _ = to_client.send(Message::Close(close)).await;
                        return;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => break,
                };
                if to_client.send(out).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to_owner.close().await;
    let _ = to_client
        .send(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: Utf8Bytes::from_static("bye"),
        })))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_is_reached_on_its_internal_url() {
        assert_eq!(
            owner_ws_url("http://10.0.0.5:8080/").as_deref(),
            Some("ws://10.0.0.5:8080/api/v1/ws")
        );
        assert_eq!(owner_ws_url("https://a"), None, "TLS inside: not yet");
        assert_eq!(owner_ws_url(""), None);
    }
}
