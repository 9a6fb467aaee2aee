//! What a receiver sees of a stream whose source changes or pauses: one
//! SSRC, sequence numbers and timestamps that carry on, and a keyframe
//! asked of the sender when video comes back.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use super::sim::{Media, NoMeter, Sim};
use super::wiretap::{VideoHeader, arrived};
use super::{MENTEE, MENTOR, ask_keyframe, is_video, tapped_call};

/// Video clock ticks in `d`.
fn ticks(d: Duration) -> u32 {
    (d.as_micros() * 90 / 1000) as u32
}

#[test]
fn a_sender_that_reconnects_keeps_the_receivers_ssrc_and_timestamps_going() {
    let (mut sim, seen) = tapped_call(|_, _| false);
    let mut media = Media::new(sim.now);
    sim.run_for(Duration::from_secs(1), Some(&mut media));
    let before = arrived(&seen, MENTEE).video.len();
    // The mentor reconnects; its new sender starts its timestamps over.
    let left = sim.now;
    sim.rejoin(MENTOR).expect("rejoins");
    sim.connect_all().expect("reconnects");
    let gap = sim.now - left;
    sim.run_for(Duration::from_secs(1), Some(&mut media));
    let video = arrived(&seen, MENTEE).video;
    assert!(video.len() >= before + 40, "video stopped: {}", video.len());
    // One stream for the mentee throughout.
    let ssrc = video[0].ssrc;
    assert!(video.iter().all(|v| v.ssrc == ssrc), "the SSRC changed");
    // Timestamps never go back, and across the change they move on by the
    // time it took (the last frame before it was at most 67 ms earlier).
    for w in video.windows(2) {
        let step = w[1].timestamp.wrapping_sub(w[0].timestamp);
        assert!(
            step <= ticks(Duration::from_secs(1)),
            "timestamp jump {w:?}"
        );
    }
    let step = video[before]
        .timestamp
        .wrapping_sub(video[before - 1].timestamp);
    assert!(
        (ticks(gap)..=ticks(gap + Duration::from_millis(100))).contains(&step),
        "timestamps moved {step} ticks over a {gap:?} change"
    );
}

/// Runs `sim` in 100 ms steps until `done`, for `limit` at most.
fn run_until(
    sim: &mut Sim<NoMeter>,
    media: &mut Media,
    limit: Duration,
    mut done: impl FnMut(&Sim<NoMeter>) -> bool,
) {
    let deadline = sim.now + limit;
    while !done(sim) {
        assert!(sim.now < deadline, "not within {limit:?}");
        sim.run_for(Duration::from_millis(100), Some(media));
    }
}

/// The highest sequence number among `video`, wrap-aware from the first.
fn highest(video: &[VideoHeader]) -> u16 {
    let first = video.first().map_or(0, |v| v.seq);
    video
        .iter()
        .map(|v| v.seq)
        .max_by_key(|s| s.wrapping_sub(first))
        .unwrap_or(first)
}

#[test]
fn video_paused_for_a_weak_downlink_comes_back_with_a_keyframe_and_no_gap() {
    // A third of the mentee's downlink video is lost for good (by sequence
    // number, so repairs are lost too) until its video is paused.
    let lossy = Rc::new(Cell::new(true));
    let losing = lossy.clone();
    let (mut sim, seen) = tapped_call(move |peer, datagram| {
        losing.get()
            && peer == MENTEE
            && is_video(datagram)
            && u16::from_be_bytes([datagram[2], datagram[3]]).is_multiple_of(3)
    });
    let mut media = Media::new(sim.now);
    run_until(&mut sim, &mut media, Duration::from_secs(30), |sim| {
        sim.engine.counters().video_pauses > 0
    });
    lossy.set(false);
    // The loss capped the mentor's video first: caps go to the sender.
    assert!(arrived(&seen, MENTOR).caps > 0, "no cap reached the mentor");
    assert_eq!(arrived(&seen, MENTEE).caps, 0, "a cap went to the receiver");

    // Paused: repairs in flight land, then no video, while audio goes on.
    sim.run_for(Duration::from_millis(500), Some(&mut media));
    let held = arrived(&seen, MENTEE).video;
    let audio = sim.peers[MENTEE].received;
    let asked = arrived(&seen, MENTOR).keyframe_requests;
    sim.run_for(Duration::from_secs(1), Some(&mut media));
    assert_eq!(
        arrived(&seen, MENTEE).video.len(),
        held.len(),
        "video while paused"
    );
    assert!(sim.peers[MENTEE].received >= audio + 45, "audio stopped");
    // A keyframe now would reach nobody: the mentee's request is not passed on.
    let camera = held.last().expect("video").ssrc;
    ask_keyframe(&mut sim, MENTEE, camera);
    sim.run_for(Duration::from_millis(500), Some(&mut media));
    assert_eq!(
        arrived(&seen, MENTOR).keyframe_requests,
        asked,
        "asked while paused"
    );

    // The link is clean again: video resumes, the mentor asked at once for
    // a keyframe so the picture comes back.
    run_until(&mut sim, &mut media, Duration::from_secs(30), |sim| {
        sim.engine.counters().video_resumes > 0
    });
    assert_eq!(arrived(&seen, MENTOR).keyframe_requests, asked + 1);
    sim.run_for(Duration::from_secs(1), Some(&mut media));
    let video = arrived(&seen, MENTEE).video;
    assert!(video.len() >= held.len() + 40, "video did not come back");
    // It carries on from the last packet before the pause: what was held
    // back is no gap for the mentee to ask about (the last one before the
    // pause may have been lost).
    let step = video[held.len()].seq.wrapping_sub(highest(&held));
    assert!(
        (1..=2).contains(&step),
        "sequence jumped by {step} on resume"
    );
}
