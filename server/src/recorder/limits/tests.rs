use std::io::Write;
use std::time::Duration;

use super::*;

fn config(max_size_mb: u64, max_duration_min: u64, min_free_mb: u64) -> RecordingConfig {
    RecordingConfig {
        max_size_mb,
        max_duration_min,
        min_free_mb,
        ..RecordingConfig::default()
    }
}

#[test]
fn defaults_cap_size_length_and_free_space() {
    let l = Limits::default();
    assert_eq!(l.max_bytes, Some(4096 * MB));
    assert_eq!(l.max_duration, Some(Duration::from_secs(240 * 60)));
    assert_eq!(l.min_free_bytes, 1024 * MB);
}

#[test]
fn zero_means_no_cap() {
    let l = Limits::from(&config(0, 0, 0));
    assert_eq!(l.check(u64::MAX, Duration::MAX), None);
    assert_eq!(l.check_free(0), None);
}

#[test]
fn size_and_length_caps_stop_a_recording_as_complete() {
    let l = Limits::from(&config(2, 1, 0));
    assert_eq!(l.check(2 * MB - 1, Duration::from_secs(59)), None);
    let size = l.check(2 * MB, Duration::ZERO).expect("size cap");
    assert_eq!(size, LimitReached::Size(2 * MB));
    assert!(!size.is_fault());
    assert!(size.to_string().contains("maximum size (2 MB"), "{size}");
    let length = l.check(0, Duration::from_secs(60)).expect("length cap");
    assert!(!length.is_fault());
    assert!(length.to_string().contains("1 min"), "{length}");
}

#[test]
fn low_free_space_is_a_fault_that_names_the_disk() {
    let l = Limits::from(&config(0, 0, 100));
    assert_eq!(l.check_free(100 * MB), None);
    let low = l.check_free(100 * MB - 1).expect("too little");
    assert!(low.is_fault());
    assert!(low.to_string().contains("disk is almost full"), "{low}");
}

#[test]
fn free_space_of_a_real_folder_is_measured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let free = free_bytes(dir.path()).expect("statvfs");
    assert!(free > 0);
    let impossible = Limits {
        min_free_bytes: u64::MAX,
        ..Limits::default()
    };
    assert!(impossible.check_free_at(dir.path()).is_some());
    let none = Limits {
        min_free_bytes: 0,
        ..Limits::default()
    };
    assert!(none.check_free_at(dir.path()).is_none());
}

#[test]
fn counted_counts_what_it_passes_on() {
    let mut w = Counted::new(Vec::new());
    w.write_all(b"hello").expect("write");
    w.write_all(&[0; 1000]).expect("write");
    assert_eq!(w.bytes(), 1005);
    assert_eq!(w.into_inner().len(), 1005);
}
