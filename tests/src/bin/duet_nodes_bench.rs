//! `duet_nodes_bench`: what several nodes cost a join. Two `duet`
//! processes on the PostgreSQL that `tests/postgres.sh run` gives
//! (`DUET_TEST_DATABASE_URL`), then, `RUNS` times each:
//!
//! - the placement of a new session, one statement (`Store::place`), timed
//!   from a third client of the same database;
//! - a join answered by the node that holds the session (`join` sent to
//!   `joined` received), and the same through the other node, which pipes
//!   the socket to the holder.
//!
//! Prints one JSON line of percentiles (ms). Run by `tests/bench/nodes.sh`;
//! the numbers go to docs/benchmarks.md.

// A command-line tool: its report is its output.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use anyhow::Context;
use duet_server::store::scratch::ScratchDatabase;
use duet_server::store::{NodeAdvert, Store};
use duet_signaling::SessionId;
use duet_tests::SignalClient;
use duet_tests::binary_server::BinaryServer;
use duet_tests::harness::{create_recordable_session_at, token};
use serde_json::{Value, json};

/// `join` sent on a fresh socket to `joined` received; the socket, still
/// in the call.
async fn join_ms(
    server: &BinaryServer,
    session: &Value,
    role: &str,
) -> anyhow::Result<(f64, SignalClient)> {
    let (signal, mut incoming) = SignalClient::connect(&server.ws_url()).await?;
    let started = Instant::now();
    signal.send_json(&json!({"type": "join", "token": token(session, role)}))?;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), incoming.recv())
            .await
            .context("no answer to join")?
            .context("socket closed")?;
        match msg["type"].as_str() {
            Some("joined") => break,
            Some("error") => anyhow::bail!("join refused: {msg}"),
            _ => {}
        }
    }
    Ok((started.elapsed().as_secs_f64() * 1000.0, signal))
}

fn percentiles(mut v: Vec<f64>) -> Value {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    json!({"n": v.len(), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": at(1.0)})
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    let db = ScratchDatabase::create()
        .await?
        .context("DUET_TEST_DATABASE_URL is not set: run under tests/postgres.sh run")?;
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = BinaryServer::start_node(dir_a.path(), "node-a", db.url())?;
    let b = BinaryServer::start_node(dir_b.path(), "node-b", db.url())?;

    // Placement alone: a store of its own, as a node has, placing new
    // sessions on a live node.
    let store = Store::open_at(&db.location()).await?;
    let advert = NodeAdvert {
        id: "bench".into(),
        media_addr: String::new(),
        internal_url: String::new(),
    };
    let mut place = Vec::with_capacity(runs);
    for _ in 0..runs {
        let now = duet_server::clock::now_ms();
        store.heartbeat(&advert, now, now).await?;
        let session = SessionId(uuid::Uuid::new_v4());
        let started = Instant::now();
        store
            .place(session, "bench", now, now - 10_000)
            .await?
            .context("placed")?;
        place.push(started.elapsed().as_secs_f64() * 1000.0);
    }

    // Joins: the mentor's, through a, places the session on the least
    // loaded node; the mentee then joins at that node (direct) or through
    // the other one (piped), in turn.
    let (mut direct, mut piped) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let session = create_recordable_session_at(&a.url("")).await?;
        // Kept in the call until the mentee is in: an empty room retires
        // and lets its placement go.
        let (_, mentor) = join_ms(&a, &session, "mentor").await?;
        let id = session["id"]
            .as_str()
            .and_then(|s| uuid::Uuid::parse_str(s).ok());
        let holder = store
            .placement(SessionId(id.context("a session id")?))
            .await?
            .context("placed")?
            .node;
        let (there, other) = if holder == "node-a" {
            (&a, &b)
        } else {
            (&b, &a)
        };
        let (took, mentee) =
            join_ms(if i % 2 == 0 { there } else { other }, &session, "mentee").await?;
        if i % 2 == 0 {
            direct.push(took);
        } else {
            piped.push(took);
        }
        mentee.close();
        mentor.close();
    }
    println!(
        "{}",
        json!({
            "runs": runs,
            "place_ms": percentiles(place),
            "join_direct_ms": percentiles(direct),
            "join_piped_ms": percentiles(piped),
        })
    );
    drop((a, b));
    Ok(())
}
