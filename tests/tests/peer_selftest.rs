//! Self-test of the WebRTC test peer, without the Duet server: two peers wired directly, and a
//! `TestPeer` joining a fake in-process signaling server whose far side is a `MediaPeer`.
//!
//! Opens peer connections on 127.0.0.1: run inside a loopback-only namespace:
//! `unshare --net -- sh -c 'ip link set lo up && exec cargo test -p duet-tests --offline --test peer_selftest'`

use std::sync::Arc;
use std::time::Duration;

use duet_tests::signal::{candidate_from_json, candidate_to_json, msg_type};
use duet_tests::{JoinRefused, MediaKind, MediaPeer, PeerOptions, PeerStats, TestPeer};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

const T: Duration = Duration::from_secs(20);
const MIN_PACKETS: u64 = 25;

/// Forwards `from`'s trickled candidates to `to` until the stream ends.
fn pump_candidates(from: &MediaPeer, to: Arc<MediaPeer>) {
    let mut rx = from
        .take_local_candidates()
        .expect("candidates not taken yet");
    tokio::spawn(async move {
        while let Some(candidate) = rx.recv().await {
            if let Some(c) = candidate {
                to.add_remote_candidate(c).await.expect("add candidate");
            }
        }
    });
}

/// Waits until `rx` received at least `MIN_PACKETS` of `kind`, then checks that every
/// payload is one `tx` sent as the same kind.
async fn assert_intact(rx: &MediaPeer, tx: &MediaPeer, kind: MediaKind) -> PeerStats {
    let got = rx
        .wait_until(|s| s.received.get(kind).packets >= MIN_PACKETS, T)
        .await
        .unwrap_or_else(|e| panic!("{kind:?} never arrived: {e:#}"));
    // Sent payloads are recorded before they are written, so a later snapshot covers all.
    let sent = tx.stats();
    assert_eq!(
        got.foreign_payloads(kind, &sent, kind),
        0,
        "{kind:?}: payloads not sent by the peer arrived"
    );
    assert!(got.received_intact_from(kind, &sent, MIN_PACKETS));
    // Every payload is unique per sender and track: none of what arrived is our own media
    // echoed back, or the peer's other tracks.
    let own = rx.stats();
    for other in MediaKind::ALL {
        assert_eq!(
            got.matched_payloads(kind, &own, other),
            0,
            "{kind:?}: own {other:?} echoed"
        );
        if other != kind {
            assert_eq!(
                got.matched_payloads(kind, &sent, other),
                0,
                "{kind:?} mixed with {other:?}"
            );
        }
    }
    got
}

/// A PLI sent by `asker` for its remote camera arrives at `sender` as a keyframe request, and
/// `sender` answers with a key frame that `asker` receives.
async fn assert_pli_roundtrip(asker: &MediaPeer, sender: &MediaPeer) {
    let requests = sender.keyframe_requests_received();
    let keyframes = asker.stats().received.get(MediaKind::Camera).keyframes;
    asker.send_pli().await.expect("send PLI");
    sender
        .wait_until(
            |s| *s.keyframe_requests.get(MediaKind::Camera) > requests,
            T,
        )
        .await
        .expect("the PLI arrives as a keyframe request");
    asker
        .wait_until(
            |s| s.received.get(MediaKind::Camera).keyframes > keyframes,
            T,
        )
        .await
        .expect("a key frame follows the request");
    assert_eq!(*asker.stats().plis_sent.get(MediaKind::Camera), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_pair_exchanges_intact_media_and_keyframe_requests() {
    let a = Arc::new(
        MediaPeer::new(vec![], &PeerOptions::named("a"))
            .await
            .expect("peer a"),
    );
    let b = Arc::new(
        MediaPeer::new(vec![], &PeerOptions::named("b"))
            .await
            .expect("peer b"),
    );

    let offer = a.create_offer(false).await.expect("offer");
    let answer = b.accept_offer(&offer, false).await.expect("answer");
    a.apply_answer(&answer).await.expect("apply answer");
    pump_candidates(&a, Arc::clone(&b));
    pump_candidates(&b, Arc::clone(&a));

    a.wait_connected(T).await.expect("a connects");
    b.wait_connected(T).await.expect("b connects");

    for (rx, tx) in [(&a, &b), (&b, &a)] {
        assert_intact(rx, tx, MediaKind::Audio).await;
        assert_intact(rx, tx, MediaKind::Camera).await;
        assert_eq!(
            rx.stats().received.get(MediaKind::Screen).packets,
            0,
            "screen is off by default"
        );
    }
    assert_eq!(
        a.remote_ssrc(MediaKind::Camera),
        Some(b.local_ssrc(MediaKind::Camera))
    );

    a.set_sending(MediaKind::Screen, true);
    assert_intact(&b, &a, MediaKind::Screen).await;

    assert_pli_roundtrip(&a, &b).await;
    assert_pli_roundtrip(&b, &a).await;

    a.close().await;
    b.close().await;
}

/// A minimal stand-in for Duet's signaling: answers `join` (or refuses token "bad"), answers
/// the offer with a `MediaPeer`, relays candidates both ways.
struct FakeServer {
    url: String,
    far: watch::Receiver<Option<Arc<MediaPeer>>>,
    from_client: watch::Receiver<Vec<Value>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    async fn start(trickle: bool) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ws://{}/api/v1/ws", listener.local_addr().expect("addr"));
        let (far_tx, far) = watch::channel(None);
        let (log, from_client) = watch::channel(Vec::new());
        let task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let ws = tokio_tungstenite::accept_async(tcp)
                .await
                .expect("handshake");
            serve(ws, trickle, far_tx, log).await;
        });
        FakeServer {
            url,
            far,
            from_client,
            task,
        }
    }

    async fn far_peer(&mut self) -> Arc<MediaPeer> {
        let peer = tokio::time::timeout(T, self.far.wait_for(|p| p.is_some()))
            .await
            .expect("the server got an offer")
            .expect("server alive");
        peer.clone().expect("present")
    }

    fn client_messages(&self, ty: &str) -> Vec<Value> {
        let log = self.from_client.borrow();
        log.iter()
            .filter(|m| msg_type(m) == Some(ty))
            .cloned()
            .collect()
    }

    async fn wait_client_message(&mut self, ty: &str) -> Value {
        let found = |log: &Vec<Value>| log.iter().find(|m| msg_type(m) == Some(ty)).cloned();
        let log = tokio::time::timeout(T, self.from_client.wait_for(|log| found(log).is_some()))
            .await
            .unwrap_or_else(|_| panic!("no {ty:?} from the client"))
            .expect("server alive");
        found(&log).expect("present")
    }
}

async fn serve(
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    trickle: bool,
    far_tx: watch::Sender<Option<Arc<MediaPeer>>>,
    log: watch::Sender<Vec<Value>>,
) {
    let (mut sink, mut stream) = ws.split();
    let (out, mut out_rx) = mpsc::unbounded_channel::<Value>();
    tokio::spawn(async move {
        while let Some(v) = out_rx.recv().await {
            if sink.send(Message::text(v.to_string())).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    let mut far: Option<Arc<MediaPeer>> = None;
    while let Some(Ok(frame)) = stream.next().await {
        let Message::Text(text) = frame else { continue };
        let Ok(msg) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        log.send_modify(|log| log.push(msg.clone()));
        match msg_type(&msg) {
            Some("join") if msg["token"] == "bad" => {
                let _ = out.send(
                    json!({"type": "error", "code": "invalid_token", "message": "bad token"}),
                );
                break;
            }
            Some("join") => {
                let _ = out.send(json!({
                    "type": "joined",
                    "you": {"id": "1", "role": "mentor", "name": msg["name"]},
                    "peer": null,
                    "session": {"id": "s", "title": "self-test"},
                    "ice_servers": [],
                    "recording": {"state": "off"},
                }));
            }
            Some("offer") => {
                let peer = Arc::new(
                    MediaPeer::new(vec![], &PeerOptions::named("far"))
                        .await
                        .expect("far peer"),
                );
                let candidates = peer.take_local_candidates().expect("candidates");
                let sdp = msg["sdp"].as_str().expect("offer sdp");
                let answer = peer.accept_offer(sdp, !trickle).await.expect("answer");
                let _ = out.send(json!({"type": "answer", "sdp": answer}));
                if trickle {
                    let (out, mut candidates, peer) = (out.clone(), candidates, Arc::clone(&peer));
                    tokio::spawn(async move {
                        while let Some(c) = candidates.recv().await {
                            let c = match c {
                                Some(c) => candidate_to_json(&peer.complete_candidate(c).await),
                                None => Value::Null,
                            };
                            let _ = out.send(json!({"type": "candidate", "candidate": c}));
                        }
                    });
                }
                far_tx.send_replace(Some(Arc::clone(&peer)));
                far = Some(peer);
            }
            Some("candidate") => {
                if let (Some(peer), Some(c)) = (&far, candidate_from_json(&msg["candidate"])) {
                    peer.add_remote_candidate(c)
                        .await
                        .expect("client candidate");
                }
            }
            Some("leave") => break,
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_peer_joins_trickles_and_exchanges_media() {
    let mut server = FakeServer::start(true).await;
    let peer = TestPeer::join(&server.url, "good", PeerOptions::named("alice"))
        .await
        .expect("join");
    assert_eq!(peer.joined()["you"]["name"], "alice");
    let far = server.far_peer().await;

    peer.wait_connected(T).await.expect("peer connects");
    far.wait_connected(T).await.expect("far side connects");
    for kind in [MediaKind::Audio, MediaKind::Camera] {
        assert_intact(&far, &peer, kind).await;
        assert_intact(&peer, &far, kind).await;
    }
    assert_pli_roundtrip(&peer, &far).await;
    assert_pli_roundtrip(&far, &peer).await;

    // Trickle: candidates went as messages, on loopback, and the server's reached us.
    let sent = server.client_messages("candidate");
    assert!(
        sent.iter().any(|m| m["candidate"]["candidate"]
            .as_str()
            .is_some_and(|c| c.contains("127.0.0.1"))),
        "no loopback candidate trickled: {sent:?}"
    );
    for c in sent
        .iter()
        .map(|m| &m["candidate"])
        .filter(|c| !c.is_null())
    {
        assert!(c["sdpMid"].as_str().is_some_and(|m| !m.is_empty()), "{c}");
        assert!(
            c["usernameFragment"]
                .as_str()
                .is_some_and(|u| !u.is_empty()),
            "{c}"
        );
        assert_eq!(c["sdpMLineIndex"], 0);
    }
    assert!(
        sent.iter().any(|m| m["candidate"].is_null()),
        "no end-of-candidates"
    );
    assert!(!peer.signal().messages_of_type("candidate").is_empty());
    assert!(
        peer.negotiation_errors().is_empty(),
        "{:?}",
        peer.negotiation_errors()
    );

    // Arbitrary frames go out as given; the log keeps what came in.
    peer.send_raw("{not json").expect("raw frame");
    assert_eq!(msg_type(&peer.messages()[0]), Some("joined"));

    peer.leave().await.expect("leave");
    server.wait_client_message("leave").await;
    assert!(peer.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_peer_without_trickle_puts_candidates_in_the_offer() {
    let mut server = FakeServer::start(false).await;
    let opts = PeerOptions {
        name: "bob".into(),
        trickle: false,
        send_audio: true,
        send_video: false,
        ..PeerOptions::default()
    };
    let peer = TestPeer::join(&server.url, "good", opts)
        .await
        .expect("join");
    let far = server.far_peer().await;
    peer.wait_connected(T).await.expect("peer connects");

    let offer = &server.client_messages("offer")[0];
    assert!(
        offer["sdp"].as_str().expect("sdp").contains("127.0.0.1"),
        "offer lacks candidates"
    );
    assert!(
        server.client_messages("candidate").is_empty(),
        "a non-trickle peer sent candidates"
    );

    assert_intact(&far, &peer, MediaKind::Audio).await;
    assert_eq!(
        far.stats().received.get(MediaKind::Camera).packets,
        0,
        "video was off"
    );
    assert_intact(&peer, &far, MediaKind::Camera).await;
    peer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_refusal_is_reported_with_the_server_error() {
    let server = FakeServer::start(true).await;
    let err = match TestPeer::join(&server.url, "bad", PeerOptions::named("mallory")).await {
        Ok(_) => panic!("a refused join succeeded"),
        Err(err) => err,
    };
    let refused = err
        .downcast_ref::<JoinRefused>()
        .expect("a JoinRefused error");
    assert_eq!(refused.code, "invalid_token");
    assert_eq!(refused.message, "bad token");
}
