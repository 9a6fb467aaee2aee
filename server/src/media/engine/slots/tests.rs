use super::*;

fn audio_packet(pt: u8, payload: &'static [u8]) -> rtc::rtp::Packet {
    rtc::rtp::Packet {
        header: rtc::rtp::header::Header {
            payload_type: pt,
            sequence_number: 7,
            timestamp: 960,
            ..Default::default()
        },
        payload: bytes::Bytes::from_static(payload),
    }
}

fn codecs() -> Vec<(u8, TrackCodec)> {
    vec![(111, TrackCodec::Opus)]
}

#[test]
fn redundant_audio_is_recorded_as_its_primary_opus_frame() {
    // One redundant block of 2 bytes, then the primary (Opus, 111).
    const RED: &[u8] = &[0x80 | 111, 0x03, 0xc0, 0x02, 111, 5, 5, 7, 8, 9];
    let rec = recorded(
        Role::Mentor,
        Slot::Audio,
        &codecs(),
        Some(63),
        &audio_packet(63, RED),
        Instant::now(),
    );
    assert_eq!(rec.codec, TrackCodec::Opus);
    assert_eq!(&rec.payload[..], &[7, 8, 9]);
    assert_eq!((rec.seq, rec.timestamp), (7, 960));
}

#[test]
fn plain_opus_and_broken_red_are_told_apart() {
    let plain = recorded(
        Role::Mentee,
        Slot::Audio,
        &codecs(),
        Some(63),
        &audio_packet(111, &[1, 2, 3]),
        Instant::now(),
    );
    assert_eq!(plain.codec, TrackCodec::Opus);
    assert_eq!(&plain.payload[..], &[1, 2, 3]);

    // A redundant header cut short: not recorded as anything.
    let broken = recorded(
        Role::Mentee,
        Slot::Audio,
        &codecs(),
        Some(63),
        &audio_packet(63, &[0x80 | 111, 0x03]),
        Instant::now(),
    );
    assert_eq!(broken.codec, TrackCodec::Other);
}
