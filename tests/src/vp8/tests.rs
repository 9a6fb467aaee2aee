use super::*;

#[test]
fn payloads_carry_the_frame_and_mark_key_frames() {
    let mut p = Vp8Packetizer::default();
    let first = p.next_picture_id();
    let frame: Vec<u8> = (0..2500u32).map(|i| (i % 251) as u8 & 0xfe).collect(); // bit 0 clear: key frame
    let payloads = p.payload(&frame, 1000);
    assert_eq!(payloads.len(), 3);
    assert!(starts_keyframe(&payloads[0]));
    assert!(!starts_keyframe(&payloads[1]));
    let body: Vec<u8> = payloads
        .iter()
        .flat_map(|b| b[DESCRIPTOR_LEN..].to_vec())
        .collect();
    assert_eq!(body, frame);
    assert_eq!(
        u16::from_be_bytes([payloads[0][2], payloads[0][3]]),
        0x8000 | first
    );
    assert_eq!(p.next_picture_id(), (first + 1) & 0x7fff);
    assert!(Vp8Packetizer::default().next_picture_id() != first);
}
