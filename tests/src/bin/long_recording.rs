//! `long_recording`: writes a long recording (60 minutes by default) into a Duet data folder,
//! in the recorder's own format, for the reflection page's benchmark
//! (`tests/bench/reflect-long.sh`).
//!
//! ```text
//! long_recording --data-dir DIR --session SESSION_ID [--minutes 60] [--cache DIR]
//! ```
//!
//! What it writes is what a real recording of that length leaves behind:
//!
//! - per person (mentor, mentee) a camera `.webm` and a voice `.ogg`, made by the server's own
//!   muxers (`WebmWriter`, `OggOpusWriter`): live WebM, then indexed (Cues, SeekHead,
//!   Duration) by `webm_cues::add_cues` as finalize does; one Ogg page per Opus packet. The
//!   mentee's tracks start 0.5 s after the mentor's, as when one person's media arrives a
//!   little later;
//! - `manifest.json` as finalize writes it (tracks with offsets and durations, talk time, "who
//!   spoke when" regions), plus the `transcript` entry a finished transcription job adds;
//! - `transcript.json`, `.vtt` and `.md` (about 15 segments a minute, alternating speakers,
//!   with word timings, as whisper's output has them), through the server's own `Transcript`;
//! - the recording's row in the database, `complete`.
//!
//! Not written: the two 16 kHz transcription WAVs (`mentor.wav`, `mentee.wav`). The manifest
//! names them, as a real one does, but the reflection page never fetches them, and each would
//! be 115 MB for an hour.
//!
//! The input media is made once with ffmpeg and kept in `--cache` (default
//! `~/.cache/duet-bench`): a 5-minute VP8 clip (320x240, 15 fps, 150 kbit/s, a keyframe every
//! 10 s) that is looped to fill the hour, and an hour of Opus (a tone, 24 kbit/s, 20 ms
//! frames). The loop starts on a keyframe, so the WebM is one continuous, decodable stream.
//!
//! The row can be written while a server runs on the same data folder: the database is in WAL
//! mode with a busy timeout, so this process's short write transaction simply waits for (or
//! goes between) the server's own, and the server reads recordings from the database on every
//! request, never from a cache. The folder is complete before the row says so.
//!
//! Prints one JSON line: `{"recording": ID, "dir": DIR, "bytes": {FILE: SIZE}}`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, anyhow, bail, ensure};
use duet_server::recorder::files;
use duet_server::recorder::frames::VideoCodec;
use duet_server::recorder::manifest::{
    self, Manifest, ManifestParticipant, ManifestSession, ManifestStatus, ManifestTrack,
    ManifestTranscript, ManifestTranscriptFiles,
};
use duet_server::recorder::ogg::{self, OggOpusWriter, Pushed};
use duet_server::recorder::probe::OpusPackets;
use duet_server::recorder::tap::TrackKind;
use duet_server::recorder::webm::{WebmWriter, Written};
use duet_server::recorder::webm_cues::{self, CuesAdded};
use duet_server::store::{RecordingRowStatus, Store};
use duet_server::transcript::document::{Segment, Transcript, Word};
use duet_server::transcript::job::{JSON_FILE, MD_FILE, VTT_FILE};
use duet_signaling::consent::RecordingId;
use duet_signaling::{Role, SessionId};
use duet_tests::ivf::IvfClip;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const USAGE: &str = "\
usage: long_recording --data-dir DIR --session SESSION_ID [--minutes N] [--cache DIR]
  --data-dir DIR   the server's data folder (its database and recordings/)
  --session ID     an existing session the recording belongs to
  --minutes N      length of the recording (default 60, at most 60)
  --cache DIR      where the ffmpeg-made input media is kept (default ~/.cache/duet-bench)";

/// Length of the looped camera clip: a whole number of keyframe intervals.
const CLIP_S: u32 = 300;
const FPS: u32 = 15;
/// Seconds between keyframes (ffmpeg's `-g`, in frames, is this times [`FPS`]).
const KEYFRAME_S: u32 = 10;
/// The voice input: long enough for the longest recording, never looped.
const VOICE_S: u32 = 3600;
/// When the mentee's tracks start on the recording's clock.
const MENTEE_OFFSET_S: f64 = 0.5;
/// Transcript segments per minute (about 900 in an hour).
const SEGMENTS_PER_MIN: u32 = 15;

struct Args {
    data_dir: PathBuf,
    session: SessionId,
    minutes: u32,
    cache: PathBuf,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let (mut data_dir, mut session, mut minutes, mut cache) = (None, None, 60, None);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| anyhow!("{arg} needs a value"));
        match arg.as_str() {
            "--data-dir" => data_dir = Some(PathBuf::from(value()?)),
            "--session" => {
                let v = value()?;
                let id = uuid::Uuid::parse_str(&v).with_context(|| format!("session id {v}"))?;
                session = Some(SessionId(id));
            }
            "--minutes" => minutes = value()?.parse().context("--minutes")?,
            "--cache" => cache = Some(PathBuf::from(value()?)),
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    ensure!(
        (1..=VOICE_S / 60).contains(&minutes),
        "--minutes must be 1..={}",
        VOICE_S / 60
    );
    let cache = match cache {
        Some(c) => c,
        None => PathBuf::from(std::env::var("HOME").context("HOME is not set")?)
            .join(".cache")
            .join("duet-bench"),
    };
    Ok(Args {
        data_dir: data_dir.ok_or_else(|| anyhow!("--data-dir is required\n{USAGE}"))?,
        session: session.ok_or_else(|| anyhow!("--session is required\n{USAGE}"))?,
        minutes,
        cache,
    })
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e:#}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("long_recording: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let (camera, voice) = inputs(&args.cache)?;
    let length_s = f64::from(args.minutes * 60);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime")?;
    let store = rt
        .block_on(Store::open(&duet_server::datadir::database_path(
            &args.data_dir,
        )))
        .context("opening the database")?;
    let session = rt
        .block_on(store.session(args.session))
        .context("reading the session")?
        .ok_or_else(|| anyhow!("no session {} in the database", args.session.0))?;

    let id = RecordingId(uuid::Uuid::new_v4());
    let dir = args.data_dir.join("recordings").join(id.to_string());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // It "happened" in the last hour, so nothing (retention, say) treats it as old.
    let stopped_at_ms = duet_server::clock::now_ms() - 60_000;
    let started_at_ms = stopped_at_ms - (length_s * 1000.0) as i64;

    let clip = IvfClip::load(&camera)?;
    let mut tracks = Vec::new();
    for role in [Role::Mentor, Role::Mentee] {
        let offset = match role {
            Role::Mentor => 0.0,
            Role::Mentee => MENTEE_OFFSET_S,
        };
        let span = length_s - offset;
        tracks.push(write_camera(&dir, role, &clip, offset, span)?);
        tracks.push(write_voice(&dir, role, &voice, offset, span)?);
    }

    let names = [
        (Role::Mentor, session.mentor_name.clone()),
        (Role::Mentee, session.mentee_name.clone()),
    ];
    let transcript = transcript(&names, length_s);
    let json = serde_json::to_vec_pretty(&transcript).context("transcript JSON")?;
    write_file(&dir.join(JSON_FILE), &json)?;
    write_file(&dir.join(VTT_FILE), transcript.to_vtt().as_bytes())?;
    write_file(
        &dir.join(MD_FILE),
        transcript.to_markdown(&session.title).as_bytes(),
    )?;

    let mut talk_time = BTreeMap::new();
    let mut transcripts = Vec::new();
    for (role, _) in &names {
        let speech: Vec<[f64; 2]> = transcript
            .segments
            .iter()
            .filter(|s| s.role == role.as_str())
            .map(|s| [s.start_s, s.end_s])
            .collect();
        let talk = round2(speech.iter().map(|[s, e]| e - s).sum());
        talk_time.insert(role.as_str().to_string(), talk);
        transcripts.push(ManifestTranscript {
            role: role.as_str().to_string(),
            file: files::transcript_file(*role),
            talk_seconds: talk,
            speech,
        });
    }
    let m = Manifest {
        id: id.to_string(),
        session: ManifestSession {
            id: session.id.0.to_string(),
            title: session.title.clone(),
        },
        participants: names
            .iter()
            .map(|(role, name)| ManifestParticipant {
                role: role.as_str().to_string(),
                name: name.clone(),
                participant_id: uuid::Uuid::new_v4().to_string(),
            })
            .collect(),
        notice_hash: "0".repeat(64),
        status: ManifestStatus::Complete,
        started_at: duet_server::clock::rfc3339(started_at_ms / 1000),
        stopped_at: Some(duet_server::clock::rfc3339(stopped_at_ms / 1000)),
        stop_reason: None,
        tracks,
        transcripts,
        talk_time,
        dropped_packets: 0,
        notes: Vec::new(),
        consent: Vec::new(),
        transcript: Some(ManifestTranscriptFiles {
            language: transcript.language.clone(),
            model: transcript.model.clone(),
            files: vec![JSON_FILE.into(), VTT_FILE.into(), MD_FILE.into()],
            segments: transcript.segments.len(),
        }),
        media_deleted: None,
    };
    manifest::write(&dir, &m).context("writing the manifest")?;

    rt.block_on(async {
        store
            .insert_recording(id, args.session, started_at_ms, "")
            .await?;
        store
            .set_recording_status(id, RecordingRowStatus::Complete, Some(stopped_at_ms))
            .await
    })
    .context("storing the recording's row")?;

    let mut bytes = BTreeMap::new();
    for name in m.files() {
        if let Ok(meta) = std::fs::metadata(dir.join(name)) {
            bytes.insert(name.to_string(), meta.len());
        }
    }
    println!(
        "{}",
        json!({"recording": id.to_string(), "dir": dir, "bytes": bytes, "segments": transcript.segments.len()})
    );
    Ok(())
}

/// The camera clip and the voice, made with ffmpeg the first time.
fn inputs(cache: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(cache).with_context(|| format!("creating {}", cache.display()))?;
    let camera = cache.join(format!("camera-{CLIP_S}s.ivf"));
    let voice = cache.join(format!("voice-{VOICE_S}s.ogg"));
    let (t_cam, t_voice) = (CLIP_S.to_string(), VOICE_S.to_string());
    let (src, gop) = (
        format!("testsrc=size=320x240:rate={FPS}"),
        (FPS * KEYFRAME_S).to_string(),
    );
    ffmpeg(
        &camera,
        "ivf",
        &[
            "-f",
            "lavfi",
            "-i",
            &src,
            "-t",
            &t_cam,
            "-c:v",
            "libvpx",
            "-b:v",
            "150k",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-g",
            &gop,
        ],
    )?;
    ffmpeg(
        &voice,
        "ogg",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:sample_rate=48000",
            "-t",
            &t_voice,
            "-c:a",
            "libopus",
            "-b:a",
            "24k",
            "-frame_duration",
            "20",
        ],
    )?;
    Ok((camera, voice))
}

/// Runs `nice -n 19 ffmpeg ARGS -f FORMAT OUT.part` and renames the result, unless `out`
/// exists already.
fn ffmpeg(out: &Path, format: &str, args: &[&str]) -> anyhow::Result<()> {
    if out.is_file() {
        return Ok(());
    }
    let part = out.with_extension("part");
    eprintln!("long_recording: making {} with ffmpeg", out.display());
    let status = Command::new("nice")
        .args([
            "-n",
            "19",
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
        ])
        .args(args)
        .args(["-f", format])
        .arg(&part)
        .status()
        .context("running ffmpeg")?;
    ensure!(status.success(), "ffmpeg failed making {}", out.display());
    std::fs::rename(&part, out).with_context(|| format!("renaming to {}", out.display()))?;
    Ok(())
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(BufWriter::with_capacity(64 * 1024, file))
}

fn close(out: BufWriter<File>, path: &Path) -> anyhow::Result<()> {
    let file = out
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("writing {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("syncing {}", path.display()))
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = create(path)?;
    out.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    close(out, path)
}

/// `span_s` seconds of the looped clip, at its own frame rate, through the recorder's muxer.
fn write_camera(
    dir: &Path,
    role: Role,
    clip: &IvfClip,
    offset_s: f64,
    span_s: f64,
) -> anyhow::Result<ManifestTrack> {
    let fps = f64::from(clip.timebase_denominator) / f64::from(clip.timebase_numerator);
    ensure!(
        clip.frames.first().is_some_and(|f| f.keyframe),
        "the camera clip does not start with a keyframe"
    );
    let total = (span_s * fps).round() as u64;
    let file = files::track_file(role, TrackKind::Camera, "webm");
    let path = dir.join(&file);
    let mut webm = WebmWriter::new(create(&path)?, VideoCodec::Vp8);
    let mut packets = 0;
    for (i, frame) in (0..total).zip(clip.frames.iter().cycle()) {
        // 90 kHz RTP time, continuous over the loops (and wrapping, as RTP does).
        let ts = ((i as f64) * 90_000.0 / fps).round() as u64;
        match webm.write_frame(ts as u32, frame.keyframe, &frame.data)? {
            Written::Written => packets += 1,
            other => bail!("{file}: frame {i} was not written: {other:?}"),
        }
    }
    let duration_s = webm.duration().as_secs_f64();
    close(webm.into_inner(), &path)?;
    let added = webm_cues::add_cues(&path).with_context(|| format!("indexing {file}"))?;
    ensure!(
        matches!(added, CuesAdded::Added { .. }),
        "{file} was not indexed: {added:?}"
    );
    Ok(ManifestTrack {
        file,
        role: role.as_str().to_string(),
        kind: TrackKind::Camera.as_str().to_string(),
        codec: "vp8".into(),
        start_offset_s: offset_s,
        duration_s,
        packets,
    })
}

/// The first `span_s` seconds of the voice's Opus packets, through the recorder's Ogg writer.
fn write_voice(
    dir: &Path,
    role: Role,
    voice: &Path,
    offset_s: f64,
    span_s: f64,
) -> anyhow::Result<ManifestTrack> {
    let input = File::open(voice).with_context(|| format!("opening {}", voice.display()))?;
    let packets_in = OpusPackets::new(BufReader::new(input))
        .with_context(|| format!("reading {}", voice.display()))?;
    let file = files::track_file(role, TrackKind::Audio, "ogg");
    let path = dir.join(&file);
    let mut ogg = OggOpusWriter::new(create(&path)?)?;
    let end = (span_s * f64::from(ogg::SAMPLE_RATE)) as u64;
    let (mut ts, mut packets) = (0u64, 0);
    for p in packets_in {
        let p = p.with_context(|| format!("reading {}", voice.display()))?;
        if ts >= end {
            break;
        }
        match ogg.push(ts as u32, &p.data)? {
            Pushed::Written => packets += 1,
            other => bail!("{file}: packet at {ts} was not written: {other:?}"),
        }
        ts += u64::from(ogg::opus_samples(&p.data).unwrap_or(960));
    }
    ensure!(ts >= end, "{} is shorter than {span_s} s", voice.display());
    let duration_s = ogg.duration().as_secs_f64();
    close(ogg.finish()?, &path)?;
    Ok(ManifestTrack {
        file,
        role: role.as_str().to_string(),
        kind: TrackKind::Audio.as_str().to_string(),
        codec: "opus".into(),
        start_offset_s: offset_s,
        duration_s,
        packets,
    })
}

const WORDS: &[&str] = &[
    "the", "budget", "review", "went", "well", "and", "I", "think", "we", "should", "talk",
    "about", "timeline", "for", "new", "team", "next", "week", "what", "was", "hardest", "part",
    "of", "it", "you", "said", "that", "feedback", "helped", "me", "see", "where", "plan", "needs",
    "more", "time", "with", "people", "on", "project", "maybe", "try", "again", "tomorrow", "so",
    "good", "question", "really",
];

/// About [`SEGMENTS_PER_MIN`] segments a minute, turns alternating, each 8 to 30 words with
/// their times, as the transcriber writes them (seeded: the same text every run).
fn transcript(names: &[(Role, String); 2], length_s: f64) -> Transcript {
    let mut rng = StdRng::seed_from_u64(60);
    let count = (length_s / 60.0 * f64::from(SEGMENTS_PER_MIN)).round() as usize;
    let slot = length_s / count as f64;
    let mut speakers: [Vec<Segment>; 2] = [Vec::new(), Vec::new()];
    for i in 0..count {
        let who = i % 2;
        let (role, name) = &names[who];
        let start = round2(i as f64 * slot + rng.random_range(0.0..0.4) + MENTEE_OFFSET_S);
        let end = round2((start + slot * rng.random_range(0.6..0.95)).min(length_s));
        let n: u32 = rng.random_range(8..=30);
        let step = (end - start) / f64::from(n);
        let words: Vec<Word> = (0..n)
            .map(|k| {
                let w = WORDS[rng.random_range(0..WORDS.len())];
                let at = start + step * f64::from(k);
                Word {
                    text: format!(" {w}"),
                    start_s: round2(at),
                    end_s: round2(at + step * 0.9),
                    p: rng.random_range(0.6..1.0),
                }
            })
            .collect();
        let mut text: String = words.iter().map(|w| w.text.as_str()).collect();
        text.push('.');
        speakers[who].push(Segment {
            role: role.as_str().to_string(),
            name: name.clone(),
            start_s: start,
            end_s: end,
            text: text.trim_start().to_string(),
            words,
        });
    }
    let [a, b] = speakers;
    Transcript::new(Some("en".into()), "ggml-base.en.bin".into(), vec![a, b])
}

fn round2(s: f64) -> f64 {
    (s * 100.0).round() / 100.0
}
