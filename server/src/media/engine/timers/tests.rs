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
