//! The engine runs without a socket here: what it sends stays in its outbox.

use std::time::Duration;

use duet_signaling::{ConnId, Role, SessionId};
use tokio::sync::oneshot;

use super::*;
use crate::media::tests_fuzz::CHROMIUM_OFFER;

async fn engine() -> Engine {
    let advertise = SocketAddr::from(([127, 0, 0, 1], 9));
    let metrics = crate::metrics::Metrics::new(std::env::temp_dir()).media;
    Engine::new(advertise, None, metrics)
}

fn key() -> PeerKey {
    PeerKey {
        session: SessionId(uuid::Uuid::from_u128(8)),
        role: Role::Mentor,
    }
}

// Without the skip, a cancelled /check/offer probe whose `Remove` (on the
// priority lane) overtook its queued offer left a peer nobody removes.
#[tokio::test]
async fn an_offer_whose_asker_left_makes_no_peer() {
    let mut engine = engine().await;
    let (reply, answer) = oneshot::channel();
    drop(answer);
    engine.handle_command(
        Instant::now(),
        Command::Offer {
            key: key(),
            conn: ConnId(1),
            sdp: CHROMIUM_OFFER.to_owned(),
            reply,
        },
    );
    assert!(engine.peers.is_empty(), "no peer for a gone asker");

    // The same offer with someone waiting does make one.
    let (reply, answer) = oneshot::channel();
    engine.handle_command(
        Instant::now(),
        Command::Offer {
            key: key(),
            conn: ConnId(1),
            sdp: CHROMIUM_OFFER.to_owned(),
            reply,
        },
    );
    assert!(answer.await.expect("reply").is_ok());
    assert_eq!(engine.peers.len(), 1);
}

// Without the reaping, a peer whose client never connected stayed in the
// engine for good (failed peers are kept).
#[tokio::test]
async fn a_peer_that_never_connects_is_removed_after_30_s() {
    let mut engine = engine().await;
    let (reply, answer) = oneshot::channel();
    engine.handle_command(
        Instant::now(),
        Command::Offer {
            key: key(),
            conn: ConnId(1),
            sdp: CHROMIUM_OFFER.to_owned(),
            reply,
        },
    );
    assert!(answer.await.expect("reply").is_ok());
    let start = Instant::now();
    engine.handle_timeouts(start + Duration::from_secs(5));
    assert_eq!(engine.peers.len(), 1, "still within its time to connect");
    engine.handle_timeouts(start + Duration::from_secs(31));
    assert!(engine.peers.is_empty(), "never connected: removed");
}
