//! When the media loop must wake for connection timers, without asking
//! every connection on every packet or every wake-up.
//!
//! Each connection's next deadline (its [`PeerTimer`]) sits in a min-heap.
//! A connection that was just serviced is only marked (`touch`); its
//! deadline is read once per batch of datagrams (`flush_timeouts`), however
//! many packets it handled. A wake-up pops only the connections that are
//! due. Entries whose connection moved its deadline or went away are stale
//! and skipped; the heap is rebuilt when they pile up.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use rtc::sansio::Protocol;

use super::{Engine, Fed};
use crate::media::PeerKey;

/// A connection's deadline in the heap, earliest first.
pub(super) struct Due {
    at: Instant,
    key: PeerKey,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    /// Reversed: `BinaryHeap` is a max-heap and the earliest must be on top.
    fn cmp(&self, other: &Self) -> Ordering {
        other.at.cmp(&self.at)
    }
}

pub(super) type TimerHeap = BinaryHeap<Due>;

/// One connection's place in the [`Timers`].
#[derive(Default)]
pub(super) struct PeerTimer {
    /// Its next deadline as last read.
    deadline: Option<Instant>,
    /// Serviced since its deadline was last read (listed in
    /// `Timers::dirty`).
    dirty: bool,
}

/// When the engine wakes for its connections' timers.
pub(super) struct Timers {
    /// Connection deadlines, earliest first.
    heap: TimerHeap,
    /// Connections serviced since their deadlines were last read.
    dirty: Vec<PeerKey>,
    /// Connections due (or stale) in one pass, reused.
    due: Vec<PeerKey>,
    /// The loop wakes at least this often (ICE-TCP sweep, reports).
    idle_wake: Instant,
    /// Where the timer grid starts ([`on_grid`]).
    origin: Instant,
}

impl Timers {
    pub(super) fn new(now: Instant) -> Timers {
        Timers {
            heap: TimerHeap::new(),
            dirty: Vec::with_capacity(64),
            due: Vec::with_capacity(16),
            idle_wake: now + IDLE_WAKEUP,
            origin: now,
        }
    }

    /// Marks `key`'s connection (its `timer`) as serviced.
    fn touch(&mut self, key: PeerKey, timer: &mut PeerTimer) {
        if !timer.dirty {
            timer.dirty = true;
            self.dirty.push(key);
        }
    }

    /// `key`'s connection (its `timer`) next wants waking at `at`.
    fn set(&mut self, key: PeerKey, timer: &mut PeerTimer, at: Option<Instant>) {
        timer.dirty = false;
        if at != timer.deadline {
            timer.deadline = at;
            if let Some(at) = at {
                self.heap.push(Due { at, key });
            }
        }
    }

    /// Whether the idle wake-up has come; if so the next one is set.
    fn idle_due(&mut self, now: Instant) -> bool {
        if now < self.idle_wake {
            return false;
        }
        self.idle_wake = now + IDLE_WAKEUP;
        true
    }
}

impl Engine {
    /// Marks `key`'s connection as serviced: its deadline is re-read at the
    /// end of the batch.
    pub(super) fn touch(&mut self, key: PeerKey) {
        if let Some(peer) = self.peers.get_mut(&key) {
            self.timers.touch(key, &mut peer.timer);
        }
    }

    /// Re-reads the deadline of every connection serviced since the last
    /// call. Must run before the loop goes to sleep.
    pub(in crate::media) fn flush_timeouts(&mut self) {
        // Taken out (and put back, keeping its capacity) so each key can be
        // handled under its own guard, which needs the whole engine.
        let mut dirty = std::mem::take(&mut self.timers.dirty);
        while !dirty.is_empty() {
            for key in dirty.drain(..) {
                // `poll_timeout` runs `rtc`: a panic there closes this
                // connection only.
                self.guarded(key, |engine| {
                    let Some(peer) = engine.peers.get_mut(&key) else {
                        return;
                    };
                    let at = peer.pc.poll_timeout();
                    engine.timers.set(key, &mut peer.timer, at);
                });
            }
            // A panic's cleanup may have touched other peers meanwhile: their
            // deadlines are read too before the loop sleeps. The drained list
            // goes back in place, keeping its capacity.
            std::mem::swap(&mut dirty, &mut self.timers.dirty);
        }
        // Both lists are empty now; the one with the capacity stays. A turn
        // with nothing marked used to drop it here, so the next turn's
        // first marks allocated the list again and grew it key by key.
        if dirty.capacity() > self.timers.dirty.capacity() {
            self.timers.dirty = dirty;
        }
        if self.timers.heap.len() > 4 * self.peers.len() + 64 {
            self.timers.heap = self
                .peers
                .iter()
                .filter_map(|(key, p)| p.timer.deadline.map(|at| Due { at, key: *key }))
                .collect();
        }
    }

    /// When the loop must wake next: the earliest live deadline rounded up
    /// to the [`TIMER_GRID`], or the idle wake-up.
    pub(in crate::media) fn next_wake(&mut self) -> Instant {
        let timers = &mut self.timers;
        while let Some(top) = timers.heap.peek() {
            let live = self
                .peers
                .get(&top.key)
                .is_some_and(|p| p.timer.deadline == Some(top.at));
            if live {
                return on_grid(timers.origin, top.at).min(timers.idle_wake);
            }
            timers.heap.pop();
        }
        timers.idle_wake
    }

    /// Hands `now` to every connection whose deadline has come, and services
    /// them.
    pub(in crate::media) fn handle_timeouts(&mut self, now: Instant) {
        let mut keys = std::mem::take(&mut self.timers.due);
        keys.clear();
        while self.timers.heap.peek().is_some_and(|top| top.at <= now) {
            let Some(Due { at, key }) = self.timers.heap.pop() else {
                break;
            };
            if let Some(peer) = self.peers.get_mut(&key)
                && peer.timer.deadline == Some(at)
            {
                // Taken: any other entry for this deadline is now stale.
                peer.timer.deadline = None;
                keys.push(key);
            }
        }
        for key in keys.drain(..) {
            self.guarded(key, |engine| {
                if let Some(peer) = engine.peers.get_mut(&key) {
                    let _ = peer.pc.handle_timeout(now);
                }
                engine.service(now, key, Fed::Other);
                engine.touch(key);
            });
        }
        self.timers.due = keys;
        if self.timers.idle_due(now) {
            self.tcp.sweep(now);
            self.reap_unconnected(now);
        }
        self.stats.maybe_report(now, self.peers.len());
    }

    /// Removes connections that never came up within [`CONNECT_WITHIN`] of
    /// their offer. Failed connections are otherwise kept (an ICE restart
    /// may revive them), so one whose asker vanished (a probe's request
    /// cancelled before its cleanup was armed, a client gone mid-offer)
    /// would stay for good.
    fn reap_unconnected(&mut self, now: Instant) {
        let mut stale = std::mem::take(&mut self.timers.due);
        stale.clear();
        stale.extend(self.peers.iter().filter_map(|(key, p)| {
            p.offered
                .is_some_and(|at| now.saturating_duration_since(at) >= CONNECT_WITHIN)
                .then_some(*key)
        }));
        for key in stale.drain(..) {
            let Some(conn) = self.peers.get(&key).map(|p| p.conn) else {
                continue;
            };
            tracing::debug!(session = %key.session, role = %key.role, "connection never came up: removed");
            self.guarded(key, |engine| engine.remove(key, conn));
        }
        self.timers.due = stale;
    }
}

/// How long a connection may take to come up after its offer.
const CONNECT_WITHIN: Duration = Duration::from_secs(30);

/// The loop wakes at least this often, idle or not.
const IDLE_WAKEUP: Duration = Duration::from_secs(1);

/// Timer wake-ups fall on this grid: every connection whose timers (NACK
/// rounds, congestion feedback, reports, ICE keepalives) come due within
/// one slot is served by one wake-up of the loop, each at most this late.
/// Each `rtc` connection runs a handful of timers of its own phases, so
/// without it an idle call woke the loop at every one of them.
pub(super) const TIMER_GRID: Duration = Duration::from_millis(5);

/// `at` rounded up to the next point of the [`TIMER_GRID`] from `origin`.
pub(super) fn on_grid(origin: Instant, at: Instant) -> Instant {
    let grid = TIMER_GRID.as_nanos();
    let since = at.saturating_duration_since(origin).as_nanos();
    let slots = since.div_ceil(grid);
    let nanos = u64::try_from(slots * grid).unwrap_or(u64::MAX);
    origin + Duration::from_nanos(nanos)
}

#[cfg(test)]
mod tests;
