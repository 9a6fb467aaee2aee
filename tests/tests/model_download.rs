//! `duet model download`: a model is saved only when its SHA-256 matches
//! (pinned for the catalog's names, given for others), atomically, into
//! the data folder's `models/`; `duet model list` shows it. Served from a
//! real HTTP server on loopback (Python's `http.server`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use duet_tests::harness::duet_bin;
use sha2::{Digest, Sha256};

struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `python3 -m http.server` on a free loopback port, serving `dir`.
fn serve(dir: &Path) -> Served {
    let mut child = Command::new("python3")
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 http.server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("its first line");
    // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
    let port = line
        .split_whitespace()
        .skip_while(|w| *w != "port")
        .nth(1)
        .unwrap_or_else(|| panic!("no port in {line:?}"))
        .to_owned();
    Served {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

fn duet(data: &Path, base_url: &str, args: &[&str]) -> Output {
    Command::new(duet_bin())
        .arg("--data")
        .arg(data)
        .args(args)
        .env("DUET_TRANSCRIPTION_MODELS_URL", base_url)
        .output()
        .expect("duet runs")
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_model_is_saved_only_when_its_digest_matches() {
    let site = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let model: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(site.path().join("ggml-custom.bin"), &model).expect("write");
    // Not the real tiny.en: the pinned digest must refuse it.
    std::fs::write(site.path().join("ggml-tiny.en.bin"), &model).expect("write");
    let served = serve(site.path());
    let models = data.path().join("models");

    let wrong = "0".repeat(64);
    let out = duet(
        data.path(),
        &served.url,
        &["model", "download", "custom", "--sha256", &wrong],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not the expected file"), "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(&models)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        leftovers.is_empty(),
        "a refused download left {leftovers:?}"
    );

    let out = duet(data.path(), &served.url, &["model", "download", "tiny.en"]);
    assert!(
        !out.status.success(),
        "the pinned digest let another file through"
    );
    assert!(!models.join("ggml-tiny.en.bin").exists());

    let out = duet(data.path(), &served.url, &["model", "download", "custom"]);
    assert!(
        !out.status.success(),
        "a name outside the catalog needs --sha256"
    );

    let digest = hex(&model);
    let out = duet(
        data.path(),
        &served.url,
        &["model", "download", "custom", "--sha256", &digest],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(models.join("ggml-custom.bin")).expect("saved"),
        model
    );
    // Again: nothing to fetch.
    let out = duet(
        data.path(),
        &served.url,
        &["model", "download", "custom", "--sha256", &digest],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("already there"));

    let out = duet(data.path(), &served.url, &["model", "list"]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("ggml-custom.bin") && list.contains("tiny.en"),
        "{list}"
    );
}
