use super::*;

#[test]
fn a_ufrag_names_its_shard_and_nothing_else() {
    for shard in [0, 1, 7, 15, 16, 255] {
        let ufrag = format!("{}abcdefghijklmn", ufrag_prefix(shard));
        assert_eq!(of_ufrag(&ufrag, MAX_SHARDS), Some(shard));
    }
    // Beyond the shards there are, or not hexadecimal: no shard.
    assert_eq!(of_ufrag("05abcdefghijklmn", 4), None);
    assert_eq!(of_ufrag("0Fabcdefghijklmn", 16), None);
    assert_eq!(of_ufrag("zzabcdefghijklmn", 4), None);
    assert_eq!(of_ufrag("a", 4), None);
    assert_eq!(of_ufrag("", 4), None);
    // Multi-byte text is refused, not split inside a character.
    assert_eq!(of_ufrag("é0abc", 4), None);
}

#[test]
fn sessions_spread_over_the_shards_and_stay_put() {
    let shards = 4;
    let mut counts = [0usize; 4];
    for _ in 0..4000 {
        let session = SessionId(uuid::Uuid::new_v4());
        let shard = of_session(session, shards);
        assert_eq!(shard, of_session(session, shards), "a session moved");
        counts[shard] += 1;
    }
    // Each shard gets about a quarter (1000 ± 6 sigma).
    for count in counts {
        assert!((820..=1180).contains(&count), "uneven spread: {counts:?}");
    }
    assert_eq!(of_session(SessionId(uuid::Uuid::new_v4()), 1), 0);
    assert_eq!(of_session(SessionId(uuid::Uuid::new_v4()), 0), 0);
}
