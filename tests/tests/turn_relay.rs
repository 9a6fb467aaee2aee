//! NAT traversal through a real TURN server: coturn (the Debian package) on
//! loopback with `use-auth-secret`, Duet configured with the same secret.
//! Both peers use ICE policy `relay`, so a call connects only if the
//! credentials Duet hands out in `joined.ice_servers` open a TURN
//! allocation, and media then flows through coturn's relay.
//!
//! Opens peer connections: the test script runs it in a loopback-only
//! network namespace, with coturn installed.

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use duet_tests::harness::{TestServer, token};
use duet_tests::{MediaKind, PeerOptions, TestPeer};

const SECRET: &str = "a-shared-secret-for-the-test-turn";
const T: Duration = Duration::from_secs(20);

/// coturn, killed when dropped.
struct Coturn {
    child: Child,
    port: u16,
}

impl Coturn {
    fn start(secret: &str) -> Coturn {
        let port = free_udp_port();
        // The tests run side by side, each with its own coturn: each gets
        // its own relay ports, so one's allocation never finds a port the
        // other holds (a relayed call once stayed in ICE checking for 20 s
        // in a full run, and never alone).
        static STARTED: AtomicU16 = AtomicU16::new(0);
        let first = 52_000 + 250 * (STARTED.fetch_add(1, Ordering::Relaxed) % 4);
        let (min_port, max_port) = (first, first + 249);
        let child = Command::new("turnserver")
            .args([
                "-n",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                &format!("--listening-port={port}"),
                &format!("--min-port={min_port}"),
                &format!("--max-port={max_port}"),
                "--use-auth-secret",
                &format!("--static-auth-secret={secret}"),
                "--realm=duet.test",
                // Duet listens on loopback in the test namespace; coturn
                // refuses loopback peers unless told otherwise.
                "--allow-loopback-peers",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "--fingerprint",
                "--log-file=stdout",
                "--simple-log",
                "--pidfile=",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver runs (tests/run.sh installs the coturn package)");
        // A peer that comes before coturn listens gets no relay candidate
        // (its first allocation is lost, and a loaded machine once took
        // longer than a fixed pause): wait until coturn answers STUN.
        wait_for_stun(port);
        Coturn { child, port }
    }

    fn url(&self) -> String {
        format!("turn:127.0.0.1:{}?transport=udp", self.port)
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Until a STUN Binding request to `port` is answered (10 s at most, then
/// the test goes on and fails on its own terms).
fn wait_for_stun(port: u16) {
    let Ok(sock) = UdpSocket::bind("127.0.0.1:0") else {
        return;
    };
    let _ = sock.set_read_timeout(Some(Duration::from_millis(100)));
    // Binding request: type 0x0001, length 0, the magic cookie, an id.
    let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
    request.extend_from_slice(b"duet-turn-ok");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut answer = [0u8; 512];
    while std::time::Instant::now() < deadline {
        let _ = sock.send_to(&request, ("127.0.0.1", port));
        if let Ok((n, _)) = sock.recv_from(&mut answer)
            && n >= 2
            && answer[..2] == [0x01, 0x01]
        {
            return;
        }
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

fn relay_only(name: &str) -> PeerOptions {
    PeerOptions {
        relay_only: true,
        ..PeerOptions::named(name)
    }
}

async fn relayed_call(
    duet_secret: &str,
) -> anyhow::Result<(TestPeer, TestPeer, TestServer, Coturn)> {
    let coturn = Coturn::start(SECRET);
    let url = coturn.url();
    let secret = duet_secret.to_string();
    let server = TestServer::start_with(move |c| {
        c.turn.urls = vec![url];
        c.turn.shared_secret = Some(secret);
    })
    .await?;
    let session = server.create_session().await?;
    let ws = server.ws_url();
    let mentor = TestPeer::join(&ws, &token(&session, "mentor"), relay_only("Ada")).await?;
    let mentee = TestPeer::join(&ws, &token(&session, "mentee"), relay_only("Grace")).await?;
    Ok((mentor, mentee, server, coturn))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn relay_only_peers_connect_through_coturn_with_handed_out_credentials() {
    let (mentor, mentee, _server, coturn) = relayed_call(SECRET).await.expect("call set up");

    let joined = mentor.joined();
    let turn = joined["ice_servers"]
        .as_array()
        .and_then(|servers| {
            servers
                .iter()
                .find(|s| s["urls"][0] == coturn.url().as_str())
        })
        .expect("joined.ice_servers carries the TURN server");
    let username = turn["username"].as_str().expect("a TURN username");
    let (expiry, _user) = username.split_once(':').expect("<expiry>:<user>");
    let expiry: i64 = expiry.parse().expect("a Unix expiry");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        expiry > now + 3600,
        "credentials outlast a call: {username}"
    );

    mentor
        .wait_connected(T)
        .await
        .expect("mentor connected through TURN");
    mentee
        .wait_connected(T)
        .await
        .expect("mentee connected through TURN");
    for (who, peer) in [("mentor", &mentor), ("mentee", &mentee)] {
        peer.wait_until(
            |s| {
                s.received.get(MediaKind::Audio).packets >= 25
                    && s.received.get(MediaKind::Camera).packets >= 15
            },
            T,
        )
        .await
        .unwrap_or_else(|e| panic!("{who} receives relayed media: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn credentials_from_another_secret_get_no_relay() {
    let (mentor, mentee, _server, _coturn) = relayed_call("not-the-secret-coturn-was-given")
        .await
        .expect("signaling still works");
    // With only relay candidates allowed and no allocation possible, there
    // is no path at all.
    let connected = tokio::time::timeout(Duration::from_secs(8), async {
        tokio::join!(mentor.wait_connected(T), mentee.wait_connected(T))
    })
    .await;
    assert!(
        !matches!(connected, Ok((Ok(()), Ok(())))),
        "a call connected without valid TURN credentials"
    );
}
