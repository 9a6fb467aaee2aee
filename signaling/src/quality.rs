//! How good a person's connection is, in three words people understand —
//! good, weak, bad — with the reason in words ("losing packets", "long
//! delay"). The server assesses each participant from the receiver reports
//! their browser sends (loss on what Duet sends them, and the round trip)
//! and tells both pages (`quality` messages), so each shows its own
//! connection and the other person's. A downlink too narrow for good video
//! is weak too ("slow"), even once Duet has talked the sender down so far
//! that nothing is lost any more: the picture that person gets is small
//! and soft, and they should know why.
//!
//! A connection's level only changes once the new level was seen on
//! [`CONFIRM`] consecutive assessments: one bad report on a good link is
//! not worth alarming anyone, and a level that flickers is worse than none.

use serde::{Deserialize, Serialize};

/// Consecutive assessments a new level needs before it shows.
pub const CONFIRM: u8 = 2;

/// Loss (fraction of packets) up to which a link is still good; audio and
/// video conceal this much without anyone noticing.
const GOOD_LOSS: f32 = 0.03;
/// Loss up to which it is weak: noticeable, still a conversation.
const WEAK_LOSS: f32 = 0.10;
/// Round trip (ms) up to which it is good: people do not talk over each other.
const GOOD_RTT_MS: f32 = 300.0;
/// Round trip up to which it is weak.
const WEAK_RTT_MS: f32 = 700.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    #[default]
    Good,
    Weak,
    Bad,
}

/// What makes a connection less than good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityReason {
    /// Packets go missing on the way.
    Loss,
    /// Packets take long to arrive (round trip).
    Delay,
    /// Their downlink carries too little for good video: Duet holds the
    /// other person's video down to what it takes.
    Slow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Assessment {
    pub quality: Quality,
    /// `None` when good.
    pub reason: Option<QualityReason>,
}

impl Assessment {
    pub const GOOD: Assessment = Assessment {
        quality: Quality::Good,
        reason: None,
    };
}

/// One assessment from smoothed loss (0–1), round trip, and whether the
/// link is `slow` (Duet caps the video to it below what good video needs).
/// The worse of loss and delay decides; loss is named when both are equally
/// bad, as it is what people hear (gaps, robotic voice) and see (frozen
/// picture). A slow link is weak at least; loss or delay, when they are as
/// bad, are named instead, as they are what people notice first.
pub fn assess(loss: f32, rtt_ms: Option<f32>, slow: bool) -> Assessment {
    let level = |v: f32, good: f32, weak: f32| {
        if !v.is_finite() || v <= good {
            Quality::Good
        } else if v <= weak {
            Quality::Weak
        } else {
            Quality::Bad
        }
    };
    let by_loss = level(loss, GOOD_LOSS, WEAK_LOSS);
    let by_delay = rtt_ms.map_or(Quality::Good, |r| level(r, GOOD_RTT_MS, WEAK_RTT_MS));
    let rank = |q: Quality| match q {
        Quality::Good => 0,
        Quality::Weak => 1,
        Quality::Bad => 2,
    };
    if by_loss == Quality::Good && by_delay == Quality::Good {
        if slow {
            Assessment {
                quality: Quality::Weak,
                reason: Some(QualityReason::Slow),
            }
        } else {
            Assessment::GOOD
        }
    } else if rank(by_loss) >= rank(by_delay) {
        Assessment {
            quality: by_loss,
            reason: Some(QualityReason::Loss),
        }
    } else {
        Assessment {
            quality: by_delay,
            reason: Some(QualityReason::Delay),
        }
    }
}

/// The level shown for one connection, changed only once confirmed.
#[derive(Debug, Clone, Default)]
pub struct QualityTracker {
    shown: Assessment,
    candidate: Option<(Assessment, u8)>,
}

impl QualityTracker {
    pub fn shown(&self) -> Assessment {
        self.shown
    }

    /// Feeds one assessment; returns the new shown one when it changed.
    pub fn observe(&mut self, a: Assessment) -> Option<Assessment> {
        if a == self.shown {
            self.candidate = None;
            return None;
        }
        let seen = match self.candidate {
            Some((c, n)) if c == a => n.saturating_add(1),
            _ => 1,
        };
        if seen >= CONFIRM {
            self.shown = a;
            self.candidate = None;
            Some(a)
        } else {
            self.candidate = Some((a, seen));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(quality: Quality, reason: Option<QualityReason>) -> Assessment {
        Assessment { quality, reason }
    }

    #[test]
    fn levels_follow_loss_and_delay() {
        assert_eq!(assess(0.0, Some(40.0), false), Assessment::GOOD);
        assert_eq!(assess(0.02, None, false), Assessment::GOOD);
        assert_eq!(
            assess(0.05, Some(40.0), false),
            a(Quality::Weak, Some(QualityReason::Loss))
        );
        assert_eq!(
            assess(0.20, Some(40.0), false),
            a(Quality::Bad, Some(QualityReason::Loss))
        );
        assert_eq!(
            assess(0.0, Some(450.0), false),
            a(Quality::Weak, Some(QualityReason::Delay))
        );
        assert_eq!(
            assess(0.0, Some(900.0), false),
            a(Quality::Bad, Some(QualityReason::Delay))
        );
        // The worse one decides; a tie names loss.
        assert_eq!(
            assess(0.05, Some(900.0), false),
            a(Quality::Bad, Some(QualityReason::Delay))
        );
        assert_eq!(
            assess(0.05, Some(450.0), false),
            a(Quality::Weak, Some(QualityReason::Loss))
        );
        // A slow link is weak; loss or delay as bad or worse is named instead.
        assert_eq!(
            assess(0.0, Some(40.0), true),
            a(Quality::Weak, Some(QualityReason::Slow))
        );
        assert_eq!(
            assess(0.05, Some(40.0), true),
            a(Quality::Weak, Some(QualityReason::Loss))
        );
        assert_eq!(
            assess(0.0, Some(900.0), true),
            a(Quality::Bad, Some(QualityReason::Delay))
        );
        // Nonsense from a report is no reason to alarm anyone.
        assert_eq!(
            assess(f32::NAN, Some(f32::INFINITY), false),
            Assessment::GOOD
        );
    }

    #[test]
    fn a_level_shows_once_confirmed() {
        let mut t = QualityTracker::default();
        let weak = a(Quality::Weak, Some(QualityReason::Loss));
        let bad = a(Quality::Bad, Some(QualityReason::Loss));
        assert_eq!(t.observe(weak), None, "one report is not enough");
        assert_eq!(
            t.observe(Assessment::GOOD),
            None,
            "and a good one resets it"
        );
        assert_eq!(t.observe(weak), None);
        assert_eq!(t.observe(bad), None, "a different level starts over");
        assert_eq!(t.observe(bad), Some(bad));
        assert_eq!(t.shown(), bad);
        assert_eq!(t.observe(bad), None, "no news is not repeated");
        assert_eq!(t.observe(Assessment::GOOD), None);
        assert_eq!(t.observe(Assessment::GOOD), Some(Assessment::GOOD));
    }

    #[test]
    fn the_wire_names_are_plain_words() {
        let json =
            serde_json::to_value(a(Quality::Weak, Some(QualityReason::Delay))).expect("serialize");
        assert_eq!(
            json,
            serde_json::json!({"quality": "weak", "reason": "delay"})
        );
    }
}
