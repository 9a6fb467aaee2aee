use super::*;
use rtc::rtcp::reception_report::ReceptionReport;

// Shared with `rtcp_tap`'s tests, which edit the same reports.
pub(crate) const AUDIO: u32 = 1111;
pub(crate) const VIDEO: u32 = 2222;

pub(crate) fn block(ssrc: u32, fraction_lost: u8) -> ReceptionReport {
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

pub(crate) fn report(blocks: Vec<ReceptionReport>) -> Box<dyn rtc::rtcp::Packet> {
    Box::new(ReceiverReport {
        ssrc: 42,
        reports: blocks,
        profile_extensions: Default::default(),
    })
}

pub(crate) fn blocks_of(packets: &[Box<dyn rtc::rtcp::Packet>]) -> Vec<ReceptionReport> {
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
