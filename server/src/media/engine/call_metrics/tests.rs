//! Tests of `call_metrics`.

use super::*;

#[test]
fn round_trip_from_lsr_and_dlsr() {
    // Report sent at 100.0 s, held 0.5 s by the receiver, back at 100.75 s.
    let lsr = 100 << 16;
    let dlsr = 1 << 15;
    let now = (100 << 16) + (3 << 14);
    assert_eq!(round_trip_s(now, lsr, dlsr), Some(0.25));
    assert_eq!(round_trip_s(now, 0, dlsr), None, "no sender report yet");
    assert_eq!(round_trip_s(lsr, lsr, dlsr), None, "negative is no sample");
}

#[test]
fn ntp_time_of_the_unix_epoch() {
    let t = UNIX_EPOCH + std::time::Duration::from_millis(1500);
    // 2208988801.5 s: seconds' low 16 bits, then half of 65536.
    assert_eq!(ntp_middle_32(t), ((2_208_988_801u64 << 16) as u32) | 0x8000);
}
