use super::*;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;

#[test]
fn the_same_interceptors_as_rtcs_defaults() {
    let mut ours = MediaEngine::default();
    let mut theirs = MediaEngine::default();
    let a = register_interceptors(Registry::new(), &mut ours).expect("ours");
    let b = register_default_interceptors(Registry::new(), &mut theirs).expect("defaults");
    // The same slots; in the NACK responder's, Duet's own (a second of
    // history instead of a count: `media::nack_history`), and the NACK
    // generator woken only after gaps (`media::nack_timer`).
    let expected: Vec<_> = b
        .slots()
        .into_iter()
        .map(|(slot, name)| match name.as_str() {
            "NackResponderInterceptor" => (slot, "TimedNackResponder".to_owned()),
            "NackGeneratorInterceptor" => (slot, "QuietNackGenerator".to_owned()),
            _ => (slot, name),
        })
        .collect();
    assert_eq!(a.slots(), expected);
}

/// The server's side of talk time: without the extension in the answer a
/// browser sends no levels and nobody ever talks.
#[test]
fn the_answer_accepts_the_audio_level_extension_on_audio() {
    let advertise = SocketAddr::from(([127, 0, 0, 1], 40_000));
    let offer = crate::media::tests_fuzz::CHROMIUM_OFFER.to_owned();
    let mut built = build(Instant::now(), offer, advertise, None, 0).expect("answer");
    let sections: Vec<&str> = built.answer_sdp.split("\r\nm=").skip(1).collect();
    assert_eq!(sections.len(), 3, "audio, camera, screen");
    assert!(sections[0].starts_with("audio"));
    assert!(
        sections[0].contains(&format!("a=extmap:1 {AUDIO_LEVEL_URI}")),
        "the offer's id, on audio:\n{}",
        built.answer_sdp
    );
    for video in &sections[1..] {
        assert!(!video.contains(AUDIO_LEVEL_URI), "not on video");
    }

    // And the engine finds the id on the audio receiver only.
    let ids: Vec<_> = built.pc.get_transceivers().collect();
    let mut found = Vec::new();
    for id in ids {
        let receiver = built.pc.rtp_transceiver(id).and_then(|t| t.receiver());
        if let Some(receiver) = receiver {
            found.push(audio_level_id(&mut built.pc, receiver));
        }
    }
    assert_eq!(found, vec![1, 0, 0]);
}

/// Chromium offers Opus and, after it, RED with Opus inside: the answer
/// puts RED first, so the browser sends every frame twice (`media::red`),
/// and keeps plain Opus for a sender that cannot.
#[test]
fn the_answer_prefers_redundant_audio_when_offered() {
    let advertise = SocketAddr::from(([127, 0, 0, 1], 40_000));
    let offer = crate::media::tests_fuzz::CHROMIUM_OFFER.to_owned();
    assert!(
        offer.contains("a=rtpmap:63 red/48000/2"),
        "the fixture offers RED"
    );
    let built = build(Instant::now(), offer, advertise, None, 0).expect("answer");
    let audio = built
        .answer_sdp
        .split("\r\nm=")
        .nth(1)
        .expect("an audio section");
    let formats: Vec<&str> = audio
        .lines()
        .next()
        .expect("m-line")
        .split_whitespace()
        .skip(3)
        .collect();
    assert_eq!(formats.first(), Some(&"63"), "RED first: {audio}");
    assert!(formats.contains(&"111"), "Opus too: {audio}");
    assert!(audio.contains("a=fmtp:63 111/111"), "{audio}");
}

/// An offer without RED (webrtc-rs, Firefox) gets plain Opus.
#[test]
fn without_red_in_the_offer_the_answer_has_opus_alone() {
    let advertise = SocketAddr::from(([127, 0, 0, 1], 40_000));
    let offer = crate::media::tests_fuzz::CHROMIUM_OFFER
        .replace(" 111 63 ", " 111 ")
        .replace("a=rtpmap:63 red/48000/2\r\n", "")
        .replace("a=fmtp:63 111/111\r\n", "");
    assert!(!offer.contains("red/48000"));
    let built = build(Instant::now(), offer, advertise, None, 0).expect("answer");
    let audio = built.answer_sdp.split("\r\nm=").nth(1).expect("audio");
    assert!(
        audio.starts_with("audio 9 UDP/TLS/RTP/SAVPF 111"),
        "{audio}"
    );
    assert!(!audio.contains("red/"), "{audio}");
}
