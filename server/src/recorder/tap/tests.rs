use super::*;

fn packet(seq: u16) -> RecordedPacket {
    RecordedPacket {
        role: Role::Mentor,
        kind: TrackKind::Audio,
        codec: TrackCodec::Opus,
        seq,
        timestamp: 0,
        marker: false,
        payload: Bytes::from_static(&[1, 2, 3]),
        arrival: Instant::now(),
    }
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let q = queue(2);
    for seq in 0..5 {
        q.tap.offer(packet(seq));
    }
    assert_eq!(q.dropped.load(Ordering::Relaxed), 3);
    assert!(matches!(q.rx.try_recv(), Ok(p) if p.seq == 0));
}

#[test]
fn video_tracks_start_wanting_a_keyframe_once() {
    let q = queue(2);
    assert!(q.tap.wants_keyframe(Role::Mentee, TrackKind::Camera));
    assert!(!q.tap.wants_keyframe(Role::Mentee, TrackKind::Camera));
    assert!(!q.tap.wants_keyframe(Role::Mentee, TrackKind::Audio));
    q.tap
        .keyframe_requests()
        .request(Role::Mentee, TrackKind::Camera);
    assert!(q.tap.wants_keyframe(Role::Mentee, TrackKind::Camera));
    assert!(q.tap.wants_keyframe(Role::Mentor, TrackKind::Screen));
}

#[test]
fn offering_after_the_writer_is_gone_is_harmless() {
    let q = queue(2);
    let tap = q.tap.clone();
    drop(q);
    tap.offer(packet(1));
}
