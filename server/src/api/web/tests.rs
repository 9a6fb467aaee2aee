use super::is_safe;

#[test]
fn only_plain_relative_paths_are_served() {
    for ok in ["app.js", "css/call.css", "icons/mic.svg"] {
        assert!(is_safe(ok), "{ok}");
    }
    for bad in [
        "",
        "../secret.key",
        "a/../../b",
        "/etc/passwd",
        "a\\b",
        "./x/../../y",
    ] {
        assert!(!is_safe(bad), "{bad}");
    }
}
