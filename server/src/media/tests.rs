use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use duet_signaling::protocol::IceCandidate;
use duet_signaling::{ConnId, Role, SessionId};
use tokio::sync::mpsc;

use super::*;

/// A plane whose loop never runs: what it was sent stays in `rx`.
fn stalled_plane() -> (MediaPlane, mpsc::Receiver<Command>) {
    let (requests, rx) = mpsc::channel(REQUEST_QUEUE);
    let (control, _control_rx) = mpsc::unbounded_channel();
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9);
    let plane = MediaPlane {
        shards: vec![ShardLink { requests, control }].into(),
        placement: Arc::new(std::sync::Mutex::new(placement::ShardPlacement::new(
            1,
            0,
            std::time::Instant::now(),
        ))),
        local_addr: addr,
        tcp_addr: None,
        advertise_ip: addr.ip(),
    };
    (plane, rx)
}

fn key() -> PeerKey {
    PeerKey {
        session: SessionId(uuid::Uuid::new_v4()),
        role: Role::Mentor,
    }
}

// Without the split, `offer` awaited the loop's answer (up to 10 s) and the
// signaling socket read no frame meanwhile: a revoke waited behind it.
#[tokio::test]
async fn offer_is_queued_at_once_and_candidates_follow_it() {
    let (plane, mut rx) = stalled_plane();
    let filter = plane.ice_filter(&[]);
    let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:abcd\r\n".to_owned();
    let mut pending = plane
        .offer(key(), ConnId(1), sdp, &filter)
        .expect("queued without waiting for the loop");
    let cand = IceCandidate {
        candidate: "candidate:1 1 udp 1 203.0.113.7 5000 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
        username_fragment: None,
    };
    plane
        .candidate(key(), ConnId(1), cand, &filter)
        .expect("queued");
    assert!(matches!(rx.try_recv(), Ok(Command::Offer { .. })));
    assert!(matches!(rx.try_recv(), Ok(Command::Candidate { .. })));
    // The loop goes away without answering: the wait ends, not hangs.
    drop(rx);
    assert_eq!(pending.answer().await, Err(MediaError::Stopped));
}
