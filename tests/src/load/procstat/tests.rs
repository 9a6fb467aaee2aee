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
fn samples_this_process() {
    let s = sample(None).expect("/proc/self");
    assert!(s.rss_kib > 0);
    let own = sample(Some(std::process::id())).expect("/proc/<pid>");
    assert!(own.rss_kib > 0);
}
