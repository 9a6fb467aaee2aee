use super::*;
use crate::transcript::speech::{Chunk, Piece};

fn tok(text: &str, p: f32, start_s: f64, end_s: f64) -> RawToken {
    RawToken {
        text: text.into(),
        p,
        logprob: p.ln(),
        start_s,
        end_s,
        special: false,
    }
}

fn special(text: &str) -> RawToken {
    RawToken {
        text: text.into(),
        p: 0.01,
        logprob: -5.0,
        start_s: 0.0,
        end_s: 0.0,
        special: true,
    }
}

fn raw(text: &str, no_speech_prob: f32, tokens: Vec<RawToken>) -> RawSegment {
    RawSegment {
        start_s: 0.0,
        end_s: 2.0,
        text: text.into(),
        no_speech_prob,
        tokens,
    }
}

fn sure(text: &str) -> RawSegment {
    raw(
        text,
        0.01,
        vec![special("[_BEG_]"), tok(text, 0.9, 0.0, 2.0)],
    )
}

#[test]
fn clear_speech_is_kept() {
    assert_eq!(
        judge(&sure(" Hello there."), &Confidence::default()),
        Ok(())
    );
}

#[test]
fn sound_descriptions_and_empty_text_are_dropped() {
    let c = Confidence::default();
    for text in [
        "",
        "   ",
        " [BLANK_AUDIO]",
        "(music)",
        " *laughs*",
        " ...",
        " ♪",
    ] {
        assert_eq!(judge(&sure(text), &c), Err(Dropped::Empty), "{text:?}");
    }
}

#[test]
fn silence_by_whispers_own_rule_is_dropped() {
    let c = Confidence::default();
    let unsure = vec![
        tok(" Thanks", 0.3, 0.0, 1.0),
        tok(" for watching!", 0.3, 1.0, 2.0),
    ];
    assert_eq!(
        judge(&raw(" Thanks for watching!", 0.9, unsure.clone()), &c),
        Err(Dropped::NoSpeech)
    );
    // The same text, where the model heard speech, is only dropped when
    // it is very unsure.
    assert_eq!(
        judge(&raw(" Thanks for watching!", 0.1, unsure), &c),
        Ok(())
    );
    let guess = vec![tok(" Thanks", 0.1, 0.0, 1.0)];
    assert_eq!(judge(&raw(" Thanks", 0.1, guess), &c), Err(Dropped::Unsure));
    // Special tokens do not count toward the confidence.
    assert_eq!(judge(&sure(" Yes."), &c), Ok(()));
}

#[test]
fn tokens_become_words_with_the_least_sure_part() {
    let tokens = vec![
        special("[_BEG_]"),
        tok(" Hel", 0.9, 0.0, 0.2),
        tok("lo", 0.5, 0.2, 0.4),
        tok(" world", 0.8, 0.5, 0.9),
        tok(".", 0.95, 0.9, 1.0),
    ];
    let w = words(&tokens);
    assert_eq!(
        w.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
        ["Hello", "world."]
    );
    assert_eq!(w[0].p, 0.5);
    assert_eq!((w[0].start_s, w[0].end_s), (0.0, 0.4));
    assert_eq!((w[1].start_s, w[1].end_s), (0.5, 1.0));
}

#[test]
fn segments_land_on_the_recording_clock() {
    let chunk = Chunk {
        pieces: vec![
            Piece {
                source: 16_000 * 10,
                at: 0,
                len: 16_000 * 3,
            },
            Piece {
                source: 16_000 * 50,
                at: 16_000 * 4,
                len: 16_000 * 2,
            },
        ],
        len: 16_000 * 6,
    };
    let mut first = sure(" One.");
    first.start_s = 0.5;
    first.end_s = 2.5;
    first.tokens = vec![tok(" One.", 0.9, 0.5, 2.5)];
    let mut second = sure(" Two.");
    second.start_s = 4.25;
    second.end_s = 5.5;
    second.tokens = vec![tok(" Two.", 0.9, 4.25, 5.5)];
    let noise = raw(
        " Thanks for watching!",
        0.95,
        vec![tok(" Thanks", 0.2, 0.0, 1.0)],
    );
    let mut dropped = 0;
    let out = to_segments(
        vec![first, noise, second],
        &chunk,
        0.0,
        Speaker {
            role: "mentee",
            name: "Bo",
        },
        &Confidence::default(),
        &mut dropped,
    );
    assert_eq!(dropped, 1);
    assert_eq!(out.len(), 2);
    assert_eq!((out[0].start_s, out[0].end_s), (10.5, 12.5));
    assert_eq!(
        (out[0].words[0].start_s, out[0].words[0].end_s),
        (10.5, 12.5)
    );
    assert_eq!((out[1].start_s, out[1].end_s), (50.25, 51.5));
    assert_eq!(out[1].role, "mentee");
    assert_eq!(out[1].text, "Two.");
}

#[test]
fn a_segment_across_two_turns_is_split_at_the_silence() {
    let chunk = Chunk {
        pieces: vec![
            Piece {
                source: 16_000 * 2,
                at: 0,
                len: 16_000 * 3,
            },
            Piece {
                source: 16_000 * 30,
                at: 16_000 * 7 / 2,
                len: 16_000 * 2,
            },
        ],
        len: 16_000 * 11 / 2,
    };
    let raw = RawSegment {
        start_s: 0.0,
        end_s: 5.5,
        text: " What did you find? That is great.".into(),
        no_speech_prob: 0.01,
        tokens: vec![
            tok(" What", 0.9, 0.2, 0.5),
            tok(" did", 0.9, 0.5, 0.8),
            tok(" you", 0.9, 0.8, 1.1),
            tok(" find?", 0.9, 1.1, 1.6),
            // In the separator: the next turn starts here.
            tok(" That", 0.9, 3.2, 3.7),
            tok(" is", 0.9, 3.7, 3.9),
            tok(" great.", 0.9, 3.9, 4.4),
        ],
    };
    let mut dropped = 0;
    let out = to_segments(
        vec![raw],
        &chunk,
        0.0,
        Speaker {
            role: "mentor",
            name: "Ada",
        },
        &Confidence::default(),
        &mut dropped,
    );
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0].text, "What did you find?");
    assert_eq!((out[0].start_s, out[0].end_s), (2.2, 3.6));
    assert_eq!(out[1].text, "That is great.");
    assert_eq!(out[1].start_s, 30.0);
    assert_eq!(out[1].end_s, 30.9);
    assert!(out[1].words.iter().all(|w| w.end_s >= w.start_s));
}
