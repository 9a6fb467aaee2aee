use super::*;

#[test]
fn a_line_is_trimmed_and_bounded() {
    assert_eq!(
        line("title", "  Grow as a lead ", 200).unwrap(),
        "Grow as a lead"
    );
    assert_eq!(line("title", "   ", 200).unwrap_err().field, "title");
    assert!(line("title", &"x".repeat(201), 200).is_err());
    assert!(line("title", &"é".repeat(200), 200).is_ok());
    assert!(line("title", "two\nlines", 200).is_err());
}

#[test]
fn text_keeps_line_breaks_and_refuses_other_controls() {
    assert_eq!(text("text", "a\r\nb\tc", 100, false).unwrap(), "a\nb\tc");
    assert!(text("text", "nul\0", 100, false).is_err());
    assert!(text("text", "", 100, false).is_err());
    assert_eq!(text("goal", "  ", 100, true).unwrap(), "");
    let err = text(
        "text",
        &"x".repeat(MAX_NOTE_CHARS + 1),
        MAX_NOTE_CHARS,
        false,
    )
    .unwrap_err();
    assert_eq!(err.field, "text");
    assert!(err.message.contains("20000"), "{}", err.message);
}

#[test]
fn emails_that_would_break_an_invite_are_refused() {
    assert_eq!(
        email("email", " grace@example.org ").unwrap(),
        "grace@example.org"
    );
    for bad in [
        "",
        "grace",
        "@example.org",
        "grace@",
        "grace@localhost",
        "gr ace@example.org",
        "grace@example.org;x",
        "a@b@example.org",
        "grace@example.org\r\nATTENDEE:x",
        "grace@.org",
    ] {
        assert!(email("email", bad).is_err(), "{bad:?}");
    }
}

#[test]
fn due_dates_are_calendar_days() {
    assert_eq!(due_date("due", "2027-01-31").unwrap(), "2027-01-31");
    for bad in [
        "2027-02-30",
        "31/01/2027",
        "tomorrow",
        "",
        "1999-12-31",
        "2027-01-31T10:00",
    ] {
        assert!(due_date("due", bad).is_err(), "{bad:?}");
    }
}
