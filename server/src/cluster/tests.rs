//! Two nodes on one database (PostgreSQL when the run gives one, else
//! SQLite): where a join is told its session lives.

use duet_signaling::SessionId;
use uuid::Uuid;

use super::*;
use crate::store::scratch::ScratchDatabase;
use crate::store::{Location, Store};

fn advert(id: &str) -> NodeAdvert {
    NodeAdvert {
        id: id.into(),
        media_addr: "127.0.0.1:7000".into(),
        internal_url: String::new(),
    }
}

async fn two_nodes() -> (Cluster, Cluster, Option<ScratchDatabase>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let scratch = ScratchDatabase::create().await.expect("scratch");
    let location = match &scratch {
        Some(db) => db.location(),
        None => Location::Sqlite(dir.path().join("db")),
    };
    let a = Store::open_at(&location).await.expect("open");
    let b = Store::open_at(&location).await.expect("open");
    (
        Cluster::new(a, advert("a")),
        Cluster::new(b, advert("b")),
        scratch,
        dir,
    )
}

#[tokio::test]
async fn a_node_takes_no_call_before_its_first_heartbeat() {
    let (a, _b, _db, _dir) = two_nodes().await;
    let s = SessionId(Uuid::new_v4());
    assert_eq!(a.place(s).await.expect("place"), Placed::Nowhere);
    assert_eq!(
        a.heartbeat().await.expect("heartbeat"),
        Some(LeaseState::Held)
    );
    assert_eq!(a.place(s).await.expect("place"), Placed::Here { epoch: 1 });
}

#[tokio::test]
async fn both_nodes_agree_where_a_session_lives_and_a_retired_room_lets_it_go() {
    let (a, b, _db, _dir) = two_nodes().await;
    a.heartbeat().await.expect("heartbeat");
    b.heartbeat().await.expect("heartbeat");
    let s = SessionId(Uuid::new_v4());
    assert_eq!(a.place(s).await.expect("place"), Placed::Here { epoch: 1 });
    assert_eq!(
        b.place(s).await.expect("place"),
        Placed::Elsewhere { node: "a".into() }
    );
    // The room on a retires; the placement goes (in the background).
    a.release(s);
    let store = &a.inner.store;
    for _ in 0..100 {
        if store.placement(s).await.expect("placement").is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(store.placement(s).await.expect("placement"), None);
    // The next join places it anew, with the next epoch: a holds one
    // session fewer now, so the asker wins the tie.
    assert_eq!(b.place(s).await.expect("place"), Placed::Here { epoch: 2 });
}
