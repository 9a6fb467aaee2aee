//! Each page hears how both connections are doing: with the mentee's
//! downlink — or her uplink — losing a quarter of its packets, both pages
//! are told the mentee's connection is bad because of loss — and nothing
//! about the mentor's, though what he receives from her is just as
//! thinned — and told it is good again once the loss stops.

use std::time::Duration;

use duet_tests::harness::TestServer;
use duet_tests::{DropPolicy, LossyRelay};
use serde_json::Value;

const T: Duration = Duration::from_secs(30);

fn quality_of(log: &[Value], role: &str) -> Option<(String, Option<String>)> {
    log.iter()
        .rev()
        .find(|m| m["type"] == "quality" && m["role"] == role)
        .map(|m| {
            (
                m["quality"].as_str().unwrap_or("").to_string(),
                m["reason"].as_str().map(String::from),
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_pages_hear_that_the_mentees_connection_is_losing_packets() {
    the_mentee_is_blamed_for(DropPolicy {
        upstream_every: None,
        downstream_every: Some(4),
        persistent: true,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_on_the_mentees_uplink_is_hers_not_the_mentors() {
    the_mentee_is_blamed_for(DropPolicy {
        upstream_every: Some(4),
        downstream_every: None,
        persistent: true,
    })
    .await;
}

/// The mentee's link drops packets as `policy` says; both pages must hear
/// that her connection is bad (loss), never the mentor's, and then that
/// hers is good again.
async fn the_mentee_is_blamed_for(policy: DropPolicy) {
    let server = TestServer::start().await.expect("server");
    let relay = LossyRelay::start(server.media, policy).expect("relay");
    let session = server.create_session().await.expect("session");
    let (mentor, mentee) = server
        .join_both_mentee_via(&session, relay.addr())
        .await
        .expect("both join, the mentee through the relay");
    mentor.wait_connected(T).await.expect("mentor connected");
    mentee.wait_connected(T).await.expect("mentee connected");

    for peer in [&mentor, &mentee] {
        peer.signal()
            .wait_messages(T, |log| {
                quality_of(log, "mentee")
                    .is_some_and(|(q, r)| q == "bad" && r.as_deref() == Some("loss"))
            })
            .await
            .expect("told the mentee's connection is bad: loss");
    }
    // The mentor's reports have counted the thinned stream for a while now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for peer in [&mentor, &mentee] {
        let log = peer.messages();
        assert!(
            log.iter()
                .filter(|m| m["type"] == "quality" && m["role"] == "mentor")
                .all(|m| m["quality"] == "good"),
            "the mentor's connection was never called anything but good: {:?}",
            quality_of(&log, "mentor")
        );
    }

    relay.set_policy(DropPolicy::default());
    mentor
        .signal()
        .wait_messages(T, |log| {
            quality_of(log, "mentee").is_some_and(|(q, r)| q == "good" && r.is_none())
        })
        .await
        .expect("told it is good again");
    mentor.close().await;
    mentee.close().await;
}
