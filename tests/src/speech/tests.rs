use super::*;

#[test]
fn wer_counts_edits_over_words() {
    assert_eq!(word_error_rate("the cat sat", "The cat sat."), 0.0);
    assert!((word_error_rate("the cat sat", "the dog sat") - 1.0 / 3.0).abs() < 1e-9);
    assert!((word_error_rate("the cat sat", "the cat") - 1.0 / 3.0).abs() < 1e-9);
    assert!((word_error_rate("a b", "a x b y") - 1.0).abs() < 1e-9);
    assert_eq!(word_error_rate("", ""), 0.0);
}

#[test]
fn small_numbers_count_as_their_words() {
    assert_eq!(
        word_error_rate("four minutes instead of twenty", "4 minutes instead of 20."),
        0.0
    );
}
