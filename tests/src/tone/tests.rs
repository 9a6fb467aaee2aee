use super::*;

#[test]
fn tagged_packets_are_unique_and_decode_like_the_original() {
    let frames = opus_tone_frames().expect("tone");
    let mut decoder = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono).expect("decoder");
    let mut plain = vec![0i16; SAMPLES_PER_FRAME as usize];
    let mut tagged_pcm = plain.clone();
    let a = tag_opus_packet(&frames[3], 7, 1, 99).expect("tag");
    let b = tag_opus_packet(&frames[3], 7, 2, 99).expect("tag");
    assert_ne!(a, b);
    assert_eq!(&a[a.len() - 8..], &[0, 0, 0, 7, 0, 0, 0, 1]);
    assert_eq!(sent_us(&a), Some(99));
    assert_eq!(sent_us(&frames[3]), None, "an unstamped frame");
    let n = decoder
        .decode(&frames[3], &mut plain, false)
        .expect("decode plain");
    decoder.reset_state().expect("reset");
    let m = decoder
        .decode(&a, &mut tagged_pcm, false)
        .expect("decode tagged");
    assert_eq!(
        (n, m),
        (SAMPLES_PER_FRAME as usize, SAMPLES_PER_FRAME as usize)
    );
    assert_eq!(plain, tagged_pcm);
}

#[test]
fn levels_are_measured_as_rfc_6464_says() {
    assert_eq!(audio_level(&[]), SILENCE_LEVEL);
    assert_eq!(audio_level(&[0; 960]), SILENCE_LEVEL);
    assert_eq!(audio_level(&[i16::MIN; 960]), 0, "full scale");
    // A square wave at half scale: −6 dBov.
    let half: Vec<i16> = (0..960)
        .map(|i| if i % 2 == 0 { 16384 } else { -16384 })
        .collect();
    assert_eq!(audio_level(&half), 6);
}

#[test]
fn the_tone_and_silence_decode_to_their_levels() {
    let frames = opus_tone_frames().expect("tone");
    let mut levels = FrameLevels::new().expect("decoder");
    // The decoder settles after its first frame.
    let _ = levels.of(&frames[0]);
    for frame in frames.iter().skip(1).take(10) {
        let level = levels.of(frame);
        assert!(
            level.abs_diff(TONE_LEVEL) <= 1,
            "tone frame at -{level} dBov"
        );
    }
    let silence = opus_silence_frame().expect("silence");
    let mut levels = FrameLevels::new().expect("decoder");
    assert!(levels.of(&silence) >= 90, "silence is quiet");
}
