use super::connection_cap;

#[test]
fn the_connection_cap_leaves_a_quarter_of_the_descriptors_free() {
    assert_eq!(connection_cap(4096, Some(1024)), 768);
    assert_eq!(connection_cap(100, Some(1024)), 100);
    assert_eq!(connection_cap(4096, Some(1_048_576)), 4096);
    assert_eq!(connection_cap(4096, None), 4096);
    assert_eq!(connection_cap(4096, Some(0)), 1, "never zero");
}
