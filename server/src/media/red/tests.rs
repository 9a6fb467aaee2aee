use super::*;

/// A redundant block's header: F=1, payload type, timestamp offset, length.
fn redundant_header(pt: u8, ts_offset: u16, len: u16) -> [u8; 4] {
    let word = (1u32 << 31)
        | (u32::from(pt & 0x7f) << 24)
        | (u32::from(ts_offset & 0x3fff) << 10)
        | u32::from(len & 0x3ff);
    word.to_be_bytes()
}

#[test]
fn a_primary_alone_follows_its_one_byte_header() {
    let payload = [111, 0xaa, 0xbb];
    assert_eq!(
        primary(&payload),
        Some(Primary {
            offset: 1,
            payload_type: 111
        })
    );
}

#[test]
fn the_primary_comes_after_every_redundant_block() {
    let mut payload = Vec::new();
    payload.extend(redundant_header(111, 1920, 3));
    payload.extend(redundant_header(111, 960, 2));
    payload.push(111);
    payload.extend([1, 1, 1, 2, 2, 9, 9, 9, 9]);
    let p = primary(&payload).expect("parses");
    assert_eq!(p.payload_type, 111);
    assert_eq!(&payload[p.offset..], &[9, 9, 9, 9]);
}

#[test]
fn an_empty_primary_is_still_a_primary() {
    let mut payload = Vec::new();
    payload.extend(redundant_header(111, 960, 2));
    payload.push(111);
    payload.extend([5, 5]);
    let p = primary(&payload).expect("parses");
    assert_eq!(p.offset, payload.len());
}

#[test]
fn cut_short_or_overlong_payloads_are_refused() {
    assert_eq!(primary(&[]), None, "no header");
    assert_eq!(
        primary(&[0x80 | 111, 0, 0]),
        None,
        "a redundant header cut short"
    );
    let mut only_redundant = Vec::new();
    only_redundant.extend(redundant_header(111, 960, 0));
    assert_eq!(primary(&only_redundant), None, "no primary header");
    let mut overlong = Vec::new();
    overlong.extend(redundant_header(111, 960, 1000));
    overlong.push(111);
    overlong.extend([1, 2, 3]);
    assert_eq!(primary(&overlong), None, "a block longer than the packet");
}

#[test]
fn any_bytes_parse_without_panicking() {
    // Every 1- to 3-byte input, and longer ones built from a few patterns.
    for a in 0..=255u8 {
        let _ = primary(&[a]);
        for b in [0u8, 1, 0x7f, 0x80, 0xff] {
            let _ = primary(&[a, b]);
            let _ = primary(&[a, b, a]);
            let _ = primary(&[a, b, 0xff, 0xff, a, b, 0xff, 0xff, b]);
        }
    }
}

#[test]
fn unwrapping_slices_the_same_buffer() {
    let mut payload = Vec::new();
    payload.extend(redundant_header(111, 960, 2));
    payload.push(111);
    payload.extend([5, 5, 7, 8]);
    let payload = bytes::Bytes::from(payload);
    let (pt, primary) = unwrap(&payload).expect("unwraps");
    assert_eq!(pt, 111);
    assert_eq!(&primary[..], &[7, 8]);
    assert_eq!(
        primary.as_ptr(),
        payload[payload.len() - 2..].as_ptr(),
        "a view, not a copy"
    );
}

#[test]
fn red_is_known_by_its_codec_key() {
    assert!(is_red("audio/red"));
    assert!(is_red("audio/RED;111/111"));
    assert!(!is_red("audio/opus"));
    assert!(!is_red("audio/re"));
}
