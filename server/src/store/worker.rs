//! The database's own thread. Every query of the running server is a job
//! queued here, never a task on tokio's shared blocking pool: that pool also
//! serves file streaming and password hashing, and when a client holds
//! hundreds of its threads (stalled downloads), a consent event queued
//! behind them would never be stored. Here nothing else competes.
//!
//! Two lanes: jobs of the consent path (storing consent events, reading a
//! recording's trail to start it) go in the urgent lane and are taken
//! before any waiting job of the normal lane, so a burst of API reads
//! cannot delay a revoke's event by more than the one query running.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use rusqlite::Connection;

/// Jobs the normal lane holds at most; past this, pushing one fails with
/// [`PushError::Full`]. A flood of API reads then gets "busy" instead of
/// growing the queue without bound. The urgent lane is never capped: a
/// consent event must be stored.
pub(super) const NORMAL_QUEUE: usize = 1024;

/// One unit of work; it sends its own result back to whoever waits.
pub(super) type Job = Box<dyn FnOnce(&Connection) + Send>;

/// Which queue a job waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// The consent path: taken first.
    Urgent,
    /// Everything else.
    Normal,
}

#[derive(Default)]
struct Queue {
    urgent: VecDeque<Job>,
    normal: VecDeque<Job>,
    closed: bool,
}

impl Queue {
    fn next(&mut self) -> Option<Job> {
        self.urgent.pop_front().or_else(|| self.normal.pop_front())
    }
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The handle to the thread. Dropping the last one lets the thread finish
/// the queued jobs and end.
pub(super) struct Worker {
    shared: Arc<Shared>,
}

/// Why a job was not queued.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum PushError {
    /// The thread has stopped.
    Gone,
    /// The normal lane holds [`NORMAL_QUEUE`] jobs already.
    Full,
}

impl Worker {
    /// Starts the thread that runs every job on `conn`.
    pub(super) fn spawn(conn: Arc<Mutex<Connection>>) -> std::io::Result<Worker> {
        let shared = Arc::new(Shared::default());
        let theirs = shared.clone();
        std::thread::Builder::new()
            .name("duet-db".into())
            .spawn(move || run(&theirs, &conn))?;
        Ok(Worker { shared })
    }

    pub(super) fn push(&self, lane: Lane, job: Job) -> Result<(), PushError> {
        let mut queue = self.shared.lock();
        if queue.closed {
            return Err(PushError::Gone);
        }
        match lane {
            Lane::Urgent => queue.urgent.push_back(job),
            Lane::Normal if queue.normal.len() >= NORMAL_QUEUE => return Err(PushError::Full),
            Lane::Normal => queue.normal.push_back(job),
        }
        drop(queue);
        self.shared.ready.notify_one();
        Ok(())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_one();
    }
}

#[cfg(test)]
mod tests;

fn run(shared: &Shared, conn: &Mutex<Connection>) {
    loop {
        let job = {
            let mut queue = shared.lock();
            loop {
                if let Some(job) = queue.next() {
                    break job;
                }
                if queue.closed {
                    return;
                }
                queue = shared.ready.wait(queue).unwrap_or_else(|p| p.into_inner());
            }
        };
        // A poisoned lock means a panic mid-call elsewhere (a CLI caller);
        // SQLite's transactions keep the file consistent, so carry on.
        let guard = conn.lock().unwrap_or_else(|p| p.into_inner());
        // A job that panics drops its reply (its caller gets an error); the
        // thread lives on for every other caller.
        if catch_unwind(AssertUnwindSafe(|| job(&guard))).is_err() {
            tracing::error!("a database job panicked");
        }
    }
}
