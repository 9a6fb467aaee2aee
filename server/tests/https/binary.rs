//! The real `duet` binary: SIGHUP swaps the certificate, unusable files
//! are refused with a warning, and bad files at startup are named.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::certs::{self, TestCa};
use crate::common_serve::serve_command;

const DUET: &str = env!("CARGO_BIN_EXE_duet");

fn write_config(dir: &Path, cert: &Path, key: &Path) -> std::path::PathBuf {
    let file = dir.join("duet.toml");
    let text = format!(
        "[http]\ntls_cert_file = {:?}\ntls_key_file = {:?}\n",
        cert.display().to_string(),
        key.display().to_string()
    );
    std::fs::write(&file, text).expect("write config");
    file
}

fn duet_serve(dir: &Path, config: &Path) -> Command {
    // `--config` is global: it may follow the subcommand.
    let mut cmd = serve_command(&dir.join("data"));
    cmd.arg("--config").arg(config);
    cmd
}

/// A running `duet serve` whose JSON log lines arrive on a channel.
struct Server {
    child: Child,
    http: SocketAddr,
    log: mpsc::Receiver<Value>,
}

impl Server {
    fn start(mut cmd: Command) -> Server {
        let mut child = cmd.spawn().expect("duet serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, log) = mpsc::channel();
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        let mut server = Server {
            child,
            http: SocketAddr::from(([0, 0, 0, 0], 0)),
            log,
        };
        let running = server.wait_log(|v| v["fields"]["http"].is_string());
        assert_eq!(running["fields"]["scheme"], "https");
        server.http = running["fields"]["http"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .expect("the HTTP address");
        server
    }

    /// The first log line from now on that `matches`; panics after 10 s.
    fn wait_log(&mut self, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(v) if matches(&v) => return v,
                Ok(_) => {}
                Err(e) => panic!("no such log line: {e}"),
            }
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn sighup_reloads_the_certificate_and_keeps_it_when_the_files_are_bad() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    let (a, b) = (ca.server_cert("duet-a"), ca.server_cert("duet-b"));
    let (cert_file, key_file) = certs::write(dir.path(), &a);
    let config = write_config(dir.path(), &cert_file, &key_file);
    let mut server = Server::start(duet_serve(dir.path(), &config));
    let served = ca.served_cert(server.http).await.expect("handshake");
    assert_eq!(served, a.der, "serves cert A at startup");

    certs::write(dir.path(), &b);
    server.signal("HUP");
    server.wait_log(|v| v["fields"]["message"] == "SIGHUP: TLS certificate reloaded");
    let served = ca.served_cert(server.http).await.expect("handshake");
    assert_eq!(served, b.der, "a new connection gets cert B");

    std::fs::write(&cert_file, "garbage").expect("write");
    std::fs::write(&key_file, "garbage").expect("write");
    server.signal("HUP");
    let warning = server.wait_log(|v| v["level"] == "WARN");
    let error = warning["fields"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(&cert_file.display().to_string()),
        "the warning names the file: {warning}"
    );
    let served = ca.served_cert(server.http).await.expect("still serving");
    assert_eq!(served, b.der, "a failed reload keeps cert B");

    server.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
}

/// Runs `cmd` to its end (at most 10 s) and gives its standard error.
fn failure_output(mut cmd: Command) -> String {
    let mut child = cmd.stdout(Stdio::null()).spawn().expect("duet starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("duet kept running with an unusable certificate");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("read stderr");
    }
    assert!(!status.success(), "must fail: {stderr}");
    stderr
}

#[test]
fn a_missing_or_bad_certificate_file_stops_startup_and_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    let (_, key_file) = certs::write(dir.path(), &ca.server_cert("duet-a"));
    let missing = dir.path().join("missing-cert.pem");
    let config = write_config(dir.path(), &missing, &key_file);

    let stderr = failure_output(duet_serve(dir.path(), &config));
    assert!(stderr.contains("missing-cert.pem"), "{stderr}");

    let mut check = Command::new(DUET);
    check
        .args(["config", "check"])
        .arg(&config)
        .stderr(Stdio::piped());
    let stderr = failure_output(check);
    assert!(stderr.contains("missing-cert.pem"), "{stderr}");

    let bad_key = dir.path().join("bad-key.pem");
    std::fs::write(&bad_key, "not a key").expect("write");
    let config = write_config(dir.path(), &dir.path().join("cert.pem"), &bad_key);
    let stderr = failure_output(duet_serve(dir.path(), &config));
    assert!(stderr.contains("bad-key.pem"), "{stderr}");
}
