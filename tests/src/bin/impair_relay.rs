//! `impair_relay`: the impairment relay ([`ImpairRelay`]) as a process, for tests outside Rust
//! (the browser tests' `netbed.mjs`).
//!
//! ```text
//! impair_relay --server IP:PORT --front-ip IP [--port-file PATH] [--seed N]
//! ```
//!
//! Its first line on stdout is `{"front":"IP:PORT"}`, the address clients send to (the one the
//! server must advertise); `--port-file` gets the same line. Then it reads one JSON command a
//! line on stdin and answers each with one JSON line, `{"ok":true,...}` or
//! `{"ok":false,"error":"..."}`:
//!
//! - `{"cmd":"scenario","name":"loss-5"}`: both people's links from a named scenario
//! - `{"cmd":"events"}`: the current scenario's events, timed from now
//! - `{"cmd":"change_address","who":"mentee"}`: a new upstream port for that person
//! - `{"cmd":"outage","who":"mentee","secs":5}`: nothing through either way for that long
//! - `{"cmd":"classify","mentor_ufrag":"...","mentee_ufrag":"..."}`: who is who, by the
//!   server-side ufrag (the first part of USERNAME in checks sent to the server) or the TURN
//!   username (requests to a TURN server); either may
//!   be left out, and later calls add to earlier ones
//! - `{"cmd":"stats"}`: `{"ok":true,"stats":{...},"clients":[...]}`
//!
//! It exits when stdin closes.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use duet_tests::impair::{ImpairRelay, Scenario, Who};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

struct Args {
    server: SocketAddr,
    front_ip: IpAddr,
    port_file: Option<PathBuf>,
    seed: Option<u64>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut server = None;
    let mut front_ip = None;
    let mut port_file = None;
    let mut seed = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--server" => server = Some(value()?.parse().context("--server IP:PORT")?),
            "--front-ip" => front_ip = Some(value()?.parse().context("--front-ip IP")?),
            "--port-file" => port_file = Some(PathBuf::from(value()?)),
            "--seed" => seed = Some(value()?.parse().context("--seed N")?),
            other => bail!(
                "unknown argument {other}; usage: impair_relay --server IP:PORT --front-ip IP \
                 [--port-file PATH] [--seed N]"
            ),
        }
    }
    Ok(Args {
        server: server.context("--server IP:PORT is required")?,
        front_ip: front_ip.context("--front-ip IP is required")?,
        port_file,
        seed,
    })
}

#[derive(Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
enum Command {
    Scenario {
        name: String,
    },
    Events,
    ChangeAddress {
        who: Who,
    },
    Outage {
        who: Who,
        secs: f64,
    },
    Classify {
        mentor_ufrag: Option<String>,
        mentee_ufrag: Option<String>,
    },
    Stats,
}

/// The relay and what the commands have set up on it.
struct Control {
    relay: ImpairRelay,
    scenario: Scenario,
    /// Server-side ufrag → person; the installed classifier reads it.
    ufrags: Arc<Mutex<HashMap<String, Who>>>,
}

impl Control {
    fn new(relay: ImpairRelay) -> Control {
        let ufrags: Arc<Mutex<HashMap<String, Who>>> = Arc::default();
        let map = Arc::clone(&ufrags);
        relay.assign(move |username| {
            let server_ufrag = username.split(':').next()?;
            map.lock().ok()?.get(server_ufrag).copied()
        });
        Control {
            relay,
            scenario: Scenario::clean("clean"),
            ufrags,
        }
    }

    fn run(&mut self, line: &str) -> anyhow::Result<Value> {
        let command: Command = serde_json::from_str(line).context("not a known command")?;
        Ok(match command {
            Command::Scenario { name } => {
                let scenario = Scenario::by_name(&name).with_context(|| {
                    format!("no scenario {name:?}; known: {:?}", Scenario::NAMES)
                })?;
                self.relay.set_scenario(&scenario);
                self.scenario = scenario;
                json!({ "ok": true, "scenario": self.scenario })
            }
            Command::Events => {
                self.relay.run_events(&self.scenario);
                json!({ "ok": true, "events": self.scenario.events.len() })
            }
            Command::ChangeAddress { who } => {
                let moved = self.relay.change_address(who)?;
                json!({ "ok": true, "moved": moved })
            }
            Command::Outage { who, secs } => {
                if !(secs.is_finite() && secs >= 0.0) {
                    bail!("secs must be a non-negative number, not {secs}");
                }
                self.relay.outage(who, secs);
                json!({ "ok": true })
            }
            Command::Classify {
                mentor_ufrag,
                mentee_ufrag,
            } => {
                let mut map = self
                    .ufrags
                    .lock()
                    .map_err(|_| anyhow::anyhow!("the ufrag map is poisoned"))?;
                for (ufrag, who) in [(mentor_ufrag, Who::Mentor), (mentee_ufrag, Who::Mentee)] {
                    if let Some(ufrag) = ufrag.filter(|u| !u.is_empty()) {
                        map.insert(ufrag, who);
                    }
                }
                json!({ "ok": true, "known": map.len() })
            }
            Command::Stats => json!({
                "ok": true,
                "stats": self.relay.stats(),
                "clients": self.relay.clients(),
            }),
        })
    }
}

fn say(value: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{value}").context("writing to stdout")?;
    out.flush().context("flushing stdout")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let relay = match args.seed {
        Some(seed) => ImpairRelay::start_seeded(args.server, args.front_ip, seed),
        None => ImpairRelay::start(args.server, args.front_ip),
    }
    .context("starting the relay")?;
    let hello = json!({ "front": relay.addr().to_string(), "server": args.server.to_string() });
    if let Some(path) = &args.port_file {
        std::fs::write(path, format!("{hello}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    say(&hello)?;
    let mut control = Control::new(relay);
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await.context("reading stdin")? {
        if line.trim().is_empty() {
            continue;
        }
        let reply = control
            .run(&line)
            .unwrap_or_else(|e| json!({ "ok": false, "error": format!("{e:#}") }));
        say(&reply)?;
    }
    Ok(())
}
