//! [`BinaryServer`]: the real `duet` binary as a child process, for what an
//! in-process server cannot show: signals, a SIGKILL, a restart on the same
//! data folder, and what the process writes to its log.

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use crate::harness::{API_KEY, duet_bin};

pub struct BinaryServer {
    child: Child,
    pub http: SocketAddr,
    /// Every line the server wrote to stderr (JSON log records).
    logs: Arc<Mutex<Vec<String>>>,
}

impl BinaryServer {
    /// `duet serve` on loopback with free ports, JSON logs and the test API
    /// key.
    pub fn start(data: &std::path::Path) -> anyhow::Result<BinaryServer> {
        Self::start_with(
            data,
            &["--listen", "127.0.0.1:0", "--public-ip", "127.0.0.1"],
            &[],
        )
    }

    /// One of several nodes: `duet serve` on loopback as [`start`](Self::start),
    /// named `id`, on the PostgreSQL at `database`.
    pub fn start_node(
        data: &std::path::Path,
        id: &str,
        database: &str,
    ) -> anyhow::Result<BinaryServer> {
        Self::start_node_with(data, id, database, &[], &[])
    }

    /// [`start_node`](Self::start_node) with more `serve` flags and
    /// environment variables.
    pub fn start_node_with(
        data: &std::path::Path,
        id: &str,
        database: &str,
        more_args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<BinaryServer> {
        let mut args = vec![
            "--listen",
            "127.0.0.1:0",
            "--public-ip",
            "127.0.0.1",
            "--node-id",
            id,
            "--database-url",
            database,
        ];
        args.extend_from_slice(more_args);
        Self::start_with(data, &args, env)
    }

    /// `duet serve` with `serve_args` (besides a free media port and JSON
    /// logs) and extra environment variables.
    pub fn start_with(
        data: &std::path::Path,
        serve_args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<BinaryServer> {
        let mut child = Command::new(duet_bin())
            .arg("--data")
            .arg(data)
            .args(["serve", "--media-port", "0", "--log-format", "json"])
            .args(serve_args)
            .env("DUET_API_KEY", API_KEY)
            .env("DUET_MEDIA_TCP_PORT", "0")
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", duet_bin().display()))?;
        let stderr = child.stderr.take().context("stderr")?;
        let logs = Arc::new(Mutex::new(Vec::new()));
        let mut lines = std::io::BufReader::new(stderr).lines();
        let http = loop {
            let line = lines.next().context("the server exited before it ran")??;
            let running = serde_json::from_str::<Value>(&line)
                .ok()
                .and_then(|v| v["fields"]["http"].as_str().map(str::to_owned));
            push(&logs, line);
            if let Some(addr) = running {
                break addr.parse()?;
            }
        };
        let keep = Arc::clone(&logs);
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| push(&keep, l)));
        Ok(BinaryServer { child, http, logs })
    }

    /// The process id, e.g. to read its threads' CPU time in /proc.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/api/v1/ws", self.http)
    }

    /// The log so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Sends a signal by name (`TERM`, `HUP`, `INT`) with kill(1).
    pub fn signal(&self, name: &str) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()?;
        anyhow::ensure!(status.success(), "kill -{name} failed");
        Ok(())
    }

    /// Waits up to `limit` for the process to exit.
    pub async fn wait_exit(&mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            anyhow::ensure!(Instant::now() < deadline, "still running after {limit:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown, no finalizing, as in a crash.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn push(logs: &Mutex<Vec<String>>, line: String) {
    if let Ok(mut logs) = logs.lock() {
        logs.push(line);
    }
}

impl Drop for BinaryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
