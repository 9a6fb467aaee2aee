use bytes::Bytes;
use rtc::rtp::header::Header;
use rtc::shared::marshal::{Marshal, Unmarshal};

use super::*;

const ID: u8 = 1;
const SSRC: u32 = 0x1234_5678;
/// A 20 ms Opus packet's timestamp step.
const FRAME: u32 = 960;

/// The fixed 12-byte RTP header of an Opus packet with the X bit set.
fn fixed(ts: u32) -> Vec<u8> {
    let mut b = vec![0x90, 111, 0x00, 0x01];
    b.extend_from_slice(&ts.to_be_bytes());
    b.extend_from_slice(&SSRC.to_be_bytes());
    b
}

/// A header parsed by rtc from the one-byte form (RFC 8285 §4.2): the
/// extension `id` with one byte `value` (len field 0 = one byte), padded.
fn one_byte_form(id: u8, value: u8) -> Header {
    let mut b = fixed(0);
    b.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x01, id << 4, value, 0, 0]);
    Header::unmarshal(&mut &b[..]).expect("one-byte form parses")
}

/// The two-byte form (RFC 8285 §4.3): id, length 1, the byte, padding.
fn two_byte_form(id: u8, value: u8) -> Header {
    let mut b = fixed(0);
    b.extend_from_slice(&[0x10, 0x00, 0x00, 0x01, id, 1, value, 0]);
    Header::unmarshal(&mut &b[..]).expect("two-byte form parses")
}

fn packet(ts: u32, level: Option<(bool, u8)>) -> Header {
    let mut h = Header {
        version: 2,
        payload_type: 111,
        timestamp: ts,
        ssrc: SSRC,
        ..Default::default()
    };
    if let Some((voice, level)) = level {
        let byte = if voice { 0x80 | level } else { level };
        h.set_extension(ID, Bytes::copy_from_slice(&[byte]))
            .expect("extension set");
    }
    h
}

fn meter() -> TalkMeter {
    let mut m = TalkMeter::default();
    m.set_extension_id(ID);
    m
}

/// Feeds packets and counts each as delivered; returns the talk in ms.
fn talk(m: &mut TalkMeter, packets: &[Header]) -> u64 {
    for p in packets {
        let ticks = m.observe(p);
        m.count(ticks);
    }
    m.talk_ms()
}

#[test]
fn the_one_byte_form_is_read() {
    let h = one_byte_form(3, 0x80 | 30);
    assert_eq!(
        audio_level(&h, 3),
        Some(AudioLevel {
            voice: true,
            level: 30
        })
    );
    assert_eq!(audio_level(&h, 4), None, "another id");
}

#[test]
fn the_two_byte_form_is_read() {
    let h = two_byte_form(200, 90);
    assert_eq!(
        audio_level(&h, 200),
        Some(AudioLevel {
            voice: false,
            level: 90
        })
    );
}

#[test]
fn what_a_sender_marshals_reads_back() {
    let h = packet(0, Some((true, 12)));
    let bytes = h.marshal().expect("marshal");
    let parsed = Header::unmarshal(&mut &bytes[..]).expect("parse");
    assert_eq!(
        audio_level(&parsed, ID),
        Some(AudioLevel {
            voice: true,
            level: 12
        })
    );
}

#[test]
fn no_level_without_a_negotiated_id_a_known_profile_or_a_payload() {
    let h = one_byte_form(ID, 0x80 | 10);
    assert_eq!(audio_level(&h, 0), None, "id 0: not negotiated");
    assert_eq!(audio_level(&packet(0, None), ID), None, "no extension");
    // An RFC 3550 extension block (another profile) holds no ids.
    let mut b = fixed(0);
    b.extend_from_slice(&[0x12, 0x34, 0x00, 0x01, 0x81, 0, 0, 0]);
    let rfc3550 = Header::unmarshal(&mut &b[..]).expect("parses");
    assert_eq!(audio_level(&rfc3550, 0), None);
    assert_eq!(audio_level(&rfc3550, ID), None);
    // The two-byte form allows an empty extension.
    let mut b = fixed(0);
    b.extend_from_slice(&[0x10, 0x00, 0x00, 0x01, ID, 0, 0, 0]);
    let empty = Header::unmarshal(&mut &b[..]).expect("parses");
    assert_eq!(audio_level(&empty, ID), None);
}

#[test]
fn the_v_bit_decides_for_a_sender_that_sets_it() {
    let loud_no_voice = AudioLevel {
        voice: false,
        level: 10,
    };
    let quiet_voice = AudioLevel {
        voice: true,
        level: 60,
    };
    assert!(!is_voiced(loud_no_voice, true), "music, a fan: not talk");
    assert!(is_voiced(quiet_voice, true), "a soft voice is talk");
}

#[test]
fn the_level_decides_for_a_sender_that_never_sets_the_v_bit() {
    let at = |level| AudioLevel {
        voice: false,
        level,
    };
    assert!(is_voiced(at(20), false));
    assert!(is_voiced(at(VOICED_LEVEL), false), "the threshold counts");
    assert!(!is_voiced(at(VOICED_LEVEL + 1), false));
    assert!(!is_voiced(at(127), false));
}

#[test]
fn digital_silence_is_never_talk() {
    let silent = AudioLevel {
        voice: true,
        level: 127,
    };
    assert!(!is_voiced(silent, true));
    assert!(!is_voiced(silent, false));
}

#[test]
fn steps_are_capped_and_wrap() {
    assert_eq!(step(1000, 1000 + FRAME), TimestampStep::Ahead(FRAME));
    assert_eq!(
        step(u32::MAX - 99, 860),
        TimestampStep::Ahead(FRAME),
        "wraps"
    );
    assert_eq!(
        step(0, 48_000),
        TimestampStep::Ahead(MAX_PACKET_TICKS),
        "a gap"
    );
    assert_eq!(
        step(0, u32::MAX / 2),
        TimestampStep::Ahead(MAX_PACKET_TICKS)
    );
    assert_eq!(step(5000, 5000), TimestampStep::Behind, "a repeat");
    assert_eq!(step(5000, 5000 - FRAME), TimestampStep::Behind, "reordered");
    assert_eq!(
        step(10, u32::MAX - 100),
        TimestampStep::Behind,
        "reordered, wrapped"
    );
    assert_eq!(step(10_000_000, 5_000), TimestampStep::Restart);
}

#[test]
fn voiced_packets_count_their_duration() {
    let mut m = meter();
    let packets: Vec<Header> = (0..51)
        .map(|i| packet(i * FRAME, Some((true, 20))))
        .collect();
    // The first packet's duration is unknown; the next 50 are one second.
    assert_eq!(talk(&mut m, &packets), 1000);
}

#[test]
fn silent_packets_count_nothing() {
    let mut m = meter();
    let packets: Vec<Header> = (0..50)
        .map(|i| packet(i * FRAME, Some((false, 127))))
        .collect();
    assert_eq!(talk(&mut m, &packets), 0);
}

#[test]
fn a_level_only_sender_is_judged_by_level() {
    let mut m = meter();
    let mut packets: Vec<Header> = (0..11)
        .map(|i| packet(i * FRAME, Some((false, 25))))
        .collect();
    packets.extend((11..21).map(|i| packet(i * FRAME, Some((false, 70)))));
    assert_eq!(talk(&mut m, &packets), 200, "ten loud 20 ms packets");
}

#[test]
fn once_a_sender_sets_the_v_bit_its_bit_decides() {
    let mut m = meter();
    let packets = [
        packet(0, Some((true, 20))),
        packet(FRAME, Some((true, 20))),
        // Loud, but its voice detector says no: music, not talk.
        packet(2 * FRAME, Some((false, 10))),
    ];
    assert_eq!(talk(&mut m, &packets), 20);
}

#[test]
fn a_gap_counts_at_most_the_cap() {
    let mut m = meter();
    let packets = [
        packet(0, Some((true, 20))),
        // Five seconds without packets (DTX, a mute), then speech.
        packet(5 * 48_000, Some((true, 20))),
    ];
    assert_eq!(talk(&mut m, &packets), 120);
}

#[test]
fn a_runaway_clock_counts_at_most_the_cap_per_packet() {
    let mut m = meter();
    let hour = 3600 * 48_000u32;
    let packets: Vec<Header> = (0..10)
        .map(|i| packet(i * hour, Some((true, 20))))
        .collect();
    assert_eq!(talk(&mut m, &packets), 9 * 120);
}

#[test]
fn the_timestamp_wrap_is_counted_across() {
    let mut m = meter();
    let start = u32::MAX - 2 * FRAME + 1;
    let packets: Vec<Header> = (0..5)
        .map(|i| packet(start.wrapping_add(i * FRAME), Some((true, 20))))
        .collect();
    assert_eq!(talk(&mut m, &packets), 80);
}

#[test]
fn repeats_and_reordered_packets_add_nothing() {
    let mut m = meter();
    let packets = [
        packet(0, Some((true, 20))),
        packet(2 * FRAME, Some((true, 20))),
        packet(FRAME, Some((true, 20))),
        packet(2 * FRAME, Some((true, 20))),
        packet(3 * FRAME, Some((true, 20))),
    ];
    assert_eq!(talk(&mut m, &packets), 60);
}

#[test]
fn a_restarted_clock_starts_over() {
    let mut m = meter();
    let packets = [
        packet(10_000_000, Some((true, 20))),
        packet(10_000_000 + FRAME, Some((true, 20))),
        packet(500, Some((true, 20))),
        packet(500 + FRAME, Some((true, 20))),
    ];
    assert_eq!(talk(&mut m, &packets), 40);
}

#[test]
fn a_new_source_starts_a_new_stream() {
    let mut m = meter();
    let mut other = packet(7 * FRAME, Some((true, 20)));
    other.ssrc = SSRC ^ 1;
    let packets = [
        packet(0, Some((true, 20))),
        packet(FRAME, Some((true, 20))),
        other,
        packet(2 * FRAME, Some((true, 20))),
    ];
    // The new source's first packet has no duration, nor has the first
    // source's packet after it: each change of source starts afresh.
    assert_eq!(talk(&mut m, &packets), 20);
}

#[test]
fn without_the_extension_nothing_counts() {
    let mut m = TalkMeter::default();
    let packets: Vec<Header> = (0..10)
        .map(|i| packet(i * FRAME, Some((true, 20))))
        .collect();
    assert_eq!(talk(&mut m, &packets), 0, "not negotiated: id 0");
    let mut m = meter();
    let bare: Vec<Header> = (0..10).map(|i| packet(i * FRAME, None)).collect();
    assert_eq!(talk(&mut m, &bare), 0, "negotiated, not sent");
}

#[test]
fn only_delivered_packets_count() {
    let mut m = meter();
    let _ = m.observe(&packet(0, Some((true, 20))));
    let ticks = m.observe(&packet(FRAME, Some((true, 20))));
    assert_eq!(ticks, FRAME);
    assert_eq!(m.talk_ms(), 0, "observed, not yet delivered");
    m.count(ticks);
    assert_eq!(m.talk_ms(), 20);
}

#[test]
fn talk_carries_over_to_a_new_connection_but_the_stream_does_not() {
    let mut m = meter();
    let packets: Vec<Header> = (0..6)
        .map(|i| packet(i * FRAME, Some((true, 20))))
        .collect();
    assert_eq!(talk(&mut m, &packets), 100);
    let mut next = TalkMeter::carried_from(&m);
    assert_eq!(next.talk_ms(), 100);
    next.set_extension_id(ID);
    let later = [packet(9 * FRAME, Some((true, 20)))];
    assert_eq!(talk(&mut next, &later), 100, "a first packet again");
}
