//! End-to-end checks of the writers against ffprobe/ffmpeg (and opusinfo,
//! when installed), and of the readers in this module against the writers
//! and against ffmpeg's own files. A check whose tool is missing prints a
//! note and is skipped.
//!
//! For truncated files ffmpeg must exit 0; its messages are printed (run
//! with `--nocapture` to see them) but not failed on, since a cut tail is
//! expected to be reported.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::recorder::frames::tests::{Rtp, packetize, parse_ivf, vp8_packets};
use crate::recorder::frames::{FrameAssembler, VideoCodec, vp9_keyframe_size};
use crate::recorder::ogg::{self, OggOpusWriter, Pushed};
use crate::recorder::webm::{WebmWriter, Written};

const SILENCE: [u8; 3] = [0xF8, 0xFF, 0xFE];

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("note: `{tool}` not found, skipping the checks that need it");
    }
    ok
}

/// Runs `tool` with `args` split at spaces, `{}` standing for `path`;
/// returns (stdout, stderr), or stderr if it exits non-zero.
fn run(tool: &str, args: &str, path: &Path) -> Result<(String, String), String> {
    let args = args.split(' ').map(|a| {
        if a == "{}" {
            path.as_os_str()
        } else {
            OsStr::new(a)
        }
    });
    let out = Command::new(tool)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    match out.status.success() {
        true => Ok((String::from_utf8_lossy(&out.stdout).into_owned(), stderr)),
        false => Err(stderr),
    }
}

fn ffprobe_stream(path: &Path) -> serde_json::Value {
    let (json, _) = run(
        "ffprobe",
        "-v error -show_streams -show_format -of json {}",
        path,
    )
    .unwrap();
    serde_json::from_str::<serde_json::Value>(&json).unwrap()["streams"][0].clone()
}

/// Packet presentation times, in seconds, as ffprobe reads them.
fn packet_times(path: &Path) -> Vec<f64> {
    let args = "-v error -select_streams 0 -show_entries packet=pts_time -of csv=p=0 {}";
    let (csv, _) = run("ffprobe", args, path).unwrap();
    csv.lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect()
}

/// Decodes the whole file; returns ffmpeg's messages, failing on a
/// non-zero exit.
fn decode(path: &Path) -> String {
    run("ffmpeg", "-nostdin -v error -i {} -f null -", path)
        .unwrap()
        .1
}

/// Peak level (dBFS) of `path` between `from` and `to` seconds.
fn peak_db(path: &Path, decoder: &str, from: f64, to: f64) -> f64 {
    let args =
        format!("-nostdin -c:a {decoder} -i {{}} -af atrim={from}:{to},volumedetect -f null -");
    let (_, log) = run("ffmpeg", &args, path).unwrap();
    let level = log
        .split("max_volume: ")
        .nth(1)
        .and_then(|s| s.split(' ').next());
    level
        .and_then(|l| l.parse().ok())
        .unwrap_or(f64::NEG_INFINITY)
}

/// opusinfo's (opus-tools) warnings and errors, if it is installed: a
/// second, libogg-based opinion on an Ogg Opus stream.
fn opusinfo_complaints(path: &Path) -> Option<String> {
    let out = Command::new("opusinfo").arg(path).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    let complaints: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("WARNING") || l.contains("ERROR"))
        .collect();
    Some(complaints.join("\n"))
}

/// Copies of `data` cut at 60 % and 90 %, and at a few odd offsets.
fn truncations(dir: &Path, name: &str, data: &[u8]) -> Vec<(f64, PathBuf)> {
    let cut = |f: f64| {
        let path = dir.join(format!("{name}.{}", (f * 1000.0) as u32));
        std::fs::write(&path, &data[..(data.len() as f64 * f) as usize]).unwrap();
        (f, path)
    };
    [0.6, 0.9, 0.333, 0.777].into_iter().map(cut).collect()
}

fn assert_close(what: &str, got: f64, want: f64, tolerance: f64) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: {got} is not {want} ± {tolerance}"
    );
}

#[test]
fn ogg_of_silence_plays_and_survives_truncation() {
    let mut w = OggOpusWriter::with_serial(Vec::new(), 0x0D0E).unwrap();
    let base = u32::MAX - 5 * 960; // the RTP timestamp wraps after 0.1 s
    for i in 0..150u32 {
        assert_eq!(
            w.push(base.wrapping_add(i * 960), &SILENCE).unwrap(),
            Pushed::Written
        );
    }
    let data = w.finish().unwrap();
    let stats = ogg_duration(&data[..]).unwrap();
    assert_eq!(
        (stats.packets, stats.fill_packets, stats.last_granule),
        (150, 0, 144_000)
    );
    assert!(stats.eos && !stats.truncated);
    assert_eq!(stats.duration, samples_to_duration(144_000 - 312));
    let in_headers = ogg_duration(&data[..40]).unwrap();
    assert!(in_headers.packets == 0 && in_headers.truncated);
    assert!(matches!(
        OpusPackets::new(&data[..40]),
        Err(ProbeError::NoHeaders)
    ));
    assert!(matches!(
        ogg_duration(&[0u8; 64][..]),
        Err(ProbeError::NotOggOpus)
    ));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silence.ogg");
    std::fs::write(&path, &data).unwrap();
    let cuts = truncations(dir.path(), "silence.ogg", &data);
    for (fraction, cut) in &cuts {
        let s = ogg_duration_file(cut).unwrap();
        assert!(s.truncated && !s.eos);
        assert_close(
            "cut Ogg duration",
            s.duration.as_secs_f64(),
            3.0 * fraction,
            0.1,
        );
    }
    if !have("ffprobe") || !have("ffmpeg") {
        return;
    }
    let stream = ffprobe_stream(&path);
    assert_eq!(stream["codec_name"], "opus");
    assert_eq!(
        (stream["sample_rate"].as_str(), stream["channels"].as_u64()),
        (Some("48000"), Some(2))
    );
    let times = packet_times(&path);
    assert_eq!(times.len(), 150);
    assert_close(
        "Ogg length from packets",
        times[149] + 0.02 - times[0],
        3.0,
        0.001,
    );
    assert_eq!(decode(&path), "", "a whole file decodes silently");
    match opusinfo_complaints(&path) {
        Some(complaints) => assert_eq!(complaints, ""),
        None => eprintln!("note: `opusinfo` not found, skipping its check"),
    }
    for (fraction, cut) in &cuts {
        let messages = decode(cut);
        let times = packet_times(cut);
        let opusinfo = opusinfo_complaints(cut);
        eprintln!(
            "Ogg cut at {fraction}: {} packets; ffmpeg: {messages:?}; opusinfo: {opusinfo:?}",
            times.len()
        );
        assert_close("cut Ogg packets", times.len() as f64, 150.0 * fraction, 6.0);
    }
}

#[test]
fn ogg_remux_of_real_opus_with_a_gap() {
    if !have("ffmpeg") || !have("ffprobe") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("tone.ogg");
    let args = "-nostdin -v error -f lavfi -i sine=frequency=440:duration=3 -ac 2 -c:a libopus -frame_duration 20 {}";
    if let Err(e) = run("ffmpeg", args, &source) {
        eprintln!("note: ffmpeg cannot encode Opus here, skipping: {e}");
        return;
    }
    // The reader on a file ffmpeg wrote (several packets a page):
    let mut packets = OpusPackets::new(std::fs::File::open(&source).unwrap()).unwrap();
    assert_eq!(packets.head().channels, 2);
    let packets: Vec<OpusPacket> = packets.by_ref().map(Result::unwrap).collect();
    assert!((150..=152).contains(&packets.len()), "{}", packets.len());
    // ffmpeg trims the last packet to the input's end with the granule
    let steps: Vec<u64> = packets
        .windows(2)
        .map(|p| p[1].granule_end - p[0].granule_end)
        .collect();
    assert!(
        steps[..steps.len() - 1].iter().all(|&s| s == 960),
        "{steps:?}"
    );

    // Re-muxed by the writer with a 1 s hole after packet 50 (DTX-like).
    let mut w = OggOpusWriter::new(Vec::new()).unwrap();
    for (i, p) in packets.iter().enumerate() {
        let ts = 123_456u32.wrapping_add(i as u32 * 960 + if i >= 50 { 48_000 } else { 0 });
        assert_eq!(w.push(ts, &p.data).unwrap(), Pushed::Written);
    }
    let data = w.finish().unwrap();
    let path = dir.path().join("remux.ogg");
    std::fs::write(&path, &data).unwrap();
    let stats = ogg_duration_file(&path).unwrap();
    let want = packets.len() as f64 * 0.02 + 1.0 - 312.0 / 48_000.0;
    assert_close("probe duration", stats.duration.as_secs_f64(), want, 0.001);
    assert_eq!(
        (stats.packets, stats.fill_packets),
        (packets.len() as u64, 9)
    );
    let read: Vec<OpusPacket> = OpusPackets::new(&data[..])
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let (fill, audio): (Vec<_>, Vec<_>) = read.iter().partition(|p| ogg::is_gap_fill(&p.data));
    assert!(
        audio
            .iter()
            .map(|p| &p.data)
            .eq(packets.iter().map(|p| &p.data))
    );
    // The 1 s gap: 120 ms concealment in one packet, then 8 of silence.
    assert!(ogg::is_concealment(&fill[0].data) && !ogg::is_concealment(&fill[1].data));
    assert_eq!(fill[8].granule_end, 50 * 960 + 48_000);

    assert_eq!(ffprobe_stream(&path)["codec_name"], "opus");
    let times = packet_times(&path);
    assert_close("the gap's first fill", times[51] - times[50], 0.12, 0.001);
    assert_close("the packet after", times[59] - times[49], 1.02, 0.001);
    assert_eq!(decode(&path), "");
    if let Some(complaints) = opusinfo_complaints(&path) {
        assert_eq!(complaints, "");
    }
    // silent after the concealment, with ffmpeg's decoder and libopus
    for decoder in ["opus", "libopus"] {
        let peak = peak_db(&path, decoder, 1.2, 1.9);
        assert!(peak < -80.0, "{decoder}: {peak} dB in the gap");
        assert!(
            peak_db(&path, decoder, 0.5, 0.9) > -30.0,
            "{decoder}: tone before"
        );
    }
}

/// Runs RTP packets through the assembler into a WebM writer.
fn webm_from_rtp(codec: VideoCodec, frames: &[Vec<Rtp>]) -> Vec<u8> {
    let mut a = FrameAssembler::new(codec);
    let mut w = WebmWriter::new(Vec::new(), codec);
    for (seq, ts, marker, payload) in frames.iter().flatten() {
        if let Some(f) = a.push(*seq, *ts, *marker, payload) {
            let written = w.write_frame(f.timestamp, f.keyframe, f.data).unwrap();
            assert_eq!(written, Written::Written);
        }
    }
    assert_eq!(w.frames(), frames.len() as u64);
    w.into_inner()
}

fn assert_stream(path: &Path, codec: &str, width: u64, height: u64) {
    let stream = ffprobe_stream(path);
    assert_eq!(stream["codec_name"], codec);
    assert_eq!(
        (stream["width"].as_u64(), stream["height"].as_u64()),
        (Some(width), Some(height))
    );
}

#[test]
fn webm_of_the_vp8_fixture_plays_and_survives_truncation() {
    let (ivf, packets) = vp8_packets();
    let data = webm_from_rtp(VideoCodec::Vp8, &packets);
    let stats = webm_duration(&data[..]).unwrap();
    assert_eq!(stats.codec.as_deref(), Some("V_VP8"));
    assert_eq!(
        (stats.width, stats.height),
        (u64::from(ivf.width), u64::from(ivf.height))
    );
    assert_eq!(
        (stats.frames, stats.keyframes, stats.truncated),
        (45, 3, false)
    );
    assert_close("WebM duration", stats.duration.as_secs_f64(), 3.0, 0.002);
    assert_eq!(
        webm_duration(&[][..]).unwrap().frames,
        0,
        "nothing before a keyframe"
    );
    assert!(matches!(
        webm_duration(&b"OggS"[..]),
        Err(ProbeError::NotWebm)
    ));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("video.webm");
    std::fs::write(&path, &data).unwrap();
    let cuts = truncations(dir.path(), "video.webm", &data);
    for (fraction, cut) in &cuts {
        let s = webm_duration_file(cut).unwrap();
        assert!(s.truncated && s.frames < 45 && s.frames > 0, "{s:?}");
        // frames are uneven in size (keyframes are 3-4x larger)
        assert_close(
            "cut WebM duration",
            s.duration.as_secs_f64(),
            3.0 * fraction,
            0.5,
        );
    }
    if !have("ffprobe") || !have("ffmpeg") {
        return;
    }
    assert_stream(&path, "vp8", 320, 240);
    let times = packet_times(&path);
    assert_eq!(times.len(), 45);
    assert_close(
        "WebM length from packets",
        times[44] - times[0] + 1.0 / 15.0,
        3.0,
        0.002,
    );
    assert_eq!(decode(&path), "", "a whole file decodes silently");
    for (fraction, cut) in &cuts {
        let messages = decode(cut);
        let (times, frames) = (
            packet_times(cut).len(),
            webm_duration_file(cut).unwrap().frames,
        );
        eprintln!(
            "WebM cut at {fraction}: ffprobe {times} packets, probe {frames}; ffmpeg: {messages:?}"
        );
        assert!(times as u64 >= frames, "every whole block is readable");
    }
}

#[test]
fn webm_of_ffmpeg_vp9() {
    if !have("ffmpeg") || !have("ffprobe") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("vp9.ivf");
    let args = "-nostdin -v error -f lavfi -i testsrc2=size=320x240:rate=15 -t 3 -c:v libvpx-vp9 \
                -b:v 300k -g 15 -deadline realtime -lag-in-frames 0 {}";
    if let Err(e) = run("ffmpeg", args, &source) {
        eprintln!("note: ffmpeg cannot encode VP9 here, skipping: {e}");
        return;
    }
    let ivf = parse_ivf(&std::fs::read(&source).unwrap());
    let mut seq = 1;
    let packets: Vec<Vec<Rtp>> = ivf
        .frames
        .iter()
        .map(|(pts, frame)| {
            // descriptor: P (inter-picture predicted) 0x40, B 0x08, E 0x04
            let p = if vp9_keyframe_size(frame).is_some() {
                0
            } else {
                0x40
            };
            let ts = (pts * ivf.ticks_per_pts) as u32;
            packetize(&mut seq, ts, frame, 1000, |b, e| {
                p | u8::from(b) << 3 | u8::from(e) << 2
            })
        })
        .collect();
    let data = webm_from_rtp(VideoCodec::Vp9, &packets);
    let path = dir.path().join("vp9.webm");
    std::fs::write(&path, &data).unwrap();
    let stats = webm_duration_file(&path).unwrap();
    assert_eq!(
        (stats.codec.as_deref(), stats.width, stats.height),
        (Some("V_VP9"), 320, 240)
    );
    assert_eq!(stats.frames, 45);
    assert_stream(&path, "vp9", 320, 240);
    assert_eq!(packet_times(&path).len(), 45);
    assert_eq!(decode(&path), "");
}
