//! The delivery scheduler of one direction: datagrams the shapers let through wait here until
//! their delivery time. One task holds a min-heap of them and sleeps until the earliest is
//! due, so nothing polls.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::net::SocketAddr;

use tokio::sync::mpsc;
use tokio::time::Instant;

/// A datagram to send at `at` on behalf of the client at `client`.
pub struct Item {
    pub at: Instant,
    /// Arrival order, so items due at the same instant keep it.
    pub seq: u64,
    pub client: SocketAddr,
    pub data: Vec<u8>,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Item {}

impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Item {
    /// Reversed, so `BinaryHeap` (a max-heap) pops the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Where due items go.
pub trait Deliver: Send + 'static {
    fn deliver(&self, item: Item) -> impl std::future::Future<Output = ()> + Send;
}

/// Receives items from `rx` and hands each to `out` when it is due. Returns once `rx` is
/// closed and everything queued has been delivered.
pub async fn run<D: Deliver>(mut rx: mpsc::UnboundedReceiver<Item>, out: D) {
    let mut heap: BinaryHeap<Item> = BinaryHeap::new();
    let mut open = true;
    loop {
        let now = Instant::now();
        while heap.peek().is_some_and(|item| item.at <= now) {
            if let Some(item) = heap.pop() {
                out.deliver(item).await;
            }
        }
        let next = heap.peek().map(|item| item.at);
        if !open && next.is_none() {
            return;
        }
        tokio::select! {
            got = rx.recv(), if open => match got {
                Some(item) => heap.push(item),
                None => open = false,
            },
            () = sleep_until(next), if next.is_some() => {}
        }
    }
}

/// Sleeps until `at`; `None` never comes (its branch is disabled anyway).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
