//! `duet serve` as the binary tests start it: loopback, free ports (HTTP,
//! UDP and ICE-TCP, so parallel tests never collide), JSON logs read from
//! standard error, no API key from the environment, and calls ended at once
//! on shutdown (tests/tests/drain.rs covers the grace period).

use std::path::Path;
use std::process::{Command, Stdio};

pub fn serve_command(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_duet"));
    cmd.arg("--data")
        .arg(data)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--media-port",
            "0",
            "--public-ip",
            "127.0.0.1",
            "--log-format",
            "json",
        ])
        .env_remove("DUET_API_KEY")
        .env("DUET_MEDIA_TCP_PORT", "0")
        .env("DUET_SHUTDOWN_GRACE_PERIOD_S", "0")
        .stderr(Stdio::piped());
    cmd
}
