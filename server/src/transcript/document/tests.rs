use super::*;

fn seg(role: &str, name: &str, start_s: f64, end_s: f64, text: &str) -> Segment {
    Segment {
        role: role.into(),
        name: name.into(),
        start_s,
        end_s,
        text: text.into(),
        words: Vec::new(),
    }
}

fn sample() -> Transcript {
    Transcript::new(
        Some("en".into()),
        "ggml-tiny.en.bin".into(),
        vec![
            vec![
                seg("mentor", "Ada", 1.0, 3.5, "How was your week?"),
                seg("mentor", "Ada", 9.0, 10.0, "Good."),
            ],
            vec![
                seg(
                    "mentee",
                    "Bo <b>",
                    4.0,
                    8.25,
                    "Busy: I shipped the *parser* & tests.",
                ),
                seg("mentee", "Bo <b>", 3661.5, 3663.0, "Bye."),
            ],
        ],
    )
}

#[test]
fn speakers_are_merged_in_time_order() {
    let t = sample();
    let starts: Vec<f64> = t.segments.iter().map(|s| s.start_s).collect();
    assert_eq!(starts, vec![1.0, 4.0, 9.0, 3661.5]);
}

#[test]
fn vtt_names_the_speaker_in_a_voice_span_and_escapes_text() {
    let vtt = sample().to_vtt();
    assert!(
        vtt.starts_with(
            "WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.500\n<v Ada (mentor)>How was your week?</v>\n"
        ),
        "{vtt}"
    );
    assert!(
        vtt.contains("<v Bo &lt;b&gt; (mentee)>Busy: I shipped the *parser* &amp; tests.</v>"),
        "{vtt}"
    );
    assert!(vtt.contains("01:01:01.500 --> 01:01:03.000"), "{vtt}");
    assert_eq!(vtt.matches("-->").count(), 4);
}

#[test]
fn markdown_groups_turns_and_escapes_markup() {
    let md = sample().to_markdown("Weekly 1:1");
    assert!(md.starts_with("# Weekly 1:1\n"), "{md}");
    assert!(
        md.contains("**[0:01] Ada (mentor):** How was your week?"),
        "{md}"
    );
    assert!(
        md.contains("**[0:04] Bo \\<b\\> (mentee):** Busy: I shipped the \\*parser\\* & tests."),
        "{md}"
    );
    assert!(md.contains("**[1:01:01] Bo"), "{md}");
}

#[test]
fn consecutive_segments_of_one_person_are_one_paragraph() {
    let t = Transcript::new(
        None,
        "m".into(),
        vec![vec![
            seg("mentor", "Ada", 0.0, 1.0, "One."),
            seg("mentor", "Ada", 2.0, 3.0, "Two."),
        ]],
    );
    let md = t.to_markdown("x");
    assert!(md.contains("(mentor):** One. Two.\n"), "{md}");
}

#[test]
fn an_empty_transcript_says_so() {
    let t = Transcript::new(None, "m".into(), vec![vec![], vec![]]);
    assert_eq!(t.to_vtt(), "WEBVTT\n");
    assert!(t.to_markdown("x").contains("No speech"));
}

#[test]
fn json_round_trips() {
    let t = sample();
    let text = serde_json::to_string(&t).unwrap();
    assert_eq!(serde_json::from_str::<Transcript>(&text).unwrap(), t);
}
