use super::*;

async fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    (dir, store)
}

fn stats(session: SessionId, together_ms: i64) -> CallStats {
    CallStats {
        session,
        first_joined_at_ms: 1_000,
        together_since_ms: Some(2_000),
        last_left_at_ms: None,
        together_ms,
        mentor_talk_ms: together_ms / 2,
        mentee_talk_ms: together_ms / 4,
        updated_at_ms: 2_000 + together_ms,
    }
}

fn new_id() -> SessionId {
    SessionId(uuid::Uuid::new_v4())
}

#[tokio::test]
async fn a_call_is_stored_rewritten_and_read_back() {
    let (_dir, store) = open().await;
    let id = new_id();
    assert_eq!(store.call_stats(id).await.expect("read"), None);
    store.save_call_stats(stats(id, 10)).await.expect("save");
    let mut later = stats(id, 60_000);
    later.last_left_at_ms = Some(70_000);
    store.save_call_stats(later).await.expect("save again");
    assert_eq!(store.call_stats(id).await.expect("read"), Some(later));
    assert_eq!(later.talk_ms(Role::Mentor), 30_000);
    assert_eq!(later.talk_ms(Role::Mentee), 15_000);
}

#[tokio::test]
async fn queued_writes_land_in_order_before_a_later_read() {
    let (_dir, store) = open().await;
    let id = new_id();
    for ms in [1, 2, 3, 500] {
        store.queue_call_stats(stats(id, ms)).expect("queued");
    }
    let read = store.call_stats(id).await.expect("read").expect("a row");
    assert_eq!(read.together_ms, 500);
}

#[tokio::test]
async fn many_sessions_at_once_beyond_one_query() {
    let (_dir, store) = open().await;
    let ids: Vec<SessionId> = (0..IDS_PER_QUERY + 20).map(|_| new_id()).collect();
    // Every third session had a call.
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        store
            .save_call_stats(stats(*id, i as i64))
            .await
            .expect("save");
    }
    let found = store.call_stats_of(ids.clone()).await.expect("read");
    assert_eq!(found.len(), ids.len().div_ceil(3));
    for (i, id) in ids.iter().enumerate() {
        match found.get(id) {
            Some(s) => assert_eq!((i % 3, s.together_ms), (0, i as i64)),
            None => assert_ne!(i % 3, 0, "session {i} is missing"),
        }
    }
    assert!(
        store
            .call_stats_of(Vec::new())
            .await
            .expect("none")
            .is_empty()
    );
}
