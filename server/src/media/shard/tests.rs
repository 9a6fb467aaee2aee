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
