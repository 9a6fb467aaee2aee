//! Tests of `turn`.

use super::*;

#[test]
fn matches_the_coturn_rest_algorithm() {
    // Computed independently with:
    // echo -n "1700000000:alice" | openssl dgst -binary -sha1 -hmac "north-pole-shared-secret" | base64
    let c = rest_credential("north-pole-shared-secret", "alice", 1_700_000_000);
    assert_eq!(c.username, "1700000000:alice");
    assert_eq!(c.credential, "6bULoRmzbhPuKeYzMqIUxWJ/PsQ=");
}

#[test]
fn credentials_expire_after_the_ttl_and_differ_per_user() {
    let config = TurnConfig {
        urls: vec!["turn:127.0.0.1:3478?transport=udp".into()],
        shared_secret: Some("north-pole-shared-secret".into()),
        credential_ttl_s: 600,
    };
    let a = ice_server_for(&config, "a", 1_000).expect("configured");
    let b = ice_server_for(&config, "b", 1_000).expect("configured");
    assert_eq!(a.username.as_deref(), Some("1600:a"));
    assert_ne!(a.credential, b.credential);
    assert_eq!(a.urls, config.urls);
}

#[test]
fn nothing_without_a_secret() {
    assert!(ice_server_for(&TurnConfig::default(), "a", 0).is_none());
}
