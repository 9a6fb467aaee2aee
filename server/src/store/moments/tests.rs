use super::*;

fn moment(session: SessionId, author: Role, visibility: Visibility, at_s: f64) -> Moment {
    Moment {
        id: Uuid::new_v4(),
        session_id: session,
        recording_id: Some("r1".into()),
        clock: MomentClock::Recording,
        at_s,
        kind: MomentKind::Bookmark,
        author,
        visibility,
        text: format!("{author} at {at_s}"),
        created_at_ms: (at_s * 1000.0) as i64,
        updated_at_ms: (at_s * 1000.0) as i64,
    }
}

async fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    (dir, store)
}

#[tokio::test]
async fn a_private_moment_reaches_its_author_alone() {
    let (_dir, store) = open().await;
    let s = SessionId(Uuid::new_v4());
    let private = moment(s, Role::Mentor, Visibility::Private, 5.0);
    let shared = moment(s, Role::Mentor, Visibility::Shared, 2.0);
    store.add_moment(private.clone(), 10).await.expect("add");
    store.add_moment(shared.clone(), 10).await.expect("add");
    let mentor = store
        .recording_moments("r1".into(), Role::Mentor)
        .await
        .expect("list");
    assert_eq!(mentor, vec![shared.clone(), private.clone()], "by time");
    let mentee = store
        .recording_moments("r1".into(), Role::Mentee)
        .await
        .expect("list");
    assert_eq!(mentee, vec![shared.clone()]);
    let in_session = store.session_moments(s, Role::Mentee).await.expect("list");
    assert_eq!(in_session, vec![shared]);
    // Asking for it by id tells the other person nothing either.
    let err = store
        .delete_moment(s, private.id, Role::Mentee)
        .await
        .expect_err("not theirs");
    assert!(matches!(err, ContentError::NotFound(_)), "{err}");
    let err = store
        .change_moment(
            s,
            private.id,
            Role::Mentee,
            None,
            Some(Visibility::Shared),
            1,
        )
        .await
        .expect_err("not theirs");
    assert!(matches!(err, ContentError::NotFound(_)), "{err}");
}

#[tokio::test]
async fn only_the_author_changes_or_deletes_a_shared_moment() {
    let (_dir, store) = open().await;
    let s = SessionId(Uuid::new_v4());
    let m = moment(s, Role::Mentee, Visibility::Shared, 3.0);
    store.add_moment(m.clone(), 10).await.expect("add");
    let err = store
        .change_moment(s, m.id, Role::Mentor, Some("mine now".into()), None, 9)
        .await
        .expect_err("not the author");
    assert!(matches!(err, ContentError::NotAuthor), "{err}");
    let changed = store
        .change_moment(
            s,
            m.id,
            Role::Mentee,
            Some("career".into()),
            Some(Visibility::Private),
            9,
        )
        .await
        .expect("author");
    assert_eq!(changed.text, "career");
    assert_eq!(changed.visibility, Visibility::Private);
    assert_eq!(changed.updated_at_ms, 9);
    // Its id with another session's credential finds nothing.
    let other = SessionId(Uuid::new_v4());
    let err = store
        .delete_moment(other, m.id, Role::Mentee)
        .await
        .expect_err("other session");
    assert!(matches!(err, ContentError::NotFound(_)), "{err}");
    assert_eq!(store.moment_session(m.id).await.expect("lookup"), Some(s));
    store
        .delete_moment(s, m.id, Role::Mentee)
        .await
        .expect("delete");
    assert!(
        store
            .session_moments(s, Role::Mentee)
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn a_session_holds_at_most_max_moments() {
    let (_dir, store) = open().await;
    let s = SessionId(Uuid::new_v4());
    for i in 0..3 {
        store
            .add_moment(moment(s, Role::Mentor, Visibility::Shared, f64::from(i)), 3)
            .await
            .expect("under the cap");
    }
    let err = store
        .add_moment(moment(s, Role::Mentee, Visibility::Shared, 9.0), 3)
        .await
        .expect_err("full");
    assert!(matches!(err, ContentError::TooMany(3)), "{err}");
    // Another session is not affected.
    let other = SessionId(Uuid::new_v4());
    store
        .add_moment(moment(other, Role::Mentee, Visibility::Shared, 9.0), 3)
        .await
        .expect("other session");
}

#[tokio::test]
async fn retention_takes_old_moments_with_old_notes() {
    let (_dir, store) = open().await;
    let s = SessionId(Uuid::new_v4());
    store
        .add_moment(moment(s, Role::Mentor, Visibility::Shared, 1.0), 10)
        .await
        .expect("old");
    let young = moment(s, Role::Mentor, Visibility::Shared, 9.0);
    store.add_moment(young.clone(), 10).await.expect("young");
    let gone = store.expire_pair_content(5_000).await.expect("expire");
    assert_eq!(gone, 1);
    assert_eq!(
        store.session_moments(s, Role::Mentor).await.expect("list"),
        vec![young]
    );
}
