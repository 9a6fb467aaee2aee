use super::*;

#[test]
fn families_are_read_from_file_names() {
    assert_eq!(
        ModelFamily::from_file_name("ggml-tiny.en.bin"),
        Some(ModelFamily::TinyEn)
    );
    assert_eq!(
        ModelFamily::from_file_name("/models/ggml-base.bin"),
        Some(ModelFamily::Base)
    );
    assert_eq!(
        ModelFamily::from_file_name("ggml-small.en-q5_1.bin"),
        Some(ModelFamily::SmallEn)
    );
    assert_eq!(
        ModelFamily::from_file_name("ggml-large-v3-turbo.bin"),
        Some(ModelFamily::LargeV3Turbo)
    );
    assert_eq!(ModelFamily::from_file_name("my-model.bin"), None);
}

#[test]
fn the_catalog_is_well_formed() {
    for m in CATALOG {
        assert!(is_sha256_hex(m.sha256), "{}", m.name);
        assert!(m.bytes > 10_000_000, "{}", m.name);
        assert!(
            ModelFamily::from_file_name(&m.file_name()).is_some(),
            "{}",
            m.name
        );
        assert_eq!(find(m.name), Some(m));
    }
    let mut names: Vec<_> = CATALOG.iter().map(|m| m.name).collect();
    names.dedup();
    assert_eq!(names.len(), CATALOG.len());
    assert!(find("huge").is_none());
}

#[test]
fn digests_must_be_64_hex_characters() {
    assert!(!is_sha256_hex("abc"));
    assert!(!is_sha256_hex(&"g".repeat(64)));
    assert!(is_sha256_hex(&"aB".repeat(32)));
}
