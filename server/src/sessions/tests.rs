use super::*;

fn call(together_ms: i64, last_left_at_ms: Option<i64>) -> CallStats {
    CallStats {
        session: SessionId(uuid::Uuid::from_u128(1)),
        first_joined_at_ms: 1_764_900_000_999,
        together_since_ms: Some(1_764_900_010_000),
        last_left_at_ms,
        together_ms,
        mentor_talk_ms: 1_500,
        mentee_talk_ms: 1_499,
        updated_at_ms: 0,
    }
}

#[test]
fn a_call_is_shown_in_whole_seconds_rounded() {
    assert_eq!(
        call_view(&call(61_499, Some(1_764_900_071_500))),
        json!({
            "duration_s": 61,
            "first_joined_at": "2025-12-05T02:00:00Z",
            "last_left_at": "2025-12-05T02:01:11Z",
            "talk_s": {"mentor": 2, "mentee": 1},
        })
    );
}

#[test]
fn a_call_going_on_has_no_last_leave() {
    let shown = call_view(&call(500, None));
    assert_eq!(shown["duration_s"], 1);
    assert!(shown["last_left_at"].is_null());
}
