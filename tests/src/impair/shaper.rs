//! [`Shaper`]: one direction of one access link as a pure model. It takes the time as an
//! argument and owns no clock, socket or task, so its behaviour can be checked over millions
//! of packets in a unit test and replayed from a seed.
//!
//! A packet goes through, in order:
//! 1. an outage (everything is dropped until it ends);
//! 2. the loss model (a lost packet never occupies the bottleneck, as with netem);
//! 3. the bottleneck: a virtual FIFO drained at `rate_kbps`. The packet leaves once the packets
//!    before it have; if it would wait longer than `queue_ms`, it is dropped at the tail;
//! 4. delay and jitter: delivery at `departure + delay ± jitter`, but never before the
//!    previous packet's delivery, because a single path does not reorder.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::scenario::{LinkShape, Loss};

/// Why a packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DropReason {
    /// The loss model.
    Loss,
    /// The bottleneck's queue was full (more than `queue_ms` of waiting).
    Queue,
    /// During an outage.
    Outage,
}

/// What happens to one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Drop(DropReason),
    /// Deliver it at `at` (on the caller's time line, like `now`).
    Deliver {
        at: Duration,
    },
}

/// What a shaper has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ShaperStats {
    pub pushed: u64,
    pub pushed_bytes: u64,
    pub delivered: u64,
    pub delivered_bytes: u64,
    pub dropped_loss: u64,
    pub dropped_queue: u64,
    pub dropped_outage: u64,
}

impl ShaperStats {
    pub fn dropped(&self) -> u64 {
        self.dropped_loss + self.dropped_queue + self.dropped_outage
    }

    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &ShaperStats) {
        self.pushed += other.pushed;
        self.pushed_bytes += other.pushed_bytes;
        self.delivered += other.delivered;
        self.delivered_bytes += other.delivered_bytes;
        self.dropped_loss += other.dropped_loss;
        self.dropped_queue += other.dropped_queue;
        self.dropped_outage += other.dropped_outage;
    }
}

/// One direction of one link. Times are durations since an origin of the caller's choosing;
/// they must not go backwards between calls.
pub struct Shaper {
    shape: LinkShape,
    rng: StdRng,
    /// Gilbert–Elliott state; starts good.
    bad: bool,
    /// When the bottleneck has finished sending everything queued so far.
    link_free_at: Duration,
    /// The latest delivery time handed out, so jitter cannot reorder.
    last_delivery: Duration,
    outage_until: Option<Duration>,
    stats: ShaperStats,
}

impl Shaper {
    /// A shaper for `shape` whose random choices follow from `seed`.
    pub fn new(shape: LinkShape, seed: u64) -> Shaper {
        Shaper {
            shape,
            rng: StdRng::seed_from_u64(seed),
            bad: false,
            link_free_at: Duration::ZERO,
            last_delivery: Duration::ZERO,
            outage_until: None,
            stats: ShaperStats::default(),
        }
    }

    pub fn shape(&self) -> &LinkShape {
        &self.shape
    }

    /// Changes the shape from now on; packets already given a time keep it, and later ones
    /// still never overtake them.
    pub fn set_shape(&mut self, shape: LinkShape) {
        self.shape = shape;
    }

    /// Drops every packet pushed before `until`.
    pub fn set_outage(&mut self, until: Duration) {
        self.outage_until = Some(until);
    }

    pub fn stats(&self) -> ShaperStats {
        self.stats
    }

    /// Decides the fate of a packet of `len` bytes arriving at `now`.
    pub fn push(&mut self, now: Duration, len: usize) -> Verdict {
        let bytes = len as u64;
        self.stats.pushed += 1;
        self.stats.pushed_bytes += bytes;
        let verdict = self.decide(now, bytes);
        match verdict {
            Verdict::Drop(DropReason::Loss) => self.stats.dropped_loss += 1,
            Verdict::Drop(DropReason::Queue) => self.stats.dropped_queue += 1,
            Verdict::Drop(DropReason::Outage) => self.stats.dropped_outage += 1,
            Verdict::Deliver { .. } => {
                self.stats.delivered += 1;
                self.stats.delivered_bytes += bytes;
            }
        }
        verdict
    }

    fn decide(&mut self, now: Duration, bytes: u64) -> Verdict {
        if self.outage_until.is_some_and(|until| now < until) {
            return Verdict::Drop(DropReason::Outage);
        }
        if self.lost() {
            return Verdict::Drop(DropReason::Loss);
        }
        let departure = match self.shape.rate_kbps {
            Some(kbps) => {
                let start = self.link_free_at.max(now);
                if start - now > Duration::from_millis(self.shape.queue_ms.into()) {
                    return Verdict::Drop(DropReason::Queue);
                }
                // kbit/s is bits per millisecond, so bits / kbps is milliseconds; nanoseconds
                // keep small packets on fast links from rounding to nothing.
                let nanos = (bytes * 8 * 1_000_000).div_ceil(u64::from(kbps.max(1)));
                self.link_free_at = start + Duration::from_nanos(nanos);
                self.link_free_at
            }
            None => now,
        };
        let at = (departure + self.delay_sample()).max(self.last_delivery);
        self.last_delivery = at;
        Verdict::Deliver { at }
    }

    /// Runs the loss model for one packet.
    fn lost(&mut self) -> bool {
        match self.shape.loss {
            Loss::None => false,
            Loss::Random { p } => self.chance(p),
            Loss::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_in_good,
                loss_in_bad,
            } => {
                // Decide in the current state, then move: a burst starts with the packet after
                // the switch to bad and lasts 1 / p_bad_to_good packets on average.
                let lost = self.chance(if self.bad { loss_in_bad } else { loss_in_good });
                let switch = if self.bad {
                    p_bad_to_good
                } else {
                    p_good_to_bad
                };
                if self.chance(switch) {
                    self.bad = !self.bad;
                }
                lost
            }
        }
    }

    /// True with probability `p` (clamped to 0..=1, so a typo in a scenario cannot panic).
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p.clamp(0.0, 1.0)
    }

    /// `delay_ms` plus uniform jitter in ±`jitter_ms`, at least zero.
    fn delay_sample(&mut self) -> Duration {
        let delay = f64::from(self.shape.delay_ms) / 1000.0;
        let jitter = f64::from(self.shape.jitter_ms) / 1000.0;
        let offset = if jitter > 0.0 {
            self.rng.random_range(-jitter..=jitter)
        } else {
            0.0
        };
        Duration::from_secs_f64((delay + offset).max(0.0))
    }
}

#[cfg(test)]
mod tests;
