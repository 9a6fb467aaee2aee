use super::*;

const S: Duration = Duration::from_secs(1);

/// Feeds camera windows a second apart from `at`, lossy at the floor,
/// until the gate pauses; the time it paused.
fn pause(gate: &mut VideoGate, mut at: Instant) -> Instant {
    for _ in 0..PAUSE_WINDOWS {
        at += S;
        if gate.on_video_window(at, Slot::Camera, 0.3, true) == Some(GateChange::Paused) {
            return at;
        }
    }
    panic!("did not pause");
}

/// Feeds clean audio windows a second apart from `at` until the gate
/// resumes; how long that took.
fn clean_until_resumed(gate: &mut VideoGate, at: Instant) -> Duration {
    for i in 1..=60u32 {
        if gate.on_audio_window(at + S * i, 0.0) == Some(GateChange::Resumed) {
            return S * i;
        }
    }
    panic!("did not resume");
}

#[test]
fn three_lossy_windows_at_the_floor_pause_video() {
    let mut gate = VideoGate::default();
    let t = Instant::now();
    assert!(!gate.paused());
    assert_eq!(gate.on_video_window(t, Slot::Camera, 0.3, true), None);
    assert_eq!(gate.on_video_window(t + S, Slot::Camera, 0.3, true), None);
    assert!(!gate.paused(), "two windows are not enough");
    assert_eq!(
        gate.on_video_window(t + S * 2, Slot::Camera, 0.3, true),
        Some(GateChange::Paused)
    );
    assert!(gate.paused());
    assert_eq!(
        gate.on_video_window(t + S * 3, Slot::Camera, 0.3, true),
        None,
        "said once"
    );
}

#[test]
fn loss_above_the_floor_or_moderate_loss_never_pauses() {
    let t = Instant::now();
    let mut capping = VideoGate::default();
    let mut moderate = VideoGate::default();
    let mut unknown = VideoGate::default();
    for i in 0..30 {
        let at = t + S * i;
        // The cap can still come down: that is the first answer to loss.
        assert_eq!(capping.on_video_window(at, Slot::Camera, 0.5, false), None);
        // At the floor, but the loss is what video tolerates.
        assert_eq!(moderate.on_video_window(at, Slot::Camera, 0.08, true), None);
        assert_eq!(
            unknown.on_video_window(at, Slot::Camera, f64::NAN, true),
            None
        );
    }
}

#[test]
fn a_clean_window_breaks_the_streak_of_its_own_stream_only() {
    let mut gate = VideoGate::default();
    let t = Instant::now();
    gate.on_video_window(t, Slot::Camera, 0.3, true);
    gate.on_video_window(t + S, Slot::Camera, 0.3, true);
    assert_eq!(
        gate.on_video_window(t + S * 2, Slot::Camera, 0.0, true),
        None
    );
    gate.on_video_window(t + S * 3, Slot::Camera, 0.3, true);
    assert_eq!(
        gate.on_video_window(t + S * 4, Slot::Camera, 0.3, true),
        None
    );
    // A screen share still above the floor says nothing about the camera.
    assert_eq!(
        gate.on_video_window(t + S * 4, Slot::Screen, 0.3, false),
        None
    );
    assert_eq!(
        gate.on_video_window(t + S * 5, Slot::Camera, 0.3, true),
        Some(GateChange::Paused)
    );
}

#[test]
fn windows_closing_fast_still_need_three_seconds() {
    let mut gate = VideoGate::default();
    let t = Instant::now();
    let ms = Duration::from_millis(400);
    for i in 0..5 {
        assert_eq!(
            gate.on_video_window(t + ms * i, Slot::Camera, 0.3, true),
            None,
            "{i}"
        );
    }
    assert_eq!(
        gate.on_video_window(t + ms * 5, Slot::Camera, 0.3, true),
        Some(GateChange::Paused),
        "2 s after the first window closed"
    );
}

#[test]
fn clean_audio_resumes_video_and_lossy_audio_restarts_the_clock() {
    let mut gate = VideoGate::default();
    let t = Instant::now();
    // Audio windows mean nothing while video flows.
    assert_eq!(gate.on_audio_window(t, 0.5), None);
    let paused = pause(&mut gate, t);
    // Video windows mean nothing while paused: only leftovers.
    assert_eq!(
        gate.on_video_window(paused + S, Slot::Camera, 0.0, true),
        None
    );
    assert!(gate.paused());
    assert_eq!(gate.on_audio_window(paused + S, 0.0), None);
    assert_eq!(gate.on_audio_window(paused + S * 2, 0.01), None);
    assert_eq!(gate.on_audio_window(paused + S * 3, 0.05), None, "lossy");
    assert_eq!(gate.on_audio_window(paused + S * 4, f64::NAN), None);
    for i in 5..8 {
        assert_eq!(gate.on_audio_window(paused + S * i, 0.0), None, "{i}");
    }
    assert!(gate.paused());
    assert_eq!(
        gate.on_audio_window(paused + S * 8, 0.0),
        Some(GateChange::Resumed),
        "4 s clean since the last lossy window"
    );
    assert!(!gate.paused());
    assert_eq!(gate.on_audio_window(paused + S * 9, 0.0), None, "said once");
}

#[test]
fn each_quick_re_pause_doubles_the_clean_time_up_to_thirty_seconds() {
    let mut gate = VideoGate::default();
    let mut at = Instant::now();
    let mut needed = Vec::new();
    for _ in 0..6 {
        at = pause(&mut gate, at);
        let took = clean_until_resumed(&mut gate, at);
        needed.push(took.as_secs());
        at += took;
    }
    assert_eq!(needed, [4, 8, 16, 30, 30, 30]);
    assert_eq!(gate.resume_after(), MAX_RESUME_AFTER);

    // Video that stayed on a minute starts over from the short wait.
    at += SETTLED_AFTER;
    at = pause(&mut gate, at);
    assert_eq!(clean_until_resumed(&mut gate, at), RESUME_AFTER);
}

#[test]
fn without_audio_to_judge_by_video_resumes_after_a_long_silence() {
    let mut gate = VideoGate::default();
    let t = Instant::now();
    let paused = pause(&mut gate, t);
    assert_eq!(gate.on_report(paused + RESUME_AFTER), None, "not yet");
    assert_eq!(
        gate.on_report(paused + SILENCE_RESUMES_AFTER - S),
        None,
        "reports may come seconds apart"
    );
    assert_eq!(
        gate.on_report(paused + SILENCE_RESUMES_AFTER),
        Some(GateChange::Resumed)
    );
    // Lossy audio is something to judge by: no resume.
    let again = pause(&mut gate, paused + SILENCE_RESUMES_AFTER);
    for i in 1..=40 {
        gate.on_audio_window(again + S * i, 0.3);
        assert_eq!(gate.on_report(again + S * i), None);
    }
    assert!(gate.paused());
    // Reports while video flows change nothing.
    assert_eq!(VideoGate::default().on_report(t + S * 100), None);
}
