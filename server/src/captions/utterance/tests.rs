use super::*;

/// A 20 ms frame of a tone at about −20 dBFS (speech) or of silence.
fn frame(voiced: bool) -> Vec<i16> {
    (0..FRAME)
        .map(|i| {
            if voiced {
                (3000.0 * (i as f64 * 0.2).sin()) as i16
            } else {
                0
            }
        })
        .collect()
}

/// Feeds `n` frames, returning every cut with the frame index it came at.
fn feed(u: &mut Utterances, voiced: bool, n: usize, cuts: &mut Vec<Cut>) {
    for _ in 0..n {
        if let Some(cut) = u.push(&frame(voiced)) {
            cuts.push(cut);
        }
    }
}

#[test]
fn silence_is_never_recognized() {
    let mut u = Utterances::new(UtteranceConfig::default());
    let mut cuts = Vec::new();
    feed(&mut u, false, 1000, &mut cuts);
    assert!(cuts.is_empty());
    assert!(u.current().is_empty());
    assert!(!u.speaking());
}

#[test]
fn a_sentence_gives_interims_while_said_and_one_final_after_the_pause() {
    let mut u = Utterances::new(UtteranceConfig::default());
    let mut cuts = Vec::new();
    feed(&mut u, false, 20, &mut cuts);
    // 2.5 s of speech: interims at 1 s and 2 s.
    feed(&mut u, true, 125, &mut cuts);
    assert_eq!(cuts, [Cut::Interim, Cut::Interim]);
    assert!(u.speaking());
    assert_eq!(
        u.current().len(),
        (15 + 125) * FRAME,
        "with 300 ms before it"
    );
    // A pause shorter than 600 ms does not end it.
    feed(&mut u, false, 29, &mut cuts);
    assert_eq!(cuts.len(), 2);
    feed(&mut u, false, 1, &mut cuts);
    let Some(Cut::Final(audio)) = cuts.last() else {
        panic!("a final after the pause: {cuts:?}");
    };
    // The pre-roll, the speech, 100 ms of the pause.
    assert_eq!(audio.len(), (15 + 125 + 5) * FRAME);
    assert!(!u.speaking());
}

#[test]
fn a_click_is_dropped_and_a_long_monologue_is_cut() {
    let config = UtteranceConfig::default();
    let mut u = Utterances::new(config);
    let mut cuts = Vec::new();
    feed(&mut u, true, 5, &mut cuts);
    feed(&mut u, false, 40, &mut cuts);
    assert!(cuts.is_empty(), "100 ms of noise: {cuts:?}");

    feed(&mut u, true, config.max_frames + 10, &mut cuts);
    let finals = cuts.iter().filter(|c| matches!(c, Cut::Final(_))).count();
    assert_eq!(finals, 1, "cut at 12 s");
    assert!(u.speaking(), "and going on");
}

#[test]
fn reset_forgets_what_was_said() {
    let mut u = Utterances::new(UtteranceConfig::default());
    let mut cuts = Vec::new();
    feed(&mut u, true, 40, &mut cuts);
    u.reset();
    feed(&mut u, false, 40, &mut cuts);
    assert!(cuts.is_empty(), "muted mid-sentence: nothing final");
}
