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

#[test]
fn failures_lock_a_user_at_five_and_an_address_at_twenty_for_the_window() {
    let limiter = LoginLimiter::default();
    let ip = ("ip:127.0.0.1".to_string(), MAX_FAILURES_PER_ADDRESS);
    let user = |name: &str| (format!("user:{name}"), MAX_FAILURES_PER_USER);
    let t0 = Instant::now();
    for i in 0..MAX_FAILURES_PER_USER {
        assert!(
            limiter.locked(&[user("alice"), ip.clone()], t0).is_none(),
            "after {i}"
        );
        limiter.failed(&[user("alice"), ip.clone()], t0);
    }
    assert!(limiter.locked(&[user("alice"), ip.clone()], t0).is_some());
    assert!(
        limiter.locked(&[user("bob"), ip.clone()], t0).is_none(),
        "another admin behind the same proxy still gets in"
    );
    for n in 0..(MAX_FAILURES_PER_ADDRESS - MAX_FAILURES_PER_USER) {
        limiter.failed(&[user(&format!("u{n}")), ip.clone()], t0);
    }
    assert!(
        limiter.locked(&[user("bob"), ip.clone()], t0).is_some(),
        "address limit"
    );
    assert!(
        limiter
            .locked(&[user("alice"), ip.clone()], t0 + FAILURE_WINDOW)
            .is_none(),
        "ages out"
    );
}
