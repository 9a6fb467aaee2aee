//! Tests of `admin`.

use super::*;

#[test]
fn passwords_hash_with_argon2id_and_verify() {
    let h = hash_password("correct horse battery").expect("hash");
    assert!(h.starts_with("$argon2id$"), "{h}");
    assert!(verify_password("correct horse battery", &h));
    assert!(!verify_password("correct horse battery!", &h));
    assert!(!verify_password("anything", "not a hash"));
    assert!(matches!(
        hash_password("short"),
        Err(AdminError::ShortPassword)
    ));
}

#[test]
fn usernames_are_plain() {
    assert!(check_username("alice@example.com").is_ok());
    for bad in ["", "a b", "ali\u{e9}", &"x".repeat(65)] {
        assert!(check_username(bad).is_err(), "{bad:?}");
    }
}

fn addr(s: &str) -> std::net::IpAddr {
    s.parse().expect("ip")
}

#[test]
fn failures_lock_a_user_at_one_address_and_an_address_at_twenty_for_the_window() {
    let limiter = LoginLimiter::default();
    let a = addr("192.0.2.1");
    let t0 = Instant::now();
    for i in 0..MAX_FAILURES_PER_USER_AND_ADDRESS {
        assert!(
            limiter.locked(&login_limits("alice", a), t0).is_none(),
            "after {i}"
        );
        limiter.failed(&login_limits("Alice", a), t0);
    }
    assert!(limiter.locked(&login_limits("alice", a), t0).is_some());
    assert!(
        limiter.locked(&login_limits("bob", a), t0).is_none(),
        "another admin behind the same proxy still gets in"
    );
    assert!(
        limiter
            .locked(&login_limits("alice", addr("198.51.100.2")), t0)
            .is_none(),
        "the real admin elsewhere is not locked out by these failures"
    );
    for n in 0..(MAX_FAILURES_PER_ADDRESS - MAX_FAILURES_PER_USER_AND_ADDRESS) {
        limiter.failed(&login_limits(&format!("u{n}"), a), t0);
    }
    assert!(
        limiter.locked(&login_limits("bob", a), t0).is_some(),
        "address limit"
    );
    assert!(
        limiter
            .locked(&login_limits("alice", a), t0 + FAILURE_WINDOW)
            .is_none(),
        "ages out"
    );
}

#[test]
fn failures_spread_over_many_addresses_lock_the_username_more_slowly() {
    let limiter = LoginLimiter::default();
    let t0 = Instant::now();
    for n in 0..MAX_FAILURES_PER_USER {
        let from = addr(&format!("203.0.113.{n}"));
        assert!(limiter.locked(&login_limits("alice", from), t0).is_none());
        limiter.failed(&login_limits("alice", from), t0);
    }
    // Someone else's failures never lock out an address with none of its
    // own: it gets one attempt per USER_TRICKLE for the username.
    let fresh = addr("198.51.100.9");
    assert!(limiter.locked(&login_limits("alice", fresh), t0).is_none());
    let other = addr("198.51.100.10");
    let wait = limiter.locked(&login_limits("alice", other), t0);
    assert!(wait.is_some_and(|w| w <= USER_TRICKLE), "{wait:?}");
    assert!(
        limiter
            .locked(&login_limits("alice", other), t0 + USER_TRICKLE)
            .is_none(),
        "the next attempt passes after the trickle interval"
    );
    // An address that failed itself gets no trickle.
    let guesser = addr("203.0.113.1");
    let wait = limiter.locked(&login_limits("alice", guesser), t0 + 2 * USER_TRICKLE);
    assert!(wait.is_some_and(|w| w > USER_TRICKLE), "{wait:?}");
    assert!(
        limiter
            .locked(&login_limits("alice", guesser), t0 + USER_FAILURE_WINDOW)
            .is_none()
    );
}
