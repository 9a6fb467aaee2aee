//! Property tests of the media plane's parsers: the STUN USERNAME reader
//! and router (`demux`), the RFC 4571 frame splitter (`tcp`), and SDP
//! handling (`peer::build`, `peer::renegotiate`) fed a Chromium offer
//! mutated line by line and byte by byte. Nothing may panic, and what comes
//! out stays bounded by what went in. The live datagram path is in
//! `engine/tests_fuzz.rs`; the case counts follow `crate::tests_fuzz`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::{BufMut, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;

use super::{demux, peer, tcp};
use crate::tests_fuzz::config;

/// An offer as Chromium sends it to Duet: audio, camera, screen, all
/// sendrecv, bundled, with its usual codecs, extensions and a candidate.
pub(crate) const CHROMIUM_OFFER: &str = "v=0\r
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1 2\r
a=extmap-allow-mixed\r
a=msid-semantic: WMS stream\r
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=candidate:1467250027 1 udp 2122260223 127.0.0.1 46243 typ host generation 0 network-id 1\r
a=ice-ufrag:vA8n\r
a=ice-pwd:Ez3kTeHTu6nG6SFVu1Ne8m9d\r
a=ice-options:trickle\r
a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r
a=setup:actpass\r
a=mid:0\r
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=sendrecv\r
a=msid:stream audio-track\r
a=rtcp-mux\r
a=rtpmap:111 opus/48000/2\r
a=rtcp-fb:111 transport-cc\r
a=fmtp:111 minptime=10;useinbandfec=1\r
a=rtpmap:63 red/48000/2\r
a=fmtp:63 111/111\r
a=rtpmap:9 G722/8000\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:13 CN/8000\r
a=rtpmap:110 telephone-event/48000\r
a=rtpmap:126 telephone-event/8000\r
a=ssrc:1001 cname:duetcname\r
a=ssrc:1001 msid:stream audio-track\r
m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 102 103 45 46\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=ice-ufrag:vA8n\r
a=ice-pwd:Ez3kTeHTu6nG6SFVu1Ne8m9d\r
a=ice-options:trickle\r
a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r
a=setup:actpass\r
a=mid:1\r
a=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r
a=extmap:13 urn:3gpp:video-orientation\r
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r
a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r
a=sendrecv\r
a=msid:stream camera-track\r
a=rtcp-mux\r
a=rtcp-rsize\r
a=rtpmap:96 VP8/90000\r
a=rtcp-fb:96 goog-remb\r
a=rtcp-fb:96 transport-cc\r
a=rtcp-fb:96 ccm fir\r
a=rtcp-fb:96 nack\r
a=rtcp-fb:96 nack pli\r
a=rtpmap:97 rtx/90000\r
a=fmtp:97 apt=96\r
a=rtpmap:98 VP9/90000\r
a=rtcp-fb:98 nack pli\r
a=fmtp:98 profile-id=0\r
a=rtpmap:99 rtx/90000\r
a=fmtp:99 apt=98\r
a=rtpmap:102 H264/90000\r
a=rtcp-fb:102 nack pli\r
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r
a=rtpmap:103 rtx/90000\r
a=fmtp:103 apt=102\r
a=rtpmap:45 AV1/90000\r
a=fmtp:45 level-idx=5;profile=0;tier=0\r
a=rtpmap:46 rtx/90000\r
a=fmtp:46 apt=45\r
a=ssrc-group:FID 2001 2002\r
a=ssrc:2001 cname:duetcname\r
a=ssrc:2001 msid:stream camera-track\r
a=ssrc:2002 cname:duetcname\r
a=ssrc:2002 msid:stream camera-track\r
m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=ice-ufrag:vA8n\r
a=ice-pwd:Ez3kTeHTu6nG6SFVu1Ne8m9d\r
a=ice-options:trickle\r
a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r
a=setup:actpass\r
a=mid:2\r
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=sendrecv\r
a=msid:stream screen-track\r
a=rtcp-mux\r
a=rtcp-rsize\r
a=rtpmap:96 VP8/90000\r
a=rtcp-fb:96 nack\r
a=rtcp-fb:96 nack pli\r
a=rtpmap:97 rtx/90000\r
a=fmtp:97 apt=96\r
a=rtpmap:98 VP9/90000\r
a=fmtp:98 profile-id=2\r
a=rtpmap:99 rtx/90000\r
a=fmtp:99 apt=98\r
a=ssrc:3001 cname:duetcname\r
a=ssrc:3001 msid:stream screen-track\r
";

fn advertise() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 40_000))
}

/// A line an attacker might put in an offer: a known attribute with an
/// arbitrary value, or anything at all.
fn sdp_line() -> impl Strategy<Value = String> {
    let value = "[ -~]{0,60}";
    prop_oneof![
        (0u8..=255, value).prop_map(|(pt, v)| format!("a=rtpmap:{pt} {v}")),
        (0u8..=255, value).prop_map(|(pt, v)| format!("a=fmtp:{pt} {v}")),
        (0u8..=255, value).prop_map(|(pt, v)| format!("a=rtcp-fb:{pt} {v}")),
        (any::<u16>(), value).prop_map(|(id, v)| format!("a=extmap:{id} {v}")),
        (any::<u32>(), value).prop_map(|(ssrc, v)| format!("a=ssrc:{ssrc} {v}")),
        value.prop_map(|v| format!("a=ssrc-group:FID {v}")),
        value.prop_map(|v| format!("a=mid:{v}")),
        value.prop_map(|v| format!("a=group:BUNDLE {v}")),
        value.prop_map(|v| format!("a=setup:{v}")),
        value.prop_map(|v| format!("a=fingerprint:{v}")),
        value.prop_map(|v| format!("a=ice-ufrag:{v}")),
        value.prop_map(|v| format!("a=ice-pwd:{v}")),
        value.prop_map(|v| format!("a=simulcast:{v}")),
        value.prop_map(|v| format!("a=rid:{v}")),
        value.prop_map(|v| format!("a=msid:{v}")),
        value.prop_map(|v| format!("a=sctp-port:{v}")),
        value.prop_map(|v| format!("b=AS:{v}")),
        value.prop_map(|v| format!("c=IN IP4 {v}")),
        (any::<u32>(), any::<u16>()).prop_map(|(prio, port)| format!(
            "a=candidate:1 1 udp {prio} 127.0.0.1 {port} typ host"
        )),
        value.prop_map(|v| format!("a=candidate:{v}")),
        (
            prop_oneof![
                Just("audio".to_owned()),
                Just("video".to_owned()),
                Just("application".to_owned()),
                "[a-z]{0,8}",
            ],
            value
        )
            .prop_map(|(kind, v)| format!("m={kind} 9 {v}")),
        prop_oneof![
            Just("a=sendonly"),
            Just("a=recvonly"),
            Just("a=inactive"),
            Just("a=sendrecv")
        ]
        .prop_map(str::to_owned),
        "[a-z]=[ -~]{0,60}",
        ".{0,80}",
    ]
}

/// One edit of an offer's lines, or of its bytes.
#[derive(Debug, Clone)]
enum SdpEdit {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    /// Keeps the attribute, replaces its value.
    Value(usize, String),
    Insert(usize, String),
    Flip(usize, u8),
    Truncate(usize),
}

fn sdp_edit() -> impl Strategy<Value = SdpEdit> {
    prop_oneof![
        any::<usize>().prop_map(SdpEdit::Delete),
        any::<usize>().prop_map(SdpEdit::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| SdpEdit::Swap(a, b)),
        (any::<usize>(), ".{0,40}").prop_map(|(i, v)| SdpEdit::Value(i, v)),
        (any::<usize>(), sdp_line()).prop_map(|(i, l)| SdpEdit::Insert(i, l)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| SdpEdit::Flip(i, b)),
        any::<usize>().prop_map(SdpEdit::Truncate),
    ]
}

fn mutate(offer: &str, edits: &[SdpEdit]) -> String {
    let mut lines: Vec<String> = offer.split("\r\n").map(str::to_owned).collect();
    for edit in edits {
        let n = lines.len().max(1);
        match edit {
            SdpEdit::Delete(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            SdpEdit::Duplicate(i) if !lines.is_empty() => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            SdpEdit::Swap(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            SdpEdit::Value(i, v) if !lines.is_empty() => {
                let line = &mut lines[i % n];
                let keep = line.find([':', '=']).map_or(0, |at| at + 1);
                line.truncate(keep);
                line.push_str(v);
            }
            SdpEdit::Insert(i, l) => lines.insert(i % (lines.len() + 1), l.clone()),
            _ => {}
        }
    }
    let mut bytes = lines.join("\r\n").into_bytes();
    for edit in edits {
        match edit {
            SdpEdit::Flip(i, b) if !bytes.is_empty() => {
                let n = bytes.len();
                bytes[i % n] ^= b;
            }
            SdpEdit::Truncate(i) => bytes.truncate(i % (bytes.len() + 1)),
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// An answer carries one media section per offered m-line, each of a
/// bounded size (Duet's codecs, ICE, DTLS, its candidates): output grows
/// with the m-lines offered, not with anything else in the offer.
fn answer_bound(offer: &str) -> usize {
    let m_lines = offer.split("\r\n").filter(|l| l.starts_with("m=")).count();
    4096 + 4096 * m_lines
}

/// A STUN message with arbitrary attributes, whose lengths may lie.
fn stun_message() -> impl Strategy<Value = Vec<u8>> {
    let attr = (
        prop_oneof![Just(0x0006u16), any::<u16>()],
        prop_oneof![Just(None), any::<u16>().prop_map(Some)],
        vec(any::<u8>(), 0..64),
    );
    (
        0u8..4,
        any::<u8>(),
        prop_oneof![Just(None), any::<u16>().prop_map(Some)],
        vec(attr, 0..6),
        vec(any::<u8>(), 0..8),
    )
        .prop_map(|(t0, t1, length, attrs, tail)| {
            let mut body = Vec::new();
            for (kind, len, value) in attrs {
                body.extend_from_slice(&kind.to_be_bytes());
                let len = len.unwrap_or(value.len() as u16);
                body.extend_from_slice(&len.to_be_bytes());
                body.extend_from_slice(&value);
                while body.len() % 4 != 0 {
                    body.push(0);
                }
            }
            body.extend_from_slice(&tail);
            let mut p = vec![t0, t1];
            let length = length.unwrap_or(body.len() as u16);
            p.extend_from_slice(&length.to_be_bytes());
            p.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
            p.extend_from_slice(&[5; 12]);
            p.extend_from_slice(&body);
            p
        })
}

/// Splits frames off `wire` as the ICE-TCP reader does, checking what it
/// hands out; returns the frames and whether it stopped at a bad length.
fn split_all(wire: &[u8]) -> Result<(Vec<BytesMut>, usize), TestCaseError> {
    let mut buf = BytesMut::from(wire);
    let mut frames = Vec::new();
    let mut consumed = 0;
    loop {
        match tcp::split_frame(&mut buf) {
            Ok(Some(frame)) => {
                prop_assert!(!frame.is_empty() && frame.len() <= tcp::MAX_FRAME);
                consumed += 2 + frame.len();
                frames.push(frame);
            }
            Ok(None) => break,
            Err(_) => return Ok((frames, usize::MAX)),
        }
    }
    prop_assert_eq!(consumed + buf.len(), wire.len(), "bytes lost or invented");
    Ok((frames, buf.len()))
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn stun_ufrag_of_arbitrary_bytes(p in vec(any::<u8>(), 0..200)) {
        if let Some(ufrag) = demux::stun_local_ufrag(&p) {
            prop_assert!(ufrag.len() <= p.len() && !ufrag.contains(':'));
        }
    }

    #[test]
    fn stun_ufrag_and_route_of_stun_like_messages(p in stun_message(), known in any::<bool>()) {
        let found = demux::stun_local_ufrag(&p);
        if let Some(ufrag) = found {
            prop_assert!(ufrag.len() <= p.len() && !ufrag.contains(':'));
            // It is borrowed from the packet: no copy on the receive path.
            let range = p.as_ptr_range();
            prop_assert!(ufrag.is_empty() || range.contains(&ufrag.as_ptr()));
        }
        let from = SocketAddr::from(([127, 0, 0, 1], 5000));
        let by_ufrag: HashMap<String, u8> = match (known, found) {
            (true, Some(u)) => HashMap::from([(u.to_owned(), 1)]),
            _ => HashMap::new(),
        };
        let routed = demux::route(&p, from, &by_ufrag, &HashMap::new(), &HashMap::from([(from, 2)]));
        let expected = match (known, found) {
            (true, Some(_)) => Some(1),
            _ if demux::is_stun_response(&p) => Some(2),
            _ => None,
        };
        prop_assert_eq!(routed, expected);
    }

    #[test]
    fn tcp_frames_of_arbitrary_bytes(wire in vec(any::<u8>(), 0..3000)) {
        split_all(&wire)?;
    }

    #[test]
    fn tcp_frames_round_trip(packets in vec(vec(any::<u8>(), 1..1500), 0..12), cut in any::<usize>()) {
        let mut wire = BytesMut::new();
        for p in &packets {
            wire.put_u16(p.len() as u16);
            wire.put_slice(p);
        }
        let (frames, rest) = split_all(&wire)?;
        prop_assert_eq!(rest, 0);
        prop_assert_eq!(frames.len(), packets.len());
        for (f, p) in frames.iter().zip(&packets) {
            prop_assert_eq!(&f[..], &p[..]);
        }
        // Cut anywhere, the whole frames before the cut come out and the
        // rest waits for more bytes.
        let cut = cut % (wire.len() + 1);
        let (frames, _) = split_all(&wire[..cut])?;
        prop_assert!(frames.len() <= packets.len());
    }
}

proptest! {
    // Building a peer connection costs a few milliseconds.
    #![proptest_config(config(48))]

    #[test]
    fn build_takes_a_mutated_offer(edits in vec(sdp_edit(), 1..12)) {
        let offer = mutate(CHROMIUM_OFFER, &edits);
        let tcp = SocketAddr::from(([127, 0, 0, 1], 40_001));
        if let Ok(built) = peer::build(Instant::now(), offer.clone(), advertise(), Some(tcp), 0) {
            prop_assert!(built.answer_sdp.len() <= answer_bound(&offer));
            prop_assert_eq!(built.ufrag.len(), 16);
        }
    }

    #[test]
    fn build_takes_arbitrary_text(offer in ".{0,2000}") {
        let _ = peer::build(Instant::now(), offer, advertise(), None, 0);
    }

    #[test]
    fn renegotiate_takes_a_mutated_offer(
        edits in vec(sdp_edit(), 1..12),
        again in vec(sdp_edit(), 0..4),
    ) {
        let now = Instant::now();
        let mut built = peer::build(now, CHROMIUM_OFFER.to_owned(), advertise(), None, 1)
            .expect("the unmutated offer builds");
        let offer = mutate(CHROMIUM_OFFER, &edits);
        if let Ok(answer) = peer::renegotiate(now, &mut built.pc, offer.clone(), advertise(), None) {
            prop_assert!(answer.len() <= answer_bound(&offer));
        }
        // Whatever the last offer did, the next one is handled too.
        let offer = mutate(CHROMIUM_OFFER, &again);
        if let Ok(answer) = peer::renegotiate(now, &mut built.pc, offer.clone(), advertise(), None) {
            prop_assert!(answer.len() <= answer_bound(&offer));
        }
    }
}

#[test]
fn the_chromium_offer_builds() {
    let built = peer::build(
        Instant::now(),
        CHROMIUM_OFFER.to_owned(),
        advertise(),
        None,
        0,
    )
    .expect("builds");
    assert_eq!(built.answer_sdp.matches("m=").count(), 3);
    assert!(built.answer_sdp.len() <= answer_bound(CHROMIUM_OFFER));
}
