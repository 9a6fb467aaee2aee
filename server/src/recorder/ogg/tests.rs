//! Page layout, granule positions and gap fill of the Ogg Opus writer.

use super::*;

/// A 20 ms CELT frame (TOC 0xF8) that decodes to silence.
pub const SILENCE: [u8; 3] = [0xF8, 0xFF, 0xFE];

#[test]
fn crc_matches_known_ogg_value() {
    // CRC-32/POSIX (cksum) without its final XOR: !0x765E7680.
    assert_eq!(crc32_update(0, b"123456789"), 0x89A1_897F);
}

#[test]
fn toc_sample_counts() {
    assert_eq!(opus_samples(&SILENCE), Some(960));
    assert_eq!(opus_samples(&[0x00]), Some(480)); // SILK 10 ms
    assert_eq!(opus_samples(&[0x19]), Some(5760)); // SILK 60 ms x 2
    assert_eq!(opus_samples(&[0x0B, 0x02]), Some(1920)); // SILK 20 ms, code 3 x 2
    assert_eq!(opus_samples(&[0x0B, 0x00]), None); // code 3 with no frames
    assert_eq!(opus_samples(&[0xFB, 0x03]), Some(2880)); // CELT 20 ms x 3
    assert_eq!(opus_samples(&[0xFB, 0x07]), None); // 140 ms: too long
    assert_eq!(opus_samples(&[0xFB]), None); // code 3 without count byte
    assert_eq!(opus_samples(&[]), None);
}

fn pages(data: &[u8]) -> Vec<(u8, u64, u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        assert_eq!(&rest[..4], b"OggS");
        let n = usize::from(rest[26]);
        let len: usize = rest[27..27 + n].iter().map(|&l| usize::from(l)).sum();
        let granule = u64::from_le_bytes(rest[6..14].try_into().unwrap());
        let seq = u32::from_le_bytes(rest[18..22].try_into().unwrap());
        let crc = u32::from_le_bytes(rest[22..26].try_into().unwrap());
        let mut copy = rest[..27 + n + len].to_vec();
        copy[22..26].fill(0);
        assert_eq!(crc32_update(0, &copy), crc, "page {seq} CRC");
        out.push((rest[5], granule, seq, rest[27 + n..27 + n + len].to_vec()));
        rest = &rest[27 + n + len..];
    }
    out
}

#[test]
fn pages_granules_and_eos() {
    let mut w = OggOpusWriter::with_serial(Vec::new(), 7).unwrap();
    let base = u32::MAX - 960; // wraps between the 2nd and 3rd packet
    assert_eq!(w.push(base, &SILENCE).unwrap(), Pushed::Written);
    assert_eq!(
        w.push(base.wrapping_add(960), &SILENCE).unwrap(),
        Pushed::Written
    );
    // older and duplicate packets are dropped
    assert_eq!(w.push(base, &SILENCE).unwrap(), Pushed::Late);
    assert_eq!(
        w.push(base.wrapping_add(960), &SILENCE).unwrap(),
        Pushed::Late
    );
    // DTX: a 1 s gap is filled with concealment, then the packet
    assert_eq!(
        w.push(base.wrapping_add(49_920), &SILENCE).unwrap(),
        Pushed::Written
    );
    assert_eq!(w.push(base, &[]).unwrap(), Pushed::Invalid);
    assert_eq!((w.packets(), w.filled_samples()), (3, 48_000));
    let data = w.finish().unwrap();
    let pages = pages(&data);
    let summary: Vec<_> = pages.iter().map(|p| (p.0, p.1, p.2)).collect();
    assert_eq!(
        summary,
        [
            (2, 0, 0),
            (0, 0, 1),
            (0, 960, 2),
            (0, 1920, 3),
            (0, 49_920, 4),
            (0, 50_880, 5),
            (4, u64::MAX, 6)
        ]
    );
    // 50 frames of 20 ms, CELT FB like SILENCE: 6 concealed in one
    // packet, then 44 silent ones in 7 packets of 6 and one of 2
    let mut fill = vec![0xFB, 6];
    for frames in [6, 6, 6, 6, 6, 6, 6, 2] {
        fill.extend_from_slice(&[0xFB, frames]);
        fill.extend_from_slice(&[0xFF, 0xFE].repeat(usize::from(frames)));
    }
    assert_eq!(pages[4].3, fill);
    assert!(is_concealment(&fill[..2]) && !is_concealment(&fill[2..16]));
    assert!(is_gap_fill(&fill[..2]) && is_gap_fill(&fill[2..16]));
    assert!(!is_concealment(&SILENCE) && !is_gap_fill(&SILENCE));
    assert_eq!(&pages[0].3[..8], b"OpusHead");
    assert_eq!(pages[0].3[9], 2);
    assert_eq!(&pages[1].3[12..16], b"Duet");
    assert_eq!(pages[2].3, SILENCE);
    assert!(pages[6].3.is_empty(), "EOS page carries no packet");
    assert_eq!(data[data.len() - 1], 0, "and no lacing values");
}

#[test]
fn long_odd_gaps_conceal_then_fill_silence() {
    let mut w = OggOpusWriter::with_serial(Vec::new(), 3).unwrap();
    let silk_wb_60ms_stereo = [0x5C, 0xAA]; // config 11, stereo, code 0
    assert_eq!(opus_samples(&silk_wb_60ms_stereo), Some(2880));
    w.push(0, &silk_wb_60ms_stereo).unwrap();
    // 2880 + a 3 x 2880 + 960 + 240 + 120 + 50 sample gap
    let next = 2880 * 4 + 960 + 240 + 120 + 50;
    w.push(next, &silk_wb_60ms_stereo).unwrap();
    assert_eq!(w.filled_samples(), 2880 * 3 + 960 + 240 + 120);
    assert_eq!(w.granule(), u64::from(next) - 50 + 2880);
    let data = w.finish().unwrap();
    let pages = pages(&data);
    // 120 ms of concealment: SILK WB 60 ms x2, then CELT WB 5 ms and
    // 2.5 ms (stereo kept); the remaining 80 ms as silence frames
    let mut fill = vec![0x5F, 2, 0xAF, 1, 0xA7, 1, 0xFF, 4];
    fill.extend_from_slice(&[0xFF, 0xFE].repeat(4));
    assert_eq!(pages[3].3, fill);
    assert_eq!(pages[3].1, u64::from(next) - 50);
}

#[test]
fn large_packets_use_full_lacing() {
    let mut w = OggOpusWriter::with_serial(Vec::new(), 1).unwrap();
    let mut packet = vec![0u8; 510]; // exactly 2 x 255: needs a trailing 0
    packet[0] = 0xF8;
    w.push(0, &packet).unwrap();
    let too_big = vec![0xF8; MAX_PACKET + 1];
    assert_eq!(w.push(960, &too_big).unwrap(), Pushed::Invalid);
    let data = w.finish().unwrap();
    let pages = pages(&data);
    assert_eq!(pages[2].3, packet);
}

#[test]
fn new_sources_restart_the_timeline() {
    let mut w = OggOpusWriter::with_serial(Vec::new(), 9).unwrap();
    w.push(1_000_000, &SILENCE).unwrap();
    // 20 s back: not reordering but a new source, placed right after
    assert_eq!(w.push(40_000, &SILENCE).unwrap(), Pushed::Written);
    assert_eq!((w.granule(), w.discontinuities()), (1920, 1));
    assert_eq!(w.push(40_000 + 960, &SILENCE).unwrap(), Pushed::Written);
    // announced: one second of gap whatever the new timestamps say
    w.rebase(std::time::Duration::from_secs(1));
    assert_eq!(w.push(7, &SILENCE).unwrap(), Pushed::Written);
    assert_eq!(
        (w.granule(), w.filled_samples()),
        (2880 + 48_000 + 960, 48_000)
    );
    // two hours ahead: a new source too, not two hours of silence
    w.push(7 + 2 * 3600 * 48_000, &SILENCE).unwrap();
    assert_eq!((w.discontinuities(), w.filled_samples()), (3, 48_000));
}

/// A sender jumping its timestamps 59 minutes ahead on every packet, fifty
/// packets a second: the file grows with the time that passed, not with the
/// time claimed (before, each packet added an hour of silence, ~0.5 MB).
#[test]
fn timestamp_jumps_fill_only_the_wall_clock_gap() {
    use std::time::Duration;
    let mut w = OggOpusWriter::with_serial(Vec::new(), 4).unwrap();
    let header = w.get_mut().len();
    let jump = 3599 * 48_000u32;
    let (mut ts, mut received) = (0u32, 0usize);
    for i in 0..100u64 {
        let elapsed = Duration::from_millis(20 * i);
        w.push_timed(ts, &SILENCE, Some(elapsed)).unwrap();
        received += SILENCE.len();
        ts = ts.wrapping_add(jump);
    }
    // 2 s of wall clock: at most 2 s of slack on top, never an hour
    assert!(w.duration() <= Duration::from_secs(4), "{:?}", w.duration());
    assert!(w.clamped() > 90, "{}", w.clamped());
    let written = w.get_mut().len() - header;
    // a page per packet (28 bytes + payload) plus at most 2 s of fill
    assert!(
        written <= 100 * (28 + SILENCE.len()) + 2 * 500,
        "{written} bytes written for {received} received"
    );
}

#[test]
fn a_real_pause_is_still_filled() {
    use std::time::Duration;
    let mut w = OggOpusWriter::with_serial(Vec::new(), 5).unwrap();
    w.push_timed(0, &SILENCE, Some(Duration::ZERO)).unwrap();
    // DTX: 5 s of no packets, and 5 s passed
    let r = w.push_timed(5 * 48_000, &SILENCE, Some(Duration::from_secs(5)));
    assert_eq!(r.unwrap(), Pushed::Written);
    assert_eq!(w.filled_samples(), 5 * 48_000 - 960);
    assert_eq!(w.clamped(), 0);
}

#[test]
fn packets_claiming_more_time_than_passed_are_dropped() {
    use std::time::Duration;
    let mut w = OggOpusWriter::with_serial(Vec::new(), 6).unwrap();
    // 120 ms packets (CELT FB 20 ms x 6, code 3), sent every 20 ms
    let long = [0xFB, 6];
    let mut ahead = 0;
    for i in 0..500u32 {
        let r = w.push_timed(
            i * 5760,
            &long,
            Some(Duration::from_millis(20 * u64::from(i))),
        );
        ahead += usize::from(r.unwrap() == Pushed::Ahead);
    }
    assert!(ahead > 300, "{ahead}");
    // 10 s passed: the timeline is at most 2 s (and a packet) ahead of it
    assert!(
        w.duration() <= Duration::from_millis(12_200),
        "{:?}",
        w.duration()
    );
}
