//! Two real `duet` processes sharing one PostgreSQL database: a session
//! lives on one node, and a join through the other is piped to it, so
//! both people are in one call there, media flowing; a node killed
//! mid-call (its port refuses connections) gives its session up to a live
//! node at the next join;
//! and a node frozen past its lease (`SIGSTOP`) ends its calls itself as
//! soon as it wakes. The nodes share nothing but the database: not even
//! the link-signing secret's file.
//!
//! PostgreSQL only: it runs in the test script's PostgreSQL pass, where
//! `DUET_TEST_DATABASE_URL` is set; one SQLite file is one node's.

use std::path::Path;
use std::time::{Duration, Instant};

use duet_server::store::Store;
use duet_server::store::scratch::ScratchDatabase;
use duet_signaling::SessionId;
use duet_tests::binary_server::BinaryServer;
use duet_tests::harness::{
    API_KEY, client, create_recordable_session_at, media_flows_both_ways, token,
};
use duet_tests::{PeerOptions, TestPeer};
use serde_json::Value;

const T: Duration = Duration::from_secs(30);
/// Other nodes take a session over once its node's heartbeat is this old
/// (`cluster::lease::LEASE`).
const LEASE: Duration = Duration::from_secs(10);

fn node(data: &Path, id: &str, database: &str) -> BinaryServer {
    BinaryServer::start_node(data, id, database).expect("duet starts")
}

async fn join(server: &BinaryServer, session: &Value, role: &str) -> anyhow::Result<TestPeer> {
    TestPeer::join(
        &server.ws_url(),
        &token(session, role),
        PeerOptions::named(role),
    )
    .await
}

/// One value from a node's `/metrics`.
async fn metric(server: &BinaryServer, name: &str) -> f64 {
    let text = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn placement(db: &ScratchDatabase, session: &Value) -> (String, i64) {
    let store = Store::open_at(&db.location()).await.expect("the database");
    let id = session["id"]
        .as_str()
        .and_then(|s| uuid::Uuid::parse_str(s).ok());
    let placed = store
        .placement(SessionId(id.expect("a session id")))
        .await
        .expect("read")
        .expect("a placement");
    (placed.node, placed.epoch)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_lives_on_one_node_and_moves_only_when_its_node_is_gone() {
    let Some(db) = ScratchDatabase::create().await.expect("scratch") else {
        eprintln!("skipped: needs DUET_TEST_DATABASE_URL (tests/run.sh's PostgreSQL pass)");
        return;
    };
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    // Each node makes a secret of its own in its data folder; both sign
    // and check links with the one a stored in the database first.
    let a = node(dir_a.path(), "node-a", db.url());
    let b = node(dir_b.path(), "node-b", db.url());
    assert_ne!(
        std::fs::read(dir_a.path().join("secret.key")).expect("a's"),
        std::fs::read(dir_b.path().join("secret.key")).expect("b's"),
        "the data folders differ; the database makes them agree"
    );

    let session = create_recordable_session_at(&a.url(""))
        .await
        .expect("session");
    let mentor = join(&a, &session, "mentor")
        .await
        .expect("the mentor joins on a");
    assert_eq!(placement(&db, &session).await, ("node-a".into(), 1));

    // Through b, the mentee's socket is piped to a: one call, on a.
    let mentee = join(&b, &session, "mentee")
        .await
        .expect("the mentee joins through b");
    assert_eq!(
        mentee.joined()["peer"]["role"],
        "mentor",
        "{}",
        mentee.joined()
    );
    media_flows_both_ways(&mentor, &mentee, T).await;
    assert_eq!(placement(&db, &session).await, ("node-a".into(), 1));
    assert!(
        metric(&b, "duet_joins_piped_total").await >= 1.0,
        "b counts the piped join"
    );
    // Either node lists both, and which holds the call.
    let listed = client()
        .get(b.url("/api/v1/nodes"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("nodes")
        .json::<Value>()
        .await
        .expect("json");
    let held: Vec<(String, i64, bool)> = listed["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            let id = n["id"].as_str().unwrap_or_default().to_owned();
            (id, n["sessions"].as_i64().unwrap_or(-1), n["live"] == true)
        })
        .collect();
    assert_eq!(
        held,
        [("node-a".into(), 1, true), ("node-b".into(), 0, true)],
        "{listed}"
    );
    // And which sessions: this one, by its title, on a.
    assert_eq!(
        listed["nodes"][0]["held"][0]["id"], session["id"],
        "{listed}"
    );
    assert_eq!(
        listed["nodes"][0]["held"][0]["title"], session["title"],
        "{listed}"
    );
    assert_eq!(
        listed["nodes"][1]["held"],
        serde_json::json!([]),
        "{listed}"
    );

    // a dies: the mentee's pipe through b closes with it. a's port now
    // refuses connections, so b takes the session over at once (one epoch
    // on) rather than after a's lease, and the call goes on on b.
    a.kill();
    mentee
        .signal()
        .wait_closed(Duration::from_secs(10))
        .await
        .expect("the piped socket closes when a dies");
    let rejoining = Instant::now();
    let mentee = join(&b, &session, "mentee")
        .await
        .expect("the mentee rejoins on b");
    let mentor = join(&b, &session, "mentor")
        .await
        .expect("the mentor rejoins on b");
    assert!(
        rejoining.elapsed() < LEASE / 2,
        "taken over without waiting for a's lease: {:?}",
        rejoining.elapsed()
    );
    media_flows_both_ways(&mentor, &mentee, T).await;
    assert_eq!(placement(&db, &session).await, ("node-b".into(), 2));

    // b freezes past its lease: once it wakes it ends its calls itself,
    // before anything else, and says why.
    b.signal("STOP").expect("SIGSTOP");
    tokio::time::sleep(LEASE + Duration::from_secs(1)).await;
    b.signal("CONT").expect("SIGCONT");
    let ended = mentee
        .signal()
        .wait_for_message("session_ended", Duration::from_secs(10))
        .await
        .expect("the mentee's call on b ends");
    assert_eq!(
        ended["reason"], "moved",
        "the pages reconnect at once: {ended}"
    );
    // (Its log is read by a thread of its own: give it a moment.)
    let said = tokio::time::timeout(Duration::from_secs(5), async {
        while !b.logs().iter().any(|l| l.contains("lost the lease")) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    said.await.expect("b says why in its log");
    // And b takes calls again once its heartbeat gets through.
    let again = tokio::time::timeout(T, async {
        loop {
            match join(&b, &session, "mentor").await {
                Ok(peer) => return peer,
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    })
    .await
    .expect("b takes the session again");
    again.wait_connected(T).await.expect("a call on b again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_node_moves_its_calls_to_another_node() {
    let Some(db) = ScratchDatabase::create().await.expect("scratch") else {
        eprintln!("skipped: needs DUET_TEST_DATABASE_URL (tests/run.sh's PostgreSQL pass)");
        return;
    };
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let grace = [("DUET_SHUTDOWN_GRACE_PERIOD_S", "1")];
    let start = |dir: &Path, id: &str| {
        BinaryServer::start_node_with(dir, id, db.url(), &[], &grace).expect("duet starts")
    };
    let mut a = start(dir_a.path(), "node-a");
    let b = start(dir_b.path(), "node-b");
    let session = create_recordable_session_at(&a.url(""))
        .await
        .expect("session");
    let mentor = join(&a, &session, "mentor").await.expect("mentor on a");
    let mentee = join(&a, &session, "mentee").await.expect("mentee on a");
    media_flows_both_ways(&mentor, &mentee, T).await;
    assert_eq!(placement(&db, &session).await.0, "node-a");

    // a is told to stop: after its grace period the call moves.
    a.signal("TERM").expect("SIGTERM");
    for peer in [&mentor, &mentee] {
        let ended = peer
            .signal()
            .wait_for_message("session_ended", Duration::from_secs(15))
            .await
            .expect("the call on a ends");
        assert_eq!(
            ended["reason"], "moved",
            "another node takes calls: {ended}"
        );
    }
    let moved = Instant::now();
    // The pages join again at once; the load balancer sends them to b
    // (a no longer answers /readyz), and the call goes on there.
    let again = |role: &'static str| {
        let session = session.clone();
        let b = &b;
        async move {
            loop {
                match join(b, &session, role).await {
                    Ok(peer) => return peer,
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        }
    };
    let (mentor, mentee) =
        tokio::time::timeout(T, async { tokio::join!(again("mentor"), again("mentee")) })
            .await
            .expect("both join again through b");
    media_flows_both_ways(&mentor, &mentee, T).await;
    let took = moved.elapsed();
    eprintln!("drain: the call was back with media both ways {took:?} after `moved`");
    assert!(
        took < Duration::from_secs(10),
        "one short reconnect: {took:?}"
    );
    assert_eq!(placement(&db, &session).await.0, "node-b");
    let status = a.wait_exit(Duration::from_secs(30)).await.expect("a exits");
    assert!(status.success(), "a drained cleanly: {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_joins_of_25_sessions_through_three_nodes_never_split_one() {
    use duet_tests::signal::SignalClient;
    let Some(db) = ScratchDatabase::create().await.expect("scratch") else {
        eprintln!("skipped: needs DUET_TEST_DATABASE_URL (tests/run.sh's PostgreSQL pass)");
        return;
    };
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().expect("dir")).collect();
    let nodes: Vec<BinaryServer> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| node(d.path(), &format!("node-{i}"), db.url()))
        .collect();
    let mut sessions = Vec::new();
    for i in 0..25 {
        let at = &nodes[i % 3];
        sessions.push(
            create_recordable_session_at(&at.url(""))
                .await
                .expect("session"),
        );
    }
    // Both people of each session at once, each through another node
    // (as a round-robin balancer would send them): 50 joins together.
    let joins = sessions.iter().enumerate().flat_map(|(i, s)| {
        let nodes = &nodes;
        ["mentor", "mentee"]
            .into_iter()
            .enumerate()
            .map(move |(k, role)| {
                let ws = nodes[(i + k) % 3].ws_url();
                let t = token(s, role);
                async move {
                    let (client, _rx) = SignalClient::connect(&ws).await.expect("socket");
                    client
                        .send_json(&serde_json::json!({"type": "join", "token": t, "name": role}))
                        .expect("join");
                    client.wait_for_message("joined", T).await.expect("joined");
                    client
                }
            })
    });
    let clients: Vec<SignalClient> = futures_util::future::join_all(joins).await;
    // In one room, each sees the other: in `joined`, or in `peer_joined`
    // when it came first. Split over two nodes, neither would.
    for (i, pair) in clients.chunks(2).enumerate() {
        for me in pair {
            let deadline = Instant::now() + T;
            loop {
                let sees = me.messages().iter().any(|m| {
                    (m["type"] == "joined" && !m["peer"].is_null()) || m["type"] == "peer_joined"
                });
                if sees {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "session {i}: split, {:?}",
                    me.messages()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let mut per_node = std::collections::BTreeMap::<String, usize>::new();
    for s in &sessions {
        *per_node.entry(placement(&db, s).await.0).or_default() += 1;
    }
    eprintln!("25 sessions placed: {per_node:?}");
    assert_eq!(per_node.values().sum::<usize>(), 25);
    assert!(per_node.len() >= 2, "spread over the nodes: {per_node:?}");
}
