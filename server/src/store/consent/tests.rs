use super::*;
use duet_signaling::consent::NoticeHash;
use duet_signaling::{ParticipantId, Role, UnixMillis};

#[tokio::test]
async fn the_trail_is_append_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    let session = SessionId(uuid::Uuid::new_v4());
    let recording = RecordingId(uuid::Uuid::new_v4());
    let event = ConsentEvent {
        recording,
        action: ConsentAction::Consent,
        actor: Some((Role::Mentee, ParticipantId(uuid::Uuid::new_v4()))),
        at: UnixMillis(1_000),
        notice: NoticeHash("abc".into()),
        detail: None,
    };
    store.append_consent(session, &event).await.expect("append");
    let trail = store.consent_trail(session).await.expect("trail");
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].action, "consent");
    assert_eq!(trail[0].role.as_deref(), Some("mentee"));
    assert_eq!(trail[0].notice_hash, "abc");

    let mut rewrites = vec![
        "UPDATE consent_events SET action = 'decline'",
        "DELETE FROM consent_events",
    ];
    if store.backend() == crate::store::Backend::Postgres {
        rewrites.push("TRUNCATE consent_events");
    }
    for sql in rewrites {
        let err = store.execute_raw(sql).await.expect_err("refused");
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    assert_eq!(store.consent_trail(session).await.expect("trail").len(), 1);
}

/// A node that lost a session (its lease ran out, another took over)
/// cannot add to its trail: the placement's epoch is checked in the same
/// statement.
#[tokio::test]
async fn a_node_that_lost_the_session_cannot_write_its_trail() {
    use crate::store::{Fence, NodeAdvert};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    let session = SessionId(uuid::Uuid::new_v4());
    let now = 1_800_000_000_000;
    for id in ["a", "b"] {
        let advert = NodeAdvert {
            id: id.into(),
            media_addr: String::new(),
            internal_url: String::new(),
        };
        let started = if id == "a" { now } else { now + 20_000 };
        store
            .heartbeat(&advert, started, started)
            .await
            .expect("heartbeat");
    }
    let placed = store
        .place(session, "a", now, now - 10_000)
        .await
        .expect("place");
    assert_eq!(placed.map(|p| p.node).as_deref(), Some("a"));
    let event = |at: i64| ConsentEvent {
        recording: RecordingId(uuid::Uuid::new_v4()),
        action: ConsentAction::Consent,
        actor: Some((Role::Mentor, ParticipantId(uuid::Uuid::new_v4()))),
        at: UnixMillis(at),
        notice: NoticeHash("abc".into()),
        detail: None,
    };
    let a1 = Fence {
        node: "a".into(),
        epoch: 1,
    };
    store
        .append_consent_fenced(session, &event(1), &a1)
        .await
        .expect("a holds it");
    // a goes quiet; 20 s on, a join through b moves the session there.
    let later = now + 20_000;
    let moved = store
        .place(session, "b", later, later - 10_000)
        .await
        .expect("place");
    assert_eq!(moved.map(|p| (p.node, p.epoch)), Some(("b".into(), 2)));
    match store.append_consent_fenced(session, &event(2), &a1).await {
        Err(StoreError::Fenced { node, epoch }) => assert_eq!((node.as_str(), epoch), ("a", 1)),
        other => panic!("a stale node wrote the trail: {other:?}"),
    }
    let b2 = Fence {
        node: "b".into(),
        epoch: 2,
    };
    store
        .append_consent_fenced(session, &event(3), &b2)
        .await
        .expect("b holds it");
    let trail = store.consent_trail(session).await.expect("trail");
    let at: Vec<i64> = trail.iter().map(|e| e.at_ms).collect();
    assert_eq!(at, [1, 3], "only the holders' events");
}

#[tokio::test]
async fn a_gone_nodes_recordings_are_found_and_claimed_once() {
    use crate::store::NodeAdvert;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    let now = 1_800_000_000_000;
    let advert = |id: &str| NodeAdvert {
        id: id.into(),
        media_addr: "10.0.0.1:7882".into(),
        internal_url: format!("http://{id}:8080"),
    };
    // `a` stopped heartbeating a minute ago; `b` is alive.
    store
        .heartbeat(&advert("a"), now - 120_000, now - 60_000)
        .await
        .expect("a");
    store
        .heartbeat(&advert("b"), now - 120_000, now)
        .await
        .expect("b");
    let session = SessionId(uuid::Uuid::new_v4());
    let rec = |_: u8| RecordingId(uuid::Uuid::new_v4());
    let (on_a, on_b, old, done_on_a, on_unknown) = (rec(1), rec(2), rec(3), rec(4), rec(5));
    store
        .insert_recording(on_a, session, now - 90_000, "a")
        .await
        .expect("insert");
    store
        .insert_recording(on_b, session, now - 90_000, "b")
        .await
        .expect("insert");
    store
        .insert_recording(old, session, now - 90_000, "")
        .await
        .expect("insert");
    store
        .insert_recording(done_on_a, session, now - 90_000, "a")
        .await
        .expect("insert");
    store
        .insert_recording(on_unknown, session, now - 90_000, "c")
        .await
        .expect("insert");
    store
        .set_recording_status(done_on_a, RecordingRowStatus::Complete, Some(now - 70_000))
        .await
        .expect("finish");

    let stale_before = now - 10_000;
    let mut orphans: Vec<String> = store
        .orphaned_recordings("b", stale_before)
        .await
        .expect("orphans")
        .into_iter()
        .map(|r| r.id)
        .collect();
    orphans.sort();
    let mut want = vec![on_a.to_string(), on_unknown.to_string()];
    want.sort();
    assert_eq!(
        orphans, want,
        "still recording on a node that is gone (or never heartbeated); not b's own, not a finished one, not one from before nodes"
    );
    // Each node's own restart recovers its own and the old ones only.
    let mine: Vec<String> = store
        .recordings_in_progress("a")
        .await
        .expect("a's")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert!(mine.contains(&on_a.to_string()) && mine.contains(&old.to_string()));
    assert!(
        !mine.contains(&on_b.to_string()),
        "never another live node's"
    );

    assert!(store.claim_recording(on_a, "a", "b").await.expect("claim"));
    assert!(
        !store.claim_recording(on_a, "a", "c").await.expect("again"),
        "claimed once"
    );
    let row = store.recording(on_a).await.expect("read").expect("row");
    assert_eq!(row.node, "b");
    assert!(
        store
            .recordings_in_progress("a")
            .await
            .expect("a's")
            .iter()
            .all(|r| r.id != on_a.to_string()),
        "a, back, no longer recovers it"
    );
    // a, woken, finishes its copy: the row stays b's, as b leaves it.
    assert!(
        !store
            .finish_recording(on_a, RecordingRowStatus::Complete, Some(now), "a")
            .await
            .expect("a's finish")
    );
    let row = store.recording(on_a).await.expect("read").expect("row");
    assert_eq!(
        (row.status, row.node.as_str()),
        (RecordingRowStatus::Recording, "b")
    );
    assert!(
        store
            .finish_recording(on_a, RecordingRowStatus::Interrupted, Some(now), "b")
            .await
            .expect("b's finish")
    );
    let row = store.recording(on_a).await.expect("read").expect("row");
    assert_eq!(row.status, RecordingRowStatus::Interrupted);
}
