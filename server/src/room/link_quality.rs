//! Each person's connection quality, as both pages show it: every
//! [`QUALITY_EVERY`] the room asks the media plane how each link is doing
//! (the receiver reports their browser sends), assesses it
//! (`duet_signaling::quality`) and tells both pages when a level changes —
//! and a page that joined since, what it has not heard yet. The same answer
//! says whether video to each person is paused for a weak downlink
//! (`media::bandwidth::video_gate`), told the same way (`video_paused`):
//! a pause lasts seconds, so a look every 2 s misses none.

use std::collections::HashSet;
use std::time::Duration;

use duet_signaling::protocol::ServerMessage;
use duet_signaling::quality::{Assessment, QualityTracker, assess};
use duet_signaling::{ConnId, Role};

use super::Room;
use crate::media::LinkQuality;

/// How often the room looks: receiver reports come about once a second.
pub(super) const QUALITY_EVERY: Duration = Duration::from_secs(2);
/// The media plane's answer is a courtesy: never hold the room up for it.
const ASK_WITHIN: Duration = Duration::from_millis(300);

#[derive(Debug, Default)]
pub(super) struct QualityWatch {
    trackers: [QualityTracker; 2],
    /// Whether video to each person is paused, as told.
    video_paused: [bool; 2],
    /// Connections told the current levels and pauses.
    told: HashSet<ConnId>,
}

impl QualityWatch {
    /// Folds in the media plane's figures; the levels that changed.
    fn observe(&mut self, links: &[(Role, LinkQuality)]) -> Vec<(Role, Assessment)> {
        let mut changed = Vec::new();
        for (role, q) in links {
            if !q.reported {
                continue;
            }
            if let Some(a) =
                self.trackers[role.index()].observe(assess(q.worst_loss(), q.rtt_ms, q.slow))
            {
                changed.push((*role, a));
            }
        }
        changed
    }

    fn shown(&self, role: Role) -> Assessment {
        self.trackers[role.index()].shown()
    }

    /// Folds in whether video to each person is paused; the changes. A
    /// person the media plane no longer knows gets no video held back; an
    /// empty answer (the plane did not answer in time) changes nothing.
    fn observe_pauses(&mut self, links: &[(Role, LinkQuality)]) -> Vec<(Role, bool)> {
        if links.is_empty() {
            return Vec::new();
        }
        let mut changed = Vec::new();
        for role in Role::ALL {
            let paused = links.iter().any(|(r, q)| *r == role && q.video_paused);
            if std::mem::replace(&mut self.video_paused[role.index()], paused) != paused {
                changed.push((role, paused));
            }
        }
        changed
    }
}

fn message(role: Role, a: Assessment) -> ServerMessage {
    ServerMessage::Quality {
        role,
        quality: a.quality,
        reason: a.reason,
    }
}

fn paused(role: Role, paused: bool) -> ServerMessage {
    ServerMessage::VideoPaused { role, paused }
}

impl Room {
    /// One look at both links; tells the pages what changed.
    pub(super) async fn check_quality(&mut self) {
        let links = tokio::time::timeout(ASK_WITHIN, self.deps.media.quality(self.id))
            .await
            .unwrap_or_default();
        let changed = self.quality.observe(&links);
        let pauses = self.quality.observe_pauses(&links);
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        self.quality.told.retain(|c| conns.contains(c));
        for conn in conns {
            if self.quality.told.insert(conn) {
                // New here: every level that is not the good it assumes,
                // and every pause (it assumes video flows).
                for role in Role::ALL {
                    let a = self.quality.shown(role);
                    if a != Assessment::GOOD {
                        self.send(conn, message(role, a));
                    }
                    if self.quality.video_paused[role.index()] {
                        self.send(conn, paused(role, true));
                    }
                }
            } else {
                for (role, a) in &changed {
                    self.send(conn, message(*role, *a));
                }
                for (role, p) in &pauses {
                    self.send(conn, paused(*role, *p));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use duet_signaling::quality::Quality;

    fn link(loss: f32) -> LinkQuality {
        LinkQuality {
            loss,
            uplink_loss: 0.0,
            rtt_ms: Some(40.0),
            reported: true,
            video_paused: false,
            slow: false,
        }
    }

    #[test]
    fn a_lossy_link_is_reported_once_confirmed_and_only_for_its_person() {
        let mut w = QualityWatch::default();
        let links = [(Role::Mentor, link(0.0)), (Role::Mentee, link(0.2))];
        assert!(w.observe(&links).is_empty(), "not confirmed yet");
        let changed = w.observe(&links);
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert_eq!(changed[0].0, Role::Mentee);
        assert_eq!(changed[0].1.quality, Quality::Bad);
        assert!(w.observe(&links).is_empty(), "no news is not repeated");
        // Before any receiver report, nothing is said about a link.
        let mut fresh = QualityWatch::default();
        let unknown = LinkQuality::default();
        fresh.observe(&[(Role::Mentee, unknown)]);
        assert!(fresh.observe(&[(Role::Mentee, unknown)]).is_empty());
    }

    #[test]
    fn a_slow_link_without_loss_is_weak_for_its_person() {
        let mut w = QualityWatch::default();
        let slow = LinkQuality {
            slow: true,
            ..link(0.0)
        };
        let links = [(Role::Mentor, link(0.0)), (Role::Mentee, slow)];
        w.observe(&links);
        let changed = w.observe(&links);
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert_eq!(changed[0].0, Role::Mentee);
        assert_eq!(changed[0].1.quality, Quality::Weak);
        assert_eq!(
            changed[0].1.reason,
            Some(duet_signaling::quality::QualityReason::Slow)
        );
    }

    #[test]
    fn a_pause_is_told_on_each_change_and_a_silent_plane_changes_nothing() {
        let mut w = QualityWatch::default();
        let paused = LinkQuality {
            video_paused: true,
            ..link(0.3)
        };
        let links = [(Role::Mentor, link(0.0)), (Role::Mentee, paused)];
        assert_eq!(w.observe_pauses(&links), [(Role::Mentee, true)]);
        assert!(w.observe_pauses(&links).is_empty(), "said once");
        assert!(w.observe_pauses(&[]).is_empty(), "no answer, no news");
        assert!(w.video_paused[Role::Mentee.index()]);
        // Resumed, or gone from the media plane: video is no longer held.
        assert_eq!(
            w.observe_pauses(&[(Role::Mentor, link(0.0))]),
            [(Role::Mentee, false)]
        );
    }
}
