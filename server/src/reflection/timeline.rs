//! Who spoke when, and what that adds up to: per person, seconds of
//! speech, number of turns and the longest monologue.
//!
//! Input: each speaker's speech regions on the recording's clock, as the
//! recorder's voice detector found them at finalization (`recorder/talk.rs`,
//! stored in the manifest). A turn is the stretch from when one person
//! starts speaking until the other takes over; pauses inside it do not end
//! it. The other person's short sounds while someone speaks ("mm-hm",
//! "right", under [`BACKCHANNEL_S`]) are speech, but do not take the turn:
//! counted as turns they would split every monologue into pieces.

use duet_signaling::Role;
use serde::Serialize;

/// Speech by the listener shorter than this does not take the turn.
pub const BACKCHANNEL_S: f64 = 1.0;

/// One person's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonStats {
    pub role: Role,
    /// Seconds inside this person's speech regions.
    pub talk_s: f64,
    pub turns: u32,
    /// The longest turn, in seconds.
    pub longest_monologue_s: f64,
}

/// The figures for each speaker in `speakers` (regions as `(start, end)`
/// seconds, any order), in the order given.
pub fn stats(speakers: &[(Role, Vec<(f64, f64)>)]) -> Vec<PersonStats> {
    let mut out: Vec<PersonStats> = speakers
        .iter()
        .map(|(role, regions)| PersonStats {
            role: *role,
            talk_s: round2(
                regions
                    .iter()
                    .filter(|(s, e)| e > s)
                    .map(|(s, e)| e - s)
                    .sum(),
            ),
            turns: 0,
            longest_monologue_s: 0.0,
        })
        .collect();
    let mut all: Vec<(usize, f64, f64)> = speakers
        .iter()
        .enumerate()
        .flat_map(|(i, (_, regions))| regions.iter().map(move |(s, e)| (i, *s, *e)))
        .filter(|(_, s, e)| s.is_finite() && e.is_finite() && e > s)
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1));
    // The turn being spoken: (speaker index, start, end).
    let mut turn: Option<(usize, f64, f64)> = None;
    for (who, s, e) in all {
        turn = match turn {
            None => Some((who, s, e)),
            Some((cur, start, end)) if cur == who => Some((cur, start, end.max(e))),
            Some(t) if e - s < BACKCHANNEL_S => Some(t),
            Some(t) => {
                close(&mut out, t);
                Some((who, s, e))
            }
        };
    }
    if let Some(t) = turn {
        close(&mut out, t);
    }
    out
}

fn close(out: &mut [PersonStats], (who, start, end): (usize, f64, f64)) {
    if let Some(p) = out.get_mut(who) {
        p.turns += 1;
        p.longest_monologue_s = p.longest_monologue_s.max(round2(end - start));
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(out: &[PersonStats], role: Role) -> &PersonStats {
        out.iter().find(|p| p.role == role).expect("role")
    }

    #[test]
    fn alternating_speakers_take_turns() {
        let out = stats(&[
            (Role::Mentor, vec![(0.0, 10.0), (20.0, 25.0)]),
            (Role::Mentee, vec![(11.0, 19.0)]),
        ]);
        let (m, e) = (of(&out, Role::Mentor), of(&out, Role::Mentee));
        assert_eq!((m.turns, e.turns), (2, 1));
        assert_eq!(m.talk_s, 15.0);
        assert_eq!(m.longest_monologue_s, 10.0);
        assert_eq!(e.longest_monologue_s, 8.0);
    }

    #[test]
    fn pauses_inside_a_turn_do_not_end_it() {
        let out = stats(&[(Role::Mentor, vec![(0.0, 5.0), (7.0, 12.0), (30.0, 40.0)])]);
        let m = of(&out, Role::Mentor);
        assert_eq!(m.turns, 1);
        assert_eq!(m.longest_monologue_s, 40.0);
        assert_eq!(m.talk_s, 20.0);
    }

    #[test]
    fn a_short_sound_from_the_listener_does_not_take_the_turn() {
        let out = stats(&[
            (Role::Mentor, vec![(0.0, 30.0), (31.0, 60.0)]),
            (Role::Mentee, vec![(30.2, 30.8), (61.0, 70.0)]),
        ]);
        let (m, e) = (of(&out, Role::Mentor), of(&out, Role::Mentee));
        assert_eq!((m.turns, e.turns), (1, 1));
        assert_eq!(m.longest_monologue_s, 60.0);
        assert_eq!(e.talk_s, 9.6, "the backchannel is still speech");
    }

    #[test]
    fn nobody_spoke_and_broken_regions_are_ignored() {
        let out = stats(&[
            (Role::Mentor, vec![]),
            (Role::Mentee, vec![(5.0, 5.0), (9.0, 3.0), (f64::NAN, 2.0)]),
        ]);
        for p in &out {
            assert_eq!((p.turns, p.talk_s, p.longest_monologue_s), (0, 0.0, 0.0));
        }
    }
}
