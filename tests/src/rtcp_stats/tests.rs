use rtc::rtcp::payload_feedbacks::full_intra_request::FirEntry;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::NackPair;

use super::*;

const AUDIO: u32 = 0x1111;
const CAMERA: u32 = 0x2222;
const SCREEN: u32 = 0x3333;
const STRANGER: u32 = 0x9999;
const OURS: [u32; 3] = [AUDIO, CAMERA, SCREEN];

fn block(ssrc: u32) -> ReceptionReport {
    ReceptionReport {
        ssrc,
        ..Default::default()
    }
}

fn lossy(ssrc: u32, fraction_lost: u8) -> ReceptionReport {
    ReceptionReport {
        ssrc,
        fraction_lost,
        ..Default::default()
    }
}

fn record_all(packets: &[Box<dyn rtcp::Packet>]) -> RtcpStats {
    let mut stats = RtcpStats::default();
    for p in packets {
        stats.record(p.as_ref(), &|s| kind_of_ssrc(&OURS, s));
    }
    stats
}

fn sample() -> Vec<Box<dyn rtcp::Packet>> {
    vec![
        Box::new(ReceiverReport {
            ssrc: 7,
            reports: vec![lossy(CAMERA, 10), lossy(AUDIO, 30), block(STRANGER)],
            ..Default::default()
        }),
        Box::new(SenderReport {
            ssrc: 7,
            reports: vec![lossy(CAMERA, 4)],
            ..Default::default()
        }),
        Box::new(TransportLayerCc {
            sender_ssrc: 7,
            media_ssrc: CAMERA,
            ..Default::default()
        }),
        Box::new(ReceiverEstimatedMaximumBitrate {
            sender_ssrc: 7,
            bitrate: 500_000.0,
            ssrcs: vec![CAMERA, SCREEN, CAMERA],
        }),
        Box::new(TransportLayerNack {
            sender_ssrc: 7,
            media_ssrc: CAMERA,
            // 100, 101 and 103.
            nacks: vec![NackPair {
                packet_id: 100,
                lost_packets: 0b101,
            }],
        }),
        Box::new(PictureLossIndication {
            sender_ssrc: 7,
            media_ssrc: SCREEN,
        }),
        Box::new(FullIntraRequest {
            sender_ssrc: 7,
            media_ssrc: 0,
            fir: vec![
                FirEntry {
                    ssrc: CAMERA,
                    sequence_number: 1,
                },
                FirEntry {
                    ssrc: STRANGER,
                    sequence_number: 1,
                },
            ],
        }),
    ]
}

fn check_sample(stats: &RtcpStats) {
    assert_eq!(stats.packets, 7);
    assert_eq!(
        stats.total,
        RtcpCounts {
            receiver_reports: 4,
            last_fraction_lost: 4,
            max_fraction_lost: 30,
            twcc: 1,
            remb: 1,
            last_remb_bps: 500_000,
            nacks: 1,
            nacked_seqs: 3,
            plis: 1,
            firs: 1,
        }
    );
    assert_eq!(
        *stats.get(MediaKind::Camera),
        RtcpCounts {
            receiver_reports: 2,
            last_fraction_lost: 4,
            max_fraction_lost: 10,
            twcc: 0,
            remb: 1,
            last_remb_bps: 500_000,
            nacks: 1,
            nacked_seqs: 3,
            plis: 0,
            firs: 1,
        }
    );
    assert_eq!(
        *stats.get(MediaKind::Audio),
        RtcpCounts {
            receiver_reports: 1,
            last_fraction_lost: 30,
            max_fraction_lost: 30,
            ..Default::default()
        }
    );
    assert_eq!(
        *stats.get(MediaKind::Screen),
        RtcpCounts {
            remb: 1,
            last_remb_bps: 500_000,
            plis: 1,
            ..Default::default()
        }
    );
}

#[test]
fn classifies_each_type_and_attributes_by_destination_ssrc() {
    check_sample(&record_all(&sample()));
}

#[test]
fn a_compound_packet_counts_as_its_members() {
    let compound: Vec<Box<dyn rtcp::Packet>> = vec![Box::new(CompoundPacket(sample()))];
    check_sample(&record_all(&compound));
}

#[test]
fn counts_what_comes_off_the_wire() {
    let wire = rtcp::packet::marshal(&sample()).expect("marshal");
    let parsed = rtcp::packet::unmarshal(&mut wire.freeze()).expect("unmarshal");
    check_sample(&record_all(&parsed));
}

#[test]
fn feedback_about_someone_else_counts_in_the_total_only() {
    let stats = record_all(&[
        Box::new(PictureLossIndication {
            sender_ssrc: 7,
            media_ssrc: STRANGER,
        }) as Box<dyn rtcp::Packet>,
        Box::new(ReceiverReport::default()),
    ]);
    assert_eq!(stats.packets, 2);
    assert_eq!(stats.total.plis, 1);
    assert_eq!(
        stats.total.receiver_reports, 0,
        "no block, nothing reported"
    );
    assert_eq!(stats.by_kind, PerKind::default());
}
