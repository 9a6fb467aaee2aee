//! The media engine's forwarding rules in virtual time: Duet's real engine
//! (`media::inproc`) between sans-IO `rtc` peers, no sockets, no sleeps;
//! losses are chosen per datagram, so each run is the same.

#[path = "../benches/sim/mod.rs"]
mod sim;

#[path = "engine_virtual/caps.rs"]
mod caps;
#[path = "engine_virtual/continuity.rs"]
mod continuity;
#[path = "engine_virtual/keyframes.rs"]
mod keyframes;
#[path = "engine_virtual/wiretap.rs"]
mod wiretap;

use std::time::Duration;

use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use sim::{Media, NoMeter, Sim, VIDEO_PAYLOAD};
use wiretap::{Seen, tap};

/// Peer indexes of the one call's two people.
const MENTOR: usize = 0;
const MENTEE: usize = 1;

/// SRTP carrying a video payload (audio packets are far smaller).
fn is_video(datagram: &[u8]) -> bool {
    matches!(datagram.first(), Some(128..=191)) && datagram.len() > VIDEO_PAYLOAD
}

/// The gaps in a receiver's video sequence numbers, in arrival order:
/// each step that is not +1 (a repair arriving late shows as a step back
/// and one forward, so the *set* is checked for holes separately).
fn holes(seqs: &[u16]) -> Vec<u16> {
    let mut sorted: Vec<u32> = Vec::with_capacity(seqs.len());
    // Unwrap sequence numbers relative to the first.
    let first = seqs.first().copied().unwrap_or(0);
    for &s in seqs {
        sorted.push(u32::from(s.wrapping_sub(first)));
    }
    sorted.sort_unstable();
    sorted.dedup();
    sorted
        .windows(2)
        .filter(|w| w[1] != w[0] + 1)
        .map(|w| first.wrapping_add(w[0] as u16 + 1))
        .collect()
}

fn one_call() -> Sim<NoMeter> {
    let mut sim = Sim::new(NoMeter).expect("engine");
    sim.add_call(0).expect("call");
    sim.connect_all().expect("connects");
    sim
}

/// One call, connected, with what Duet sends the peers tapped and the
/// network losing what `lose` says.
fn tapped_call(lose: impl FnMut(usize, &[u8]) -> bool + 'static) -> (Sim<NoMeter>, Seen) {
    let mut sim = Sim::new(NoMeter).expect("engine");
    sim.add_call(0).expect("call");
    let seen = tap(&mut sim, lose);
    sim.connect_all().expect("connects");
    (sim, seen)
}

/// Peer `index` asks for a keyframe of the stream `ssrc` it receives, as
/// a browser's decoder does after a loss.
fn ask_keyframe(sim: &mut Sim<NoMeter>, index: usize, ssrc: u32) {
    let now = sim.now;
    let pc = &mut sim.peers[index].pc;
    let receiver = pc.get_receivers().next().expect("a receiver");
    let pli = PictureLossIndication {
        sender_ssrc: 0,
        media_ssrc: ssrc,
    };
    pc.rtp_receiver(receiver)
        .expect("receiver")
        .write_rtcp(now, vec![Box::new(pli)])
        .expect("PLI written");
}

#[test]
fn each_person_gets_the_others_audio_and_video() {
    let mut sim = one_call();
    let mut media = Media::new(sim.now);
    sim.run_for(Duration::from_secs(2), Some(&mut media));
    for p in &sim.peers {
        // 2 s: 100 audio and 90 video packets sent by the other person.
        assert!(p.received >= 180, "{:?} received {}", p.role, p.received);
        assert!(
            p.video_seqs.len() >= 85,
            "{:?} video {}",
            p.role,
            p.video_seqs.len()
        );
        assert_eq!(holes(&p.video_seqs), Vec::<u16>::new());
    }
    assert_eq!(sim.engine.counters().rtp_dropped, 0);
}

#[test]
fn lost_video_is_sent_again_from_the_engines_history() {
    let mut sim = one_call();
    // Every 7th video datagram from Duet to the mentee is lost.
    let mut n = 0u32;
    sim.loss = Some(Box::new(move |peer, datagram| {
        if peer == 1 && is_video(datagram) {
            n += 1;
            return n.is_multiple_of(7);
        }
        false
    }));
    let mut media = Media::new(sim.now);
    sim.run_for(Duration::from_secs(3), Some(&mut media));
    // The last lost packets get their retransmission within a NACK round.
    sim.run_for(Duration::from_millis(500), None);
    let mentee = &sim.peers[1];
    assert!(
        mentee.video_seqs.len() >= 130,
        "{}",
        mentee.video_seqs.len()
    );
    assert_eq!(holes(&mentee.video_seqs), Vec::<u16>::new(), "unrepaired");
    // Repairs arrive after later packets: the order shows they happened.
    let late = mentee
        .video_seqs
        .windows(2)
        .filter(|w| w[1].wrapping_sub(w[0]) > u16::MAX / 2)
        .count();
    assert!(late >= 10, "only {late} packets came late");
}

#[test]
fn a_sender_that_reconnects_keeps_the_receivers_stream_continuous() {
    let mut sim = one_call();
    let mut media = Media::new(sim.now);
    sim.run_for(Duration::from_secs(1), Some(&mut media));
    let before = sim.peers[1].video_seqs.len();
    assert!(before >= 40);
    // The mentor's page reloads: a new connection, its own sequence
    // numbers starting over, from a new address.
    sim.rejoin(0).expect("rejoins");
    sim.connect_all().expect("reconnects");
    sim.run_for(Duration::from_secs(1), Some(&mut media));
    let seqs = &sim.peers[1].video_seqs;
    assert!(seqs.len() >= before + 40, "video stopped: {}", seqs.len());
    // What the mentee receives goes on from where it was, never back.
    for w in seqs.windows(2) {
        let step = w[1].wrapping_sub(w[0]);
        assert!((1..=5).contains(&step), "jump {} -> {}", w[0], w[1]);
    }
}

#[test]
fn heavy_loss_to_a_receiver_caps_the_senders_video() {
    let mut sim = one_call();
    // A third of the mentee's downlink video is lost for good: by sequence
    // number (in the clear in SRTP), so retransmissions are lost too.
    sim.loss = Some(Box::new(move |peer, datagram| {
        peer == 1
            && is_video(datagram)
            && u16::from_be_bytes([datagram[2], datagram[3]]).is_multiple_of(3)
    }));
    let mut media = Media::new(sim.now);
    sim.run_for(Duration::from_secs(6), Some(&mut media));
    let caps = sim.engine.counters().bitrate_caps_sent;
    assert!(caps > 0, "no REMB cap went to the mentor");
}
