//! Tests of `drain`.

use super::human_duration;

#[test]
fn durations_read_like_speech() {
    assert_eq!(human_duration(1), "1 second");
    assert_eq!(human_duration(20), "20 seconds");
    assert_eq!(human_duration(600), "10 minutes");
}
