//! PostgreSQL goes down for a few seconds in the middle of a recorded call
//! and comes back: the call goes on, a revoke made while it is down stops
//! the recording at once, and its consent event is stored once it is back
//! — none lost, though no command came to prompt a retry.
//!
//! PostgreSQL only: it runs in the test script's PostgreSQL pass, where
//! `DUET_TEST_DATABASE_URL`, `DUET_TEST_PG_STOP` and `_START` are set.

use std::time::Duration;

use duet_server::store::scratch::ScratchDatabase;
use duet_tests::binary_server::BinaryServer;
use duet_tests::consent_flow::{recording, start_recording, wait_state};
use duet_tests::harness::{
    API_KEY, client, create_recordable_session_at, media_flows_both_ways, token,
};
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::Value;

const T: Duration = Duration::from_secs(30);

async fn trail(server: &BinaryServer, session: &Value) -> Vec<String> {
    let id = session["id"].as_str().expect("id");
    let body = client()
        .get(server.url(&format!("/api/v1/sessions/{id}/consent")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("trail")
        .json::<Value>()
        .await
        .expect("json");
    body["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter_map(|e| e["action"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn sh(command: &str) {
    let out = std::process::Command::new("sh")
        .args(["-c", command])
        .output()
        .expect("pg_ctl");
    assert!(out.status.success(), "{command}: {out:?}");
}

/// Audio packets each has received so far.
fn audio_received(peers: [&TestPeer; 2]) -> [u64; 2] {
    peers.map(|p| p.stats().received.get(MediaKind::Audio).packets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_mid_call_ends_nothing_and_loses_no_consent_event() {
    let (Some(db), Ok(stop), Ok(start)) = (
        ScratchDatabase::create().await.expect("scratch"),
        std::env::var("DUET_TEST_PG_STOP"),
        std::env::var("DUET_TEST_PG_START"),
    ) else {
        eprintln!("skipped: needs tests/postgres.sh run (DUET_TEST_PG_STOP, DUET_TEST_PG_START)");
        return;
    };
    let data = tempfile::tempdir().expect("dir");
    let server = BinaryServer::start_node(data.path(), "node-a", db.url()).expect("duet starts");
    let session = create_recordable_session_at(&server.url(""))
        .await
        .expect("session");
    let ws = server.ws_url();
    let mentor = TestPeer::join(&ws, &token(&session, "mentor"), PeerOptions::named("Ada"))
        .await
        .expect("mentor");
    let mentee = TestPeer::join(&ws, &token(&session, "mentee"), PeerOptions::named("Grace"))
        .await
        .expect("mentee");
    media_flows_both_ways(&mentor, &mentee, T).await;
    start_recording(&mentor, &mentee).await;

    // The database stops (its connections cut); the mentee revokes.
    sh(&stop);
    let down = std::time::Instant::now();
    mentee.send_json(&recording("revoke")).expect("revoke");
    // The recording stops at once, database or not.
    wait_state(&mentor, "off").await;
    let stopped_after = down.elapsed();
    // Down for 3 s in all (under the 7 s after which a node gives up its
    // calls), then back.
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(down.elapsed())).await;
    let [mentor_before, mentee_before] = audio_received([&mentor, &mentee]);
    sh(&start);

    // Nothing ended; media still flows both ways.
    for (peer, before) in [(&mentor, mentor_before), (&mentee, mentee_before)] {
        peer.wait_until(
            |s| s.received.get(MediaKind::Audio).packets > before + 100,
            T,
        )
        .await
        .expect("audio goes on after the outage");
        assert!(
            peer.messages().iter().all(|m| m["type"] != "session_ended"),
            "the call ended"
        );
    }
    // And the revoke reaches the trail, after the two consents, with no
    // command to prompt the room (the retry is its own).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut actions = trail(&server, &session).await;
    while !actions.iter().any(|a| a == "revoke") && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        actions = trail(&server, &session).await;
    }
    let revoke = actions.iter().position(|a| a == "revoke");
    let revoke = revoke.unwrap_or_else(|| panic!("no revoke in the trail: {actions:?}"));
    let consents = actions[..revoke].iter().filter(|a| *a == "consent").count();
    assert_eq!(consents, 2, "both consents, then the revoke: {actions:?}");
    assert!(
        server.logs().iter().any(|l| l.contains("kept to retry")),
        "the revoke met the outage (else this test proved nothing)"
    );
    eprintln!(
        "recording stopped {stopped_after:?} after the database went down; trail: {actions:?}"
    );
}
