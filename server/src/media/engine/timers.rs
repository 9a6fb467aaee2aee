//! When the media loop must wake for connection timers, without asking
//! every connection on every packet or every wake-up.
//!
//! Each connection's next deadline (`Peer::deadline`) sits in a min-heap.
//! A connection that was just serviced is only marked (`touch`); its
//! deadline is read once per batch of datagrams (`flush_timeouts`), however
//! many packets it handled. A wake-up pops only the connections that are
//! due. Entries whose connection moved its deadline or went away are stale
//! and skipped; the heap is rebuilt when they pile up.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use rtc::sansio::Protocol;

use super::{Engine, IDLE_WAKEUP};
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

impl Engine {
    /// Marks `key`'s connection as serviced: its deadline is re-read at the
    /// end of the batch.
    pub(super) fn touch(&mut self, key: PeerKey) {
        if let Some(peer) = self.peers.get_mut(&key)
            && !peer.dirty
        {
            peer.dirty = true;
            self.dirty.push(key);
        }
    }

    /// Re-reads the deadline of every connection serviced since the last
    /// call. Must run before the loop goes to sleep.
    pub(in crate::media) fn flush_timeouts(&mut self) {
        // Taken out (and put back, keeping its capacity) so each key can be
        // handled under its own guard, which needs the whole engine.
        let mut dirty = std::mem::take(&mut self.dirty);
        while !dirty.is_empty() {
            for key in dirty.drain(..) {
                // `poll_timeout` runs `rtc`: a panic there closes this
                // connection only.
                self.guarded(key, |engine| {
                    let Some(peer) = engine.peers.get_mut(&key) else {
                        return;
                    };
                    peer.dirty = false;
                    let at = peer.pc.poll_timeout();
                    if at != peer.deadline {
                        peer.deadline = at;
                        if let Some(at) = at {
                            engine.timers.push(Due { at, key });
                        }
                    }
                });
            }
            // A panic's cleanup may have touched other peers meanwhile: their
            // deadlines are read too before the loop sleeps. The drained list
            // goes back in place, keeping its capacity.
            std::mem::swap(&mut dirty, &mut self.dirty);
        }
        if self.timers.len() > 4 * self.peers.len() + 64 {
            self.timers = self
                .peers
                .iter()
                .filter_map(|(key, p)| p.deadline.map(|at| Due { at, key: *key }))
                .collect();
        }
    }

    /// When the loop must wake next: the earliest live deadline rounded up
    /// to the [`TIMER_GRID`], or the idle wake-up.
    pub(in crate::media) fn next_wake(&mut self) -> Instant {
        while let Some(top) = self.timers.peek() {
            let live = self
                .peers
                .get(&top.key)
                .is_some_and(|p| p.deadline == Some(top.at));
            if live {
                return on_grid(self.timer_origin, top.at).min(self.idle_wake);
            }
            self.timers.pop();
        }
        self.idle_wake
    }

    /// Hands `now` to every connection whose deadline has come, and services
    /// them.
    pub(in crate::media) fn handle_timeouts(&mut self, now: Instant) {
        let mut keys = std::mem::take(&mut self.timeout_keys);
        keys.clear();
        while self.timers.peek().is_some_and(|top| top.at <= now) {
            let Some(Due { at, key }) = self.timers.pop() else {
                break;
            };
            if let Some(peer) = self.peers.get_mut(&key)
                && peer.deadline == Some(at)
            {
                // Taken: any other entry for this deadline is now stale.
                peer.deadline = None;
                keys.push(key);
            }
        }
        for key in keys.drain(..) {
            self.guarded(key, |engine| {
                if let Some(peer) = engine.peers.get_mut(&key) {
                    let _ = peer.pc.handle_timeout(now);
                }
                engine.service(now, key);
                engine.touch(key);
            });
        }
        self.timeout_keys = keys;
        if now >= self.idle_wake {
            self.idle_wake = now + IDLE_WAKEUP;
            self.tcp.sweep(now);
            self.reap_unconnected(now);
        }
        self.maybe_report(now);
    }

    /// Removes connections that never came up within [`CONNECT_WITHIN`] of
    /// their offer. Failed connections are otherwise kept (an ICE restart
    /// may revive them), so one whose asker vanished (a probe's request
    /// cancelled before its cleanup was armed, a client gone mid-offer)
    /// would stay for good.
    fn reap_unconnected(&mut self, now: Instant) {
        let mut stale = std::mem::take(&mut self.timeout_keys);
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
        self.timeout_keys = stale;
    }
}

/// How long a connection may take to come up after its offer.
const CONNECT_WITHIN: Duration = Duration::from_secs(30);

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
