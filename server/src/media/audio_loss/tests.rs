use super::*;
use rtc::interceptor::{AttributedPacket, StreamInfo};
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::shared::TransportContext;

const AUDIO: u32 = 1111;
const VIDEO: u32 = 2222;

fn block(ssrc: u32, fraction_lost: u8) -> ReceptionReport {
    ReceptionReport {
        ssrc,
        fraction_lost,
        total_lost: 7,
        last_sequence_number: 1000,
        jitter: 3,
        last_sender_report: 5,
        delay: 9,
    }
}

fn report(blocks: Vec<ReceptionReport>) -> Box<dyn rtc::rtcp::Packet> {
    Box::new(ReceiverReport {
        ssrc: 42,
        reports: blocks,
        profile_extensions: Default::default(),
    })
}

fn blocks_of(packets: &[Box<dyn rtc::rtcp::Packet>]) -> Vec<ReceptionReport> {
    packets
        .iter()
        .filter_map(|p| p.as_any().downcast_ref::<ReceiverReport>())
        .flat_map(|rr| rr.reports.clone())
        .collect()
}

#[test]
fn a_downstream_report_raises_only_the_audio_fraction() {
    let mut packets = vec![report(vec![block(AUDIO, 13), block(VIDEO, 13)])];
    assert!(raise_audio_loss(&mut packets, &[AUDIO], 26));
    let blocks = blocks_of(&packets);
    assert_eq!(
        blocks[0].fraction_lost, 26,
        "audio carries the end-to-end loss"
    );
    assert_eq!(blocks[1].fraction_lost, 13, "video keeps the uplink's");
    // The counts a congestion controller reads stay the uplink's.
    assert_eq!(blocks[0].total_lost, 7);
    assert_eq!(blocks[0].last_sequence_number, 1000);
    assert_eq!((blocks[0].jitter, blocks[0].delay), (3, 9));
}

#[test]
fn a_worse_uplink_is_never_lowered() {
    let mut packets = vec![report(vec![block(AUDIO, 40)])];
    assert!(!raise_audio_loss(&mut packets, &[AUDIO], 26));
    assert_eq!(blocks_of(&packets)[0].fraction_lost, 40);
}

#[test]
fn other_rtcp_passes_untouched() {
    let mut packets = vec![report(vec![block(VIDEO, 0)])];
    assert!(!raise_audio_loss(&mut packets, &[AUDIO], 26));
    assert!(!raise_audio_loss(&mut [], &[AUDIO], 26));
}

#[test]
fn a_report_stands_for_its_ttl_only() {
    let t0 = Instant::now();
    let loss = DownstreamAudioLoss::new(t0);
    assert_eq!(loss.current(t0), None, "nothing reported yet");
    loss.report(t0, 0);
    assert_eq!(loss.current(t0), Some(0), "no loss is a report too");
    loss.report(t0 + Duration::from_secs(1), 30);
    assert_eq!(loss.current(t0 + Duration::from_secs(2)), Some(30));
    let stale = t0 + Duration::from_secs(1) + DOWNSTREAM_REPORT_TTL + Duration::from_millis(1);
    assert_eq!(loss.current(stale), None);
}

fn tagged(now: Instant, packets: Vec<Box<dyn rtc::rtcp::Packet>>) -> TaggedPacket {
    TaggedPacket {
        now,
        transport: TransportContext::default(),
        message: AttributedPacket::new(Packet::Rtcp(packets)),
    }
}

fn written_blocks(interceptor: &mut AudioLossInReports) -> Vec<ReceptionReport> {
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
    let mut interceptor = AudioLossInReports::new(downstream.clone());
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

    // Reads pass through untouched, in order.
    interceptor.handle_read(tagged(now, rr())).expect("read");
    assert!(interceptor.poll_read().is_some());
    assert!(interceptor.poll_read().is_none());

    // The audio stream goes: nothing of it is edited any more.
    interceptor.unbind_remote_stream(&stream(AUDIO, "audio/opus"));
    interceptor.handle_write(tagged(now, rr())).expect("write");
    assert_eq!(written_blocks(&mut interceptor)[0].fraction_lost, 5);
}
