use std::time::Duration;

use duet_signaling::{Role, SessionId};

use super::*;

#[test]
fn the_heap_gives_the_earliest_first() {
    let key = PeerKey {
        session: SessionId(uuid::Uuid::nil()),
        role: Role::Mentor,
    };
    let t = Instant::now();
    let mut heap = TimerHeap::new();
    for ms in [30, 10, 20] {
        heap.push(Due {
            at: t + Duration::from_millis(ms),
            key,
        });
    }
    let order: Vec<_> = std::iter::from_fn(|| heap.pop())
        .map(|d| d.at.duration_since(t).as_millis())
        .collect();
    assert_eq!(order, [10, 20, 30]);
}

#[test]
fn deadlines_round_up_to_the_grid_and_never_earlier() {
    let origin = Instant::now();
    let ms = |n: u64| origin + Duration::from_millis(n);
    assert_eq!(on_grid(origin, ms(0)), ms(0));
    assert_eq!(on_grid(origin, ms(1)), ms(5));
    assert_eq!(on_grid(origin, ms(5)), ms(5));
    assert_eq!(on_grid(origin, ms(5) + Duration::from_nanos(1)), ms(10));
    // Three deadlines within one slot share one wake-up.
    let wakes: std::collections::HashSet<_> = [ms(21), ms(23), ms(25)]
        .into_iter()
        .map(|at| on_grid(origin, at))
        .collect();
    assert_eq!(wakes.len(), 1);
    // A deadline before the origin (already due) is served at once.
    assert_eq!(on_grid(ms(10), ms(3)), ms(10));
    for n in 0..200 {
        let at = origin + Duration::from_micros(n * 137);
        let wake = on_grid(origin, at);
        assert!(wake >= at && wake - at < TIMER_GRID);
    }
}

/// The list of connections to re-read is the engine's to keep: a turn
/// that marked nothing must not drop it (it did, and every turn after one
/// allocated it again).
#[tokio::test]
async fn flushing_keeps_the_marked_list_whether_or_not_anything_was_marked() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let advertise = socket.local_addr().expect("address");
    let metrics = crate::metrics::Metrics::new(std::env::temp_dir()).media;
    let mut engine = Engine::new(advertise, None, metrics);
    let capacity = engine.timers.dirty.capacity();
    assert!(capacity >= 64);
    for _ in 0..3 {
        engine.flush_timeouts();
        assert_eq!(engine.timers.dirty.capacity(), capacity);
    }
    // A mark for a connection that has gone meanwhile is read and dropped;
    // the list stays.
    let mut timer = PeerTimer::default();
    let key = PeerKey {
        session: SessionId(uuid::Uuid::nil()),
        role: Role::Mentee,
    };
    engine.timers.touch(key, &mut timer);
    engine.flush_timeouts();
    assert!(engine.timers.dirty.is_empty());
    assert_eq!(engine.timers.dirty.capacity(), capacity);
}
