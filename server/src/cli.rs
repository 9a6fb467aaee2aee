//! The `duet` command line: `serve`, `apikey create`, `session create`,
//! `admin create`, `config check`, `transcribe`, `model download|list`,
//! `migrate`.

mod model;
mod transcribe;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use duet_signaling::Role;
use duet_signaling::protocol::RecordingPolicy;

use crate::clock::now_s;
use crate::config::{Config, LogFormat};
use crate::links::{LinkSigner, join_url};
use crate::sessions::{self, PersonSpec, SessionSpec};
use crate::{Listeners, datadir, drain, store};

const ENV_HELP: &str = "Environment: DUET_CONFIG, DUET_DATA, DUET_LISTEN, DUET_MEDIA_PORT, \
DUET_PUBLIC_IP, DUET_PUBLIC_PORT, DUET_PUBLIC_URL, DUET_DATABASE_URL, DUET_TRANSCRIPTION_MODEL, DUET_LOG and DUET_LOG_FORMAT mirror the flags; DUET_API_KEY adds \
one API key valid for this run. Precedence: flag, then environment, then the config file, then \
built-in defaults.";

#[derive(Debug, Parser)]
#[command(
    name = "duet",
    version,
    about = "Duet: self-hosted one-to-one video sessions for mentoring",
    after_help = ENV_HELP
)]
pub struct Cli {
    /// TOML configuration file (see deploy/duet.example.toml).
    #[arg(long, global = true, env = "DUET_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data folder: database, link-signing secret, recordings [default: ./data].
    #[arg(long, global = true, env = "DUET_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Base URL of join links, e.g. https://duet.example.com [default: http://<listen>].
    #[arg(long, global = true, env = "DUET_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// PostgreSQL to keep the data in, e.g. postgres://duet@db/duet (env
    /// DUET_DATABASE_URL) [default: none, the embedded SQLite database in the data folder].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// An S3-compatible bucket for finished recordings, e.g.
    /// s3://duet-recordings/eu, with the usual AWS_* variables (env
    /// DUET_STORAGE_URL) [default: none, the data folder keeps them].
    #[arg(long, global = true, value_name = "URL")]
    pub storage_url: Option<String>,
    /// This node's name among several sharing one database (env
    /// DUET_NODE_ID) [default: the host name].
    #[arg(long, global = true, value_name = "ID")]
    pub node_id: Option<String>,
    /// Where the other nodes reach this one, e.g. http://10.0.0.5:8080
    /// (env DUET_INTERNAL_URL) [default: none; one node needs none].
    #[arg(long, global = true, value_name = "URL")]
    pub internal_url: Option<String>,
    /// Whisper model for transcripts: a ggml file, or a name fetched with
    /// `duet model download` (env DUET_TRANSCRIPTION_MODEL) [default: none, transcription off].
    #[arg(long, global = true, value_name = "FILE|NAME")]
    pub transcription_model: Option<String>,
    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Run the server (HTTP or HTTPS, signaling and media) until SIGTERM or
    /// Ctrl-C; SIGHUP reloads the TLS certificate and key files.
    Serve(ServeArgs),
    /// Manage API keys for the HTTP API.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Manage mentoring sessions.
    Session {
        #[command(subcommand)]
        command: SessionCommand,
    },
    /// Manage admin accounts for the console at /admin.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Check configuration files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Transcribe finished recordings now, in the foreground.
    Transcribe(transcribe::TranscribeArgs),
    /// Bring the database's schema up to date, then exit. `duet serve`
    /// does this itself at start; run this as the schema's owner when the
    /// server's own role may not change the schema (docs/operating.md).
    Migrate,
    /// Fetch and list Whisper models for transcription.
    Model {
        #[command(subcommand)]
        command: model::ModelCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin account, or set a new password for an existing one.
    /// Asks for the password twice at a terminal, or reads one line from
    /// standard input (at least 12 characters; stored as an argon2id hash).
    Create {
        /// Login name: letters, digits, '.', '-', '_' or '@'.
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate FILE (with any DUET_* environment overrides): prints what is
    /// wrong, naming the field (or the TLS file that cannot be used), and
    /// exits non-zero; or confirms it is valid.
    Check {
        /// The TOML file to check.
        file: PathBuf,
    },
    /// Print the built-in defaults as TOML.
    Defaults,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// HTTP listen address [default: 127.0.0.1:8080].
    #[arg(long, env = "DUET_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// The one UDP port for all media; 0 picks a free one [default: 7882].
    #[arg(long, env = "DUET_MEDIA_PORT", value_name = "PORT")]
    pub media_port: Option<u16>,
    /// Address put in ICE candidates (public or NAT 1:1 IP) [default: the bind address, else the first non-loopback one].
    #[arg(long, env = "DUET_PUBLIC_IP", value_name = "IP")]
    pub public_ip: Option<IpAddr>,
    /// Port put in ICE candidates when a NAT or container maps the media port [default: the media port].
    #[arg(long, env = "DUET_PUBLIC_PORT", value_name = "PORT")]
    pub public_port: Option<u16>,
    /// Serve the web client from this folder instead of the built-in copy (for development).
    #[arg(long, env = "DUET_WEB_DIR", value_name = "DIR")]
    pub web_dir: Option<PathBuf>,
    /// Log filter, e.g. info or duet_server=debug [default: info].
    #[arg(long, env = "DUET_LOG", value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Log format [default: text].
    #[arg(long, env = "DUET_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Create an API key; prints it once, alone, on standard output (only its hash is stored).
    Create,
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Create a session and print its two join links.
    Create {
        /// What the session is about.
        #[arg(long)]
        title: String,
        /// The mentor's name.
        #[arg(long)]
        mentor: String,
        /// The mentee's name.
        #[arg(long)]
        mentee: String,
        /// Whether the session may be recorded (with both people's consent).
        #[arg(long, value_parser = ["off", "allowed"], default_value = "off")]
        recording: String,
        /// Seconds until the links expire [default: sessions.default_expiry_s].
        #[arg(long, value_name = "SECONDS")]
        expires_in: Option<u64>,
    },
}

/// Reads the config file (if any) and applies environment and flags.
pub fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = Config::from_sources(cli.config.as_deref(), |name| std::env::var(name).ok())?;
    if let Some(data) = &cli.data {
        config.data_dir = data.clone();
    }
    if let Some(url) = &cli.public_url {
        config.http.public_url = Some(url.clone());
    }
    if let Some(model) = &cli.transcription_model {
        config.transcription.model = Some(model.clone());
    }
    if let Some(url) = &cli.database_url {
        config.database.url = Some(url.clone());
    }
    if let Some(url) = &cli.storage_url {
        config.storage.url = Some(url.clone());
    }
    if let Some(id) = &cli.node_id {
        config.node.id = Some(id.clone());
    }
    if let Some(url) = &cli.internal_url {
        config.internal_url = Some(url.clone());
    }
    if let CliCommand::Serve(args) = &cli.command {
        if let Some(v) = args.listen {
            config.http.listen = v;
        }
        if let Some(v) = args.media_port {
            config.media.port = v;
        }
        if let Some(v) = args.public_ip {
            config.media.public_ip = Some(v);
        }
        if let Some(v) = args.public_port {
            config.media.public_port = Some(v);
        }
        if let Some(v) = &args.web_dir {
            config.http.web_dir = Some(v.clone());
        }
        if let Some(v) = &args.log_level {
            config.log.level = v.clone();
        }
        if let Some(v) = args.log_format {
            config.log.format = v;
        }
    }
    if let Ok(key) = std::env::var("DUET_API_KEY")
        && !key.trim().is_empty()
    {
        config.auth.api_keys.push(key.trim().to_string());
    }
    config.validate()?;
    Ok(config)
}

pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    if let CliCommand::Config { command } = &cli.command {
        return config_command(command);
    }
    let config = load_config(&cli)?;
    match cli.command {
        CliCommand::Serve(_) => serve(config),
        CliCommand::Apikey {
            command: ApikeyCommand::Create,
        } => create_api_key(&config),
        CliCommand::Session {
            command:
                SessionCommand::Create {
                    title,
                    mentor,
                    mentee,
                    recording,
                    expires_in,
                },
        } => {
            let spec = SessionSpec {
                title,
                mentor: PersonSpec { name: mentor },
                mentee: PersonSpec { name: mentee },
                recording: if recording == "allowed" {
                    RecordingPolicy::Allowed
                } else {
                    RecordingPolicy::Off
                },
                expires_in_s: expires_in,
            };
            create_session(&config, &spec)
        }
        CliCommand::Config { .. } => Ok(()),
        CliCommand::Admin {
            command: AdminCommand::Create { username },
        } => create_admin(&config, &username),
        CliCommand::Transcribe(args) => {
            init_logging(&config);
            transcribe::run(&config, open_store(&config)?, &args)
        }
        CliCommand::Model { command } => model::run(&config, &command),
        CliCommand::Migrate => {
            init_logging(&config);
            let store = open_store(&config)?;
            writeln!(
                std::io::stdout().lock(),
                "the {} database is up to date",
                store.backend().name()
            )?;
            Ok(())
        }
    }
}

fn config_command(command: &ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Check { file } => {
            let config = Config::from_sources(Some(file), |name| std::env::var(name).ok())?;
            config.validate()?;
            for warning in config.warnings() {
                writeln!(std::io::stderr().lock(), "warning: {warning}")?;
            }
            if let (Some(cert), Some(key)) = (&config.http.tls_cert_file, &config.http.tls_key_file)
            {
                crate::tls::CertReloader::load(cert, key)?;
            }
            writeln!(std::io::stdout().lock(), "{}: valid", file.display())?;
        }
        ConfigCommand::Defaults => {
            let text = toml::to_string(&Config::default())?;
            write!(std::io::stdout().lock(), "{text}")?;
        }
    }
    Ok(())
}

/// `rtc` reports a packet its pipeline refused (an SRTP replay, such as a
/// NACK retransmission that raced its original; SRTP before the keys) at
/// WARN, once per packet: thousands of lines a second under load or under a
/// spray of junk. Held to ERROR unless the configured level names the target.
const PER_PACKET_TARGET: &str = "rtc::peer_connection::handler";

/// The log filter for `level`, with [`PER_PACKET_TARGET`] quietened.
fn log_filter(level: &str) -> tracing_subscriber::EnvFilter {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if level.contains(PER_PACKET_TARGET) {
        return filter;
    }
    match format!("{PER_PACKET_TARGET}=error").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

fn init_logging(config: &Config) {
    let filter = log_filter(&config.log.level);
    // Colour only for a person at a terminal, never in files or journald.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn serve(config: Config) -> anyhow::Result<()> {
    init_logging(&config);
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listeners = Listeners::bind(&config).await?;
        let grace = Duration::from_secs(config.shutdown.grace_period_s);
        let (first, second) = shutdown_signals(grace);
        crate::run_with_signals(config, listeners, first, second).await?;
        Ok(())
    })
}

/// The first and the second SIGTERM/SIGINT, as two futures. Each signal
/// also arms a watchdog that exits the process if shutdown overruns: after
/// the first, the grace period plus time to end sessions and finish
/// recordings; after the second, just the latter.
fn shutdown_signals(
    grace: Duration,
) -> (
    impl std::future::Future<Output = ()> + Send + 'static,
    impl std::future::Future<Output = ()> + Send + 'static,
) {
    let (tx, rx) = tokio::sync::watch::channel(0u32);
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        for count in 1..=2u32 {
            #[cfg(unix)]
            let term_signal = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let term_signal = std::future::pending::<()>();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term_signal => {},
            }
            let _ = tx.send(count);
            let finish =
                drain::SHUTDOWN_NOTICE + drain::RECORDING_FINALIZE + Duration::from_secs(2);
            let limit = if count == 1 { grace + finish } else { finish };
            std::thread::spawn(move || {
                std::thread::sleep(limit);
                tracing::warn!("shutdown took too long; exiting now");
                std::process::exit(1);
            });
        }
    });
    let nth = |n: u32, mut rx: tokio::sync::watch::Receiver<u32>| async move {
        let _ = rx.wait_for(|count| *count >= n).await;
    };
    (nth(1, rx.clone()), nth(2, rx))
}

fn open_store(config: &Config) -> anyhow::Result<store::Store> {
    datadir::ensure(&config.data_dir)?;
    Ok(store::Store::open_blocking(&datadir::database(config))?)
}

fn read_new_password() -> anyhow::Result<String> {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let first = rpassword::prompt_password("New password: ")?;
        let again = rpassword::prompt_password("Repeat it: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

fn create_admin(config: &Config, username: &str) -> anyhow::Result<()> {
    crate::admin::check_username(username)?;
    let password = read_new_password()?;
    let hash = crate::admin::hash_password(&password)?;
    let store = open_store(config)?;
    let now_ms = now_s() * 1000;
    store.set_admin_blocking(username, &hash, now_ms)?;
    store.audit_blocking(now_ms, "cli", "admin_create", Some(username.to_string()))?;
    writeln!(
        std::io::stdout().lock(),
        "admin {username} can now log in at /admin"
    )?;
    Ok(())
}

fn create_api_key(config: &Config) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let key = store::new_api_key();
    store.add_api_key_blocking(&key, now_s())?;
    writeln!(std::io::stdout().lock(), "{key}")?;
    Ok(())
}

fn create_session(config: &Config, spec: &SessionSpec) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let links = LinkSigner::new(datadir::signing_secret(&config.data_dir)?);
    let new =
        sessions::prepare(config, spec, now_s()).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    store.create_session_blocking(&new)?;
    let base = config.public_base_url();
    let link = |role: Role, link_id: &str| {
        join_url(
            &base,
            &sessions::token_for(&links, new.id, role, link_id, new.expires_at),
        )
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "Session {} \"{}\"", new.id, new.title)?;
    writeln!(
        out,
        "mentor ({}): {}",
        new.mentor_name,
        link(Role::Mentor, &new.mentor_link)
    )?;
    writeln!(
        out,
        "mentee ({}): {}",
        new.mentee_name,
        link(Role::Mentee, &new.mentee_link)
    )?;
    writeln!(
        out,
        "links expire at {}",
        crate::clock::rfc3339(new.expires_at)
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
