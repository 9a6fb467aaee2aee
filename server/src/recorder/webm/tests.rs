use super::*;

/// Smallest VP8 keyframe header the size parser accepts: 320x240.
fn vp8_key() -> Vec<u8> {
    vec![
        0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 0, 0,
    ]
}

#[test]
fn ebml_numbers() {
    let mut b = Vec::new();
    put_size(&mut b, 0);
    put_size(&mut b, 126);
    put_size(&mut b, 127); // 0x7F would be "unknown" in one byte
    put_size(&mut b, 0x3FFF);
    assert_eq!(b, [0x80, 0xFE, 0x40, 0x7F, 0x20, 0x3F, 0xFF]);
    b.clear();
    put_uint(&mut b, TIMESTAMP, 0);
    put_uint(&mut b, 0x2A_D7B1, 1_000_000);
    assert_eq!(
        b,
        [0xE7, 0x81, 0x00, 0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40]
    );
}

#[test]
fn waits_for_keyframe_then_clusters() {
    let mut w = WebmWriter::with_track_uid(Vec::new(), VideoCodec::Vp8, 5);
    let delta = [0x51, 0, 0, 1, 2, 3];
    assert_eq!(
        w.write_frame(0, false, &delta).unwrap(),
        Written::WaitingForKeyframe
    );
    assert!(w.get_mut().is_empty());
    let base = u32::MAX - 6000; // the RTP timestamp wraps after one frame
    assert_eq!(
        w.write_frame(base, true, &vp8_key()).unwrap(),
        Written::Written
    );
    assert_eq!(w.size(), Some((320, 240)));
    let header_len = w.get_mut().len();
    for i in 1..=20u32 {
        let r = w
            .write_frame(base.wrapping_add(i * 6000), false, &delta)
            .unwrap();
        assert_eq!(r, Written::Written);
    }
    assert_eq!(w.write_frame(base, false, &delta).unwrap(), Written::Late);
    assert_eq!(w.write_frame(base, false, &[]).unwrap(), Written::Invalid);
    assert_eq!(w.duration(), std::time::Duration::from_micros(1_333_333));
    let data = w.into_inner();
    // clusters at 0 ms and at 1000 ms (frame 15); each an unknown size
    let clusters = data
        .windows(12)
        .filter(|win| win[..4] == [0x1F, 0x43, 0xB6, 0x75] && win[4..12] == UNKNOWN_SIZE)
        .count();
    assert_eq!(clusters, 2);
    assert_eq!(&data[..4], &[0x1A, 0x45, 0xDF, 0xA3]);
    assert!(header_len > 60);
}

#[test]
fn new_sources_restart_the_timeline() {
    let mut w = WebmWriter::with_track_uid(Vec::new(), VideoCodec::Vp8, 5);
    w.rebase(std::time::Duration::from_secs(9)); // before any frame: ignored
    w.write_frame(90_000_000, true, &vp8_key()).unwrap();
    assert_eq!(w.duration(), std::time::Duration::ZERO);
    // 20 s back: a new source, one nominal frame later
    assert_eq!(
        w.write_frame(0, true, &vp8_key()).unwrap(),
        Written::Written
    );
    assert_eq!(w.duration(), std::time::Duration::from_micros(33_333));
    w.rebase(std::time::Duration::from_millis(500));
    w.write_frame(12_345, true, &vp8_key()).unwrap();
    assert_eq!(w.duration(), std::time::Duration::from_micros(533_333));
    assert_eq!(w.discontinuities(), 2);
}

#[test]
fn timestamps_cannot_run_ahead_of_the_wall_clock() {
    use std::time::Duration;
    let mut w = WebmWriter::with_track_uid(Vec::new(), VideoCodec::Vp8, 5);
    let delta = [0x51, 0, 0, 1, 2, 3];
    let mut ahead = 0;
    for i in 0..60u32 {
        // 30 frames a second, each claiming to be 59 minutes later
        let ts = i.wrapping_mul(3599 * 90_000);
        let elapsed = Some(Duration::from_millis(33 * u64::from(i)));
        let frame: &[u8] = if i == 0 { &vp8_key() } else { &delta };
        let r = w.write_frame_timed(ts, i == 0, frame, elapsed).unwrap();
        ahead += usize::from(r == Written::Ahead);
    }
    // 2 s passed: the timeline is at most the 2 s slack ahead of it
    assert!(w.duration() <= Duration::from_secs(4), "{:?}", w.duration());
    assert!(w.frames() >= 30, "{} frames, {ahead} dropped", w.frames());
}
