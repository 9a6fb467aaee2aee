//! The datagram path against a live peer: a real `rtc` client connects to
//! an `Engine` over loopback (ICE and DTLS done), then arbitrary and
//! mutated datagrams reach `handle_datagram` from its address and from
//! others, and arbitrary candidates reach the connection. Nothing may
//! panic, the peer stays, and the address maps stay bounded.
//!
//! Opens UDP sockets on loopback: run it in a network namespace like the
//! end-to-end tests. Case counts follow `crate::tests_fuzz`.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use duet_signaling::protocol::IceCandidate;
use duet_signaling::{ConnId, Role, SessionId};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use rtc::peer_connection::RTCPeerConnectionBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

use super::*;
use crate::tests_fuzz::config;

/// Addresses a captured datagram is replayed from (an on-path attacker);
/// each may get pinned, as ICE answers a replayed binding request.
const REPLAY_PORTS: [u16; 4] = [50_001, 50_002, 50_003, 50_004];

struct Client {
    pc: Pc,
    socket: UdpSocket,
    addr: SocketAddr,
    connected: bool,
    /// Datagrams it sent to the engine, for mutation later.
    sent: Vec<Vec<u8>>,
}

fn key() -> PeerKey {
    PeerKey {
        session: SessionId(uuid::Uuid::from_u128(7)),
        role: Role::Mentor,
    }
}

async fn client() -> Client {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind client");
    let addr = socket.local_addr().expect("client address");
    let mut media = MediaEngine::default();
    media.register_default_codecs().expect("codecs");
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .build(Instant::now())
        .expect("client pc");
    for kind in [
        RtpCodecKind::Audio,
        RtpCodecKind::Video,
        RtpCodecKind::Video,
    ] {
        pc.add_transceiver_from_kind(kind, None)
            .expect("transceiver");
    }
    peer::add_host_candidate(&mut pc, addr, false).expect("local candidate");
    Client {
        pc,
        socket,
        addr,
        connected: false,
        sent: Vec::new(),
    }
}

/// The engine, and the socket it is served on (these tests drive the
/// loop's steps themselves, sending what it produced with [`send_out`]).
async fn engine() -> (Engine, UdpSocket) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind engine");
    socket.set_nonblocking(true).expect("nonblocking");
    let advertise = socket.local_addr().expect("engine address");
    let metrics = crate::metrics::Metrics::new(std::env::temp_dir()).media;
    let engine = Engine::new(advertise, None, metrics);
    (engine, UdpSocket::from_std(socket).expect("tokio socket"))
}

/// Sends what the engine produced, as its loop does at the end of a turn.
fn send_out(engine: &mut Engine, socket: &UdpSocket) {
    udp_batch::send_all(socket, engine.outbox.queued());
}

/// Offer, answer, then both sides exchange datagrams and timers until the
/// engine and the client both say connected.
async fn connect(engine: &mut Engine, socket: &UdpSocket, client: &mut Client) {
    let offer = client.pc.create_offer(None).expect("offer");
    client
        .pc
        .set_local_description(Instant::now(), offer.clone())
        .expect("set local");
    let (reply, answer) = oneshot::channel();
    engine.handle_command(
        Instant::now(),
        Command::Offer {
            key: key(),
            conn: ConnId(1),
            sdp: offer.sdp,
            reply,
        },
    );
    let answer = answer.await.expect("reply").expect("answer");
    let answer = RTCSessionDescription::answer(answer).expect("answer sdp");
    client
        .pc
        .set_remote_description(Instant::now(), answer)
        .expect("set remote");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut rx = ReceiveBuffer::default();
    let mut buf = vec![0u8; 4096];
    while !(client.connected && engine.peers[&key()].connected) {
        assert!(Instant::now() < deadline, "the client did not connect");
        pump_client(client);
        send_out(engine, socket);
        engine.flush_timeouts();
        tokio::select! {
            res = socket.recv_buf_from(rx.prepare()) => {
                let (_, from) = res.expect("engine receive");
                engine.handle_datagram(Instant::now(), from, rx.take());
            }
            res = client.socket.recv_from(&mut buf) => {
                let (n, from) = res.expect("client receive");
                let msg = rtc::shared::TaggedBytesMut {
                    now: Instant::now(),
                    transport: TransportContext {
                        local_addr: client.addr,
                        peer_addr: from,
                        ecn: None,
                        transport_protocol: TransportProtocol::UDP,
                    },
                    message: BytesMut::from(&buf[..n]),
                };
                let _ = client.pc.handle_read(msg);
            }
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
        let now = Instant::now();
        engine.handle_timeouts(now);
        if client.pc.poll_timeout().is_some_and(|at| at <= now) {
            let _ = client.pc.handle_timeout(now);
        }
    }
}

/// Sends what the client has queued (keeping a copy) and reads its events.
fn pump_client(client: &mut Client) {
    while let Some(out) = client.pc.poll_write() {
        if client.sent.len() < 64 {
            client.sent.push(out.message.to_vec());
        }
        let _ = client
            .socket
            .try_send_to(&out.message, out.transport.peer_addr);
    }
    while let Some(event) = client.pc.poll_event() {
        if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) = event {
            client.connected = state == RTCPeerConnectionState::Connected;
        }
    }
    while client.pc.poll_read().is_some() {}
}

/// A datagram as the media plane's one port sees them (RFC 7983 classes).
/// Without `captured`, none is made from the client's own datagrams: a
/// copy of its binding request still proves the ICE password (a mutation
/// can miss the bytes the integrity covers), so a stranger sending one may
/// rightly be answered.
fn payload(ufrag: String, captured: Vec<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    let stun_named = (vec(any::<u8>(), 0..80), any::<u8>()).prop_map(move |(tail, class)| {
        let username = format!("{ufrag}:fuzz");
        let mut attrs = vec![0x00, 0x06];
        attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
        attrs.extend_from_slice(username.as_bytes());
        while attrs.len() % 4 != 0 {
            attrs.push(0);
        }
        attrs.extend_from_slice(&tail);
        let mut p = vec![class & 0x01, 0x01];
        p.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        p.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        p.extend_from_slice(&[3; 12]);
        p.extend_from_slice(&attrs);
        p
    });
    let none_captured = captured.is_empty();
    let n = captured.len().max(1);
    let mutated = (
        any::<usize>(),
        vec((any::<usize>(), any::<u8>()), 0..6),
        any::<usize>(),
    )
        .prop_map(move |(i, flips, cut)| {
            let mut p = captured.get(i % n).cloned().unwrap_or_default();
            for (at, x) in flips {
                if !p.is_empty() {
                    let len = p.len();
                    p[at % len] ^= x;
                }
            }
            p.truncate(cut % (p.len() + 1) + 1);
            p
        });
    let classed = |first: std::ops::RangeInclusive<u8>| {
        (first, vec(any::<u8>(), 0..1200)).prop_map(|(b, mut rest)| {
            rest.insert(0, b);
            rest
        })
    };
    if none_captured {
        return prop_oneof![
            2 => vec(any::<u8>(), 0..1500),
            2 => stun_named,
            2 => classed(20..=63),
            2 => classed(128..=191),
        ]
        .boxed();
    }
    prop_oneof![
        2 => vec(any::<u8>(), 0..1500),
        2 => stun_named,
        3 => mutated,
        2 => classed(20..=63),
        2 => classed(128..=191),
    ]
    .boxed()
}

/// Where each datagram comes from, with what: the client and the replaying
/// ports send anything, a stranger (127.0.0.2) anything but the client's
/// own datagrams (see [`payload`]).
fn sourced(
    client: SocketAddr,
    ufrag: String,
    captured: Vec<Vec<u8>>,
) -> impl Strategy<Value = (SocketAddr, Vec<u8>)> {
    let any_payload = payload(ufrag.clone(), captured);
    prop_oneof![
        3 => (Just(client), any_payload.clone()),
        1 => (
            proptest::sample::select(REPLAY_PORTS.to_vec())
                .prop_map(|port| SocketAddr::from(([127, 0, 0, 1], port))),
            any_payload,
        ),
        1 => (
            any::<u16>().prop_map(|port| SocketAddr::from(([127, 0, 0, 2], port))),
            payload(ufrag, Vec::new()),
        ),
    ]
}

/// Candidates on loopback only (a test must not send checks anywhere
/// else), well-formed or not.
fn candidate() -> impl Strategy<Value = IceCandidate> {
    let line = prop_oneof![
        (
            any::<u32>(),
            1u16..=65535,
            prop_oneof![Just("udp".to_owned()), Just("tcp".to_owned()), "[a-z]{0,4}"],
            "[ -~]{0,30}"
        )
            .prop_map(|(prio, port, proto, rest)| format!(
                "candidate:1 1 {proto} {prio} 127.0.0.1 {port} typ host {rest}"
            )),
        // No dots or colons: no address the checks could go to.
        "[a-zA-Z0-9 _/+-]{0,120}",
    ];
    (
        line,
        proptest::option::of("[ -~]{0,8}"),
        proptest::option::of(any::<u16>()),
    )
        .prop_map(|(candidate, sdp_mid, sdp_mline_index)| IceCandidate {
            candidate,
            sdp_mid,
            sdp_mline_index,
            username_fragment: None,
        })
}

#[tokio::test]
async fn arbitrary_datagrams_and_candidates_reach_a_live_peer() {
    let (mut engine, socket) = engine().await;
    let mut client = client().await;
    connect(&mut engine, &socket, &mut client).await;
    let ufrag = engine.peers[&key()].addrs.ufrag.clone();
    let captured = std::mem::take(&mut client.sent);
    assert!(!captured.is_empty());

    let engine = RefCell::new(engine);
    let strategy = vec(sourced(client.addr, ufrag, captured), 1..16);
    TestRunner::new(config(64))
        .run(&strategy, |datagrams| {
            let mut engine = engine.borrow_mut();
            for (from, data) in datagrams {
                engine.handle_datagram(Instant::now(), from, BytesMut::from(&data[..]));
            }
            engine.flush_timeouts();
            engine.handle_timeouts(Instant::now());
            send_out(&mut engine, &socket);
            prop_assert_eq!(engine.peers.len(), 1, "the peer was dropped");
            let (ufrags, pinned, _) = engine.routes.sizes();
            prop_assert!(ufrags == 1);
            // The client's address and the replaying ones: nobody else can
            // be answered without the ICE password.
            prop_assert!(pinned <= 1 + REPLAY_PORTS.len());
            let pinned_elsewhere = engine
                .routes
                .pinned()
                .any(|a| a.ip() == std::net::IpAddr::from([127, 0, 0, 2]));
            prop_assert!(
                !pinned_elsewhere,
                "an address was pinned without the password"
            );
            Ok(())
        })
        .expect("datagrams");

    let added = RefCell::new(0usize);
    TestRunner::new(config(32))
        .run(&vec(candidate(), 1..8), |candidates| {
            let mut engine = engine.borrow_mut();
            for c in candidates {
                *added.borrow_mut() += 1;
                engine.handle_command(
                    Instant::now(),
                    Command::Candidate {
                        key: key(),
                        conn: ConnId(1),
                        candidate: c,
                    },
                );
            }
            engine.flush_timeouts();
            engine.handle_timeouts(Instant::now());
            send_out(&mut engine, &socket);
            prop_assert_eq!(engine.peers.len(), 1);
            // Checks go only to candidates that were added.
            prop_assert!(engine.routes.sizes().2 <= 1 + *added.borrow());
            Ok(())
        })
        .expect("candidates");
}
