//! When Duet asks a sender for a keyframe: for a receiver that just
//! connected (at once, or when the sender's track opens), for a receiver's
//! own request (throttled), and for a recording that starts or lost one.

use std::time::Duration;

use duet_server::recorder::tap::{self, TrackCodec, TrackKind};
use duet_signaling::Role;

use super::sim::Media;
use super::wiretap::{Seen, arrived};
use super::{MENTEE, MENTOR, ask_keyframe, tapped_call};

fn keyframe_requests(seen: &Seen, peer: usize) -> usize {
    arrived(seen, peer).keyframe_requests
}

#[test]
fn a_keyframe_asked_before_the_senders_track_opens_is_asked_when_it_opens() {
    // Both connect before either sends: each one's connecting asks the
    // other's camera for a keyframe, which has no track to ask yet.
    let (mut sim, seen) = tapped_call(|_, _| false);
    sim.run_for(Duration::from_secs(1), None);
    assert_eq!(keyframe_requests(&seen, MENTOR), 0);
    assert_eq!(keyframe_requests(&seen, MENTEE), 0);
    // The first packets open the tracks: the waiting requests go up then.
    let mut media = Media::new(sim.now);
    sim.run_for(Duration::from_millis(30), Some(&mut media));
    assert_eq!(keyframe_requests(&seen, MENTOR), 1, "mentor not asked");
    assert_eq!(keyframe_requests(&seen, MENTEE), 1, "mentee not asked");
    assert_eq!(sim.engine.counters().keyframe_requests_relayed, 2);
    // Asked once: nothing more without a reason.
    sim.run_for(Duration::from_secs(2), Some(&mut media));
    assert_eq!(keyframe_requests(&seen, MENTOR), 1);
    assert_eq!(keyframe_requests(&seen, MENTEE), 1);
}

#[test]
fn a_receiver_that_reconnects_has_the_sender_asked_for_a_keyframe_at_once() {
    let (mut sim, seen) = tapped_call(|_, _| false);
    let mut media = Media::new(sim.now);
    sim.run_for(Duration::from_secs(1), Some(&mut media));
    let before = [
        keyframe_requests(&seen, MENTOR),
        keyframe_requests(&seen, MENTEE),
    ];
    // The mentee's page reloads while the mentor is sending.
    sim.rejoin(MENTEE).expect("rejoins");
    sim.connect_all().expect("reconnects");
    assert_eq!(
        keyframe_requests(&seen, MENTOR),
        before[0] + 1,
        "the mentor was not asked for a keyframe when the mentee came back"
    );
    // Its own sender is new: nothing is asked of it on its behalf.
    assert_eq!(keyframe_requests(&seen, MENTEE), before[1]);
}

#[test]
fn a_receivers_keyframe_requests_reach_the_sender_at_most_twice_a_second() {
    let (mut sim, seen) = tapped_call(|_, _| false);
    let mut media = Media::new(sim.now);
    sim.run_for(Duration::from_secs(1), Some(&mut media));
    let before = [
        keyframe_requests(&seen, MENTOR),
        keyframe_requests(&seen, MENTEE),
    ];
    // The camera stream Duet sends the mentee, as the mentee names it.
    let camera = arrived(&seen, MENTEE).video.last().expect("video").ssrc;
    // The mentee's decoder asks for a keyframe every 100 ms for 2 s.
    for _ in 0..20 {
        ask_keyframe(&mut sim, MENTEE, camera);
        sim.run_for(Duration::from_millis(100), Some(&mut media));
    }
    // One per 500 ms reaches the mentor: 4, or 5 if the first fell right.
    let relayed = keyframe_requests(&seen, MENTOR) - before[0];
    assert!(
        (4..=5).contains(&relayed),
        "{relayed} requests reached the mentor"
    );
    assert_eq!(
        keyframe_requests(&seen, MENTEE),
        before[1],
        "the mentee was asked"
    );
}

#[test]
fn a_recording_asks_each_sender_for_a_keyframe_when_it_starts_and_when_it_needs_one() {
    let (mut sim, seen) = tapped_call(|_, _| false);
    let session = sim.peers[MENTOR].session;
    let mut media = Media::new(sim.now);
    sim.run_for(Duration::from_secs(1), Some(&mut media));
    let before = [
        keyframe_requests(&seen, MENTOR),
        keyframe_requests(&seen, MENTEE),
    ];

    let queue = tap::queue(tap::QUEUE_PACKETS);
    sim.engine.record(sim.now, session, Some(queue.tap.clone()));
    sim.run_for(Duration::from_millis(100), Some(&mut media));
    // A video file starts at a keyframe: each camera is asked for one.
    assert_eq!(keyframe_requests(&seen, MENTOR), before[0] + 1);
    assert_eq!(keyframe_requests(&seen, MENTEE), before[1] + 1);
    // The recorder gets both people's audio and camera, as negotiated.
    let mut tracks: Vec<(Role, TrackKind, TrackCodec)> = queue
        .rx
        .try_iter()
        .map(|p| (p.role, p.kind, p.codec))
        .collect();
    tracks.sort_by_key(|(role, kind, _)| (role.index(), *kind));
    tracks.dedup();
    assert_eq!(
        tracks,
        [
            (Role::Mentor, TrackKind::Audio, TrackCodec::Opus),
            (Role::Mentor, TrackKind::Camera, TrackCodec::Vp8),
            (Role::Mentee, TrackKind::Audio, TrackCodec::Opus),
            (Role::Mentee, TrackKind::Camera, TrackCodec::Vp8),
        ]
    );

    // Nothing more until the writer needs one (a gap in the mentee's
    // camera): then that camera alone is asked.
    sim.run_for(Duration::from_secs(1), Some(&mut media));
    assert_eq!(keyframe_requests(&seen, MENTEE), before[1] + 1);
    queue
        .tap
        .keyframe_requests()
        .request(Role::Mentee, TrackKind::Camera);
    sim.run_for(Duration::from_millis(100), Some(&mut media));
    assert_eq!(keyframe_requests(&seen, MENTEE), before[1] + 2);
    assert_eq!(keyframe_requests(&seen, MENTOR), before[0] + 1);

    // Stopped: no more packets for it.
    sim.engine.record(sim.now, session, None);
    queue.rx.try_iter().count();
    sim.run_for(Duration::from_millis(500), Some(&mut media));
    assert_eq!(queue.rx.try_iter().count(), 0, "recorded after the stop");
}
