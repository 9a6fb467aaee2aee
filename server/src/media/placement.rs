//! Which shard a session's connections live on (`media::shard`).
//!
//! The first shard is also the front that reads the one UDP socket, so a
//! call placed there costs no hand-over between threads; calls placed on
//! the others cost one. Sessions therefore fill the first shard up to
//! `fill_first` calls, a load one core carries with room to spare, and
//! only then go to whichever shard has the fewest sessions: a handful of
//! calls is as cheap as with one shard, and a busy server uses every core.
//!
//! A placement lasts while its session is in use: every command for the
//! session (offers, candidates, and the room's link-quality question every
//! 2 s while anyone is connected) renews it; one unused for [`IDLE_FOR`]
//! is forgotten, so a later call of the same session is placed afresh. No
//! connection outlives its room's questions by that long.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use duet_signaling::SessionId;

/// How long a placement outlives its session's last command.
pub const IDLE_FOR: Duration = Duration::from_secs(600);
/// How often forgotten placements are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub struct ShardPlacement {
    fill_first: usize,
    by_session: HashMap<SessionId, (usize, Instant)>,
    /// Sessions placed on each shard.
    counts: Vec<usize>,
    last_sweep: Instant,
}

impl ShardPlacement {
    /// ShardPlacement over `shards` (at least one), filling the first with up
    /// to `fill_first` sessions before spreading.
    pub fn new(shards: usize, fill_first: usize, now: Instant) -> ShardPlacement {
        ShardPlacement {
            fill_first,
            by_session: HashMap::new(),
            counts: vec![0; shards.max(1)],
            last_sweep: now,
        }
    }

    /// The shard of `session`, placing it now if it has none.
    pub fn shard(&mut self, session: SessionId, now: Instant) -> usize {
        if now.saturating_duration_since(self.last_sweep) >= SWEEP_EVERY {
            self.sweep(now);
        }
        if let Some((shard, used)) = self.by_session.get_mut(&session) {
            *used = now;
            return *shard;
        }
        let shard = if self.counts[0] < self.fill_first {
            0
        } else {
            // The fewest sessions; the lowest index on a tie.
            (0..self.counts.len())
                .min_by_key(|&i| self.counts[i])
                .unwrap_or(0)
        };
        self.counts[shard] += 1;
        self.by_session.insert(session, (shard, now));
        shard
    }

    /// Sessions placed on each shard.
    pub fn counts(&self) -> &[usize] {
        &self.counts
    }

    fn sweep(&mut self, now: Instant) {
        self.last_sweep = now;
        let counts = &mut self.counts;
        self.by_session.retain(|_, (shard, used)| {
            let keep = now.saturating_duration_since(*used) < IDLE_FOR;
            if !keep {
                counts[*shard] -= 1;
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests;
