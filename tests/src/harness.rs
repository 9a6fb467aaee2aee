//! Starts a real Duet server in-process for a test: HTTP, media and
//! ICE-TCP media on port 0 on loopback, a fresh data folder, a known API key, advertising
//! 127.0.0.1 (tests run in a loopback-only network namespace). With
//! `DUET_TEST_DATABASE_URL` set, each server gets a fresh PostgreSQL
//! database instead of the embedded SQLite one (`tests/postgres.sh`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::Context;
use duet_server::store::scratch::ScratchDatabase;
use duet_server::{Config, Listeners};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::{PeerOptions, TestPeer};
use tokio::task::JoinHandle;

pub const API_KEY: &str = "test-api-key-0123456789abcdef";

pub struct TestServer {
    pub http: SocketAddr,
    pub media: SocketAddr,
    /// The ICE-TCP listener, when `media.ice_tcp` is on (it is by default).
    pub media_tcp: Option<SocketAddr>,
    pub config: Config,
    pub data: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), duet_server::ServerError>>>,
    /// The server's PostgreSQL database, when the tests run on one;
    /// dropped (and the database with it) after the server.
    database: Option<ScratchDatabase>,
}

/// Log to standard error when `RUST_LOG` is set: for the tools
/// (`duet-load`, `duet-peer`), whose standard output is their report.
pub fn init_tool_logging() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// Log to the test's output when `RUST_LOG` is set.
pub fn init_logging() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

impl TestServer {
    pub async fn start() -> anyhow::Result<TestServer> {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> anyhow::Result<TestServer> {
        init_logging();
        let data = tempfile::tempdir()?;
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut config = Config {
            data_dir: data.path().to_path_buf(),
            ..Config::default()
        };
        let database = ScratchDatabase::create().await?;
        config.database.url = database.as_ref().map(|db| db.url().to_string());
        config.http.listen = SocketAddr::new(loopback, 0);
        config.media.port = 0;
        config.media.tcp_port = 0;
        config.media.bind = loopback;
        config.media.public_ip = Some(loopback);
        config.auth.api_keys = vec![API_KEY.to_string()];
        // Stopping a test server ends its calls at once; the drain tests
        // set a grace period of their own.
        config.shutdown.grace_period_s = 0;
        adjust(&mut config);
        let listeners = Listeners::bind(&config).await?;
        let http = listeners.http.local_addr()?;
        let media = listeners.media.local_addr()?;
        let media_tcp = match &listeners.media_tcp {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };
        config.http.listen = http;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(duet_server::run(config.clone(), listeners, async move {
            let _ = rx.await;
        }));
        let server = TestServer {
            http,
            media,
            media_tcp,
            config,
            data,
            shutdown: Some(tx),
            task: Some(task),
            database,
        };
        server.wait_healthy().await?;
        Ok(server)
    }

    async fn wait_healthy(&self) -> anyhow::Result<()> {
        // Generous: opening the database syncs each migration to disk, and
        // on ext4 a sync waits for every other file's dirty data, so a
        // big copy elsewhere on the machine can stall start-up for seconds.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client().get(self.url("/healthz")).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "server did not become healthy");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/api/v1/ws", self.http)
    }

    /// Creates a session over the API and returns the response body.
    pub async fn create_session(&self) -> anyhow::Result<Value> {
        self.create_session_with(json!({
            "title": "Weekly mentoring",
            "mentor": {"name": "Ada"},
            "mentee": {"name": "Grace"},
            "recording": "off",
        }))
        .await
    }

    /// Creates a session that may be recorded (with both people's consent).
    pub async fn create_recordable_session(&self) -> anyhow::Result<Value> {
        self.create_session_with(json!({
            "title": "Recorded mentoring",
            "mentor": {"name": "Ada"},
            "mentee": {"name": "Grace"},
            "recording": "allowed",
        }))
        .await
    }

    /// Where recordings are written.
    pub fn recordings_dir(&self) -> std::path::PathBuf {
        self.data.path().join("recordings")
    }

    pub async fn create_session_with(&self, body: Value) -> anyhow::Result<Value> {
        let resp = client()
            .post(self.url("/api/v1/sessions"))
            .bearer_auth(API_KEY)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            resp.status().as_u16() == 201,
            "create session: {}",
            resp.status()
        );
        Ok(resp.json().await?)
    }

    /// `GET /api/v1/sessions/{id}`: the session as the API shows it.
    pub async fn session(&self, session: &Value) -> anyhow::Result<Value> {
        let id = session["id"].as_str().unwrap_or_default();
        let resp = client()
            .get(self.url(&format!("/api/v1/sessions/{id}")))
            .bearer_auth(API_KEY)
            .send()
            .await?;
        anyhow::ensure!(
            resp.status().as_u16() == 200,
            "get session: {}",
            resp.status()
        );
        Ok(resp.json().await?)
    }

    /// `GET /api/v1/sessions`: every session as the API lists them.
    pub async fn sessions(&self) -> anyhow::Result<Value> {
        let resp = client()
            .get(self.url("/api/v1/sessions"))
            .bearer_auth(API_KEY)
            .send()
            .await?;
        anyhow::ensure!(
            resp.status().as_u16() == 200,
            "list sessions: {}",
            resp.status()
        );
        Ok(resp.json().await?)
    }

    /// Ends a session over the API (`DELETE`), checking it answered 200.
    pub async fn end_session(&self, session: &Value) -> anyhow::Result<()> {
        let id = session["id"].as_str().unwrap_or_default();
        let resp = client()
            .delete(self.url(&format!("/api/v1/sessions/{id}")))
            .bearer_auth(API_KEY)
            .send()
            .await?;
        anyhow::ensure!(
            resp.status().as_u16() == 200,
            "end session: {}",
            resp.status()
        );
        Ok(())
    }

    /// Issues another link for `role` and returns its token.
    pub async fn new_link(&self, session: &Value, role: &str) -> anyhow::Result<String> {
        let id = session["id"].as_str().unwrap_or_default();
        let resp = client()
            .post(self.url(&format!("/api/v1/sessions/{id}/links")))
            .bearer_auth(API_KEY)
            .json(&json!({ "role": role }))
            .send()
            .await?;
        anyhow::ensure!(resp.status().as_u16() == 201, "new link: {}", resp.status());
        let body: Value = resp.json().await?;
        Ok(body["token"].as_str().unwrap_or_default().to_string())
    }

    /// The mentor ("Ada") and the mentee ("Grace") join `session` with the
    /// default test peers (trickle, audio and camera on).
    pub async fn join_both(&self, session: &Value) -> anyhow::Result<(TestPeer, TestPeer)> {
        let ws = self.ws_url();
        let mentor =
            TestPeer::join(&ws, &token(session, "mentor"), PeerOptions::named("Ada")).await?;
        let mentee =
            TestPeer::join(&ws, &token(session, "mentee"), PeerOptions::named("Grace")).await?;
        Ok((mentor, mentee))
    }

    /// Like [`TestServer::join_both`], with the mentee reaching Duet only
    /// through `relay` (her copy of the server's candidates points there):
    /// what the relay does to packets is done to her link alone.
    pub async fn join_both_mentee_via(
        &self,
        session: &Value,
        relay: SocketAddr,
    ) -> anyhow::Result<(TestPeer, TestPeer)> {
        let ws = self.ws_url();
        let mentor =
            TestPeer::join(&ws, &token(session, "mentor"), PeerOptions::named("Ada")).await?;
        let behind = PeerOptions {
            rewrite_server_candidates: Some(relay),
            ..PeerOptions::named("Grace")
        };
        let mentee = TestPeer::join(&ws, &token(session, "mentee"), behind).await?;
        Ok((mentor, mentee))
    }

    /// Signals shutdown and waits for `run` to return; gives how long it took.
    pub async fn stop(mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .context("server did not stop in 15 s")???;
        }
        Ok(started.elapsed())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
        // Its connections are ended with it (DROP DATABASE … WITH FORCE).
        self.database.take();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_default()
}

/// Token of a role from a create-session response.
pub fn token(session: &Value, role: &str) -> String {
    session["tokens"][role]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The `duet` binary: `DUET_BIN`, or next to the test executables (the
/// test script builds it with the workspace).
pub fn duet_bin() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("DUET_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // target/debug/deps/<test> → target/debug/duet
    exe.parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("duet"))
        .unwrap_or_else(|| "duet".into())
}

pub use crate::binary_server::BinaryServer;

/// Creates a session that may be recorded on the server at `base` (e.g. a
/// [`BinaryServer`]) with the test API key.
pub async fn create_recordable_session_at(base: &str) -> anyhow::Result<Value> {
    let resp = client()
        .post(format!("{base}/api/v1/sessions"))
        .bearer_auth(API_KEY)
        .json(&json!({"title":"t","mentor":{"name":"Ada"},"mentee":{"name":"Grace"},"recording":"allowed"}))
        .send()
        .await?;
    anyhow::ensure!(resp.status().as_u16() == 201, "create: {}", resp.status());
    Ok(resp.json().await?)
}

/// Both participants receive at least a second's worth of each other's
/// audio and a couple of seconds' video within `within`, byte-identical to
/// what was sent (the ICE-TCP and shard tests' check of a working call).
pub async fn media_flows_both_ways(mentor: &TestPeer, mentee: &TestPeer, within: Duration) {
    use crate::{MediaKind, PeerStats};
    fn got_media(s: &PeerStats) -> bool {
        s.received.get(MediaKind::Audio).packets >= 50
            && s.received.get(MediaKind::Camera).packets >= 30
    }
    let to_mentee = mentee
        .wait_until(got_media, within)
        .await
        .expect("mentee media");
    let to_mentor = mentor
        .wait_until(got_media, within)
        .await
        .expect("mentor media");
    let (mentor_sent, mentee_sent) = (mentor.stats(), mentee.stats());
    for kind in [MediaKind::Audio, MediaKind::Camera] {
        assert!(
            to_mentee.received_intact_from(kind, &mentor_sent, 1),
            "{kind:?} to mentee"
        );
        assert!(
            to_mentor.received_intact_from(kind, &mentee_sent, 1),
            "{kind:?} to mentor"
        );
    }
}
