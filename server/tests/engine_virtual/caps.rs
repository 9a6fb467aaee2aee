//! Bitrate caps (REMB) Duet sends a sender for the other person's
//! downlink: here, the cap a receiver asks for in low-bandwidth mode.

use std::time::Duration;

use duet_signaling::Role;

use super::sim::Media;
use super::wiretap::arrived;
use super::{MENTEE, MENTOR, tapped_call};

#[test]
fn low_bandwidth_mode_caps_the_senders_video_until_it_is_turned_off() {
    let (mut sim, seen) = tapped_call(|_, _| false);
    let session = sim.peers[MENTEE].session;
    let mut media = Media::new(sim.now);
    // A clean call: nobody is capped.
    sim.run_for(Duration::from_secs(3), Some(&mut media));
    assert_eq!(arrived(&seen, MENTOR).caps, 0);
    assert_eq!(sim.engine.counters().bitrate_caps_sent, 0);

    // The mentee asks for low bandwidth: the mentor's video is capped from
    // the mentee's next receiver report, and the cap is renewed each
    // second (browsers let a REMB expire).
    sim.engine
        .set_low_bandwidth(sim.now, session, Role::Mentee, true);
    sim.run_for(Duration::from_secs(3), Some(&mut media));
    let capped = arrived(&seen, MENTOR).caps;
    assert!((2..=4).contains(&capped), "{capped} caps in 3 s");
    assert_eq!(arrived(&seen, MENTEE).caps, 0, "the receiver was capped");

    // Turned off: the cap is lifted once, then nothing more is said.
    sim.engine
        .set_low_bandwidth(sim.now, session, Role::Mentee, false);
    sim.run_for(Duration::from_millis(1500), Some(&mut media));
    assert_eq!(arrived(&seen, MENTOR).caps, capped + 1, "not lifted");
    sim.run_for(Duration::from_secs(3), Some(&mut media));
    assert_eq!(arrived(&seen, MENTOR).caps, capped + 1);
    assert_eq!(arrived(&seen, MENTEE).caps, 0);
}
