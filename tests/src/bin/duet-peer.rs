//! `duet-peer`: one participant as a real WebRTC peer (the shared `TestPeer`: Opus tone and
//! VP8 clip), for tests outside Rust (the browser tests) that need people in a call.
//!
//! ```text
//! duet-peer --ws ws://127.0.0.1:8080/api/v1/ws --token TOKEN --name Ada [--request | --record]
//! ```
//!
//! Standard output gets one line per event, so a test can wait on them:
//!
//! | line | when |
//! |---|---|
//! | `connected` | the peer connection is connected and media flows |
//! | `recording` | the recording started (both consented) |
//! | `recording off` | a recording that ran has stopped |
//! | `ended <reason>` | the server sent `session_ended`; the peer exits 0 |
//! | `closed <why>` | the signaling socket closed otherwise; the peer exits 1 |
//!
//! It keeps sending until standard input closes or it gets SIGTERM or SIGINT, then sends
//! `leave` and exits 0. Errors go to standard error, with exit status 1 (2 for bad arguments).
// A command-line tool: what it prints is its product, not logging.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use duet_tests::{PeerOptions, TestPeer};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::signal::unix::{SignalKind, signal};

const USAGE: &str = "\
usage: duet-peer --ws URL --token TOKEN --name NAME [--record | --request]
  --ws URL        the signaling WebSocket, e.g. ws://127.0.0.1:8080/api/v1/ws
  --token TOKEN   a join token (the part of a join link after '#')
  --name NAME     the display name sent in join
  --record        consent to any recording request, with the notice's hash
  --request       also ask for a recording once the other person is in the call
                  (and consent to it); implies --record
  -h, --help      this text
Prints `connected` once media is connected, `recording` / `recording off` when a
recording starts / stops, `ended <reason>` when the session ends. Leaves when
standard input closes or on SIGTERM/SIGINT.";

/// How long to wait for the peer connection to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

struct Args {
    ws: String,
    token: String,
    name: String,
    consent: bool,
    request: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Option<Args>> {
    let (mut ws, mut token, mut name) = (None, None, None);
    let (mut consent, mut request) = (false, false);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--ws" => ws = Some(value()?),
            "--token" => token = Some(value()?),
            "--name" => name = Some(value()?),
            "--record" => consent = true,
            "--request" => {
                request = true;
                consent = true;
            }
            other => bail!("unknown argument {other:?}"),
        }
    }
    Ok(Some(Args {
        ws: ws.ok_or_else(|| anyhow!("--ws is required"))?,
        token: token.ok_or_else(|| anyhow!("--token is required"))?,
        name: name.ok_or_else(|| anyhow!("--name is required"))?,
        consent,
        request,
    }))
}

/// One line on standard output, flushed at once (stdout is a pipe in tests).
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// What the peer has seen of the call, from the server's messages in order.
#[derive(Default)]
struct Call {
    role: String,
    peer_present: bool,
    requested: bool,
    /// The `notice_hash` of the request this peer last consented to.
    consented_to: Option<String>,
    recording: bool,
}

impl Call {
    /// Applies one server message: answers recording requests, and returns `Some(reason)`
    /// when the session ended.
    fn apply(
        &mut self,
        msg: &Value,
        peer: &TestPeer,
        args: &Args,
    ) -> anyhow::Result<Option<String>> {
        match msg["type"].as_str().unwrap_or("") {
            "joined" => {
                self.role = msg["you"]["role"].as_str().unwrap_or("").to_owned();
                self.peer_present = !msg["peer"].is_null();
                self.recording_status(&msg["recording"], peer, args)?;
            }
            "peer_joined" => self.peer_present = true,
            "peer_left" => self.peer_present = false,
            "recording" => self.recording_status(msg, peer, args)?,
            "session_ended" => {
                return Ok(Some(msg["reason"].as_str().unwrap_or("unknown").to_owned()));
            }
            "error" => eprintln!("duet-peer: server error: {msg}"),
            _ => {}
        }
        if args.request && !self.requested && self.peer_present && !self.recording {
            self.requested = true;
            peer.send_json(&json!({"type": "recording", "action": "request"}))?;
        }
        Ok(None)
    }

    fn recording_status(
        &mut self,
        status: &Value,
        peer: &TestPeer,
        args: &Args,
    ) -> anyhow::Result<()> {
        let state = status["state"].as_str().unwrap_or("off");
        let was = self.recording;
        self.recording = state == "recording";
        if self.recording && !was {
            say("recording");
        } else if was && !self.recording {
            say("recording off");
        }
        if state != "requested" || !args.consent {
            return Ok(());
        }
        let mine = status["consented"]
            .as_array()
            .is_some_and(|c| c.iter().any(|r| r.as_str() == Some(self.role.as_str())));
        let hash = status["notice_hash"].as_str().map(str::to_owned);
        if !mine && self.consented_to != hash {
            peer.send_json(
                &json!({"type": "recording", "action": "consent", "notice_hash": hash}),
            )?;
            self.consented_to = hash;
        }
        Ok(())
    }
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let peer = TestPeer::join(&args.ws, &args.token, PeerOptions::named(&args.name))
        .await
        .context("joining")?;

    // Ends the wait below when standard input closes (or cannot be read).
    let (stdin_tx, mut stdin_closed) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 256];
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
        let _ = stdin_tx.send(());
    });
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;

    let mut call = Call::default();
    let mut seen = 0usize;
    let mut connected = false;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let connect_deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
    let code = loop {
        tokio::select! {
            _ = &mut stdin_closed => break ExitCode::SUCCESS,
            _ = term.recv() => break ExitCode::SUCCESS,
            _ = int.recv() => break ExitCode::SUCCESS,
            _ = tick.tick() => {}
        }
        if !connected {
            if peer.stats().connected() {
                connected = true;
                say("connected");
            } else if tokio::time::Instant::now() > connect_deadline {
                bail!("media did not connect within {CONNECT_TIMEOUT:?}");
            } else if !peer.is_closed() {
                // Messages wait until then, so `connected` is always the first line.
                continue;
            }
        }
        let log = peer.messages();
        for msg in log.iter().skip(seen) {
            if let Some(reason) = call.apply(msg, &peer, &args)? {
                say(&format!("ended {reason}"));
                peer.close().await;
                return Ok(ExitCode::SUCCESS);
            }
        }
        seen = log.len();
        if peer.is_closed() {
            let why = peer.signal().close_reason().unwrap_or_default();
            say(&format!("closed {why}"));
            peer.close().await;
            return Ok(ExitCode::FAILURE);
        }
    };
    let _ = peer.leave().await;
    Ok(code)
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
            eprintln!("duet-peer: {err:#}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    duet_tests::harness::init_tool_logging();
    match run(args).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("duet-peer: {err:#}");
            ExitCode::FAILURE
        }
    }
}
