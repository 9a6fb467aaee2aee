//! ICE over TCP (RFC 6544): a client that has no UDP at all still gets a
//! call through Duet's passive TCP candidate; without ICE-TCP it gets none;
//! and whatever else arrives on the TCP port is closed without harm.
//!
//! Opens peer connections: run it in a loopback-only network namespace.

use std::net::SocketAddr;
use std::time::Duration;

use duet_tests::harness::{TestServer, media_flows_both_ways, token};
use duet_tests::{MediaKind, PeerOptions, TestPeer, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const T: Duration = Duration::from_secs(20);
/// The server's handshake limit (5 s) with room for a loaded machine.
const CLOSE_WITHIN: Duration = Duration::from_secs(9);

fn tcp_only(name: &str) -> PeerOptions {
    PeerOptions {
        transport: Transport::Tcp,
        ..PeerOptions::named(name)
    }
}

/// Whether the answer offers a passive ICE-TCP candidate on `port`.
fn has_tcp_candidate(sdp: &str, port: u16) -> bool {
    let port = format!(" {port} ");
    sdp.lines().any(|l| {
        l.starts_with("a=candidate:")
            && l.contains(" tcp ")
            && l.contains("127.0.0.1")
            && l.contains(&port)
            && l.contains("tcptype passive")
    })
}

async fn answer_sdp(peer: &TestPeer) -> String {
    let answer = peer.wait_for_message("answer", T).await.expect("an answer");
    answer["sdp"].as_str().expect("sdp").to_owned()
}

/// Both participants send and receive each other's audio and video intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_without_udp_call_over_ice_tcp() {
    let server = TestServer::start().await.expect("server");
    let tcp = server.media_tcp.expect("ICE-TCP is on by default");
    let session = server.create_session().await.expect("session");
    let ws = server.ws_url();
    let mentor = TestPeer::join(&ws, &token(&session, "mentor"), tcp_only("Ada"))
        .await
        .expect("mentor joins");
    let mentee = TestPeer::join(&ws, &token(&session, "mentee"), tcp_only("Grace"))
        .await
        .expect("mentee joins");

    let sdp = answer_sdp(&mentor).await;
    assert!(
        has_tcp_candidate(&sdp, tcp.port()),
        "answer lacks the passive ICE-TCP candidate:\n{sdp}"
    );
    mentor.wait_connected(T).await.expect("mentor connects");
    mentee.wait_connected(T).await.expect("mentee connects");
    media_flows_both_ways(&mentor, &mentee, T).await;

    // Keyframe requests travel upstream over TCP too.
    let before = *mentor.stats().keyframe_requests.get(MediaKind::Camera);
    let deadline = tokio::time::Instant::now() + T;
    loop {
        mentee.send_pli().await.expect("PLI sent");
        let got = mentor
            .wait_until(
                |s| *s.keyframe_requests.get(MediaKind::Camera) > before,
                Duration::from_millis(700),
            )
            .await;
        if got.is_ok() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no PLI over TCP");
    }
    mentor.close().await;
    mentee.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_client_and_a_udp_client_share_a_call() {
    let server = TestServer::start().await.expect("server");
    let session = server.create_session().await.expect("session");
    let ws = server.ws_url();
    let mentor = TestPeer::join(&ws, &token(&session, "mentor"), tcp_only("Ada"))
        .await
        .expect("mentor joins");
    let mentee = TestPeer::join(&ws, &token(&session, "mentee"), PeerOptions::named("Grace"))
        .await
        .expect("mentee joins");
    mentor.wait_connected(T).await.expect("TCP mentor connects");
    mentee.wait_connected(T).await.expect("UDP mentee connects");
    media_flows_both_ways(&mentor, &mentee, T).await;
    mentor.close().await;
    mentee.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ice_tcp_a_client_without_udp_gets_no_call() {
    let server = TestServer::start_with(|c| c.media.ice_tcp = false)
        .await
        .expect("server");
    assert_eq!(server.media_tcp, None, "no TCP listener");
    let session = server.create_session().await.expect("session");
    let peer = TestPeer::join(
        &server.ws_url(),
        &token(&session, "mentor"),
        tcp_only("Ada"),
    )
    .await
    .expect("joins");
    let sdp = answer_sdp(&peer).await;
    assert!(
        !sdp.lines()
            .any(|l| l.starts_with("a=candidate:") && l.contains(" tcp ")),
        "a TCP candidate although ICE-TCP is off:\n{sdp}"
    );
    assert!(
        peer.wait_connected(Duration::from_secs(8)).await.is_err(),
        "connected with neither UDP nor ICE-TCP"
    );
    peer.close().await;
}

/// A STUN binding request (no MESSAGE-INTEGRITY) with USERNAME
/// `<server ufrag>:<client ufrag>`, framed for TCP.
fn framed_binding_request(server_ufrag: &str) -> Vec<u8> {
    let username = format!("{server_ufrag}:intruder");
    let padded = username.len().div_ceil(4) * 4;
    let mut stun = vec![0x00, 0x01];
    stun.extend_from_slice(&((4 + padded) as u16).to_be_bytes());
    stun.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
    stun.extend_from_slice(&[7; 12]);
    stun.extend_from_slice(&[0x00, 0x06]);
    stun.extend_from_slice(&(username.len() as u16).to_be_bytes());
    stun.extend_from_slice(username.as_bytes());
    stun.resize(20 + 4 + padded, 0);
    let mut framed = (stun.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&stun);
    framed
}

/// Connects to `addr` and sends `bytes` (nothing when empty).
async fn connect_and_send(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    if !bytes.is_empty() {
        stream.write_all(bytes).await.expect("write");
    }
    stream
}

/// Waits for the server to close `stream` (EOF or reset), reading and
/// discarding whatever it sent first; panics after `within`.
async fn closed_by_server(mut stream: TcpStream, within: Duration, what: &str) {
    let mut buf = [0u8; 512];
    let closed = tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "{what}: still open after {within:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_tcp_port_is_closed_and_harms_nothing() {
    let server = TestServer::start().await.expect("server");
    let tcp = server.media_tcp.expect("ICE-TCP is on by default");
    let session = server.create_session().await.expect("session");
    // A UDP call in progress the whole time.
    let (mentor, mentee) = server.join_both(&session).await.expect("both join");
    let ufrag = answer_sdp(&mentee)
        .await
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:").map(str::to_owned))
        .expect("the server's ufrag");

    let quick = Duration::from_secs(3);
    let http = connect_and_send(tcp, b"GET / HTTP/1.1\r\nHost: duet\r\n\r\n").await;
    let huge = connect_and_send(tcp, &[0xFF, 0xFF, 1, 2, 3]).await;
    let stranger = connect_and_send(tcp, &framed_binding_request("nosuchufrag")).await;
    let mut rtp_first = vec![0, 12, 0x80, 0x60];
    rtp_first.extend_from_slice(&[0; 10]);
    let rtp_first = connect_and_send(tcp, &rtp_first).await;
    let silent = connect_and_send(tcp, &[]).await;
    let half_frame = connect_and_send(tcp, &[0x00]).await;
    // Knows a live ufrag but not the password: ICE never answers it.
    let forger = connect_and_send(tcp, &framed_binding_request(&ufrag)).await;

    closed_by_server(http, quick, "HTTP").await;
    closed_by_server(huge, quick, "a 64 KiB frame").await;
    closed_by_server(stranger, quick, "an unknown ufrag").await;
    closed_by_server(rtp_first, quick, "RTP before any binding request").await;
    closed_by_server(silent, CLOSE_WITHIN, "a silent connection").await;
    closed_by_server(half_frame, CLOSE_WITHIN, "half a frame header").await;
    closed_by_server(forger, CLOSE_WITHIN, "a forged USERNAME").await;

    // A flood of idle connections: past the cap on unproven connections,
    // new ones are closed at once. (The pause lets the tasks of the
    // connections closed above hand back their places.)
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut flood = Vec::new();
    for _ in 0..80 {
        flood.push(connect_and_send(tcp, &[]).await);
    }
    let refused = flood.split_off(64);
    for stream in refused {
        closed_by_server(stream, quick, "a connection past the cap").await;
    }

    // The UDP call never noticed.
    mentor.wait_connected(T).await.expect("mentor connected");
    mentee.wait_connected(T).await.expect("mentee connected");
    let base = mentee.stats().received.get(MediaKind::Camera).packets;
    mentee
        .wait_until(|s| s.received.get(MediaKind::Camera).packets > base + 30, T)
        .await
        .expect("media keeps flowing during the flood");
    media_flows_both_ways(&mentor, &mentee, T).await;

    // Once the flood has timed out, ICE-TCP takes new clients again.
    for stream in flood {
        closed_by_server(stream, CLOSE_WITHIN, "an idle flood connection").await;
    }
    let other = server.create_session().await.expect("session");
    let late = TestPeer::join(&server.ws_url(), &token(&other, "mentor"), tcp_only("Ada"))
        .await
        .expect("joins");
    late.wait_connected(T)
        .await
        .expect("ICE-TCP works after the flood");
    late.close().await;
    mentor.close().await;
    mentee.close().await;
}
