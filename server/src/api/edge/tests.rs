use axum::http::HeaderMap;

use super::{Edge, Slots};
use crate::config::HttpConfig;

#[test]
fn slots_cap_each_key_and_give_places_back() {
    let slots: Slots<u8> = Slots::default();
    let a: Vec<_> = (0..3).filter_map(|_| slots.try_take(1, 3)).collect();
    assert_eq!(a.len(), 3);
    assert!(slots.try_take(1, 3).is_none(), "the fourth is refused");
    assert!(
        slots.try_take(2, 3).is_some(),
        "another key is not affected"
    );
    drop(a);
    assert_eq!(slots.held(&1), 0);
    assert!(slots.try_take(1, 3).is_some(), "places came back");
    assert!(slots.try_take(9, 0).is_none(), "a cap of 0 refuses all");
    assert_eq!(slots.held(&9), 0);
}

#[test]
fn downloads_are_counted_per_credential() {
    let http = HttpConfig {
        max_downloads_per_credential: 1,
        ..HttpConfig::default()
    };
    let edge = Edge::new(&http);
    let with = |auth: &str| {
        let mut h = HeaderMap::new();
        h.insert("authorization", auth.parse().expect("header"));
        h
    };
    let first = edge.download_slot(&with("Bearer token-a"));
    assert!(first.is_some());
    assert!(edge.download_slot(&with("Bearer token-a")).is_none());
    assert!(edge.download_slot(&with("Bearer token-b")).is_some());
    drop(first);
    assert!(edge.download_slot(&with("Bearer token-a")).is_some());
}
