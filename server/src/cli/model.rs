//! `duet model download NAME` and `duet model list`: Whisper models for
//! transcription, in the data folder's `models/`.

use std::path::Path;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::config::Config;
use crate::transcript::download::{self, Fetched, Wanted};
use crate::transcript::models::{self, CATALOG};

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Fetch a model into <data>/models/, checking its SHA-256 (pinned for
    /// the catalog's models; `duet model list` shows them). Then set
    /// `transcription.model = "NAME"` (or --transcription-model NAME).
    Download {
        /// A catalog name (`tiny.en`, `base`, ...), or any name with --sha256.
        name: String,
        /// The expected SHA-256 (hex), for a model outside the catalog.
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
    },
    /// The models in <data>/models/, and the catalog.
    List,
}

pub fn run(config: &Config, command: &ModelCommand) -> anyhow::Result<()> {
    match command {
        ModelCommand::Download { name, sha256 } => download(config, name, sha256.as_deref()),
        ModelCommand::List => list(config),
    }
}

fn is_plain_model_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn download(config: &Config, name: &str, sha256: Option<&str>) -> anyhow::Result<()> {
    if !is_plain_model_name(name) {
        bail!("{name:?} is not a model name (letters, digits, '.', '-', '_')");
    }
    let file = format!("ggml-{name}.bin");
    let (digest, bytes) = match (models::find(name), sha256) {
        (Some(m), None) => (m.sha256.to_string(), Some(m.bytes)),
        (Some(m), Some(given)) if given.eq_ignore_ascii_case(m.sha256) => {
            (m.sha256.to_string(), Some(m.bytes))
        }
        (Some(m), Some(_)) => bail!(
            "{name} is pinned to SHA-256 {}; to use another file, give it another name",
            m.sha256
        ),
        (None, Some(given)) if models::is_sha256_hex(given) => (given.to_ascii_lowercase(), None),
        (None, Some(_)) => bail!("--sha256 takes 64 hex characters"),
        (None, None) => bail!(
            "{name} is not in the catalog ({}); give --sha256 to fetch it anyway",
            CATALOG
                .iter()
                .map(|m| m.name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let wanted = Wanted {
        url: format!(
            "{}/{file}",
            config.transcription.models_url.trim_end_matches('/')
        ),
        dest: config.data_dir.join("models").join(&file),
        sha256: digest,
        bytes,
    };
    let bar = indicatif::ProgressBar::new(bytes.unwrap_or(0));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(format!("fetching {file}"));
    let fetched = download::fetch(&wanted, &mut |got, total| {
        if let Some(t) = total {
            bar.set_length(t);
        }
        bar.set_position(got);
    });
    bar.finish_and_clear();
    let fetched = fetched?;
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    match fetched {
        Fetched::AlreadyThere => {
            writeln!(out, "{} is already there and intact", wanted.dest.display())?
        }
        Fetched::Downloaded { bytes } => writeln!(
            out,
            "saved {} ({:.1} MB, SHA-256 checked)",
            wanted.dest.display(),
            bytes as f64 / 1e6
        )?,
    }
    writeln!(
        out,
        "to transcribe with it: transcription.model = \"{name}\" in the config, or --transcription-model {name}"
    )?;
    Ok(())
}

fn list(config: &Config) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = config.data_dir.join("models");
    let configured = config.transcription_model();
    let mut out = std::io::stdout().lock();
    writeln!(out, "in {}:", dir.display())?;
    let mut found = 0;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut files: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "bin"))
            .collect();
        files.sort();
        for path in files {
            found += 1;
            writeln!(out, "  {}", describe(&path, configured.as_deref())?)?;
        }
    }
    if found == 0 {
        writeln!(out, "  (none)")?;
    }
    if let Some(model) = &configured
        && !model.starts_with(&dir)
    {
        writeln!(out, "configured: {}", describe(model, Some(model))?)?;
    }
    writeln!(out, "catalog (duet model download NAME):")?;
    for m in CATALOG {
        writeln!(
            out,
            "  {:<9} {:>5.0} MB  {}",
            m.name,
            m.bytes as f64 / 1e6,
            m.summary
        )?;
    }
    Ok(())
}

fn describe(path: &Path, configured: Option<&Path>) -> anyhow::Result<String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))
        .map(|m| format!("{:.0} MB", m.len() as f64 / 1e6))
        .unwrap_or_else(|_| "missing".into());
    let used = if configured == Some(path) {
        "  (configured)"
    } else {
        ""
    };
    Ok(format!("{name:<24} {size:>8}{used}"))
}
