//! The recorder's own check of the stored trail: a grant from the consent
//! machine is not enough, both consents must be in the database, to this
//! notice (or a translation of it the room offered), from two roles. Each refusal leaves nothing on disk and no row.

use duet_signaling::consent::{
    Consent, ConsentAction, ConsentEvent, ConsentInput, ConsentOutput, NoticeHash, RecordingGrant,
};
use duet_signaling::protocol::{RecordingPolicy, SessionInfo};
use duet_signaling::{ParticipantId, Role, SessionId, UnixMillis};

use super::*;
use crate::metrics::Metrics;

const NOTICE: &str = "notice-hash-v1";

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    recorders: Recorders,
    session: SessionId,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    let recorders = Recorders::new(
        dir.path().join("recordings"),
        store.clone(),
        Metrics::new(dir.path().to_path_buf()),
    );
    Fixture {
        _dir: dir,
        store,
        recorders,
        session: SessionId(uuid::Uuid::new_v4()),
    }
}

/// A real grant from the consent machine, and the events it emitted
/// (request, consent, consent, start), not stored.
fn granted() -> (RecordingGrant, Vec<ConsentEvent>) {
    let mut c = Consent::new(RecordingPolicy::Allowed, NoticeHash(NOTICE.into()));
    let id = duet_signaling::consent::RecordingId(uuid::Uuid::new_v4());
    for input in [
        ConsentInput::Present {
            role: Role::Mentor,
            participant: ParticipantId(uuid::Uuid::new_v4()),
        },
        ConsentInput::Present {
            role: Role::Mentee,
            participant: ParticipantId(uuid::Uuid::new_v4()),
        },
        ConsentInput::Request {
            role: Role::Mentor,
            id,
        },
        ConsentInput::Consent {
            role: Role::Mentor,
            notice: None,
        },
        ConsentInput::Consent {
            role: Role::Mentee,
            notice: None,
        },
    ] {
        c.handle(UnixMillis(1_000), input);
    }
    let mut events = Vec::new();
    let mut grant = None;
    while let Some(out) = c.poll_output() {
        match out {
            ConsentOutput::Event(e) => events.push(e),
            ConsentOutput::Start(g) => grant = Some(g),
            _ => {}
        }
    }
    (grant.expect("both consented"), events)
}

fn context(f: &Fixture, grant: &RecordingGrant, notice: &str) -> RecordingContext {
    RecordingContext {
        session: SessionInfo {
            id: f.session,
            title: "t".into(),
        },
        participants: grant
            .consents()
            .iter()
            .map(|c| (c.role, c.participant, "n".to_string()))
            .collect(),
        notice_hash: notice.into(),
        translation_hashes: Vec::new(),
        started_at_ms: 1_000,
    }
}

async fn store_all(f: &Fixture, events: &[ConsentEvent]) {
    for e in events {
        f.store.append_consent(f.session, e).await.expect("append");
    }
}

fn consents_of(events: &[ConsentEvent]) -> Vec<ConsentEvent> {
    events
        .iter()
        .filter(|e| e.action == ConsentAction::Consent)
        .cloned()
        .collect()
}

/// Starts with `grant` and expects `NotConsented`, no folder and no row.
async fn expect_refused(f: &Fixture, grant: RecordingGrant, notice: &str) {
    let id = grant.id();
    let ctx = context(f, &grant, notice);
    let result = f.recorders.start(grant, ctx, Box::new(|_, _| {})).await;
    assert!(
        matches!(result, Err(RecorderError::NotConsented)),
        "started without both stored consents"
    );
    assert!(!f.recorders.dir_of(id).exists(), "a folder was created");
    assert!(f.store.recording(id).await.expect("row").is_none());
}

#[tokio::test]
async fn a_full_trail_starts_and_the_manifest_holds_it() {
    let f = fixture().await;
    let (grant, events) = granted();
    store_all(&f, &events).await;
    let id = grant.id();
    let ctx = context(&f, &grant, NOTICE);
    let active = f
        .recorders
        .start(grant, ctx, Box::new(|_, _| {}))
        .await
        .expect("starts");
    let m = manifest::read(&f.recorders.dir_of(id)).expect("manifest");
    assert_eq!(m.consent.len(), events.len());
    assert!(f.store.recording(id).await.expect("row").is_some());
    active.stop(true);
    f.recorders
        .wait_idle(std::time::Duration::from_secs(10))
        .await;
}

#[tokio::test]
async fn a_missing_consent_row_refuses_the_start() {
    let f = fixture().await;
    let (grant, events) = granted();
    let consents = consents_of(&events);
    // Everything but the mentee's consent.
    let kept: Vec<ConsentEvent> = events
        .iter()
        .filter(|e| !(e.action == ConsentAction::Consent && e == &&consents[1]))
        .cloned()
        .collect();
    store_all(&f, &kept).await;
    expect_refused(&f, grant, NOTICE).await;
}

#[tokio::test]
async fn an_empty_trail_refuses_the_start() {
    let f = fixture().await;
    let (grant, _) = granted();
    expect_refused(&f, grant, NOTICE).await;
}

#[tokio::test]
async fn consents_to_another_notice_refuse_the_start() {
    let f = fixture().await;
    let (grant, events) = granted();
    // Stored as given to an older notice text.
    let old: Vec<ConsentEvent> = events
        .iter()
        .cloned()
        .map(|mut e| {
            e.notice = NoticeHash("notice-hash-v0".into());
            e
        })
        .collect();
    store_all(&f, &old).await;
    expect_refused(&f, grant, NOTICE).await;
}

#[tokio::test]
async fn a_deployment_notice_other_than_the_granted_one_refuses_the_start() {
    let f = fixture().await;
    let (grant, events) = granted();
    store_all(&f, &events).await;
    // The trail and the grant agree, but the notice now in force differs.
    expect_refused(&f, grant, "notice-hash-v2").await;
}

#[tokio::test]
async fn the_same_role_twice_refuses_the_start() {
    let f = fixture().await;
    let (grant, events) = granted();
    let consents = consents_of(&events);
    // The mentor's consent twice, the mentee's never.
    store_all(&f, &[consents[0].clone(), consents[0].clone()]).await;
    expect_refused(&f, grant, NOTICE).await;
}

#[tokio::test]
async fn a_consent_by_another_participant_in_the_role_refuses_the_start() {
    let f = fixture().await;
    let (grant, events) = granted();
    let mut consents = consents_of(&events);
    // Someone else holding the mentee's link (an earlier tab) consented.
    consents[1].actor = Some((Role::Mentee, ParticipantId(uuid::Uuid::new_v4())));
    store_all(&f, &consents).await;
    expect_refused(&f, grant, NOTICE).await;
}

#[test]
fn a_new_recordings_folder_has_its_parent_synced_too() {
    // Before, only `recordings/` itself was synced, so a power loss could
    // lose the new `recordings/` entry in its parent.
    let base = tempfile::tempdir().expect("tempdir");
    let root = base.path().join("recordings");
    let dir = root.join("some-id");
    assert_eq!(
        parents_to_sync(&root, &dir),
        vec![root.clone(), base.path().to_path_buf()]
    );
    std::fs::create_dir_all(&root).expect("mkdir");
    assert_eq!(parents_to_sync(&root, &dir), vec![root.clone()]);
}

#[tokio::test]
async fn a_consent_to_an_offered_translation_starts_and_one_not_offered_refuses() {
    const SPANISH: &str = "notice-hash-es";
    // The mentee agreed to the Spanish text the room offered.
    let translated = || {
        let mut c = Consent::new(RecordingPolicy::Allowed, NoticeHash(NOTICE.into()))
            .with_translations(vec![NoticeHash(SPANISH.into())]);
        for role in Role::ALL {
            c.handle(
                UnixMillis(1),
                ConsentInput::Present {
                    role,
                    participant: ParticipantId(uuid::Uuid::new_v4()),
                },
            );
        }
        let id = duet_signaling::consent::RecordingId(uuid::Uuid::new_v4());
        c.handle(
            UnixMillis(2),
            ConsentInput::Request {
                role: Role::Mentor,
                id,
            },
        );
        c.handle(
            UnixMillis(3),
            ConsentInput::Consent {
                role: Role::Mentee,
                notice: Some(NoticeHash(SPANISH.into())),
            },
        );
        c.handle(
            UnixMillis(4),
            ConsentInput::Consent {
                role: Role::Mentor,
                notice: None,
            },
        );
        let mut grant = None;
        let mut events = Vec::new();
        while let Some(out) = c.poll_output() {
            match out {
                ConsentOutput::Start(g) => grant = Some(g),
                ConsentOutput::Event(e) => events.push(e),
                _ => {}
            }
        }
        (grant.expect("both consented"), events)
    };
    let f = fixture().await;
    let (grant, events) = translated();
    store_all(&f, &events).await;
    let mut ctx = context(&f, &grant, NOTICE);
    ctx.translation_hashes = vec![SPANISH.into()];
    let id = grant.id();
    let active = f
        .recorders
        .start(grant, ctx, Box::new(|_, _| {}))
        .await
        .expect("starts");
    assert!(f.store.recording(id).await.expect("row").is_some());
    active.stop(true);
    f.recorders
        .wait_idle(std::time::Duration::from_secs(10))
        .await;

    // The same consents, but the room no longer offers that translation.
    let f = fixture().await;
    let (grant, events) = translated();
    store_all(&f, &events).await;
    expect_refused(&f, grant, NOTICE).await;
}
