//! The lossy relay with plain UDP sockets: which datagrams it drops, how retransmissions get
//! through, and that every client gets its own upstream socket.
//!
//! Binds loopback sockets: the test script runs it in a loopback-only network namespace.

use std::net::SocketAddr;
use std::time::Duration;

use duet_tests::relay::LossCounts;
use duet_tests::{DropPolicy, LossyRelay};
use tokio::net::UdpSocket;

const WAIT: Duration = Duration::from_secs(2);
const QUIET: Duration = Duration::from_millis(200);

fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&1234u32.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(b"media");
    p
}

async fn socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.expect("bind")
}

/// The next datagram on `socket` and its source, or `None` after `timeout`.
async fn recv(socket: &UdpSocket, timeout: Duration) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = vec![0u8; 2048];
    let (n, from) = tokio::time::timeout(timeout, socket.recv_from(&mut buf))
        .await
        .ok()?
        .expect("recv");
    buf.truncate(n);
    Some((buf, from))
}

/// Sequence numbers of the RTP datagrams that arrive until `QUIET` passes without one.
async fn seqs_arriving(socket: &UdpSocket) -> Vec<u16> {
    let mut seqs = Vec::new();
    while let Some((d, _)) = recv(socket, QUIET).await {
        seqs.push(u16::from_be_bytes([d[2], d[3]]));
    }
    seqs
}

#[tokio::test]
async fn drops_first_copies_upstream_and_lets_retransmissions_through() {
    let server = socket().await;
    let relay = LossyRelay::start(
        server.local_addr().expect("addr"),
        DropPolicy {
            upstream_every: Some(4),
            downstream_every: None,
            persistent: false,
        },
    )
    .expect("relay");
    let client = socket().await;
    for seq in 0..=9 {
        client
            .send_to(&rtp(seq, 7), relay.addr())
            .await
            .expect("send");
    }
    assert_eq!(seqs_arriving(&server).await, vec![1, 2, 3, 5, 6, 7, 9]);

    // Retransmissions (same SSRC and sequence number) pass, every copy of them.
    for seq in [4, 8, 4] {
        client
            .send_to(&rtp(seq, 7), relay.addr())
            .await
            .expect("send");
    }
    assert_eq!(seqs_arriving(&server).await, vec![4, 8, 4]);

    // The same sequence number on another SSRC is a different packet.
    client
        .send_to(&rtp(4, 8), relay.addr())
        .await
        .expect("send");
    assert_eq!(seqs_arriving(&server).await, Vec::<u16>::new());

    let stats = relay.stats();
    assert_eq!(
        (
            stats.upstream_rtp,
            stats.upstream_dropped,
            stats.upstream_recovered
        ),
        (14, 4, 2)
    );
    assert_eq!(
        stats.upstream_by_ssrc.get(&7),
        Some(&LossCounts {
            rtp: 13,
            dropped: 3,
            recovered: 2
        })
    );
    assert_eq!((stats.downstream_rtp, stats.downstream_dropped), (0, 0));
}

#[tokio::test]
async fn drops_downstream_only_when_asked() {
    let server = socket().await;
    let relay = LossyRelay::start(
        server.local_addr().expect("addr"),
        DropPolicy {
            upstream_every: None,
            downstream_every: Some(3),
            persistent: false,
        },
    )
    .expect("relay");
    let client = socket().await;
    for seq in 0..6 {
        client
            .send_to(&rtp(seq, 1), relay.addr())
            .await
            .expect("send");
    }
    assert_eq!(seqs_arriving(&server).await, vec![0, 1, 2, 3, 4, 5]);

    let (_, upstream) = recv_first(&server, &client, &relay).await;
    for seq in [0, 1, 2, 3, 3, 6] {
        server.send_to(&rtp(seq, 9), upstream).await.expect("send");
    }
    let (d, from) = recv(&client, WAIT).await.expect("relayed");
    assert_eq!(from, relay.addr(), "replies come from the relay's address");
    let mut got = vec![u16::from_be_bytes([d[2], d[3]])];
    got.extend(seqs_arriving(&client).await);
    assert_eq!(got, vec![1, 2, 3]);

    let stats = relay.stats();
    assert_eq!(
        (
            stats.downstream_rtp,
            stats.downstream_dropped,
            stats.downstream_recovered,
        ),
        (6, 3, 1)
    );
    assert_eq!((stats.upstream_dropped, stats.upstream_rtp), (0, 6));
}

/// Sends one more datagram from `client` and returns it with the address the server saw it
/// come from.
async fn recv_first(
    server: &UdpSocket,
    client: &UdpSocket,
    relay: &LossyRelay,
) -> (Vec<u8>, SocketAddr) {
    client
        .send_to(b"\x00\x01hello", relay.addr())
        .await
        .expect("send");
    recv(server, WAIT).await.expect("reaches the server")
}

#[tokio::test]
async fn never_drops_stun_dtls_or_rtcp() {
    let server = socket().await;
    let every_packet = DropPolicy {
        upstream_every: Some(1),
        downstream_every: Some(1),
        persistent: false,
    };
    let relay = LossyRelay::start(server.local_addr().expect("addr"), every_packet).expect("relay");
    let client = socket().await;
    let mut stun = rtp(0, 1);
    stun[0] = 0x00;
    stun[1] = 0x01;
    let mut dtls = rtp(0, 1);
    dtls[0] = 22;
    let mut others = vec![stun, dtls];
    for pt in [200u8, 201, 202, 203, 205, 206, 207] {
        let mut rtcp = rtp(0, 1);
        rtcp[1] = pt;
        others.push(rtcp);
    }
    for d in &others {
        client.send_to(d, relay.addr()).await.expect("send");
    }
    client
        .send_to(&rtp(5, 1), relay.addr())
        .await
        .expect("send");
    let mut upstream = None;
    for d in &others {
        let (got, from) = recv(&server, WAIT).await.expect("passes upstream");
        assert_eq!(&got, d);
        upstream = Some(from);
    }
    assert!(recv(&server, QUIET).await.is_none(), "the RTP was dropped");

    let upstream = upstream.expect("an upstream address");
    for d in &others {
        server.send_to(d, upstream).await.expect("send");
    }
    server.send_to(&rtp(5, 1), upstream).await.expect("send");
    for d in &others {
        let (got, _) = recv(&client, WAIT).await.expect("passes downstream");
        assert_eq!(&got, d);
    }
    assert!(recv(&client, QUIET).await.is_none(), "the RTP was dropped");

    let stats = relay.stats();
    assert_eq!((stats.upstream_rtp, stats.upstream_dropped), (1, 1));
    assert_eq!((stats.downstream_rtp, stats.downstream_dropped), (1, 1));
    assert_eq!(stats.upstream_other, others.len() as u64);
    assert_eq!(stats.downstream_other, others.len() as u64);
}

#[tokio::test]
async fn each_client_gets_its_own_upstream_socket() {
    let server = socket().await;
    let relay = LossyRelay::start(server.local_addr().expect("addr"), DropPolicy::default())
        .expect("relay");
    let (a, b) = (socket().await, socket().await);
    let (_, from_a) = recv_first(&server, &a, &relay).await;
    let (_, from_b) = recv_first(&server, &b, &relay).await;
    assert_ne!(from_a, from_b, "one upstream address per client");
    assert_ne!(from_a, relay.addr());
    let (_, again_a) = recv_first(&server, &a, &relay).await;
    assert_eq!(again_a, from_a, "and the same one for every datagram");

    server.send_to(b"to-b", from_b).await.expect("send");
    server.send_to(b"to-a", from_a).await.expect("send");
    assert_eq!(recv(&a, WAIT).await.expect("a").0, b"to-a");
    assert_eq!(recv(&b, WAIT).await.expect("b").0, b"to-b");
    assert!(recv(&a, QUIET).await.is_none());

    let clients = relay.clients();
    assert_eq!(clients.len(), 2);
    assert_eq!(clients[0], (a.local_addr().expect("a"), from_a));
    assert_eq!(clients[1], (b.local_addr().expect("b"), from_b));
}

#[tokio::test]
async fn a_dropped_relay_relays_nothing() {
    let server = socket().await;
    let relay = LossyRelay::start(server.local_addr().expect("addr"), DropPolicy::default())
        .expect("relay");
    let client = socket().await;
    let (_, upstream) = recv_first(&server, &client, &relay).await;
    let addr = relay.addr();
    drop(relay);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = client.send_to(b"\x00\x01late", addr).await;
    assert!(recv(&server, QUIET).await.is_none(), "nothing goes up");
    let _ = server.send_to(b"late", upstream).await;
    assert!(recv(&client, QUIET).await.is_none(), "nothing comes down");
}
