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
