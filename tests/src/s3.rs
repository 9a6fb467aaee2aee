//! [`S3Server`]: a real S3-compatible server on loopback for the tests of
//! recordings in a bucket: moto's server mode (PyPI `moto[server]`), which
//! `tests/run.sh` installs into a folder of its own and names in
//! `DUET_TEST_MOTO_PATH`. Missing, the test fails with what to run: a
//! bucket test must never pass without a bucket.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

pub struct S3Server {
    child: Child,
    /// `http://127.0.0.1:<port>`: `AWS_ENDPOINT_URL` for the server.
    pub endpoint: String,
}

/// What a server under test needs in its environment to use the bucket.
pub const CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "duet-test"),
    ("AWS_SECRET_ACCESS_KEY", "duet-test-secret"),
    ("AWS_REGION", "us-east-1"),
];

impl S3Server {
    /// Starts the server on a free loopback port and waits until it answers.
    pub async fn start() -> anyhow::Result<S3Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        Self::start_on(port).await
    }

    /// Starts the server on `port` (again, after [`stop`](Self::stop): it
    /// keeps everything in memory, so buckets are gone).
    pub async fn start_on(port: u16) -> anyhow::Result<S3Server> {
        let mut cmd = Command::new("python3");
        cmd.args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Some(path) = std::env::var_os("DUET_TEST_MOTO_PATH") {
            cmd.env("PYTHONPATH", path);
        }
        let child = cmd.spawn().context("starting python3 -m moto.server")?;
        let mut server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = server.child.try_wait()? {
                anyhow::bail!(
                    "moto's S3 server exited ({status}): install it with tests/run.sh \
                     (PyPI moto[server], folder in DUET_TEST_MOTO_PATH)"
                );
            }
            if reqwest::get(&server.endpoint).await.is_ok() {
                return Ok(server);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "moto's S3 server did not answer in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// Stops the server: the bucket is down.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Creates a bucket (moto takes unsigned requests).
    pub async fn create_bucket(&self, name: &str) -> anyhow::Result<()> {
        let resp = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await?;
        anyhow::ensure!(
            resp.status().is_success(),
            "create bucket: {}",
            resp.status()
        );
        Ok(())
    }

    /// A client of `bucket`, signing as the server under test does
    /// (moto keeps objects private).
    fn bucket(&self, bucket: &str) -> anyhow::Result<object_store::aws::AmazonS3> {
        let [(_, key), (_, secret), (_, region)] = CREDENTIALS;
        Ok(object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_access_key_id(key)
            .with_secret_access_key(secret)
            .with_region(region)
            .build()?)
    }

    /// The keys under `prefix` in `bucket`, with their sizes, sorted.
    pub async fn list(&self, bucket: &str, prefix: &str) -> anyhow::Result<Vec<(String, u64)>> {
        use futures_util::StreamExt;
        use object_store::ObjectStore;
        let store = self.bucket(bucket)?;
        let prefix = object_store::path::Path::from(prefix);
        let mut listed = store.list(Some(&prefix));
        let mut out = Vec::new();
        while let Some(meta) = listed.next().await {
            let meta = meta?;
            out.push((meta.location.to_string(), meta.size));
        }
        out.sort();
        Ok(out)
    }

    /// One object's bytes.
    pub async fn get(&self, bucket: &str, key: &str) -> anyhow::Result<Vec<u8>> {
        use object_store::ObjectStoreExt;
        let store = self.bucket(bucket)?;
        let got = store.get(&object_store::path::Path::from(key)).await?;
        Ok(got.bytes().await?.to_vec())
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
