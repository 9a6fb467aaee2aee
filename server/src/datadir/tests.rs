use super::*;

#[test]
fn secret_is_created_private_and_then_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = signing_secret(dir.path()).expect("created");
    let second = signing_secret(dir.path()).expect("read back");
    assert_eq!(first, second);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("secret.key"))
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_damaged_secret_is_an_error_not_a_new_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("secret.key"), "not hex").expect("write");
    assert!(matches!(
        signing_secret(dir.path()),
        Err(DataDirError::BadSecret(_))
    ));
}
