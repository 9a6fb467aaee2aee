use std::time::{Duration, Instant};

use super::*;

fn offer(extra: &str) -> String {
    format!(
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
         m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:abcd\r\na=ice-pwd:x\r\n{extra}"
    )
}

fn candidates(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "a=candidate:{i} 1 udp 1 10.0.{}.{} 9 typ host\r\n",
                i / 250,
                i % 250
            )
        })
        .collect()
}

#[test]
fn a_normal_offer_passes_with_its_facts() {
    let facts = check_offer(&offer(&candidates(3))).expect("accepted");
    assert_eq!(facts.candidates, 3);
    assert_eq!(facts.ufrag.as_deref(), Some("abcd"));
}

#[test]
fn an_oversize_offer_is_refused() {
    let big = offer(&"a=x-padding:0123456789\r\n".repeat(MAX_SDP_BYTES / 20));
    assert!(matches!(check_offer(&big), Err(OfferRefusal::TooLarge(_))));
}

#[test]
fn too_many_candidates_are_refused() {
    assert!(check_offer(&offer(&candidates(MAX_CANDIDATES_PER_PEER))).is_ok());
    assert_eq!(
        check_offer(&offer(&candidates(MAX_CANDIDATES_PER_PEER + 1))),
        Err(OfferRefusal::TooManyCandidates(MAX_CANDIDATES_PER_PEER + 1))
    );
}

#[test]
fn a_data_channel_is_refused() {
    let sdp = offer("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n");
    assert_eq!(check_offer(&sdp), Err(OfferRefusal::DataChannel));
}

#[test]
fn the_budget_counts_offer_and_trickle_together() {
    let mut budget = CandidateBudget::default();
    budget.offered(&check_offer(&offer(&candidates(10))).expect("ok"));
    let taken = (0..100).filter(|_| budget.take()).count();
    assert_eq!(taken, MAX_CANDIDATES_PER_PEER - 10);
    // Renegotiating with the same ICE credentials does not refill it...
    budget.offered(&check_offer(&offer("")).expect("ok"));
    assert!(!budget.take());
    // ...an ICE restart does.
    let restart = offer("").replace("abcd", "efgh");
    budget.offered(&check_offer(&restart).expect("ok"));
    assert!(budget.take());
}

#[test]
fn the_bucket_allows_a_burst_then_the_rate() {
    let t = Instant::now();
    let mut bucket = TokenBucket::new(5, 2);
    assert_eq!((0..10).filter(|_| bucket.take(t)).count(), 5);
    assert!(!bucket.take(t + Duration::from_millis(100)));
    assert!(bucket.take(t + Duration::from_millis(600)));
    assert!(!bucket.take(t + Duration::from_millis(700)));
    // A long pause refills to the burst, not beyond.
    let later = t + Duration::from_secs(60);
    assert_eq!((0..10).filter(|_| bucket.take(later)).count(), 5);
}

#[test]
fn a_clock_going_backwards_grants_nothing() {
    let t = Instant::now() + Duration::from_secs(10);
    let mut bucket = TokenBucket::new(1, 1);
    assert!(bucket.take(t));
    assert!(!bucket.take(t - Duration::from_secs(5)));
}
