//! HTTPS and WSS served directly: an in-process server over the real
//! network stack, and the `duet` binary reloading its certificate on SIGHUP.

mod binary;
mod certs;
#[path = "../common/serve.rs"]
mod common_serve;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use duet_server::{Config, Listeners};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use certs::TestCa;

const API_KEY: &str = "test-api-key-0123456789abcdef";

fn https_client(ca: &TestCa) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem.as_bytes()).expect("CA pem"))
        .build()
        .expect("client")
}

type Wss =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Wss) -> Value {
    match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str(&t).expect("JSON message"),
        other => panic!("expected a text message, got {other:?}"),
    }
}

async fn send(ws: &mut Wss, msg: Value) {
    ws.send(Message::Text(msg.to_string().into()))
        .await
        .expect("send");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_wss_work_and_shutdown_stays_graceful() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    let (cert_file, key_file) = certs::write(dir.path(), &ca.server_cert("duet-a"));
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    config.http.listen = SocketAddr::new(loopback, 0);
    config.http.tls_cert_file = Some(cert_file);
    config.http.tls_key_file = Some(key_file);
    config.media.port = 0;
    config.media.bind = loopback;
    config.media.public_ip = Some(loopback);
    config.auth.api_keys = vec![API_KEY.to_string()];
    config.media.tcp_port = 0;
    // End calls at once on shutdown (the grace period has its own tests).
    config.shutdown.grace_period_s = 0;
    let listeners = Listeners::bind(&config).await.expect("bind");
    let addr = listeners.http.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(duet_server::run(config, listeners, async move {
        let _ = stopped.await;
    }));

    let http = https_client(&ca);
    let health = http
        .get(format!("https://{addr}/healthz"))
        .send()
        .await
        .expect("GET /healthz over HTTPS");
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.expect("json")["status"], "ok");
    assert!(
        http.get(format!("http://{addr}/healthz"))
            .send()
            .await
            .is_err(),
        "plain HTTP must not be served on the HTTPS port"
    );

    let session: Value = http
        .post(format!("https://{addr}/api/v1/sessions"))
        .bearer_auth(API_KEY)
        .json(&json!({"title":"t","mentor":{"name":"a"},"mentee":{"name":"b"}}))
        .send()
        .await
        .expect("create session")
        .json()
        .await
        .expect("json");
    let link = session["links"]["mentor"].as_str().expect("a link");
    assert!(link.starts_with(&format!("https://{addr}/join#")), "{link}");

    // Under TLS the console cookie is Secure.
    let data = dir.path().join("data");
    let mut create = std::process::Command::new(env!("CARGO_BIN_EXE_duet"))
        .arg("--data")
        .arg(&data)
        .args(["admin", "create", "tls.admin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("duet admin create");
    {
        use std::io::Write;
        let mut stdin = create.stdin.take().expect("stdin");
        writeln!(stdin, "a long enough password").expect("password");
    }
    assert!(create.wait().expect("wait").success());
    let login = http
        .post(format!("https://{addr}/api/v1/admin/login"))
        .json(&json!({"username": "tls.admin", "password": "a long enough password"}))
        .send()
        .await
        .expect("login over HTTPS");
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_string();
    for attr in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(cookie.contains(attr), "{attr} missing: {cookie}");
    }

    let tls = ca.connect(addr).await.expect("TLS to the server");
    let (mut ws, _) = tokio_tungstenite::client_async(format!("wss://{addr}/api/v1/ws"), tls)
        .await
        .expect("WebSocket over TLS");
    send(&mut ws, json!({"type":"ping"})).await;
    assert_eq!(next_json(&mut ws).await["type"], "pong");
    let token = session["tokens"]["mentor"].as_str().expect("token");
    send(&mut ws, json!({"type":"join","token":token})).await;
    assert_eq!(next_json(&mut ws).await["type"], "joined");

    // Shutdown in HTTPS mode still tells participants before closing.
    let _ = stop.send(());
    let ended = next_json(&mut ws).await;
    assert_eq!(ended["type"], "session_ended");
    assert_eq!(ended["reason"], "server_shutdown");
    tokio::time::timeout(Duration::from_secs(15), server)
        .await
        .expect("run returns after shutdown")
        .expect("no panic")
        .expect("run ends cleanly");
}
