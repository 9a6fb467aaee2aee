//! Config: defaults, the example file, environment, and errors naming fields.

use std::collections::HashMap;
use std::path::PathBuf;

use super::*;

#[test]
fn defaults_match_the_contract() {
    let c = Config::default();
    assert_eq!(c.http.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.media.port, 7882);
    assert_eq!(c.data_dir, PathBuf::from("./data"));
    c.validate().expect("defaults are valid");
}

#[test]
fn the_example_file_is_the_defaults() {
    let example = include_str!("../../../deploy/duet.example.toml");
    assert_eq!(
        Config::from_toml(example).expect("parses"),
        Config::default()
    );
}

#[test]
fn empty_file_is_the_defaults() {
    assert_eq!(Config::from_toml("").expect("parses"), Config::default());
}

#[test]
fn defaults_round_trip_through_toml() {
    let text = toml::to_string(&Config::default()).expect("serializes");
    assert_eq!(Config::from_toml(&text).expect("parses"), Config::default());
}

#[test]
fn unknown_fields_are_errors_naming_the_field() {
    let err = Config::from_toml("[media]\nprot = 1\n").expect_err("typo refused");
    assert!(err.contains("prot"), "{err}");
}

#[test]
fn invalid_values_name_the_field() {
    let mut c = Config::default();
    c.http.public_url = Some("duet.example.com".into());
    assert!(
        c.validate()
            .expect_err("no scheme")
            .to_string()
            .contains("http.public_url")
    );

    let mut c = Config::default();
    c.media.ice_servers.push(IceServerConfig {
        urls: vec!["http://x".into()],
        username: None,
        credential: None,
    });
    assert!(
        c.validate()
            .expect_err("bad url")
            .to_string()
            .contains("media.ice_servers")
    );

    let mut c = Config::default();
    c.log.level = "info,[bad".into();
    assert!(
        c.validate()
            .expect_err("bad filter")
            .to_string()
            .contains("log.level")
    );

    let mut c = Config::default();
    c.auth.api_keys.push("short".into());
    assert!(
        c.validate()
            .expect_err("short key")
            .to_string()
            .contains("auth.api_keys")
    );
}

#[test]
fn every_setting_has_an_environment_variable() {
    // Every field set, so that none is skipped as None when serialized.
    let mut c = Config::default();
    c.database.url = Some("postgres://duet@db/duet".into());
    c.internal_url = Some("http://10.0.0.5:8080".into());
    c.storage.url = Some("s3://duet-recordings/eu".into());
    c.node.id = Some("node-1".into());
    c.http.public_url = Some("https://x".into());
    c.http.web_dir = Some("w".into());
    c.http.tls_cert_file = Some("c".into());
    c.http.tls_key_file = Some("k".into());
    c.media.public_ip = Some("203.0.113.1".parse().expect("ip"));
    c.media.public_port = Some(1);
    c.media.shards = Some(2);
    c.turn.shared_secret = Some("s".into());
    c.transcription.model = Some("tiny.en".into());
    c.captions.max_speakers = Some(4);
    c.recording.notices.insert("es".into(), "Grabamos.".into());
    let table: toml::Table =
        toml::from_str(&toml::to_string(&c).expect("serializes")).expect("parses");
    let mut leaves = Vec::new();
    collect_leaves(&table, "", &mut leaves);
    leaves.retain(|l| !l.starts_with("media.ice_servers"));
    // A table setting is one variable (an inline table), not one per key.
    for leaf in &mut leaves {
        if leaf.starts_with("recording.notices.") {
            *leaf = "recording.notices".into();
        }
    }
    leaves.sort();
    let mut listed: Vec<String> = ENV_SETTINGS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(leaves, listed);
}

fn collect_leaves(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(t) => collect_leaves(t, &path, out),
            _ => out.push(path),
        }
    }
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn environment_overrides_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("duet.toml");
    std::fs::write(&file, "[media]\nport = 9000\ntcp_port = 9001\n").expect("write");
    let c = Config::from_sources(
        Some(&file),
        env(&[
            ("DUET_MEDIA_TCP_PORT", "9443"),
            ("DUET_HTTP_LISTEN", "0.0.0.0:80"),
            ("DUET_MEDIA_ICE_TCP", "false"),
            ("DUET_AUTH_API_KEYS", "aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb"),
            ("DUET_RECORDING_NOTICE", "We record, with your consent."),
            ("DUET_UNRELATED", "ignored"),
        ]),
    )
    .expect("loads");
    assert_eq!(c.media.port, 9000, "from the file");
    assert_eq!(c.media.tcp_port, 9443, "environment wins");
    assert!(!c.media.ice_tcp);
    assert_eq!(c.http.listen.to_string(), "0.0.0.0:80");
    assert_eq!(c.auth.api_keys.len(), 2);
    assert_eq!(c.recording.notice, "We record, with your consent.");
}

#[test]
fn a_bad_environment_value_names_the_variable_and_the_field() {
    let err = Config::from_sources(None, env(&[("DUET_MEDIA_TCP_PORT", "many")]))
        .expect_err("not a port")
        .to_string();
    assert!(err.contains("DUET_MEDIA_TCP_PORT"), "{err}");
    assert!(err.contains("tcp_port"), "{err}");
}

#[test]
fn file_errors_name_the_file_and_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("duet.toml");
    std::fs::write(&file, "[turn]\ncredential_ttl_s = \"an hour\"\n").expect("write");
    let err = Config::from_sources(Some(&file), env(&[]))
        .expect_err("not a number")
        .to_string();
    assert!(err.contains("duet.toml"), "{err}");
    assert!(err.contains("credential_ttl_s"), "{err}");
    let missing = Config::from_sources(Some(&dir.path().join("nope.toml")), env(&[]))
        .expect_err("missing file")
        .to_string();
    assert!(missing.contains("nope.toml"), "{missing}");
}

#[test]
fn unknown_sections_are_errors() {
    let err = Config::from_toml("[turm]\nurls = []\n").expect_err("typo refused");
    assert!(err.contains("turm"), "{err}");
}

#[test]
fn operator_kit_settings_are_checked() {
    let field = |c: &Config| match c.validate() {
        Err(ConfigError::Invalid { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    };
    let mut c = Config::default();
    c.http.tls_cert_file = Some("cert.pem".into());
    assert_eq!(field(&c), "http.tls_key_file");

    let mut c = Config::default();
    c.turn.urls = vec!["turn:127.0.0.1:3478".into()];
    assert_eq!(field(&c), "turn.shared_secret");
    c.turn.shared_secret = Some("short".into());
    assert_eq!(field(&c), "turn.shared_secret");
    c.turn.shared_secret = Some("a-long-enough-shared-secret".into());
    c.validate().expect("complete TURN settings");
    c.turn.urls = vec!["stun:127.0.0.1:3478".into()];
    assert_eq!(field(&c), "turn.urls");

    let mut c = Config::default();
    c.turn.shared_secret = Some("a-long-enough-shared-secret".into());
    assert_eq!(field(&c), "turn.urls");

    let mut c = Config::default();
    c.turn.credential_ttl_s = 5;
    assert_eq!(field(&c), "turn.credential_ttl_s");

    let mut c = Config::default();
    c.media.tcp_port = c.http.listen.port();
    assert_eq!(field(&c), "media.tcp_port");
}

#[test]
fn links_use_https_when_serving_tls() {
    let mut c = Config::default();
    c.http.tls_cert_file = Some("c.pem".into());
    c.http.tls_key_file = Some("k.pem".into());
    assert_eq!(c.public_base_url(), "https://127.0.0.1:8080");
}

#[test]
fn the_transcription_model_is_a_file_or_a_downloaded_name() {
    let mut c = Config::default();
    assert_eq!(c.transcription_model(), None, "off by default");
    c.transcription.model = Some("tiny.en".into());
    assert_eq!(
        c.transcription_model(),
        Some(PathBuf::from("./data/models/ggml-tiny.en.bin"))
    );
    c.transcription.model = Some("/models/my-model.bin".into());
    assert_eq!(
        c.transcription_model(),
        Some(PathBuf::from("/models/my-model.bin"))
    );
    c.transcription.model = Some("  ".into());
    assert_eq!(c.transcription_model(), None);
}

#[test]
fn transcription_settings_are_checked() {
    let bad = [
        ("[transcription]\nthreads = 0\n", "transcription.threads"),
        ("[transcription]\njobs = 99\n", "transcription.jobs"),
        (
            "[transcription]\nlanguage = \"English\"\n",
            "transcription.language",
        ),
        (
            "[transcription]\nmodels_url = \"ftp://x\"\n",
            "transcription.models_url",
        ),
    ];
    for (toml, field) in bad {
        let err = Config::from_toml(toml)
            .expect("parses")
            .validate()
            .expect_err(toml)
            .to_string();
        assert!(err.contains(field), "{toml}: {err}");
    }
    let ok =
        Config::from_toml("[transcription]\nlanguage = \"de\"\nthreads = 2\n").expect("parses");
    ok.validate().expect("valid");
}

#[test]
fn the_built_in_notice_follows_admin_access() {
    use super::{AdminAccess, DEFAULT_NOTICE, DEFAULT_NOTICE_METADATA, matching_notice};
    let mut c = Config::default();
    assert_eq!(c.recording.notice_text(), DEFAULT_NOTICE);
    assert!(DEFAULT_NOTICE.contains("administrators can access"));
    c.recording.admin_access = AdminAccess::Metadata;
    assert_eq!(c.recording.notice_text(), DEFAULT_NOTICE_METADATA);
    assert!(!DEFAULT_NOTICE_METADATA.contains("administrators can access"));
    assert!(
        c.warnings().is_empty(),
        "the built-in text is never warned about"
    );
    // A stored built-in text follows the setting too; an operator's own stays.
    assert_eq!(
        matching_notice(DEFAULT_NOTICE_METADATA, AdminAccess::Full),
        DEFAULT_NOTICE
    );
    assert_eq!(matching_notice("Ours.", AdminAccess::Metadata), "Ours.");
}

#[test]
fn a_custom_notice_with_metadata_access_is_warned_about() {
    let c = Config::from_toml(
        "[recording]\nadmin_access = \"metadata\"\nnotice = \"Admins can see it.\"\n",
    )
    .expect("parses");
    let w = c.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("recording.admin_access"));
    let full = Config::from_toml("[recording]\nnotice = \"Ours.\"\n").expect("parses");
    assert!(full.warnings().is_empty());
    assert!(Config::from_toml("[recording]\nadmin_access = \"some\"\n").is_err());
}

#[test]
fn media_shards_are_checked_and_named() {
    let field = |c: &Config| match c.validate() {
        Err(ConfigError::Invalid { field, message }) => (field, message),
        other => panic!("expected an invalid field, got {other:?}"),
    };
    let mut c = Config::default();
    c.media.shards = Some(0);
    assert_eq!(field(&c).0, "media.shards");
    c.media.shards = Some(crate::media::shard::MAX_SHARDS + 1);
    let (name, message) = field(&c);
    assert_eq!(name, "media.shards");
    assert!(message.contains("between 1 and 256"), "{message}");
    c.media.shards = Some(crate::media::shard::MAX_SHARDS);
    c.validate().expect("the most shards");
    c.media.shards = None;
    assert!(c.media.shard_count() >= 1, "one per core");
    // From the environment: a word is refused with the setting's name.
    let err = Config::from_sources(None, env(&[("DUET_MEDIA_SHARDS", "many")]))
        .expect_err("not a number")
        .to_string();
    assert!(err.contains("shards"), "{err}");
    let err = Config::from_sources(None, env(&[("DUET_MEDIA_SHARD_FILL", "-1")]))
        .expect_err("not a count")
        .to_string();
    assert!(err.contains("shard_fill"), "{err}");
    let c = Config::from_sources(
        None,
        env(&[("DUET_MEDIA_SHARDS", "3"), ("DUET_MEDIA_SHARD_FILL", "0")]),
    )
    .expect("valid");
    assert_eq!((c.media.shards, c.media.shard_fill), (Some(3), 0));
}

#[test]
fn the_database_url_comes_from_the_environment_and_is_checked_by_name() {
    let c = Config::from_sources(
        None,
        env(&[(
            "DUET_DATABASE_URL",
            "postgres://duet:pw@db.example:5432/duet",
        )]),
    )
    .expect("loads");
    assert_eq!(
        c.database.url.as_deref(),
        Some("postgres://duet:pw@db.example:5432/duet")
    );
    c.validate().expect("a PostgreSQL URL is valid");
    // Shown anywhere (a debug log of the config), it has no password.
    assert!(!format!("{c:?}").contains("pw@"), "{c:?}");

    let bad = Config::from_sources(None, env(&[("DUET_DATABASE_URL", "mysql://a:secret@b/c")]))
        .expect("loads");
    let err = bad.validate().expect_err("not PostgreSQL").to_string();
    assert!(err.contains("database.url"), "{err}");
    assert!(!err.contains("secret"), "{err}");
}

#[test]
fn a_bad_node_id_or_internal_url_is_refused_by_name() {
    for id in ["", "has space", "a/b", &"x".repeat(65)] {
        let c = Config {
            node: NodeConfig {
                id: Some(id.to_string()),
            },
            ..Default::default()
        };
        let err = c.validate().expect_err("refused").to_string();
        assert!(err.contains("node.id"), "{id:?}: {err}");
    }
    let ok =
        Config::from_sources(None, env(&[("DUET_NODE_ID", "duet-1.eu_west")])).expect("a fine id");
    assert_eq!(ok.node_id(), "duet-1.eu_west");
    for url in ["https://10.0.0.5:8080", "10.0.0.5:8080", "ws://a"] {
        let c = Config {
            internal_url: Some(url.to_string()),
            ..Default::default()
        };
        let err = c.validate().expect_err("refused").to_string();
        assert!(err.contains("internal_url"), "{url:?}: {err}");
    }
    let c = Config {
        internal_url: Some("http://10.0.0.5:8080".into()),
        ..Default::default()
    };
    c.validate().expect("plain http inside");
    // Unset, the id is the host name, or `duet`: never empty.
    assert!(node_id_problem(&Config::default().node_id()).is_none());
}

#[test]
fn a_storage_url_names_an_s3_bucket_or_is_refused_by_name() {
    let ok = Config::from_sources(
        None,
        env(&[("DUET_STORAGE_URL", "s3://duet-recordings/eu")]),
    )
    .expect("a bucket and a prefix");
    assert_eq!(ok.storage.url.as_deref(), Some("s3://duet-recordings/eu"));
    ok.validate().expect("valid");
    for url in ["/var/duet", "https://s3.example/duet", "s3://No_Such"] {
        let err = Config::from_sources(None, env(&[("DUET_STORAGE_URL", url)]))
            .expect("read")
            .validate()
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("storage.url") && err.contains("s3://bucket/prefix"),
            "{url:?}: {err}"
        );
    }
}

#[test]
fn notices_per_language_come_from_the_file_or_one_variable_and_are_checked() {
    let c = Config::from_toml("[recording.notices]\nes = \"Grabamos, con su permiso.\"\n")
        .expect("parses");
    assert_eq!(c.recording.notices["es"], "Grabamos, con su permiso.");
    let env = |value: &'static str| {
        move |name: &str| (name == "DUET_RECORDING_NOTICES").then(|| value.to_string())
    };
    let c = Config::from_sources(
        None,
        env("{ ja = \"録画します。\", de = \"Wir zeichnen auf.\" }"),
    )
    .expect("env table");
    assert_eq!(c.recording.notices.len(), 2);
    assert_eq!(c.recording.notices["de"], "Wir zeichnen auf.");
    // Not a table: an error naming the setting.
    let err = Config::from_sources(None, env("Grabamos")).expect_err("a string is not a table");
    assert!(err.to_string().to_lowercase().contains("notices"), "{err}");
    for (tag, text) in [("Spanish", "x"), ("es-ES", "x"), ("e", "x"), ("es", "  ")] {
        let mut c = Config::default();
        c.recording.notices.insert(tag.into(), text.into());
        match c.validate() {
            Err(ConfigError::Invalid { field, .. }) => assert_eq!(field, "recording.notices"),
            other => panic!("{tag:?}: expected an invalid field, got {other:?}"),
        }
    }
}
