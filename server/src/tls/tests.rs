//! Loading and reloading certificate files, with the reload called directly
//! (the `duet` binary's SIGHUP is tested end to end in server/tests/https).

use std::path::{Path, PathBuf};

use super::*;

struct Pair {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

fn pair(name: &str) -> Pair {
    let generated =
        rcgen::generate_simple_self_signed(vec![name.to_string()]).expect("generate a cert");
    Pair {
        cert_pem: generated.cert.pem(),
        key_pem: generated.signing_key.serialize_pem(),
        der: generated.cert.der().clone(),
    }
}

fn write(dir: &Path, pair: &Pair) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &pair.cert_pem).expect("write cert");
    std::fs::write(&key, &pair.key_pem).expect("write key");
    (cert, key)
}

#[test]
fn reload_swaps_in_a_new_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (pair("a.test"), pair("b.test"));
    let (cert, key) = write(dir.path(), &a);
    let reloader = CertReloader::load(&cert, &key).expect("loads");
    assert_eq!(reloader.served_cert(), Some(a.der.clone()));

    write(dir.path(), &b);
    reloader.reload().expect("reloads");
    assert_eq!(reloader.served_cert(), Some(b.der));
}

#[test]
fn a_failed_reload_keeps_the_old_certificate_and_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (pair("a.test"), pair("b.test"));
    let (cert, key) = write(dir.path(), &a);
    let reloader = CertReloader::load(&cert, &key).expect("loads");

    std::fs::write(&cert, "not a certificate").expect("write");
    let err = reloader
        .reload()
        .expect_err("garbage is refused")
        .to_string();
    assert!(err.contains(&cert.display().to_string()), "{err}");

    // A renewal caught half-way: new certificate, old key.
    std::fs::write(&cert, &b.cert_pem).expect("write");
    let err = reloader
        .reload()
        .expect_err("mismatch is refused")
        .to_string();
    assert!(err.contains("does not fit"), "{err}");

    std::fs::remove_file(&key).expect("remove");
    let err = reloader.reload().expect_err("missing key").to_string();
    assert!(err.contains(&key.display().to_string()), "{err}");

    assert_eq!(reloader.served_cert(), Some(a.der));
}

#[test]
fn loading_names_the_file_that_is_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = write(dir.path(), &pair("a.test"));
    let missing = dir.path().join("missing.pem");

    let err = CertReloader::load(&missing, &key).expect_err("missing cert");
    assert!(matches!(err, TlsError::Read { .. }), "{err}");
    assert!(err.to_string().contains("missing.pem"), "{err}");

    std::fs::write(&key, "").expect("write");
    let err = CertReloader::load(&cert, &key).expect_err("empty key");
    assert!(matches!(err, TlsError::NoKey { .. }), "{err}");
    assert!(err.to_string().contains("key.pem"), "{err}");
}
