//! Draining the real binary: SIGTERM during a recorded call tells both
//! people, refuses new joins, turns `/readyz` 503, lets the call go on for
//! the grace period, then ends it and exits with playable files. A second
//! signal cuts the grace short.
//!
//! Opens peer connections: the test script runs it in a loopback-only
//! network namespace.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use duet_tests::consent_flow::start_recording;
use duet_tests::harness::{BinaryServer, client, create_recordable_session_at, token};
use duet_tests::media_check::{codec, decodes_cleanly};
use duet_tests::{JoinRefused, MediaKind, PeerOptions, TestPeer};
use serde_json::Value;

const T: Duration = Duration::from_secs(20);

struct Call {
    server: BinaryServer,
    data: tempfile::TempDir,
    session: Value,
    mentor: TestPeer,
    mentee: TestPeer,
}

async fn recorded_call(grace_s: &str) -> Call {
    let data = tempfile::tempdir().expect("tempdir");
    let server = BinaryServer::start_with(
        data.path(),
        &["--listen", "127.0.0.1:0", "--public-ip", "127.0.0.1"],
        &[("DUET_SHUTDOWN_GRACE_PERIOD_S", grace_s)],
    )
    .expect("duet starts");
    let session = create_recordable_session_at(&server.url(""))
        .await
        .expect("session");
    let (mentor, mentee) = join(&server, &session).await;
    start_recording(&mentor, &mentee).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    Call {
        server,
        data,
        session,
        mentor,
        mentee,
    }
}

async fn join(server: &BinaryServer, session: &Value) -> (TestPeer, TestPeer) {
    let ws = server.ws_url();
    let mentor = TestPeer::join(&ws, &token(session, "mentor"), PeerOptions::named("Ada"))
        .await
        .expect("mentor");
    let mentee = TestPeer::join(&ws, &token(session, "mentee"), PeerOptions::named("Grace"))
        .await
        .expect("mentee");
    for p in [&mentor, &mentee] {
        p.wait_until(|s| s.received.get(MediaKind::Camera).packets > 20, T)
            .await
            .expect("media flows");
    }
    (mentor, mentee)
}

async fn wait_message(peer: &TestPeer, ty: &str) -> Value {
    peer.wait_for_message(ty, T)
        .await
        .unwrap_or_else(|e| panic!("{ty}: {e}"))
}

fn recording_dir(data: &Path) -> PathBuf {
    let dir = data.join("recordings");
    std::fs::read_dir(&dir)
        .expect("recordings folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("one recording")
}

fn assert_complete_and_playable(data: &Path) {
    let dir = recording_dir(data);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["status"], "complete", "{manifest}");
    for role in ["mentor", "mentee"] {
        let audio = dir.join(format!("{role}-audio.ogg"));
        let video = dir.join(format!("{role}-camera.webm"));
        assert_eq!(codec(&audio).expect("ogg probes"), "opus");
        assert_eq!(codec(&video).expect("webm probes"), "vp8");
        for f in [&audio, &video] {
            decodes_cleanly(f).unwrap_or_else(|e| panic!("{} does not decode: {e}", f.display()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_gives_calls_the_grace_period_then_ends_them_with_files_intact() {
    let mut c = recorded_call("4").await;
    let signalled = Instant::now();
    c.server.signal("TERM").expect("SIGTERM");

    for peer in [&c.mentor, &c.mentee] {
        let notice = wait_message(peer, "server_draining").await;
        assert_eq!(notice["grace_s"], 4, "{notice}");
        assert!(
            notice["message"]
                .as_str()
                .is_some_and(|m| m.contains("restarting")),
            "{notice}"
        );
    }
    let ready = client()
        .get(c.server.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status().as_u16(), 503, "not ready while draining");
    match TestPeer::join(
        &c.server.ws_url(),
        &token(&c.session, "mentor"),
        PeerOptions::named("Late"),
    )
    .await
    {
        Err(e) => {
            let refused = e.downcast_ref::<JoinRefused>().expect("a refusal");
            assert_eq!(refused.code, "unavailable", "{refused:?}");
            assert!(refused.message.contains("shutting down"), "{refused:?}");
        }
        Ok(_) => panic!("a join was admitted while draining"),
    }
    // The call goes on during the grace period.
    let before = c.mentee.stats().received.get(MediaKind::Camera).packets;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = c.mentee.stats().received.get(MediaKind::Camera).packets;
    assert!(after > before + 10, "media stopped during the grace period");

    for peer in [&c.mentor, &c.mentee] {
        let ended = wait_message(peer, "session_ended").await;
        assert_eq!(ended["reason"], "server_shutdown", "{ended}");
    }
    let ended_after = signalled.elapsed();
    assert!(
        ended_after >= Duration::from_secs(4),
        "calls ended {ended_after:?} after SIGTERM, before the grace period"
    );
    let status = c
        .server
        .wait_exit(Duration::from_secs(15))
        .await
        .expect("exits");
    assert!(status.success(), "{status}");
    assert!(
        signalled.elapsed() < Duration::from_secs(4 + 10),
        "exit took {:?}",
        signalled.elapsed()
    );
    assert_complete_and_playable(c.data.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_signal_ends_calls_at_once_and_still_finishes_recordings() {
    let mut c = recorded_call("600").await;
    c.server.signal("TERM").expect("SIGTERM");
    wait_message(&c.mentor, "server_draining").await;
    let second = Instant::now();
    c.server.signal("INT").expect("SIGINT");
    wait_message(&c.mentee, "session_ended").await;
    let status = c
        .server
        .wait_exit(Duration::from_secs(15))
        .await
        .expect("exits");
    assert!(status.success(), "{status}");
    assert!(
        second.elapsed() < Duration::from_secs(10),
        "exit took {:?} after the second signal",
        second.elapsed()
    );
    assert_complete_and_playable(c.data.path());
}
