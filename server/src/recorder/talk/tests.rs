use super::*;

/// `secs` of a 440 Hz tone at `dbfs` RMS.
fn tone(secs: f64, dbfs: f64) -> Vec<i16> {
    let amp = 32768.0 * 10f64.powf(dbfs / 20.0) * std::f64::consts::SQRT_2;
    let n = (secs * SAMPLE_RATE as f64).round() as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / SAMPLE_RATE as f64;
            (amp * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
        })
        .collect()
}

fn silence(secs: f64) -> Vec<i16> {
    vec![0; (secs * SAMPLE_RATE as f64).round() as usize]
}

fn run(parts: &[Vec<i16>]) -> TalkStats {
    let mut d = TalkDetector::default();
    for p in parts {
        d.push(p);
    }
    d.finish()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn silence_is_not_talk() {
    let stats = run(&[silence(3.0)]);
    assert_eq!(stats, TalkStats::default());
}

#[test]
fn one_second_tone_is_one_second_of_talk() {
    let stats = run(&[silence(1.0), tone(1.0, -20.0), silence(1.0)]);
    assert!(close(stats.speech_seconds, 1.0), "{stats:?}");
    assert_eq!(stats.segments.len(), 1);
    let (s, e) = stats.segments[0];
    assert!(close(s, 1.0) && close(e, 2.0), "{stats:?}");
}

#[test]
fn quiet_noise_and_clicks_are_not_talk() {
    // Below the threshold, however long.
    let quiet = run(&[tone(2.0, -50.0)]);
    assert_eq!(quiet.speech_seconds, 0.0);
    // Loud but shorter than the minimum segment.
    let click = run(&[silence(0.5), tone(0.06, -10.0), silence(0.5)]);
    assert_eq!(click, TalkStats::default());
}

#[test]
fn short_pauses_are_bridged_long_ones_split() {
    // 100 ms pause: one segment of 0.5 + 0.1 + 0.5 s.
    let s = run(&[tone(0.5, -25.0), silence(0.1), tone(0.5, -25.0)]);
    assert!(close(s.speech_seconds, 1.1), "{s:?}");
    assert_eq!(s.segments.len(), 1);
    // 260 ms pause: two segments, but one timeline entry.
    let s = run(&[tone(0.5, -25.0), silence(0.26), tone(0.5, -25.0)]);
    assert!(close(s.speech_seconds, 1.0), "{s:?}");
    assert_eq!(s.segments.len(), 1);
    assert!(close(s.segments[0].1, 1.26), "{s:?}");
    // 1 s pause: two entries.
    let s = run(&[tone(0.5, -25.0), silence(1.0), tone(0.5, -25.0)]);
    assert!(close(s.speech_seconds, 1.0), "{s:?}");
    assert_eq!(s.segments.len(), 2);
    assert!(close(s.segments[1].0, 1.5), "{s:?}");
}

#[test]
fn chunking_does_not_matter() {
    let audio: Vec<i16> = [tone(0.7, -30.0), silence(0.4), tone(0.33, -30.0)].concat();
    let whole = run(&[audio.clone(), vec![0; 1000]]);
    let mut d = TalkDetector::default();
    for chunk in audio.chunks(77) {
        d.push(chunk);
    }
    d.push_silence(1000);
    assert_eq!(d.finish(), whole);
}

#[test]
fn the_timeline_stays_bounded() {
    let mut d = TalkDetector::default();
    let (burst, pause) = (tone(0.12, -20.0), silence(0.4));
    for _ in 0..(MAX_SEGMENTS + 500) {
        d.push(&burst);
        d.push(&pause);
    }
    let stats = d.finish();
    assert!(
        stats.segments.len() <= MAX_SEGMENTS,
        "{}",
        stats.segments.len()
    );
    let expected = (MAX_SEGMENTS + 500) as f64 * 0.12;
    assert!((stats.speech_seconds - expected).abs() < 1e-6);
    assert!(stats.segments.windows(2).all(|w| w[0].1 <= w[1].0));
}
