use rtc::rtcp::transport_feedbacks::transport_layer_nack::NackPair;
use rtc::shared::TransportContext;

use super::*;

fn packet(ssrc: u32, seq: u16) -> rtc::rtp::Packet {
    rtc::rtp::Packet {
        header: rtc::rtp::header::Header {
            version: 2,
            ssrc,
            sequence_number: seq,
            ..Default::default()
        },
        payload: bytes::Bytes::from_static(&[1, 2, 3]),
    }
}

fn tagged(now: Instant, packet: Packet) -> TaggedPacket {
    TaggedPacket {
        now,
        transport: TransportContext::default(),
        message: AttributedPacket::new(packet),
    }
}

#[test]
fn the_history_keeps_a_second_however_many_packets_that_is() {
    let t0 = Instant::now();
    let mut h = History::default();
    // 300 packets in a second (a screen share's burst): all kept.
    for i in 0..300u16 {
        h.add(t0 + Duration::from_millis(u64::from(i) * 3), packet(1, i));
    }
    assert_eq!(h.len(), 300);
    assert!(h.get(0).is_some());
    // A packet 1.5 s later: the first half second's are gone.
    h.add(t0 + Duration::from_millis(1_500), packet(1, 300));
    assert!(h.get(0).is_none());
    assert!(h.get(166).is_none(), "sent at 498 ms, over a second before");
    assert!(h.get(167).is_some(), "sent at 501 ms, within the second");
    assert!(h.get(300).is_some());
    // Three seconds of silence, then one packet: only it remains.
    h.add(t0 + Duration::from_secs(5), packet(1, 301));
    assert_eq!(h.len(), 1);
}

#[test]
fn the_history_is_capped_and_sequence_numbers_wrap() {
    let t0 = Instant::now();
    let mut h = History::default();
    for i in 0..(MAX_PACKETS as u32 + 10) {
        h.add(t0, packet(1, (65_000 + i) as u16));
    }
    assert_eq!(h.len(), MAX_PACKETS);
    assert!(h.get(65_000).is_none(), "the oldest went past the cap");
    let newest = (65_000 + MAX_PACKETS as u32 + 9) as u16;
    assert!(newest < 65_000, "wrapped");
    assert_eq!(
        h.get(newest).map(|p| p.header.sequence_number),
        Some(newest)
    );
}

#[test]
fn a_nack_names_its_packet_and_the_16_after_it_by_bitmask() {
    let nack = TransportLayerNack {
        sender_ssrc: 9,
        media_ssrc: 1,
        nacks: vec![
            NackPair {
                packet_id: 65_535,
                lost_packets: 0b101,
            },
            NackPair {
                packet_id: 10,
                lost_packets: 0,
            },
        ],
    };
    assert_eq!(requested(&nack).collect::<Vec<_>>(), vec![65_535, 0, 2, 10]);
}

#[test]
fn nacked_packets_of_a_nack_stream_are_sent_again_marked_as_retransmissions() {
    let t0 = Instant::now();
    let mut r = TimedNackResponder::default();
    let mut info = StreamInfo {
        ssrc: 1,
        ..Default::default()
    };
    info.rtcp_feedback.push(rtc::interceptor::RTCPFeedback {
        typ: "nack".into(),
        parameter: String::new(),
    });
    r.bind_local_stream(&info);
    // Stream 2 has no NACK: not kept.
    r.bind_local_stream(&StreamInfo {
        ssrc: 2,
        ..Default::default()
    });
    for seq in 0..5 {
        for ssrc in [1, 2] {
            r.handle_write(tagged(t0, Packet::Rtp(packet(ssrc, seq))))
                .expect("write");
            assert!(r.poll_write().is_some(), "the original goes on");
        }
    }
    let nack = |ssrc| TransportLayerNack {
        sender_ssrc: 9,
        media_ssrc: ssrc,
        nacks: vec![NackPair {
            packet_id: 1,
            // 2 and 3; 9 was never sent.
            lost_packets: 0b1000_0011,
        }],
    };
    let later = t0 + Duration::from_millis(200);
    for ssrc in [1, 2] {
        let rtcp = Packet::Rtcp(vec![Box::new(nack(ssrc))]);
        r.handle_read(tagged(later, rtcp)).expect("read");
        assert!(r.poll_read().is_some(), "the NACK goes on up");
    }
    let mut resent = Vec::new();
    while let Some(out) = r.poll_write() {
        assert!(out.message.has(&Attribute::Retransmission));
        let Packet::Rtp(p) = out.message.packet else {
            panic!("not RTP");
        };
        resent.push((p.header.ssrc, p.header.sequence_number));
    }
    assert_eq!(resent, vec![(1, 1), (1, 2), (1, 3)]);
    // Past the second, nothing is left to send.
    r.handle_write(tagged(
        t0 + Duration::from_secs(2),
        Packet::Rtp(packet(1, 5)),
    ))
    .expect("write");
    assert!(r.poll_write().is_some());
    r.handle_read(tagged(later, Packet::Rtcp(vec![Box::new(nack(1))])))
        .expect("read");
    assert!(r.poll_write().is_none());
}
