//! Property tests that feed arbitrary and mutated input to every parser that
//! remote input reaches, and check that nothing panics and that what comes
//! out stays bounded by what went in. The media parsers (STUN, RFC 4571,
//! SDP, the live datagram path) are in `media/tests_fuzz.rs` and
//! `media/engine/tests_fuzz.rs`, CSV cells in `api/trail/tests_fuzz.rs`.
//!
//! Short by default, so the suite stays fast. For a long run:
//! `DUET_PROPTEST_LONG=1` multiplies every test's cases by [`LONG_FACTOR`]
//! (minutes in all), and `PROPTEST_CASES=<n>` sets an exact count.

use proptest::test_runner::Config;

mod links;
mod recorder;

/// How many times more cases a long run tries.
pub(crate) const LONG_FACTOR: u32 = 200;

/// The proptest config for a test that tries `short` cases in a normal run.
pub(crate) fn config(short: u32) -> Config {
    Config {
        cases: cases(short),
        ..Config::default()
    }
}

/// `short`, or the long run's count (see the module docs).
pub(crate) fn cases(short: u32) -> u32 {
    let exact = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok());
    let long = std::env::var("DUET_PROPTEST_LONG").is_ok_and(|v| !v.is_empty() && v != "0");
    match exact {
        Some(n) => n,
        None if long => short.saturating_mul(LONG_FACTOR),
        None => short,
    }
}
