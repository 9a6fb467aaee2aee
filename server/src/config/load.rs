//! Reading a configuration: the TOML file over the defaults, then
//! `DUET_<SECTION>_<FIELD>` environment variables over the file.
//!
//! Environment values are merged into the parsed TOML before it becomes a
//! `Config`, so a bad value gets the same error, naming the field, as the
//! same mistake in the file would.

use std::path::Path;

use super::{Config, ConfigError};

/// Every setting an environment variable can override, as its TOML path.
/// `DUET_` plus the path in capitals with `.` as `_` names the variable
/// (`media.tcp_port` is `DUET_MEDIA_TCP_PORT`). A test checks that this
/// list and the `Config` fields agree.
pub const ENV_SETTINGS: &[&str] = &[
    "data_dir",
    "database.url",
    "storage.url",
    "internal_url",
    "node.id",
    "http.listen",
    "http.public_url",
    "http.web_dir",
    "http.tls_cert_file",
    "http.tls_key_file",
    "http.header_timeout_s",
    "http.idle_timeout_s",
    "http.max_connections",
    "http.max_websockets_per_address",
    "http.max_downloads_per_credential",
    "http.trusted_proxies",
    "media.port",
    "media.bind",
    "media.public_ip",
    "media.public_port",
    "media.ice_tcp",
    "media.tcp_port",
    "media.ice_deny",
    "media.shards",
    "media.shard_fill",
    "auth.api_keys",
    "sessions.default_expiry_s",
    "sessions.max_expiry_s",
    "signaling.join_timeout_s",
    "recording.enabled",
    "recording.notice",
    "recording.notices",
    "recording.max_size_mb",
    "recording.max_duration_min",
    "recording.min_free_mb",
    "recording.admin_access",
    "retention.recordings_days",
    "retention.notes_days",
    "pairs.link_days",
    "transcription.model",
    "transcription.threads",
    "transcription.jobs",
    "transcription.language",
    "transcription.models_url",
    "captions.max_speakers",
    "turn.urls",
    "turn.shared_secret",
    "turn.credential_ttl_s",
    "metrics.enabled",
    "shutdown.grace_period_s",
    "log.level",
    "log.format",
];

/// Settings whose values are lists: the variable holds comma-separated items.
const LIST_SETTINGS: &[&str] = &[
    "auth.api_keys",
    "turn.urls",
    "media.ice_deny",
    "http.trusted_proxies",
];

/// Settings whose values are tables: the variable holds an inline TOML
/// table, `{ es = "Grabamos…", ja = "…" }`.
const TABLE_SETTINGS: &[&str] = &["recording.notices"];

pub fn env_name(path: &str) -> String {
    format!("DUET_{}", path.replace('.', "_").to_ascii_uppercase())
}

impl Config {
    /// Reads a TOML file over the defaults (no environment).
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = read(path)?;
        Config::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses TOML over the defaults (no environment).
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The file (if any) over the defaults, then the `DUET_*` settings
    /// from `env` over both.
    pub fn from_sources(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let (text, origin) = match path {
            Some(path) => (read(path)?, path.display().to_string()),
            None => (String::new(), "defaults".to_string()),
        };
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: origin.clone(),
            message: e.to_string(),
        })?;
        let mut overridden = Vec::new();
        for setting in ENV_SETTINGS {
            if let Some(raw) = env(&env_name(setting)) {
                set_path(&mut table, setting, env_value(setting, &raw));
                overridden.push(env_name(setting));
            }
        }
        if overridden.is_empty() {
            return Config::from_toml(&text).map_err(|message| ConfigError::Parse {
                path: origin,
                message,
            });
        }
        // Re-rendered so that type errors point at the line with the field.
        let merged = toml::to_string(&table).map_err(|e| ConfigError::Parse {
            path: origin.clone(),
            message: e.to_string(),
        })?;
        Config::from_toml(&merged).map_err(|message| ConfigError::Parse {
            path: format!("{origin} with {}", overridden.join(", ")),
            message,
        })
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// A TOML literal when the text is one (`7882`, `true`), else the text as a
/// string, so `127.0.0.1:8080` needs no quotes.
fn env_value(setting: &str, raw: &str) -> toml::Value {
    if LIST_SETTINGS.contains(&setting) {
        let items = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| toml::Value::String(s.to_string()))
            .collect();
        return toml::Value::Array(items);
    }
    let probe = format!("v = {raw}");
    if TABLE_SETTINGS.contains(&setting) {
        // Not a table: kept as text, so the error names the setting.
        return match toml::from_str::<toml::Table>(&probe).map(|mut t| t.remove("v")) {
            Ok(Some(v @ toml::Value::Table(_))) => v,
            _ => toml::Value::String(raw.to_string()),
        };
    }
    match toml::from_str::<toml::Table>(&probe) {
        Ok(mut t) => match t.remove("v") {
            Some(v @ (toml::Value::Integer(_) | toml::Value::Boolean(_))) => v,
            _ => toml::Value::String(raw.to_string()),
        },
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

fn set_path(table: &mut toml::Table, path: &str, value: toml::Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut here = table;
    for part in parts {
        let entry = here
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            return;
        };
        here = next;
    }
    here.insert(last.to_string(), value);
}
