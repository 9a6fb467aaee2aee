use super::*;

#[test]
fn slots_round_trip_through_track_ids() {
    for slot in Slot::ALL {
        assert_eq!(Slot::from_track_id(slot.track_id()), Some(slot));
    }
    assert_eq!(Slot::from_track_id("browser-track"), None);
}

#[test]
fn payload_types_map_by_codec() {
    let inbound = vec![
        (96, codec_key("video/VP8", "")),
        (98, codec_key("video/VP9", "profile-id=0")),
        (100, codec_key("video/VP9", "profile-id=2")),
    ];
    let outbound = vec![
        (120, codec_key("video/vp8", "")),
        (121, codec_key("video/VP9", "profile-id=0")),
    ];
    let map = PayloadMap::build(&inbound, &outbound);
    assert_eq!(map.map(96), Some(120));
    assert_eq!(map.map(98), Some(121));
    assert_eq!(map.map(100), None, "profile 2 was not negotiated outbound");
    assert_eq!(map.map(7), None);
}

#[test]
fn h264_matches_on_profile_and_mode_not_level() {
    let a = codec_key(
        "video/H264",
        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    );
    let b = codec_key("video/H264", "profile-level-id=42e034;packetization-mode=1");
    let c = codec_key("video/H264", "profile-level-id=640c1f;packetization-mode=1");
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn keyframe_requests_are_throttled() {
    let t0 = Instant::now();
    let mut throttle = KeyframeThrottle::default();
    assert!(throttle.allow(t0));
    assert!(!throttle.allow(t0 + Duration::from_millis(100)));
    assert!(!throttle.allow(t0 + Duration::from_millis(499)));
    assert!(throttle.allow(t0 + Duration::from_millis(500)));
    assert!(!throttle.allow(t0 + Duration::from_millis(900)));
    assert!(throttle.allow(t0 + Duration::from_millis(1000)));
}

#[test]
fn one_source_passes_through_unchanged() {
    let t = Instant::now();
    let mut c = StreamContinuity::default();
    for i in 0..5u16 {
        let seq = 65_533u16.wrapping_add(i);
        let ts = (u32::MAX - 10).wrapping_add(u32::from(i) * 3000);
        assert_eq!(c.rewrite(t, 7, seq, ts, 90_000), (seq, ts));
    }
}

#[test]
fn a_new_source_continues_where_the_old_one_stopped() {
    let t = Instant::now();
    let mut c = StreamContinuity::default();
    for seq in 1000..1010u16 {
        c.rewrite(t, 1, seq, u32::from(seq) * 3000, 90_000);
    }
    // 100 ms later a new source starts far behind (it would look replayed).
    let later = t + Duration::from_millis(100);
    let (seq, ts) = c.rewrite(later, 2, 40, 500, 90_000);
    assert_eq!(seq, 1010);
    assert_eq!(
        ts,
        1009 * 3000 + 9000,
        "100 ms at 90 kHz after the last packet"
    );
    assert_eq!(
        c.rewrite(later, 2, 41, 3500, 90_000),
        (1011, 1009 * 3000 + 12_000)
    );
}

#[test]
fn late_and_reordered_packets_keep_their_place() {
    let t = Instant::now();
    let mut c = StreamContinuity::default();
    c.rewrite(t, 1, 10, 0, 48_000);
    c.rewrite(t, 1, 12, 1920, 48_000);
    assert_eq!(
        c.rewrite(t, 1, 11, 960, 48_000),
        (11, 960),
        "a late packet keeps its number"
    );
    let (seq, _) = c.rewrite(t, 2, 5000, 0, 48_000);
    assert_eq!(
        seq, 13,
        "a switch continues after the highest, not the latest"
    );
}

#[test]
fn switching_back_to_an_earlier_source_still_moves_forward() {
    let t = Instant::now();
    let mut c = StreamContinuity::default();
    c.rewrite(t, 1, 100, 0, 90_000);
    c.rewrite(t, 2, 9, 0, 90_000);
    let (seq, _) = c.rewrite(t, 1, 101, 3000, 90_000);
    assert_eq!(seq, 102);
}

#[test]
fn the_forwarding_decision() {
    let t = Instant::now();
    let map = PayloadMap::build(
        &[(100, codec_key("video/VP8", ""))],
        &[(96, codec_key("video/VP8", ""))],
    );
    let mut continuity = StreamContinuity::default();
    let mut h = rtc::rtp::header::Header {
        ssrc: 7,
        payload_type: 100,
        sequence_number: 5,
        timestamp: 9000,
        ..Default::default()
    };
    fn leg<'a>(
        connected: bool,
        map: &'a PayloadMap,
        continuity: &'a mut StreamContinuity,
    ) -> Leg<'a> {
        Leg {
            connected,
            payload_map: map,
            continuity,
            ssrc: 42,
        }
    }
    assert_eq!(
        forward_header(
            t,
            Slot::Camera,
            &mut h.clone(),
            leg(false, &map, &mut continuity)
        ),
        Err(Skip::NotConnected)
    );
    let mut other_pt = rtc::rtp::header::Header {
        payload_type: 101,
        ..h.clone()
    };
    assert_eq!(
        forward_header(
            t,
            Slot::Camera,
            &mut other_pt,
            leg(true, &map, &mut continuity)
        ),
        Err(Skip::UnmappedPayloadType)
    );
    assert_eq!(
        forward_header(t, Slot::Camera, &mut h, leg(true, &map, &mut continuity)),
        Ok(())
    );
    assert_eq!((h.ssrc, h.payload_type, h.sequence_number), (42, 96, 5));
}

#[test]
fn rewrite_sets_ssrc_and_pt_and_strips_extensions() {
    let mut h = rtc::rtp::header::Header {
        ssrc: 1,
        payload_type: 96,
        extension: true,
        extension_profile: 0xBEDE,
        extensions: vec![rtc::rtp::header::Extension {
            id: 3,
            payload: bytes::Bytes::from_static(&[1, 2]),
        }],
        extensions_padding: 2,
        ..Default::default()
    };
    rewrite_header(&mut h, 42, 120);
    assert_eq!((h.ssrc, h.payload_type), (42, 120));
    assert!(!h.extension && h.extensions.is_empty() && h.extensions_padding == 0);
}

#[test]
fn after_a_pause_the_stream_carries_on_without_a_gap() {
    let t = Instant::now();
    let mut c = StreamContinuity::default();
    for seq in 100..110u16 {
        c.rewrite(t, 7, seq, u32::from(seq) * 3000, 90_000);
    }
    // 2 s held back (60 packets never sent), then the same source again.
    c.rebase();
    let later = t + Duration::from_secs(2);
    let (seq, ts) = c.rewrite(later, 7, 170, 170 * 3000, 90_000);
    assert_eq!(seq, 110, "no gap for the receiver to count as lost");
    assert_eq!(ts, 109 * 3000 + 180_000, "2 s at 90 kHz later");
    assert_eq!(
        c.rewrite(later, 7, 171, 171 * 3000, 90_000),
        (111, 109 * 3000 + 183_000)
    );
}

/// RED is forwarded as it came only where the Opus inside has the same
/// payload type on both legs; elsewhere the engine unwraps it to Opus.
#[test]
fn red_maps_only_to_red_with_the_same_payload_types_inside() {
    let chromium = vec![
        (111, codec_key("audio/opus", "minptime=10;useinbandfec=1")),
        (63, codec_key("audio/red", "111/111")),
    ];
    let same = PayloadMap::build(&chromium, &chromium);
    assert_eq!(same.map(63), Some(63));
    assert_eq!(same.map(111), Some(111));

    let other = vec![
        (109, codec_key("audio/opus", "")),
        (120, codec_key("audio/red", "109/109")),
    ];
    let map = PayloadMap::build(&chromium, &other);
    assert_eq!(map.map(63), None, "RED with other payload types inside");
    assert_eq!(map.map(111), Some(109), "its Opus still maps");

    let opus_only = vec![(111, codec_key("audio/opus", ""))];
    assert_eq!(PayloadMap::build(&chromium, &opus_only).map(63), None);
}
