//! The relay's sockets and the tasks that receive from them and deliver to them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::UdpSocket;

use super::sched::{self, Item};
use super::state::Inner;

/// Largest UDP datagram.
const MAX_DATAGRAM: usize = 65_536;

/// A nonblocking tokio socket bound to `local` (and connected to `peer`).
pub(super) fn bind(local: SocketAddr, peer: Option<SocketAddr>) -> anyhow::Result<UdpSocket> {
    let socket = std::net::UdpSocket::bind(local).with_context(|| format!("binding {local}"))?;
    if let Some(peer) = peer {
        socket
            .connect(peer)
            .with_context(|| format!("connecting to {peer}"))?;
    }
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket).context("registering the socket with tokio")
}

/// Scheduled client → server datagrams go out on the client's upstream socket of the moment.
pub(super) struct ToServer(pub(super) Arc<Inner>);

impl sched::Deliver for ToServer {
    async fn deliver(&self, item: Item) {
        let upstream = self
            .0
            .lock()
            .client(item.client)
            .map(|c| Arc::clone(&c.upstream));
        if let Some(upstream) = upstream {
            let _ = upstream.send(&item.data).await;
        }
    }
}

/// Scheduled server → client datagrams go out of the front socket.
pub(super) struct ToClient(pub(super) Arc<UdpSocket>);

impl sched::Deliver for ToClient {
    async fn deliver(&self, item: Item) {
        let _ = self.0.send_to(&item.data, item.client).await;
    }
}

/// Receives from clients and shapes or forwards what they send.
pub(super) async fn client_loop(inner: Arc<Inner>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, client) = match inner.front.recv_from(&mut buf).await {
            Ok(got) => got,
            // e.g. ECONNREFUSED after an ICMP error: the socket stays usable.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        if let Some(upstream) = inner.on_client_datagram(client, &buf[..n]) {
            let _ = upstream.send(&buf[..n]).await;
        }
    }
}

/// Receives what the server sends to one upstream socket and shapes or forwards it.
pub(super) async fn server_loop(inner: Arc<Inner>, upstream: Arc<UdpSocket>, client: SocketAddr) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let n = match upstream.recv(&mut buf).await {
            Ok(n) => n,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        if inner.on_server_datagram(client, &upstream, &buf[..n]) {
            let _ = inner.front.send_to(&buf[..n], client).await;
        }
    }
}
