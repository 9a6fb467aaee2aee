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
