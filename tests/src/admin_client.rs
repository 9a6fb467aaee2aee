//! An admin logged in to the console, as a browser would be: the session
//! cookie on every request, the CSRF token on those that change something.

use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

use crate::harness::client;

pub const ADMIN_USER: &str = "ada.admin";
pub const ADMIN_PASSWORD: &str = "a long enough test password";

/// Creates the test admin account in the server's database (its data
/// folder's, or the PostgreSQL one `database.url` names) with the real
/// `duet admin create` command.
pub fn create_admin(config: &duet_server::Config) -> anyhow::Result<()> {
    use std::io::Write;
    let mut command = std::process::Command::new(crate::harness::duet_bin());
    command.arg("--data").arg(&config.data_dir);
    if let Some(url) = &config.database.url {
        command.args(["--database-url", url]);
    }
    let mut child = command
        .args(["admin", "create", ADMIN_USER])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{ADMIN_PASSWORD}")?;
    }
    anyhow::ensure!(child.wait()?.success(), "duet admin create failed");
    Ok(())
}

pub struct AdminClient {
    base: String,
    pub cookie: String,
    pub csrf: String,
    /// The whole `Set-Cookie` header of the login answer.
    pub set_cookie: String,
}

/// `POST /api/v1/admin/login`; the raw answer.
pub async fn login_raw(base: &str, username: &str, password: &str) -> anyhow::Result<Response> {
    Ok(client()
        .post(format!("{base}/api/v1/admin/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await?)
}

impl AdminClient {
    pub async fn login(base: &str) -> anyhow::Result<AdminClient> {
        let resp = login_raw(base, ADMIN_USER, ADMIN_PASSWORD).await?;
        anyhow::ensure!(resp.status().as_u16() == 200, "login: {}", resp.status());
        let set_cookie = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let cookie = set_cookie.split(';').next().unwrap_or_default().to_string();
        let body: Value = resp.json().await?;
        Ok(AdminClient {
            base: base.to_string(),
            cookie,
            csrf: body["csrf_token"].as_str().unwrap_or_default().to_string(),
            set_cookie,
        })
    }

    /// A request with the cookie and the CSRF token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_without_csrf(method, path)
            .header("x-csrf-token", &self.csrf)
    }

    /// A request with the cookie only, as a forged cross-site form would be.
    pub fn request_without_csrf(&self, method: Method, path: &str) -> RequestBuilder {
        client()
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
    }

    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let resp = self.request(Method::GET, path).send().await?;
        anyhow::ensure!(resp.status().is_success(), "GET {path}: {}", resp.status());
        Ok(resp.json().await?)
    }
}
