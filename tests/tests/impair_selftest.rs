//! The impairment relay with plain UDP sockets and no Duet: loss and delay measured through it
//! match the shape, an address change moves the client to a new source port behind the same
//! front address, and an outage stops both directions for its duration.
//!
//! Binds 127.0.0.x sockets: run it in a loopback-only network namespace
//! (`unshare --net -- sh -c 'ip link set lo up && cargo test --test impair_selftest'`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use duet_tests::impair::stun::binding_request;
use duet_tests::impair::{Access, Event, EventKind, ImpairRelay, LinkShape, Loss, Scenario, Who};
use tokio::net::UdpSocket;
use tokio::time::Instant;

/// The relay's front address, apart from the sockets on 127.0.0.1 as a real test's is.
const FRONT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// How long to listen to be sure nothing comes.
const QUIET: Duration = Duration::from_millis(300);
/// How long something expected may take; generous, since these tests run at low priority
/// beside builds.
const WAIT: Duration = Duration::from_secs(3);
/// The server's ufrag for the mentee: what the classifier recognises.
const MENTEE_UFRAG: &str = "srv-mentee";

async fn socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.expect("bind")
}

fn addr(socket: &UdpSocket) -> SocketAddr {
    socket.local_addr().expect("local addr")
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

/// A relay in front of `server` that knows the mentee by [`MENTEE_UFRAG`].
fn relay(server: &UdpSocket) -> ImpairRelay {
    let relay = ImpairRelay::start(addr(server), FRONT).expect("relay");
    relay.assign(|username| {
        let (server_ufrag, _) = username.split_once(':')?;
        match server_ufrag {
            MENTEE_UFRAG => Some(Who::Mentee),
            "srv-mentor" => Some(Who::Mentor),
            _ => None,
        }
    });
    relay
}

/// Sends the mentee's first ICE check from `client`, so the relay knows it; returns the
/// address the server sees it from (the server must not be echoing).
async fn join_as_mentee(client: &UdpSocket, relay: &ImpairRelay, server: &UdpSocket) -> SocketAddr {
    let check = binding_request(&format!("{MENTEE_UFRAG}:cli1"), [3; 12]);
    client.send_to(&check, relay.addr()).await.expect("send");
    let (got, from) = recv(server, WAIT)
        .await
        .expect("the check reaches the server");
    assert_eq!(got, check);
    from
}

/// Echoes every datagram back to where it came from, counting those starting with `P`.
fn echo(server: UdpSocket) -> Arc<AtomicU64> {
    let probes = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&probes);
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        while let Ok((n, from)) = server.recv_from(&mut buf).await {
            if buf.first() == Some(&b'P') {
                count.fetch_add(1, Ordering::Relaxed);
            }
            let _ = server.send_to(&buf[..n], from).await;
        }
    });
    probes
}

#[tokio::test]
async fn loss_and_delay_through_the_relay_match_the_shape() {
    let server = socket().await;
    let relay = relay(&server);
    let client = Arc::new(socket().await);
    // Known first, shaped after, so the check itself cannot be lost.
    join_as_mentee(&client, &relay, &server).await;
    relay.set_access(
        Who::Mentee,
        Access {
            up: LinkShape::clean()
                .with_loss(Loss::Random { p: 0.2 })
                .with_delay(30, 0),
            down: LinkShape::clean().with_delay(20, 0),
        },
    );
    let probes = echo(server);

    // 1000 probes of 100 bytes, 10 every 5 ms; each carries its index.
    const N: u32 = 1000;
    let front = relay.addr();
    let start = Instant::now();
    let receiver = {
        let client = Arc::clone(&client);
        tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some((d, from)) = recv(&client, Duration::from_secs(1)).await {
                assert_eq!(from, front, "replies come from the front address");
                if d.first() == Some(&b'P') {
                    let i = u32::from_be_bytes([d[1], d[2], d[3], d[4]]);
                    got.push((i, Instant::now()));
                }
            }
            got
        })
    };
    let mut sent = Vec::new();
    for i in 0..N {
        let mut probe = vec![b'P'];
        probe.extend_from_slice(&i.to_be_bytes());
        probe.resize(100, 0);
        sent.push(Instant::now());
        client.send_to(&probe, front).await.expect("send");
        if i % 10 == 9 {
            tokio::time::sleep_until(start + Duration::from_millis(5 * u64::from(i / 10 + 1)))
                .await;
        }
    }
    let got = receiver.await.expect("receiver");

    // Loss: only upstream, at 20 %; 1000 Bernoulli trials have a 1.3 % standard deviation.
    let reached = probes.load(Ordering::Relaxed);
    let loss = 1.0 - reached as f64 / f64::from(N);
    assert!((0.14..=0.26).contains(&loss), "upstream loss {loss}");
    assert_eq!(got.len() as u64, reached, "the downlink is lossless");
    let stats = relay.stats().mentee;
    assert_eq!(stats.up.pushed, u64::from(N) + 1, "probes and the check");
    assert_eq!(stats.up.delivered, reached + 1);
    assert_eq!(stats.down.dropped(), 0);

    // Delay: 30 ms up and 20 down, never less; scheduling at low priority adds a little.
    let mut rtts: Vec<Duration> = got.iter().map(|(i, at)| *at - sent[*i as usize]).collect();
    assert!(
        got.windows(2).all(|w| w[0].0 < w[1].0),
        "probes arrive in order"
    );
    rtts.sort();
    assert!(
        rtts[0] >= Duration::from_millis(50),
        "fastest {:?}",
        rtts[0]
    );
    let median = rtts[rtts.len() / 2];
    assert!(median <= Duration::from_millis(100), "median {median:?}");
}

#[tokio::test]
async fn unassigned_clients_pass_unshaped() {
    let server = socket().await;
    let relay = relay(&server);
    let nothing = Access::symmetric(LinkShape::clean().with_loss(Loss::Random { p: 1.0 }));
    relay.set_access(Who::Mentee, nothing);
    relay.set_access(Who::Mentor, nothing);
    let client = socket().await;
    let front = relay.addr();

    // Not a binding request, and then a check with a ufrag the classifier does not know.
    client.send_to(b"hello", front).await.expect("send");
    assert_eq!(recv(&server, WAIT).await.expect("passes").0, b"hello");
    let stranger = binding_request("someone-else:cli9", [4; 12]);
    client.send_to(&stranger, front).await.expect("send");
    let (_, upstream) = recv(&server, WAIT).await.expect("passes");
    server.send_to(b"back", upstream).await.expect("send");
    assert_eq!(recv(&client, WAIT).await.expect("passes").0, b"back");

    let stats = relay.stats();
    assert_eq!((stats.unassigned_up, stats.unassigned_down), (2, 1));
    assert_eq!(stats.mentee.up.pushed + stats.mentor.up.pushed, 0);
    assert_eq!(relay.clients()[0].who, None);
}

#[tokio::test]
async fn an_address_change_moves_the_client_to_a_new_source_port() {
    let server = socket().await;
    let relay = relay(&server);
    let client = socket().await;
    let front = relay.addr();
    let old = join_as_mentee(&client, &relay, &server).await;
    assert_eq!(old.ip(), FRONT, "upstream sockets bind the front's address");

    assert_eq!(relay.change_address(Who::Mentee).expect("change"), 1);
    client.send_to(b"after", front).await.expect("send");
    let (got, new) = recv(&server, WAIT).await.expect("reaches the server");
    assert_eq!(got, b"after");
    assert_ne!(new, old, "the server sees a new source");
    assert_eq!(new.ip(), FRONT);
    assert_eq!(relay.clients()[0].upstream, new);
    assert_eq!(relay.clients()[0].addresses, 2);

    // The new path works back to the client, through the same front address...
    server.send_to(b"to new", new).await.expect("send");
    assert_eq!(recv(&client, WAIT).await, Some((b"to new".to_vec(), front)));
    // ...and the old one is gone.
    server.send_to(b"to old", old).await.expect("send");
    assert_eq!(recv(&client, QUIET).await, None);
}

#[tokio::test]
async fn an_outage_drops_both_ways_for_its_duration() {
    let server = socket().await;
    let relay = relay(&server);
    let client = socket().await;
    let front = relay.addr();
    let upstream = join_as_mentee(&client, &relay, &server).await;

    // From 0.1 s to 1.6 s after the events start; the checks keep 0.4 s and 0.7 s from
    // either end, since the events task may wake late on a busy machine.
    let scenario = Scenario {
        events: vec![Event {
            at_s: 0.1,
            who: Who::Mentee,
            kind: EventKind::Outage { secs: 1.5 },
        }],
        ..Scenario::clean("short-outage")
    };
    let start = Instant::now();
    relay.run_events(&scenario);
    tokio::time::sleep_until(start + Duration::from_millis(500)).await;

    for _ in 0..5 {
        client.send_to(b"up during", front).await.expect("send");
        server
            .send_to(b"down during", upstream)
            .await
            .expect("send");
    }
    assert_eq!(recv(&server, QUIET).await, None, "nothing goes up");
    assert_eq!(recv(&client, QUIET).await, None, "nothing comes down");
    let stats = relay.stats().mentee;
    assert_eq!((stats.up.dropped_outage, stats.down.dropped_outage), (5, 5));

    tokio::time::sleep_until(start + Duration::from_millis(2300)).await;
    client.send_to(b"up after", front).await.expect("send");
    assert_eq!(recv(&server, WAIT).await.expect("up again").0, b"up after");
    server.send_to(b"down after", upstream).await.expect("send");
    assert_eq!(
        recv(&client, WAIT).await.expect("down again").0,
        b"down after"
    );
    // The other person was never cut off.
    assert_eq!(relay.stats().mentor, Default::default());
}
