//! Background-task bookkeeping and condition waits shared by the harness.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::anyhow;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Tasks owned by one harness object; every task still running is aborted when the set is
/// dropped, so a dropped peer leaves nothing behind on the runtime.
#[derive(Default)]
pub struct TaskSet {
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl TaskSet {
    /// Spawns `fut` on the current tokio runtime and keeps its handle.
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(fut);
        if let Ok(mut handles) = self.handles.lock() {
            handles.retain(|h| !h.is_finished());
            handles.push(handle);
        }
    }

    /// Aborts every task in the set.
    pub fn abort_all(&self) {
        if let Ok(mut handles) = self.handles.lock() {
            for handle in handles.drain(..) {
                handle.abort();
            }
        }
    }
}

impl Drop for TaskSet {
    fn drop(&mut self) {
        self.abort_all();
    }
}

/// Waits until `cond` holds for the value in `rx`, or fails after `timeout` with `what` and a
/// debug dump of the last value in the error.
pub async fn wait_watch<T, F>(
    rx: &mut watch::Receiver<T>,
    timeout: Duration,
    what: &str,
    mut cond: F,
) -> anyhow::Result<T>
where
    T: Clone + std::fmt::Debug,
    F: FnMut(&T) -> bool,
{
    let outcome = tokio::time::timeout(timeout, async {
        rx.wait_for(|v| cond(v)).await.map(|v| v.clone())
    })
    .await;
    match outcome {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(anyhow!("{what}: the watched state was dropped")),
        Err(_) => {
            let last = rx.borrow().clone();
            Err(anyhow!(
                "{what}: timed out after {timeout:?}; last state: {last:?}"
            ))
        }
    }
}
