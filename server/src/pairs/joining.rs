//! Which occurrence "join" on the pair home opens.
//!
//! The one under way (or about to start) if there is one, else the next
//! one, however far ahead: the two may well agree to meet early, and a
//! call opened early is just an empty room until the other arrives.

use super::schedule::{Occurrence, Schedule};

/// How early before its start an occurrence counts as the current one.
pub const EARLY_MS: i64 = 30 * 60 * 1000;
/// How long after its end an occurrence still counts as the current one:
/// a call that runs over, or a rejoin after a dropped connection.
pub const LATE_MS: i64 = 30 * 60 * 1000;

/// The occurrence to join among `schedules` (id, schedule) at `now_ms`.
pub fn current_or_next<Id: Copy>(
    schedules: &[(Id, &Schedule)],
    now_ms: i64,
) -> Option<(Id, Occurrence)> {
    let mut best: Option<(bool, Id, Occurrence)> = None;
    for (id, schedule) in schedules {
        // The first occurrence still joinable: its end plus the grace is
        // after now.
        let Some(occ) = schedule.next_after(now_ms - LATE_MS) else {
            continue;
        };
        let current = occ.start_ms - EARLY_MS <= now_ms;
        let better = match &best {
            None => true,
            // A current one beats an upcoming one; among equals, the
            // earlier start.
            Some((b_current, _, b)) => {
                (current, std::cmp::Reverse(occ.start_ms))
                    > (*b_current, std::cmp::Reverse(b.start_ms))
            }
        };
        if better {
            best = Some((current, *id, occ));
        }
    }
    best.map(|(_, id, occ)| (id, occ))
}

#[cfg(test)]
mod tests;
