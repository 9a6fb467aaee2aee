use rtc::interceptor::{AttributedPacket, NackGeneratorBuilder, RTCPFeedback};
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::shared::TransportContext;

use super::*;

#[test]
fn gaps_late_packets_and_nothing_else_are_gaps() {
    let mut w = GapWatch::default();
    assert!(!w.gap(1, 100), "the first packet");
    assert!(!w.gap(1, 101));
    assert!(w.gap(1, 103), "102 skipped");
    assert!(w.gap(1, 102), "102 came late");
    assert!(!w.gap(1, 104), "in order again after the highest");
    assert!(!w.gap(1, 104), "a duplicate shows no loss");
    // Wrapping around is in order; another stream has its own count.
    assert!(!w.gap(2, 65_535));
    assert!(!w.gap(2, 0));
    assert!(!w.gap(1, 105));
}

fn rtp(now: Instant, seq: u16) -> TaggedPacket {
    TaggedPacket {
        now,
        transport: TransportContext::default(),
        message: AttributedPacket::new(Packet::Rtp(rtc::rtp::Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                ssrc: 7,
                sequence_number: seq,
                ..Default::default()
            },
            payload: bytes::Bytes::from_static(&[0; 10]),
        })),
    }
}

fn generator() -> QuietNackGenerator {
    let inner = NackGeneratorBuilder::new()
        .with_interval(Duration::from_millis(20))
        .build();
    let mut g = QuietNackGenerator::new(inner);
    let mut info = StreamInfo {
        ssrc: 7,
        ..Default::default()
    };
    info.rtcp_feedback.push(RTCPFeedback {
        typ: "nack".into(),
        parameter: String::new(),
    });
    g.bind_remote_stream(&info);
    g
}

#[test]
fn in_order_media_asks_for_no_wake_up() {
    let t0 = Instant::now();
    let mut g = generator();
    for seq in 0..100u16 {
        g.handle_read(rtp(t0 + Duration::from_millis(u64::from(seq) * 20), seq))
            .expect("read");
        assert!(g.poll_read().is_some(), "every packet goes on up");
        assert_eq!(g.poll_timeout(), None, "woken at packet {seq}");
    }
}

#[test]
fn a_gap_wakes_it_to_ask_for_the_packet_then_it_sleeps_again() {
    let t0 = Instant::now();
    let mut g = generator();
    for seq in [0u16, 1, 2, 4, 5, 6, 7, 8, 9, 10] {
        g.handle_read(rtp(t0, seq)).expect("read");
        while g.poll_read().is_some() {}
    }
    let mut now = t0;
    let mut asked = Vec::new();
    while let Some(at) = g.poll_timeout() {
        assert!(at <= t0 + AWAKE_FOR, "awake past its spell");
        now = at.max(now);
        g.handle_timeout(now).expect("timeout");
        while let Some(out) = g.poll_write() {
            if let Packet::Rtcp(packets) = &out.message.packet {
                for p in packets {
                    if let Some(nack) = p.as_any().downcast_ref::<TransportLayerNack>() {
                        asked.extend(nack.nacks.iter().map(|n| n.packet_id));
                    }
                }
            }
        }
    }
    assert!(asked.contains(&3), "no NACK for 3: {asked:?}");
    assert!(now <= t0 + AWAKE_FOR);
    // Asleep: more in-order packets wake nothing.
    g.handle_read(rtp(now, 11)).expect("read");
    assert_eq!(g.poll_timeout(), None);
}
