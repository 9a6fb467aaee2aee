use super::*;

#[test]
fn per_packet_warnings_are_quiet_unless_asked_for() {
    let quiet = log_filter("warn").to_string();
    assert!(
        quiet.contains("rtc::peer_connection::handler=error"),
        "{quiet}"
    );
    let asked = log_filter("info,rtc::peer_connection::handler=debug").to_string();
    assert!(!asked.contains("handler=error"), "{asked}");
}
