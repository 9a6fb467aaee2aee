//! A node's own view of its lease (sans-IO): fed the heartbeats that
//! reached the database and the passing time, it says when the node must
//! give up its calls.
//!
//! Other nodes take a session over once its node's heartbeat is older
//! than the lease ([`LEASE`]) by their clocks. This node gives up sooner,
//! [`GIVE_UP`] after the start of its last heartbeat that got through, so
//! it has stopped its rooms and recordings before anyone may move them —
//! including after a pause (`SIGSTOP`, a VM frozen): the first look after
//! waking finds the lease gone and says so before anything else is done.
//! A heartbeat counts from when it was *sent*: the row says "alive at"
//! that moment, however long the answer took.

use std::time::{Duration, Instant};

/// A heartbeat older than this marks a node dead to the others.
pub const LEASE: Duration = Duration::from_secs(10);
/// How often a node heartbeats: several tries fit in a lease.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// This node gives up this long after its last heartbeat that got
/// through: a margin of 3 s under the lease for stopping and for clocks
/// a little apart.
pub const GIVE_UP: Duration = Duration::from_secs(7);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    /// No heartbeat has got through yet: take no calls.
    Starting,
    /// Calls may be placed here.
    Held,
    /// The lease ran out: calls here must stop, and new ones wait for the
    /// next heartbeat that gets through.
    Lost,
}

#[derive(Debug, Clone)]
pub struct Lease {
    state: LeaseState,
    /// When the last heartbeat that got through was sent.
    renewed_from: Option<Instant>,
}

impl Default for Lease {
    fn default() -> Self {
        Lease {
            state: LeaseState::Starting,
            renewed_from: None,
        }
    }
}

impl Lease {
    pub fn state(&self) -> LeaseState {
        self.state
    }

    /// Whether the lease is held at `now`, by the clock rather than the
    /// last look: a node just woken from a pause must not take a call on
    /// a lease that ran out while it slept, before its next look.
    pub fn held_at(&self, now: Instant) -> bool {
        self.state == LeaseState::Held
            && self
                .renewed_from
                .is_some_and(|t| now.saturating_duration_since(t) < GIVE_UP)
    }

    /// A heartbeat sent at `sent_at` reached the database. Returns the new
    /// state when it changed. A late answer to an old heartbeat, one sent
    /// before the lease was lost, renews nothing: it could not have
    /// stopped another node from taking over meanwhile.
    pub fn renewed(&mut self, sent_at: Instant, now: Instant) -> Option<LeaseState> {
        if now.saturating_duration_since(sent_at) >= GIVE_UP {
            return self.expire(now);
        }
        if self.renewed_from.is_none_or(|t| sent_at > t) {
            self.renewed_from = Some(sent_at);
        }
        self.set(LeaseState::Held)
    }

    /// Looks at the time: the new state when the lease just ran out.
    pub fn poll(&mut self, now: Instant) -> Option<LeaseState> {
        self.expire(now)
    }

    fn expire(&mut self, now: Instant) -> Option<LeaseState> {
        let held = self.state == LeaseState::Held;
        let late = self
            .renewed_from
            .is_none_or(|t| now.saturating_duration_since(t) >= GIVE_UP);
        if held && late {
            return self.set(LeaseState::Lost);
        }
        None
    }

    fn set(&mut self, state: LeaseState) -> Option<LeaseState> {
        (std::mem::replace(&mut self.state, state) != state).then_some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn held_from_the_first_heartbeat_through_and_lost_when_they_stop() {
        let t = Instant::now();
        let mut lease = Lease::default();
        assert_eq!(lease.state(), LeaseState::Starting);
        assert_eq!(lease.poll(t + 30 * S), None, "nothing to lose yet");
        assert_eq!(lease.renewed(t, t), Some(LeaseState::Held));
        assert_eq!(lease.renewed(t + 2 * S, t + 2 * S), None, "still held");
        assert_eq!(lease.poll(t + 8 * S), None, "6 s since the last one");
        assert_eq!(lease.poll(t + 9 * S), Some(LeaseState::Lost));
        assert_eq!(lease.poll(t + 10 * S), None, "said once");
        // The database answers again: held again, for new calls.
        assert_eq!(
            lease.renewed(t + 11 * S, t + 11 * S),
            Some(LeaseState::Held)
        );
    }

    #[test]
    fn a_node_waking_from_a_pause_finds_its_lease_gone_first() {
        let t = Instant::now();
        let mut lease = Lease::default();
        lease.renewed(t, t);
        // Frozen for 20 s; the heartbeat it had sent before comes back now.
        let woke = t + 20 * S;
        assert!(!lease.held_at(woke), "not held, before any look");
        assert!(lease.held_at(t + 6 * S));
        assert_eq!(lease.renewed(t + S, woke), Some(LeaseState::Lost));
        assert_eq!(lease.state(), LeaseState::Lost);
    }

    #[test]
    fn a_slow_answer_counts_from_when_the_heartbeat_was_sent() {
        let t = Instant::now();
        let mut lease = Lease::default();
        lease.renewed(t, t);
        // Sent at 5 s, answered at 8 s: renewed from 5 s, so lost at 12 s.
        assert_eq!(lease.renewed(t + 5 * S, t + 8 * S), None);
        assert_eq!(lease.poll(t + 11 * S), None);
        assert_eq!(lease.poll(t + 12 * S), Some(LeaseState::Lost));
        // An older answer arriving late moves nothing back.
        let mut other = Lease::default();
        other.renewed(t + 5 * S, t + 5 * S);
        other.renewed(t + 3 * S, t + 6 * S);
        assert_eq!(other.poll(t + 12 * S), Some(LeaseState::Lost));
    }
}
