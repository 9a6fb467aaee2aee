use super::*;

#[test]
fn stamps_round_trip() {
    let s = stamp(123_456_789);
    assert_eq!(read_stamp(&s), Some(123_456_789));
    assert_eq!(read_stamp(&s[..11]), None);
    assert_eq!(read_stamp(&[0u8; 12]), None);
    let a = now_us();
    assert!(now_us() >= a);
}
