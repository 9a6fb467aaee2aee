//! SessionPlacement on the real engines (PostgreSQL when the test run gives one,
//! else SQLite), several nodes being several stores on one database.

use duet_signaling::SessionId;
use uuid::Uuid;

use super::*;
use crate::store::scratch::ScratchDatabase;
use crate::store::{Location, Store};

/// The lease: a heartbeat older than this is a dead node's.
const LEASE_MS: i64 = 10_000;
const NOW: i64 = 1_800_000_000_000;
/// When the nodes' processes started.
const STARTED: i64 = NOW - 60_000;

fn advert(id: &str) -> NodeAdvert {
    NodeAdvert {
        id: id.into(),
        media_addr: format!("10.0.0.{}:7000", id.len()),
        internal_url: format!("http://{id}.internal:8080"),
    }
}

fn session() -> SessionId {
    SessionId(Uuid::new_v4())
}

/// `n` stores on one database, as `n` nodes would have; keep the
/// scratch database (if any) alive as long as them.
async fn nodes(n: usize) -> (Vec<Store>, Option<ScratchDatabase>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let scratch = ScratchDatabase::create().await.expect("scratch");
    let location = match &scratch {
        Some(db) => db.location(),
        None => Location::Sqlite(dir.path().join("db")),
    };
    let mut stores = Vec::new();
    for _ in 0..n {
        stores.push(Store::open_at(&location).await.expect("open"));
    }
    (stores, scratch, dir)
}

async fn place(store: &Store, s: SessionId, here: &str, now: i64) -> Option<SessionPlacement> {
    store
        .place(s, here, now, now - LEASE_MS)
        .await
        .expect("place")
}

#[tokio::test]
async fn a_single_node_places_every_session_on_itself_once() {
    let (stores, _db, _dir) = nodes(1).await;
    let store = &stores[0];
    store
        .heartbeat(&advert("a"), STARTED, NOW)
        .await
        .expect("heartbeat");
    let s = session();
    let first = place(store, s, "a", NOW).await.expect("placed");
    assert_eq!(
        first,
        SessionPlacement {
            node: "a".into(),
            epoch: 1
        }
    );
    assert_eq!(
        place(store, s, "a", NOW + 1).await,
        Some(first.clone()),
        "the same answer again"
    );
    assert!(store.holds(s, "a", 1).await.expect("holds"));
    // No live node: nowhere to place a new session.
    assert_eq!(place(store, session(), "a", NOW + LEASE_MS + 1).await, None);
}

#[tokio::test]
async fn a_new_session_goes_to_the_least_loaded_live_node_and_the_asker_wins_a_tie() {
    let (stores, _db, _dir) = nodes(1).await;
    let store = &stores[0];
    for id in ["a", "b"] {
        store
            .heartbeat(&advert(id), STARTED, NOW)
            .await
            .expect("heartbeat");
    }
    assert_eq!(
        place(store, session(), "b", NOW).await.map(|p| p.node),
        Some("b".into())
    );
    // b holds one, a none: a takes the next, whoever asks.
    assert_eq!(
        place(store, session(), "b", NOW).await.map(|p| p.node),
        Some("a".into())
    );
    let rows = store.nodes(NOW - LEASE_MS).await.expect("nodes");
    let load: Vec<(String, i64)> = rows.iter().map(|n| (n.id.clone(), n.sessions)).collect();
    assert_eq!(load, [("a".into(), 1), ("b".into(), 1)]);
}

#[tokio::test]
async fn a_stale_nodes_session_moves_with_a_new_epoch_and_fences_the_old_holder() {
    let (stores, _db, _dir) = nodes(2).await;
    let (a, b) = (&stores[0], &stores[1]);
    a.heartbeat(&advert("a"), STARTED, NOW)
        .await
        .expect("heartbeat");
    let s = session();
    assert_eq!(place(a, s, "a", NOW).await.map(|p| p.epoch), Some(1));
    // b comes up; a stops heartbeating. Within the lease nothing moves.
    let later = NOW + LEASE_MS;
    b.heartbeat(&advert("b"), STARTED, later)
        .await
        .expect("heartbeat");
    assert_eq!(
        place(b, s, "b", later).await.map(|p| p.node),
        Some("a".into())
    );
    // Past it, the next join moves the session to b, epoch 2.
    let past = NOW + LEASE_MS + 1;
    b.heartbeat(&advert("b"), STARTED, past)
        .await
        .expect("heartbeat");
    let moved = place(b, s, "b", past).await.expect("moved");
    assert_eq!(
        moved,
        SessionPlacement {
            node: "b".into(),
            epoch: 2
        }
    );
    // a, back from a pause, holds nothing and cannot let go of b's call.
    assert!(!a.holds(s, "a", 1).await.expect("holds"));
    assert!(!a.release(s, "a", 1).await.expect("release"));
    assert!(b.holds(s, "b", 2).await.expect("holds"));
    // b's call ends; the next join places it anew, and the epoch still
    // only goes up, so no node's old epoch can ever match again.
    assert!(b.release(s, "b", 2).await.expect("release"));
    assert_eq!(b.placement(s).await.expect("placement"), None);
    a.heartbeat(&advert("a"), STARTED, past)
        .await
        .expect("heartbeat");
    let again = place(a, s, "a", past).await.expect("placed");
    assert_eq!(again.epoch, 3, "{again:?}");
}

#[tokio::test]
async fn a_draining_node_takes_no_new_session_but_keeps_its_own() {
    let (stores, _db, _dir) = nodes(1).await;
    let store = &stores[0];
    for id in ["a", "b"] {
        store
            .heartbeat(&advert(id), STARTED, NOW)
            .await
            .expect("heartbeat");
    }
    let mine = session();
    assert_eq!(
        place(store, mine, "a", NOW).await.map(|p| p.node),
        Some("a".into())
    );
    store.set_draining("a", true).await.expect("drain");
    // Heartbeats go on and do not undo the drain.
    store
        .heartbeat(&advert("a"), STARTED, NOW + 1)
        .await
        .expect("heartbeat");
    for _ in 0..3 {
        assert_eq!(
            place(store, session(), "a", NOW + 1).await.map(|p| p.node),
            Some("b".into())
        );
    }
    assert_eq!(
        place(store, mine, "a", NOW + 1).await.map(|p| p.node),
        Some("a".into())
    );
    assert!(
        store
            .nodes(NOW)
            .await
            .expect("nodes")
            .iter()
            .any(|n| n.id == "a" && n.draining)
    );
    // a restarts under the same id: it takes calls again.
    store
        .heartbeat(&advert("a"), NOW + 2, NOW + 2)
        .await
        .expect("heartbeat");
    assert!(
        store
            .nodes(NOW)
            .await
            .expect("nodes")
            .iter()
            .all(|n| !n.draining)
    );
}

/// The race: 50 joins of 25 sessions at once, through 3 nodes
/// (each its own store, as each node has its own pool): every session
/// ends up on exactly one node, and every join is told that node.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_joins_of_25_sessions_never_split_one() {
    let (stores, _db, _dir) = nodes(3).await;
    let ids = ["a", "b", "c"];
    for (store, id) in stores.iter().zip(ids) {
        store
            .heartbeat(&advert(id), STARTED, NOW)
            .await
            .expect("heartbeat");
    }
    let sessions: Vec<SessionId> = (0..25).map(|_| session()).collect();
    let mut joins = tokio::task::JoinSet::new();
    for (i, s) in sessions.iter().flat_map(|s| [*s, *s]).enumerate() {
        // The two joins of a session come in through different nodes.
        let store = stores[i % 3].clone();
        let here = ids[i % 3];
        joins.spawn(async move { (s, place(&store, s, here, NOW).await) });
    }
    let mut told: std::collections::HashMap<SessionId, Vec<SessionPlacement>> = Default::default();
    while let Some(joined) = joins.join_next().await {
        let (s, placement) = joined.expect("join task");
        told.entry(s).or_default().push(placement.expect("placed"));
    }
    assert_eq!(told.len(), 25);
    let mut per_node = std::collections::HashMap::<String, usize>::new();
    for (s, answers) in &told {
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[0], answers[1], "session {s:?} was split");
        assert_eq!(answers[0].epoch, 1, "nothing moved: {answers:?}");
        let stored = stores[0].placement(*s).await.expect("placement");
        assert_eq!(stored.as_ref(), Some(&answers[0]));
        *per_node.entry(answers[0].node.clone()).or_default() += 1;
    }
    // And they spread over the nodes, none left out.
    assert_eq!(per_node.len(), 3, "{per_node:?}");
}

#[tokio::test]
async fn a_session_is_taken_over_from_a_dead_node_once() {
    let (stores, _db, _dir) = nodes(1).await;
    let store = &stores[0];
    for id in ["a", "b"] {
        store
            .heartbeat(&advert(id), STARTED, NOW)
            .await
            .expect("heartbeat");
    }
    let s = session();
    assert_eq!(
        place(store, s, "a", NOW).await.map(|p| p.node),
        Some("a".into())
    );
    assert_eq!(
        store.take_over(s, "a", "b", NOW).await.expect("take over"),
        Some(2)
    );
    // A second node that found a dead too: it is not on a any more.
    assert_eq!(
        store.take_over(s, "a", "c", NOW).await.expect("take over"),
        None
    );
    assert_eq!(
        store.placement(s).await.expect("placement"),
        Some(SessionPlacement {
            node: "b".into(),
            epoch: 2
        })
    );
}

#[tokio::test]
async fn each_node_lists_the_sessions_it_holds_and_a_released_one_on_none() {
    let (stores, _db, _dir) = nodes(1).await;
    let store = &stores[0];
    for id in ["a", "b"] {
        store
            .heartbeat(&advert(id), STARTED, NOW)
            .await
            .expect("heartbeat");
    }
    // Asked by a each time: a (a tie), then b (less loaded), then a (a tie).
    let mut placed = Vec::new();
    for (i, title) in ["first", "second", "third"].into_iter().enumerate() {
        let id = session();
        store
            .create_session(crate::store::SessionRecord {
                id,
                title: title.into(),
                mentor_name: "m".into(),
                mentee_name: "n".into(),
                mentor_link: "l1".into(),
                mentee_link: "l2".into(),
                recording: duet_signaling::protocol::RecordingPolicy::Off,
                created_at: 0,
                expires_at: 1,
                ended_at: None,
            })
            .await
            .expect("session");
        let at = NOW + i64::try_from(i).expect("small");
        placed.push((id, place(store, id, "a", at).await.expect("placed")));
    }
    let listed = |held: Vec<HeldSession>| -> Vec<(String, String)> {
        held.into_iter().map(|h| (h.node, h.title)).collect()
    };
    // By node, the newest first.
    assert_eq!(
        listed(store.held_sessions(100).await.expect("held")),
        [
            ("a".into(), "third".into()),
            ("a".into(), "first".into()),
            ("b".into(), "second".into())
        ]
    );

    // Released: on no node, so under none.
    let (first, at) = &placed[0];
    assert!(
        store
            .release(*first, &at.node, at.epoch)
            .await
            .expect("release")
    );
    assert_eq!(
        listed(store.held_sessions(100).await.expect("held")),
        [("a".into(), "third".into()), ("b".into(), "second".into())]
    );
    assert_eq!(
        store.held_sessions(1).await.expect("held").len(),
        1,
        "the limit"
    );
}
