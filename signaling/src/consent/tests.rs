//! Unit tests for [`Consent`]: every rule about when media may be written,
//! checked on the exact [`ConsentOutput`]s; then every short sequence of
//! inputs from every state, and random long ones, against an independent
//! model of "who has consented to what".
//!
//! About grants: [`RecordingGrant`] has no public constructor, so outside
//! this module the only way to hold one is to receive it in a
//! [`ConsentOutput::Start`]. This file is compiled inside the module and
//! *could* build one from its private fields; it never does. Every grant
//! below comes out of `poll_output`, exactly as the recorder would get it.

use std::collections::HashSet;

use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use RecordingState::{Off, Recording, Requested};

// ---------------------------------------------------------------------------
// Fixtures and helpers
// ---------------------------------------------------------------------------

/// The hash of the notice text this deployment shows.
const NOTICE: &str = "sha256:5e1f-notice-v3";
/// The hash of an older notice text (a client that saw a stale page).
const OLD_NOTICE: &str = "sha256:a0a0-notice-v2";

fn notice() -> NoticeHash {
    NoticeHash(NOTICE.to_string())
}

fn old_notice() -> NoticeHash {
    NoticeHash(OLD_NOTICE.to_string())
}

/// Mentor Ada and mentee Bob, as first admitted.
const ADA: ParticipantId = ParticipantId(Uuid::from_u128(0xada));
const BOB: ParticipantId = ParticipantId(Uuid::from_u128(0xb0b));
/// The same people after a rejoin: a rejoin always gets a new id.
const ADA_AGAIN: ParticipantId = ParticipantId(Uuid::from_u128(0xada2));
const BOB_AGAIN: ParticipantId = ParticipantId(Uuid::from_u128(0xb0b2));

/// The participant first present in `role`.
fn first(role: Role) -> ParticipantId {
    match role {
        Role::Mentor => ADA,
        Role::Mentee => BOB,
    }
}

/// The participant present in `role` after a rejoin.
fn again(role: Role) -> ParticipantId {
    match role {
        Role::Mentor => ADA_AGAIN,
        Role::Mentee => BOB_AGAIN,
    }
}

const REC: RecordingId = RecordingId(Uuid::from_u128(0x7ec1));
const REC2: RecordingId = RecordingId(Uuid::from_u128(0x7ec2));

const T_JOIN: UnixMillis = UnixMillis(1_000);
const T_REQ: UnixMillis = UnixMillis(2_000);
const T_FIRST: UnixMillis = UnixMillis(3_000);
const T_SECOND: UnixMillis = UnixMillis(4_000);
/// When the input under test arrives.
const T_NOW: UnixMillis = UnixMillis(9_000);
const T_LATER: UnixMillis = UnixMillis(12_000);
const T_LATEST: UnixMillis = UnixMillis(15_000);

const DISK_FULL: &str = "disk full";

/// Everything the machine queued, oldest first. Refusal messages are human
/// sentences that may be reworded: they are checked to be non-empty, then
/// blanked so whole outputs compare equal to [`refuse`].
fn drain(c: &mut Consent) -> Vec<ConsentOutput> {
    std::iter::from_fn(|| c.poll_output())
        .map(|o| match o {
            ConsentOutput::Refuse {
                role,
                code,
                message,
            } => {
                assert!(
                    !message.trim().is_empty(),
                    "refusal {code:?} to the {role} has no message"
                );
                refuse(role, code)
            }
            other => other,
        })
        .collect()
}

fn handle_at(c: &mut Consent, now: UnixMillis, input: ConsentInput) -> Vec<ConsentOutput> {
    c.handle(now, input);
    drain(c)
}

fn present(role: Role, participant: ParticipantId) -> ConsentInput {
    ConsentInput::Present { role, participant }
}

fn absent(role: Role) -> ConsentInput {
    ConsentInput::Absent { role }
}

fn request(role: Role, id: RecordingId) -> ConsentInput {
    ConsentInput::Request { role, id }
}

/// A consent that does not say which notice it saw.
fn consent(role: Role) -> ConsentInput {
    ConsentInput::Consent { role, notice: None }
}

fn consent_to(role: Role, notice: NoticeHash) -> ConsentInput {
    ConsentInput::Consent {
        role,
        notice: Some(notice),
    }
}

fn decline(role: Role) -> ConsentInput {
    ConsentInput::Decline { role }
}

fn revoke(role: Role, discard: bool) -> ConsentInput {
    ConsentInput::Revoke { role, discard }
}

fn recorder_failed() -> ConsentInput {
    ConsentInput::RecorderFailed {
        reason: DISK_FULL.to_string(),
    }
}

fn refuse(role: Role, code: ErrorCode) -> ConsentOutput {
    ConsentOutput::Refuse {
        role,
        code,
        message: "",
    }
}

/// The actor of an event by the participant first present in `role`.
fn by(role: Role) -> Option<(Role, ParticipantId)> {
    Some((role, first(role)))
}

fn ev(
    recording: RecordingId,
    action: ConsentAction,
    actor: Option<(Role, ParticipantId)>,
    at: UnixMillis,
    detail: Option<&str>,
) -> ConsentOutput {
    ConsentOutput::Event(ConsentEvent {
        recording,
        action,
        actor,
        at,
        notice: notice(),
        detail: detail.map(str::to_string),
    })
}

/// A status as this machine reports it: with the notice's hash, without
/// its text (the caller adds that).
fn status(
    state: RecordingState,
    policy: RecordingPolicy,
    consented: &[Role],
    requested_by: Option<Role>,
) -> RecordingStatus {
    RecordingStatus {
        state,
        policy,
        consented: consented.to_vec(),
        requested_by,
        notice: None,
        notice_hash: Some(NOTICE.to_string()),
        translations: Default::default(),
    }
}

fn off(policy: RecordingPolicy) -> RecordingStatus {
    status(Off, policy, &[], None)
}

/// Requested by `by`, with `consented` so far, recording allowed.
fn asked(by: Role, consented: &[Role]) -> RecordingStatus {
    status(Requested, RecordingPolicy::Allowed, consented, Some(by))
}

/// Recording as requested by `by`.
fn rolling(by: Role) -> RecordingStatus {
    status(
        Recording,
        RecordingPolicy::Allowed,
        &[Role::Mentor, Role::Mentee],
        Some(by),
    )
}

fn bc(status: RecordingStatus) -> ConsentOutput {
    ConsentOutput::Broadcast(status)
}

fn broadcast_off() -> ConsentOutput {
    bc(off(RecordingPolicy::Allowed))
}

fn stop(id: RecordingId, reason: StopReason) -> ConsentOutput {
    ConsentOutput::Stop { id, reason }
}

fn record(role: Role, participant: ParticipantId, at: UnixMillis) -> ConsentRecord {
    ConsentRecord {
        role,
        participant,
        at,
        notice: notice(),
    }
}

/// Splits an output list around its only `Start`.
fn take_start(out: Vec<ConsentOutput>) -> (Vec<ConsentOutput>, RecordingGrant, Vec<ConsentOutput>) {
    let starts = out
        .iter()
        .filter(|o| matches!(o, ConsentOutput::Start(_)))
        .count();
    assert_eq!(starts, 1, "expected exactly one start in {out:?}");
    let mut before = Vec::new();
    let mut grant = None;
    let mut after = Vec::new();
    for o in out {
        match o {
            ConsentOutput::Start(g) => grant = Some(g),
            o if grant.is_none() => before.push(o),
            o => after.push(o),
        }
    }
    (before, grant.expect("counted above"), after)
}

fn has_start(out: &[ConsentOutput]) -> bool {
    out.iter().any(|o| matches!(o, ConsentOutput::Start(_)))
}

/// A machine with `policy` and both Ada and Bob present, drained.
fn both_in_with(policy: RecordingPolicy) -> Consent {
    let mut c = Consent::new(policy, notice());
    for role in Role::ALL {
        assert_eq!(
            handle_at(&mut c, T_JOIN, present(role, first(role))),
            vec![]
        );
    }
    c
}

/// Recording allowed, Ada and Bob present, nothing requested.
fn both_in() -> Consent {
    both_in_with(RecordingPolicy::Allowed)
}

/// `both_in`, and `by` requested `REC` at `T_REQ`.
fn requested(by: Role) -> Consent {
    let mut c = both_in();
    handle_at(&mut c, T_REQ, request(by, REC));
    assert_eq!(c.status().state, RecordingState::Requested);
    c
}

/// `requested(Mentor)`, and `who` consented at `T_FIRST`.
fn half_consented(who: Role) -> Consent {
    let mut c = requested(Role::Mentor);
    let out = handle_at(&mut c, T_FIRST, consent(who));
    assert!(!has_start(&out), "{out:?}");
    c
}

/// The mentor requested `REC` at `T_REQ`, the mentee consented at `T_FIRST`
/// and the mentor at `T_SECOND`: recording, with the grant it got.
fn recording() -> (Consent, RecordingGrant) {
    let mut c = half_consented(Role::Mentee);
    let (_, grant, _) = take_start(handle_at(&mut c, T_SECOND, consent(Role::Mentor)));
    assert!(c.is_recording());
    (c, grant)
}

/// Applies each input to a fresh machine from `build` and compares the
/// outputs exactly.
fn expect_each(
    state: &str,
    build: impl Fn() -> Consent,
    cases: Vec<(ConsentInput, Vec<ConsentOutput>)>,
) {
    for (input, expected) in cases {
        let mut c = build();
        let out = handle_at(&mut c, T_NOW, input.clone());
        assert_eq!(out, expected, "in {state}, after {input:?}");
        // The last broadcast, if any, is the state now.
        if let Some(ConsentOutput::Broadcast(last)) = out
            .iter()
            .rev()
            .find(|o| matches!(o, ConsentOutput::Broadcast(_)))
        {
            assert_eq!(last, &c.status(), "in {state}, after {input:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------

#[test]
fn a_new_machine_is_off_with_its_policy_and_says_nothing() {
    for policy in [RecordingPolicy::Off, RecordingPolicy::Allowed] {
        let mut c = Consent::new(policy, notice());
        assert_eq!(
            c.status(),
            RecordingStatus {
                state: Off,
                policy,
                consented: Vec::new(),
                requested_by: None,
                notice: None,
                notice_hash: Some(NOTICE.to_string()),
                translations: Default::default(),
            }
        );
        assert!(!c.is_recording());
        assert!(c.poll_output().is_none());
    }
}

#[test]
fn status_lists_consents_in_the_order_given_then_both_while_recording() {
    let mut c = requested(Role::Mentor);
    assert_eq!(c.status(), asked(Role::Mentor, &[]));
    handle_at(&mut c, T_FIRST, consent(Role::Mentee));
    assert_eq!(c.status(), asked(Role::Mentor, &[Role::Mentee]));
    handle_at(&mut c, T_SECOND, consent(Role::Mentor));
    assert_eq!(c.status(), rolling(Role::Mentor));
    handle_at(&mut c, T_NOW, revoke(Role::Mentee, false));
    assert_eq!(c.status(), off(RecordingPolicy::Allowed));
}

#[test]
fn presence_alone_changes_nothing_and_is_not_broadcast() {
    let mut c = Consent::new(RecordingPolicy::Allowed, notice());
    assert_eq!(
        handle_at(&mut c, T_JOIN, present(Role::Mentee, BOB)),
        vec![]
    );
    assert_eq!(
        handle_at(&mut c, T_JOIN, present(Role::Mentor, ADA)),
        vec![]
    );
    assert_eq!(handle_at(&mut c, T_NOW, absent(Role::Mentor)), vec![]);
    assert_eq!(handle_at(&mut c, T_NOW, absent(Role::Mentor)), vec![]);
    assert_eq!(
        handle_at(&mut c, T_LATER, present(Role::Mentor, ADA_AGAIN)),
        vec![]
    );
    assert_eq!(c.status(), off(RecordingPolicy::Allowed));
}

#[test]
fn consent_actions_are_named_as_they_are_serialized() {
    for action in [
        ConsentAction::Request,
        ConsentAction::Consent,
        ConsentAction::Decline,
        ConsentAction::Revoke,
        ConsentAction::Discard,
        ConsentAction::Start,
        ConsentAction::Stop,
        ConsentAction::Interruption,
    ] {
        assert_eq!(
            serde_json::to_value(action).expect("json"),
            serde_json::Value::String(action.as_str().to_string())
        );
    }
    assert_eq!(REC.to_string(), "00000000-0000-0000-0000-000000007ec1");
    assert_eq!(
        serde_json::to_value(REC).expect("json"),
        serde_json::Value::String(REC.to_string())
    );
}

// ---------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------

#[test]
fn either_participant_may_request_and_both_are_told() {
    for role in Role::ALL {
        let mut c = both_in();
        assert_eq!(
            handle_at(&mut c, T_REQ, request(role, REC)),
            vec![
                ev(REC, ConsentAction::Request, by(role), T_REQ, None),
                bc(asked(role, &[])),
            ],
            "{role}"
        );
        assert!(!c.is_recording());
    }
}

#[test]
fn requesting_is_not_consenting() {
    // The requester must still consent: the other's consent alone starts
    // nothing.
    for role in Role::ALL {
        let mut c = both_in();
        handle_at(&mut c, T_REQ, request(role, REC));
        let out = handle_at(&mut c, T_FIRST, consent(role.other()));
        assert!(!has_start(&out), "{out:?}");
        assert!(!c.is_recording());
        assert_eq!(c.status(), asked(role, &[role.other()]));
    }
}

#[test]
fn policy_off_refuses_every_request_as_recording_unavailable() {
    for role in Role::ALL {
        let mut c = both_in_with(RecordingPolicy::Off);
        assert_eq!(
            handle_at(&mut c, T_REQ, request(role, REC)),
            vec![refuse(role, ErrorCode::RecordingUnavailable)]
        );
        assert_eq!(c.status(), off(RecordingPolicy::Off));
        // Nothing to consent to, decline or revoke afterwards.
        assert_eq!(
            handle_at(&mut c, T_FIRST, consent(role)),
            vec![refuse(role, ErrorCode::OutOfOrder)]
        );
        assert_eq!(
            handle_at(&mut c, T_FIRST, consent(role.other())),
            vec![refuse(role.other(), ErrorCode::OutOfOrder)]
        );
        assert!(!c.is_recording());
    }
    // Even alone or with nobody present, the policy is the reason given.
    let mut c = Consent::new(RecordingPolicy::Off, notice());
    assert_eq!(
        handle_at(&mut c, T_REQ, request(Role::Mentor, REC)),
        vec![refuse(Role::Mentor, ErrorCode::RecordingUnavailable)]
    );
}

#[test]
fn policy_off_refuses_everything_in_any_order() {
    let mut c = both_in_with(RecordingPolicy::Off);
    let outs: Vec<_> = [
        request(Role::Mentor, REC),
        consent(Role::Mentor),
        request(Role::Mentee, REC2),
        consent(Role::Mentee),
        consent_to(Role::Mentor, notice()),
        decline(Role::Mentee),
        revoke(Role::Mentor, true),
    ]
    .into_iter()
    .flat_map(|i| handle_at(&mut c, T_NOW, i))
    .collect();
    assert!(
        outs.iter()
            .all(|o| matches!(o, ConsentOutput::Refuse { .. })),
        "{outs:?}"
    );
    assert_eq!(outs.len(), 7);
    assert_eq!(c.status(), off(RecordingPolicy::Off));
}

#[test]
fn a_request_while_the_other_is_absent_is_refused_as_recording_unavailable() {
    for role in Role::ALL {
        let mut c = Consent::new(RecordingPolicy::Allowed, notice());
        handle_at(&mut c, T_JOIN, present(role, first(role)));
        assert_eq!(
            handle_at(&mut c, T_REQ, request(role, REC)),
            vec![refuse(role, ErrorCode::RecordingUnavailable)]
        );
        // The other came and went.
        handle_at(&mut c, T_REQ, present(role.other(), first(role.other())));
        handle_at(&mut c, T_REQ, absent(role.other()));
        assert_eq!(
            handle_at(&mut c, T_NOW, request(role, REC)),
            vec![refuse(role, ErrorCode::RecordingUnavailable)]
        );
        assert_eq!(c.status(), off(RecordingPolicy::Allowed));
    }
}

#[test]
fn a_request_by_someone_not_present_is_refused_as_out_of_order() {
    for role in Role::ALL {
        // Only the other is present.
        let mut c = Consent::new(RecordingPolicy::Allowed, notice());
        handle_at(&mut c, T_JOIN, present(role.other(), first(role.other())));
        assert_eq!(
            handle_at(&mut c, T_REQ, request(role, REC)),
            vec![refuse(role, ErrorCode::OutOfOrder)]
        );
        // Nobody is present.
        let mut c = Consent::new(RecordingPolicy::Allowed, notice());
        assert_eq!(
            handle_at(&mut c, T_REQ, request(role, REC)),
            vec![refuse(role, ErrorCode::OutOfOrder)]
        );
        assert_eq!(c.status(), off(RecordingPolicy::Allowed));
    }
}

#[test]
fn a_second_request_is_refused_while_one_is_open_or_recording() {
    for role in Role::ALL {
        let mut c = requested(Role::Mentor);
        assert_eq!(
            handle_at(&mut c, T_NOW, request(role, REC2)),
            vec![refuse(role, ErrorCode::OutOfOrder)]
        );
        // The open request is untouched: its id is the one that starts.
        handle_at(&mut c, T_FIRST, consent(Role::Mentee));
        let (_, grant, _) = take_start(handle_at(&mut c, T_SECOND, consent(Role::Mentor)));
        assert_eq!(grant.id(), REC);

        let (mut c, _) = recording();
        assert_eq!(
            handle_at(&mut c, T_NOW, request(role, REC2)),
            vec![refuse(role, ErrorCode::OutOfOrder)]
        );
        assert!(c.is_recording());
    }
}

// ---------------------------------------------------------------------------
// Consent and start
// ---------------------------------------------------------------------------

#[test]
fn a_first_consent_is_stored_and_both_are_told() {
    for requester in Role::ALL {
        for role in Role::ALL {
            let mut c = requested(requester);
            assert_eq!(
                handle_at(&mut c, T_FIRST, consent(role)),
                vec![
                    ev(REC, ConsentAction::Consent, by(role), T_FIRST, None),
                    bc(asked(requester, &[role])),
                ],
                "requested by the {requester}, consent by the {role}"
            );
        }
    }
}

#[test]
fn both_consents_start_exactly_once_with_mentor_then_mentee_in_the_grant() {
    for requester in Role::ALL {
        for first_role in Role::ALL {
            let second_role = first_role.other();
            let mut c = requested(requester);
            handle_at(&mut c, T_FIRST, consent(first_role));
            let out = handle_at(&mut c, T_SECOND, consent(second_role));
            let (before, grant, after) = take_start(out);
            assert_eq!(
                before,
                vec![
                    ev(REC, ConsentAction::Consent, by(second_role), T_SECOND, None),
                    ev(REC, ConsentAction::Start, None, T_SECOND, None),
                ]
            );
            assert_eq!(after, vec![bc(rolling(requester))]);
            assert_eq!(grant.id(), REC);
            let at = |role: Role| {
                if role == first_role {
                    T_FIRST
                } else {
                    T_SECOND
                }
            };
            assert_eq!(
                grant.consents(),
                &[
                    record(Role::Mentor, ADA, at(Role::Mentor)),
                    record(Role::Mentee, BOB, at(Role::Mentee)),
                ]
            );
            assert!(c.is_recording());
            assert!(c.poll_output().is_none());
        }
    }
}

#[test]
fn the_consent_and_start_events_are_queued_before_the_start() {
    // The IO layer stores events as they come and acts on what follows: the
    // two consents and the start must be stored before writing begins.
    let mut c = requested(Role::Mentee);
    let mut stream = handle_at(&mut c, T_FIRST, consent(Role::Mentor));
    stream.extend(handle_at(&mut c, T_SECOND, consent(Role::Mentee)));
    let start_at = stream
        .iter()
        .position(|o| matches!(o, ConsentOutput::Start(_)))
        .expect("a start");
    let event_at = |action: ConsentAction, role: Option<Role>| {
        stream
            .iter()
            .position(|o| match o {
                ConsentOutput::Event(e) => e.action == action && e.actor.map(|(r, _)| r) == role,
                _ => false,
            })
            .unwrap_or_else(|| panic!("no {action:?} by {role:?} in {stream:?}"))
    };
    assert!(event_at(ConsentAction::Consent, Some(Role::Mentor)) < start_at);
    assert!(event_at(ConsentAction::Consent, Some(Role::Mentee)) < start_at);
    assert!(event_at(ConsentAction::Start, None) < start_at);
    assert_eq!(
        stream
            .iter()
            .filter(|o| matches!(o, ConsentOutput::Start(_)))
            .count(),
        1
    );
}

#[test]
fn consenting_to_the_notice_shown_is_the_same_as_not_saying() {
    let mut c = requested(Role::Mentor);
    assert_eq!(
        handle_at(&mut c, T_FIRST, consent_to(Role::Mentee, notice())),
        vec![
            ev(REC, ConsentAction::Consent, by(Role::Mentee), T_FIRST, None),
            bc(asked(Role::Mentor, &[Role::Mentee])),
        ]
    );
    let (_, grant, _) = take_start(handle_at(
        &mut c,
        T_SECOND,
        consent_to(Role::Mentor, notice()),
    ));
    assert_eq!(
        grant.consents(),
        &[
            record(Role::Mentor, ADA, T_SECOND),
            record(Role::Mentee, BOB, T_FIRST),
        ]
    );
}

#[test]
fn consenting_to_another_notice_is_refused_and_does_not_count() {
    for role in Role::ALL {
        let mut c = requested(Role::Mentor);
        assert_eq!(
            handle_at(&mut c, T_FIRST, consent_to(role, old_notice())),
            vec![refuse(role, ErrorCode::RecordingUnavailable)]
        );
        assert_eq!(c.status(), asked(Role::Mentor, &[]));
        // The other's consent does not complete anything.
        let out = handle_at(&mut c, T_SECOND, consent(role.other()));
        assert!(!has_start(&out), "{out:?}");
        assert!(!c.is_recording());
        assert_eq!(c.status(), asked(Role::Mentor, &[role.other()]));
        // A stale notice as the second consent does not complete it either.
        assert_eq!(
            handle_at(&mut c, T_NOW, consent_to(role, old_notice())),
            vec![refuse(role, ErrorCode::RecordingUnavailable)]
        );
        assert!(!c.is_recording());
        // Consenting to the current notice does.
        let (_, grant, _) = take_start(handle_at(&mut c, T_LATER, consent(role)));
        assert_eq!(
            grant.consents()[role.index()],
            record(role, first(role), T_LATER)
        );
        assert!(grant.consents().iter().all(|r| r.notice == notice()));
    }
}

/// The notice in Spanish, as the operator wrote it.
const SPANISH_NOTICE: &str = "sha256:e5e5-notice-v3-es";

#[test]
fn a_consent_to_the_notice_in_another_language_counts_and_names_that_text() {
    let spanish = NoticeHash(SPANISH_NOTICE.to_string());
    let mut c =
        Consent::new(RecordingPolicy::Allowed, notice()).with_translations(vec![spanish.clone()]);
    for role in Role::ALL {
        handle_at(&mut c, T_JOIN, present(role, first(role)));
    }
    handle_at(&mut c, T_REQ, request(Role::Mentor, REC));
    // The mentee read the Spanish text: the event keeps its hash.
    let out = handle_at(&mut c, T_FIRST, consent_to(Role::Mentee, spanish.clone()));
    let consent_event = out.iter().find_map(|o| match o {
        ConsentOutput::Event(e) if e.action == ConsentAction::Consent => Some(e.clone()),
        _ => None,
    });
    assert_eq!(
        consent_event.map(|e| e.notice),
        Some(spanish.clone()),
        "{out:?}"
    );
    // A text that is neither the notice nor one of its translations is refused.
    assert_eq!(
        handle_at(&mut c, T_SECOND, consent_to(Role::Mentor, old_notice())),
        vec![refuse(Role::Mentor, ErrorCode::RecordingUnavailable)]
    );
    // The mentor reads the default text; the grant keeps both choices.
    let (_, grant, _) = take_start(handle_at(&mut c, T_LATER, consent(Role::Mentor)));
    assert_eq!(grant.consents()[Role::Mentor.index()].notice, notice());
    assert_eq!(grant.consents()[Role::Mentee.index()].notice, spanish);
}

#[test]
fn consenting_twice_is_refused() {
    for role in Role::ALL {
        let mut c = requested(Role::Mentor);
        handle_at(&mut c, T_FIRST, consent(role));
        for again in [consent(role), consent_to(role, notice())] {
            assert_eq!(
                handle_at(&mut c, T_SECOND, again),
                vec![refuse(role, ErrorCode::OutOfOrder)]
            );
        }
        assert!(!c.is_recording());
        assert_eq!(c.status(), asked(Role::Mentor, &[role]));
        // The first consent keeps its time.
        let (_, grant, _) = take_start(handle_at(&mut c, T_NOW, consent(role.other())));
        assert_eq!(grant.consents()[role.index()].at, T_FIRST);
    }
}

#[test]
fn consenting_with_no_request_is_refused() {
    for role in Role::ALL {
        let mut c = both_in();
        assert_eq!(
            handle_at(&mut c, T_NOW, consent(role)),
            vec![refuse(role, ErrorCode::OutOfOrder)]
        );
        assert_eq!(
            handle_at(&mut c, T_NOW, consent(role.other())),
            vec![refuse(role.other(), ErrorCode::OutOfOrder)]
        );
        // A later request needs them again.
        handle_at(&mut c, T_LATER, request(role, REC));
        assert_eq!(c.status(), asked(role, &[]));
    }
}

#[test]
fn consenting_while_not_present_is_refused() {
    for role in Role::ALL {
        let mut c = Consent::new(RecordingPolicy::Allowed, notice());
        handle_at(&mut c, T_JOIN, present(role.other(), first(role.other())));
        assert_eq!(
            handle_at(&mut c, T_NOW, consent(role)),
            vec![refuse(role, ErrorCode::OutOfOrder)]
        );
    }
}

// ---------------------------------------------------------------------------
// Decline
// ---------------------------------------------------------------------------

#[test]
fn either_may_decline_an_open_request_with_or_without_consents() {
    for decliner in Role::ALL {
        for (name, mut c) in [
            ("no consent", requested(Role::Mentor)),
            ("mentor consented", half_consented(Role::Mentor)),
            ("mentee consented", half_consented(Role::Mentee)),
        ] {
            assert_eq!(
                handle_at(&mut c, T_NOW, decline(decliner)),
                vec![
                    ev(REC, ConsentAction::Decline, by(decliner), T_NOW, None),
                    broadcast_off(),
                ],
                "{name}, declined by the {decliner}"
            );
            assert_eq!(c.status(), off(RecordingPolicy::Allowed));
            // Nothing left to consent to.
            assert_eq!(
                handle_at(&mut c, T_LATER, consent(decliner.other())),
                vec![refuse(decliner.other(), ErrorCode::OutOfOrder)]
            );
        }
    }
}

#[test]
fn declining_with_no_request_is_refused() {
    for role in Role::ALL {
        let mut c = both_in();
        assert_eq!(
            handle_at(&mut c, T_NOW, decline(role)),
            vec![refuse(role, ErrorCode::OutOfOrder)]
        );
    }
}

#[test]
fn declining_while_recording_stops_like_a_revoke_that_keeps_the_files() {
    // A decline that crosses the second consent on the wire arrives once
    // recording runs; it is still a "no".
    for role in Role::ALL {
        let (mut c, _) = recording();
        let detail = format!("revoked by the {role}");
        assert_eq!(
            handle_at(&mut c, T_NOW, decline(role)),
            vec![
                stop(
                    REC,
                    StopReason::Revoked {
                        by: role,
                        discard: false
                    }
                ),
                ev(REC, ConsentAction::Revoke, by(role), T_NOW, None),
                ev(REC, ConsentAction::Stop, None, T_NOW, Some(&detail)),
                broadcast_off(),
            ]
        );
        assert!(!c.is_recording());
    }
}

#[test]
fn after_a_decline_a_new_request_needs_two_new_consents() {
    let mut c = half_consented(Role::Mentee);
    handle_at(&mut c, T_NOW, decline(Role::Mentor));
    handle_at(&mut c, T_LATER, request(Role::Mentor, REC2));
    assert_eq!(c.status(), asked(Role::Mentor, &[]));
    let out = handle_at(&mut c, T_LATER, consent(Role::Mentor));
    assert!(
        !has_start(&out),
        "the mentee's old consent carried over: {out:?}"
    );
    let (_, grant, _) = take_start(handle_at(&mut c, T_LATEST, consent(Role::Mentee)));
    assert_eq!(grant.id(), REC2);
    assert_eq!(
        grant.consents(),
        &[
            record(Role::Mentor, ADA, T_LATER),
            record(Role::Mentee, BOB, T_LATEST),
        ]
    );
}

// ---------------------------------------------------------------------------
// Revoke and discard
// ---------------------------------------------------------------------------

#[test]
fn revoking_while_recording_stops_at_once_and_discards_when_asked() {
    for role in Role::ALL {
        for discard in [false, true] {
            let (mut c, grant) = recording();
            let detail = format!("revoked by the {role}");
            let mut expected = vec![
                stop(grant.id(), StopReason::Revoked { by: role, discard }),
                ev(REC, ConsentAction::Revoke, by(role), T_NOW, None),
                ev(REC, ConsentAction::Stop, None, T_NOW, Some(&detail)),
            ];
            if discard {
                expected.push(ev(REC, ConsentAction::Discard, by(role), T_NOW, None));
                expected.push(ConsentOutput::Discard { id: REC });
            }
            expected.push(broadcast_off());
            assert_eq!(
                handle_at(&mut c, T_NOW, revoke(role, discard)),
                expected,
                "revoked by the {role}, discard {discard}"
            );
            assert!(!c.is_recording());
            assert_eq!(c.status(), off(RecordingPolicy::Allowed));
            // Revoking again: nothing is being recorded.
            assert_eq!(
                handle_at(&mut c, T_LATER, revoke(role.other(), discard)),
                vec![refuse(role.other(), ErrorCode::OutOfOrder)]
            );
        }
    }
}

#[test]
fn revoking_an_open_request_is_a_decline() {
    for role in Role::ALL {
        for discard in [false, true] {
            for mut c in [
                requested(Role::Mentee),
                half_consented(Role::Mentor),
                half_consented(Role::Mentee),
            ] {
                assert_eq!(
                    handle_at(&mut c, T_NOW, revoke(role, discard)),
                    vec![
                        ev(REC, ConsentAction::Decline, by(role), T_NOW, None),
                        broadcast_off(),
                    ]
                );
                assert_eq!(c.status(), off(RecordingPolicy::Allowed));
            }
        }
    }
}

#[test]
fn revoking_with_nothing_requested_is_refused() {
    for role in Role::ALL {
        let mut c = both_in();
        assert_eq!(
            handle_at(&mut c, T_NOW, revoke(role, true)),
            vec![refuse(role, ErrorCode::OutOfOrder)]
        );
    }
}

#[test]
fn after_a_revoke_a_new_recording_needs_a_new_request_and_two_new_consents() {
    let (mut c, _) = recording();
    handle_at(&mut c, T_NOW, revoke(Role::Mentee, false));
    for role in Role::ALL {
        assert_eq!(
            handle_at(&mut c, T_NOW, consent(role)),
            vec![refuse(role, ErrorCode::OutOfOrder)]
        );
    }
    handle_at(&mut c, T_LATER, request(Role::Mentee, REC2));
    assert!(!has_start(&handle_at(
        &mut c,
        T_LATER,
        consent(Role::Mentee)
    )));
    let (_, grant, _) = take_start(handle_at(&mut c, T_LATEST, consent(Role::Mentor)));
    assert_eq!(grant.id(), REC2);
    assert_eq!(
        grant.consents(),
        &[
            record(Role::Mentor, ADA, T_LATEST),
            record(Role::Mentee, BOB, T_LATER),
        ]
    );
}

// ---------------------------------------------------------------------------
// Leaving and rejoining
// ---------------------------------------------------------------------------

#[test]
fn leaving_ends_an_open_request_with_a_decline_by_nobody() {
    for leaver in Role::ALL {
        for mut c in [
            requested(Role::Mentor),
            requested(Role::Mentee),
            half_consented(Role::Mentor),
            half_consented(Role::Mentee),
        ] {
            let detail = format!("the {leaver} left the call");
            assert_eq!(
                handle_at(&mut c, T_NOW, absent(leaver)),
                vec![
                    ev(REC, ConsentAction::Decline, None, T_NOW, Some(&detail)),
                    broadcast_off(),
                ]
            );
            assert_eq!(c.status(), off(RecordingPolicy::Allowed));
            // The one who stayed cannot request again alone.
            assert_eq!(
                handle_at(&mut c, T_LATER, request(leaver.other(), REC2)),
                vec![refuse(leaver.other(), ErrorCode::RecordingUnavailable)]
            );
        }
    }
}

#[test]
fn leaving_while_recording_stops_it_as_an_interruption() {
    for leaver in Role::ALL {
        let (mut c, grant) = recording();
        let detail = format!("the {leaver} left the call");
        assert_eq!(
            handle_at(&mut c, T_NOW, absent(leaver)),
            vec![
                stop(grant.id(), StopReason::ParticipantLeft(leaver)),
                ev(REC, ConsentAction::Interruption, None, T_NOW, Some(&detail)),
                broadcast_off(),
            ]
        );
        assert!(!c.is_recording());
        // Leaving again, or the other leaving too, stops nothing more.
        assert_eq!(handle_at(&mut c, T_LATER, absent(leaver)), vec![]);
        assert_eq!(handle_at(&mut c, T_LATER, absent(leaver.other())), vec![]);
    }
}

#[test]
fn after_a_rejoin_old_consents_never_carry_over() {
    for leaver in Role::ALL {
        // From a half-consented request, a recording, and a request where the
        // leaver had consented: the rejoined person must consent again.
        for (name, mut c) in [
            ("requested", half_consented(leaver)),
            ("other consented", half_consented(leaver.other())),
            ("recording", recording().0),
        ] {
            handle_at(&mut c, T_NOW, absent(leaver));
            assert_eq!(
                handle_at(&mut c, T_NOW, present(leaver, again(leaver))),
                vec![],
                "{name}"
            );
            assert_eq!(c.status(), off(RecordingPolicy::Allowed));
            for role in Role::ALL {
                assert_eq!(
                    handle_at(&mut c, T_NOW, consent(role)),
                    vec![refuse(role, ErrorCode::OutOfOrder)],
                    "{name}"
                );
            }
            handle_at(&mut c, T_LATER, request(leaver, REC2));
            let out = handle_at(&mut c, T_LATER, consent(leaver.other()));
            assert!(!has_start(&out), "{name}: {out:?}");
            assert_eq!(c.status(), asked(leaver, &[leaver.other()]), "{name}");
            let out = handle_at(&mut c, T_LATEST, consent(leaver));
            let (before, grant, _) = take_start(out);
            assert_eq!(
                before[0],
                ev(
                    REC2,
                    ConsentAction::Consent,
                    Some((leaver, again(leaver))),
                    T_LATEST,
                    None
                ),
                "{name}"
            );
            assert_eq!(grant.id(), REC2, "{name}");
            assert_eq!(
                grant.consents()[leaver.index()],
                record(leaver, again(leaver), T_LATEST),
                "{name}"
            );
            assert_eq!(
                grant.consents()[leaver.other().index()],
                record(leaver.other(), first(leaver.other()), T_LATER),
                "{name}"
            );
        }
    }
}

#[test]
fn rejoining_with_the_same_id_after_leaving_still_needs_a_new_request() {
    let mut c = half_consented(Role::Mentee);
    handle_at(&mut c, T_NOW, absent(Role::Mentee));
    handle_at(&mut c, T_NOW, present(Role::Mentee, BOB));
    assert_eq!(
        handle_at(&mut c, T_LATER, consent(Role::Mentor)),
        vec![refuse(Role::Mentor, ErrorCode::OutOfOrder)]
    );
    assert!(!c.is_recording());
}

#[test]
fn a_repeated_presence_with_the_same_id_changes_nothing_in_any_state() {
    for role in Role::ALL {
        for (name, mut c) in [
            ("off", both_in()),
            ("requested", requested(Role::Mentor)),
            ("half consented", half_consented(role)),
            ("recording", recording().0),
        ] {
            let before = c.status();
            assert_eq!(
                handle_at(&mut c, T_NOW, present(role, first(role))),
                vec![],
                "{name}"
            );
            assert_eq!(c.status(), before, "{name}");
        }
    }
}

#[test]
fn a_new_participant_in_a_held_role_ends_a_request_as_if_the_old_one_left() {
    // A rejoin from another tab or device replaces the connection without an
    // `Absent` in between: whoever consented before is gone.
    for role in Role::ALL {
        for mut c in [requested(Role::Mentor), half_consented(role)] {
            let detail = format!("the {role} left the call");
            assert_eq!(
                handle_at(&mut c, T_NOW, present(role, again(role))),
                vec![
                    ev(REC, ConsentAction::Decline, None, T_NOW, Some(&detail)),
                    broadcast_off(),
                ]
            );
            // A new request is open to both, and needs the new one's consent.
            handle_at(&mut c, T_LATER, request(role.other(), REC2));
            handle_at(&mut c, T_LATER, consent(role.other()));
            let (_, grant, _) = take_start(handle_at(&mut c, T_LATEST, consent(role)));
            assert_eq!(grant.consents()[role.index()].participant, again(role));
        }
    }
}

#[test]
fn a_new_participant_in_a_held_role_stops_a_recording() {
    for role in Role::ALL {
        let (mut c, grant) = recording();
        let detail = format!("the {role} left the call");
        assert_eq!(
            handle_at(&mut c, T_NOW, present(role, again(role))),
            vec![
                stop(grant.id(), StopReason::ParticipantLeft(role)),
                ev(REC, ConsentAction::Interruption, None, T_NOW, Some(&detail)),
                broadcast_off(),
            ]
        );
        assert!(!c.is_recording());
    }
}

// ---------------------------------------------------------------------------
// Recorder failure and end
// ---------------------------------------------------------------------------

#[test]
fn a_recorder_failure_stops_the_recording_as_an_interruption() {
    let (mut c, grant) = recording();
    assert_eq!(
        handle_at(&mut c, T_NOW, recorder_failed()),
        vec![
            stop(grant.id(), StopReason::WriteFailed(DISK_FULL.to_string())),
            ev(
                REC,
                ConsentAction::Interruption,
                None,
                T_NOW,
                Some("writing failed: disk full")
            ),
            broadcast_off(),
        ]
    );
    assert!(!c.is_recording());
    // Both are still here: a new request may follow, with new consents.
    handle_at(&mut c, T_LATER, request(Role::Mentee, REC2));
    assert!(!has_start(&handle_at(
        &mut c,
        T_LATER,
        consent(Role::Mentor)
    )));
    let (_, grant, _) = take_start(handle_at(&mut c, T_LATEST, consent(Role::Mentee)));
    assert_eq!(grant.id(), REC2);
}

#[test]
fn ending_the_session_stops_the_recording_as_an_interruption() {
    let (mut c, grant) = recording();
    assert_eq!(
        handle_at(&mut c, T_NOW, ConsentInput::End),
        vec![
            stop(grant.id(), StopReason::SessionEnded),
            ev(
                REC,
                ConsentAction::Interruption,
                None,
                T_NOW,
                Some("the session ended")
            ),
            broadcast_off(),
        ]
    );
    assert!(!c.is_recording());
    assert_eq!(handle_at(&mut c, T_LATER, ConsentInput::End), vec![]);
}

#[test]
fn a_recorder_failure_or_the_end_closes_an_open_request() {
    for (input, detail) in [
        (recorder_failed(), "writing failed: disk full"),
        (ConsentInput::End, "the session ended"),
    ] {
        for mut c in [requested(Role::Mentee), half_consented(Role::Mentor)] {
            assert_eq!(
                handle_at(&mut c, T_NOW, input.clone()),
                vec![
                    ev(REC, ConsentAction::Decline, None, T_NOW, Some(detail)),
                    broadcast_off(),
                ]
            );
        }
    }
}

#[test]
fn nothing_can_be_requested_after_the_session_ended() {
    for (name, mut c) in [
        ("off", both_in()),
        ("requested", requested(Role::Mentor)),
        ("recording", recording().0),
    ] {
        handle_at(&mut c, T_NOW, ConsentInput::End);
        for role in Role::ALL {
            assert_eq!(
                handle_at(&mut c, T_LATER, request(role, REC2)),
                vec![refuse(role, ErrorCode::OutOfOrder)],
                "{name}"
            );
            assert_eq!(
                handle_at(&mut c, T_LATER, consent(role)),
                vec![refuse(role, ErrorCode::OutOfOrder)],
                "{name}"
            );
        }
        assert!(!c.is_recording());
    }
}

// ---------------------------------------------------------------------------
// The deployment's policy changing under a live session
// ---------------------------------------------------------------------------

const POLICY_DETAIL: &str = "policy: recording was turned off on this server";

#[test]
fn turning_the_policy_off_stops_a_recording_first_then_says_why() {
    let (mut c, grant) = recording();
    assert_eq!(
        handle_at(&mut c, T_NOW, ConsentInput::Policy(RecordingPolicy::Off)),
        vec![
            stop(grant.id(), StopReason::PolicyOff),
            ev(
                REC,
                ConsentAction::Interruption,
                None,
                T_NOW,
                Some(POLICY_DETAIL)
            ),
            bc(off(RecordingPolicy::Off)),
        ]
    );
    assert!(!c.is_recording());
    // Nothing can be asked for until the policy allows it again.
    assert_eq!(
        handle_at(&mut c, T_LATER, request(Role::Mentor, REC2)),
        vec![refuse(Role::Mentor, ErrorCode::RecordingUnavailable)]
    );
}

#[test]
fn turning_the_policy_off_closes_an_open_request() {
    for mut c in [requested(Role::Mentee), half_consented(Role::Mentor)] {
        assert_eq!(
            handle_at(&mut c, T_NOW, ConsentInput::Policy(RecordingPolicy::Off)),
            vec![
                ev(
                    REC,
                    ConsentAction::Decline,
                    None,
                    T_NOW,
                    Some(POLICY_DETAIL)
                ),
                bc(off(RecordingPolicy::Off)),
            ]
        );
    }
}

#[test]
fn a_policy_change_with_nothing_running_is_only_broadcast_and_can_be_undone() {
    let mut c = both_in();
    assert_eq!(
        handle_at(&mut c, T_NOW, ConsentInput::Policy(RecordingPolicy::Off)),
        vec![bc(off(RecordingPolicy::Off))]
    );
    assert_eq!(
        handle_at(&mut c, T_NOW, ConsentInput::Policy(RecordingPolicy::Off)),
        vec![],
        "the same policy again changes nothing"
    );
    assert_eq!(
        handle_at(
            &mut c,
            T_LATER,
            ConsentInput::Policy(RecordingPolicy::Allowed)
        ),
        vec![bc(off(RecordingPolicy::Allowed))]
    );
    handle_at(&mut c, T_LATER, request(Role::Mentor, REC2));
    handle_at(&mut c, T_LATER, consent(Role::Mentor));
    let (_, grant, _) = take_start(handle_at(&mut c, T_LATEST, consent(Role::Mentee)));
    assert_eq!(grant.id(), REC2);
}

// ---------------------------------------------------------------------------
// Every input in every state, with exact outputs
// ---------------------------------------------------------------------------

/// The inputs that are the same in each state, for `role`, with what they
/// give in that state.
fn off_cases(role: Role) -> Vec<(ConsentInput, Vec<ConsentOutput>)> {
    vec![
        (present(role, first(role)), vec![]),
        (present(role, again(role)), vec![]),
        (absent(role), vec![]),
        (
            request(role, REC2),
            vec![
                ev(REC2, ConsentAction::Request, by(role), T_NOW, None),
                bc(asked(role, &[])),
            ],
        ),
        (consent(role), vec![refuse(role, ErrorCode::OutOfOrder)]),
        (
            consent_to(role, notice()),
            vec![refuse(role, ErrorCode::OutOfOrder)],
        ),
        (
            consent_to(role, old_notice()),
            vec![refuse(role, ErrorCode::RecordingUnavailable)],
        ),
        (decline(role), vec![refuse(role, ErrorCode::OutOfOrder)]),
        (
            revoke(role, false),
            vec![refuse(role, ErrorCode::OutOfOrder)],
        ),
        (
            revoke(role, true),
            vec![refuse(role, ErrorCode::OutOfOrder)],
        ),
    ]
}

#[test]
fn every_input_when_off() {
    let mut cases = vec![(recorder_failed(), vec![]), (ConsentInput::End, vec![])];
    for role in Role::ALL {
        cases.extend(off_cases(role));
    }
    expect_each("off", both_in, cases);
}

/// In an open request by `requester` where `consented` have consented (at
/// most one).
fn requested_cases(
    requester: Role,
    role: Role,
    consented: &[Role],
) -> Vec<(ConsentInput, Vec<ConsentOutput>)> {
    let left = format!("the {role} left the call");
    let ended_by_decline = || {
        vec![
            ev(REC, ConsentAction::Decline, by(role), T_NOW, None),
            broadcast_off(),
        ]
    };
    let mut cases = vec![
        (present(role, first(role)), vec![]),
        (
            present(role, again(role)),
            vec![
                ev(REC, ConsentAction::Decline, None, T_NOW, Some(&left)),
                broadcast_off(),
            ],
        ),
        (
            absent(role),
            vec![
                ev(REC, ConsentAction::Decline, None, T_NOW, Some(&left)),
                broadcast_off(),
            ],
        ),
        (
            request(role, REC2),
            vec![refuse(role, ErrorCode::OutOfOrder)],
        ),
        (
            consent_to(role, old_notice()),
            vec![refuse(role, ErrorCode::RecordingUnavailable)],
        ),
        (decline(role), ended_by_decline()),
        (revoke(role, false), ended_by_decline()),
        (revoke(role, true), ended_by_decline()),
    ];
    if consented.contains(&role) {
        cases.push((consent(role), vec![refuse(role, ErrorCode::OutOfOrder)]));
        cases.push((
            consent_to(role, notice()),
            vec![refuse(role, ErrorCode::OutOfOrder)],
        ));
    } else if consented.is_empty() {
        for input in [consent(role), consent_to(role, notice())] {
            cases.push((
                input,
                vec![
                    ev(REC, ConsentAction::Consent, by(role), T_NOW, None),
                    bc(asked(requester, &[role])),
                ],
            ));
        }
    }
    // The consent that completes a request starts recording; it is checked
    // in `both_consents_start_exactly_once_with_mentor_then_mentee_in_the_grant`.
    cases
}

fn requested_common_cases() -> Vec<(ConsentInput, Vec<ConsentOutput>)> {
    vec![
        (
            recorder_failed(),
            vec![
                ev(
                    REC,
                    ConsentAction::Decline,
                    None,
                    T_NOW,
                    Some("writing failed: disk full"),
                ),
                broadcast_off(),
            ],
        ),
        (
            ConsentInput::End,
            vec![
                ev(
                    REC,
                    ConsentAction::Decline,
                    None,
                    T_NOW,
                    Some("the session ended"),
                ),
                broadcast_off(),
            ],
        ),
    ]
}

#[test]
fn every_input_when_requested_with_no_consent() {
    for requester in Role::ALL {
        let mut cases = requested_common_cases();
        for role in Role::ALL {
            cases.extend(requested_cases(requester, role, &[]));
        }
        expect_each(
            &format!("requested by the {requester}"),
            || requested(requester),
            cases,
        );
    }
}

#[test]
fn every_input_when_requested_with_one_consent() {
    for consenter in Role::ALL {
        let mut cases = requested_common_cases();
        for role in Role::ALL {
            cases.extend(requested_cases(Role::Mentor, role, &[consenter]));
        }
        expect_each(
            &format!("requested by the mentor, the {consenter} consented"),
            || half_consented(consenter),
            cases,
        );
    }
}

#[test]
fn every_input_when_recording() {
    let mut cases = vec![
        (
            recorder_failed(),
            vec![
                stop(REC, StopReason::WriteFailed(DISK_FULL.to_string())),
                ev(
                    REC,
                    ConsentAction::Interruption,
                    None,
                    T_NOW,
                    Some("writing failed: disk full"),
                ),
                broadcast_off(),
            ],
        ),
        (
            ConsentInput::End,
            vec![
                stop(REC, StopReason::SessionEnded),
                ev(
                    REC,
                    ConsentAction::Interruption,
                    None,
                    T_NOW,
                    Some("the session ended"),
                ),
                broadcast_off(),
            ],
        ),
    ];
    for role in Role::ALL {
        let left = format!("the {role} left the call");
        let revoked = format!("revoked by the {role}");
        let interrupted = || {
            vec![
                stop(REC, StopReason::ParticipantLeft(role)),
                ev(REC, ConsentAction::Interruption, None, T_NOW, Some(&left)),
                broadcast_off(),
            ]
        };
        let revoke_then = |discard: bool| {
            let mut out = vec![
                stop(REC, StopReason::Revoked { by: role, discard }),
                ev(REC, ConsentAction::Revoke, by(role), T_NOW, None),
                ev(REC, ConsentAction::Stop, None, T_NOW, Some(&revoked)),
            ];
            if discard {
                out.push(ev(REC, ConsentAction::Discard, by(role), T_NOW, None));
                out.push(ConsentOutput::Discard { id: REC });
            }
            out.push(broadcast_off());
            out
        };
        cases.extend([
            (present(role, first(role)), vec![]),
            (present(role, again(role)), interrupted()),
            (absent(role), interrupted()),
            (
                request(role, REC2),
                vec![refuse(role, ErrorCode::OutOfOrder)],
            ),
            (consent(role), vec![refuse(role, ErrorCode::OutOfOrder)]),
            (
                consent_to(role, notice()),
                vec![refuse(role, ErrorCode::OutOfOrder)],
            ),
            (
                consent_to(role, old_notice()),
                vec![refuse(role, ErrorCode::RecordingUnavailable)],
            ),
            (decline(role), revoke_then(false)),
            (revoke(role, false), revoke_then(false)),
            (revoke(role, true), revoke_then(true)),
        ]);
    }
    expect_each("recording", || recording().0, cases);
}

#[test]
fn every_input_when_the_policy_is_off() {
    let mut cases = vec![(recorder_failed(), vec![]), (ConsentInput::End, vec![])];
    for role in Role::ALL {
        cases.extend([
            (present(role, first(role)), vec![]),
            (present(role, again(role)), vec![]),
            (absent(role), vec![]),
            (
                request(role, REC),
                vec![refuse(role, ErrorCode::RecordingUnavailable)],
            ),
            (consent(role), vec![refuse(role, ErrorCode::OutOfOrder)]),
            (
                consent_to(role, old_notice()),
                vec![refuse(role, ErrorCode::RecordingUnavailable)],
            ),
            (decline(role), vec![refuse(role, ErrorCode::OutOfOrder)]),
            (
                revoke(role, true),
                vec![refuse(role, ErrorCode::OutOfOrder)],
            ),
        ]);
    }
    expect_each("policy off", || both_in_with(RecordingPolicy::Off), cases);
}

// ---------------------------------------------------------------------------
// Invariants: every short sequence from every state, and random sequences
// ---------------------------------------------------------------------------

/// Which notice a consent says it saw.
#[derive(Debug, Clone, Copy)]
enum Said {
    Current,
    Stale,
    Nothing,
}

/// An input, with ids left for [`Run`] to fill in.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// `fresh`: a new participant id (a join or a rejoin); otherwise the id
    /// already present in `role` again (a new one if nobody is).
    Present {
        role: Role,
        fresh: bool,
    },
    Absent(Role),
    /// Always with a fresh recording id.
    Request(Role),
    Consent(Role, Said),
    Decline(Role),
    Revoke {
        role: Role,
        discard: bool,
    },
    RecorderFailed,
    End,
    /// The deployment's policy for this session becomes this one.
    Policy(RecordingPolicy),
}

fn every_op() -> Vec<Op> {
    let mut ops = vec![
        Op::RecorderFailed,
        Op::End,
        Op::Policy(RecordingPolicy::Off),
        Op::Policy(RecordingPolicy::Allowed),
    ];
    for role in Role::ALL {
        ops.extend([
            Op::Present { role, fresh: true },
            Op::Present { role, fresh: false },
            Op::Absent(role),
            Op::Request(role),
            Op::Consent(role, Said::Current),
            Op::Consent(role, Said::Stale),
            Op::Consent(role, Said::Nothing),
            Op::Decline(role),
            Op::Revoke {
                role,
                discard: false,
            },
            Op::Revoke {
                role,
                discard: true,
            },
        ]);
    }
    ops
}

/// The independent model: who is present, and for the current request, who
/// has consented (participant and time) to the current notice. A request
/// becomes a recording exactly when both roles' consents are by the
/// participants present now.
#[derive(Debug, Clone)]
struct Model {
    policy: RecordingPolicy,
    present: [Option<ParticipantId>; 2],
    current: Option<Current>,
}

#[derive(Debug, Clone, PartialEq)]
struct Current {
    id: RecordingId,
    by: Role,
    /// In the order given.
    consents: Vec<(Role, ParticipantId, UnixMillis)>,
    recording: bool,
}

impl Model {
    fn new(policy: RecordingPolicy) -> Model {
        Model {
            policy,
            present: [None, None],
            current: None,
        }
    }

    /// Applies `input`; true if it must be refused.
    fn apply(&mut self, now: UnixMillis, input: &ConsentInput) -> bool {
        match input {
            ConsentInput::Present { role, participant } => {
                let slot = &mut self.present[role.index()];
                if slot.is_some_and(|p| p != *participant) {
                    // The one who was there is gone.
                    self.current = None;
                }
                *slot = Some(*participant);
                false
            }
            ConsentInput::Absent { role } => {
                self.present[role.index()] = None;
                self.current = None;
                false
            }
            ConsentInput::Request { role, id } => {
                let ok = self.policy == RecordingPolicy::Allowed
                    && self.present.iter().all(Option::is_some)
                    && self.current.is_none();
                if ok {
                    self.current = Some(Current {
                        id: *id,
                        by: *role,
                        consents: Vec::new(),
                        recording: false,
                    });
                }
                !ok
            }
            ConsentInput::Consent { role, notice: said } => {
                let Some(participant) = self.present[role.index()] else {
                    return true;
                };
                if said.as_ref().is_some_and(|n| n.0 != NOTICE) {
                    return true;
                }
                let Some(cur) = self.current.as_mut() else {
                    return true;
                };
                if cur.recording || cur.consents.iter().any(|(r, _, _)| r == role) {
                    return true;
                }
                cur.consents.push((*role, participant, now));
                let by_those_present = cur
                    .consents
                    .iter()
                    .all(|(r, p, _)| self.present[r.index()] == Some(*p));
                if cur.consents.len() == 2 && by_those_present {
                    cur.recording = true;
                }
                false
            }
            ConsentInput::Decline { .. } | ConsentInput::Revoke { .. } => {
                self.current.take().is_none()
            }
            ConsentInput::RecorderFailed { .. } => {
                self.current = None;
                false
            }
            ConsentInput::End => {
                self.current = None;
                self.present = [None, None];
                false
            }
            ConsentInput::Policy(policy) => {
                self.policy = *policy;
                if *policy != RecordingPolicy::Allowed {
                    self.current = None;
                }
                false
            }
        }
    }

    fn recording(&self) -> Option<RecordingId> {
        self.current.as_ref().filter(|c| c.recording).map(|c| c.id)
    }

    fn status(&self) -> RecordingStatus {
        match &self.current {
            None => off(self.policy),
            Some(c) if c.recording => status(Recording, self.policy, &Role::ALL, Some(c.by)),
            Some(c) => {
                let consented: Vec<Role> = c.consents.iter().map(|(r, _, _)| *r).collect();
                status(Requested, self.policy, &consented, Some(c.by))
            }
        }
    }
}

/// An output as kept in the cumulative stream (a grant is not `Clone`).
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Event(ConsentEvent),
    Start {
        id: RecordingId,
        consents: [ConsentRecord; 2],
    },
    Stop {
        id: RecordingId,
        reason: StopReason,
    },
    Discard(RecordingId),
    Broadcast(RecordingStatus),
    Refuse(Role, ErrorCode),
}

impl From<ConsentOutput> for Seen {
    fn from(o: ConsentOutput) -> Seen {
        match o {
            ConsentOutput::Event(e) => Seen::Event(e),
            ConsentOutput::Start(grant) => Seen::Start {
                id: grant.id(),
                consents: grant.consents().clone(),
            },
            ConsentOutput::Stop { id, reason } => Seen::Stop { id, reason },
            ConsentOutput::Discard { id } => Seen::Discard(id),
            ConsentOutput::Broadcast(s) => Seen::Broadcast(s),
            ConsentOutput::Refuse { role, code, .. } => Seen::Refuse(role, code),
        }
    }
}

/// The role an input comes from, for those a participant sends.
fn sender(input: &ConsentInput) -> Option<Role> {
    match input {
        ConsentInput::Request { role, .. }
        | ConsentInput::Consent { role, .. }
        | ConsentInput::Decline { role }
        | ConsentInput::Revoke { role, .. } => Some(*role),
        _ => None,
    }
}

/// One machine and its model, fed the same inputs, checked after each.
struct Run {
    consent: Consent,
    model: Model,
    seen: Vec<Seen>,
    started: HashSet<RecordingId>,
    stopped: HashSet<RecordingId>,
    steps: u64,
}

impl Run {
    fn new(policy: RecordingPolicy) -> Run {
        Run {
            consent: Consent::new(policy, notice()),
            model: Model::new(policy),
            seen: Vec::new(),
            started: HashSet::new(),
            stopped: HashSet::new(),
            steps: 0,
        }
    }

    fn input(&self, op: Op) -> ConsentInput {
        let n = u128::from(self.steps);
        match op {
            Op::Present { role, fresh } => {
                let participant = match self.model.present[role.index()] {
                    Some(p) if !fresh => p,
                    _ => ParticipantId(Uuid::from_u128(0x1_0000_0000 + n)),
                };
                present(role, participant)
            }
            Op::Absent(role) => absent(role),
            Op::Request(role) => request(role, RecordingId(Uuid::from_u128(0x2_0000_0000 + n))),
            Op::Consent(role, Said::Current) => consent_to(role, notice()),
            Op::Consent(role, Said::Stale) => consent_to(role, old_notice()),
            Op::Consent(role, Said::Nothing) => consent(role),
            Op::Decline(role) => decline(role),
            Op::Revoke { role, discard } => revoke(role, discard),
            Op::RecorderFailed => recorder_failed(),
            Op::End => ConsentInput::End,
            Op::Policy(policy) => ConsentInput::Policy(policy),
        }
    }

    fn step(&mut self, op: Op) {
        self.steps += 1;
        let now = UnixMillis(self.steps as i64 * 1_000);
        let input = self.input(op);
        let before = self.model.clone();
        let status_before = self.consent.status();
        let was_recording = before.recording();

        let refused = self.model.apply(now, &input);
        self.consent.handle(now, input.clone());
        let out: Vec<Seen> = drain(&mut self.consent)
            .into_iter()
            .map(Seen::from)
            .collect();
        let ctx = || {
            format!(
                "step {} {input:?}\nbefore {before:?}\nout {out:?}",
                self.steps
            )
        };

        // The machine agrees with the model.
        assert_eq!(self.consent.present, self.model.present, "{}", ctx());
        assert_eq!(
            self.consent.is_recording(),
            self.model.recording().is_some(),
            "{}",
            ctx()
        );
        assert_eq!(self.consent.status(), self.model.status(), "{}", ctx());

        // Refusals: exactly one, to the sender, and nothing else.
        if refused {
            let role = sender(&input).expect("only senders are refused");
            assert!(
                matches!(out.as_slice(), [Seen::Refuse(r, _)] if *r == role),
                "{}",
                ctx()
            );
        } else {
            assert!(
                !out.iter().any(|o| matches!(o, Seen::Refuse(..))),
                "{}",
                ctx()
            );
        }

        // Events: now, the current notice, about the request in play, by a
        // participant present.
        let in_play = before.current.as_ref().map(|c| c.id);
        for o in &out {
            let Seen::Event(e) = o else { continue };
            assert_eq!(e.at, now, "{}", ctx());
            assert_eq!(e.notice, notice(), "{}", ctx());
            let expected_id = match e.action {
                ConsentAction::Request => self.model.current.as_ref().map(|c| c.id),
                _ => in_play,
            };
            assert_eq!(Some(e.recording), expected_id, "{}", ctx());
            if let Some((role, participant)) = e.actor {
                assert_eq!(Some(role), sender(&input), "{}", ctx());
                assert_eq!(before.present[role.index()], Some(participant), "{}", ctx());
            }
        }

        // Broadcasts: one exactly when the status changed, saying the new one.
        let broadcasts: Vec<&RecordingStatus> = out
            .iter()
            .filter_map(|o| match o {
                Seen::Broadcast(s) => Some(s),
                _ => None,
            })
            .collect();
        let status_now = self.consent.status();
        if status_now == status_before {
            assert!(broadcasts.is_empty(), "{}", ctx());
        } else {
            assert_eq!(broadcasts, vec![&status_now], "{}", ctx());
            assert!(matches!(out.last(), Some(Seen::Broadcast(_))), "{}", ctx());
        }

        // (1) A start only when the model has both consents for the current
        // request, by those present, with recording allowed; one per request.
        let starts: Vec<(&RecordingId, &[ConsentRecord; 2])> = out
            .iter()
            .filter_map(|o| match o {
                Seen::Start { id, consents } => Some((id, consents)),
                _ => None,
            })
            .collect();
        assert!(starts.len() <= 1, "{}", ctx());
        let newly_recording = self
            .model
            .recording()
            .filter(|id| was_recording != Some(*id));
        assert_eq!(
            starts.first().map(|(id, _)| **id),
            newly_recording,
            "{}",
            ctx()
        );
        if let Some((id, consents)) = starts.first() {
            assert_eq!(self.model.policy, RecordingPolicy::Allowed, "{}", ctx());
            let cur = self.model.current.as_ref().expect("recording");
            assert_eq!(cur.id, **id, "{}", ctx());
            for role in Role::ALL {
                let record = &consents[role.index()];
                let (_, participant, at) = cur
                    .consents
                    .iter()
                    .find(|(r, _, _)| *r == role)
                    .expect("both consented");
                assert_eq!(record.role, role, "{}", ctx());
                assert_eq!(record.participant, *participant, "{}", ctx());
                assert_eq!(
                    self.model.present[role.index()],
                    Some(*participant),
                    "{}",
                    ctx()
                );
                assert_eq!(record.at, *at, "{}", ctx());
                assert_eq!(record.notice, notice(), "{}", ctx());
            }
            assert!(self.started.insert(**id), "second start: {}", ctx());
        }

        // (3) Recording only while both are present.
        if self.consent.is_recording() {
            assert!(
                self.consent.present.iter().all(Option::is_some),
                "{}",
                ctx()
            );
            let id = self.model.recording().expect("recording");
            assert!(self.started.contains(&id) && !self.stopped.contains(&id));
        }

        // (4) and (5): ending inputs leave nothing recording; a running
        // recording gets exactly one stop, with the reason of the input, and
        // only a started recording is ever stopped, once.
        let stops: Vec<(&RecordingId, &StopReason)> = out
            .iter()
            .filter_map(|o| match o {
                Seen::Stop { id, reason } => Some((id, reason)),
                _ => None,
            })
            .collect();
        if matches!(
            input,
            ConsentInput::Absent { .. }
                | ConsentInput::Revoke { .. }
                | ConsentInput::Decline { .. }
                | ConsentInput::RecorderFailed { .. }
                | ConsentInput::End
                | ConsentInput::Policy(RecordingPolicy::Off)
        ) {
            assert!(!self.consent.is_recording(), "{}", ctx());
        }
        let stopped_now = was_recording.filter(|id| self.model.recording() != Some(*id));
        assert_eq!(stops.first().map(|(id, _)| **id), stopped_now, "{}", ctx());
        assert!(stops.len() <= 1, "{}", ctx());
        // (6) A stop comes before anything else of the same input, so that
        // storing events (which may be slow) never delays it.
        if !stops.is_empty() {
            assert!(matches!(out.first(), Some(Seen::Stop { .. })), "{}", ctx());
        }
        if let Some((id, reason)) = stops.first() {
            assert!(self.started.contains(id), "stop without start: {}", ctx());
            assert!(self.stopped.insert(**id), "second stop: {}", ctx());
            let expected = match &input {
                ConsentInput::Present { role, .. } | ConsentInput::Absent { role } => {
                    StopReason::ParticipantLeft(*role)
                }
                ConsentInput::Revoke { role, discard } => StopReason::Revoked {
                    by: *role,
                    discard: *discard,
                },
                ConsentInput::Decline { role } => StopReason::Revoked {
                    by: *role,
                    discard: false,
                },
                ConsentInput::RecorderFailed { reason } => StopReason::WriteFailed(reason.clone()),
                ConsentInput::End => StopReason::SessionEnded,
                ConsentInput::Policy(_) => StopReason::PolicyOff,
                other => panic!("{other:?} stopped a recording: {}", ctx()),
            };
            assert_eq!(*reason, &expected, "{}", ctx());
        }

        // Discard: only with a revoke that asked for it, after its stop.
        let discards: Vec<usize> = out
            .iter()
            .enumerate()
            .filter(|(_, o)| matches!(o, Seen::Discard(_)))
            .map(|(i, _)| i)
            .collect();
        let discard_expected =
            stopped_now.is_some() && matches!(input, ConsentInput::Revoke { discard: true, .. });
        assert_eq!(discards.len(), usize::from(discard_expected), "{}", ctx());
        if let Some(&i) = discards.first() {
            assert_eq!(
                out[i],
                Seen::Discard(stopped_now.expect("stopped")),
                "{}",
                ctx()
            );
            let stop_at = out
                .iter()
                .position(|o| matches!(o, Seen::Stop { .. }))
                .expect("stopped");
            assert!(stop_at < i, "{}", ctx());
        }

        // (2) Every start is preceded in the stream by the two consent
        // events of its request and its start event, with nothing that ended
        // the request in between.
        let base = self.seen.len();
        self.seen.extend(out.iter().cloned());
        for i in base..self.seen.len() {
            if let Seen::Start { id, consents } = &self.seen[i] {
                check_start_is_earned(&self.seen[..i], *id, consents);
            }
        }
    }
}

fn check_start_is_earned(seen: &[Seen], id: RecordingId, consents: &[ConsentRecord; 2]) {
    let requested_at = seen
        .iter()
        .rposition(|s| {
            matches!(s, Seen::Event(e) if e.recording == id && e.action == ConsentAction::Request)
        })
        .unwrap_or_else(|| panic!("start of {id} without a request event"));
    let since = &seen[requested_at + 1..];
    let events: Vec<&ConsentEvent> = since
        .iter()
        .filter_map(|s| match s {
            Seen::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    assert!(
        events.iter().all(|e| e.recording == id),
        "other requests' events while {id} was open: {since:?}"
    );
    for role in Role::ALL {
        let given: Vec<&&ConsentEvent> = events
            .iter()
            .filter(|e| e.action == ConsentAction::Consent && e.actor.map(|(r, _)| r) == Some(role))
            .collect();
        assert_eq!(given.len(), 1, "{role}'s consents to {id}: {since:?}");
        let record = &consents[role.index()];
        assert_eq!(given[0].actor, Some((role, record.participant)));
        assert_eq!(given[0].at, record.at);
    }
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == ConsentAction::Consent)
            .count(),
        2,
        "{since:?}"
    );
    assert!(
        matches!(events.last(), Some(e) if e.action == ConsentAction::Start && e.actor.is_none()),
        "no start event right before the start of {id}: {since:?}"
    );
    assert!(
        !events.iter().any(|e| matches!(
            e.action,
            ConsentAction::Decline
                | ConsentAction::Revoke
                | ConsentAction::Stop
                | ConsentAction::Interruption
                | ConsentAction::Discard
        )),
        "{id} ended before it started: {since:?}"
    );
    assert!(
        !since.iter().any(|s| matches!(
            s,
            Seen::Start { .. } | Seen::Broadcast(RecordingStatus { state: Off, .. })
        )),
        "{since:?}"
    );
}

/// Named starting points for the exhaustive walk, reached through [`Run`]
/// so the model follows.
fn start_states() -> Vec<(&'static str, RecordingPolicy, Vec<Op>)> {
    let m = Role::Mentor;
    let e = Role::Mentee;
    let both = vec![
        Op::Present {
            role: m,
            fresh: true,
        },
        Op::Present {
            role: e,
            fresh: true,
        },
    ];
    let with = |tail: &[Op]| [both.clone(), tail.to_vec()].concat();
    vec![
        ("empty", RecordingPolicy::Allowed, vec![]),
        (
            "mentor only",
            RecordingPolicy::Allowed,
            with(&[Op::Absent(e)]),
        ),
        ("both, policy off", RecordingPolicy::Off, both.clone()),
        ("off", RecordingPolicy::Allowed, both.clone()),
        (
            "requested",
            RecordingPolicy::Allowed,
            with(&[Op::Request(e)]),
        ),
        (
            "mentor consented",
            RecordingPolicy::Allowed,
            with(&[Op::Request(e), Op::Consent(m, Said::Current)]),
        ),
        (
            "mentee consented",
            RecordingPolicy::Allowed,
            with(&[Op::Request(m), Op::Consent(e, Said::Nothing)]),
        ),
        (
            "recording",
            RecordingPolicy::Allowed,
            with(&[
                Op::Request(m),
                Op::Consent(e, Said::Current),
                Op::Consent(m, Said::Nothing),
            ]),
        ),
    ]
}

#[test]
fn every_sequence_of_three_inputs_from_every_state_keeps_the_invariants() {
    let ops = every_op();
    let kinds: HashSet<std::mem::Discriminant<ConsentInput>> = ops
        .iter()
        .map(|op| std::mem::discriminant(&Run::new(RecordingPolicy::Allowed).input(*op)))
        .collect();
    assert_eq!(kinds.len(), 9, "every kind of input is tried");

    let mut starts = 0;
    for (name, policy, prefix) in start_states() {
        let mut probe = Run::new(policy);
        for op in &prefix {
            probe.step(*op);
        }
        let expected = match name {
            "requested" | "mentor consented" | "mentee consented" => Requested,
            "recording" => Recording,
            _ => Off,
        };
        assert_eq!(probe.consent.status().state, expected, "{name}");

        for a in &ops {
            for b in &ops {
                for c in &ops {
                    let mut run = Run::new(policy);
                    for op in prefix.iter().chain([a, b, c]) {
                        run.step(*op);
                    }
                    starts += run.started.len();
                }
            }
        }
    }
    assert!(starts > 0);
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Mentor), Just(Role::Mentee)]
}

fn op() -> impl Strategy<Value = Op> {
    let said = prop_oneof![
        6 => Just(Said::Current),
        3 => Just(Said::Nothing),
        1 => Just(Said::Stale),
    ];
    prop_oneof![
        4 => (role(), prop::bool::weighted(0.7))
            .prop_map(|(role, fresh)| Op::Present { role, fresh }),
        2 => role().prop_map(Op::Absent),
        4 => role().prop_map(Op::Request),
        8 => (role(), said).prop_map(|(role, said)| Op::Consent(role, said)),
        1 => role().prop_map(Op::Decline),
        2 => (role(), any::<bool>()).prop_map(|(role, discard)| Op::Revoke { role, discard }),
        1 => Just(Op::RecorderFailed),
        1 => Just(Op::End),
        1 => prop_oneof![Just(RecordingPolicy::Off), Just(RecordingPolicy::Allowed)]
            .prop_map(Op::Policy),
    ]
}

proptest! {
    #[test]
    fn random_sequences_never_record_without_two_fresh_consents(
        allowed in prop::bool::weighted(0.8),
        ops in prop::collection::vec(op(), 1..=60),
    ) {
        let policy = if allowed { RecordingPolicy::Allowed } else { RecordingPolicy::Off };
        let mut run = Run::new(policy);
        for op in ops {
            run.step(op);
        }
        // Every recording that started and is not running any more was
        // stopped exactly once.
        let running: HashSet<RecordingId> = run.model.recording().into_iter().collect();
        let ended: HashSet<RecordingId> = run.started.difference(&running).copied().collect();
        prop_assert_eq!(ended, run.stopped);
    }
}
