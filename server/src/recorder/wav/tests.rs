//! Tests of `wav`: real Opus, encoded here, through `transcode`.

use super::*;

const SESSION: Duration = Duration::from_secs(5);
/// 20 ms at 48 kHz.
const FRAME_48K: u64 = 960;

/// One speaker's track: it starts at session time `offset_s` with 100 ms
/// of silent packets, then sends nothing (DTX) until a 1 s 440 Hz tone
/// starting at session time `tone_s`, then nothing again. 48 kHz stereo.
fn track(offset_s: f64, tone_s: f64) -> Vec<OpusInput> {
    let mut enc = opus::Encoder::new(48_000, opus::Channels::Stereo, opus::Application::Voip)
        .expect("encoder");
    let mut packet = |pos_48k: u64, tone: bool| {
        let pcm: Vec<i16> = (pos_48k..pos_48k + FRAME_48K)
            .flat_map(|i| {
                let t = i as f64 / 48_000.0;
                let s = 0.3 * 32767.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin();
                let s = if tone { s as i16 } else { 0 };
                [s, s]
            })
            .collect();
        let data = enc.encode_vec(&pcm, 4000).expect("encode");
        OpusInput { pos_48k, data }
    };
    let mut packets: Vec<_> = (0..5).map(|k| packet(k * FRAME_48K, false)).collect();
    let tone_pos = ((tone_s - offset_s) * 48_000.0).round() as u64;
    packets.extend((0..50).map(|k| packet(tone_pos + k * FRAME_48K, true)));
    packets
}

fn run(packets: Vec<OpusInput>, offset_s: f64) -> (Vec<i16>, TalkStats) {
    let mut out = WavWriter::in_memory();
    let offset = Duration::from_secs_f64(offset_s);
    let stats = transcode(packets, offset, SESSION, &mut out).expect("transcode");
    let bytes = out.finish().expect("finish").into_inner();
    (parse(&bytes), stats)
}

/// Checks the header is exactly 16 kHz mono s16 PCM and returns the samples.
fn parse(bytes: &[u8]) -> Vec<i16> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let u16_at = |at: usize| u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap());
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(u32_at(4) as usize, bytes.len() - 8);
    assert_eq!(&bytes[8..16], b"WAVEfmt ");
    assert_eq!((u32_at(16), u16_at(20), u16_at(22)), (16, 1, 1));
    assert_eq!((u32_at(24), u32_at(28)), (16_000, 32_000));
    assert_eq!((u16_at(32), u16_at(34)), (2, 16));
    assert_eq!(&bytes[36..40], b"data");
    assert_eq!(u32_at(40) as usize, bytes.len() - 44);
    bytes[44..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

fn rms(s: &[i16]) -> f64 {
    (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
}

/// Loud in 100 ms windows inside `[on, off]` (tenths of a second), silent
/// outside, with 100 ms of tolerance at each edge.
fn assert_tone_only(samples: &[i16], on: usize, off: usize) {
    assert_eq!(samples.len(), 80_000, "exactly 5 s");
    for (i, w) in samples.chunks_exact(1600).enumerate() {
        let level = rms(w);
        if i > on && i + 1 < off {
            assert!(level > 3000.0, "window {i}: {level} should be tone");
        } else if i + 1 < on || i > off {
            assert!(level < 30.0, "window {i}: {level} should be silent");
        }
    }
}

fn assert_talk(stats: &TalkStats) {
    assert!((stats.speech_seconds - 1.0).abs() <= 0.15, "{stats:?}");
}

/// Longest run of near-silent samples within `[from_s, to_s)`.
fn longest_hole(samples: &[i16], from_s: f64, to_s: f64) -> usize {
    let range = &samples[(from_s * 16_000.0) as usize..(to_s * 16_000.0) as usize];
    let (mut best, mut run) = (0, 0);
    for &s in range {
        run = if s.unsigned_abs() < 30 { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

#[test]
fn speakers_line_up_on_the_session_clock() {
    let (a, stats_a) = run(track(0.5, 1.0), 0.5);
    assert_tone_only(&a, 10, 20);
    assert_talk(&stats_a);
    let (b, stats_b) = run(track(0.0, 3.0), 0.0);
    assert_tone_only(&b, 30, 40);
    assert_talk(&stats_b);
    let (start, end) = stats_b.segments[0];
    assert!(
        (start - 3.0).abs() < 0.05 && (end - 4.0).abs() < 0.05,
        "{stats_b:?}"
    );
}

#[test]
fn short_loss_is_concealed() {
    let mut packets = track(0.5, 1.0);
    // Tone packets 25 and 26: 1.5 s to 1.54 s.
    packets.drain(30..32);
    let (samples, stats) = run(packets, 0.5);
    assert_tone_only(&samples, 10, 20);
    assert_talk(&stats);
    let hole = longest_hole(&samples, 1.2, 1.8);
    assert!(hole < 160, "a {hole}-sample hole where PLC should be");
}

#[test]
fn long_loss_is_silence() {
    let mut packets = track(0.5, 1.0);
    packets.drain(30..35); // 100 ms: more than concealment covers
    let (samples, _) = run(packets, 0.5);
    assert_eq!(samples.len(), 80_000);
    let hole = longest_hole(&samples, 1.2, 1.8);
    assert!((1500..=1700).contains(&hole), "{hole}");
}

#[test]
fn corrupt_packets_do_not_fail_the_file() {
    let mut packets = track(0.5, 1.0);
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    for (i, len) in [(12, 1), (20, 7), (33, 80), (40, 300)] {
        packets[i].data = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
    }
    packets[45].data.clear();
    let (samples, stats) = run(packets, 0.5);
    assert_eq!(samples.len(), 80_000);
    assert_talk(&stats);
}

#[test]
fn duplicates_reordering_and_overruns_never_move_backwards() {
    let mut packets = track(0.5, 1.0);
    packets.swap(20, 21); // 21 first, then 20 is late: skipped, concealed
    let dup = packets[25].clone();
    packets.insert(26, dup);
    // A packet far past the end of the session.
    let late = OpusInput {
        pos_48k: 48_000 * 60,
        data: packets[40].data.clone(),
    };
    packets.push(late);
    let (samples, stats) = run(packets, 0.5);
    assert_tone_only(&samples, 10, 20);
    assert_talk(&stats);
}

#[test]
fn a_track_outside_the_session_is_silence() {
    let (samples, stats) = run(track(6.0, 7.0), 6.0);
    assert_eq!(samples.len(), 80_000);
    assert!(samples.iter().all(|&s| s == 0));
    assert_eq!(stats, TalkStats::default());
    let (samples, _) = run(Vec::new(), 0.0);
    assert_eq!(samples.len(), 80_000);
}

#[test]
fn an_empty_wav_has_a_valid_header() {
    let bytes = WavWriter::in_memory().finish().unwrap().into_inner();
    assert_eq!(bytes.len(), 44);
    assert!(parse(&bytes).is_empty());
}

#[test]
fn ffprobe_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.wav");
    let file = io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut out = WavWriter::new(file).unwrap();
    let offset = Duration::from_millis(500);
    transcode(track(0.5, 1.0), offset, SESSION, &mut out).unwrap();
    out.finish().unwrap();
    let probe = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-of", "default=noprint_wrappers=1"])
        .args(["-show_entries", "stream=codec_name,sample_rate,channels"])
        .args(["-show_entries", "format=duration"])
        .arg(&path)
        .output();
    let Ok(probe) = probe else {
        eprintln!("skipped: ffprobe is not installed");
        return;
    };
    assert!(probe.status.success(), "{probe:?}");
    let text = String::from_utf8(probe.stdout).unwrap();
    for line in [
        "codec_name=pcm_s16le",
        "sample_rate=16000",
        "channels=1",
        "duration=5.000000",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in {text}");
    }
}
