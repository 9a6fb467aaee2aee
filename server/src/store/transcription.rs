//! Transcription jobs: one row per recording, `pending` → `running` →
//! `done` | `failed` (or `cancelled` when the recording is deleted). A job
//! that was running when the server stopped is pending again at the next
//! start, so it resumes.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

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

fn job_from_row(row: AnyRow) -> Result<TranscriptionJob, sqlx::Error> {
    let status: String = row.try_get(1)?;
    Ok(TranscriptionJob {
        recording_id: row.try_get(0)?,
        status: JobStatus::parse(&status).unwrap_or(JobStatus::Failed),
        progress: row.try_get(2)?,
        language: row.try_get(3)?,
        error: row.try_get(4)?,
        attempts: row.try_get(5)?,
        queued_at_ms: row.try_get(6)?,
        started_at_ms: row.try_get(7)?,
        finished_at_ms: row.try_get(8)?,
    })
}

/// A job is tried at most this often: a recording that crashes the
/// recognizer (or the server) every time must not loop forever.
pub const MAX_ATTEMPTS: i64 = 3;

/// How often [`Store::claim_transcription`] looks again when another node
/// took the job it picked.
const CLAIM_TRIES: usize = 5;

/// Marks one pending job running; false when it was not pending any more
/// (another node took it first).
const START: &str = "UPDATE transcription_jobs SET status = 'running', progress = 0, error = NULL,
       attempts = attempts + 1, started_at_ms = $2, finished_at_ms = NULL
     WHERE recording_id = $1 AND status = 'pending'";

impl Store {
    /// Queues a job for `recording_id` (again, if it had finished or
    /// failed; a pending or running one is left alone).
    pub async fn queue_transcription(
        &self,
        recording_id: String,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        queue(&mut *self.normal().await?, &recording_id, now_ms).await
    }

    /// Jobs left running by a stopped server are pending again.
    pub async fn resume_transcriptions(&self) -> Result<usize, StoreError> {
        let done = sqlx::query(
            "UPDATE transcription_jobs SET status = 'pending', progress = 0 WHERE status = 'running'",
        )
        .execute(&mut *self.normal().await?)
        .await?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }

    /// Takes the oldest pending job whose recording still exists and
    /// marks it running; jobs of deleted recordings are cancelled on the
    /// way, jobs tried too often fail. The job is taken only if it is
    /// still pending, so two takers (two nodes) never both get it.
    pub async fn claim_transcription(
        &self,
        now_ms: i64,
    ) -> Result<Option<TranscriptionJob>, StoreError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        sqlx::query(
            "UPDATE transcription_jobs SET status = 'cancelled', finished_at_ms = $1
             WHERE status = 'pending' AND recording_id IN
               (SELECT id FROM recordings WHERE status = 'deleted')",
        )
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE transcription_jobs SET status = 'failed', finished_at_ms = $2,
               error = 'stopped the transcriber ' || attempts || ' times; not tried again'
             WHERE status = 'pending' AND attempts >= $1",
        )
        .bind(MAX_ATTEMPTS)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        for _ in 0..CLAIM_TRIES {
            let id: Option<String> = sqlx::query_scalar(
                "SELECT recording_id FROM transcription_jobs WHERE status = 'pending'
                 ORDER BY queued_at_ms, recording_id LIMIT 1",
            )
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = id else { break };
            let started = sqlx::query(START)
                .bind(&id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            if started.rows_affected() == 1 {
                let job = load(&mut tx, &id).await?;
                tx.commit().await?;
                return Ok(job);
            }
        }
        tx.commit().await?;
        Ok(None)
    }

    /// Marks `recording_id`'s job running for a caller that runs it itself
    /// (`duet transcribe`); false when it is running elsewhere already.
    pub async fn start_transcription(
        &self,
        recording_id: String,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut c = self.normal().await?;
        queue(&mut c, &recording_id, now_ms).await?;
        let started = sqlx::query(START)
            .bind(&recording_id)
            .bind(now_ms)
            .execute(&mut *c)
            .await?;
        Ok(started.rows_affected() == 1)
    }

    pub async fn set_transcription_progress(
        &self,
        recording_id: String,
        progress: f64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE transcription_jobs SET progress = $2 WHERE recording_id = $1 AND status = 'running'",
        )
        .bind(recording_id)
        .bind(progress.clamp(0.0, 1.0))
        .execute(&mut *self.normal().await?)
        .await?;
        Ok(())
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
        sqlx::query(
            "UPDATE transcription_jobs SET status = $2, language = $3, error = $4,
               finished_at_ms = $5, progress = CASE WHEN $2 = 'done' THEN 1 ELSE progress END
             WHERE recording_id = $1",
        )
        .bind(recording_id)
        .bind(status.as_str())
        .bind(language)
        .bind(error)
        .bind(now_ms)
        .execute(&mut *self.normal().await?)
        .await?;
        Ok(())
    }

    pub async fn transcription(
        &self,
        recording_id: String,
    ) -> Result<Option<TranscriptionJob>, StoreError> {
        load(&mut *self.normal().await?, &recording_id).await
    }

    /// Finished recordings (complete or interrupted, not deleted) with no
    /// job at all or a failed one: what `duet transcribe --all-missing`
    /// queues.
    pub async fn untranscribed(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT r.id FROM recordings r
             LEFT JOIN transcription_jobs j ON j.recording_id = r.id
             WHERE r.status IN ('complete', 'interrupted')
               AND (j.recording_id IS NULL OR j.status IN ('failed', 'cancelled'))
             ORDER BY r.started_at_ms",
        )
        .fetch_all(&mut *self.normal().await?)
        .await?)
    }

    /// [`Store::untranscribed`] for the CLI.
    pub fn untranscribed_blocking(&self) -> Result<Vec<String>, StoreError> {
        self.block_on(self.untranscribed())
    }

    /// Jobs per status, for the metrics.
    pub async fn transcription_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(
            sqlx::query("SELECT status, COUNT(*) FROM transcription_jobs GROUP BY status")
                .try_map(|r: AnyRow| Ok((r.try_get(0)?, r.try_get(1)?)))
                .fetch_all(&mut *self.normal().await?)
                .await?,
        )
    }
}

async fn load(
    conn: &mut AnyConnection,
    recording_id: &str,
) -> Result<Option<TranscriptionJob>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM transcription_jobs WHERE recording_id = $1");
    Ok(sqlx::query(AssertSqlSafe(sql))
        .bind(recording_id)
        .try_map(job_from_row)
        .fetch_optional(conn)
        .await?)
}

async fn queue(
    conn: &mut AnyConnection,
    recording_id: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO transcription_jobs (recording_id, status, queued_at_ms) VALUES ($1, 'pending', $2)
         ON CONFLICT (recording_id) DO UPDATE SET status = 'pending', progress = 0, error = NULL,
           attempts = 0, queued_at_ms = $2, started_at_ms = NULL, finished_at_ms = NULL
         WHERE transcription_jobs.status NOT IN ('pending', 'running')",
    )
    .bind(recording_id)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
