//! Tests of `policy`: concurrent admin changes do not undo each other;
//! the notice's translations come from the config, then from the admin.

use std::time::Duration;

use super::*;
use crate::store::Fault;

fn policies() -> Policies {
    Policies {
        current: Arc::new(RwLock::new(Policy {
            recording_allowed: true,
            retention_days: 30,
            notice: Notice::new("This call is recorded."),
            notice_version: 1,
            translations: BTreeMap::new(),
        })),
        changes: Arc::new(watch::Sender::new(0)),
        updating: Arc::new(tokio::sync::Mutex::new(())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_updates_of_different_fields_both_survive() {
    // Fails without the update lock: both read the old policy before
    // either stored, and the later write put the earlier field back.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    store.inject(Fault::Slow(Duration::from_millis(200)));
    let p = policies();
    let off = PolicyChange {
        recording_allowed: Some(false),
        ..Default::default()
    };
    let days = PolicyChange {
        retention_days: Some(7),
        ..Default::default()
    };
    let (a, b) = tokio::join!(
        p.update(&store, off, "a", 0),
        p.update(&store, days, "b", 0)
    );
    a.expect("first update");
    b.expect("second update");
    let now = p.current();
    assert!(!now.recording_allowed, "the first change was lost");
    assert_eq!(now.retention_days, 7, "the second change was lost");
}

#[tokio::test]
async fn translations_come_from_the_config_then_from_the_admin_and_stay_versioned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    let mut config = Config::default();
    config
        .recording
        .notices
        .insert("es".into(), " Grabamos, con su permiso. ".into());
    let p = Policies::load(&store, &config, 1).await.expect("load");
    let es = p.current().translations["es"].clone();
    assert_eq!(&*es.text, "Grabamos, con su permiso.");
    let stored = store.notices().await.expect("notices");
    assert!(
        stored
            .iter()
            .any(|n| n.hash == es.hash && n.language == "es"),
        "{stored:?}"
    );

    // The admin replaces the set: Japanese in, Spanish out.
    let change = PolicyChange {
        notices: Some(BTreeMap::from([(
            "ja".to_string(),
            "録画します。".to_string(),
        )])),
        ..Default::default()
    };
    let (now, changed) = p.update(&store, change, "ada", 2).await.expect("update");
    assert_eq!(now.translations.keys().collect::<Vec<_>>(), ["ja"]);
    assert!(
        changed
            .iter()
            .any(|c| c.starts_with("notices = ja version")),
        "{changed:?}"
    );
    // Stored over the config from now on, and the Spanish text stays on record.
    let again = Policies::load(&store, &config, 3).await.expect("reload");
    assert_eq!(
        again.current().translations.keys().collect::<Vec<_>>(),
        ["ja"]
    );
    assert!(
        store
            .notices()
            .await
            .expect("notices")
            .iter()
            .any(|n| n.hash == es.hash)
    );

    // The same set again changes nothing; a bad language code is refused.
    let same = PolicyChange {
        notices: Some(BTreeMap::from([(
            "ja".to_string(),
            "録画します。".to_string(),
        )])),
        ..Default::default()
    };
    assert!(
        p.update(&store, same, "ada", 4)
            .await
            .expect("same")
            .1
            .is_empty()
    );
    let bad = PolicyChange {
        notices: Some(BTreeMap::from([("Japanese".to_string(), "x".to_string())])),
        ..Default::default()
    };
    assert!(matches!(
        p.update(&store, bad, "ada", 5).await,
        Err(PolicyError::Invalid {
            field: "notices",
            ..
        })
    ));
}
