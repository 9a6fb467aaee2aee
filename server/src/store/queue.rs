//! Writes queued without waiting (the room's call history, mid call): one
//! task per store runs them one after another, in the order queued, in the
//! normal lane. A normal query waits for the writes queued before it
//! started ([`Barrier`]), so a caller reads back what it queued, as it did
//! when every query went through one queue.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use sqlx::AnyConnection;
use tokio::sync::{mpsc, watch};

use super::StoreError;
use super::lanes::{Lane, Lanes, NORMAL_QUEUE};

/// One queued write.
pub(crate) type Job =
    Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<(), StoreError>> + Send>;

struct Queued {
    what: &'static str,
    job: Job,
    /// The fault injected when it was queued (tests).
    #[cfg(test)]
    fault: super::Fault,
}

pub(super) struct WriteQueue {
    tx: mpsc::Sender<Queued>,
    /// Writes queued so far, counted under the lock that sends them, so
    /// counts and channel order agree.
    queued: std::sync::Mutex<u64>,
    /// Writes the task has finished (stored or failed).
    done: watch::Receiver<u64>,
    #[cfg(test)]
    lanes: Arc<Lanes>,
}

impl WriteQueue {
    /// Starts the task, on the current runtime. It ends once the last
    /// handle is dropped and everything queued has run.
    pub(super) fn start(lanes: Arc<Lanes>) -> WriteQueue {
        let (tx, rx) = mpsc::channel(NORMAL_QUEUE);
        let (done_tx, done) = watch::channel(0);
        tokio::spawn(run(lanes.clone(), rx, done_tx));
        WriteQueue {
            tx,
            queued: std::sync::Mutex::new(0),
            done,
            #[cfg(test)]
            lanes,
        }
    }

    pub(super) fn push(&self, what: &'static str, job: Job) -> Result<(), StoreError> {
        let item = Queued {
            what,
            job,
            #[cfg(test)]
            fault: self.lanes.fault(),
        };
        let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        self.tx.try_send(item).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StoreError::Busy,
            mpsc::error::TrySendError::Closed(_) => {
                StoreError::Task("the queue of database writes has stopped".into())
            }
        })?;
        *queued += 1;
        Ok(())
    }

    /// What a query starting now must wait for.
    pub(super) fn barrier(&self) -> Barrier {
        Barrier {
            target: *self.queued.lock().unwrap_or_else(|p| p.into_inner()),
            done: self.done.clone(),
        }
    }
}

/// The writes queued before some moment.
pub(super) struct Barrier {
    target: u64,
    done: watch::Receiver<u64>,
}

impl Barrier {
    /// Returns once those writes have run (at once when none are left).
    /// A stopped task has nothing left to wait for.
    pub(super) async fn wait(mut self) {
        let target = self.target;
        let _ = self.done.wait_for(|done| *done >= target).await;
    }
}

async fn run(lanes: Arc<Lanes>, mut rx: mpsc::Receiver<Queued>, done: watch::Sender<u64>) {
    while let Some(item) = rx.recv().await {
        let what = item.what;
        if let Err(e) = run_one(&lanes, item).await {
            tracing::warn!(what, error = %e, "a queued database write failed");
        }
        done.send_modify(|n| *n += 1);
    }
}

async fn run_one(lanes: &Lanes, item: Queued) -> Result<(), StoreError> {
    let mut conn = lanes.acquire_raw(Lane::Normal).await?;
    #[cfg(test)]
    item.fault.apply(Lane::Normal).await?;
    (item.job)(&mut conn).await
}
