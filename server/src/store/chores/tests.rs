//! The chore lease on the real engines (PostgreSQL when the test run gives
//! one, else SQLite), two nodes being two stores on one database.

use crate::store::Store;

const NOW: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;

#[tokio::test]
async fn one_node_holds_a_chore_until_its_lease_runs_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    let hold = |node: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .hold_chore("retention", node, now, now + 2 * HOUR)
                .await
                .expect("hold")
        }
    };
    assert!(hold("a", NOW).await, "the first node to ask takes it");
    assert!(
        !hold("b", NOW).await,
        "another node does not, while a holds it"
    );
    assert!(hold("a", NOW + HOUR).await, "the holder renews it");
    assert!(!hold("b", NOW + 2 * HOUR).await, "renewed: still a's");
    assert!(
        hold("b", NOW + 3 * HOUR + 1).await,
        "a stopped renewing (it died): b takes over once the lease ran out"
    );
    assert!(
        !hold("a", NOW + 3 * HOUR + 2).await,
        "and a, back, does not"
    );
    assert!(
        store
            .hold_chore("another", "a", NOW, NOW + HOUR)
            .await
            .expect("hold"),
        "each chore its own lease"
    );
}

#[tokio::test]
async fn two_nodes_asking_at_once_never_both_get_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_for_test(dir.path()).await;
    for round in 0..20 {
        let name = format!("chore-{round}");
        let (a, b) = tokio::join!(
            store.hold_chore(&name, "a", NOW, NOW + HOUR),
            store.hold_chore(&name, "b", NOW, NOW + HOUR)
        );
        let (a, b) = (a.expect("a"), b.expect("b"));
        assert!(a ^ b, "round {round}: exactly one holds it (a {a}, b {b})");
    }
}
