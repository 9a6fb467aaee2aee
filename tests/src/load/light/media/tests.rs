use super::*;

use crate::vp8::starts_keyframe;

const SENDING: Negotiated = Negotiated {
    payload_type: 111,
    audio_level_id: 1,
};

fn audio() -> AudioTrack {
    AudioTrack::new(7, tone::opus_tone_frames().expect("tone")).expect("track")
}

fn video() -> VideoTrack {
    VideoTrack::new(9, IvfClip::default_fixture().expect("clip")).expect("track")
}

#[test]
fn audio_sends_nothing_until_negotiated_and_keeps_the_clock_while_paused() {
    let mut a = audio();
    assert!(a.tick(Negotiated::default(), true, 1).is_none());
    let p0 = a.tick(SENDING, true, 2).expect("a packet");
    assert!(p0.header.marker, "the first packet starts a talk spurt");
    assert_eq!(p0.header.payload_type, 111);
    assert_eq!(p0.header.ssrc, 7);
    assert_eq!(
        tone::sent_us(&p0.payload),
        Some(2),
        "stamped with its send time"
    );
    let p1 = a.tick(SENDING, true, 3).expect("a packet");
    assert!(!p1.header.marker);
    assert_eq!(
        p1.header.sequence_number,
        p0.header.sequence_number.wrapping_add(1)
    );
    assert_eq!(
        p1.header.timestamp,
        p0.header.timestamp.wrapping_add(tone::SAMPLES_PER_FRAME)
    );
    assert_ne!(p0.payload, p1.payload, "every payload is unique");

    assert!(a.tick(SENDING, false, 4).is_none());
    assert!(a.tick(SENDING, false, 5).is_none());
    let p2 = a.tick(SENDING, true, 6).expect("a packet");
    assert!(p2.header.marker, "the first packet after a pause is marked");
    assert_eq!(
        p2.header.sequence_number,
        p1.header.sequence_number.wrapping_add(1),
        "no sequence numbers are skipped over a pause"
    );
    assert_eq!(
        p2.header.timestamp,
        p1.header
            .timestamp
            .wrapping_add(3 * tone::SAMPLES_PER_FRAME),
        "the timestamp went on through the pause"
    );
}

#[test]
fn tagging_a_padded_frame_is_what_the_webrtc_peers_send() {
    let frames = tone::opus_tone_frames().expect("tone");
    for (i, frame) in frames.iter().enumerate().take(5) {
        let padded = tone::tag_opus_packet(frame, 0, 0, 0).expect("padded");
        let (tag, counter, sent) = (0xdead_beef, i as u32 + 7, 123_456_789 + i as u64);
        assert_eq!(
            tag_padded(&padded, tag, counter, sent),
            tone::tag_opus_packet(frame, tag, counter, sent).expect("tagged")
        );
    }
}

#[test]
fn audio_carries_its_level_only_when_negotiated() {
    let mut a = audio();
    let with = a.tick(SENDING, true, 1).expect("a packet");
    let level = with.header.get_extension(1).expect("the audio level");
    assert_eq!(level[0] & 0x7f, tone::TONE_LEVEL);
    assert_eq!(
        level[0] & 0x80,
        0x80,
        "the tone is loud enough for the V bit"
    );
    let without = a
        .tick(
            Negotiated {
                payload_type: 111,
                audio_level_id: 0,
            },
            true,
            2,
        )
        .expect("a packet");
    assert!(!without.header.extension);
}

#[test]
fn video_frames_are_packetized_with_one_timestamp_and_a_final_marker() {
    let mut v = video();
    let neg = Negotiated {
        payload_type: 96,
        audio_level_id: 0,
    };
    let mut out = Vec::new();
    v.tick(Negotiated::default(), true, &mut out);
    assert!(out.is_empty(), "nothing before the answer");
    v.tick(neg, true, &mut out);
    assert!(!out.is_empty());
    assert!(
        starts_keyframe(&out[0].payload),
        "the first frame is a real VP8 key frame"
    );
    let ts = out[0].header.timestamp;
    let step = v.clip.rtp_ticks_per_frame();
    assert_eq!(
        ts,
        v.ts0.wrapping_add(step),
        "the tick before the answer counts too"
    );
    for (i, p) in out.iter().enumerate() {
        assert_eq!(p.header.timestamp, ts);
        assert_eq!(p.header.marker, i == out.len() - 1);
        assert!(p.payload.len() <= RTP_MTU - RTP_HEADER_LEN);
        assert_eq!(p.header.ssrc, 9);
        if i > 0 {
            assert_eq!(
                p.header.sequence_number,
                out[i - 1].header.sequence_number.wrapping_add(1)
            );
        }
    }
    out.clear();
    v.tick(neg, true, &mut out);
    assert_eq!(out[0].header.timestamp, ts.wrapping_add(step));
    assert!(!starts_keyframe(&out[0].payload), "then delta frames");
}

#[test]
fn video_resumes_and_answers_requests_with_a_key_frame() {
    let mut v = video();
    let neg = Negotiated {
        payload_type: 96,
        audio_level_id: 0,
    };
    let mut out = Vec::new();
    for _ in 0..3 {
        out.clear();
        v.tick(neg, true, &mut out);
    }
    assert!(!starts_keyframe(&out[0].payload));

    v.request_keyframe();
    out.clear();
    v.tick(neg, true, &mut out);
    assert!(starts_keyframe(&out[0].payload), "a request is answered");
    out.clear();
    v.tick(neg, true, &mut out);
    assert!(!starts_keyframe(&out[0].payload), "once");

    out.clear();
    v.tick(neg, false, &mut out);
    assert!(out.is_empty(), "a paused line sends nothing");
    v.tick(neg, true, &mut out);
    assert!(
        starts_keyframe(&out[0].payload),
        "resuming starts with a key frame"
    );
}
