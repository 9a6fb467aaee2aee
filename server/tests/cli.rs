//! The `duet` binary itself: its help, its commands, and a graceful stop on
//! SIGTERM with participants told the session ended.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[path = "common/serve.rs"]
mod common_serve;

use common_serve::serve_command;

const DUET: &str = env!("CARGO_BIN_EXE_duet");

fn duet(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(DUET)
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("DUET_API_KEY")
        .output()
        .expect("duet runs")
}

fn help(args: &[&str]) -> String {
    let out = Command::new(DUET).args(args).output().expect("duet runs");
    String::from_utf8(out.stdout).expect("utf8")
}

#[test]
fn help_documents_every_command_and_flag() {
    let top = help(&["--help"]);
    for word in [
        "serve",
        "apikey",
        "session",
        "--config",
        "--data",
        "DUET_API_KEY",
    ] {
        assert!(top.contains(word), "duet --help lacks {word}:\n{top}");
    }
    let serve = help(&["serve", "--help"]);
    for word in [
        "--listen",
        "--media-port",
        "--public-ip",
        "--public-port",
        "--public-url",
        "--data",
        "DUET_LISTEN",
        "DUET_MEDIA_PORT",
        "DUET_PUBLIC_IP",
        "DUET_DATA",
    ] {
        assert!(
            serve.contains(word),
            "duet serve --help lacks {word}:\n{serve}"
        );
    }
}

#[test]
fn session_create_prints_both_links() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = duet(
        data.path(),
        &[
            "session", "create", "--title", "Intro", "--mentor", "Ada", "--mentee", "Grace",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf8");
    let links: Vec<&str> = text.lines().filter(|l| l.contains("/join#")).collect();
    assert_eq!(links.len(), 2, "{text}");
    assert!(
        links[0].starts_with("mentor (Ada): http://127.0.0.1:8080/join#"),
        "{text}"
    );
    assert!(
        links[1].starts_with("mentee (Grace): http://127.0.0.1:8080/join#"),
        "{text}"
    );

    let bad = duet(
        data.path(),
        &[
            "session", "create", "--title", " ", "--mentor", "A", "--mentee", "B",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("title"));
}

#[test]
fn a_bad_config_file_names_the_field() {
    let data = tempfile::tempdir().expect("tempdir");
    let file = data.path().join("duet.toml");
    std::fs::write(&file, "[media]\nprot = 7882\n").expect("write");
    let out = Command::new(DUET)
        .arg("--config")
        .arg(&file)
        .args([
            "session", "create", "--title", "x", "--mentor", "a", "--mentee", "b",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("prot"));
}

struct Server {
    child: Child,
    http: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Starts `duet serve` on free ports and reads its HTTP address from the
/// JSON startup log line.
fn serve(data: &std::path::Path) -> Server {
    let mut child = serve_command(data).spawn().expect("duet serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let http = loop {
        let line = lines.next().expect("a startup line").expect("readable");
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if let Some(addr) = v["fields"]["http"].as_str() {
            break addr.to_string();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Server { child, http }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Ws) -> Option<Value> {
    match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str(&t).ok(),
        _ => None,
    }
}

#[tokio::test]
async fn an_api_key_works_and_sigterm_ends_sessions_gracefully() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = duet(data.path(), &["apikey", "create"]);
    assert!(out.status.success());
    let key = String::from_utf8(out.stdout).expect("utf8");
    assert_eq!(key.lines().count(), 1, "the key alone: {key:?}");
    let key = key.trim().to_string();
    let db = std::fs::read(data.path().join("duet.sqlite3")).expect("database");
    assert!(
        !db.windows(key.len()).any(|w| w == key.as_bytes()),
        "only a hash is stored"
    );

    let mut server = serve(data.path());
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let session: Value = http
        .post(format!("http://{}/api/v1/sessions", server.http))
        .bearer_auth(&key)
        .json(&json!({"title":"t","mentor":{"name":"a"},"mentee":{"name":"b"}}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let token = session["tokens"]["mentor"]
        .as_str()
        .expect("a token: the key worked");
    let link = session["links"]["mentor"].as_str().expect("link");
    assert!(
        link.starts_with(&format!("http://{}/join#", server.http)),
        "links use the bound port, not :0: {link}"
    );

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/api/v1/ws", server.http))
        .await
        .expect("ws");
    let join = json!({"type":"join","token":token}).to_string();
    ws.send(Message::Text(join.into())).await.expect("join");
    let joined = next_json(&mut ws).await.expect("joined");
    assert_eq!(joined["type"], "joined");

    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let started = Instant::now();
    let ended = next_json(&mut ws).await.expect("a message before closing");
    assert_eq!(ended["type"], "session_ended");
    assert_eq!(ended["reason"], "server_shutdown");
    loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running after 10 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn config_check_accepts_the_example_and_names_the_bad_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/duet.example.toml");
    let out = duet(dir.path(), &["config", "check", example]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));

    for (text, field) in [
        ("[media]\nprot = 7882\n", "prot"),
        (
            "[turn]\nurls = [\"turn:t.example.com\"]\n",
            "turn.shared_secret",
        ),
        ("[shutdown]\ngrace_period_s = \"soon\"\n", "grace_period_s"),
        ("[retention]\nrecordings_days = -1\n", "recordings_days"),
    ] {
        let file = dir.path().join("duet.toml");
        std::fs::write(&file, text).expect("write");
        let out = duet(
            dir.path(),
            &["config", "check", file.to_str().expect("utf8 path")],
        );
        assert!(!out.status.success(), "{text} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(field), "{text}: {err}");
    }
}

#[tokio::test]
async fn sighup_without_tls_keeps_serving() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = serve(data.path());
    let pid = server.child.id().to_string();
    let status = Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        server.child.try_wait().expect("wait").is_none(),
        "SIGHUP (systemctl reload) ended a plain-HTTP server"
    );
    let health = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("http://{}/healthz", server.http))
        .send()
        .await
        .expect("still serving");
    assert_eq!(health.status().as_u16(), 200);
}
