//! Transcription jobs: one row per recording, `pending` → `running` →
//! `done` | `failed` (or `cancelled` when the recording is deleted). A job
//! that was running when the server stopped is pending again at the next
//! start, so it resumes.

use rusqlite::{OptionalExtension, Row};
use serde::Serialize;

use super::{Store, StoreError};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Pending,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => JobStatus::Pending,
            "running" => JobStatus::Running,
            "done" => JobStatus::Done,
            "failed" => JobStatus::Failed,
            "cancelled" => JobStatus::Cancelled,
            _ => return None,
        })
    }
}

/// One job as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TranscriptionJob {
    pub recording_id: String,
    pub status: JobStatus,
    /// 0..1 while running.
    pub progress: f64,
    pub language: Option<String>,
    /// Why it failed (never transcript text).
    pub error: Option<String>,
    pub attempts: i64,
    pub queued_at_ms: i64,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
}

const COLUMNS: &str = "recording_id, status, progress, language, error, attempts, \
    queued_at_ms, started_at_ms, finished_at_ms";

fn job_from_row(row: &Row<'_>) -> rusqlite::Result<TranscriptionJob> {
    let status: String = row.get(1)?;
    Ok(TranscriptionJob {
        recording_id: row.get(0)?,
        status: JobStatus::parse(&status).unwrap_or(JobStatus::Failed),
        progress: row.get(2)?,
        language: row.get(3)?,
        error: row.get(4)?,
        attempts: row.get(5)?,
        queued_at_ms: row.get(6)?,
        started_at_ms: row.get(7)?,
        finished_at_ms: row.get(8)?,
    })
}

/// A job is tried at most this often: a recording that crashes the
/// recognizer (or the server) every time must not loop forever.
pub const MAX_ATTEMPTS: i64 = 3;

impl Store {
    /// Queues a job for `recording_id` (again, if it had finished or
    /// failed; a pending or running one is left alone).
    pub async fn queue_transcription(
        &self,
        recording_id: String,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.call(move |conn| queue(conn, &recording_id, now_ms))
            .await
    }

    /// Jobs left running by a stopped server are pending again.
    pub async fn resume_transcriptions(&self) -> Result<usize, StoreError> {
        self.call(|conn| {
            Ok(conn.execute(
                "UPDATE transcription_jobs SET status = 'pending', progress = 0 WHERE status = 'running'",
                [],
            )?)
        })
        .await
    }

    /// Takes the oldest pending job whose recording still exists and
    /// marks it running; jobs of deleted recordings are cancelled on the
    /// way, jobs tried too often fail.
    pub async fn claim_transcription(
        &self,
        now_ms: i64,
    ) -> Result<Option<TranscriptionJob>, StoreError> {
        self.call(move |conn| {
            let tx = conn.unchecked_transaction()?;
            tx.execute(
                "UPDATE transcription_jobs SET status = 'cancelled', finished_at_ms = ?1
                 WHERE status = 'pending' AND recording_id IN
                   (SELECT id FROM recordings WHERE status = 'deleted')",
                [now_ms],
            )?;
            tx.execute(
                "UPDATE transcription_jobs SET status = 'failed', finished_at_ms = ?2,
                   error = 'stopped the transcriber ' || attempts || ' times; not tried again'
                 WHERE status = 'pending' AND attempts >= ?1",
                rusqlite::params![MAX_ATTEMPTS, now_ms],
            )?;
            let id: Option<String> = tx
                .query_row(
                    "SELECT recording_id FROM transcription_jobs WHERE status = 'pending'
                     ORDER BY queued_at_ms, recording_id LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(id) = id else {
                tx.commit()?;
                return Ok(None);
            };
            tx.execute(
                "UPDATE transcription_jobs SET status = 'running', progress = 0, error = NULL,
                   attempts = attempts + 1, started_at_ms = ?2, finished_at_ms = NULL
                 WHERE recording_id = ?1",
                rusqlite::params![id, now_ms],
            )?;
            let job = tx.query_row(
                &format!("SELECT {COLUMNS} FROM transcription_jobs WHERE recording_id = ?1"),
                [&id],
                job_from_row,
            )?;
            tx.commit()?;
            Ok(Some(job))
        })
        .await
    }

    /// Marks `recording_id`'s job running for a caller that runs it itself
    /// (`duet transcribe`); false when it is running elsewhere already.
    pub async fn start_transcription(
        &self,
        recording_id: String,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.call(move |conn| {
            queue(conn, &recording_id, now_ms)?;
            let changed = conn.execute(
                "UPDATE transcription_jobs SET status = 'running', progress = 0, error = NULL,
                   attempts = attempts + 1, started_at_ms = ?2, finished_at_ms = NULL
                 WHERE recording_id = ?1 AND status = 'pending'",
                rusqlite::params![recording_id, now_ms],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    pub async fn set_transcription_progress(
        &self,
        recording_id: String,
        progress: f64,
    ) -> Result<(), StoreError> {
        self.call(move |conn| {
            conn.execute(
                "UPDATE transcription_jobs SET progress = ?2 WHERE recording_id = ?1 AND status = 'running'",
                rusqlite::params![recording_id, progress.clamp(0.0, 1.0)],
            )?;
            Ok(())
        })
        .await
    }

    /// Ends a running job: `done` (with the language), `failed` (with
    /// why) or `cancelled`.
    pub async fn finish_transcription(
        &self,
        recording_id: String,
        status: JobStatus,
        language: Option<String>,
        error: Option<String>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.call(move |conn| {
            conn.execute(
                "UPDATE transcription_jobs SET status = ?2, language = ?3, error = ?4,
                   finished_at_ms = ?5, progress = CASE WHEN ?2 = 'done' THEN 1 ELSE progress END
                 WHERE recording_id = ?1",
                rusqlite::params![recording_id, status.as_str(), language, error, now_ms],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn transcription(
        &self,
        recording_id: String,
    ) -> Result<Option<TranscriptionJob>, StoreError> {
        self.call(move |conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {COLUMNS} FROM transcription_jobs WHERE recording_id = ?1"),
                    [recording_id],
                    job_from_row,
                )
                .optional()?)
        })
        .await
    }

    /// Finished recordings (complete or interrupted, not deleted) with no
    /// job at all or a failed one: what `duet transcribe --all-missing`
    /// queues.
    pub fn untranscribed_blocking(&self) -> Result<Vec<String>, StoreError> {
        self.call_blocking(|conn| {
            let mut stmt = conn.prepare(
                "SELECT r.id FROM recordings r
                 LEFT JOIN transcription_jobs j ON j.recording_id = r.id
                 WHERE r.status IN ('complete', 'interrupted')
                   AND (j.recording_id IS NULL OR j.status IN ('failed', 'cancelled'))
                 ORDER BY r.started_at_ms",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Jobs per status, for the metrics.
    pub async fn transcription_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.call(|conn| {
            let mut stmt =
                conn.prepare("SELECT status, COUNT(*) FROM transcription_jobs GROUP BY status")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}

fn queue(conn: &rusqlite::Connection, recording_id: &str, now_ms: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO transcription_jobs (recording_id, status, queued_at_ms) VALUES (?1, 'pending', ?2)
         ON CONFLICT (recording_id) DO UPDATE SET status = 'pending', progress = 0, error = NULL,
           attempts = 0, queued_at_ms = ?2, started_at_ms = NULL, finished_at_ms = NULL
         WHERE status NOT IN ('pending', 'running')",
        rusqlite::params![recording_id, now_ms],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
