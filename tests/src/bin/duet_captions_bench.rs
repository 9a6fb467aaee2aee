//! `duet_captions_bench`: what live captions cost on this machine. One
//! `duet` process (`DUET_BIN`) with the model `CAPTIONS_MODEL` (default:
//! the test model, tiny.en); two Rust peers in a call; the mentor turns
//! captions on and the mentee agrees; then the mentee says `SENTENCES`
//! known sentences (espeak-ng), each followed by two seconds of silence.
//!
//! Measures, after one sentence of warm-up:
//! - latency: the end of each sentence to the mentor receiving its final
//!   caption line (p50, p95, max);
//! - CPU of the mentee's caption thread (`duet-captions` in /proc), per
//!   second of speech and per second of silence;
//! - word error rate of the final lines against what was said.
//!
//! Prints one JSON line. Run by `tests/bench/captions.sh`; the numbers go
//! to docs/benchmarks.md ("Live captions").

// A command-line tool: its report is its output (each line on stderr).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use duet_tests::binary_server::BinaryServer;
use duet_tests::harness::{create_recordable_session_at, token};
use duet_tests::speech::{self, word_error_rate};
use duet_tests::{MediaKind, PeerOptions, TestPeer};
use serde_json::{Value, json};

const SAID: &[&str] = &[
    "I finished the migration plan and sent it to the team yesterday.",
    "The hardest part was agreeing on the order of the database changes.",
    "Next week I want to practice presenting the design to the whole group.",
    "Could you tell me how you prepare for a difficult conversation?",
    "I think the release went well, but the testing took longer than planned.",
    "Let us meet again on Friday and look at the open questions together.",
];

/// CPU seconds (user + system) of each thread named `duet-captions`.
fn caption_threads_cpu(pid: u32) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim() != "duet-captions" {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        // Fields after the command's closing parenthesis; utime and stime
        // are the 14th and 15th of the line, in clock ticks (100 a second).
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        out.push((
            task.file_name().to_string_lossy().into_owned(),
            (ticks(11) + ticks(12)) / 100.0,
        ));
    }
    out
}

/// The busiest caption thread's CPU seconds: the speaker's.
fn speaker_cpu(pid: u32) -> f64 {
    caption_threads_cpu(pid)
        .into_iter()
        .map(|(_, s)| s)
        .fold(0.0, f64::max)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn wait_status(peer: &TestPeer, ok: impl Fn(&Value) -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let last = peer
            .messages()
            .into_iter()
            .rev()
            .find(|m| m["type"] == "captions");
        if last.as_ref().is_some_and(&ok) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("captions status never came: {last:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Final lines of the mentee the mentor got after message `since`.
fn finals_since(mentor: &TestPeer, since: usize) -> Vec<String> {
    mentor.messages()[since..]
        .iter()
        .filter(|m| m["type"] == "caption" && m["role"] == "mentee" && m["final"] == true)
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let model = std::env::var_os("CAPTIONS_MODEL")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(speech::test_model);
    let sentences: usize = std::env::var("SENTENCES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let dir = tempfile::tempdir()?;
    let model_arg = model.display().to_string();
    let server = BinaryServer::start_with(
        dir.path(),
        &[
            "--public-ip",
            "127.0.0.1",
            "--listen",
            "127.0.0.1:0",
            "--transcription-model",
            &model_arg,
        ],
        &[],
    )?;
    let session = create_recordable_session_at(&server.url("")).await?;
    let quiet = |name: &str| PeerOptions {
        quiet: true,
        send_video: false,
        ..PeerOptions::named(name)
    };
    let ws = server.ws_url();
    let mentor = TestPeer::join(&ws, &token(&session, "mentor"), quiet("Ada")).await?;
    let mentee = TestPeer::join(&ws, &token(&session, "mentee"), quiet("Grace")).await?;
    mentee.wait_connected(Duration::from_secs(20)).await?;
    mentee
        .wait_until(
            |s| s.received.get(MediaKind::Audio).packets > 20,
            Duration::from_secs(20),
        )
        .await?;
    mentor.send_json(&json!({"type": "captions", "action": "on"}))?;
    wait_status(&mentee, |s| s["mentee"]["asked"] == true).await?;
    mentee.send_json(&json!({"type": "captions", "action": "accept"}))?;
    wait_status(&mentor, |s| s["mentee"]["agreed"] == true).await?;

    let mut latencies = Vec::new();
    let mut wers = Vec::new();
    let (mut speech_s, mut speech_cpu) = (0.0, 0.0);
    for i in 0..=sentences {
        let said = SAID[i % SAID.len()];
        let (frames, seconds) = speech::speak(said, "en-us")?;
        let since = mentor.messages().len();
        let cpu_before = speaker_cpu(server.pid());
        mentee.media().play_audio(frames);
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        let ended = Instant::now();
        let deadline = ended + Duration::from_secs(15);
        let heard = loop {
            let finals = finals_since(&mentor, since);
            let text = finals.join(" ");
            if !finals.is_empty() && word_error_rate(said, &text) < 0.5 {
                break Some((text, ended.elapsed()));
            }
            if Instant::now() > deadline {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        // The rest of the pause: the line is final by now.
        tokio::time::sleep(Duration::from_secs(2).saturating_sub(ended.elapsed())).await;
        let cpu = speaker_cpu(server.pid()) - cpu_before;
        if i == 0 {
            continue; // warm-up: the model's first pass
        }
        speech_s += seconds;
        speech_cpu += cpu;
        let (text, latency) = heard.with_context(|| format!("no caption of {said:?}"))?;
        latencies.push(latency.as_secs_f64() * 1000.0);
        wers.push(word_error_rate(said, &text));
        eprintln!("{:>6.0} ms  {text}", latency.as_secs_f64() * 1000.0);
        if std::env::var_os("CAPTIONS_BENCH_VERBOSE").is_some() {
            for m in &mentor.messages()[since..] {
                if m["type"] == "caption" {
                    eprintln!("          {} {} {}", m["line"], m["final"], m["text"]);
                }
            }
        }
    }
    // Silence: what a captioned speaker costs while they listen.
    let cpu_before = speaker_cpu(server.pid());
    tokio::time::sleep(Duration::from_secs(10)).await;
    let silence_cpu = (speaker_cpu(server.pid()) - cpu_before) / 10.0;

    latencies.sort_by(f64::total_cmp);
    let mean_wer = wers.iter().sum::<f64>() / wers.len().max(1) as f64;
    println!(
        "{}",
        json!({
            "model": model.file_name().map(|n| n.to_string_lossy().into_owned()),
            "sentences": latencies.len(),
            "latency_ms": {
                "p50": percentile(&latencies, 0.5).round(),
                "p95": percentile(&latencies, 0.95).round(),
                "max": latencies.last().copied().unwrap_or(f64::NAN).round(),
            },
            "cpu_s_per_speech_s": (speech_cpu / speech_s * 1000.0).round() / 1000.0,
            "cpu_s_per_silent_s": (silence_cpu * 1000.0).round() / 1000.0,
            "mean_wer": (mean_wer * 1000.0).round() / 1000.0,
        })
    );
    mentor.close().await;
    mentee.close().await;
    Ok(())
}
