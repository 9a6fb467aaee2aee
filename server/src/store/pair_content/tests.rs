use proptest::prelude::*;

use super::*;
use crate::pairs::access::note_visible_to;
use crate::store::{PairLink, PairPerson, PairRecord};

fn person(name: &str) -> PairPerson {
    PairPerson {
        name: name.into(),
        email: None,
        time_zone: None,
    }
}

async fn pair(store: &Store) -> PairId {
    let id = PairId(Uuid::new_v4());
    let link = |role| PairLink {
        id: Uuid::new_v4().to_string(),
        pair_id: id,
        role,
        issued_at_ms: 0,
        expires_at_ms: i64::MAX,
        revoked_at_ms: None,
    };
    store
        .create_pair(
            PairRecord {
                id,
                title: "t".into(),
                goal: String::new(),
                recording: duet_signaling::protocol::RecordingPolicy::Allowed,
                mentor: person("Grace"),
                mentee: person("Alan"),
                agreement: Agreement::new(),
                read_seq: [0, 0],
                created_at_ms: 0,
                ended_at_ms: None,
            },
            [link(Role::Mentor), link(Role::Mentee)],
        )
        .await
        .expect("pair");
    id
}

fn note(author: Role, visibility: Visibility, at: i64) -> Note {
    Note {
        id: Uuid::new_v4(),
        session_id: None,
        author,
        visibility,
        text: format!("{author:?} {visibility:?} {at}"),
        created_at_ms: at,
        updated_at_ms: at,
    }
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Mentor), Just(Role::Mentee)]
}

fn visibility() -> impl Strategy<Value = Visibility> {
    prop_oneof![Just(Visibility::Private), Just(Visibility::Shared)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The store's SQL and `access::note_visible_to` say the same thing for
    /// every mix of notes, for every reader, through every read (the list,
    /// one note for a change, the history's counts).
    #[test]
    fn the_query_and_the_rule_agree_on_who_reads_a_note(
        notes in proptest::collection::vec((role(), visibility()), 0..12),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        rt.block_on(async {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = Store::open_for_test(dir.path()).await;
            let id = pair(&store).await;
            let other = pair(&store).await;
            let mut written = Vec::new();
            for (i, (author, vis)) in notes.iter().enumerate() {
                let n = store.add_note(id, note(*author, *vis, i as i64), 100).await.expect("add");
                written.push(n);
            }
            // Notes of another pair never show up.
            store.add_note(other, note(Role::Mentor, Visibility::Shared, 99), 100).await.expect("add");
            for viewer in Role::ALL {
                let expected: Vec<Uuid> = written
                    .iter()
                    .filter(|n| note_visible_to(n.author, n.visibility, viewer))
                    .map(|n| n.id)
                    .collect();
                let got: Vec<Uuid> = store
                    .notes(id, viewer, None)
                    .await
                    .expect("notes")
                    .iter()
                    .map(|n| n.id)
                    .collect();
                prop_assert_eq!(&got, &expected);
                for n in &written {
                    let visible = note_visible_to(n.author, n.visibility, viewer);
                    // Changing a note: its author may; anyone else gets
                    // "not found" for a private one and "not the author"
                    // for a shared one, and nothing changes.
                    let r = store
                        .change_note(id, n.id, viewer, Some("changed".into()), None, 1_000)
                        .await;
                    match r {
                        Ok(_) => prop_assert_eq!(n.author, viewer),
                        Err(ContentError::NotFound(_)) => prop_assert!(!visible),
                        Err(ContentError::NotAuthor) => {
                            prop_assert!(visible && n.author != viewer)
                        }
                        Err(e) => prop_assert!(false, "{e}"),
                    }
                }
            }
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn agreement_changes_are_serialized_and_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    let id = pair(&store).await;
    let a = store
        .change_agreement(id, |a| a.confirm(Role::Mentor, 1))
        .await
        .expect("confirm");
    assert!(a.confirmed_by(Role::Mentor));
    let err = store
        .change_agreement(id, |a| a.confirm(Role::Mentee, 7))
        .await
        .expect_err("stale");
    assert!(matches!(err, ContentError::Agreement(_)), "{err}");
    let stored = store.pair(id).await.expect("pair").expect("exists");
    assert_eq!(
        stored.agreement.confirmed,
        [1, 0],
        "the refused change left nothing"
    );
}

#[tokio::test]
async fn retention_deletes_old_notes_and_messages_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    let id = pair(&store).await;
    store
        .add_note(id, note(Role::Mentor, Visibility::Private, 1_000), 100)
        .await
        .expect("old note");
    store
        .add_note(id, note(Role::Mentor, Visibility::Private, 9_000), 100)
        .await
        .expect("new note");
    store
        .add_message(id, Role::Mentee, "old".into(), 1_000, 100)
        .await
        .expect("old message");
    store
        .add_message(id, Role::Mentee, "new".into(), 9_000, 100)
        .await
        .expect("new message");
    let n = crate::retention::sweep_notes(&store, 1, 1_000 + 24 * 3600 * 1000 + 1)
        .await
        .expect("sweep");
    assert_eq!(n, 2);
    assert_eq!(
        store
            .notes(id, Role::Mentor, None)
            .await
            .expect("notes")
            .len(),
        1
    );
    let left = store.messages(id, 10).await.expect("messages");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].text, "new");
    assert_eq!(
        crate::retention::sweep_notes(&store, 0, i64::MAX)
            .await
            .expect("off"),
        0,
        "0 days keeps everything"
    );
}

#[tokio::test]
async fn a_pair_cannot_grow_without_bound() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    let id = pair(&store).await;
    for at in 0..3 {
        store
            .add_note(id, note(Role::Mentee, Visibility::Shared, at), 3)
            .await
            .expect("under the cap");
        store
            .add_message(id, Role::Mentor, "hi".into(), at, 3)
            .await
            .expect("under the cap");
    }
    let err = store
        .add_note(id, note(Role::Mentee, Visibility::Shared, 9), 3)
        .await
        .expect_err("at the cap");
    assert!(matches!(err, ContentError::TooMany(3)), "{err}");
    let err = store
        .add_message(id, Role::Mentor, "more".into(), 9, 3)
        .await
        .expect_err("at the cap");
    assert!(matches!(err, ContentError::TooMany(3)), "{err}");
    assert_eq!(store.messages(id, 10).await.expect("messages").len(), 3);
}
