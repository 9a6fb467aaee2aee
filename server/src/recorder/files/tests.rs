use super::*;

#[test]
fn names_are_plain() {
    assert_eq!(
        track_file(Role::Mentee, TrackKind::Screen, "webm"),
        "mentee-screen.webm"
    );
    assert_eq!(transcript_file(Role::Mentor), "mentor.wav");
    for ok in ["mentor-audio.ogg", "manifest.json"] {
        assert!(is_plain_name(ok));
    }
    for bad in [
        "",
        "../x",
        "a/b",
        ".hidden",
        "a\\b",
        "x y",
        &"a".repeat(100),
    ] {
        assert!(!is_plain_name(bad), "{bad}");
    }
}
