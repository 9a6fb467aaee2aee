//! Network conditions as data: what each person's access link does to packets in each
//! direction, and what happens to it during a call (outages, address changes).
//!
//! The named scenarios are the ones the issue "calls that survive bad networks" asks Duet to
//! survive. They are plain values so a report can say exactly what a run was put through.

use serde::{Deserialize, Serialize};

/// Queueing delay a rate-limited link holds at most before it drops at the tail: about what a
/// home router's buffer adds under load, and short enough for real-time media to notice.
pub const DEFAULT_QUEUE_MS: u32 = 200;

/// Which person's network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Who {
    Mentor,
    Mentee,
}

impl Who {
    /// Both people, mentor first.
    pub const BOTH: [Who; 2] = [Who::Mentor, Who::Mentee];
}

/// How packets are lost on a link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case")]
pub enum Loss {
    #[default]
    None,
    /// Each packet independently with probability `p`.
    Random { p: f64 },
    /// Two-state Markov model: losses come in bursts while the link is "bad". The state moves
    /// once per packet; in each state a packet is lost with that state's probability.
    GilbertElliott {
        p_good_to_bad: f64,
        p_bad_to_good: f64,
        loss_in_good: f64,
        loss_in_bad: f64,
    },
}

impl Loss {
    /// The long-run fraction of packets lost.
    pub fn mean(&self) -> f64 {
        match *self {
            Loss::None => 0.0,
            Loss::Random { p } => p,
            Loss::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_in_good,
                loss_in_bad,
            } => {
                let switching = p_good_to_bad + p_bad_to_good;
                if switching <= 0.0 {
                    // Never leaves the state it starts in, which is good.
                    return loss_in_good;
                }
                let bad = p_good_to_bad / switching;
                (1.0 - bad) * loss_in_good + bad * loss_in_bad
            }
        }
    }
}

/// One direction of one access link.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkShape {
    pub loss: Loss,
    /// Fixed one-way delay.
    pub delay_ms: u32,
    /// Each packet's delay varies uniformly within ±`jitter_ms` of `delay_ms` (never below
    /// zero), as netem's jitter does; packets still leave in order.
    pub jitter_ms: u32,
    /// Bottleneck rate over UDP payload bytes; `None` is unlimited.
    pub rate_kbps: Option<u32>,
    /// Longest a packet may wait for the bottleneck before it is dropped instead.
    pub queue_ms: u32,
}

impl Default for LinkShape {
    fn default() -> Self {
        LinkShape {
            loss: Loss::None,
            delay_ms: 0,
            jitter_ms: 0,
            rate_kbps: None,
            queue_ms: DEFAULT_QUEUE_MS,
        }
    }
}

impl LinkShape {
    /// A link that does nothing to packets.
    pub fn clean() -> Self {
        LinkShape::default()
    }

    pub fn with_loss(self, loss: Loss) -> Self {
        LinkShape { loss, ..self }
    }

    pub fn with_delay(self, delay_ms: u32, jitter_ms: u32) -> Self {
        LinkShape {
            delay_ms,
            jitter_ms,
            ..self
        }
    }

    pub fn with_rate(self, rate_kbps: u32) -> Self {
        LinkShape {
            rate_kbps: Some(rate_kbps),
            ..self
        }
    }
}

/// One person's access link. `up` is client → server, `down` server → client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Access {
    pub up: LinkShape,
    pub down: LinkShape,
}

impl Access {
    /// The same shape both ways.
    pub fn symmetric(shape: LinkShape) -> Self {
        Access {
            up: shape,
            down: shape,
        }
    }
}

/// Something that happens to one person's network during a call.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Seconds after the scenario's events start running.
    pub at_s: f64,
    pub who: Who,
    pub kind: EventKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EventKind {
    /// Nothing gets through, either way, for `secs`.
    Outage { secs: f64 },
    /// The client's traffic reaches the server from a new address from now on, and the old
    /// address goes silent: a Wi-Fi → 4G switch.
    AddressChange,
}

/// A named set of conditions for a call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub mentor: Access,
    pub mentee: Access,
    pub events: Vec<Event>,
}

/// Gilbert–Elliott parameters for `bursty`: the bad state lasts 1/0.3 ≈ 3.3 packets on
/// average and loses all of them; it is entered often enough for ~3 % loss overall.
const BURSTY: Loss = Loss::GilbertElliott {
    p_good_to_bad: 0.0093,
    p_bad_to_good: 0.3,
    loss_in_good: 0.0,
    loss_in_bad: 1.0,
};

/// Jitter in the `rtt-*` scenarios.
const RTT_JITTER_MS: u32 = 30;

/// When `outage-5s` and `address-change` strike: after the call has settled.
const EVENT_AT_S: f64 = 10.0;

impl Scenario {
    /// Every scenario's name, in the order of [`Scenario::all`].
    pub const NAMES: &'static [&'static str] = &[
        "clean",
        "loss-2",
        "loss-5",
        "bursty",
        "rtt-150",
        "rtt-300",
        "uplink-500",
        "uplink-250",
        "downlink-250",
        "outage-5s",
        "address-change",
    ];

    /// A subset that covers each kind of impairment once, for quick runs.
    pub const SHORT: &'static [&'static str] =
        &["clean", "loss-5", "rtt-300", "uplink-500", "address-change"];

    /// Both people on clean links, no events.
    pub fn clean(name: &str) -> Scenario {
        Scenario {
            name: name.to_string(),
            mentor: Access::default(),
            mentee: Access::default(),
            events: Vec::new(),
        }
    }

    /// Both people, both directions, shaped alike.
    fn everywhere(name: &str, shape: LinkShape) -> Scenario {
        Scenario {
            mentor: Access::symmetric(shape),
            mentee: Access::symmetric(shape),
            ..Scenario::clean(name)
        }
    }

    /// Delays on the four one-way legs (mentor up and down, mentee up and down) that add up
    /// to `rtt_ms` for a round trip from one person to the other through the server.
    fn rtt(name: &str, rtt_ms: u32) -> Scenario {
        let leg = |share: u32| LinkShape::clean().with_delay(share, RTT_JITTER_MS);
        // Round the halves so the four legs sum exactly: each person's own round trip to the
        // server is rtt/2, split into ceil and floor quarters.
        let half = rtt_ms / 2;
        let access = |half: u32| Access {
            up: leg(half.div_ceil(2)),
            down: leg(half / 2),
        };
        Scenario {
            mentor: access(half),
            mentee: access(rtt_ms - half),
            ..Scenario::clean(name)
        }
    }

    fn event(name: &str, who: Who, kind: EventKind) -> Scenario {
        Scenario {
            events: vec![Event {
                at_s: EVENT_AT_S,
                who,
                kind,
            }],
            ..Scenario::clean(name)
        }
    }

    /// The scenario called `name`, if there is one.
    pub fn by_name(name: &str) -> Option<Scenario> {
        let random = |p| LinkShape::clean().with_loss(Loss::Random { p });
        let scenario = match name {
            "clean" => Scenario::clean(name),
            "loss-2" => Scenario::everywhere(name, random(0.02)),
            "loss-5" => Scenario::everywhere(name, random(0.05)),
            "bursty" => Scenario::everywhere(name, LinkShape::clean().with_loss(BURSTY)),
            "rtt-150" => Scenario::rtt(name, 150),
            "rtt-300" => Scenario::rtt(name, 300),
            "uplink-500" | "uplink-250" => {
                let kbps = if name == "uplink-500" { 500 } else { 250 };
                let mut s = Scenario::clean(name);
                s.mentor.up = LinkShape::clean().with_rate(kbps);
                s
            }
            "downlink-250" => {
                let mut s = Scenario::clean(name);
                s.mentee.down = LinkShape::clean().with_rate(250);
                s
            }
            "outage-5s" => Scenario::event(name, Who::Mentee, EventKind::Outage { secs: 5.0 }),
            "address-change" => Scenario::event(name, Who::Mentee, EventKind::AddressChange),
            _ => return None,
        };
        Some(scenario)
    }

    /// Every named scenario.
    pub fn all() -> Vec<Scenario> {
        Scenario::NAMES
            .iter()
            .filter_map(|name| Scenario::by_name(name))
            .collect()
    }

    /// `who`'s access link.
    pub fn access(&self, who: Who) -> Access {
        match who {
            Who::Mentor => self.mentor,
            Who::Mentee => self.mentee,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_resolves_to_a_scenario_of_that_name() {
        for name in Scenario::NAMES {
            let s = Scenario::by_name(name).expect(name);
            assert_eq!(s.name, *name);
        }
        assert_eq!(Scenario::all().len(), Scenario::NAMES.len());
        assert!(Scenario::by_name("loss-50").is_none());
        for name in Scenario::SHORT {
            assert!(Scenario::NAMES.contains(name), "{name}");
        }
    }

    #[test]
    fn rtt_scenarios_add_up_across_the_path() {
        for (name, rtt) in [("rtt-150", 150), ("rtt-300", 300)] {
            let s = Scenario::by_name(name).expect(name);
            let legs = [s.mentor.up, s.mentor.down, s.mentee.up, s.mentee.down];
            assert_eq!(legs.iter().map(|l| l.delay_ms).sum::<u32>(), rtt, "{name}");
            assert!(legs.iter().all(|l| l.jitter_ms == 30), "{name}");
        }
    }

    #[test]
    fn loss_scenarios_hit_both_directions_of_both_people() {
        for (name, p) in [("loss-2", 0.02), ("loss-5", 0.05)] {
            let s = Scenario::by_name(name).expect(name);
            for a in [s.mentor, s.mentee] {
                assert_eq!(a.up.loss, Loss::Random { p });
                assert_eq!(a.down.loss, Loss::Random { p });
            }
        }
        let bursty = Scenario::by_name("bursty").expect("bursty");
        let mean = bursty.mentee.down.loss.mean();
        assert!((0.025..=0.035).contains(&mean), "bursty loses {mean}");
    }

    #[test]
    fn rate_caps_touch_only_the_named_link() {
        let up = Scenario::by_name("uplink-250").expect("uplink-250");
        assert_eq!(up.mentor.up.rate_kbps, Some(250));
        assert_eq!(up.mentor.down, LinkShape::clean());
        assert_eq!(up.mentee, Access::default());
        let down = Scenario::by_name("downlink-250").expect("downlink-250");
        assert_eq!(down.mentee.down.rate_kbps, Some(250));
        assert_eq!(down.mentee.up, LinkShape::clean());
        assert_eq!(down.mentor, Access::default());
    }

    #[test]
    fn scenarios_round_trip_through_json() {
        for s in Scenario::all() {
            let json = serde_json::to_string(&s).expect("serialize");
            let back: Scenario = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, s);
        }
        let outage = serde_json::to_value(Scenario::by_name("outage-5s")).expect("json");
        assert_eq!(outage["events"][0]["kind"]["type"], "outage");
        assert_eq!(outage["events"][0]["who"], "mentee");
    }
}
