use super::*;
use crate::pairs::access::Visibility;

/// 2027-01-04 09:00 UTC, a Monday.
const T0: i64 = 1_799_053_200_000;

fn sample() -> Export {
    Export {
        exported_at_ms: T0,
        you: Role::Mentee,
        time_zone: "America/New_York".into(),
        title: "Growing into a lead".into(),
        goal: "Run a team of four by summer".into(),
        mentor: "Grace".into(),
        mentee: "Alan".into(),
        agreement: ExportAgreement {
            text: "We record nothing.".into(),
            version: 2,
            confirmed_by_mentor: true,
            confirmed_by_mentee: false,
        },
        sessions: vec![ExportSession {
            starts_at_ms: T0,
            duration_min: 45,
            time_zone: "Europe/Berlin".into(),
            recurrence: Some("weekly".into()),
            cancelled: false,
        }],
        calls: vec![ExportCall {
            session_id: "s1".into(),
            at_ms: T0,
            duration_s: Some(61),
        }],
        agenda: vec![ExportItem {
            text: "Feedback on the talk".into(),
            done: true,
            added_by: Role::Mentee,
        }],
        actions: vec![ExportAction {
            text: "Read the book".into(),
            owner: Role::Mentee,
            due: Some("2027-01-11".into()),
            done: false,
        }],
        notes: vec![ExportNote {
            session_id: Some("s1".into()),
            author: Role::Mentee,
            visibility: Visibility::Private,
            at_ms: T0,
            text: "Ask about\nthe budget".into(),
        }],
        moments: vec![ExportMoment {
            session_id: "s1".into(),
            recording_id: Some("r1".into()),
            at_s: 754.2,
            kind: crate::reflection::moments::MomentKind::Bookmark,
            author: Role::Mentee,
            visibility: Visibility::Shared,
            made_at_ms: T0,
            text: "the budget\nquestion".into(),
        }],
        messages: vec![ExportMessage {
            author: Role::Mentor,
            at_ms: T0,
            text: "How did it go?".into(),
        }],
    }
}

#[test]
fn markdown_has_every_part_in_the_readers_zone() {
    let md = sample().markdown();
    assert!(md.starts_with("# Growing into a lead\n"), "{md}");
    // 09:00 UTC is 04:00 in New York in January.
    assert!(md.contains("Mon 2027-01-04 04:00"), "{md}");
    for part in [
        "## Agreement (version 2; confirmed by the mentor: yes, by the mentee: no)",
        "We record nothing.",
        "(45 min, weekly, Europe/Berlin)",
        "— 2 min",
        "- [x] Feedback on the talk",
        "- [ ] Read the book (Alan, due 2027-01-11)",
        "— Alan (private)",
        "Ask about\nthe budget",
        "**Grace**, Mon 2027-01-04 04:00:",
        "- Bookmark at 12:34 of the recording (call of Mon 2027-01-04 04:00) — Alan (shared): the budget question",
    ] {
        assert!(md.contains(part), "missing {part:?} in\n{md}");
    }
}

#[test]
fn a_title_with_line_breaks_cannot_forge_a_heading() {
    let mut e = sample();
    e.title = "x\n## Notes\nforged".into();
    let md = e.markdown();
    assert_eq!(md.lines().filter(|l| *l == "## Notes").count(), 1, "{md}");
}

#[test]
fn json_names_the_fields() {
    let v = serde_json::to_value(sample()).unwrap();
    assert_eq!(v["you"], "mentee");
    assert_eq!(v["notes"][0]["visibility"], "private");
    assert_eq!(v["actions"][0]["due"], "2027-01-11");
}
