//! Duet's one configuration: a serde struct with nested sections whose
//! `Default` is the single source of defaults.
//!
//! Layers, later wins: built-in defaults, the TOML file (`--config`), then
//! `DUET_*` environment variables and command-line flags (see `cli.rs`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid setting `{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Folder for the database, the signing secret and recordings.
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub media: MediaConfig,
    pub auth: AuthConfig,
    pub sessions: SessionsConfig,
    pub signaling: SignalingConfig,
    pub recording: RecordingConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address the HTTP and WebSocket server listens on.
    pub listen: SocketAddr,
    /// Base URL put in join links, e.g. `https://duet.example.com`. When unset,
    /// links use `http://<listen>`.
    pub public_url: Option<String>,
    /// Serve the web client from this folder instead of the copy built into
    /// the binary (for working on the web client).
    pub web_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// The one UDP port for all media (0 picks a free one).
    pub port: u16,
    /// Address the media socket binds to.
    pub bind: IpAddr,
    /// Address put in ICE candidates (public IP, or NAT 1:1 address). When
    /// unset: the bind address, else the machine's first non-loopback
    /// address (see `media::advertised_ip`).
    pub public_ip: Option<IpAddr>,
    /// Port put in ICE candidates when a NAT, container runtime or load
    /// balancer maps the media port to another one. When unset, the bound
    /// port.
    pub public_port: Option<u16>,
    /// STUN/TURN servers handed to clients in `joined.ice_servers`.
    pub ice_servers: Vec<IceServerConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServerConfig {
    pub urls: Vec<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub credential: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// API keys accepted besides those created with `duet apikey create`.
    pub api_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    /// How long join links stay valid when a session is created without
    /// `expires_in_s`.
    pub default_expiry_s: u64,
    /// The longest `expires_in_s` accepted.
    pub max_expiry_s: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignalingConfig {
    /// A socket that has not sent `join` after this long is closed.
    pub join_timeout_s: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingConfig {
    /// Whether this deployment records at all. When false, every session
    /// behaves as if created with `recording: "off"`.
    pub enabled: bool,
    /// Shown to both people before they consent: what is recorded, who can
    /// access it, how long it is kept. Consents refer to its hash, so
    /// changing it never rewrites what earlier consents meant.
    pub notice: String,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        RecordingConfig {
            enabled: true,
            notice: DEFAULT_NOTICE.to_string(),
        }
    }
}

pub const DEFAULT_NOTICE: &str = "This session will be recorded: the audio and video of both of you \
(and any screen you share) are written to this Duet server, with a text-ready audio copy per \
speaker. Only the two of you and this deployment's administrators can access the recording. It is \
kept until an administrator deletes it. Either of you can stop the recording at any time, and ask \
for what was recorded to be deleted.";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info` or `duet_server=debug,info`.
    pub level: String,
    /// `text` or `json`.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./data"),
            http: HttpConfig::default(),
            media: MediaConfig::default(),
            auth: AuthConfig::default(),
            sessions: SessionsConfig::default(),
            signaling: SignalingConfig::default(),
            recording: RecordingConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            public_url: None,
            web_dir: None,
        }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            port: 7882,
            bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            public_ip: None,
            public_port: None,
            ice_servers: Vec::new(),
        }
    }
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig {
            default_expiry_s: 7 * 24 * 3600,
            max_expiry_s: 365 * 24 * 3600,
        }
    }
}

impl Default for SignalingConfig {
    fn default() -> Self {
        SignalingConfig { join_timeout_s: 10 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_string(),
            format: LogFormat::Text,
        }
    }
}

impl Config {
    /// Reads a TOML file over the defaults.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Checks what serde cannot: ranges and combinations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.http.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                field: "http.public_url",
                message: format!("{url:?} must start with http:// or https://"),
            });
        }
        if self.sessions.default_expiry_s == 0 {
            return Err(ConfigError::Invalid {
                field: "sessions.default_expiry_s",
                message: "must be at least 1 second".into(),
            });
        }
        if self.sessions.default_expiry_s > self.sessions.max_expiry_s {
            return Err(ConfigError::Invalid {
                field: "sessions.default_expiry_s",
                message: "must not exceed sessions.max_expiry_s".into(),
            });
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError::Invalid {
                field: "log.level",
                message: format!("{:?} is not a log filter: {e}", self.log.level),
            });
        }
        if self.recording.notice.trim().is_empty() {
            return Err(ConfigError::Invalid {
                field: "recording.notice",
                message: "the consent notice must say what is recorded; it cannot be empty".into(),
            });
        }
        if self.signaling.join_timeout_s == 0 {
            return Err(ConfigError::Invalid {
                field: "signaling.join_timeout_s",
                message: "must be at least 1 second".into(),
            });
        }
        for server in &self.media.ice_servers {
            if server.urls.is_empty() {
                return Err(ConfigError::Invalid {
                    field: "media.ice_servers.urls",
                    message: "each ICE server needs at least one URL".into(),
                });
            }
            if let Some(bad) = server.urls.iter().find(|u| {
                !(u.starts_with("stun:") || u.starts_with("turn:") || u.starts_with("turns:"))
            }) {
                return Err(ConfigError::Invalid {
                    field: "media.ice_servers.urls",
                    message: format!("{bad:?} must start with stun:, turn: or turns:"),
                });
            }
        }
        for key in &self.auth.api_keys {
            if key.len() < 16 {
                return Err(ConfigError::Invalid {
                    field: "auth.api_keys",
                    message: "API keys must be at least 16 characters".into(),
                });
            }
        }
        Ok(())
    }

    /// The base of join links, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        match &self.http.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.http.listen),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let c = Config::default();
        assert_eq!(c.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.media.port, 7882);
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        c.validate().expect("defaults are valid");
    }

    #[test]
    fn the_example_file_is_the_defaults() {
        let example = include_str!("../../deploy/duet.example.toml");
        assert_eq!(
            Config::from_toml(example).expect("parses"),
            Config::default()
        );
    }

    #[test]
    fn empty_file_is_the_defaults() {
        assert_eq!(Config::from_toml("").expect("parses"), Config::default());
    }

    #[test]
    fn defaults_round_trip_through_toml() {
        let text = toml::to_string(&Config::default()).expect("serializes");
        assert_eq!(Config::from_toml(&text).expect("parses"), Config::default());
    }

    #[test]
    fn unknown_fields_are_errors_naming_the_field() {
        let err = Config::from_toml("[media]\nprot = 1\n").expect_err("typo refused");
        assert!(err.contains("prot"), "{err}");
    }

    #[test]
    fn invalid_values_name_the_field() {
        let mut c = Config::default();
        c.http.public_url = Some("duet.example.com".into());
        assert!(
            c.validate()
                .expect_err("no scheme")
                .to_string()
                .contains("http.public_url")
        );

        let mut c = Config::default();
        c.media.ice_servers.push(IceServerConfig {
            urls: vec!["http://x".into()],
            username: None,
            credential: None,
        });
        assert!(
            c.validate()
                .expect_err("bad url")
                .to_string()
                .contains("media.ice_servers")
        );

        let mut c = Config::default();
        c.log.level = "info,[bad".into();
        assert!(
            c.validate()
                .expect_err("bad filter")
                .to_string()
                .contains("log.level")
        );

        let mut c = Config::default();
        c.auth.api_keys.push("short".into());
        assert!(
            c.validate()
                .expect_err("short key")
                .to_string()
                .contains("auth.api_keys")
        );
    }
}
