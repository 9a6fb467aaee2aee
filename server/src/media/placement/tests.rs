use super::*;

fn session(n: u128) -> SessionId {
    SessionId(uuid::Uuid::from_u128(n))
}

#[test]
fn sessions_fill_the_first_shard_then_spread_to_the_least_loaded() {
    let t = Instant::now();
    let mut p = ShardPlacement::new(3, 2, t);
    assert_eq!(p.shard(session(1), t), 0);
    assert_eq!(p.shard(session(2), t), 0);
    // The first shard has its fill: the emptiest from now on.
    assert_eq!(p.shard(session(3), t), 1);
    assert_eq!(p.shard(session(4), t), 2);
    assert_eq!(p.shard(session(5), t), 1);
    assert_eq!(p.counts(), [2, 2, 1]);
    // A session keeps its shard.
    assert_eq!(p.shard(session(3), t), 1);
    assert_eq!(p.shard(session(1), t), 0);
    assert_eq!(p.counts(), [2, 2, 1]);
}

#[test]
fn with_no_fill_sessions_spread_from_the_first() {
    let t = Instant::now();
    let mut p = ShardPlacement::new(2, 0, t);
    assert_eq!(p.shard(session(1), t), 0);
    assert_eq!(p.shard(session(2), t), 1);
    assert_eq!(p.shard(session(3), t), 0);
    let mut one = ShardPlacement::new(1, 0, t);
    assert_eq!(one.shard(session(1), t), 0);
    assert_eq!(one.shard(session(2), t), 0);
}

#[test]
fn placements_in_use_stay_and_idle_ones_are_forgotten() {
    let t = Instant::now();
    let mut p = ShardPlacement::new(2, 0, t);
    assert_eq!(p.shard(session(1), t), 0);
    assert_eq!(p.shard(session(2), t), 1);
    // Session 1 is asked about every 2 s; session 2 not at all.
    let mut now = t;
    while now < t + IDLE_FOR + Duration::from_secs(120) {
        now += Duration::from_secs(2);
        assert_eq!(p.shard(session(1), now), 0, "moved while in use");
    }
    assert_eq!(p.counts(), [1, 0], "session 2 still counted");
    // Session 2 comes back: placed afresh, on the emptier shard.
    assert_eq!(p.shard(session(2), now), 1);
}
