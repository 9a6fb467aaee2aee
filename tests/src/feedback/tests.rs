use rtc::interceptor::AttributedPacket;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::{NackPair, TransportLayerNack};
use rtc::shared::{TransportContext, TransportMessage};

use super::*;
use crate::stats::MediaKind;

#[test]
fn counts_all_inbound_rtcp_and_forwards_only_keyframe_requests() {
    let stats = Arc::new(watch::channel(PeerStats::default()).0);
    let mut forwarder =
        KeyframeRequestForwarder::counting(RtcpCounter::new(Arc::clone(&stats), [1, 2, 3]));
    let packets: Vec<Box<dyn rtc::rtcp::Packet>> = vec![
        Box::new(ReceiverReport {
            ssrc: 9,
            reports: vec![ReceptionReport {
                ssrc: 2,
                ..Default::default()
            }],
            ..Default::default()
        }),
        Box::new(TransportLayerNack {
            sender_ssrc: 9,
            media_ssrc: 2,
            nacks: vec![NackPair::new(5)],
        }),
        Box::new(PictureLossIndication {
            sender_ssrc: 9,
            media_ssrc: 2,
        }),
    ];
    forwarder
        .handle_read(TransportMessage {
            now: Instant::now(),
            transport: TransportContext::default(),
            message: AttributedPacket::new(Packet::Rtcp(packets)),
        })
        .expect("read");

    let forwarded = forwarder.poll_read().expect("the PLI goes on");
    assert!(forwarded.message.has(&Attribute::DeliverToApplication));
    let Packet::Rtcp(rtcp) = &forwarded.message.packet else {
        panic!("not RTCP");
    };
    assert_eq!(rtcp.len(), 1);
    assert!(rtcp[0].as_any().is::<PictureLossIndication>());
    assert!(forwarder.poll_read().is_none(), "nothing else goes on");

    let counted = stats.borrow().rtcp.clone();
    assert_eq!(counted.packets, 3);
    let camera = counted.get(MediaKind::Camera);
    assert_eq!(
        (camera.receiver_reports, camera.nacks, camera.plis),
        (1, 1, 1)
    );
    assert_eq!(counted.total.nacked_seqs, 1);
}
