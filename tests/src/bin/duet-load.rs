//! `duet-load`: runs N 1:1 calls of Rust WebRTC peers against a running Duet and reports
//! what Duet spent forwarding them. See `duet_tests::load`. `--peers light` runs them as
//! sans-IO peers on one media thread, cheap enough for the tool not to be the limit.
//!
//! ```text
//! duet-load --url http://127.0.0.1:8080 --api-key KEY --calls 20 --duration 20 \
//!           --ramp-up 5 --server-pid $(pidof duet) --json out.json
//! ```
// A command-line tool: what it prints is its product, not logging.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use duet_tests::load::{self, LoadConfig, PeerKind, Shape};
use duet_tests::soak::{self, SoakConfig};

const USAGE: &str = "\
usage: duet-load [options]
  --url URL          Duet's HTTP base (default http://127.0.0.1:8080)
  --ws-url URL       signaling WebSocket (default derived from --url)
  --api-key KEY      API key for creating sessions (default $DUET_API_KEY)
  --calls N          number of 1:1 calls (default 1)
  --duration SECS    measurement window (default 20)
  --ramp-up SECS     spread call starts over this long (default 5)
  --shape SHAPE      video each publisher sends: 320x240 (15 fps, default) or
                     640x480 (30 fps); Opus 20 ms either way
  --peers KIND       webrtc (default: webrtc-rs peers, several tasks each) or
                     light (sans-IO peers, all on one media thread: the tool
                     costs far less per call); same media, same counting
  --server-pid PID   Duet's pid, for CPU per packet and RSS per call
  --idle SECS        after the media window, measure Duet's CPU this long with
                     every call connected and no media (default 5; 0 skips it;
                     needs --server-pid); as long before the first call joins,
                     for the empty server's share, taken off per call
  --json FILE        also write the report as JSON to FILE
  --soak             soak mode (tests/soak.sh): hold the calls for --duration
                     while each runs recording cycles; needs --server-pid
  --data-dir DIR     (soak) Duet's data folder, to time the writer's stop
  --record-for SECS  (soak) how long each recording runs (default 5)
  --pause SECS       (soak) pause between a call's cycles (default 2)
  --sample-every SECS (soak) how often Duet is sampled (default 5)
  -h, --help         this text";

struct Args {
    cfg: LoadConfig,
    json: Option<String>,
    /// Set with `--soak`.
    soak: Option<SoakConfig>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Option<Args>> {
    let mut url = "http://127.0.0.1:8080".to_owned();
    let mut ws_url = None;
    let mut api_key = std::env::var("DUET_API_KEY").ok();
    let mut calls = 1usize;
    let mut duration = 20.0f64;
    let mut ramp_up = 5.0f64;
    let mut server_pid = None;
    let mut idle = 5.0f64;
    let mut shape = Shape::default();
    let mut peers = PeerKind::default();
    let mut json = None;
    let mut soak = false;
    let mut data_dir = None;
    let (mut record_for, mut pause, mut sample_every) = (5.0f64, 2.0f64, 5.0f64);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        if name == "-h" || name == "--help" {
            return Ok(None);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| anyhow!("{name} needs a value"))
        };
        match name.as_str() {
            "--url" => url = value()?,
            "--ws-url" => ws_url = Some(value()?),
            "--api-key" => api_key = Some(value()?),
            "--calls" => calls = value()?.parse().context("--calls")?,
            "--duration" => duration = value()?.parse().context("--duration")?,
            "--ramp-up" => ramp_up = value()?.parse().context("--ramp-up")?,
            "--server-pid" => server_pid = Some(value()?.parse().context("--server-pid")?),
            "--idle" => idle = value()?.parse().context("--idle")?,
            "--json" => json = Some(value()?),
            "--soak" => soak = true,
            "--data-dir" => data_dir = Some(value()?.into()),
            "--record-for" => record_for = value()?.parse().context("--record-for")?,
            "--pause" => pause = value()?.parse().context("--pause")?,
            "--sample-every" => sample_every = value()?.parse().context("--sample-every")?,
            "--shape" => {
                let v = value()?;
                shape = Shape::parse(&v)
                    .ok_or_else(|| anyhow!("--shape {v:?}: one of {}", Shape::NAMES.join(", ")))?;
            }
            "--peers" => {
                let v = value()?;
                peers = PeerKind::parse(&v).ok_or_else(|| {
                    anyhow!("--peers {v:?}: one of {}", PeerKind::NAMES.join(", "))
                })?;
            }
            other => bail!("unknown argument {other:?}"),
        }
    }
    let api_key = api_key.ok_or_else(|| anyhow!("--api-key (or DUET_API_KEY) is required"))?;
    if calls == 0 {
        bail!("--calls must be at least 1");
    }
    let secs = |v: f64, name: &str| -> anyhow::Result<Duration> {
        Duration::try_from_secs_f64(v).map_err(|_| anyhow!("{name} must be a non-negative number"))
    };
    let mut cfg = LoadConfig::new(&url, &api_key);
    if let Some(ws) = ws_url {
        cfg.ws_url = ws;
    }
    cfg.calls = calls;
    cfg.duration = secs(duration, "--duration")?;
    cfg.ramp_up = secs(ramp_up, "--ramp-up")?;
    cfg.server_pid = server_pid;
    cfg.idle = secs(idle, "--idle")?;
    cfg.shape = shape;
    cfg.peers = peers;
    if soak && peers != PeerKind::Webrtc {
        bail!("--soak runs webrtc peers (its recording cycles need them); leave out --peers");
    }
    let soak = match soak {
        true => Some(SoakConfig {
            load: cfg.clone(),
            data_dir,
            record_for: secs(record_for, "--record-for")?,
            pause: secs(pause, "--pause")?,
            sample_every: secs(sample_every.max(0.5), "--sample-every")?,
        }),
        false => None,
    };
    Ok(Some(Args { cfg, json, soak }))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("duet-load: {err:#}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    duet_tests::harness::init_tool_logging();
    if let Some(cfg) = &args.soak {
        return run_soak(cfg, args.json.as_deref()).await;
    }
    let report = match load::run(&args.cfg, |line| eprintln!("[duet-load] {line}")).await {
        Ok(report) => report,
        Err(err) => {
            eprintln!("duet-load: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", report.summary());
    if let Some(path) = &args.json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(anyhow::Error::from)
            .and_then(|text| std::fs::write(path, text + "\n").map_err(anyhow::Error::from));
        if let Err(err) = written {
            eprintln!("duet-load: writing {path}: {err:#}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

async fn run_soak(cfg: &SoakConfig, json: Option<&str>) -> ExitCode {
    let report = match soak::run(cfg, |line| eprintln!("[duet-soak] {line}")).await {
        Ok(report) => report,
        Err(err) => {
            eprintln!("duet-load --soak: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", report.summary());
    if let Some(path) = json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(anyhow::Error::from)
            .and_then(|text| std::fs::write(path, text + "\n").map_err(anyhow::Error::from));
        if let Err(err) = written {
            eprintln!("duet-load: writing {path}: {err:#}");
            return ExitCode::FAILURE;
        }
    }
    match report.failed_cycles == 0 && report.not_at_baseline.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}
