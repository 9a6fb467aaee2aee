use super::*;

fn id() -> SessionId {
    SessionId(uuid::Uuid::from_u128(7))
}

fn at(ms: i64) -> UnixMillis {
    UnixMillis(ms)
}

fn stats(clock: &CallClock, now: i64) -> CallStats {
    clock.stats(id(), at(now)).expect("someone joined")
}

#[test]
fn nobody_joined_is_no_call() {
    let clock = CallClock::default();
    assert_eq!(clock.stats(id(), at(5)), None);
}

#[test]
fn a_call_from_first_join_to_last_leave() {
    let mut clock = CallClock::default();
    clock.joined(at(1_000), Role::Mentor);
    clock.joined(at(3_000), Role::Mentee);
    clock.left(at(10_000), Role::Mentee);
    clock.left(at(12_000), Role::Mentor);
    let s = stats(&clock, 20_000);
    assert_eq!(s.first_joined_at_ms, 1_000);
    assert_eq!(s.together_since_ms, Some(3_000));
    assert_eq!(s.together_ms, 7_000, "only while both were in");
    assert_eq!(s.last_left_at_ms, Some(12_000));
    assert_eq!(s.updated_at_ms, 20_000);
}

#[test]
fn alone_the_whole_time_is_never_together() {
    let mut clock = CallClock::default();
    clock.joined(at(1_000), Role::Mentee);
    clock.left(at(9_000), Role::Mentee);
    let s = stats(&clock, 9_000);
    assert_eq!(
        (s.together_since_ms, s.together_ms, s.last_left_at_ms),
        (None, 0, Some(9_000))
    );
}

#[test]
fn a_reconnect_does_not_count_twice_nor_the_gap() {
    let mut clock = CallClock::default();
    clock.joined(at(0), Role::Mentor);
    clock.joined(at(1_000), Role::Mentee);
    clock.left(at(3_000), Role::Mentee);
    clock.joined(at(3_500), Role::Mentee);
    // A second tab replacing the first: leave and join at the same time.
    clock.left(at(6_000), Role::Mentor);
    clock.joined(at(6_000), Role::Mentor);
    clock.left(at(8_000), Role::Mentor);
    clock.left(at(8_000), Role::Mentee);
    let s = stats(&clock, 9_000);
    assert_eq!(s.together_ms, 2_000 + 4_500);
    assert_eq!(
        s.together_since_ms,
        Some(1_000),
        "the first time both were in"
    );
    assert_eq!(s.last_left_at_ms, Some(8_000));
}

#[test]
fn the_stretch_going_on_counts_up_to_now() {
    let mut clock = CallClock::default();
    clock.joined(at(0), Role::Mentor);
    clock.joined(at(1_000), Role::Mentee);
    assert_eq!(stats(&clock, 4_000).together_ms, 3_000);
    assert_eq!(stats(&clock, 4_000).last_left_at_ms, None);
}

#[test]
fn repeated_joins_and_leaves_of_one_role_change_nothing() {
    let mut clock = CallClock::default();
    clock.joined(at(0), Role::Mentor);
    clock.joined(at(1_000), Role::Mentee);
    clock.joined(at(2_000), Role::Mentee);
    clock.left(at(5_000), Role::Mentee);
    clock.left(at(6_000), Role::Mentee);
    assert_eq!(stats(&clock, 7_000).together_ms, 4_000);
}

#[test]
fn a_wall_clock_stepping_back_counts_no_negative_time() {
    let mut clock = CallClock::default();
    clock.joined(at(10_000), Role::Mentor);
    clock.joined(at(10_000), Role::Mentee);
    clock.left(at(4_000), Role::Mentee);
    assert_eq!(stats(&clock, 3_000).together_ms, 0);
}

#[test]
fn talk_adds_up_per_role_and_never_exceeds_the_time_together() {
    let mut clock = CallClock::default();
    clock.joined(at(0), Role::Mentor);
    clock.joined(at(0), Role::Mentee);
    clock.add_talk(Role::Mentor, 1_500);
    clock.add_talk(Role::Mentor, 500);
    clock.add_talk(Role::Mentee, 700);
    let s = stats(&clock, 10_000);
    assert_eq!((s.mentor_talk_ms, s.mentee_talk_ms), (2_000, 700));
    clock.add_talk(Role::Mentee, u64::MAX);
    let s = stats(&clock, 10_000);
    assert_eq!(s.mentee_talk_ms, 10_000, "capped at the call");
}

#[test]
fn a_later_room_carries_on_from_what_was_stored() {
    let stored = CallStats {
        session: id(),
        first_joined_at_ms: 100,
        together_since_ms: Some(200),
        last_left_at_ms: Some(9_000),
        together_ms: 5_000,
        mentor_talk_ms: 2_000,
        mentee_talk_ms: 1_000,
        updated_at_ms: 9_000,
    };
    let mut clock = CallClock::default();
    clock.restore(stored);
    assert_eq!(
        clock.stats(id(), at(9_500)),
        Some(CallStats {
            updated_at_ms: 9_500,
            ..stored
        })
    );
    clock.joined(at(20_000), Role::Mentee);
    clock.joined(at(21_000), Role::Mentor);
    let live = stats(&clock, 22_000);
    assert_eq!(
        live.last_left_at_ms,
        Some(9_000),
        "the last time it emptied"
    );
    assert_eq!(live.together_ms, 6_000);
    clock.left(at(31_000), Role::Mentor);
    clock.add_talk(Role::Mentor, 4_000);
    clock.left(at(32_000), Role::Mentee);
    clock.add_talk(Role::Mentee, 3_000);
    let s = stats(&clock, 33_000);
    assert_eq!(s.first_joined_at_ms, 100);
    assert_eq!(s.together_since_ms, Some(200));
    assert_eq!(s.together_ms, 15_000);
    assert_eq!(s.last_left_at_ms, Some(32_000));
    assert_eq!((s.mentor_talk_ms, s.mentee_talk_ms), (6_000, 4_000));
}
