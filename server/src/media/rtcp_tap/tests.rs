use rtc::interceptor::AttributedPacket;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::shared::TransportContext;

use super::*;
use crate::media::audio_loss::tests::{AUDIO, VIDEO, block, blocks_of, report};

fn tagged(now: Instant, packets: Vec<Box<dyn rtc::rtcp::Packet>>) -> TaggedPacket {
    TaggedPacket {
        now,
        transport: TransportContext::default(),
        message: AttributedPacket::new(Packet::Rtcp(packets)),
    }
}

fn written_blocks(interceptor: &mut RtcpTap) -> Vec<ReceptionReport> {
    let mut blocks = Vec::new();
    while let Some(out) = interceptor.poll_write() {
        if let Packet::Rtcp(packets) = &out.message.packet {
            blocks.extend(blocks_of(packets));
        }
    }
    blocks
}

fn stream(ssrc: u32, mime: &str) -> StreamInfo {
    StreamInfo {
        ssrc,
        mime_type: mime.to_owned(),
        ..Default::default()
    }
}

#[test]
fn the_interceptor_edits_reports_about_the_audio_it_was_bound_to() {
    let now = Instant::now();
    let downstream = DownstreamAudioLoss::new(now);
    let mut interceptor = RtcpTap::new(downstream.clone());
    interceptor.bind_remote_stream(&stream(AUDIO, "audio/opus"));
    interceptor.bind_remote_stream(&stream(VIDEO, "video/VP8"));

    // Before any downstream report: what the uplink measured.
    let rr = || vec![report(vec![block(AUDIO, 5), block(VIDEO, 5)])];
    interceptor.handle_write(tagged(now, rr())).expect("write");
    let blocks = written_blocks(&mut interceptor);
    assert_eq!((blocks[0].fraction_lost, blocks[1].fraction_lost), (5, 5));

    downstream.report(now, 25);
    interceptor.handle_write(tagged(now, rr())).expect("write");
    let blocks = written_blocks(&mut interceptor);
    assert_eq!((blocks[0].fraction_lost, blocks[1].fraction_lost), (25, 5));

    // Reads pass through untouched, in order, marked for the engine.
    interceptor.handle_read(tagged(now, rr())).expect("read");
    let read = interceptor.poll_read().expect("passed on");
    assert!(read.message.has(&Attribute::DeliverToApplication));
    assert_eq!(
        blocks_of_read(&read),
        vec![block(AUDIO, 5), block(VIDEO, 5)]
    );
    assert!(interceptor.poll_read().is_none());

    // The audio stream goes: nothing of it is edited any more.
    interceptor.unbind_remote_stream(&stream(AUDIO, "audio/opus"));
    interceptor.handle_write(tagged(now, rr())).expect("write");
    assert_eq!(written_blocks(&mut interceptor)[0].fraction_lost, 5);
}

fn blocks_of_read(read: &TaggedPacket) -> Vec<ReceptionReport> {
    if let Packet::Rtcp(packets) = &read.message.packet {
        blocks_of(packets)
    } else {
        Vec::new()
    }
}

#[test]
fn inbound_rtcp_is_marked_for_the_engine_and_rtp_is_not() {
    let now = Instant::now();
    let mut tap = RtcpTap::new(DownstreamAudioLoss::new(now));
    let pli: Box<dyn rtc::rtcp::Packet> = Box::new(PictureLossIndication {
        sender_ssrc: 1,
        media_ssrc: VIDEO,
    });
    tap.handle_read(tagged(now, vec![pli])).expect("read");
    let read = tap.poll_read().expect("passed on");
    assert!(read.message.has(&Attribute::DeliverToApplication));
    let rtp = TaggedPacket {
        now,
        transport: TransportContext::default(),
        message: AttributedPacket::new(Packet::Rtp(rtc::rtp::Packet::default())),
    };
    tap.handle_read(rtp).expect("read");
    let read = tap.poll_read().expect("passed on");
    assert!(!read.message.has(&Attribute::DeliverToApplication));
}
