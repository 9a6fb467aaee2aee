use super::*;

const STAT: &str = "4242 (duet (serve) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
                    250 75 0 0 20 0 12 0 100 123456789 2048 18446744073709551615";

#[test]
fn reads_utime_and_stime_after_the_last_parenthesis() {
    assert_eq!(cpu_ticks(STAT).expect("parsed"), (250, 75));
    assert_eq!(cpu_time(STAT).expect("parsed"), Duration::from_millis(3250));
}

#[test]
fn rejects_a_truncated_stat_line() {
    assert!(cpu_ticks("1 (x) S 1 2 3").is_err());
    assert!(cpu_ticks("garbage").is_err());
}

#[test]
fn reads_vm_rss() {
    let status = "Name:\tduet\nVmPeak:\t  99999 kB\nVmRSS:\t   51234 kB\nThreads:\t12\n";
    assert_eq!(vm_rss_kib(status).expect("parsed"), 51234);
    assert!(vm_rss_kib("Name:\tx\n").is_err());
}

#[test]
fn reads_anonymous_memory_by_its_own_name() {
    // `RssAnon` must not be taken for `RssFile` or `RssShmem`, nor a line
    // that merely starts with the name.
    let status =
        "RssAnonymousX:\t 1 kB\nRssFile:\t  2048 kB\nRssAnon:\t  7000 kB\nRssShmem:\t 0 kB\n";
    assert_eq!(status_kib(status, "RssAnon").expect("parsed"), 7000);
    assert_eq!(status_kib(status, "RssFile").expect("parsed"), 2048);
    assert!(matches!(
        status_kib("RssAnon:\t 7 MB\n", "RssAnon"),
        Err(ProcError::StatusUnit {
            field: "RssAnon",
            ..
        })
    ));
}

#[test]
fn samples_this_process() {
    let s = sample(None).expect("/proc/self");
    assert!(s.rss_kib > 0);
    assert!(s.anon_kib > 0 && s.anon_kib <= s.rss_kib);
    let own = sample(Some(std::process::id())).expect("/proc/<pid>");
    assert!(own.rss_kib > 0);
}
