//! The recorder's writers, readers and transcoder on arbitrary and
//! mutated input: nothing panics, the files written stay within a fixed
//! multiple of the bytes received (plus, for Ogg, the silence that fills a
//! timestamp gap, which is bounded per second of wall-clock time), what is
//! written reads back, and the readers never return more than they read.

use std::io::Cursor;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;

use crate::recorder::frames::tests::vp8_packets;
use crate::recorder::frames::{FrameAssembler, VideoCodec};
use crate::recorder::ogg::{OggOpusWriter, Pushed, crc32_update};
use crate::recorder::probe::{OpusPackets, ogg_duration, webm_duration};
use crate::recorder::wav::{HEADER_LEN, OpusInput, WavWriter, transcode};
use crate::recorder::webm::{WebmWriter, Written};

/// Ogg page overhead per audio packet: a 27-byte header and one lacing
/// value per 255 bytes (the writer puts one packet on a page).
const PAGE: usize = 28;
/// Upper bound on the gap fill's cost: its real rate is about 140 bytes per
/// second of silence (14-byte packets of 120 ms, 255 to a page), this is
/// 2400 (0.05 byte per 48 kHz sample).
const FILL_BYTES_PER_SAMPLE: f64 = 0.05;
/// Bytes a gap costs at most beyond its per-sample rate (concealment
/// packets, a partly filled page).
const FILL_PER_GAP: usize = 400;

/// Real Opus packets (20 ms, 48 kHz stereo: a tone), encoded once.
fn opus_packets() -> &'static [Vec<u8>] {
    static PACKETS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    PACKETS.get_or_init(|| {
        let mut enc = opus::Encoder::new(48_000, opus::Channels::Stereo, opus::Application::Voip)
            .expect("encoder");
        (0..8u32)
            .map(|k| {
                let pcm: Vec<i16> = (k * 960..(k + 1) * 960)
                    .flat_map(|i| {
                        let s = (8000.0 * (i as f64 * 0.06).sin()) as i16;
                        [s, s]
                    })
                    .collect();
                enc.encode_vec(&pcm, 4000).expect("encode")
            })
            .collect()
    })
}

/// An Opus payload: real, real with damage, or arbitrary bytes.
fn opus_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (0..8usize).prop_map(|i| opus_packets()[i].clone()),
        (0..8usize, any::<usize>(), any::<u8>()).prop_map(|(i, at, b)| {
            let mut p = opus_packets()[i].clone();
            let at = at % p.len();
            p[at] ^= b;
            p
        }),
        vec(any::<u8>(), 0..400),
        Just(vec![0xF8, 0xFF, 0xFE]),
    ]
}

/// The next RTP timestamp: usually 20 ms on, sometimes anything.
fn timestamp_step() -> impl Strategy<Value = u32> {
    prop_oneof![
        6 => Just(960u32),
        2 => 0..5_000u32,
        1 => any::<u32>(),
        // A jump forward of up to an hour: filled, but only as far as the
        // wall clock allows.
        1 => 48_000..3600 * 48_000u32,
    ]
}

/// Wall-clock time between two packets' arrival: usually 20 ms, sometimes
/// a burst, sometimes a pause.
fn arrival_step() -> impl Strategy<Value = Duration> {
    prop_oneof![
        6 => Just(Duration::from_millis(20)),
        2 => (0..100u64).prop_map(Duration::from_millis),
        1 => (0..3_000u64).prop_map(Duration::from_millis),
    ]
}

/// The writer's lead over the wall clock (`WALL_SLACK` in `ogg`) plus the
/// longest Opus packet (120 ms), which may start just inside it.
const LEAD_SAMPLES: u64 = 2 * 48_000 + 5_760;

/// Like [`push_all`], but held to a simulated clock advancing by each
/// step's arrival time; also returns the elapsed time in 48 kHz samples.
fn push_all_timed(steps: &[(u32, Duration, Vec<u8>)]) -> (Vec<u8>, usize, u64) {
    let mut w = OggOpusWriter::with_serial(Vec::new(), 1).expect("headers");
    let (mut ts, mut elapsed, mut received) = (0u32, Duration::ZERO, 0);
    for (step, arrival, payload) in steps {
        ts = ts.wrapping_add(*step);
        elapsed += *arrival;
        received += payload.len();
        w.push_timed(ts, payload, Some(elapsed))
            .expect("Vec never fails");
    }
    let elapsed_samples = u64::try_from(elapsed.as_micros() * 48 / 1000).unwrap_or(u64::MAX);
    (w.finish().expect("finish"), received, elapsed_samples)
}

fn push_all(steps: &[(u32, Vec<u8>)]) -> (Vec<u8>, Vec<Vec<u8>>, usize, u64) {
    let mut w = OggOpusWriter::with_serial(Vec::new(), 1).expect("headers");
    let (mut ts, mut written, mut received) = (0u32, Vec::new(), 0);
    for (step, payload) in steps {
        ts = ts.wrapping_add(*step);
        received += payload.len();
        if w.push(ts, payload).expect("Vec never fails") == Pushed::Written {
            written.push(payload.clone());
        }
    }
    let filled = w.filled_samples();
    (w.finish().expect("finish"), written, received, filled)
}

/// A stream of CRC-valid Ogg pages after real OpusHead/OpusTags pages: the
/// reader gets past its checks and meets arbitrary granules and lacing.
fn ogg_pages() -> impl Strategy<Value = Vec<u8>> {
    let page = (
        any::<u8>(),
        prop_oneof![any::<u64>(), u64::MAX - 6000..=u64::MAX],
        prop_oneof![3 => Just(1u32), 1 => any::<u32>()],
        vec(any::<u8>(), 0..20),
        vec(any::<u8>(), 0..600),
    );
    vec(page, 0..12).prop_map(|pages| {
        let mut out = OggOpusWriter::with_serial(Vec::new(), 1)
            .expect("headers")
            .get_mut()
            .clone();
        for (kind, granule, serial, lacing, body) in pages {
            let mut header = vec![0u8; 27];
            header[..4].copy_from_slice(b"OggS");
            header[5] = kind & 0x07;
            header[6..14].copy_from_slice(&granule.to_le_bytes());
            header[14..18].copy_from_slice(&serial.to_le_bytes());
            header[26] = lacing.len() as u8;
            header.extend_from_slice(&lacing);
            let len: usize = lacing.iter().map(|&l| usize::from(l)).sum();
            let body = &body[..len.min(body.len())];
            let crc = crc32_update(crc32_update(0, &header), body);
            header[22..26].copy_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&header);
            out.extend_from_slice(body);
        }
        out
    })
}

fn read_ogg(bytes: &[u8]) -> usize {
    let Ok(packets) = OpusPackets::new(bytes) else {
        return 0;
    };
    packets.map_while(Result::ok).map(|p| p.data.len()).sum()
}

/// RTP packets for the video path: the real clip's packets, damaged by
/// drops, duplicates, moves, bit flips and timestamp jumps, with arbitrary
/// packets mixed in.
fn video_packets() -> impl Strategy<Value = Vec<(u16, u32, bool, Bytes)>> {
    let edit = prop_oneof![
        (any::<usize>()).prop_map(Edit::Drop),
        (any::<usize>()).prop_map(Edit::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Move(a, b)),
        (any::<usize>(), any::<usize>(), any::<u8>()).prop_map(|(p, at, x)| Edit::Flip(p, at, x)),
        (any::<usize>(), any::<u32>()).prop_map(|(p, ts)| Edit::Timestamp(p, ts)),
        (
            any::<usize>(),
            any::<u16>(),
            any::<bool>(),
            vec(any::<u8>(), 0..1300)
        )
            .prop_map(|(p, seq, m, data)| Edit::Insert(p, seq, m, data)),
    ];
    vec(edit, 0..40).prop_map(|edits| {
        let (_, frames) = vp8_packets();
        let mut packets: Vec<_> = frames.into_iter().flatten().collect();
        for edit in edits {
            edit.apply(&mut packets);
        }
        packets
    })
}

#[derive(Debug, Clone)]
enum Edit {
    Drop(usize),
    Duplicate(usize),
    Move(usize, usize),
    Flip(usize, usize, u8),
    Timestamp(usize, u32),
    Insert(usize, u16, bool, Vec<u8>),
}

impl Edit {
    fn apply(self, packets: &mut Vec<(u16, u32, bool, Bytes)>) {
        let n = packets.len().max(1);
        match self {
            Edit::Drop(i) if !packets.is_empty() => {
                packets.remove(i % n);
            }
            Edit::Duplicate(i) if !packets.is_empty() => {
                let p = packets[i % n].clone();
                packets.insert(i % n, p);
            }
            Edit::Move(a, b) if !packets.is_empty() => {
                let p = packets.remove(a % n);
                packets.insert(b % packets.len().max(1), p);
            }
            Edit::Flip(i, at, x) if !packets.is_empty() => {
                let p = &mut packets[i % n];
                let mut data = p.3.to_vec();
                if !data.is_empty() {
                    let at = at % data.len();
                    data[at] ^= x;
                }
                p.3 = Bytes::from(data);
            }
            Edit::Timestamp(i, ts) if !packets.is_empty() => packets[i % n].1 = ts,
            Edit::Insert(i, seq, marker, data) => {
                packets.insert(i % (packets.len() + 1), (seq, 0, marker, Bytes::from(data)))
            }
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(super::config(64))]

    /// The Ogg writer's output follows the bytes received and the real
    /// time that passed, not the timestamps a sender claims: an hour's
    /// jump after a second of call costs a second of silence. Fails if
    /// `push_timed` stops clamping to the wall clock.
    #[test]
    fn ogg_output_is_bounded_by_input_and_wall_clock(
        steps in vec((timestamp_step(), arrival_step(), opus_payload()), 0..120),
    ) {
        let (out, received, elapsed) = push_all_timed(&steps);
        let bound = 200
            + received
            + steps.len() * PAGE
            + received / 255
            + steps.len() * FILL_PER_GAP
            + ((elapsed + LEAD_SAMPLES) as f64 * FILL_BYTES_PER_SAMPLE) as usize;
        prop_assert!(out.len() <= bound, "{} bytes out for {} in over {} samples", out.len(), received, elapsed);
    }

    #[test]
    fn ogg_output_is_bounded_by_input_and_reads_back(
        steps in vec((timestamp_step(), opus_payload()), 0..120),
    ) {
        let (out, written, received, filled) = push_all(&steps);
        let gaps = steps.len();
        let bound = 200
            + received
            + steps.len() * PAGE
            + received / 255
            + gaps * FILL_PER_GAP
            + (filled as f64 * FILL_BYTES_PER_SAMPLE) as usize;
        prop_assert!(out.len() <= bound, "{} bytes out for {} in ({} samples filled)", out.len(), received, filled);

        // Every written packet reads back, in order, from a whole stream.
        let mut packets = OpusPackets::new(&out[..]).expect("headers");
        let mut want = written.iter().peekable();
        for p in packets.by_ref() {
            let p = p.expect("reads");
            if want.peek() == Some(&&p.data) {
                want.next();
            }
        }
        prop_assert!(want.next().is_none(), "a written packet did not read back");
        prop_assert!(packets.eos() && !packets.truncated());
        let stats = ogg_duration(&out[..]).expect("stats");
        prop_assert!(stats.eos && !stats.truncated);
    }

    #[test]
    fn a_cut_ogg_file_reads_up_to_the_cut(
        steps in vec((timestamp_step(), opus_payload()), 1..60),
        cut in any::<usize>(),
    ) {
        let (out, written, _, _) = push_all(&steps);
        let cut = cut % (out.len() + 1);
        let whole = ogg_duration(&out[..]).expect("the whole file");
        // (A written packet may look like gap fill: one byte of TOC.)
        prop_assert!(whole.packets + whole.fill_packets >= written.len() as u64);
        let stats = ogg_duration(&out[..cut]).expect("a cut file is not an error");
        // A cut file reads as a prefix of the whole one.
        prop_assert!(stats.packets <= whole.packets && stats.fill_packets <= whole.fill_packets);
        if cut < out.len() {
            prop_assert!(!stats.eos);
        }
        prop_assert!(read_ogg(&out[..cut]) <= cut);
    }

    #[test]
    fn the_ogg_reader_takes_arbitrary_bytes(data in vec(any::<u8>(), 0..4000)) {
        prop_assert!(read_ogg(&data) <= data.len());
        let _ = ogg_duration(&data[..]);
    }

    #[test]
    fn the_ogg_reader_takes_arbitrary_valid_pages(data in ogg_pages()) {
        prop_assert!(read_ogg(&data) <= data.len());
        let _ = ogg_duration(&data[..]);
    }

    #[test]
    fn video_output_is_bounded_by_input_and_reads_back(
        packets in video_packets(),
        vp9 in any::<bool>(),
    ) {
        let codec = if vp9 { VideoCodec::Vp9 } else { VideoCodec::Vp8 };
        let mut assembler = FrameAssembler::new(codec);
        let mut webm = WebmWriter::with_track_uid(Vec::new(), codec, 1);
        let mut received = 0;
        for (seq, ts, marker, payload) in &packets {
            received += payload.len();
            if let Some(frame) = assembler.push(*seq, *ts, *marker, payload) {
                let w = webm.write_frame(frame.timestamp, frame.keyframe, frame.data);
                prop_assert!(w.is_ok());
            }
        }
        let frames = webm.frames();
        let out = webm.into_inner();
        // Header, then per frame a cluster start and a block header (and a
        // VP9 superframe index): 64 bytes is generous.
        let bound = 512 + received + 64 * packets.len();
        prop_assert!(out.len() <= bound, "{} bytes out for {} in", out.len(), received);
        let stats = webm_duration(&out[..]).expect("reads back");
        prop_assert_eq!(stats.frames, frames);
        prop_assert!(!stats.truncated);
    }

    #[test]
    fn webm_writer_takes_arbitrary_frames(
        frames in vec((any::<u32>(), any::<bool>(), vec(any::<u8>(), 0..2000)), 0..60),
    ) {
        let mut webm = WebmWriter::with_track_uid(Vec::new(), VideoCodec::Vp8, 1);
        // A real keyframe first, so that the header is written and what
        // follows is placed on the timeline.
        let (_, clip) = vp8_packets();
        let first: Vec<u8> = clip[0].iter().flat_map(|p| p.3[1..].to_vec()).collect();
        prop_assert_eq!(webm.write_frame(0, true, &first).ok(), Some(Written::Written));
        let mut received = first.len();
        for (ts, key, data) in &frames {
            received += data.len();
            prop_assert!(webm.write_frame(*ts, *key, data).is_ok());
        }
        let written = webm.frames();
        let out = webm.into_inner();
        prop_assert!(out.len() <= 512 + received + 64 * (frames.len() + 1));
        prop_assert_eq!(webm_duration(&out[..]).expect("reads back").frames, written);
    }

    #[test]
    fn the_webm_reader_takes_arbitrary_and_cut_files(
        data in vec(any::<u8>(), 0..3000),
        cut in any::<usize>(),
        flips in vec((any::<usize>(), any::<u8>()), 0..8),
    ) {
        let _ = webm_duration(&data[..]);
        let mut webm = WebmWriter::with_track_uid(Vec::new(), VideoCodec::Vp8, 1);
        let (_, clip) = vp8_packets();
        let mut assembler = FrameAssembler::new(VideoCodec::Vp8);
        for (seq, ts, marker, payload) in clip.iter().flatten().take(30) {
            if let Some(f) = assembler.push(*seq, *ts, *marker, payload) {
                webm.write_frame(f.timestamp, f.keyframe, f.data).expect("Vec");
            }
        }
        let mut file = webm.into_inner();
        for (at, x) in flips {
            let n = file.len();
            file[at % n] ^= x;
        }
        let cut = cut % (file.len() + 1);
        let _ = webm_duration(&file[..cut]);
        // Arbitrary bytes after a real header: elements of any size.
        let mut tail = file[..cut.min(200)].to_vec();
        tail.extend_from_slice(&data);
        let _ = webm_duration(&tail[..]);
    }

    #[test]
    fn the_transcoder_writes_exactly_the_session(
        packets in vec((prop_oneof![0..200_000u64, any::<u64>()], opus_payload()), 0..40),
        offset_ms in 0..2_000u64,
        session_ms in 0..3_000u64,
    ) {
        let inputs = packets
            .into_iter()
            .map(|(pos_48k, data)| OpusInput { pos_48k, data });
        let mut out = WavWriter::new(Cursor::new(Vec::new())).expect("header");
        let session = Duration::from_millis(session_ms);
        transcode(inputs, Duration::from_millis(offset_ms), session, &mut out).expect("transcode");
        let bytes = out.finish().expect("finish").into_inner();
        prop_assert_eq!(bytes.len() as u64, HEADER_LEN + 2 * 16 * session_ms);
    }
}
