//! Duet's one configuration: a serde struct with nested sections whose
//! `Default` is the single source of defaults.
//!
//! Layers, later wins: built-in defaults, the TOML file (`--config`), then
//! `DUET_*` environment variables and command-line flags (see `cli.rs`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

mod load;
#[cfg(test)]
mod tests;
mod validate;

pub use load::{ENV_SETTINGS, env_name};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config ({path}): {message}")]
    Parse { path: String, message: String },
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
    pub database: DatabaseConfig,
    pub storage: StorageConfig,
    /// Where the other nodes reach this one (`DUET_INTERNAL_URL`), e.g.
    /// `http://10.0.0.5:8080`. Only several nodes need it.
    pub internal_url: Option<String>,
    pub node: NodeConfig,
    pub http: HttpConfig,
    pub media: MediaConfig,
    pub auth: AuthConfig,
    pub sessions: SessionsConfig,
    pub signaling: SignalingConfig,
    pub recording: RecordingConfig,
    pub transcription: TranscriptionConfig,
    pub captions: CaptionsConfig,
    pub retention: RetentionConfig,
    pub pairs: PairsConfig,
    pub turn: TurnConfig,
    pub metrics: MetricsConfig,
    pub shutdown: ShutdownConfig,
    pub log: LogConfig,
}

/// Where the data is kept (`store`).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// A PostgreSQL URL (`postgres://user:password@host:5432/db`), for
    /// several nodes sharing one database. Unset: the embedded SQLite file
    /// in the data folder.
    pub url: Option<String>,
}

/// Where finished recordings are kept (`recorder::archive`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// An S3-compatible bucket, `s3://bucket/prefix`, with credentials,
    /// region and endpoint from the usual `AWS_*` variables. Unset: the
    /// data folder keeps them.
    pub url: Option<String>,
}

/// This node among several sharing one database (`cluster`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// Its name, unique among the nodes (`DUET_NODE_ID`). Unset: the
    /// machine's host name, which is unique where one node runs per host.
    pub id: Option<String>,
}

/// Never shows the password a URL may hold.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field(
                "url",
                &self.url.as_deref().map(crate::store::location::redact),
            )
            .finish()
    }
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
    /// Serve HTTPS directly with this PEM certificate chain (with
    /// `tls_key_file`). Both files are read again on SIGHUP.
    pub tls_cert_file: Option<PathBuf>,
    /// The PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// A client must send a request's whole head within this long, also on
    /// an idle keep-alive connection; otherwise it is closed (slowloris).
    pub header_timeout_s: u64,
    /// An HTTP connection on which no byte moves either way for this long
    /// is closed: a stalled upload, or a download the client stopped
    /// reading. WebSockets keep their own pings.
    pub idle_timeout_s: u64,
    /// Open HTTP connections (WebSockets included) at most; further clients
    /// wait to be accepted. Lowered to 3/4 of the descriptor limit, so
    /// recordings can always open their files.
    pub max_connections: usize,
    /// WebSockets at most from one client address.
    pub max_websockets_per_address: usize,
    /// Recording files and mixes streamed at once per credential (join
    /// token, API key or console login); more get `429 busy`.
    pub max_downloads_per_credential: usize,
    /// Reverse proxies (addresses or CIDRs) whose `X-Forwarded-For` is
    /// believed: the client is the rightmost address not in this list.
    pub trusted_proxies: Vec<String>,
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
    /// Also accept ICE over TCP (RFC 6544, passive) on `tcp_port`, for
    /// networks that block UDP.
    pub ice_tcp: bool,
    /// The one TCP port for ICE-TCP media (0 picks a free one).
    pub tcp_port: u16,
    /// STUN/TURN servers handed to clients in `joined.ice_servers`.
    pub ice_servers: Vec<IceServerConfig>,
    /// CIDR blocks the server never sends ICE checks to (remote candidates
    /// there are dropped); entries covering the advertised address are
    /// ignored. See `media::ice_filter`.
    pub ice_deny: Vec<String>,
    /// Media loops (threads) the calls are spread over, all behind the one
    /// media port; a call stays on one. When unset: one per core.
    pub shards: Option<usize>,
    /// Calls the first media thread takes before calls are spread over
    /// the others (it reads the socket for all, so its calls cost no
    /// hand-over between threads). 0 spreads from the first call.
    pub shard_fill: usize,
}

impl MediaConfig {
    /// The shards to run: as set (`validate` keeps it within 1 to
    /// `media::shard::MAX_SHARDS`), else one per core.
    pub fn shard_count(&self) -> usize {
        self.shards
            .unwrap_or_else(crate::media::shard::default_count)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TurnConfig {
    /// TURN URLs handed to clients with short-lived credentials, e.g.
    /// `turn:turn.example.com:3478?transport=udp`.
    pub urls: Vec<String>,
    /// coturn's `static-auth-secret` (`use-auth-secret`): credentials are
    /// derived from it per participant (the TURN REST scheme).
    pub shared_secret: Option<String>,
    /// How long handed-out credentials stay valid.
    pub credential_ttl_s: u64,
}

impl Default for TurnConfig {
    fn default() -> Self {
        TurnConfig {
            urls: Vec::new(),
            shared_secret: None,
            credential_ttl_s: 12 * 3600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Recordings older than this many days are deleted (and the deletion
    /// recorded in the consent trail). 0 keeps them until deleted by hand.
    pub recordings_days: u32,
    /// Notes and messages of pairs older than this many days (since last
    /// changed) are deleted. 0 keeps them until deleted with their pair.
    pub notes_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PairsConfig {
    /// How long a personal link (to a person's pair home) works, in days;
    /// an admin can revoke and re-issue one at any time.
    pub link_days: u32,
}

impl Default for PairsConfig {
    fn default() -> Self {
        PairsConfig { link_days: 365 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve Prometheus metrics at `/metrics`.
    pub enabled: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { enabled: true }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownConfig {
    /// After SIGTERM, running calls may go on this long (participants are
    /// told) before they are ended. A second signal ends them at once.
    pub grace_period_s: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        ShutdownConfig { grace_period_s: 20 }
    }
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
    /// The notice in other languages, as the operator wrote it: language
    /// (`es`, `ja`: a two- or three-letter ISO 639 code) → text. People
    /// whose page is in that language read it instead of `notice`, and
    /// consent to it by its own hash; the trail keeps which text each read.
    pub notices: BTreeMap<String, String>,
    /// A recording stops (its files kept, playable) once its track files
    /// hold this many megabytes. 0: no cap.
    pub max_size_mb: u64,
    /// A recording stops once it is this many minutes long. 0: no cap.
    pub max_duration_min: u64,
    /// No recording starts, and a running one stops, when the recordings'
    /// file system has less than this many megabytes free. 0: no check.
    pub min_free_mb: u64,
    /// What administrators may open of a recording: `full` (everything,
    /// as the two people can) or `metadata` (that it exists, its manifest's
    /// facts and its consent trail; no audio, video or transcript).
    pub admin_access: AdminAccess,
}

/// How far administrators see into recordings (`recording.admin_access`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminAccess {
    /// Media, transcript and metadata, like the two people.
    #[default]
    Full,
    /// The recording's row, its manifest's facts and its trail only.
    Metadata,
}

impl RecordingConfig {
    /// The notice people read: the configured text, except that the
    /// built-in text follows `admin_access`, so the default never claims
    /// administrators can open what they cannot (or the reverse).
    pub fn notice_text(&self) -> &str {
        matching_notice(&self.notice, self.admin_access)
    }
}

/// `text`, or when it is one of the two built-in notices, the one that
/// matches `access`. A notice written by the operator is theirs to keep
/// true (`duet config check` warns, see [`Config::warnings`]).
pub fn matching_notice(text: &str, access: AdminAccess) -> &str {
    let builtin = text == DEFAULT_NOTICE || text == DEFAULT_NOTICE_METADATA;
    match access {
        _ if !builtin => text,
        AdminAccess::Full => DEFAULT_NOTICE,
        AdminAccess::Metadata => DEFAULT_NOTICE_METADATA,
    }
}

impl Default for RecordingConfig {
    fn default() -> Self {
        RecordingConfig {
            enabled: true,
            notice: DEFAULT_NOTICE.to_string(),
            notices: BTreeMap::new(),
            max_size_mb: 4096,
            max_duration_min: 240,
            min_free_mb: 1024,
            admin_access: AdminAccess::Full,
        }
    }
}

pub const DEFAULT_NOTICE: &str = "This session will be recorded: the audio and video of both of you \
(and any screen you share) are written to this Duet server, with a text-ready audio copy per \
speaker and, where this server transcribes, a written transcript made on this server (no \
outside service hears it). The transcript is part of the recording: it is deleted with it. Only \
the two of you and this deployment's administrators can access the recording. It is \
kept until an administrator deletes it. Either of you can stop the recording at any time, and ask \
for what was recorded to be deleted.";

/// The built-in notice when `recording.admin_access = "metadata"`: the
/// same, except for who can open the recording.
pub const DEFAULT_NOTICE_METADATA: &str = "This session will be recorded: the audio and video of both of you \
(and any screen you share) are written to this Duet server, with a text-ready audio copy per \
speaker and, where this server transcribes, a written transcript made on this server (no \
outside service hears it). The transcript is part of the recording: it is deleted with it. Only \
the two of you can watch, hear or read the recording; this deployment's administrators see only \
that it exists, when and how long it was, and its consent trail. It is kept until one of you or \
an administrator deletes it. Either of you can stop the recording at any time, and delete what \
was recorded.";

/// Transcripts made on this server with whisper.cpp (`docs/recording.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranscriptionConfig {
    /// A whisper.cpp (ggml) model file, or the name of one fetched with
    /// `duet model download` (`tiny.en` = `<data>/models/ggml-tiny.en.bin`).
    /// Unset: transcription is off.
    pub model: Option<String>,
    /// Threads per job. One by default: measured here, two threads ran
    /// four times slower than one whenever the other core was busy.
    pub threads: usize,
    /// Jobs at once.
    pub jobs: usize,
    /// The language spoken (ISO 639-1, e.g. `en`), or `auto` to detect it
    /// per speaker (multilingual models only; `.en` models are English).
    pub language: String,
    /// Where `duet model download` fetches model files from.
    pub models_url: String,
}

/// Live captions in calls (`captions`): they use the transcription model.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptionsConfig {
    /// Speakers captioned at once on this server; a person who turns
    /// captions on past it is told so. 0 turns captions off. Unset:
    /// [`crate::captions::SPEAKERS_PER_CORE`] per core.
    pub max_speakers: Option<usize>,
}

impl CaptionsConfig {
    /// The cap: as set, else sized from the cores.
    pub fn max_speakers(&self) -> usize {
        self.max_speakers
            .unwrap_or_else(crate::captions::default_max_speakers)
    }
}

impl Default for TranscriptionConfig {
    fn default() -> Self {
        TranscriptionConfig {
            model: None,
            threads: 1,
            jobs: 1,
            language: "auto".into(),
            models_url: crate::transcript::models::DEFAULT_BASE_URL.into(),
        }
    }
}

impl Config {
    /// This node's id: the configured one, else the host name, else
    /// `duet` (one node alone needs no particular name).
    pub fn node_id(&self) -> String {
        let configured = self
            .node
            .id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if let Some(id) = configured {
            return id.to_string();
        }
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| node_id_problem(h).is_none())
            .unwrap_or_else(|| "duet".to_string())
    }

    /// The configured model's file: a path as given, or a catalog name
    /// resolved in the data folder's `models/`. `None`: transcription off.
    pub fn transcription_model(&self) -> Option<PathBuf> {
        let model = self.transcription.model.as_deref()?.trim();
        if model.is_empty() {
            return None;
        }
        match crate::transcript::models::find(model) {
            Some(m) if !model.contains('/') => {
                Some(self.data_dir.join("models").join(m.file_name()))
            }
            _ => Some(PathBuf::from(model)),
        }
    }
}

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
            database: DatabaseConfig::default(),
            storage: StorageConfig::default(),
            internal_url: None,
            node: NodeConfig::default(),
            http: HttpConfig::default(),
            media: MediaConfig::default(),
            auth: AuthConfig::default(),
            sessions: SessionsConfig::default(),
            signaling: SignalingConfig::default(),
            recording: RecordingConfig::default(),
            transcription: TranscriptionConfig::default(),
            captions: CaptionsConfig::default(),
            retention: RetentionConfig::default(),
            pairs: PairsConfig::default(),
            turn: TurnConfig::default(),
            metrics: MetricsConfig::default(),
            shutdown: ShutdownConfig::default(),
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
            tls_cert_file: None,
            tls_key_file: None,
            header_timeout_s: 10,
            idle_timeout_s: 30,
            max_connections: 4096,
            max_websockets_per_address: 256,
            max_downloads_per_credential: 16,
            trusted_proxies: Vec::new(),
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
            ice_tcp: true,
            tcp_port: 7882,
            ice_servers: Vec::new(),
            ice_deny: crate::media::ice_filter::DEFAULT_DENY
                .iter()
                .map(|s| s.to_string())
                .collect(),
            shards: None,
            shard_fill: 64,
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

/// Why `id` cannot name a node, if it cannot: 1 to 64 letters, digits,
/// `.`, `-` or `_` (it shows in logs, metrics and the admin console).
pub fn node_id_problem(id: &str) -> Option<String> {
    let fine = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if id.is_empty() || id.len() > 64 || !id.chars().all(fine) {
        Some(format!(
            "{id:?} must be 1 to 64 letters, digits, '.', '-' or '_'"
        ))
    } else {
        None
    }
}
