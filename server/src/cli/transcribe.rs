//! `duet transcribe RECORDING_ID` and `duet transcribe --all-missing`: run
//! transcription jobs here, in the foreground, with a progress bar (the
//! server runs the same jobs in the background).

use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use clap::Args;

use crate::clock::now_ms;
use crate::config::Config;
use crate::store::{JobStatus, Store};
use crate::transcript::engine::Recognizer;
use crate::transcript::job::{self, JobSettings};

/// A line for the operator on standard error (the progress bar's stream).
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// The recording to transcribe (again, if it has a transcript).
    #[arg(
        required_unless_present = "all_missing",
        conflicts_with = "all_missing"
    )]
    pub recording: Option<String>,
    /// Every finished recording without a transcript (after turning
    /// transcription on, or after failures).
    #[arg(long)]
    pub all_missing: bool,
}

pub fn run(config: &Config, store: Store, args: &TranscribeArgs) -> anyhow::Result<()> {
    let Some(model) = config.transcription_model() else {
        bail!(
            "no model: set transcription.model, DUET_TRANSCRIPTION_MODEL or --transcription-model (see `duet model list`)"
        );
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let ids = match &args.recording {
        Some(id) => {
            let uuid = uuid::Uuid::parse_str(id).context("that is not a recording id (a UUID)")?;
            let row = runtime
                .block_on(store.recording(duet_signaling::consent::RecordingId(uuid)))?
                .with_context(|| format!("no recording {id}"))?;
            if !matches!(
                row.status,
                crate::store::RecordingRowStatus::Complete
                    | crate::store::RecordingRowStatus::Interrupted
            ) {
                bail!(
                    "recording {id} is {:?}: only finished recordings are transcribed",
                    row.status
                );
            }
            vec![row.id]
        }
        None => store.untranscribed_blocking()?,
    };
    if ids.is_empty() {
        note!("every finished recording has a transcript");
        return Ok(());
    }
    // Like the server's workers: a catch-up run beside live calls must not
    // take their CPU.
    crate::transcript::service::lower_priority();
    let engine = Recognizer::load(&model, config.transcription.threads)?;
    let model_name = model
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let language =
        (config.transcription.language != "auto").then(|| config.transcription.language.clone());
    let mut failed = 0;
    for (n, id) in ids.iter().enumerate() {
        if !runtime.block_on(store.start_transcription(id.clone(), now_ms()))? {
            note!("{id}: being transcribed by the server now; skipped");
            continue;
        }
        let bar = indicatif::ProgressBar::new(1000);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {percent}% ({elapsed}, {eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(format!("{}/{} {id}", n + 1, ids.len()));
        let cancel = AtomicBool::new(false);
        let settings = JobSettings {
            engine: &engine,
            model_name: &model_name,
            language: language.as_deref(),
            cancel: &cancel,
        };
        let dir = config.data_dir.join("recordings").join(id);
        let result = job::run(&dir, &settings, &mut |p| {
            bar.set_position((p * 1000.0) as u64)
        });
        bar.finish_and_clear();
        let (status, lang, error) = match &result {
            Ok(report) => {
                note!(
                    "{id}: {} segments, {:.0} s of speech in {:.1} s ({:.2}x real time), language {}",
                    report.segments,
                    report.speech_s,
                    report.elapsed.as_secs_f64(),
                    report.elapsed.as_secs_f64() / report.speech_s.max(0.001),
                    report.language.as_deref().unwrap_or("unknown")
                );
                (JobStatus::Done, report.language.clone(), None)
            }
            Err(e) => {
                failed += 1;
                note!("{id}: failed: {e}");
                (JobStatus::Failed, None, Some(e.to_string()))
            }
        };
        runtime.block_on(store.finish_transcription(id.clone(), status, lang, error, now_ms()))?;
    }
    if failed > 0 {
        bail!("{failed} of {} transcriptions failed", ids.len());
    }
    Ok(())
}
